/* Tests for worker.h: jobs run on another thread, their done runs on the
 * thread that runs the event loop, a full queue refuses, and worker_free
 * finishes what runs, cancels what waits, and joins. Nothing here waits
 * on a clock: jobs that must stay busy block on a gate the test opens. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "worker.h"

/* A gate that holds work() until the test opens it. */
typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    int arrived; /* work() calls waiting at or past the gate */
} gate;

static gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0};

static void gate_reset(bool open)
{
    pthread_mutex_lock(&g.lock);
    g.open = open;
    g.arrived = 0;
    pthread_mutex_unlock(&g.lock);
}

static void gate_open(void)
{
    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
}

/* Waits until n work() calls have reached the gate. */
static void gate_wait_arrived(int n)
{
    pthread_mutex_lock(&g.lock);
    while (g.arrived < n)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
}

typedef struct job {
    struct event_base *base;
    pthread_t work_thread;
    pthread_t done_thread;
    int input, output;
    bool worked, done, ran;
    int *ndone;     /* shared count of dones; the loop exits at `expect` */
    int expect;
} job;

static void work(void *arg)
{
    job *j = arg;
    pthread_mutex_lock(&g.lock);
    g.arrived++;
    pthread_cond_broadcast(&g.cond);
    while (!g.open)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    j->work_thread = pthread_self();
    j->output = j->input * j->input;
    j->worked = true;
}

static void done(void *arg, bool ran)
{
    job *j = arg;
    j->done_thread = pthread_self();
    j->done = true;
    j->ran = ran;
    if (++*j->ndone == j->expect && j->base)
        event_base_loopbreak(j->base);
}

Test(worker, runs_work_off_the_loop_thread_and_done_on_it)
{
    gate_reset(true);
    struct event_base *base = event_base_new();
    worker *w = worker_new(base, 2, 8);
    cr_assert_not_null(w);
    job jobs[5] = {{0}};
    int ndone = 0;
    for (int i = 0; i < 5; i++) {
        jobs[i] = (job){.base = base, .input = i + 1, .ndone = &ndone, .expect = 5};
        cr_assert_eq(worker_submit(w, work, done, &jobs[i]), WORKER_OK);
    }
    cr_assert_eq(worker_pending(w), 5);
    event_base_dispatch(base);
    cr_assert_eq(ndone, 5);
    cr_assert_eq(worker_pending(w), 0);
    for (int i = 0; i < 5; i++) {
        cr_assert(jobs[i].worked && jobs[i].done && jobs[i].ran, "job %d", i);
        cr_assert_eq(jobs[i].output, (i + 1) * (i + 1));
        cr_assert(!pthread_equal(jobs[i].work_thread, pthread_self()),
                  "work %d ran on the loop's thread", i);
        cr_assert(pthread_equal(jobs[i].done_thread, pthread_self()),
                  "done %d ran on another thread than the loop's", i);
    }
    worker_free(w);
    event_base_free(base);
}

Test(worker, refuses_a_job_beyond_the_bound_and_takes_one_after_a_done)
{
    gate_reset(false);
    struct event_base *base = event_base_new();
    worker *w = worker_new(base, 1, 3);
    cr_assert_not_null(w);
    job jobs[5] = {{0}};
    int ndone = 0;
    for (int i = 0; i < 5; i++)
        jobs[i] = (job){.base = base, .input = i, .ndone = &ndone, .expect = 3};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(worker_submit(w, work, done, &jobs[i]), WORKER_OK);
    /* Waiting, running or finished but not yet handed back: all count. */
    cr_assert_eq(worker_submit(w, work, done, &jobs[3]), WORKER_FULL);
    gate_open();
    gate_wait_arrived(3); /* all ran; their dones wait for the loop */
    cr_assert_eq(worker_submit(w, work, done, &jobs[3]), WORKER_FULL);
    event_base_dispatch(base);
    cr_assert_eq(ndone, 3);
    cr_assert_not(jobs[3].worked || jobs[3].done, "a refused job must not run");
    jobs[4].expect = 4;
    cr_assert_eq(worker_submit(w, work, done, &jobs[4]), WORKER_OK);
    event_base_dispatch(base);
    cr_assert(jobs[4].done && jobs[4].ran);
    worker_free(w);
    event_base_free(base);
}

Test(worker, free_finishes_the_running_job_cancels_the_waiting_and_joins)
{
    gate_reset(false);
    struct event_base *base = event_base_new();
    worker *w = worker_new(base, 1, 8);
    cr_assert_not_null(w);
    job jobs[3] = {{0}};
    int ndone = 0;
    for (int i = 0; i < 3; i++) {
        jobs[i] = (job){.input = i, .ndone = &ndone, .expect = -1};
        cr_assert_eq(worker_submit(w, work, done, &jobs[i]), WORKER_OK);
    }
    gate_wait_arrived(1); /* job 0 is running, 1 and 2 wait */
    worker_stop(w);
    gate_open();
    worker_free(w);
    cr_assert_eq(ndone, 3, "every accepted job gets its done");
    cr_assert(jobs[0].worked && jobs[0].done && jobs[0].ran, "the running job finishes");
    for (int i = 1; i < 3; i++) {
        cr_assert(jobs[i].done && !jobs[i].ran && !jobs[i].worked,
                  "job %d never started: cancelled", i);
        cr_assert(pthread_equal(jobs[i].done_thread, pthread_self()));
    }
    event_base_free(base);
}

static worker *resubmit_to;
static job resubmitted;

static void done_then_submit(void *arg, bool ran)
{
    done(arg, ran);
    resubmitted = (job){.ndone = ((job *)arg)->ndone, .expect = -1};
    cr_assert_eq(worker_submit(resubmit_to, work, done, &resubmitted), WORKER_STOPPED);
}

Test(worker, refuses_jobs_once_shutdown_has_begun)
{
    gate_reset(true);
    struct event_base *base = event_base_new();
    worker *w = worker_new(base, 1, 8);
    cr_assert_not_null(w);
    int ndone = 0;
    job j = {.ndone = &ndone, .expect = -1};
    resubmit_to = w;
    cr_assert_eq(worker_submit(w, work, done_then_submit, &j), WORKER_OK);
    worker_free(w); /* runs the done, which tries to queue another job */
    cr_assert(j.done);
    cr_assert_not(resubmitted.worked || resubmitted.done);
    event_base_free(base);
}

Test(worker, rejects_out_of_range_sizes)
{
    struct event_base *base = event_base_new();
    cr_assert_null(worker_new(base, 0, 8));
    cr_assert_null(worker_new(base, WORKER_MAX_THREADS + 1, 8));
    cr_assert_null(worker_new(base, 1, 0));
    cr_assert_null(worker_new(base, 1, WORKER_MAX_JOBS + 1));
    worker_free(NULL);
    event_base_free(base);
}

/* worker.c: background threads with a bounded job queue (see worker.h).
 *
 * One mutex guards two singly linked FIFO lists of job nodes: `queued`
 * (waiting for a thread) and `finished` (work done, done() not yet run).
 * `jobs` counts every node in the worker, waiting, running or finished;
 * it is the bound worker_submit checks, and only the loop changes it, so
 * the loop reads it without the lock. `signalled` is true while a byte
 * sits in the pipe unread: a worker writes one byte only when it makes
 * the finished list non-empty, so the pipe never holds more than one and
 * a write can never block. */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct worker_job {
    worker_work_fn *work;
    worker_done_fn *done;
    void *arg;
    struct worker_job *next;
} worker_job;

typedef struct job_list {
    worker_job *head, *tail;
} job_list;

struct worker {
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* a job was queued, or stop was set */
    job_list queued;          /* guarded by lock */
    job_list finished;        /* guarded by lock */
    bool stop;                /* threads take no new job; written under lock
                                 by the loop thread, read by it without */
    bool signalled;           /* guarded by lock: a byte is in the pipe */
    int jobs;                 /* loop only: nodes in the worker */
    int max_jobs;
    int nthreads;             /* started, to join */
    pthread_t threads[WORKER_MAX_THREADS];
    int pipe_rd, pipe_wr;
    struct event *ev;         /* pipe_rd readable, on the loop */
};

static void list_push(job_list *l, worker_job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static worker_job *list_pop(job_list *l)
{
    worker_job *j = l->head;
    if (j && !(l->head = j->next))
        l->tail = NULL;
    return j;
}

static job_list list_take(job_list *l)
{
    job_list all = *l;
    l->head = l->tail = NULL;
    return all;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && !w->queued.head)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->stop)
            break; /* what is still queued is cancelled by worker_free */
        worker_job *j = list_pop(&w->queued);
        pthread_mutex_unlock(&w->lock);
        j->work(j->arg);
        pthread_mutex_lock(&w->lock);
        bool wake_loop = !w->signalled;
        w->signalled = true;
        list_push(&w->finished, j);
        if (wake_loop) {
            ssize_t n;
            do
                n = write(w->pipe_wr, "", 1);
            while (n < 0 && errno == EINTR);
            /* n < 0 otherwise only with EAGAIN, impossible with at most one
             * byte in the pipe: signalled stays true and the byte is there. */
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Runs done for each job of the list and frees the nodes. */
static void run_done(worker *w, job_list l, bool ran)
{
    worker_job *j;
    while ((j = list_pop(&l))) {
        w->jobs--;
        j->done(j->arg, ran);
        free(j);
    }
}

static void on_finished(evutil_socket_t fd, short what, void *arg)
{
    worker *w = arg;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&w->lock);
    job_list l = list_take(&w->finished);
    w->signalled = false;
    pthread_mutex_unlock(&w->lock);
    /* Outside the lock: a done may submit the next job. */
    run_done(w, l, true);
}

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
                   fcntl(fd, F_SETFD, FD_CLOEXEC) != 0
               ? -1
               : 0;
}

worker *worker_new(struct event_base *base, int nthreads, int max_jobs)
{
    if (nthreads < 1 || nthreads > WORKER_MAX_THREADS || max_jobs < 1 || max_jobs > WORKER_MAX_JOBS)
        return NULL;
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->max_jobs = max_jobs;
    w->pipe_rd = w->pipe_wr = -1;
    int fds[2];
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        free(w);
        return NULL;
    }
    if (pthread_cond_init(&w->wake, NULL) != 0) {
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    if (pipe(fds) != 0)
        goto fail;
    w->pipe_rd = fds[0];
    w->pipe_wr = fds[1];
    if (set_flags(w->pipe_rd) != 0 || set_flags(w->pipe_wr) != 0)
        goto fail;
    w->ev = event_new(base, w->pipe_rd, EV_READ | EV_PERSIST, on_finished, w);
    if (!w->ev || event_add(w->ev, NULL) != 0)
        goto fail;
    /* Signals stay with the loop's thread: the threads start with all
     * blocked, so SIGTERM or SIGHUP never interrupts a computation. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (; w->nthreads < nthreads; w->nthreads++)
        if (pthread_create(&w->threads[w->nthreads], NULL, worker_main, w) != 0)
            break;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (w->nthreads < nthreads)
        goto fail;
    return w;
fail:
    worker_free(w);
    return NULL;
}

worker_status worker_submit(worker *w, worker_work_fn *work, worker_done_fn *done, void *arg)
{
    if (w->stop) /* written by the loop thread only, so read without the lock */
        return WORKER_STOPPED;
    if (w->jobs >= w->max_jobs)
        return WORKER_FULL;
    worker_job *j = malloc(sizeof *j);
    if (!j)
        return WORKER_NO_MEMORY;
    *j = (worker_job){.work = work, .done = done, .arg = arg};
    w->jobs++;
    pthread_mutex_lock(&w->lock);
    list_push(&w->queued, j);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return WORKER_OK;
}

int worker_pending(const worker *w)
{
    return w->jobs;
}

void worker_stop(worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void worker_free(worker *w)
{
    if (!w)
        return;
    worker_stop(w);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    /* The threads are gone: no lock needed. Finished first, in order. */
    run_done(w, list_take(&w->finished), true);
    run_done(w, list_take(&w->queued), false);
    if (w->ev)
        event_free(w->ev);
    if (w->pipe_rd >= 0)
        close(w->pipe_rd);
    if (w->pipe_wr >= 0)
        close(w->pipe_wr);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

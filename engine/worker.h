/* worker.h: a few background threads for work too slow for the event loop.
 *
 * upshotd answers every request from one libevent loop, so anything that
 * runs on it delays every other client: one results request over many
 * regions x days x variants took tens of milliseconds to seconds of
 * statistics, and every /v1/assign waited behind it. Such computations
 * are jobs: work(arg) runs on a worker thread, then done(arg, ran) runs
 * back on the loop, where the result is used (a reply sent, a promotion
 * applied). The queue is bounded: worker_submit refuses a job once
 * max_jobs are in the worker (waiting, running, or finished with their
 * done not yet run), so memory held by jobs stays bounded too, and the
 * caller answers 503 (docs/operations.md).
 *
 * The rules for what a job may touch (the loop keeps running meanwhile):
 *
 *   - A job owns its input and its output. work() reads only the job: no
 *     upshotd field, no registry, no store, no config, no libevent call,
 *     no g_metrics. Whatever it needs is copied into the job on the loop
 *     before worker_submit (counters from Redis, whose arrays the store
 *     lends only for its callback; the analysis settings, since a reload
 *     may swap the config while the job runs).
 *   - Experiments are reference counted with a non-atomic count
 *     (engine/core/experiment.h): retain on the loop before submitting,
 *     never retain or release on a worker, release in done(). A worker may
 *     read a retained experiment (it is immutable), including its def
 *     through jansson's read-only calls (json_object_get, *_foreach,
 *     json_*_value), never json_incref/decref on it.
 *   - jansson values built on a worker belong to that job alone; serialize
 *     a reply to bytes on the worker (json_dumps) and free the tree there,
 *     so the loop only sends bytes.
 *   - The pure core (engine/core/) and stats/ are thread-safe once
 *     stats_init() has run (server.c calls it before the worker starts).
 *
 * Completions reach the loop through a pipe whose read end is an event on
 * the loop: a worker appends the finished job to a list under the mutex
 * and writes one byte when the list was empty; the loop's callback takes
 * the whole list and runs each done. This was chosen over
 * evthread_use_pthreads + event_active because libevent's locking must be
 * switched on before the event base exists and then takes a lock in every
 * event operation of every request, hot path included; the pipe keeps the
 * loop lock-free and costs one write and one read per batch of finished
 * jobs. Linux's eventfd would do as well; a pipe is as cheap here and
 * portable. */
#ifndef UPSHOT_WORKER_H
#define UPSHOT_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
typedef struct worker worker;

/* Runs on a worker thread, on data the job owns. */
typedef void worker_work_fn(void *arg);
/* Runs on the loop thread, once per accepted job. ran is false for a job
 * cancelled by worker_free before its work started. */
typedef void worker_done_fn(void *arg, bool ran);

/* Limits of the configuration keys worker.threads and worker.queue. */
#define WORKER_MAX_THREADS 16
#define WORKER_MAX_JOBS 4096

typedef enum {
    WORKER_OK = 0,
    WORKER_FULL,      /* max_jobs are in the worker: try again later */
    WORKER_STOPPED,   /* worker_free has begun */
    WORKER_NO_MEMORY
} worker_status;

/* Starts nthreads (1..WORKER_MAX_THREADS) threads taking at most max_jobs
 * (1..WORKER_MAX_JOBS) jobs at once, with completions delivered on base.
 * NULL when a thread, the pipe or memory cannot be had. */
worker *worker_new(struct event_base *base, int nthreads, int max_jobs);

/* Queues a job (loop thread only). WORKER_OK: done(arg, ...) will run
 * exactly once, on the loop, from the loop's callback or from
 * worker_free. Otherwise nothing was queued and arg is still the
 * caller's. */
worker_status worker_submit(worker *w, worker_work_fn *work, worker_done_fn *done, void *arg);

/* Jobs accepted whose done has not run yet (loop thread only). */
int worker_pending(const worker *w);

/* Stops the threads from taking queued jobs (running ones go on) and
 * worker_submit from accepting any; the first step of worker_free. */
void worker_stop(worker *w);

/* Shutdown, on the loop thread (the loop need not be running): jobs
 * already running finish, jobs not started are cancelled, the threads
 * are joined, and then every pending done runs here (ran telling which)
 * before everything is freed. Call it while what the done callbacks
 * touch still exists. NULL does nothing. */
void worker_free(worker *w);

#endif

/* server.h: upshotd as one object: its configuration, live experiments,
 * journal, Redis store and HTTP front end on one libevent loop.
 *
 * Reading order: server.c wires things; router.c holds the route table
 * and sends each request to one handler (api.h); api_public.c answers
 * the shop's pages (assign, events, SDK config); api_admin.c answers the
 * growth team (experiments, results, promotions); autopromote.c promotes
 * on its own timer; everything below them is in docs/architecture.md. */
#ifndef UPSHOT_SERVER_H
#define UPSHOT_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "journal.h"
#include "recent.h"
#include "registry.h"
#include "store.h"

struct event_base;
struct evhttp;
struct evhttp_request;
struct event;

typedef struct upshotd {
    struct event_base *base;
    struct evhttp *http;
    struct http_guard *guard; /* framing, deadlines and the connection cap */
    long fd_limit;            /* RLIMIT_NOFILE's soft limit after start-up */
    char config_path[1024];
    upshot_config cfg;
    registry *reg;
    struct api_public *pub;  /* api_public.c's caches of the live set */
    journal *journal;
    store *store;
    recent *recent_ids;
    struct fsync_worker *fsync_worker; /* fsync: interval, off the event loop */
    struct autopromote *autopromote; /* the automatic promotion timer */
    struct evbuffer *commit_lines;   /* group commit: lines of this loop iteration */
    struct commit_waiter *commit_waiters;
    size_t ncommit_waiters, commit_waiters_cap;
    struct event *commit_ev;
    bool draining;
    int bound_port;
    char day[11];          /* today, UTC, "YYYY-MM-DD", refreshed each second */
    long day_checked_at;
} upshotd;

/* Loads the config file, opens data_dir (journal, state), binds the port
 * and starts connecting to Redis. 0, or -1 with err. */
int upshotd_init(upshotd *d, struct event_base *base, const char *config_path, char *err,
                 size_t errlen);

/* Re-reads the config file; the running config stays on error. */
int upshotd_reload(upshotd *d, const char *actor, char *err, size_t errlen);

/* SIGTERM: stop accepting, apply the journal to Redis (bounded wait),
 * then break the loop. */
void upshotd_begin_shutdown(upshotd *d);
void upshotd_free(upshotd *d);

/* Today's UTC day for counters. */
const char *upshotd_today(upshotd *d);

/* Appends journal lines and schedules the Redis writer; honours the fsync
 * policy. 0, or -1 (journal unusable: nothing was acknowledged). */
int upshotd_journal(upshotd *d, const char *lines, size_t len);

/* Group commit for the hot path: appends lines to a buffer that is written
 * to the journal with one write(2) once the callbacks already queued in
 * this loop iteration have run; then cb(arg, ok) is called (ok false when
 * the write failed). The caller replies to its client from cb, so nothing
 * is acknowledged before it is in the journal. 0, or -1 (out of memory). */
typedef void (*upshotd_commit_cb)(void *arg, bool ok);
int upshotd_journal_deferred(upshotd *d, const char *lines, size_t len, upshotd_commit_cb cb,
                             void *arg);

#endif

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
#include <time.h>

#include "config.h"
#include "http.h"
#include "journal.h"
#include "journal_line.h"
#include "log_limit.h"
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
    struct upshot_tls *tls;   /* HTTPS (tls.h); NULL serves plain HTTP */
    long fd_limit;            /* RLIMIT_NOFILE's soft limit after start-up */
    char config_path[1024];
    upshot_config cfg;
    registry *reg;            /* the snapshot assignments are served from */
    struct shared_state *shared; /* the experiments' truth in Redis (shared_state.h) */
    struct api_public *pub;  /* api_public.c's caches of the live set */
    journal *journal;
    store *store;
    recent *recent_ids;
    struct fsync_worker *fsync_worker; /* fsync: interval, off the event loop */
    struct autopromote *autopromote; /* the automatic promotion timer */
    struct capping *capping;         /* learning revenue caps (capping.h) */
    struct bandit *bandit;           /* bandit weight updates (bandit.h) */
    struct worker *worker;           /* results and auto-promotion, off the loop */
    struct evbuffer *commit_lines;   /* group commit: lines of this loop iteration */
    struct commit_waiter *commit_waiters;
    size_t ncommit_waiters, commit_waiters_cap;
    struct event *commit_ev;
    bool draining;
    log_limit backlog_log;  /* "journal backlog full", once a second at most */
    time_t backlog_refused_at; /* last refusal for a full backlog; 0: none */
    uint32_t ack_nonce;       /* random per process: acknowledgment tokens (journal_line.h) */
    uint32_t ack_serial;      /* tokens handed out so far */
    log_limit journal_log;  /* "journal append failed", likewise */
    log_limit regions_log;  /* "the region set could not be rebuilt" */
    uint64_t config_generation; /* +1 on every successful reload */
    int bound_port;
    char day[11];          /* today, UTC, "YYYY-MM-DD", refreshed each second */
    long day_checked_at;
} upshotd;

/* Loads the config file, opens data_dir (journal, state), binds the port
 * and starts connecting to Redis. 0, or -1 with err. */
int upshotd_init(upshotd *d, struct event_base *base, const char *config_path, char *err,
                 size_t errlen);

/* Reads and validates the config file at path as upshotd_init would
 * (every field, every experiment, layers and keys across experiments),
 * without touching data_dir, the network or Redis. 0 when valid, or -1
 * with err naming the file and the problem. */
int upshotd_check_config(const char *path, char *err, size_t errlen);

/* Re-reads the config file and seeds its experiments into the shared state
 * (docs/config.md, "The config file is a seed"); the running config stays
 * on error. Returns REGISTRY_INVALID (err) for a config that does not parse
 * or validate, REGISTRY_UNAVAILABLE while Redis is unreachable, or
 * REGISTRY_NO_MEMORY, and cb is not called; REGISTRY_OK means cb(arg,
 * status, err) follows from the loop once the shared state answered (the
 * new settings are in force only when that status is REGISTRY_OK). */
typedef void upshotd_reload_fn(void *arg, registry_status st, const char *err);
registry_status upshotd_reload(upshotd *d, const char *actor, upshotd_reload_fn *cb, void *arg,
                               char *err, size_t errlen);

/* SIGTERM: stop accepting, apply the journal to Redis (bounded wait),
 * then break the loop. */
void upshotd_begin_shutdown(upshotd *d);
void upshotd_free(upshotd *d);

/* Today's UTC day for counters. */
const char *upshotd_today(upshotd *d);

/* A new acknowledgment token for one conversion or decline about to be
 * journaled (journal_line.h): unique within this process, and across
 * processes but for a 2^-32 chance. */
void upshotd_ack_token(upshotd *d, char out[JOURNAL_ACK_LEN + 1]);

/* What became of lines handed to the journal. Anything but
 * UPSHOTD_JOURNALED means nothing was written, so nothing may be
 * acknowledged. */
typedef enum {
    UPSHOTD_JOURNALED = 0,
    UPSHOTD_BACKLOG_FULL,  /* pipeline.max_backlog_events / _bytes reached:
                              Redis is not keeping up; retry later */
    UPSHOTD_JOURNAL_FAILED /* the write failed (a full disk) */
} upshotd_journal_status;

/* Seconds a client refused with UPSHOTD_BACKLOG_FULL is asked to wait
 * (Retry-After): long enough for a stalled Redis to come back, short
 * enough that a recovered one is not left idle. */
#define UPSHOTD_BACKLOG_RETRY_S 5

/* Appends journal lines and schedules the Redis writer; honours the fsync
 * policy and the backlog bound. */
upshotd_journal_status upshotd_journal(upshotd *d, const char *lines, size_t len);

/* Group commit for the hot path: appends lines to a buffer that is written
 * to the journal with one write(2) once the callbacks already queued in
 * this loop iteration have run; then cb(arg, status) is called with what
 * upshotd_journal said of that write. The caller replies to its client
 * from cb, so nothing is acknowledged before it is in the journal. 0, or
 * -1 (out of memory). */
typedef void (*upshotd_commit_cb)(void *arg, upshotd_journal_status status);
int upshotd_journal_deferred(upshotd *d, const char *lines, size_t len, upshotd_commit_cb cb,
                             void *arg);

#endif

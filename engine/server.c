/* server.c: wiring of upshotd (see server.h).
 *
 * An evhttp server reads as: limits, callbacks, bind; this file adds the
 * pieces around it (config, registry, journal, store, timers), and the
 * two endpoints about the server itself, /healthz and /metrics. The
 * router (router.c) sends each request to exactly one handler. */
#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/listener.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "access_log.h"
#include "api.h"
#include "audit.h"
#include "entropy.h"
#include "autopromote.h"
#include "bandit.h"
#include "capping.h"
#include "decimal.h"
#include "http_guard.h"
#include "log.h"
#include "router.h"
#include "shared_state.h"
#include "stats_core.h"
#include "tls.h"
#include "worker.h"

/* evhttp's own limits are a backstop behind the guard (http_guard.h),
 * which refuses a head over limits.max_header_bytes or a Content-Length
 * over limits.max_body_bytes before evhttp reads either; the 8 KiB are
 * the request line, which evhttp counts separately. */
#define HTTP_REQUEST_LINE_MAX 8192
/* evhttp's idle timeout: a connection that sends nothing for this long
 * (between requests, or before its first byte) is closed. */
#define HTTP_TIMEOUT_S 30
/* Descriptors kept out of the connection cap: Redis, the journal, the
 * state and audit files, the listener, the loop's own. */
#define FD_RESERVE 64

/* The interval fsync runs on its own thread: fdatasync can take tens of
 * milliseconds on a busy disk, and on the event loop that showed as p99
 * stalls of 200-300 ms under load. The loop only marks the journal dirty;
 * the worker syncs at most every interval. log_fd never changes while the
 * worker runs (it is joined before the journal closes). */
typedef struct fsync_worker {
    pthread_t thread;
    journal *journal;
    int interval_ms;
    atomic_bool dirty;
    atomic_bool stop;
    atomic_ulong errors;
} fsync_worker;

static void *fsync_main(void *arg)
{
    fsync_worker *w = arg;
    while (!atomic_load(&w->stop)) {
        /* Sleep in short steps so that shutdown is prompt. */
        for (int slept = 0; slept < w->interval_ms && !atomic_load(&w->stop); slept += 20) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (atomic_exchange(&w->dirty, false) && journal_sync(w->journal) != 0)
            atomic_fetch_add(&w->errors, 1);
    }
    return NULL;
}

static fsync_worker *fsync_worker_start(journal *j, int interval_ms)
{
    fsync_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->journal = j;
    w->interval_ms = interval_ms;
    atomic_init(&w->dirty, false);
    atomic_init(&w->stop, false);
    atomic_init(&w->errors, 0);
    if (pthread_create(&w->thread, NULL, fsync_main, w) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

static void fsync_worker_stop(fsync_worker *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    free(w);
}

const char *upshotd_today(upshotd *d)
{
    time_t now = time(NULL);
    if (now != d->day_checked_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(d->day, sizeof d->day, "%Y-%m-%d", &tm);
        d->day_checked_at = now;
    }
    return d->day;
}

void upshotd_ack_token(upshotd *d, char out[JOURNAL_ACK_LEN + 1])
{
    journal_line_ack(out, d->ack_nonce, d->ack_serial++);
}

/* The backlog bound: events acknowledged but not yet in Redis wait in the
 * journal, which grows while Redis is slower than the clients (a stall, a
 * failover, or simply more traffic than it applies). Past the bound new
 * events are refused, not acknowledged, so the journal's disk and the
 * replay after a restart both stay bounded. */
static bool backlog_full(const upshotd *d, uint64_t nlines, size_t len)
{
    return journal_pending_lines(d->journal) + nlines > (uint64_t)d->cfg.max_backlog_events ||
           journal_pending_bytes(d->journal) + len > (uint64_t)d->cfg.max_backlog_bytes;
}

upshotd_journal_status upshotd_journal(upshotd *d, const char *lines, size_t len)
{
    uint64_t nlines = journal_count_lines(lines, len);
    if (backlog_full(d, nlines, len)) {
        g_metrics.backlog_refusals++;
        d->backlog_refused_at = time(NULL);
        log_limited(&d->backlog_log, "journal backlog full (%llu events, %llu bytes not "
                    "yet in Redis): refusing new events with 503",
                    (unsigned long long)journal_pending_lines(d->journal),
                    (unsigned long long)journal_pending_bytes(d->journal));
        return UPSHOTD_BACKLOG_FULL;
    }
    if (journal_append(d->journal, lines, len, nlines, d->cfg.fsync == FSYNC_ALWAYS) != 0) {
        g_metrics.journal_errors++;
        log_limited(&d->journal_log, "journal append failed: %s", strerror(errno));
        return UPSHOTD_JOURNAL_FAILED;
    }
    if (d->fsync_worker)
        atomic_store(&d->fsync_worker->dirty, true);
    store_kick(d->store);
    return UPSHOTD_JOURNALED;
}

struct commit_waiter {
    upshotd_commit_cb cb;
    void *arg;
};

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
    upshotd *d = arg;
    size_t len = evbuffer_get_length(d->commit_lines);
    upshotd_journal_status st =
        len == 0 ? UPSHOTD_JOURNALED
                 : upshotd_journal(d, (const char *)evbuffer_pullup(d->commit_lines, -1), len);
    evbuffer_drain(d->commit_lines, len);
    /* Callbacks may enqueue new work (a new commit round): take the list. */
    struct commit_waiter *w = d->commit_waiters;
    size_t n = d->ncommit_waiters;
    d->commit_waiters = NULL;
    d->ncommit_waiters = d->commit_waiters_cap = 0;
    for (size_t i = 0; i < n; i++)
        w[i].cb(w[i].arg, st);
    free(w);
}

int upshotd_journal_deferred(upshotd *d, const char *lines, size_t len, upshotd_commit_cb cb,
                             void *arg)
{
    if (d->ncommit_waiters == d->commit_waiters_cap) {
        size_t cap = d->commit_waiters_cap ? d->commit_waiters_cap * 2 : 64;
        struct commit_waiter *w = realloc(d->commit_waiters, cap * sizeof *w);
        if (!w)
            return -1;
        d->commit_waiters = w;
        d->commit_waiters_cap = cap;
    }
    if (evbuffer_add(d->commit_lines, lines, len) != 0)
        return -1;
    d->commit_waiters[d->ncommit_waiters++] = (struct commit_waiter){cb, arg};
    /* Activated once per round; it runs after the callbacks libevent has
     * already queued in this iteration, so their lines share the write. */
    if (d->ncommit_waiters == 1)
        event_active(d->commit_ev, EV_TIMEOUT, 1);
    return 0;
}



void upshotd_healthz(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    bool up = store_is_up(d->store);
    char why[500];
    bool healthy = store_is_healthy(d->store, why, sizeof why);
    int64_t lag_ms = journal_apply_lag_ms(d->journal);
    if (healthy && d->backlog_refused_at &&
        time(NULL) - d->backlog_refused_at <= UPSHOTD_BACKLOG_RETRY_S) {
        healthy = false;
        snprintf(why, sizeof why, "journal backlog full (%llu events not yet in Redis): "
                 "events are refused", (unsigned long long)journal_pending_lines(d->journal));
    } else if (healthy && lag_ms > d->cfg.degraded_lag_ms) {
        healthy = false;
        snprintf(why, sizeof why, "events reach Redis %.1f s after they are acknowledged",
                 (double)lag_ms / 1000.0);
    }
    if (!shared_state_is_up(d->shared)) {
        size_t used = healthy ? 0 : strlen(why);
        snprintf(why + used, sizeof why - used, "%sshared state unreachable (%s): serving the "
                 "cached copy of the experiments; admin changes are refused",
                 healthy ? "" : "; ", shared_state_last_error(d->shared));
        healthy = false;
    }
    json_t *body = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "status",
                             healthy ? "ok" : "degraded", "redis", up ? "up" : "down",
                             "redis_data", store_data_lost(d->store) ? "lost" : "ok",
                             "journal_pending",
                             (json_int_t)journal_pending_lines(d->journal), "journal_bytes",
                             (json_int_t)journal_end(d->journal), "experiments",
                             (json_int_t)registry_count(d->reg), "draining", d->draining);
    json_object_set_new(body, "apply_lag_seconds", json_real((double)lag_ms / 1000.0));
    json_object_set_new(body, "shared_state", json_string(shared_state_is_up(d->shared) ? "up" : "down"));
    json_object_set_new(body, "state_version", json_integer(shared_state_version(d->shared)));
    if (!healthy)
        json_object_set_new(body, "reason", json_string(why));
    http_reply_json(x, 200, body);
}

void upshotd_metrics(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    if (d->fsync_worker) /* fsync failures counted on the worker thread */
        g_metrics.journal_errors += atomic_exchange(&d->fsync_worker->errors, 0);
    metrics_gauges g = {
        .journal_pending_events = journal_pending_lines(d->journal),
        .journal_bytes = journal_end(d->journal),
        .journal_pending_bytes = journal_pending_bytes(d->journal),
        .apply_lag_seconds = (double)journal_apply_lag_ms(d->journal) / 1000.0,
        .redis_inflight_batches = store_inflight(d->store),
        .redis_up = store_is_up(d->store),
        .redis_data_lost = store_data_lost(d->store),
        .experiments_loaded = (int)registry_count(d->reg),
        .seen_pairs = store_seen_pairs(d->store),
        .worker_jobs = d->worker ? worker_pending(d->worker) : 0,
    };
    store_topology(d->store, &g.redis_nodes_connected, &g.redis_masters);
    struct evbuffer *b = evbuffer_new();
    metrics_render(b, &g);
    size_t len = evbuffer_get_length(b);
    http_reply_raw(x, 200, "text/plain; version=0.0.4", (const char *)evbuffer_pullup(b, -1), len);
    evbuffer_free(b);
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading %s", path);
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

static int load_config(const char *path, upshot_config *cfg, char *err, size_t errlen)
{
    char *text;
    if (read_file(path, &text, err, errlen) != 0)
        return -1;
    char base[1024];
    snprintf(base, sizeof base, "%s", path);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(base, sizeof base, ".");
    char cerr[CONFIG_ERR_MAX];
    bool ok = config_parse(text, base, getenv, cfg, cerr);
    free(text);
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, cerr);
        return -1;
    }
    return 0;
}

/* Raises the soft limit on open files to the hard one: every connection
 * is a descriptor, and the usual soft default of 1,024 is a small server.
 * Returns the soft limit in force. */
static long raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = was;
    }
    long got = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1L << 20) ? 1L << 20 : (long)rl.rlim_cur;
    log_msg(LOG_INFO, "open files limit %ld (was %ld, hard limit %ld)", got,
            was == RLIM_INFINITY ? -1L : (long)was,
            rl.rlim_max == RLIM_INFINITY ? -1L : (long)rl.rlim_max);
    return got;
}

/* The guard's limits from the config: a max_connections of 0, or one the
 * descriptor limit cannot hold, becomes the limit less FD_RESERVE. */
static http_guard_limits guard_limits(const upshotd *d)
{
    long room = d->fd_limit - FD_RESERVE > 16 ? d->fd_limit - FD_RESERVE : 16;
    long cap = d->cfg.max_connections;
    if (cap == 0 || cap > room) {
        if (cap > room)
            log_msg(LOG_WARN, "limits.max_connections %ld exceeds what %ld open files allow; using %ld",
                    cap, d->fd_limit, room);
        cap = room;
    }
    return (http_guard_limits){.max_body = d->cfg.max_body_bytes,
                               .max_head = (size_t)d->cfg.max_header_bytes,
                               .head_timeout_ms = d->cfg.header_timeout_ms,
                               .max_connections = (int)cap};
}

static void set_http_limits(upshotd *d)
{
    http_guard_limits gl = guard_limits(d);
    http_guard_set_limits(d->guard, &gl);
    evhttp_set_max_body_size(d->http, d->cfg.max_body_bytes);
    evhttp_set_max_headers_size(d->http, d->cfg.max_header_bytes + HTTP_REQUEST_LINE_MAX);
}

static int mkdir_p(const char *dir)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Before Redis has been reached, the file's experiments that the cached
 * copy lacks are served as the file says (a first start with Redis down
 * still serves them). They carry no revision: the shared state replaces
 * them as soon as it is read, and the file is seeded into it then. */
static int install_provisional(upshotd *d, char err[REGISTRY_ERR_MAX])
{
    experiment **plan;
    uint32_t *fps;
    size_t n;
    if (registry_plan_config(d->reg, &d->cfg, NULL, &plan, &fps, &n, err) != REGISTRY_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_object_del(plan[i]->def, "revision");
        plan[i]->revision = 0;
    }
    int rc = n ? registry_install(d->reg, plan, n, false, NULL) : 0;
    registry_plan_free(plan, fps, n);
    if (rc != 0)
        snprintf(err, REGISTRY_ERR_MAX, "out of memory");
    return rc;
}
/* The store's view of an experiment's configured revenue cap (store.h). */
static size_t configured_cap(void *arg, const char *exp, char *out)
{
    upshotd *d = arg;
    const experiment *e = registry_get(d->reg, exp);
    return e && e->revenue_cap > 0 ? decimal_amount(out, e->revenue_cap) : 0;
}


int upshotd_init(upshotd *d, struct event_base *base, const char *config_path, char *err,
                 size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->base = base;
    entropy_bytes(&d->ack_nonce, sizeof d->ack_nonce);
    d->fd_limit = raise_fd_limit();
    stats_init();
    snprintf(d->config_path, sizeof d->config_path, "%s", config_path);
    if (load_config(config_path, &d->cfg, err, errlen) != 0)
        return -1;
    if (mkdir_p(d->cfg.data_dir) != 0) {
        snprintf(err, errlen, "data_dir %s: %s", d->cfg.data_dir, strerror(errno));
        return -1;
    }
    if (access_log_open(d->cfg.access_log, err, errlen) != 0)
        return -1;
    char rerr[REGISTRY_ERR_MAX];
    if (!(d->reg = registry_new(d->cfg.data_dir, rerr))) {
        snprintf(err, errlen, "%s", rerr);
        return -1;
    }
    if (install_provisional(d, rerr) != 0) {
        snprintf(err, errlen, "%s", rerr);
        return -1;
    }
    if (!(d->journal = journal_open(d->cfg.data_dir, err, errlen)))
        return -1;
    d->commit_lines = evbuffer_new();
    d->commit_ev = event_new(base, -1, 0, on_commit, d);
    if (!d->commit_lines || !d->commit_ev) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(d->recent_ids = recent_new(1u << 20)) || !(d->pub = api_public_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(d->shared = shared_state_new(base, &d->cfg, d->reg))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(d->store = store_new(base, &d->cfg, d->journal))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    store_set_cap_source(d->store, configured_cap, d);

    d->http = evhttp_new(base);
    if (!d->http) {
        snprintf(err, errlen, "evhttp_new failed");
        return -1;
    }
    http_guard_limits gl = guard_limits(d);
    if (!(d->guard = http_guard_new(base, d->http, &gl))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    set_http_limits(d);
    if (d->cfg.tls_cert[0]) {
        if (!(d->tls = tls_new(d->cfg.tls_cert, d->cfg.tls_key, err, errlen)))
            return -1;
        http_guard_set_bev_factory(d->guard, tls_bufferevent_new, d->tls);
        char fp[65];
        tls_fingerprint(d->tls, fp);
        log_msg(LOG_INFO, "serving HTTPS with %s (sha256 %s)", d->cfg.tls_cert, fp);
    }
    log_msg(LOG_INFO, "at most %d connections", gl.max_connections);
    evhttp_set_timeout(d->http, HTTP_TIMEOUT_S);
    evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                            EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(d->http, router_dispatch, d);
    struct evhttp_bound_socket *sock =
        evhttp_bind_socket_with_handle(d->http, d->cfg.listen_host, (ev_uint16_t)d->cfg.listen_port);
    if (!sock) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", d->cfg.listen_host, d->cfg.listen_port,
                 strerror(errno));
        return -1;
    }
    http_guard_watch_listener(d->guard, evhttp_bound_socket_get_listener(sock));
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0)
        d->bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

    if (d->cfg.fsync == FSYNC_INTERVAL &&
        !(d->fsync_worker = fsync_worker_start(d->journal, d->cfg.fsync_ms))) {
        snprintf(err, errlen, "cannot start the journal fsync thread");
        return -1;
    }
    if (!(d->worker = worker_new(base, d->cfg.worker_threads, d->cfg.worker_queue))) {
        snprintf(err, errlen, "cannot start the results worker threads");
        return -1;
    }
    if (!(d->autopromote = autopromote_start(d)) || !(d->capping = capping_start(d)) ||
        !(d->bandit = bandit_start(d))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    store_start(d->store);
    shared_state_start(d->shared);
    log_msg(LOG_INFO, "listening (%s) on %s:%d with %zu experiments; data in %s; %llu journaled events to apply",
            d->tls ? "https" : "http", d->cfg.listen_host, d->bound_port, registry_count(d->reg),
            d->cfg.data_dir,
            (unsigned long long)journal_pending_lines(d->journal));
    return 0;
}

typedef struct reload_job {
    upshotd *d;
    upshot_config next;
    upshotd_reload_fn *cb;
    void *arg;
} reload_job;

/* The file's experiments are in the shared state: the other settings of
 * the new file take over. */
static void on_seeded(void *arg, shared_status st, const char *detail)
{
    reload_job *job = arg;
    upshotd *d = job->d;
    registry_status rs = REGISTRY_OK;
    char err[REGISTRY_ERR_MAX];
    snprintf(err, sizeof err, "%s", detail ? detail : "");
    if (st == SHARED_OK) {
        /* The store keeps a pointer to d->cfg: swap contents in place. */
        upshot_config old = d->cfg;
        d->cfg = job->next;
        config_free(&old);
        set_http_limits(d);
        d->config_generation++;
        log_msg(LOG_INFO, "configuration reloaded (%s experiments written to the shared state)",
                detail ? detail : "0");
    } else {
        config_free(&job->next);
        rs = st == SHARED_ERROR          ? REGISTRY_CONFLICT
             : st == SHARED_CONFLICT     ? REGISTRY_STALE
             : st == SHARED_NOT_REPLICATED ? REGISTRY_NOT_REPLICATED
                                         : REGISTRY_UNAVAILABLE;
    }
    if (job->cb)
        job->cb(job->arg, rs, err);
    free(job);
}

/* The certificate and key are read again on every reload, so a renewed
 * certificate is served without a restart, whatever becomes of the rest
 * of the reload (Redis may be down). Files that do not load leave the
 * running certificate in place, and say why. Turning TLS on or off needs
 * a restart (the listener's clients would all break at once). */
static void reload_tls(upshotd *d)
{
    char err[512];
    upshot_config next;
    if (!d->tls || load_config(d->config_path, &next, err, sizeof err) != 0)
        return; /* a file that does not parse is reported by the reload itself */
    if (!next.tls_cert[0]) {
        log_msg(LOG_WARN, "reload: tls was removed from the file; HTTPS goes on until a restart");
    } else if (tls_reload(d->tls, next.tls_cert, next.tls_key, err, sizeof err) != 0) {
        log_msg(LOG_ERROR, "reload: keeping the running certificate: %s", err);
    } else {
        char fp[65];
        tls_fingerprint(d->tls, fp);
        log_msg(LOG_INFO, "reload: serving the certificate %s (sha256 %s)", next.tls_cert, fp);
    }
    config_free(&next);
}

registry_status upshotd_reload(upshotd *d, const char *actor, upshotd_reload_fn *cb, void *arg,
                               char *err, size_t errlen)
{
    reload_tls(d);
    if (!shared_state_is_up(d->shared)) {
        snprintf(err, errlen, "Redis is unreachable (%s): a reload writes the file's experiments "
                 "to the shared state, so it waits until Redis is back",
                 shared_state_last_error(d->shared));
        return REGISTRY_UNAVAILABLE;
    }
    reload_job *job = calloc(1, sizeof *job);
    if (!job) {
        snprintf(err, errlen, "out of memory");
        return REGISTRY_NO_MEMORY;
    }
    if (load_config(d->config_path, &job->next, err, errlen) != 0) {
        free(job);
        return REGISTRY_INVALID;
    }
    upshot_config *next = &job->next;
    /* Settings that need a new socket, Redis connection or journal keep
     * their running values until a restart; say so rather than pretend. */
    if (strcmp(next->listen_host, d->cfg.listen_host) || next->listen_port != d->cfg.listen_port ||
        strcmp(next->redis_host, d->cfg.redis_host) || next->redis_port != d->cfg.redis_port ||
        next->nredis_nodes != d->cfg.nredis_nodes ||
        memcmp(next->redis_nodes, d->cfg.redis_nodes, sizeof next->redis_nodes) != 0 ||
        next->redis_wait_replicas != d->cfg.redis_wait_replicas ||
        next->redis_wait_timeout_ms != d->cfg.redis_wait_timeout_ms ||
        strcmp(next->data_dir, d->cfg.data_dir) || !next->tls_cert[0] != !d->cfg.tls_cert[0])
        log_msg(LOG_WARN, "reload: listen, redis, data_dir and turning tls on or off apply after "
                          "a restart");
    if (!next->tls_cert[0] != !d->cfg.tls_cert[0]) {
        snprintf(next->tls_cert, sizeof next->tls_cert, "%s", d->cfg.tls_cert);
        snprintf(next->tls_key, sizeof next->tls_key, "%s", d->cfg.tls_key);
    }
    snprintf(next->listen_host, sizeof next->listen_host, "%s", d->cfg.listen_host);
    next->listen_port = d->cfg.listen_port;
    snprintf(next->redis_host, sizeof next->redis_host, "%s", d->cfg.redis_host);
    next->redis_port = d->cfg.redis_port;
    next->nredis_nodes = d->cfg.nredis_nodes;
    memcpy(next->redis_nodes, d->cfg.redis_nodes, sizeof next->redis_nodes);
    next->redis_wait_replicas = d->cfg.redis_wait_replicas;
    next->redis_wait_timeout_ms = d->cfg.redis_wait_timeout_ms;
    snprintf(next->data_dir, sizeof next->data_dir, "%s", d->cfg.data_dir);
    next->state_poll_ms = d->cfg.state_poll_ms;

    /* Plan once here so that a file that breaks the rules is refused at
     * once with its reason; the shared state plans again on what it reads. */
    experiment **plan;
    uint32_t *fps;
    size_t n;
    char rerr[REGISTRY_ERR_MAX];
    registry_status st = registry_plan_config(d->reg, next, registry_seeds(d->reg), &plan, &fps,
                                              &n, rerr);
    registry_plan_free(plan, fps, n);
    if (st != REGISTRY_OK) {
        snprintf(err, errlen, "%s", rerr);
        config_free(next);
        free(job);
        return st;
    }
    job->d = d;
    job->cb = cb;
    job->arg = arg;
    if (shared_state_seed(d->shared, next, actor, NULL, on_seeded, job) != 0) {
        snprintf(err, errlen, "Redis is unreachable: nothing was reloaded");
        config_free(next);
        free(job);
        return REGISTRY_UNAVAILABLE;
    }
    return REGISTRY_OK;
}

static void on_drained(void *arg)
{
    upshotd *d = arg;
    if (journal_sync(d->journal) != 0)
        g_metrics.journal_errors++;
    log_msg(LOG_INFO, "drained (%llu events left in the journal for the next start)",
            (unsigned long long)journal_pending_lines(d->journal));
    event_base_loopexit(d->base, NULL);
}

void upshotd_begin_shutdown(upshotd *d)
{
    if (d->draining)
        return;
    d->draining = true;
    log_msg(LOG_INFO, "shutting down: applying %llu journaled events",
            (unsigned long long)journal_pending_lines(d->journal));
    store_drain(d->store, 5000, on_drained, d);
}

void upshotd_free(upshotd *d)
{
    fsync_worker_stop(d->fsync_worker); /* before the journal closes */
    if (d->commit_ev)
        event_free(d->commit_ev);
    if (d->commit_lines)
        evbuffer_free(d->commit_lines);
    free(d->commit_waiters);
    /* Computations in flight finish (or, not started, are cancelled) and
     * answer their requests while the registry and evhttp still exist. */
    worker_free(d->worker);
    d->worker = NULL;
    store_free(d->store); /* pending callbacks answer their requests first */
    shared_state_free(d->shared); /* likewise: changes in flight answer 503 */
    d->shared = NULL;
    autopromote_free(d->autopromote); /* its reads in flight ended just above */
    capping_free(d->capping);         /* likewise */
    bandit_free(d->bandit);           /* likewise */
    if (d->http)
        evhttp_free(d->http);
    http_guard_free(d->guard); /* after evhttp_free, which closes its connections */
    tls_free(d->tls);          /* after the connections, though each holds its own reference */
    journal_close(d->journal);
    recent_free(d->recent_ids);
    registry_free(d->reg);
    api_public_free(d->pub);
    config_free(&d->cfg);
    access_log_close();
}

int upshotd_check_config(const char *path, char *err, size_t errlen)
{
    upshot_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (load_config(path, &cfg, err, errlen) != 0)
        return -1;
    char cerr[CONFIG_ERR_MAX];
    bool ok = config_check_experiment_set(cfg.experiments, cfg.nexperiments, cerr);
    if (!ok)
        snprintf(err, errlen, "%s: %s", path, cerr);
    config_free(&cfg);
    return ok ? 0 : -1;
}

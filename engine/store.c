/* store.c: the Redis connection and the journal writer (see store.h). */
#include "store.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "metrics.h"
#include "record_lua.h"
#include "validate.h"

/* Batches sent and not yet answered. A few keep Redis busy while the
 * replies of the previous ones travel back; more only add memory. */
#define STORE_MAX_INFLIGHT 4
/* A batch unanswered for this long means Redis is too slow: drop the
 * connection and keep spooling into the journal until it recovers. */
#define STORE_SLOW_MS 3000
#define STORE_READ_CAP (1u << 20)
#define STORE_RECONNECT_MIN_MS 200
#define STORE_RECONNECT_MAX_MS 5000

typedef struct chunk {
    uint64_t end;        /* journal offset just after the chunk */
    uint64_t lines;
    int outstanding;     /* script calls not yet answered */
    bool failed;
    struct timespec sent;
} chunk;

struct store {
    struct event_base *base;
    const upshot_config *cfg;
    journal *j;
    redisAsyncContext *ac;
    bool up;                 /* connected and script loaded */
    bool connecting;
    char sha[41];
    char last_error[160];
    int backoff_ms;
    struct event *reconnect_ev;
    struct event *flush_ev;
    struct event *watchdog_ev;
    bool flush_armed;
    int connecting_ticks;    /* watchdog ticks spent waiting for a connect */

    uint64_t read_pos;       /* next journal offset to send */
    chunk ring[STORE_MAX_INFLIGHT];
    int ring_head, ring_len;

    char *readbuf;

    void (*drain_done)(void *);
    void *drain_arg;
    struct event *drain_ev;
};

/* Per script call: which events it carried, for the outcome metrics. */
typedef struct batch_call {
    store *s;
    uint32_t nevents;
    char types[];
} batch_call;

static void flush(store *s);
static void schedule_reconnect(store *s);

static void set_error(store *s, const char *what, const char *detail)
{
    snprintf(s->last_error, sizeof s->last_error, "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

static double ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static void check_drained(store *s)
{
    if (s->drain_done && (journal_pending_lines(s->j) == 0 || !s->up)) {
        void (*done)(void *) = s->drain_done;
        s->drain_done = NULL;
        if (s->drain_ev)
            event_del(s->drain_ev);
        done(s->drain_arg);
    }
}

/* Drops the connection (if any) and starts over from the checkpoint. */
static void connection_lost(store *s, const char *why)
{
    if (s->up || s->connecting)
        fprintf(stderr, "upshotd: redis unavailable (%s); events are spooled in the journal\n", why);
    s->up = false;
    s->connecting = false;
    s->ac = NULL;
    s->ring_len = 0;
    s->read_pos = journal_applied(s->j);
    check_drained(s);
    schedule_reconnect(s);
}

static void on_disconnect(const redisAsyncContext *c, int status)
{
    store *s = c->data;
    if (!s || s->ac != c)
        return;
    if (status != REDIS_OK)
        set_error(s, "connection lost", c->errstr);
    connection_lost(s, s->last_error[0] ? s->last_error : "disconnected");
}

static void fail_connection(store *s, redisAsyncContext *c, const char *what, const char *detail)
{
    g_metrics.redis_errors++;
    set_error(s, what, detail);
    if (s->ac == c)
        redisAsyncDisconnect(c); /* on_disconnect follows */
}

static void complete_front(store *s)
{
    while (s->ring_len > 0) {
        chunk *ck = &s->ring[s->ring_head];
        if (ck->outstanding > 0)
            return;
        if (journal_mark_applied(s->j, ck->end, ck->lines) != 0) {
            g_metrics.journal_errors++;
            set_error(s, "journal checkpoint", strerror(errno));
        }
        g_metrics.redis_batches++;
        s->ring_head = (s->ring_head + 1) % STORE_MAX_INFLIGHT;
        s->ring_len--;
        if (s->read_pos > journal_end(s->j)) /* the journal was compacted */
            s->read_pos = journal_end(s->j);
    }
}

static void on_batch_reply(redisAsyncContext *c, void *r, void *privdata)
{
    batch_call *call = privdata;
    store *s = call->s;
    redisReply *reply = r;
    if (s->ac != c || s->ring_len == 0) { /* stale: a reconnect started over */
        free(call);
        return;
    }
    chunk *ck = &s->ring[s->ring_head];
    if (!reply || reply->type != REDIS_REPLY_STRING || reply->len != (size_t)call->nevents) {
        ck->failed = true;
        if (reply && reply->type == REDIS_REPLY_ERROR)
            fail_connection(s, c, "batch failed", reply->str);
        else if (reply)
            fail_connection(s, c, "batch failed", "unexpected reply");
        free(call);
        return;
    }
    for (size_t i = 0; i < call->nevents; i++) {
        int type = call->types[i] == 'C' ? EVT_CONVERSION : call->types[i] == 'D' ? EVT_DECLINE
                                                                                   : EVT_EXPOSURE;
        char st = reply->str[i];
        g_metrics.events[type][st == '0' ? EVT_APPLIED : st == '1' ? EVT_DUPLICATE_REDIS : EVT_UNEXPOSED]++;
    }
    free(call);
    ck->outstanding--;
    complete_front(s);
    check_drained(s);
    flush(s);
}

/* One parsed journal line; fields point into the read buffer. */
typedef struct record {
    char *f[6]; /* type, exp, visitor, a, b, day */
} record;

static int cmp_record_exp(const void *a, const void *b)
{
    const record *x = a, *y = b;
    int c = strcmp(x->f[1], y->f[1]);
    return c ? c : (x < y ? -1 : x > y); /* stable: keep journal order */
}

static int split_line(char *line, record *r)
{
    int n = 0;
    r->f[n++] = line;
    for (char *p = line; *p; p++) {
        if (*p == '\t') {
            *p = '\0';
            if (n == 6)
                return -1;
            r->f[n++] = p + 1;
        }
    }
    return n == 6 ? 0 : -1;
}

/* Decimal digits of v into out (at least 21 bytes); returns the length. */
static size_t utoa(uint64_t v, char *out)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* Formats argv as one RESP command (what redisAsyncCommandArgv does, but
 * with plain copies: its per-argument formatting showed in profiles).
 * Returns a malloc'ed buffer and its length, or NULL. */
static char *format_resp(size_t argc, const char **argv, const size_t *argvlen, size_t *len)
{
    size_t cap = 16;
    for (size_t i = 0; i < argc; i++)
        cap += argvlen[i] + 26;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t n = 0;
    buf[n++] = '*';
    n += utoa(argc, buf + n);
    buf[n++] = '\r';
    buf[n++] = '\n';
    for (size_t i = 0; i < argc; i++) {
        buf[n++] = '$';
        n += utoa(argvlen[i], buf + n);
        buf[n++] = '\r';
        buf[n++] = '\n';
        memcpy(buf + n, argv[i], argvlen[i]);
        n += argvlen[i];
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    *len = n;
    return buf;
}

/* Appends src to buf at *n (bounded by cap) without printf. */
static void put(char *buf, size_t cap, size_t *n, const char *src)
{
    size_t l = strlen(src);
    if (*n + l >= cap)
        l = cap - *n - 1;
    memcpy(buf + *n, src, l);
    *n += l;
    buf[*n] = '\0';
}

/* Sends one EVALSHA of record.lua for records [lo, hi) of one experiment,
 * in the script's argument layout: distinct (record, field) pairs of the
 * exposures, the exposures as (shard, visitor, pair), then the other events. */
static int send_group(store *s, record *recs, size_t lo, size_t hi)
{
    size_t nev = hi - lo;
    const char *exp = recs[lo].f[1];
    size_t maxkeys = 2 + nev;
    size_t argc_max = 5 + maxkeys + 2 * nev + 6 * nev;
    const char **argv = malloc(argc_max * sizeof *argv);
    size_t *argvlen = malloc(argc_max * sizeof *argvlen);
    char (*keybuf)[KEYS_MAX] = malloc(maxkeys * sizeof *keybuf);
    char (*numbuf)[24] = malloc(2 * nev * sizeof *numbuf); /* shard index, pair index */
    char (*recbuf)[VALIDATE_KEY_MAX + 24] = malloc(nev * sizeof *recbuf);
    char (*fieldbuf)[VALIDATE_KEY_MAX + 40] = malloc(nev * sizeof *fieldbuf);
    batch_call *call = malloc(sizeof *call + nev);
    int rc = -1;
    if (!argv || !argvlen || !keybuf || !numbuf || !recbuf || !fieldbuf || !call)
        goto done;

    keys_counters(keybuf[0], exp);
    keys_event_ids(keybuf[1], exp);
    /* One KEYS entry per event, repeats allowed: with 65,536 shards a
     * batch rarely shares one, and searching for repeats cost more than
     * sending them. */
    size_t nkeys = 2 + nev;
    for (size_t i = 0; i < nev; i++) {
        keys_visitor_shard(keybuf[2 + i], exp, keys_shard_of(recs[lo + i].f[2]));
        utoa(i + 3, numbuf[i]); /* its index in KEYS, which Lua counts from 1 */
    }

    /* Distinct (record, field) pairs of the exposures. */
    size_t npairs = 0, nexposures = 0;
    size_t *pair_idx = malloc(nev * sizeof *pair_idx);
    if (!pair_idx)
        goto done;
    for (size_t i = 0; i < nev; i++) {
        record *r = &recs[lo + i];
        char t = r->f[0][0];
        if (t != 'X' && t != 'P')
            continue;
        char rec[VALIDATE_KEY_MAX + 24], field[VALIDATE_KEY_MAX + 40];
        size_t n = 0;
        rec[0] = field[0] = '\0';
        put(rec, sizeof rec, &n, r->f[3]);
        put(rec, sizeof rec, &n, "|");
        put(rec, sizeof rec, &n, r->f[4]);
        put(rec, sizeof rec, &n, t == 'P' ? "|p" : "|");
        n = 0;
        put(field, sizeof field, &n, t == 'P' ? "pe|" : "e|");
        put(field, sizeof field, &n, r->f[3]);
        put(field, sizeof field, &n, "|");
        put(field, sizeof field, &n, r->f[4]);
        put(field, sizeof field, &n, "|");
        put(field, sizeof field, &n, r->f[5]);
        size_t k = 0;
        while (k < npairs && (strcmp(recbuf[k], rec) || strcmp(fieldbuf[k], field)))
            k++;
        if (k == npairs) {
            memcpy(recbuf[k], rec, sizeof rec);
            memcpy(fieldbuf[k], field, sizeof field);
            npairs++;
        }
        pair_idx[i] = k + 1; /* 1-based pair number */
        nexposures++;
    }

    char numkeys[16], npairs_s[16], nexp_s[16];
    snprintf(numkeys, sizeof numkeys, "%zu", nkeys);
    snprintf(npairs_s, sizeof npairs_s, "%zu", npairs);
    snprintf(nexp_s, sizeof nexp_s, "%zu", nexposures);
    size_t argc = 0, ntypes = 0;
    argv[argc++] = "EVALSHA";
    argv[argc++] = s->sha;
    argv[argc++] = numkeys;
    for (size_t k = 0; k < nkeys; k++)
        argv[argc++] = keybuf[k];
    argv[argc++] = npairs_s;
    for (size_t k = 0; k < npairs; k++) {
        argv[argc++] = recbuf[k];
        argv[argc++] = fieldbuf[k];
    }
    argv[argc++] = nexp_s;
    for (size_t i = 0; i < nev; i++) {
        record *r = &recs[lo + i];
        char t = r->f[0][0];
        if (t != 'X' && t != 'P')
            continue;
        utoa(pair_idx[i], numbuf[nev + i]);
        argv[argc++] = numbuf[i];
        argv[argc++] = r->f[2];
        argv[argc++] = numbuf[nev + i];
        call->types[ntypes++] = 'X';
    }
    for (size_t i = 0; i < nev; i++) {
        record *r = &recs[lo + i];
        char t = r->f[0][0];
        if (t == 'X' || t == 'P')
            continue;
        argv[argc++] = r->f[0];
        argv[argc++] = numbuf[i];
        argv[argc++] = r->f[2];
        argv[argc++] = r->f[3];
        argv[argc++] = r->f[4];
        argv[argc++] = r->f[5];
        call->types[ntypes++] = t;
    }
    free(pair_idx);
    for (size_t i = 0; i < argc; i++)
        argvlen[i] = strlen(argv[i]);
    call->s = s;
    call->nevents = (uint32_t)nev;
    size_t cmdlen;
    char *cmd = format_resp(argc, argv, argvlen, &cmdlen);
    rc = cmd && redisAsyncFormattedCommand(s->ac, on_batch_reply, call, cmd, cmdlen) == REDIS_OK ? 0 : -1;
    free(cmd);
    if (rc == 0)
        call = NULL; /* owned by the callback now */
done:
    free(argv), free(argvlen), free(keybuf), free(numbuf), free(recbuf), free(fieldbuf);
    free(call);
    return rc;
}

static void flush(store *s)
{
    if (!s->up)
        return;
    while (s->ring_len < STORE_MAX_INFLIGHT && s->read_pos < journal_end(s->j)) {
        ssize_t n = journal_read(s->j, s->read_pos, s->readbuf, STORE_READ_CAP - 1);
        if (n <= 0)
            return;
        size_t cap = (size_t)s->cfg->batch_size;
        record *recs = malloc(cap * sizeof *recs);
        if (!recs)
            return;
        size_t nrec = 0, used = 0;
        char *p = s->readbuf;
        while (nrec < cap && used < (size_t)n) {
            char *nl = memchr(p, '\n', (size_t)n - used);
            *nl = '\0';
            used += (size_t)(nl - p) + 1;
            if (split_line(p, &recs[nrec]) == 0)
                nrec++;
            else
                fprintf(stderr, "upshotd: skipping a malformed journal line\n");
            p = nl + 1;
        }
        qsort(recs, nrec, sizeof *recs, cmp_record_exp);
        chunk *ck = &s->ring[(s->ring_head + s->ring_len) % STORE_MAX_INFLIGHT];
        *ck = (chunk){.end = s->read_pos + used, .lines = nrec};
        clock_gettime(CLOCK_MONOTONIC, &ck->sent);
        s->ring_len++;
        s->read_pos += used;
        bool ok = true;
        for (size_t lo = 0; lo < nrec && ok;) {
            size_t hi = lo + 1;
            while (hi < nrec && strcmp(recs[hi].f[1], recs[lo].f[1]) == 0)
                hi++;
            ok = send_group(s, recs, lo, hi) == 0;
            if (ok)
                ck->outstanding++;
            lo = hi;
        }
        free(recs);
        if (!ok) {
            fail_connection(s, s->ac, "sending a batch failed", NULL);
            return;
        }
        if (ck->outstanding == 0) /* only malformed lines: nothing to wait for */
            complete_front(s);
    }
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    s->flush_armed = false;
    flush(s);
}

void store_kick(store *s)
{
    if (!s->up || s->ring_len >= STORE_MAX_INFLIGHT)
        return;
    if (s->cfg->flush_ms == 0 || s->drain_done ||
        journal_pending_lines(s->j) >= (uint64_t)s->cfg->batch_size + (uint64_t)s->ring_len * (uint64_t)s->cfg->batch_size) {
        flush(s);
        return;
    }
    if (!s->flush_armed) {
        struct timeval tv = {0, s->cfg->flush_ms * 1000};
        event_add(s->flush_ev, &tv);
        s->flush_armed = true;
    }
}

static void on_script_loaded(redisAsyncContext *c, void *r, void *privdata)
{
    store *s = privdata;
    redisReply *reply = r;
    if (s->ac != c)
        return;
    if (!reply || reply->type != REDIS_REPLY_STRING || reply->len != 40) {
        fail_connection(s, c, "SCRIPT LOAD failed", reply && reply->str ? reply->str : NULL);
        return;
    }
    memcpy(s->sha, reply->str, 40);
    s->sha[40] = '\0';
    s->up = true;
    s->connecting = false;
    s->backoff_ms = STORE_RECONNECT_MIN_MS;
    s->last_error[0] = '\0';
    s->read_pos = journal_applied(s->j);
    fprintf(stderr, "upshotd: redis up at %s:%d; %llu spooled events to apply\n",
            s->cfg->redis_host, s->cfg->redis_port,
            (unsigned long long)journal_pending_lines(s->j));
    flush(s);
}

static void on_setup_reply(redisAsyncContext *c, void *r, void *privdata)
{
    store *s = privdata;
    redisReply *reply = r;
    if (s->ac == c && reply && reply->type == REDIS_REPLY_ERROR)
        fail_connection(s, c, "connection setup failed", reply->str);
}

static void on_connect(const redisAsyncContext *c, int status)
{
    store *s = c->data;
    if (!s || s->ac != c)
        return;
    if (status != REDIS_OK) {
        set_error(s, "connect failed", c->errstr);
        connection_lost(s, s->last_error);
        return;
    }
    redisAsyncContext *ac = s->ac;
    if (s->cfg->redis_password[0])
        redisAsyncCommand(ac, on_setup_reply, s, "AUTH %s", s->cfg->redis_password);
    if (s->cfg->redis_db)
        redisAsyncCommand(ac, on_setup_reply, s, "SELECT %d", s->cfg->redis_db);
    redisAsyncCommand(ac, on_script_loaded, s, "SCRIPT LOAD %s", record_lua);
}

static void connect_now(store *s)
{
    redisAsyncContext *ac = redisAsyncConnect(s->cfg->redis_host, s->cfg->redis_port);
    if (!ac || ac->err) {
        set_error(s, "connect failed", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_reconnect(s);
        return;
    }
    ac->data = s;
    s->ac = ac;
    s->connecting = true;
    s->connecting_ticks = 0;
    redisLibeventAttach(ac, s->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    g_metrics.redis_reconnects++;
    connect_now(s);
}

static void schedule_reconnect(store *s)
{
    struct timeval tv = {s->backoff_ms / 1000, (s->backoff_ms % 1000) * 1000};
    event_add(s->reconnect_ev, &tv);
    s->backoff_ms = s->backoff_ms * 2 > STORE_RECONNECT_MAX_MS ? STORE_RECONNECT_MAX_MS
                                                               : s->backoff_ms * 2;
}

/* Once a second: a batch unanswered for too long means a slow or hung
 * Redis; start over on a new connection (events stay in the journal). */
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    if (s->up && s->ring_len > 0 && ms_since(&s->ring[s->ring_head].sent) > STORE_SLOW_MS)
        fail_connection(s, s->ac, "redis too slow", "a batch took longer than 3 s");
    else if (s->connecting && s->ac && !s->up) {
        /* hiredis 0.14 has no connect timeout; bound it here (3 ticks). */
        if (++s->connecting_ticks >= 3) {
            s->connecting_ticks = 0;
            redisAsyncContext *ac = s->ac;
            set_error(s, "connect timed out", NULL);
            s->ac = NULL;
            redisAsyncFree(ac);
            connection_lost(s, "connect timed out");
        }
    }
    if (s->up)
        flush(s);
}

store *store_new(struct event_base *base, const upshot_config *cfg, journal *j)
{
    store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->cfg = cfg;
    s->j = j;
    s->backoff_ms = STORE_RECONNECT_MIN_MS;
    s->readbuf = malloc(STORE_READ_CAP);
    s->reconnect_ev = evtimer_new(base, on_reconnect_timer, s);
    s->flush_ev = evtimer_new(base, on_flush_timer, s);
    s->watchdog_ev = event_new(base, -1, EV_PERSIST, on_watchdog, s);
    if (!s->readbuf || !s->reconnect_ev || !s->flush_ev || !s->watchdog_ev) {
        store_free(s);
        return NULL;
    }
    struct timeval second = {1, 0};
    event_add(s->watchdog_ev, &second);
    set_error(s, "not connected yet", NULL);
    return s;
}

void store_start(store *s)
{
    connect_now(s);
}

void store_free(store *s)
{
    if (!s)
        return;
    if (s->ac) {
        redisAsyncContext *ac = s->ac;
        s->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    if (s->reconnect_ev)
        event_free(s->reconnect_ev);
    if (s->flush_ev)
        event_free(s->flush_ev);
    if (s->watchdog_ev)
        event_free(s->watchdog_ev);
    if (s->drain_ev)
        event_free(s->drain_ev);
    free(s->readbuf);
    free(s);
}

bool store_is_up(const store *s) { return s->up; }
const char *store_last_error(const store *s) { return s->last_error; }
uint64_t store_inflight(const store *s) { return (uint64_t)s->ring_len; }

int store_command_argv(store *s, redisCallbackFn *cb, void *privdata, int argc,
                       const char **argv, const size_t *argvlen)
{
    if (!s->up)
        return -1;
    return redisAsyncCommandArgv(s->ac, cb, privdata, argc, argv, argvlen) == REDIS_OK ? 0 : -1;
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    if (s->drain_done) {
        void (*done)(void *) = s->drain_done;
        s->drain_done = NULL;
        done(s->drain_arg);
    }
}

void store_drain(store *s, int timeout_ms, void (*done)(void *arg), void *arg)
{
    s->drain_done = done;
    s->drain_arg = arg;
    if (!s->drain_ev)
        s->drain_ev = evtimer_new(s->base, on_drain_timeout, s);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    event_add(s->drain_ev, &tv);
    flush(s);
    check_drained(s);
}

/* store.c: the Redis connection and the journal writer (see store.h). */
#include "store.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "counters_merge.h"
#include "decimal.h"
#include "entropy.h"
#include "journal_line.h"
#include "keys.h"
#include "keyslot.h"
#include "log.h"
#include "metrics.h"
#include "migrate_lua.h"
#include "record_lua.h"
#include "recap_lua.h"
#include "redis_link.h"
#include "seen.h"
#include "validate.h"

/* Batches sent and not yet answered. A few keep Redis busy while the
 * replies of the previous ones travel back; more only add memory. */
#define STORE_MAX_INFLIGHT 4
/* A batch unanswered for this long means Redis is too slow: drop the
 * connection and keep spooling into the journal until it recovers. */
#define STORE_SLOW_MS 3000
/* A batch unanswered for this long already makes /healthz say degraded:
 * well before the watchdog gives up on the connection, and well above
 * the few milliseconds a healthy Redis takes. */
#define STORE_DEGRADED_MS 1000
#define STORE_READ_CAP (1u << 20)

/* A chunk: the journal lines [previous chunk's end, end) read in one go
 * and sent as one script call per experiment.
 *
 * The checkpoint invariant: the checkpoint passes a chunk only when every
 * one of its calls was handed to the connection (sealed) and every one of
 * them was confirmed by its own reply (confirmed == calls), and, with
 * redis.wait_replicas = N > 0, when on every node those calls ran on (after
 * redirects) a WAIT sent after their replies came back counted at least N
 * replicas (waited). A chunk whose sending failed, or whose connection was
 * dropped before all that came, is never retired: the ring is emptied and
 * reading starts again from the checkpoint once the link is up again,
 * where the idempotent script makes a second application harmless.
 * complete_front() is the one place that advances the checkpoint, and it
 * checks exactly this. */
#define STORE_NODE_WORDS (REDIS_LINK_MAX_NODES / 64)
typedef struct chunk {
    uint64_t end;        /* journal offset just after the chunk; names it (batch_call.seq) */
    uint64_t lines;      /* journal lines in it, skipped malformed ones included */
    int calls;           /* script calls handed to the connection */
    int confirmed;       /* of those, answered with a well-formed reply */
    bool sealed;         /* every call of the chunk was handed over */
    bool waited;         /* WAIT counted enough replicas on every node (or no WAIT);
                          * a chunk without calls needs none */
    int waits_pending;   /* WAITs sent and not yet answered with enough replicas */
    uint64_t nodes[STORE_NODE_WORDS]; /* the nodes its calls ran on, a bit each */
    struct timespec sent;
} chunk;

struct store {
    struct event_base *base;
    const upshot_config *cfg;
    journal *j;
    redis_link *link;        /* every connection (redis_link.h) */
    int script;              /* record.lua's number in the link */
    int migrate_script;      /* migrate.lua's */
    bool up;                 /* the link is up: every slot has a ready master */
    bool one_chunk_at_a_time; /* a cluster: see calls_outstanding() */
    uint64_t epoch;          /* +1 whenever the link goes down: older replies are stale */
    int wait_replicas, wait_timeout_ms; /* as started (a reload changes them at restart) */
    char sha[41];
    char last_error[200];
    struct event *flush_ev;
    struct event *watchdog_ev;
    bool flush_armed;

    uint64_t read_pos;       /* next journal offset to send */
    chunk ring[STORE_MAX_INFLIGHT];
    int ring_head, ring_len;

    char *readbuf;
    seen *seen;              /* pairs Redis is known to hold (seen.h) */
    struct record *recs;     /* parsed lines of one batch */
    struct record *by_group; /* one experiment's lines of it, by shard group */
    size_t recs_cap;         /* batch_size when allocated (a reload may raise it) */
    keys_tag_cache *tags;    /* experiments' group tags (keys.h) */

    void (*drain_done)(void *);
    void *drain_arg;
    struct event *drain_ev;

    /* The data set marker (see "The data set marker" below). */
    char dataset[64];        /* the id this upshotd last saw; "" before first contact */
    char nonce[33];          /* random, per process: makes each candidate id unique */
    uint64_t candidates;     /* ids proposed so far */
    bool marker_pending;     /* a check is on the wire */
    bool data_lost;          /* a loss was detected since start */
    char data_lost_why[200];

    int recap_script;        /* recap.lua (store_recap) */
    store_cap_fn *cap_of;    /* an experiment's configured revenue cap, or NULL */
    void *cap_arg;

    /* The upgrade from the single-tag layout (see "The upgrade" below). */
    bool migrating;          /* between the link coming up and the store going up */
    char migrate_sha[41];
    int migrate_pending;     /* replies the migration still waits for */
    bool scan_done;          /* SCAN's cursor came back to 0 */
    uint64_t migrated;       /* old keys moved on this connection */
};

/* Per script call: which events it carried, in ARGV order, for the
 * outcome metrics, and the seen-set keys of its exposures (which come
 * first), remembered once Redis has answered for them. */
typedef struct batch_call {
    store *s;
    uint64_t epoch, seq;     /* the link's life, and the end of the chunk it belongs to */
    uint32_t nevents, nexposures;
    uint32_t nknown;         /* exposures left out as repeats, counted on the reply */
    uint64_t *exposure_keys; /* points into the same allocation */
    char types[];
} batch_call;

static batch_call *batch_call_new(store *s, size_t nev)
{
    size_t keys_at = (sizeof(batch_call) + nev + 7) & ~(size_t)7;
    batch_call *call = malloc(keys_at + nev * sizeof(uint64_t));
    if (!call)
        return NULL;
    call->s = s;
    call->epoch = s->epoch;
    /* flush opens the chunk before building its calls: the last one */
    call->seq = s->ring[(s->ring_head + s->ring_len + STORE_MAX_INFLIGHT - 1) % STORE_MAX_INFLIGHT].end;
    call->nevents = call->nexposures = call->nknown = 0;
    call->exposure_keys = (uint64_t *)(void *)((char *)call + keys_at);
    return call;
}

/* Exposures left out as repeats are duplicates in Redis's sense. They are
 * counted once their batch is applied, so a batch that fails and is
 * replayed does not count them twice. */
static void count_known(uint32_t n)
{
    g_metrics.events[EVT_EXPOSURE][EVT_DUPLICATE_REDIS] += n;
    g_metrics.exposures_known += n;
}

static void flush(store *s);
static void go_up(store *s);

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

/* The link went down (or the store gave up on it): forget everything in
 * flight and start over from the checkpoint when it is up again. Replies
 * still to come carry an older epoch and are dropped. */
static void connection_lost(store *s, const char *why)
{
    if (s->up)
        log_msg(LOG_WARN, "redis unavailable (%s); events are spooled in the journal", why);
    if (why != s->last_error)
        set_error(s, why, NULL);
    s->up = false;
    s->migrating = false; /* started again from the beginning on the next connect */
    s->epoch++;
    s->ring_len = 0;
    s->read_pos = journal_applied(s->j);
    s->marker_pending = false;
    seen_clear(s->seen); /* the Redis we reconnect to may have lost records */
    check_drained(s);
}

static void on_link_down(void *arg, const char *why)
{
    connection_lost(arg, why);
}

/* Gives up on every connection at once (redis_link_reset): nothing sent
 * before can complete a chunk any more, since the epoch moves on first. A
 * graceful close would not do: hiredis defers it while replies are
 * pending, which a stalled Redis never sends. */
static void fail_connection(store *s, const char *what, const char *detail)
{
    g_metrics.redis_errors++;
    set_error(s, what, detail);
    connection_lost(s, s->last_error);
    redis_link_reset(s->link, s->last_error);
}

/* The chunk of seq among those in flight; NULL when it is gone. */
static chunk *chunk_of(store *s, uint64_t seq)
{
    for (int at = 0; at < s->ring_len; at++) {
        chunk *ck = &s->ring[(s->ring_head + at) % STORE_MAX_INFLIGHT];
        if (ck->end == seq)
            return ck;
    }
    return NULL;
}

static void complete_front(store *s)
{
    while (s->ring_len > 0) {
        chunk *ck = &s->ring[s->ring_head];
        if (!ck->sealed || ck->confirmed != ck->calls || (ck->calls > 0 && !ck->waited))
            return; /* the checkpoint invariant (struct chunk) */
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

/* ---- WAIT ----
 * With redis.wait_replicas = N, a chunk whose calls are all answered sends
 * `WAIT N timeout` on the connection of every node they ran on. WAIT
 * answers how many replicas acknowledged every write made on that
 * connection before it, so N or more means each of the chunk's writes on
 * that node reached N replicas. Fewer (a replica down or slow): the WAIT
 * is sent again; the chunk stays in flight, and once it has waited
 * STORE_SLOW_MS the watchdog starts over on new connections, replaying it
 * from the journal (the script counts each event once). */
typedef struct wait_call {
    store *s;
    uint64_t epoch, seq;
} wait_call;

static void on_wait_reply(void *arg, int node, const redisReply *reply);

static int send_wait(store *s, uint64_t seq, int node)
{
    wait_call *w = malloc(sizeof *w);
    if (!w)
        return -1;
    *w = (wait_call){s, s->epoch, seq};
    if (redis_link_wait(s->link, node, s->wait_replicas, s->wait_timeout_ms, on_wait_reply, w) != 0) {
        free(w);
        return -1;
    }
    return 0;
}

static void start_waits(store *s, chunk *ck)
{
    if (s->wait_replicas == 0 || ck->calls == 0) {
        ck->waited = true;
        return;
    }
    for (int node = 0; node < REDIS_LINK_MAX_NODES; node++) {
        if (!(ck->nodes[node / 64] >> (node % 64) & 1))
            continue;
        if (send_wait(s, ck->end, node) != 0) {
            fail_connection(s, "WAIT failed", "could not send it");
            return;
        }
        ck->waits_pending++;
    }
}

static void on_wait_reply(void *arg, int node, const redisReply *reply)
{
    wait_call *w = arg;
    store *s = w->s;
    bool stale = w->epoch != s->epoch;
    uint64_t seq = w->seq;
    free(w);
    if (stale)
        return;
    chunk *ck = chunk_of(s, seq);
    if (!ck)
        return;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        fail_connection(s, "WAIT failed",
                        !reply ? "no reply" : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                               : "unexpected reply");
        return;
    }
    if (reply->integer < s->wait_replicas) {
        g_metrics.redis_wait_short++;
        snprintf(s->last_error, sizeof s->last_error,
                 "WAIT on %s: %lld of %d replicas acknowledged a batch", redis_link_node_name(s->link, node),
                 reply->integer, s->wait_replicas);
        if (send_wait(s, seq, node) != 0)
            fail_connection(s, "WAIT failed", "could not send it");
        return;
    }
    if (--ck->waits_pending == 0) {
        ck->waited = true;
        complete_front(s);
        check_drained(s);
        flush(s);
    }
}

static void on_batch_reply(void *arg, int node, const redisReply *reply)
{
    batch_call *call = arg;
    store *s = call->s;
    if (call->epoch != s->epoch) { /* stale: the link went down since */
        free(call);
        return;
    }
    /* Replies of different nodes come in any order: the call names its
     * chunk. */
    chunk *ck = chunk_of(s, call->seq);
    if (!ck) { /* a reply no chunk is waiting for: never trust it */
        free(call);
        fail_connection(s, "batch failed", "a reply without a call");
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_STRING || reply->len != (size_t)call->nevents) {
        free(call);
        fail_connection(s, "batch failed",
                        !reply ? "no reply"
                        : reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return;
    }
    for (size_t i = 0; i < call->nexposures; i++)
        if (reply->str[i] == '0' || reply->str[i] == '1') /* the record exists now */
            seen_add(s->seen, call->exposure_keys[i]);
    count_known(call->nknown);
    for (size_t i = 0; i < call->nevents; i++) {
        int type = call->types[i] == 'C'   ? EVT_CONVERSION
                   : call->types[i] == 'D' ? EVT_DECLINE
                   : call->types[i] == 'R' ? EVT_REFUND
                                           : EVT_EXPOSURE;
        char st = reply->str[i];
        g_metrics.events[type][st == '0'   ? EVT_APPLIED
                               : st == '1' ? EVT_DUPLICATE_REDIS
                               : st == '3' ? EVT_REPLAYED
                               : st == '4' ? EVT_REFUSED
                                           : EVT_UNEXPOSED]++;
    }
    free(call);
    ck->nodes[node / 64] |= (uint64_t)1 << (node % 64);
    ck->confirmed++;
    if (ck->sealed && ck->confirmed == ck->calls) {
        start_waits(s, ck);
        if (!s->up)
            return; /* start_waits gave up on the link */
    }
    complete_front(s);
    check_drained(s);
    flush(s);
}

/* One journal line of a batch, parsed where it lies in the read buffer
 * (journal_line.h owns the format). */
typedef struct record {
    journal_line l;
    size_t seq;      /* position in the journal: keeps the sort stable */
    uint32_t shard;  /* the visitor's shard (keys.h); its group is shard % KEYS_GROUPS */
} record;

static int cmp_record_exp(const void *a, const void *b)
{
    const record *x = a, *y = b;
    int c = strcmp(x->l.exp.s, y->l.exp.s);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* A RESP command written straight into one buffer sized up front, with
 * no per-argument arrays or formatting: on the write path every event
 * adds three to six arguments, and the generic argv formatting showed in
 * profiles. An argument may be several pieces that are concatenated. */
typedef struct resp {
    char *buf;
    size_t len, cap;
    bool overflow;   /* the size estimate was wrong: never send */
} resp;

static void resp_raw(resp *r, const char *src, size_t n)
{
    if (r->len + n > r->cap) {
        r->overflow = true;
        return;
    }
    memcpy(r->buf + r->len, src, n);
    r->len += n;
}

static void resp_count(resp *r, char tag, uint64_t v)
{
    char digits[1 + DECIMAL_U64_BUF + 1];
    digits[0] = tag;
    size_t n = 1 + decimal_u64(digits + 1, v);
    digits[n++] = '\r';
    digits[n++] = '\n';
    resp_raw(r, digits, n);
}

/* One argument made of npieces pieces. */
static void resp_arg(resp *r, const char *const *pieces, const size_t *lens, int npieces)
{
    size_t total = 0;
    for (int i = 0; i < npieces; i++)
        total += lens[i];
    resp_count(r, '$', total);
    for (int i = 0; i < npieces; i++)
        resp_raw(r, pieces[i], lens[i]);
    resp_raw(r, "\r\n", 2);
}

static void resp_str(resp *r, const char *s, size_t n)
{
    resp_arg(r, &s, &n, 1);
}

static void resp_uint(resp *r, uint64_t v)
{
    char digits[DECIMAL_U64_BUF];
    resp_str(r, digits, decimal_u64(digits, v));
}

static bool is_exposure(const journal_line *l)
{
    return l->type == JOURNAL_EXPOSURE || l->type == JOURNAL_PROMOTED;
}

/* Whether two exposures create the same visitor record (up to the cart
 * value) and count in the same counter fields: same kind (promoted or
 * not), variant, region, day, bandit period (or none), and both with or
 * both without a cart value. */
static bool same_pair(const journal_line *a, const journal_line *b)
{
    return a->type == b->type && a->variant_index == b->variant_index &&
           a->period_index == b->period_index &&
           (a->cart.len > 0) == (b->cart.len > 0) && strcmp(a->region.s, b->region.s) == 0 &&
           strcmp(a->day.s, b->day.s) == 0;
}

/* Appends the KEYS entry of record e's visitor shard (keys.h names it). */
static void resp_shard_key(resp *r, const keys_tags *tags, const record *e)
{
    char key[KEYS_MAX];
    resp_str(r, key, keys_visitor_shard(key, tags, e->shard));
}

static void resp_text(resp *r, journal_text t)
{
    resp_str(r, t.s, t.len);
}

/* What send_group does with each event of its range. */
enum { EV_KNOWN, EV_EXPOSURE, EV_OTHER };

/* Adds key to the open-addressed set `set` (mask + 1 slots, a power of
 * two, 0 meaning empty); false when it was there already. */
static bool batch_set_add(uint64_t *set, size_t mask, uint64_t key)
{
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        if (set[i] == key)
            return false;
        if (set[i] == 0) {
            set[i] = key;
            return true;
        }
    }
}

/* Sends one EVALSHA of record.lua for records [lo, hi) of one experiment
 * and one shard group (tags and group name its keys), in the script's
 * argument layout (record.lua's header): the exposures
 * grouped by the (record, field) pair they write, one argument each, then
 * the conversions and declines; KEYS holds each event's shard key in that
 * same order, so the script walks both lists side by side.
 *
 * Grouping reorders exposures, but never two of one visitor: only the
 * visitor's first exposure in the batch is sent (a later one would find
 * the record the first creates), so the first exposure still decides the
 * variant and region recorded. Exposures of pairs in the seen set are
 * left out as well: Redis would ignore them. Returns 1 when a call was
 * sent, 0 when every event was left out, -1 on error. */
static int send_group(store *s, record *recs, size_t lo, size_t hi, const keys_tags *tags,
                      unsigned group)
{
    size_t nev = hi - lo;
    const char *exp = recs[lo].l.exp.s;
    size_t explen = recs[lo].l.exp.len;

    /* Scratch, one allocation: per event its pair, seen key and kind; per
     * pair an event of it and (later) where it ends in order[], which
     * lists the sent exposures grouped by pair (a counting sort, stable
     * within a pair). */
    size_t set_slots = 4;
    while (set_slots < 2 * nev)
        set_slots *= 2;
    size_t *pair_of = malloc(4 * nev * sizeof(size_t) + (nev + set_slots) * sizeof(uint64_t) + nev);
    size_t *pair_rep = pair_of ? pair_of + nev : NULL;
    size_t *pair_end = pair_of ? pair_of + 2 * nev : NULL;
    size_t *order = pair_of ? pair_of + 3 * nev : NULL;
    uint64_t *ev_key = pair_of ? (uint64_t *)(void *)(pair_of + 4 * nev) : NULL;
    uint64_t *batch_set = pair_of ? ev_key + nev : NULL; /* visitors exposed in this batch */
    unsigned char *kind = pair_of ? (unsigned char *)(batch_set + set_slots) : NULL;
    batch_call *call = batch_call_new(s, nev);
    resp r = {0};
    int rc = -1;
    if (!pair_of || !call)
        goto done;
    memset(batch_set, 0, set_slots * sizeof *batch_set);
    size_t npairs = 0, nexposures = 0, nother = 0, nknown = 0;
    uint32_t exp_seed = seen_experiment_seed(exp, explen);
    size_t cap = 256 + 2 * KEYS_MAX;
    for (size_t i = 0; i < nev; i++) {
        const journal_line *e = &recs[lo + i].l;
        /* Every text field but the experiment, whichever kind of event. */
        size_t line = 1 + e->visitor.len + e->variant.len + e->region.len + e->event_id.len +
                      e->value.len + e->day.len + e->ack.len + e->cart.len + e->order.len +
                      e->period.len;
        cap += KEYS_MAX + line + 7 * 24;
        if (!is_exposure(e)) {
            kind[i] = EV_OTHER;
            nother++;
            continue;
        }
        ev_key[i] = seen_key(exp_seed, e->visitor.s, e->visitor.len);
        if (seen_has(s->seen, ev_key[i]) || !batch_set_add(batch_set, set_slots - 1, ev_key[i])) {
            kind[i] = EV_KNOWN;
            nknown++;
            continue;
        }
        kind[i] = EV_EXPOSURE;
        size_t k = 0;
        while (k < npairs && !same_pair(&recs[lo + pair_rep[k]].l, e))
            k++;
        if (k == npairs) {
            pair_rep[npairs] = i;
            pair_end[npairs++] = 0;
            cap += 3 * (line + 2 * 24) + 24;
        }
        pair_end[k]++; /* a count for now */
        pair_of[i] = k;
        nexposures++;
    }
    if (nexposures + nother == 0) {
        count_known((uint32_t)nknown);
        rc = 0;
        goto done;
    }
    /* Counts to start offsets; placing each exposure advances its pair's
     * offset, which ends just past the pair's last exposure. The runs
     * without a cart value go first, as the script reads them (pass 0),
     * then those with one (pass 1). The seen keys take the same order, the
     * order of the statuses in the reply. */
    size_t nplain = 0;
    for (int pass = 0, sum = 0; pass < 2; pass++)
        for (size_t k = 0; k < npairs; k++) {
            if ((recs[lo + pair_rep[k]].l.cart.len > 0) != (pass == 1))
                continue;
            nplain += pass == 0;
            size_t c = pair_end[k];
            pair_end[k] = (size_t)sum;
            sum += (int)c;
        }
    for (size_t i = 0; i < nev; i++) {
        if (kind[i] != EV_EXPOSURE)
            continue;
        size_t at = pair_end[pair_of[i]]++;
        order[at] = i;
        call->exposure_keys[at] = ev_key[i];
    }
    size_t ntypes = 0;
    for (size_t i = 0; i < nexposures; i++)
        call->types[ntypes++] = 'X';
    for (size_t i = 0; i < nev; i++)
        if (kind[i] == EV_OTHER)
            call->types[ntypes++] = (char)recs[lo + i].l.type;

    r.cap = cap;
    r.buf = malloc(cap);
    if (!r.buf)
        goto done;
    size_t nkeys = 2 + nexposures + nother;
    size_t ncarts = 0;
    for (size_t i = 0; i < nev; i++)
        ncarts += kind[i] == EV_EXPOSURE && recs[lo + i].l.cart.len > 0;
    size_t argc = 3 + nkeys + 2 + 4 * npairs + nexposures + 1 + ncarts + 6 * nother;
    resp_count(&r, '*', argc);
    resp_str(&r, "EVALSHA", 7);
    resp_str(&r, s->sha, 40);
    resp_uint(&r, nkeys);

    /* KEYS: the group's "{x:EXP:G:N}:cnt" and "{x:EXP:G:N}:ev", then
     * each event's shard in ARGV order, repeats allowed: with 65,536
     * shards a batch rarely shares one, and searching for repeats cost
     * more than sending them. */
    char key[KEYS_MAX];
    resp_str(&r, key, keys_group_counters(key, tags, group));
    resp_str(&r, key, keys_group_event_tokens(key, tags, group));
    for (size_t x = 0; x < nexposures; x++)
        resp_shard_key(&r, tags, &recs[lo + order[x]]);
    for (size_t i = 0; i < nev; i++)
        if (kind[i] == EV_OTHER)
            resp_shard_key(&r, tags, &recs[lo + i]);

    /* The cap the experiment is configured with, which the script sets
     * when the group has none yet. */
    char capbuf[DECIMAL_G17_MAX + 1];
    resp_str(&r, capbuf, s->cap_of ? s->cap_of(s->cap_arg, exp, capbuf) : 0);

    /* The runs: record "VARIANT|REGION|" (+"p" when promoted; a bandit's
     * "VARIANT|REGION|b|PERIOD"), field "e|VARIANT|REGION|DAY" ("pe|..."
     * when promoted), the period field "e|VARIANT|REGION|#PERIOD" or "",
     * count, visitors; first the runs without a cart value, then the
     * count of those with one and those runs, whose record is the text
     * before the cart value ("VARIANT|REGION|x|", "...|px|",
     * "...|bx|PERIOD|") and whose visitors come with their cart value. */
    for (int pass = 0; pass < 2; pass++) {
        resp_uint(&r, pass == 0 ? nplain : npairs - nplain);
        for (size_t k = 0; k < npairs; k++) {
            const journal_line *e = &recs[lo + pair_rep[k]].l;
            if ((e->cart.len > 0) != (pass == 1))
                continue;
            bool promoted = e->type == JOURNAL_PROMOTED;
            bool banded = e->period_index >= 0;
            const char *flags = pass == 0 ? (banded ? "|b|" : promoted ? "|p" : "|")
                                          : (banded ? "|bx|" : promoted ? "|px|" : "|x|");
            const char *rp[6] = {e->variant.s, "|", e->region.s, flags, e->period.s,
                                 pass == 1 && banded ? "|" : ""};
            size_t rl[6] = {e->variant.len, 1, e->region.len, strlen(flags), e->period.len,
                            pass == 1 && banded ? 1u : 0u};
            resp_arg(&r, rp, rl, 6);
            const char *fp[6] = {promoted ? "pe|" : "e|", e->variant.s, "|", e->region.s, "|",
                                 e->day.s};
            size_t fl[6] = {promoted ? 3u : 2u, e->variant.len, 1, e->region.len, 1, e->day.len};
            resp_arg(&r, fp, fl, 6);
            /* pass 0, banded: flags "|b|" then the period, "V|R|b|P" */
            const char *pp[6] = {"e|", e->variant.s, "|", e->region.s, "|#", e->period.s};
            size_t pl[6] = {2, e->variant.len, 1, e->region.len, 2, e->period.len};
            resp_arg(&r, pp, pl, banded ? 6 : 0);
            /* pair_end[k] is now just past the run; its start is where
             * the previous run of the same pass ended: count backwards. */
            size_t end = pair_end[k], x = end;
            while (x > 0 && pair_of[order[x - 1]] == k)
                x--;
            resp_uint(&r, end - x);
            for (; x < end; x++) {
                resp_text(&r, recs[lo + order[x]].l.visitor);
                if (pass == 1)
                    resp_text(&r, recs[lo + order[x]].l.cart);
            }
        }
    }
    /* Conversions, declines and refunds: visitor, event id, value ("-"
     * for a decline, the amount negated for a refund), day,
     * acknowledgment token, the refunded order ("" unless a refund). */
    for (size_t i = 0; i < nev; i++) {
        const journal_line *e = &recs[lo + i].l;
        if (kind[i] != EV_OTHER)
            continue;
        resp_text(&r, e->visitor);
        resp_text(&r, e->event_id);
        if (e->type == JOURNAL_CONVERSION) {
            /* The amount as the journal holds it, which reads back
             * exactly: the script takes it as the visitor's total when
             * there is none yet, without formatting it again (record.lua). */
            resp_text(&r, e->value);
        } else if (e->type == JOURNAL_REFUND) {
            const char *np[2] = {"-", e->value.s};
            size_t nl[2] = {1, e->value.len};
            resp_arg(&r, np, nl, 2);
        } else {
            resp_str(&r, "-", 1);
        }
        resp_text(&r, e->day);
        resp_text(&r, e->ack);
        resp_text(&r, e->type == JOURNAL_REFUND ? e->order : (journal_text){"", 0});
    }
    if (r.overflow)
        goto done;

    call->nevents = (uint32_t)(nexposures + nother);
    call->nexposures = (uint32_t)nexposures;
    call->nknown = (uint32_t)nknown;
    if (redis_link_command_formatted(s->link, tags->slot[group], r.buf, r.len, on_batch_reply,
                                     call) == 0) {
        call = NULL; /* owned by the callback now */
        rc = 1;
    }
done:
    free(pair_of);
    free(r.buf);
    free(call);
    return rc;
}

/* Sends records [lo, hi) of one experiment as one call per shard group
 * that has events (keys.h): a stable counting sort by group into
 * s->by_group keeps each group's events in journal order. Returns the
 * calls sent, or -1 on error. */
static int send_experiment(store *s, record *recs, size_t lo, size_t hi)
{
    const keys_tags *tags = keys_tag_cache_get(s->tags, recs[lo].l.exp.s);
    if (!tags)
        return -1; /* journal_line_parse admits no such experiment key */
    size_t at[KEYS_GROUPS + 1] = {0};
    for (size_t i = lo; i < hi; i++)
        at[keys_group_of_shard(recs[i].shard) + 1]++;
    for (unsigned g = 0; g < KEYS_GROUPS; g++)
        at[g + 1] += at[g];
    size_t start[KEYS_GROUPS + 1];
    memcpy(start, at, sizeof start);
    for (size_t i = lo; i < hi; i++)
        s->by_group[at[keys_group_of_shard(recs[i].shard)]++] = recs[i];
    int calls = 0;
    for (unsigned g = 0; g < KEYS_GROUPS; g++) {
        if (start[g] == start[g + 1])
            continue;
        int sent = send_group(s, s->by_group, start[g], start[g + 1], tags, g);
        if (sent < 0)
            return -1;
        calls += sent;
    }
    return calls;
}

/* Whether some call of a chunk in flight still waits for its reply.
 *
 * One Redis runs a connection's commands in the order sent, so chunks are
 * pipelined. A cluster does not keep that order across a redirect: a call
 * that meets MOVED, ASK, TRYAGAIN or CLUSTERDOWN runs again later, on
 * whichever master then owns its slot, and the next chunk's call for the
 * same shard group, already on the wire, may run first. A visitor's
 * conversion could then run before the exposure that creates its record
 * and be counted as unexposed for good. So in a cluster a chunk is sent
 * only once every call before it has its final reply: the calls of one
 * chunk touch distinct groups (one call per experiment and group), so
 * nothing of one visitor can overtake another of its events. Chunks still
 * overlap while they wait for WAIT. The cost is the round trip between
 * chunks (a chunk holds up to pipeline.batch_size events). */
static bool calls_outstanding(const store *s)
{
    for (int at = 0; at < s->ring_len; at++) {
        const chunk *ck = &s->ring[(s->ring_head + at) % STORE_MAX_INFLIGHT];
        if (!ck->sealed || ck->confirmed < ck->calls)
            return true;
    }
    return false;
}

static void flush(store *s)
{
    if (!s->up)
        return;
    while (s->ring_len < STORE_MAX_INFLIGHT && s->read_pos < journal_end(s->j) &&
           !(s->one_chunk_at_a_time && calls_outstanding(s))) {
        ssize_t n = journal_read(s->j, s->read_pos, s->readbuf, STORE_READ_CAP - 1);
        if (n <= 0)
            return;
        size_t cap = (size_t)s->cfg->batch_size;
        if (cap > s->recs_cap) {
            record *grown = realloc(s->recs, cap * sizeof *grown);
            if (!grown)
                return;
            s->recs = grown;
            grown = realloc(s->by_group, cap * sizeof *grown);
            if (!grown)
                return;
            s->by_group = grown;
            s->recs_cap = cap;
        }
        record *recs = s->recs;
        /* nlines counts the lines consumed, malformed ones too: the
         * checkpoint passes them all, and the journal's backlog count
         * (journal_pending_lines) must drop by as many. */
        size_t nrec = 0, nlines = 0, used = 0;
        bool sorted = true; /* by experiment already (always, with one running) */
        char *p = s->readbuf;
        while (nrec < cap && used < (size_t)n) {
            char *nl = memchr(p, '\n', (size_t)n - used);
            used += (size_t)(nl - p) + 1;
            nlines++;
            if (journal_line_parse(p, (size_t)(nl - p), &recs[nrec].l) == 0) {
            recs[nrec].seq = nrec;
                recs[nrec].shard = keys_shard_of(recs[nrec].l.visitor.s);
                if (nrec > 0 && strcmp(recs[nrec - 1].l.exp.s, recs[nrec].l.exp.s) > 0)
                    sorted = false;
                nrec++;
            } else {
                log_msg(LOG_WARN, "skipping a malformed journal line");
            }
            p = nl + 1;
        }
        if (!sorted)
            qsort(recs, nrec, sizeof *recs, cmp_record_exp);
        chunk *ck = &s->ring[(s->ring_head + s->ring_len) % STORE_MAX_INFLIGHT];
        *ck = (chunk){.end = s->read_pos + used, .lines = nlines};
        clock_gettime(CLOCK_MONOTONIC, &ck->sent);
        s->ring_len++;
        s->read_pos += used;
        for (size_t lo = 0; lo < nrec;) {
            size_t hi = lo + 1;
            while (hi < nrec && strcmp(recs[hi].l.exp.s, recs[lo].l.exp.s) == 0)
                hi++;
            int sent = send_experiment(s, recs, lo, hi);
            if (sent < 0) { /* the chunk stays unsealed: it can never pass */
                fail_connection(s, "sending a batch failed", NULL);
                return;
            }
            ck->calls += sent;
            lo = hi;
        }
        ck->sealed = true;
        if (ck->calls == 0) { /* nothing sent (all known, or malformed) */
            complete_front(s);
            check_drained(s);
        }
    }
}

/* ---- The upgrade from the single-tag layout ----
 *
 * Versions before shard groups kept all of an experiment's data under one
 * hash tag: {x:EXP}:cnt, {x:EXP}:v:S, {x:EXP}:ev, {x:EXP}:ids. Only a single
 * Redis ever held that layout. On every connect, before any event is
 * applied (the store is not up meanwhile), the store checks the layout
 * marker KEYS_LAYOUT_MARKER; while it is not KEYS_LAYOUT_CURRENT it SCANs
 * for keys of the old layout (keys_legacy_parse) and moves each with
 * migrate.lua, which says how each kind moves. Every step is atomic and
 * idempotent, so a migration cut short (a crash, a lost connection) just
 * runs again on the next connect; SCAN returning a key twice is harmless
 * for the same reason. Once a full SCAN has moved everything it sets the
 * marker, and later connects skip the SCAN. Every instance on one Redis
 * must run the new version before the marker is set (docs/redis.md,
 * "Upgrading"): an old one would keep writing the old layout. */

/* One old key being moved; kept across the chunks of an 'ev' or 'ids'. */
typedef struct migrate_step {
    store *s;
    keys_legacy_kind kind;
    uint32_t shard;
    char exp[KEYS_MAX];
    char key[KEYS_MAX];
    char cursor[32];
} migrate_step;

static void migrate_send(migrate_step *st);

/* Migration replies: a NULL reply means the connection went (the link
 * then reports it down, which stops the migration), and anything arriving
 * while not migrating belongs to an earlier connection. */
static void on_layout_set(void *privdata, int node, const redisReply *reply)
{
    (void)node;
    store *s = privdata;
    if (!reply || !s->migrating)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        fail_connection(s, "layout marker", reply->str);
        return;
    }
    if (s->migrated)
        log_msg(LOG_INFO, "moved %llu keys of the single-tag layout into shard groups",
                (unsigned long long)s->migrated);
    go_up(s);
}

static void migrate_maybe_done(store *s)
{
    if (!s->scan_done || s->migrate_pending > 0)
        return;
    const char *argv[3] = {"SET", KEYS_LAYOUT_MARKER, KEYS_LAYOUT_CURRENT};
    size_t argvlen[3] = {3, strlen(KEYS_LAYOUT_MARKER), strlen(KEYS_LAYOUT_CURRENT)};
    if (redis_link_command_argv(s->link, -1, 3, argv, argvlen, on_layout_set, s) != 0)
        fail_connection(s, "layout marker", "could not send");
}

static void on_migrate_reply(void *privdata, int node, const redisReply *reply)
{
    (void)node;
    migrate_step *st = privdata;
    store *s = st->s;
    if (!reply || !s->migrating) {
        free(st);
        return;
    }
    s->migrate_pending--;
    if (reply->type != REDIS_REPLY_STRING || reply->len >= sizeof st->cursor) {
        char why[300];
        snprintf(why, sizeof why, "%s: %s", st->key,
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        free(st);
        fail_connection(s, "migrating the single-tag layout", why);
        return;
    }
    if (strcmp(reply->str, "0") != 0) { /* an 'ev' or 'ids' chunk: the next one */
        memcpy(st->cursor, reply->str, reply->len + 1);
        migrate_send(st);
        return;
    }
    s->migrated++;
    free(st);
    migrate_maybe_done(s);
}

/* Sends one migrate.lua call for st (its header has the arguments). */
static void migrate_send(migrate_step *st)
{
    store *s = st->s;
    const keys_tags *tags = keys_tag_cache_get(s->tags, st->exp);
    char keys[1 + KEYS_GROUPS][KEYS_MAX];
    const char *argv[4 + 1 + KEYS_GROUPS + 2];
    size_t argvlen[4 + 1 + KEYS_GROUPS + 2];
    int nkeys = 1, argc = 0;
    snprintf(keys[0], KEYS_MAX, "%s", st->key);
    const char *kind = "v";
    if (st->kind == KEYS_LEGACY_VISITORS) {
        keys_visitor_shard(keys[nkeys++], tags, st->shard);
    } else if (st->kind == KEYS_LEGACY_COUNTERS) {
        kind = "cnt";
        keys_group_counters(keys[nkeys++], tags, 0);
    } else {
        kind = st->kind == KEYS_LEGACY_EVENT_TOKENS ? "ev" : "ids";
        for (unsigned g = 0; g < KEYS_GROUPS; g++)
            keys_group_event_tokens(keys[nkeys++], tags, g);
    }
    char nkeys_s[8];
    snprintf(nkeys_s, sizeof nkeys_s, "%d", nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = s->migrate_sha;
    argv[argc++] = nkeys_s;
    for (int k = 0; k < nkeys; k++)
        argv[argc++] = keys[k];
    argv[argc++] = kind;
    argv[argc++] = st->cursor;
    for (int a = 0; a < argc; a++)
        argvlen[a] = strlen(argv[a]);
    if (redis_link_command_argv(s->link, -1, argc, argv, argvlen, on_migrate_reply, st) != 0) {
        free(st);
        fail_connection(s, "migrating the single-tag layout", "could not send");
        return;
    }
    s->migrate_pending++;
}

static void migrate_scan(store *s, const char *cursor);

static void on_migrate_scan(void *privdata, int node, const redisReply *reply)
{
    (void)node;
    store *s = privdata;
    if (!reply || !s->migrating)
        return;
    s->migrate_pending--;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        fail_connection(s, "SCAN for the single-tag layout",
                        reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return;
    }
    const redisReply *found = reply->element[1];
    for (size_t i = 0; i < found->elements; i++) {
        const redisReply *k = found->element[i];
        char exp[KEYS_MAX];
        uint32_t shard = 0;
        keys_legacy_kind kind = k->type == REDIS_REPLY_STRING && k->len < KEYS_MAX
                                    ? keys_legacy_parse(k->str, k->len, exp, &shard)
                                    : KEYS_LEGACY_NONE;
        if (kind == KEYS_LEGACY_NONE)
            continue;
        migrate_step *st = calloc(1, sizeof *st);
        if (!st) {
            fail_connection(s, "migrating the single-tag layout", "out of memory");
            return;
        }
        *st = (migrate_step){.s = s, .kind = kind, .shard = shard};
        memcpy(st->exp, exp, sizeof exp);
        memcpy(st->key, k->str, k->len);
        st->key[k->len] = '\0';
        st->cursor[0] = '0';
        migrate_send(st);
        if (!s->migrating)
            return; /* the send failed and the connection went */
    }
    const char *next = reply->element[0]->str;
    if (strcmp(next, "0") == 0) {
        s->scan_done = true;
        migrate_maybe_done(s);
    } else {
        migrate_scan(s, next);
    }
}

static void migrate_scan(store *s, const char *cursor)
{
    const char *argv[6] = {"SCAN", cursor, "MATCH", "{x:*", "COUNT", "1000"};
    size_t argvlen[6] = {4, strlen(cursor), 5, 4, 5, 4};
    if (redis_link_command_argv(s->link, -1, 6, argv, argvlen, on_migrate_scan, s) != 0) {
        fail_connection(s, "SCAN for the single-tag layout", "could not send");
        return;
    }
    s->migrate_pending++;
}

static void on_layout_reply(void *privdata, int node, const redisReply *reply)
{
    (void)node;
    store *s = privdata;
    if (!reply || !s->migrating)
        return;
    if (reply->type != REDIS_REPLY_NIL && reply->type != REDIS_REPLY_STRING) {
        fail_connection(s, "layout marker",
                        reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return;
    }
    if (reply->type == REDIS_REPLY_STRING && strcmp(reply->str, KEYS_LAYOUT_CURRENT) == 0) {
        go_up(s);
        return;
    }
    migrate_scan(s, "0");
}

/* The link loaded migrate.lua with record.lua (on_link_up copied its
 * sha): read the layout marker first, which usually ends it. */
static void migrate_start(store *s)
{
    s->migrating = true;
    s->migrate_pending = 0;
    s->scan_done = false;
    s->migrated = 0;
    const char *argv[2] = {"GET", KEYS_LAYOUT_MARKER};
    size_t argvlen[2] = {3, strlen(KEYS_LAYOUT_MARKER)};
    if (redis_link_command_argv(s->link, -1, 2, argv, argvlen, on_layout_reply, s) != 0)
        fail_connection(s, "layout marker", "could not send");
}

/* ---- The data set marker ----
 *
 * Redis can come back empty: restarted without its AOF or RDB file, or
 * flushed. Its visitor records and counters are then gone, and events
 * applied afterwards would quietly count conversions of the lost visitors
 * as unexposed. The marker makes such a loss visible. Redis holds a random
 * id under KEYS_DATASET_MARKER, created by whichever upshotd finds it
 * missing; each upshotd remembers the id it last saw in
 * DATA_DIR/redis-dataset. On every connect, and once a second while
 * connected, the store sends `SET marker candidate NX GET`, which creates
 * the marker only when it is missing and answers what was there:
 *
 *   Redis had none, this upshotd remembers one   the data set was lost
 *   Redis has another id than the remembered one  a different data set
 *   this upshotd remembers none                   first contact: adopt it
 *
 * A loss is logged, counted, cleared from the seen set and reported on
 * /healthz (degraded) and /metrics until upshotd restarts; the store then
 * goes on with the new id. docs/operations.md says how to recover. */

static void dataset_path(const store *s, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/redis-dataset", s->cfg->data_dir);
}

/* Reads the remembered id; "" when there is none (first contact). */
static void dataset_load(store *s)
{
    char path[1100];
    dataset_path(s, path, sizeof path);
    s->dataset[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(s->dataset, sizeof s->dataset, f))
        s->dataset[strcspn(s->dataset, "\r\n")] = '\0';
    fclose(f);
}

/* Remembers id durably: a temporary file, fsync, rename. A failure is
 * logged and the id kept in memory (it is checked again on restart). */
static void dataset_save(store *s, const char *id)
{
    snprintf(s->dataset, sizeof s->dataset, "%s", id);
    char path[1100], tmp[1110];
    dataset_path(s, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0;
    if (ok) {
        size_t n = strlen(id);
        ok = write(fd, id, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
    }
    if (!ok || rename(tmp, path) != 0)
        log_msg(LOG_ERROR, "could not save %s: %s", path, strerror(errno));
}

static void dataset_lost(store *s, const char *what)
{
    g_metrics.redis_data_losses++;
    s->data_lost = true;
    snprintf(s->data_lost_why, sizeof s->data_lost_why,
             "redis lost its data set (%s); see docs/operations.md, \"Redis lost its data\"", what);
    log_msg(LOG_ERROR, "%s", s->data_lost_why);
    seen_clear(s->seen); /* the records it remembered are gone */
}

typedef struct marker_call {
    store *s;
    uint64_t epoch;
} marker_call;

static void on_marker_reply(void *arg, int node, const redisReply *reply)
{
    marker_call *m = arg;
    store *s = m->s;
    bool stale = m->epoch != s->epoch;
    free(m);
    if (stale)
        return;
    s->marker_pending = false;
    if (!reply || (reply->type != REDIS_REPLY_NIL && reply->type != REDIS_REPLY_STRING)) {
        fail_connection(s, "data set marker check failed",
                        reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return;
    }
    char candidate[sizeof s->dataset];
    snprintf(candidate, sizeof candidate, "%s-%llu", s->nonce, (unsigned long long)s->candidates);
    if (reply->type == REDIS_REPLY_NIL) { /* the marker was missing; ours is set now */
        if (s->dataset[0])
            dataset_lost(s, "the data set marker was missing: restarted empty or flushed");
        dataset_save(s, candidate);
        s->candidates++;
    } else if (strcmp(reply->str, s->dataset) != 0) {
        if (s->dataset[0])
            dataset_lost(s, "another data set than the one upshotd wrote to");
        dataset_save(s, reply->str);
    }
}

/* Sends one marker check unless one is on the wire. In a cluster the
 * marker lives on the master of its slot: it tells that master's loss. */
static void check_marker(store *s)
{
    if (!s->up || s->marker_pending)
        return;
    char candidate[sizeof s->dataset];
    snprintf(candidate, sizeof candidate, "%s-%llu", s->nonce, (unsigned long long)s->candidates);
    marker_call *m = malloc(sizeof *m);
    if (!m)
        return;
    *m = (marker_call){s, s->epoch};
    const char *argv[5] = {"SET", KEYS_DATASET_MARKER, candidate, "NX", "GET"};
    size_t argvlen[5] = {3, strlen(KEYS_DATASET_MARKER), strlen(candidate), 2, 3};
    int slot = (int)keyslot_of(KEYS_DATASET_MARKER, strlen(KEYS_DATASET_MARKER));
    if (redis_link_command_argv(s->link, slot, 5, argv, argvlen, on_marker_reply, m) == 0)
        s->marker_pending = true;
    else
        free(m);
}

/* 128 random bits in hex. */
static void make_nonce(char out[33])
{
    unsigned char raw[16];
    entropy_bytes(raw, sizeof raw);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
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

/* Every slot has a ready master, the scripts are loaded on each, and
 * data of the single-tag layout has been moved: events flow. */
static void go_up(store *s)
{
    s->up = true;
    s->migrating = false;
    s->last_error[0] = '\0';
    s->read_pos = journal_applied(s->j);
    char where[300];
    redis_link_describe(s->link, where, sizeof where);
    log_msg(LOG_INFO, "redis up (%s); %llu spooled events to apply", where,
            (unsigned long long)journal_pending_lines(s->j));
    s->marker_pending = false; /* any earlier check went with the old connection */
    check_marker(s);           /* sent before the first batch, so it sees Redis as it came */
    flush(s);
}

static void migrate_start(store *s);

/* The link is up. A cluster never held the single-tag layout (and SCAN
 * would see one node only), so only one Redis is checked for it. */
static void on_link_up(void *arg)
{
    store *s = arg;
    snprintf(s->sha, sizeof s->sha, "%s", redis_link_script_sha(s->link, s->script));
    snprintf(s->migrate_sha, sizeof s->migrate_sha, "%s",
             redis_link_script_sha(s->link, s->migrate_script));
    s->one_chunk_at_a_time = redis_link_is_cluster(s->link);
    if (redis_link_is_cluster(s->link))
        go_up(s);
    else
        migrate_start(s);
}

/* Once a second: a batch unanswered for too long means a slow or hung
 * Redis; start over on a new connection (events stay in the journal). */
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    if (s->up && s->ring_len > 0 && ms_since(&s->ring[s->ring_head].sent) > STORE_SLOW_MS) {
        chunk *ck = &s->ring[s->ring_head];
        bool waiting = ck->sealed && ck->confirmed == ck->calls && ck->waits_pending > 0;
        fail_connection(s, waiting ? "replicas too slow" : "redis too slow",
                        waiting ? "WAIT did not count enough replicas for a batch within 3 s"
                                : "a batch took longer than 3 s");
    }
    if (s->up) {
        check_marker(s);
        flush(s);
    }
}

store *store_new(struct event_base *base, const upshot_config *cfg, journal *j)
{
    store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->cfg = cfg;
    s->j = j;
    s->wait_replicas = cfg->redis_wait_replicas;
    s->wait_timeout_ms = cfg->redis_wait_timeout_ms;
    s->readbuf = malloc(STORE_READ_CAP);
    s->seen = seen_new((size_t)cfg->seen_visitors);
    s->tags = calloc(1, sizeof *s->tags);
    s->flush_ev = evtimer_new(base, on_flush_timer, s);
    s->watchdog_ev = event_new(base, -1, EV_PERSIST, on_watchdog, s);
    redis_link_callbacks cb = {.on_up = on_link_up, .on_down = on_link_down, .arg = s};
    s->link = redis_link_new(base, cfg, &cb);
    s->script = s->link ? redis_link_add_script(s->link, record_lua) : -1;
    s->migrate_script = s->link ? redis_link_add_script(s->link, migrate_lua) : -1;
    s->recap_script = s->link ? redis_link_add_script(s->link, recap_lua) : -1;
    if (!s->readbuf || !s->tags || !s->flush_ev || !s->watchdog_ev || !s->link || s->script < 0 ||
        s->migrate_script < 0 || s->recap_script < 0) {
        store_free(s);
        return NULL;
    }
    make_nonce(s->nonce);
    dataset_load(s);
    struct timeval second = {1, 0};
    event_add(s->watchdog_ev, &second);
    set_error(s, "not connected yet", NULL);
    return s;
}

void store_start(store *s)
{
    redis_link_start(s->link);
}

void store_free(store *s)
{
    if (!s)
        return;
    s->epoch++;                /* what the link hands back while freeing is stale */
    s->up = false;             /* and nothing new is sent from those callbacks */
    redis_link_free(s->link); /* pending reads end STORE_UNAVAILABLE */
    if (s->flush_ev)
        event_free(s->flush_ev);
    if (s->watchdog_ev)
        event_free(s->watchdog_ev);
    if (s->drain_ev)
        event_free(s->drain_ev);
    free(s->readbuf);
    free(s->recs);
    free(s->by_group);
    free(s->tags);
    seen_free(s->seen);
    free(s);
}

bool store_is_up(const store *s) { return s->up; }

bool store_data_lost(const store *s) { return s->data_lost; }

bool store_is_healthy(const store *s, char *why, size_t whylen)
{
    if (s->data_lost) {
        snprintf(why, whylen, "%s", s->data_lost_why);
        return false;
    }
    if (!s->up) {
        char where[300];
        redis_link_describe(s->link, where, sizeof where);
        snprintf(why, whylen, "%s (%s)", s->last_error[0] ? s->last_error : "redis down", where);
        return false;
    }
    double waited = s->ring_len > 0 ? ms_since(&s->ring[s->ring_head].sent) : 0;
    if (waited > STORE_DEGRADED_MS) {
        snprintf(why, whylen, "redis has not answered a batch for %.0f ms", waited);
        return false;
    }
    why[0] = '\0';
    return true;
}
const char *store_last_error(const store *s) { return s->last_error; }
uint64_t store_inflight(const store *s) { return (uint64_t)s->ring_len; }
void store_topology(const store *s, int *connected, int *masters)
{
    *connected = redis_link_nodes_connected(s->link);
    *masters = redis_link_masters(s->link);
}
uint64_t store_seen_pairs(const store *s) { return (uint64_t)seen_count(s->seen); }

/* ---- typed reads ---------------------------------------------------------
 * The handlers' reads share the writer's connection (pipelined behind
 * whatever batches are in flight). Each carries a small context through
 * hiredis, which allocates several times per command anyway. */

typedef struct store_read {
    union {
        store_visitor_fn *visitor;
        store_counters_fn *counters;
    } cb;
    void *arg;
} store_read;

void store_set_cap_source(store *s, store_cap_fn *fn, void *arg)
{
    s->cap_of = fn;
    s->cap_arg = arg;
}

const char *store_status_name(store_status st)
{
    switch (st) {
    case STORE_OK: return "ok";
    case STORE_NOT_FOUND: return "not found";
    case STORE_UNAVAILABLE: return "unavailable";
    case STORE_ERROR: return "error";
    case STORE_MALFORMED: return "malformed reply";
    case STORE_NO_MEMORY: return "out of memory";
    }
    return "?";
}

/* The status of a reply before its contents are looked at: NULL when the
 * connection went (or the store was freed) first. */
static store_status reply_status(const redisReply *reply)
{
    if (!reply)
        return STORE_UNAVAILABLE;
    if (reply->type == REDIS_REPLY_ERROR) {
        g_metrics.redis_errors++;
        return STORE_ERROR;
    }
    return STORE_OK;
}

static store_status malformed(void)
{
    g_metrics.redis_errors++;
    return STORE_MALFORMED;
}

/* Sends argv, routed by the slot of its key argv[1], with rd as the
 * context of cb; rd is freed here on failure. */
static store_status send_read(store *s, redis_link_reply_fn *cb, store_read *rd, int argc,
                              const char **argv, const size_t *argvlen)
{
    int slot = (int)keyslot_of(argv[1], argvlen[1]);
    if (redis_link_command_argv(s->link, slot, argc, argv, argvlen, cb, rd) != 0) {
        free(rd);
        return STORE_UNAVAILABLE;
    }
    return STORE_OK;
}

static void on_visitor_reply(void *privdata, int node, const redisReply *reply)
{
    store_read *rd = privdata;
    visitor_record rec;
    store_status st = reply_status(reply);
    if (st == STORE_OK) {
        if (reply->type == REDIS_REPLY_NIL)
            st = STORE_NOT_FOUND;
        else if (reply->type != REDIS_REPLY_STRING ||
                 visitor_record_parse(reply->str, reply->len, &rec) != 0)
            st = malformed();
    }
    rd->cb.visitor(rd->arg, st, st == STORE_OK ? &rec : NULL);
    free(rd);
}

store_status store_lookup_visitor(store *s, const char *exp, const char *visitor,
                                  store_visitor_fn *cb, void *arg)
{
    if (!s->up)
        return STORE_UNAVAILABLE;
    store_read *rd = malloc(sizeof *rd);
    if (!rd)
        return STORE_NO_MEMORY;
    rd->cb.visitor = cb;
    rd->arg = arg;
    const keys_tags *tags = keys_tag_cache_get(s->tags, exp);
    if (!tags) {
        free(rd);
        return STORE_NO_MEMORY; /* not an experiment key: no record can exist */
    }
    char key[KEYS_MAX];
    keys_visitor_shard(key, tags, keys_shard_of(visitor));
    const char *argv[3] = {"HGET", key, visitor};
    size_t argvlen[3] = {4, strlen(key), strlen(visitor)};
    return send_read(s, on_visitor_reply, rd, 3, argv, argvlen);
}

/* One store_fetch_counters: an HGETALL per shard group, pipelined; the
 * answer is their merge (counters_merge.h), handed over when the last
 * reply is in. The replies' strings are copied, as hiredis frees each
 * reply when its callback returns. */
typedef struct counters_read {
    store_counters_fn *cb;
    void *arg;
    int pending;          /* HGETALLs sent and not answered yet */
    store_status st;      /* STORE_OK until a reply fails */
    size_t n, cap;        /* pairs gathered, room for */
    char **fields, **values;
} counters_read;

static void counters_read_free(counters_read *cr)
{
    for (size_t i = 0; i < cr->n; i++) {
        free(cr->fields[i]);
        free(cr->values[i]);
    }
    free(cr->fields);
    free(cr->values);
    free(cr);
}

/* Appends a copy of one pair; false when out of memory. */
static bool counters_read_add(counters_read *cr, const char *f, size_t flen, const char *v,
                              size_t vlen)
{
    if (cr->n == cr->cap) {
        size_t cap = cr->cap ? 2 * cr->cap : 64;
        char **nf = realloc(cr->fields, cap * sizeof *nf);
        if (!nf)
            return false;
        cr->fields = nf;
        char **nv = realloc(cr->values, cap * sizeof *nv);
        if (!nv)
            return false;
        cr->values = nv;
        cr->cap = cap;
    }
    char *fc = strndup(f, flen), *vc = strndup(v, vlen);
    if (!fc || !vc) {
        free(fc);
        free(vc);
        return false;
    }
    cr->fields[cr->n] = fc;
    cr->values[cr->n++] = vc;
    return true;
}

static void counters_read_finish(counters_read *cr)
{
    counters_merged m = {0};
    store_status st = cr->st;
    if (st == STORE_OK &&
        counters_merge(cr->n, (const char *const *)cr->fields, (const char *const *)cr->values,
                       &m) != 0)
        st = STORE_NO_MEMORY;
    if (st == STORE_OK)
        cr->cb(cr->arg, st, m.n, (const char *const *)m.fields, (const char *const *)m.values);
    else
        cr->cb(cr->arg, st, 0, NULL, NULL);
    counters_merged_free(&m);
    counters_read_free(cr);
}

static void on_counters_reply(void *privdata, int node, const redisReply *reply)
{
    (void)node;
    counters_read *cr = privdata;
    store_status st = reply_status(reply);
    if (st == STORE_OK && (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0))
        st = malformed();
    for (size_t i = 0; st == STORE_OK && i < reply->elements / 2; i++) {
        const redisReply *f = reply->element[2 * i], *v = reply->element[2 * i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            st = malformed();
        else if (!counters_read_add(cr, f->str, f->len, v->str, v->len))
            st = STORE_NO_MEMORY;
    }
    if (cr->st == STORE_OK)
        cr->st = st;
    if (--cr->pending == 0)
        counters_read_finish(cr);
}

store_status store_fetch_counters(store *s, const char *exp, store_counters_fn *cb, void *arg)
{
    if (!s->up)
        return STORE_UNAVAILABLE;
    const keys_tags *tags = keys_tag_cache_get(s->tags, exp);
    counters_read *cr = calloc(1, sizeof *cr);
    if (!cr || !tags) {
        free(cr);
        return STORE_NO_MEMORY;
    }
    cr->cb = cb;
    cr->arg = arg;
    cr->st = STORE_OK;
    /* Every group's counters, one HGETALL each. pending counts one extra
     * until all are sent, so a reply cannot finish the read early. */
    cr->pending = 1;
    for (unsigned g = 0; g < KEYS_GROUPS; g++) {
        char key[KEYS_MAX];
        const char *argv[2] = {"HGETALL", key};
        size_t argvlen[2] = {7, keys_group_counters(key, tags, g)};
        if (redis_link_command_argv(s->link, (int)keyslot_of(key, argvlen[1]), 2, argv, argvlen,
                                    on_counters_reply, cr) != 0) {
            if (g == 0) {
                free(cr);
                return STORE_UNAVAILABLE;
            }
            cr->st = STORE_UNAVAILABLE;
            break;
        }
        cr->pending++;
    }
    if (--cr->pending == 0)
        counters_read_finish(cr);
    return STORE_OK;
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    store *s = arg;
    if (s->drain_done) {
        log_msg(LOG_WARN, "drain deadline reached");
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

/* ---- Capping visitors recorded before a learned cap ------------------- */

/* Calls of recap.lua in flight at once: enough to keep Redis busy, few
 * enough that events recorded meanwhile do not wait behind a long queue. */
#define STORE_RECAP_WINDOW 16

typedef struct recap_pass {
    store *s;
    uint64_t epoch;                /* the link's life it started in */
    char exp[VALIDATE_KEY_MAX + 1];
    char cap[DECIMAL_G17_MAX + 1];
    char day[JOURNAL_DAY_LEN + 1];
    uint32_t next;                 /* the next shard to send */
    int outstanding;               /* script calls, then WAITs, not yet answered */
    bool failed;
    bool waiting;                  /* the calls are done; WAITs are out */
    uint64_t nodes[(REDIS_LINK_MAX_NODES + 63) / 64]; /* masters the calls went to */
    uint64_t capped;
    store_recap_fn *done;
    void *arg;
} recap_pass;

static void recap_send(recap_pass *p);

static void on_recap_wait(void *arg, int node, const redisReply *reply);

/* Once every call has answered: with redis.wait_replicas, the pass is
 * done only when WAIT on every master it wrote to counted that many
 * replicas, as for a batch of events (a failover must not undo a pass
 * that the caller then records as done). */
static void recap_finish_if_done(recap_pass *p)
{
    if (p->outstanding > 0 || (!p->failed && p->next < KEYS_SHARDS))
        return;
    store *s = p->s;
    if (!p->failed && !p->waiting && s->wait_replicas > 0) {
        p->waiting = true;
        for (int node = 0; node < REDIS_LINK_MAX_NODES; node++) {
            if (!(p->nodes[node / 64] >> (node % 64) & 1))
                continue;
            if (redis_link_wait(s->link, node, s->wait_replicas, s->wait_timeout_ms,
                                on_recap_wait, p) != 0) {
                p->failed = true;
                break;
            }
            p->outstanding++;
        }
        if (p->outstanding > 0)
            return;
    }
    p->done(p->arg, !p->failed, p->capped);
    free(p);
}

static void on_recap_wait(void *arg, int node, const redisReply *reply)
{
    (void)node;
    recap_pass *p = arg;
    p->outstanding--;
    if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer < p->s->wait_replicas)
        p->failed = true; /* the next tick runs the (idempotent) pass again */
    recap_finish_if_done(p);
}

static void on_recap_reply(void *arg, int node, const redisReply *reply)
{
    recap_pass *p = arg;
    p->outstanding--;
    if (!reply || reply->type != REDIS_REPLY_INTEGER || p->epoch != p->s->epoch) {
        p->failed = true;
    } else {
        p->capped += (uint64_t)reply->integer;
        if (node >= 0 && node < REDIS_LINK_MAX_NODES)
            p->nodes[node / 64] |= (uint64_t)1 << (node % 64);
    }
    if (!p->failed)
        recap_send(p);
    recap_finish_if_done(p);
}

static void recap_send(recap_pass *p)
{
    store *s = p->s;
    const keys_tags *tags = keys_tag_cache_get(s->tags, p->exp);
    const char *sha = redis_link_script_sha(s->link, s->recap_script);
    if (!tags || !s->up || !*sha) {
        p->failed = true;
        return;
    }
    while (p->outstanding < STORE_RECAP_WINDOW && p->next < KEYS_SHARDS) {
        uint32_t shard = p->next++;
        unsigned g = keys_group_of_shard(shard);
        char cnt[KEYS_MAX], vkey[KEYS_MAX];
        const char *argv[7] = {"EVALSHA", sha, "2", cnt, vkey, p->cap, p->day};
        size_t argvlen[7] = {7, strlen(sha), 1, keys_group_counters(cnt, tags, g),
                             keys_visitor_shard(vkey, tags, shard), strlen(p->cap),
                             strlen(p->day)};
        if (redis_link_command_argv(s->link, tags->slot[g], 7, argv, argvlen, on_recap_reply,
                                    p) != 0) {
            p->failed = true;
            return;
        }
        p->outstanding++;
    }
}

int store_recap(store *s, const char *exp, double cap, const char *day, store_recap_fn *done,
                void *arg)
{
    if (!s->up || !(cap > 0) || strlen(day) != JOURNAL_DAY_LEN || !validate_key(exp))
        return -1;
    recap_pass *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    *p = (recap_pass){.s = s, .epoch = s->epoch, .done = done, .arg = arg};
    snprintf(p->exp, sizeof p->exp, "%s", exp);
    decimal_amount(p->cap, cap);
    snprintf(p->day, sizeof p->day, "%s", day);
    recap_send(p);
    if (p->outstanding == 0) { /* nothing went out: the caller hears -1, not done */
        free(p);
        return -1;
    }
    return 0;
}

/* shared_state.c: the shared experiment state in Redis (see shared_state.h).
 *
 * Commands (scripts, reads, WAIT) go through the module's own redis_link
 * (one Redis, or the master of the {upshot} slot in a cluster, redirects
 * followed there); a separate hiredis connection to any node subscribes to
 * upshot:changes. The Redis access is in the functions under "Redis
 * access" (link_command, link_wait, link_connect_subscriber,
 * link_subscribe, link_drop_cmd, link_drop_sub).
 *
 * Every key carries the tag {upshot}, so all reads and writes go to one
 * connection, whose replies come back in the order the commands were
 * sent: an install from a read never overtakes an install from a later
 * change, and the other way round. An operation is an ss_op with a reply
 * handler; the link calls it with NULL when the connection goes (also from
 * shared_state_free), so every callback runs exactly once. */
#include "shared_state.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "keyslot.h"
#include "log.h"
#include "redis_link.h"
#include "entropy.h"
#include "validate.h"

#define SS_CHANNEL "upshot:changes"
#define SS_KEY_EXPERIMENTS "{upshot}:experiments"
#define SS_KEY_VERSION "{upshot}:version"
#define SS_KEY_AUDIT "{upshot}:audit"
#define SS_KEY_SEEDS "{upshot}:seeds"
#define SS_LEASE_PREFIX "{upshot}:lease:"
/* A command unanswered this long means a hung Redis: drop the connection
 * (its operations end SHARED_UNAVAILABLE) and reconnect. */
#define SS_SLOW_MS 3000
#define SS_RECONNECT_MIN_MS 100
#define SS_RECONNECT_MAX_MS 2000
/* A seeding that keeps losing races re-reads and plans again this often. */
#define SS_SEED_ATTEMPTS 5

/* The compare-and-set of every change. KEYS: experiments, version, audit,
 * seeds. ARGV[1]: n, ARGV[2]: channel, then per experiment its key, the
 * revision expected in Redis (0: absent), its JSON and its seed ("":
 * none); then audit lines. All checks come before any write, so a
 * conflict writes nothing. Returns {1, version} or {0, key, revision}. */
static const char cas_lua[] =
    "local n = tonumber(ARGV[1])\n"
    "for i = 0, n - 1 do\n"
    "  local k = ARGV[3 + 4 * i]\n"
    "  local cur = redis.call('HGET', KEYS[1], k)\n"
    "  local rev = 0\n"
    "  if cur then rev = tonumber(cjson.decode(cur)['revision']) or 0 end\n"
    "  if rev ~= tonumber(ARGV[4 + 4 * i]) then return {0, k, rev} end\n"
    "end\n"
    "for i = 0, n - 1 do\n"
    "  local k = ARGV[3 + 4 * i]\n"
    "  redis.call('HSET', KEYS[1], k, ARGV[5 + 4 * i])\n"
    "  if ARGV[6 + 4 * i] ~= '' then redis.call('HSET', KEYS[4], k, ARGV[6 + 4 * i]) end\n"
    "end\n"
    "local v = redis.call('INCR', KEYS[2])\n"
    "for j = 3 + 4 * n, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[j]) end\n"
    "redis.call('PUBLISH', ARGV[2], v)\n"
    "return {1, v}\n";

/* One consistent view: version, experiments, seeds, audit length. */
static const char read_lua[] =
    "return {redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[1]),\n"
    "        redis.call('HGETALL', KEYS[4]), redis.call('LLEN', KEYS[3])}\n";

/* Takes the lease when free, renews it when ours. */
static const char lease_lua[] =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "return 0\n";

typedef struct ss_op ss_op;
typedef void ss_reply_fn(ss_op *op, redisReply *reply); /* reply NULL: lost */

struct ss_op {
    shared_state *ss;
    ss_op *prev, *next;       /* pending on the command connection, oldest first */
    struct timespec sent;
    int node;                 /* the node that answered (for the WAIT after a change) */
    unsigned gen;             /* ss->gen when sent */
    ss_reply_fn *on_reply;    /* frees the op */
    shared_done_fn *done;
    void *arg;
};

struct shared_state {
    struct event_base *base;
    const upshot_config *cfg;
    registry *reg;
    redis_link *link;         /* commands: the module's own link (redis_link.h) */
    int slot;                 /* the slot of every {upshot} key */
    unsigned sub_seed;        /* the seed the subscriber tries next (a cluster) */
    unsigned gen;             /* +1 each time the link goes down: older replies
                               * belong to an earlier first-contact sequence */
    redisAsyncContext *sub;   /* subscriber */
    bool ready;               /* the link is up */
    bool up;                  /* ready and installed from Redis since */
    bool starting;            /* the first-contact sequence runs */
    enum { PH_READ1, PH_IMPORT, PH_SEED, PH_READ2 } phase; /* its step */
    bool sync_inflight;       /* a poll- or message-driven read is on the wire */
    bool poll_inflight;
    bool freeing;
    long long version;        /* installed */
    int backoff_ms;
    char last_error[200];
    char instance[33];        /* random: the lease holder's name */
    ss_op *head, *tail;
    struct event *reconnect_ev;
    struct event *poll_ev;
};

static void ss_set_error(shared_state *ss, const char *what, const char *detail)
{
    snprintf(ss->last_error, sizeof ss->last_error, "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

static double ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static void schedule_reconnect(shared_state *ss);
static void link_drop_sub(shared_state *ss);
static void start_sequence(shared_state *ss);
static void on_change_message(shared_state *ss, long long version);
static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg);
static void sync_now(shared_state *ss);

/* ---- Redis access: every hiredis call of the module ---------------------- */

static void on_sub_disconnect(const redisAsyncContext *c, int status);
static void on_sub_connect(const redisAsyncContext *c, int status);

/* The subscriber's own connection: pub/sub is not routed by slot, and in
 * a cluster a message published on any node reaches subscribers on every
 * node, so any reachable node will do: redis.host:port, or the seeds in
 * turn (the next one after each failure). NULL when it could not even
 * start (the reconnect timer tries again). */
static redisAsyncContext *link_connect_subscriber(shared_state *ss)
{
    const char *host = ss->cfg->redis_host;
    int port = ss->cfg->redis_port;
    if (ss->cfg->nredis_nodes > 0) {
        const struct config_redis_node *n =
            &ss->cfg->redis_nodes[ss->sub_seed++ % (unsigned)ss->cfg->nredis_nodes];
        host = n->host;
        port = n->port;
    }
    redisAsyncContext *ac = redisAsyncConnect(host, port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        return NULL;
    }
    ac->data = ss;
    redisLibeventAttach(ac, ss->base);
    redisAsyncSetConnectCallback(ac, on_sub_connect);
    redisAsyncSetDisconnectCallback(ac, on_sub_disconnect);
    return ac;
}

static void on_op_reply(void *privdata, int node, const redisReply *reply);

static void op_link(shared_state *ss, ss_op *op)
{
    clock_gettime(CLOCK_MONOTONIC, &op->sent);
    op->prev = ss->tail;
    op->next = NULL;
    if (ss->tail)
        ss->tail->next = op;
    else
        ss->head = op;
    ss->tail = op;
}

static void op_unlink(shared_state *ss, ss_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        ss->head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        ss->tail = op->prev;
    op->prev = op->next = NULL;
}

/* Sends one command to the master of the {upshot} slot through the
 * module's own link (redis_link.h: one Redis, or the cluster's master of
 * that slot, redirects followed); op's handler gets the reply. Every key
 * of the module carries the tag {upshot}, so every command goes to one
 * connection and the replies come back in the order sent. -1 (op
 * untouched) when the link is down. */
static int link_command(shared_state *ss, ss_op *op, int argc, const char **argv,
                        const size_t *argvlen)
{
    if (!ss->ready)
        return -1;
    op->ss = ss;
    op->gen = ss->gen;
    if (redis_link_command_argv(ss->link, ss->slot, argc, argv, argvlen, on_op_reply, op) != 0)
        return -1;
    op_link(ss, op);
    return 0;
}

/* The one WAIT of the module: after a change, how many replicas have it.
 * Sent to the node that ran the change (op->node, from its reply). */
static int link_wait(shared_state *ss, ss_op *op, int replicas, int timeout_ms)
{
    if (!ss->ready || op->node < 0)
        return -1;
    op->ss = ss;
    op->gen = ss->gen;
    if (redis_link_wait(ss->link, op->node, replicas, timeout_ms, on_op_reply, op) != 0)
        return -1;
    op_link(ss, op);
    return 0;
}

static void on_sub_message(redisAsyncContext *c, void *r, void *privdata);

static void link_subscribe(shared_state *ss)
{
    redisAsyncCommand(ss->sub, on_sub_message, ss, "SUBSCRIBE %s", SS_CHANNEL);
}

/* Gives up on the command link (a hung or confused Redis): every pending
 * operation ends with a NULL reply, on_link_down marks the state down, and
 * the link reconnects by itself. */
static void link_drop_cmd(shared_state *ss, const char *why)
{
    if (!ss->ready)
        return;
    ss->ready = ss->up = ss->starting = false;
    ss->sync_inflight = ss->poll_inflight = false;
    ss->gen++;
    ss_set_error(ss, why, NULL);
    log_msg(LOG_WARN, "shared state: %s; serving the cached copy", why);
    redis_link_reset(ss->link, why);
}

static void link_drop_sub(shared_state *ss)
{
    redisAsyncContext *c = ss->sub;
    if (!c)
        return;
    ss->sub = NULL;
    redisAsyncFree(c);
    schedule_reconnect(ss);
}

static void on_setup_reply(redisAsyncContext *c, void *r, void *privdata)
{
    (void)privdata;
    shared_state *ss = c->data;
    redisReply *reply = r;
    if (ss && reply && reply->type == REDIS_REPLY_ERROR && c == ss->sub)
        link_drop_sub(ss);
}

/* AUTH and SELECT as configured, queued before the SUBSCRIBE (the command
 * link does its own). */
static void link_setup(const redisAsyncContext *cc, const upshot_config *cfg)
{
    redisAsyncContext *c = (redisAsyncContext *)cc;
    if (cfg->redis_password[0])
        redisAsyncCommand(c, on_setup_reply, NULL, "AUTH %s", cfg->redis_password);
    if (cfg->redis_db && cfg->nredis_nodes == 0)
        redisAsyncCommand(c, on_setup_reply, NULL, "SELECT %d", cfg->redis_db);
}

/* ---- connections -------------------------------------------------------- */

static void on_op_reply(void *privdata, int node, const redisReply *reply)
{
    ss_op *op = privdata;
    shared_state *ss = op->ss;
    op_unlink(ss, op);
    op->node = node;
    op->on_reply(op, (redisReply *)reply);
}

/* The command link is up: read everything, and subscribe if not yet. */
static void on_link_up(void *arg)
{
    shared_state *ss = arg;
    ss->ready = true;
    ss->backoff_ms = SS_RECONNECT_MIN_MS;
    if (!ss->sub)
        on_reconnect_timer(-1, EV_TIMEOUT, ss);
    start_sequence(ss);
}

static void on_link_down(void *arg, const char *why)
{
    shared_state *ss = arg;
    if (ss->ready)
        log_msg(LOG_WARN, "shared state: %s; serving the cached copy", why);
    ss->ready = ss->up = ss->starting = false;
    ss->sync_inflight = ss->poll_inflight = false;
    ss->gen++;
    ss_set_error(ss, "connection lost", why);
}

static void on_sub_connect(const redisAsyncContext *c, int status)
{
    shared_state *ss = c->data;
    if (!ss || ss->sub != c)
        return;
    if (status != REDIS_OK) {
        ss->sub = NULL;
        schedule_reconnect(ss);
        return;
    }
    link_setup(c, ss->cfg);
    link_subscribe(ss);
    if (ss->ready)
        ss->backoff_ms = SS_RECONNECT_MIN_MS; /* a dropped subscriber comes back quickly */
    /* A message published while there was no subscriber is caught by the
     * version check; checking now makes that prompt. */
    if (ss->up)
        sync_now(ss);
}

static void on_sub_disconnect(const redisAsyncContext *c, int status)
{
    (void)status;
    shared_state *ss = c->data;
    if (!ss || ss->sub != c)
        return;
    ss->sub = NULL;
    if (!ss->freeing)
        schedule_reconnect(ss);
}

static void on_sub_message(redisAsyncContext *c, void *r, void *privdata)
{
    shared_state *ss = privdata;
    redisReply *reply = r;
    if (!reply || !ss || ss->sub != c || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
        return;
    redisReply *kind = reply->element[0], *payload = reply->element[2];
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "message") == 0 &&
        payload->type == REDIS_REPLY_STRING)
        on_change_message(ss, strtoll(payload->str, NULL, 10));
}

/* Only the subscriber reconnects here; the command link does by itself. */
static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    shared_state *ss = arg;
    if (!ss->sub && (ss->sub = link_connect_subscriber(ss)) == NULL)
        schedule_reconnect(ss);
}

static void schedule_reconnect(shared_state *ss)
{
    if (ss->freeing || evtimer_pending(ss->reconnect_ev, NULL))
        return;
    struct timeval tv = {ss->backoff_ms / 1000, (ss->backoff_ms % 1000) * 1000};
    evtimer_add(ss->reconnect_ev, &tv);
    ss->backoff_ms = ss->backoff_ms * 2 > SS_RECONNECT_MAX_MS ? SS_RECONNECT_MAX_MS
                                                              : ss->backoff_ms * 2;
}

/* ---- reading the shared state ------------------------------------------- */

/* A JSON text from Redis as a live experiment: the installed one when it
 * is at the same revision (no parse), else a new one. NULL when it does
 * not load (logged; the caller keeps what it had). */
static experiment *experiment_from_text(shared_state *ss, const char *key, const char *text,
                                        size_t len, bool *fresh)
{
    *fresh = false;
    json_error_t jerr;
    json_t *def = json_loadb(text, len, 0, &jerr);
    json_t *rev = def ? json_object_get(def, "revision") : NULL;
    experiment *live = registry_get(ss->reg, key);
    if (live && live->revision > 0 && json_is_integer(rev) &&
        json_integer_value(rev) == live->revision) {
        json_decref(def);
        return live;
    }
    char err[EXP_ERR_MAX] = "not JSON";
    experiment *e = def ? experiment_parse(def, EXP_FROM_STATE, err) : NULL;
    json_decref(def);
    if (!e || strcmp(e->key, key) != 0) {
        log_msg(LOG_ERROR, "shared state: experiment %s in Redis does not load: %s", key,
                e ? "its key differs" : err);
        experiment_release(e);
        return NULL;
    }
    *fresh = true;
    return e;
}

typedef struct read_op {
    ss_op op;
    bool sequence;            /* part of the first-contact sequence */
    bool poll;                /* a poll- or message-driven read */
} read_op;

static void import_cache(shared_state *ss, long long audit_len);
static void seed_at_start(shared_state *ss);

static void fail_op(ss_op *op, shared_status st, const char *detail)
{
    if (op->done)
        op->done(op->arg, st, detail);
}

/* Installs the whole shared set from a read_lua reply; 0 or -1. */
static int install_all(shared_state *ss, redisReply *reply, bool *empty, long long *audit_len)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY ||
        reply->element[2]->type != REDIS_REPLY_ARRAY ||
        reply->element[3]->type != REDIS_REPLY_INTEGER)
        return -1;
    long long version = strtoll(reply->element[0]->str, NULL, 10);
    redisReply *exps = reply->element[1], *seeds = reply->element[2];
    *audit_len = reply->element[3]->integer;
    size_t n = exps->elements / 2;
    *empty = n == 0;
    json_t *seedmap = json_object();
    experiment **list = calloc(n + 1, sizeof *list);
    bool *fresh = calloc(n + 1, sizeof *fresh);
    if (!seedmap || !list || !fresh) {
        json_decref(seedmap);
        free(list);
        free(fresh);
        return -1;
    }
    for (size_t i = 0; i + 1 < seeds->elements; i += 2)
        if (seeds->element[i]->type == REDIS_REPLY_STRING &&
            seeds->element[i + 1]->type == REDIS_REPLY_STRING)
            json_object_set_new(seedmap, seeds->element[i]->str,
                                json_integer(strtoll(seeds->element[i + 1]->str, NULL, 10)));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *kr = exps->element[2 * i], *vr = exps->element[2 * i + 1];
        if (kr->type != REDIS_REPLY_STRING || vr->type != REDIS_REPLY_STRING)
            continue;
        experiment *e = experiment_from_text(ss, kr->str, vr->str, vr->len, &fresh[k]);
        if (!e)
            e = registry_get(ss->reg, kr->str); /* keep what is live */
        if (e)
            list[k++] = e;
    }
    int rc = 0;
    if (!*empty) /* an empty Redis is imported into, never installed */
        rc = registry_install(ss->reg, list, k, true, seedmap);
    for (size_t i = 0; i < k; i++)
        if (fresh[i])
            experiment_release(list[i]);
    free(list);
    free(fresh);
    json_decref(seedmap);
    if (rc == 0)
        ss->version = version; /* empty too: the version check then stays quiet */
    return rc;
}

static void on_read_reply(ss_op *op, redisReply *reply)
{
    read_op *ro = (read_op *)op;
    shared_state *ss = op->ss;
    if (ro->poll)
        ss->sync_inflight = false;
    /* A read of an earlier connection's life (the {upshot} master can
     * answer after the link went down over another master) installs
     * nothing: the sequence starts over when the link is up again. */
    if (!reply || op->gen != ss->gen || !ss->ready) {
        fail_op(op, SHARED_UNAVAILABLE, "the connection to Redis was lost");
        free(ro);
        return;
    }
    bool empty = false;
    long long audit_len = 0;
    if (reply->type == REDIS_REPLY_ERROR || install_all(ss, reply, &empty, &audit_len) != 0) {
        log_msg(LOG_ERROR, "shared state: read failed: %s",
                reply->type == REDIS_REPLY_ERROR ? reply->str : "a reply of the wrong shape");
        fail_op(op, SHARED_ERROR, "the shared state could not be read");
        bool sequence = ro->sequence;
        free(ro);
        if (sequence) /* Redis still loading its data, say: start over on a new connection */
            link_drop_cmd(ss, "the shared state could not be read");
        return;
    }
    bool sequence = ro->sequence;
    fail_op(op, SHARED_OK, NULL);
    free(ro);
    if (!sequence) {
        if (empty && registry_count(ss->reg) > 0 && !ss->starting) {
            /* Redis lost the shared state (restarted empty, flushed): ours
             * is the newest copy there is; put it back. */
            log_msg(LOG_WARN, "shared state: Redis has no experiments; "
                            "importing the cached copy");
            ss->up = false;
            start_sequence(ss);
        }
        return;
    }
    if (ss->phase == PH_READ1 && empty && registry_count(ss->reg) > 0) {
        ss->phase = PH_IMPORT;
        import_cache(ss, audit_len);
    } else if (ss->phase == PH_READ1) {
        ss->phase = PH_SEED;
        seed_at_start(ss);
    } else if (ss->phase == PH_READ2) {
        ss->starting = false;
        ss->up = true;
        ss->last_error[0] = '\0';
        log_msg(LOG_INFO, "shared state up at version %lld with %zu experiments",
                ss->version, registry_count(ss->reg));
    }
}

static int send_read(shared_state *ss, bool sequence, bool poll, shared_done_fn *cb, void *arg)
{
    read_op *ro = calloc(1, sizeof *ro);
    if (!ro)
        return -1;
    ro->op.on_reply = on_read_reply;
    ro->op.done = cb;
    ro->op.arg = arg;
    ro->sequence = sequence;
    ro->poll = poll;
    const char *argv[] = {"EVAL", read_lua, "4", SS_KEY_EXPERIMENTS, SS_KEY_VERSION,
                          SS_KEY_AUDIT, SS_KEY_SEEDS};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(argv[i]);
    if (link_command(ss, &ro->op, 7, argv, lens) != 0) {
        free(ro);
        return -1;
    }
    if (poll)
        ss->sync_inflight = true;
    return 0;
}

static void sync_now(shared_state *ss)
{
    if (ss->ready && !ss->sync_inflight && !ss->starting)
        send_read(ss, false, true, NULL, NULL);
}

static void on_change_message(shared_state *ss, long long version)
{
    if (version != ss->version)
        sync_now(ss);
}

/* ---- changes ------------------------------------------------------------- */

typedef struct commit_op {
    ss_op op;
    size_t n;
    experiment **puts;        /* retained */
    uint32_t *fps;
    long long version;        /* what the script answered */
    bool waiting;             /* the WAIT is on the wire */
} commit_op;

static void commit_op_free(commit_op *co)
{
    for (size_t i = 0; i < co->n; i++)
        experiment_release(co->puts[i]);
    free(co->puts);
    free(co->fps);
    free(co);
}

static void commit_finish(commit_op *co, shared_status st, const char *detail)
{
    fail_op(&co->op, st, detail);
    commit_op_free(co);
}

static void on_commit_reply(ss_op *op, redisReply *reply);

static void installed_commit(shared_state *ss, commit_op *co)
{
    json_t *seeds = NULL;
    for (size_t i = 0; i < co->n; i++)
        if (co->fps && co->fps[i]) {
            if (!seeds)
                seeds = json_deep_copy(registry_seeds(ss->reg));
            if (seeds)
                json_object_set_new(seeds, co->puts[i]->key, json_integer(co->fps[i]));
        }
    if (registry_install(ss->reg, co->puts, co->n, false, seeds) != 0)
        log_msg(LOG_ERROR, "shared state: out of memory installing a change");
    json_decref(seeds);
    if (co->version == ss->version + 1)
        ss->version = co->version; /* nothing else happened in between */
    else
        sync_now(ss);              /* other changes came first: read them all */
}

static void on_commit_reply(ss_op *op, redisReply *reply)
{
    commit_op *co = (commit_op *)op;
    shared_state *ss = op->ss;
    if (!reply) {
        commit_finish(co, SHARED_UNAVAILABLE, "the connection to Redis was lost before it answered");
        return;
    }
    if (co->waiting) {
        co->waiting = false;
        if (reply->type != REDIS_REPLY_INTEGER || reply->integer < ss->cfg->redis_wait_replicas) {
            char why[160];
            snprintf(why, sizeof why, "WAIT confirmed %lld of %d replicas within %d ms",
                     reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1LL,
                     ss->cfg->redis_wait_replicas, ss->cfg->redis_wait_timeout_ms);
            commit_finish(co, SHARED_NOT_REPLICATED, why);
        } else {
            commit_finish(co, SHARED_OK, NULL);
        }
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        commit_finish(co, SHARED_ERROR, reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        commit_finish(co, SHARED_ERROR, "a reply of the wrong shape");
        return;
    }
    if (reply->element[0]->integer == 0) {
        char why[300];
        snprintf(why, sizeof why, "experiment %s is at revision %lld in the shared state",
                 reply->elements >= 3 && reply->element[1]->type == REDIS_REPLY_STRING
                     ? reply->element[1]->str : "?",
                 reply->elements >= 3 && reply->element[2]->type == REDIS_REPLY_INTEGER
                     ? reply->element[2]->integer : -1LL);
        commit_finish(co, SHARED_CONFLICT, why);
        return;
    }
    co->version = reply->element[1]->type == REDIS_REPLY_INTEGER ? reply->element[1]->integer : 0;
    installed_commit(ss, co);
    if (ss->cfg->redis_wait_replicas > 0) {
        co->waiting = true;
        if (link_wait(ss, op, ss->cfg->redis_wait_replicas, ss->cfg->redis_wait_timeout_ms) == 0)
            return;
        commit_finish(co, SHARED_NOT_REPLICATED, "WAIT could not be sent");
        return;
    }
    commit_finish(co, SHARED_OK, NULL);
}

/* The commit itself; internal callers (the first-contact sequence) may
 * use it before the state is up. */
static int commit_ex(shared_state *ss, experiment *const *puts, const long long *expected,
                     const uint32_t *fps, size_t n, json_t *audit_lines, shared_done_fn *cb,
                     void *arg)
{
    if (!ss->ready)
        return -1;
    size_t naudit = json_array_size(audit_lines);
    size_t argc = 9 + 4 * n + naudit;
    commit_op *co = calloc(1, sizeof *co);
    const char **argv = calloc(argc, sizeof *argv);
    size_t *lens = calloc(argc, sizeof *lens);
    char **owned = calloc(3 * n + 1, sizeof *owned);
    if (co)
        co->puts = calloc(n + 1, sizeof *co->puts);
    if (co && fps)
        co->fps = calloc(n + 1, sizeof *co->fps);
    int rc = -1;
    size_t no = 0;
    if (!co || !argv || !lens || !owned || !co->puts || (fps && !co->fps))
        goto out;
    char nbuf[24];
    snprintf(nbuf, sizeof nbuf, "%zu", n);
    size_t a = 0;
    argv[a++] = "EVAL";
    argv[a++] = cas_lua;
    argv[a++] = "4";
    argv[a++] = SS_KEY_EXPERIMENTS;
    argv[a++] = SS_KEY_VERSION;
    argv[a++] = SS_KEY_AUDIT;
    argv[a++] = SS_KEY_SEEDS;
    argv[a++] = nbuf;
    argv[a++] = SS_CHANNEL;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char *rev = malloc(24), *fp = malloc(16);
        char *text = json_dumps(puts[i]->def, JSON_COMPACT | JSON_REAL_PRECISION(17));
        owned[no++] = rev;
        owned[no++] = fp;
        owned[no++] = text;
        if (!rev || !fp || !text) {
            ok = false;
            break;
        }
        snprintf(rev, 24, "%lld", expected ? expected[i]
                                  : puts[i]->revision > 0 ? puts[i]->revision - 1 : 0);
        if (fps && fps[i])
            snprintf(fp, 16, "%u", fps[i]);
        else
            fp[0] = '\0';
        argv[a++] = puts[i]->key;
        argv[a++] = rev;
        argv[a++] = text;
        argv[a++] = fp;
        co->puts[i] = experiment_retain(puts[i]);
        if (co->fps)
            co->fps[i] = fps[i];
        co->n = i + 1;
    }
    for (size_t i = 0; i < naudit && ok; i++)
        argv[a++] = json_string_value(json_array_get(audit_lines, i));
    if (!ok)
        goto out;
    for (size_t i = 0; i < a; i++)
        lens[i] = argv[i] ? strlen(argv[i]) : 0;
    co->op.on_reply = on_commit_reply;
    co->op.done = cb;
    co->op.arg = arg;
    rc = link_command(ss, &co->op, (int)a, argv, lens);
out:
    for (size_t i = 0; owned && i < no; i++)
        free(owned[i]);
    free(owned);
    free(argv);
    free(lens);
    if (rc != 0 && co)
        commit_op_free(co);
    return rc;
}

int shared_state_commit(shared_state *ss, experiment *const *puts, const uint32_t *fps, size_t n,
                        json_t *audit_lines, shared_done_fn *cb, void *arg)
{
    if (!ss->up)
        return -1;
    return commit_ex(ss, puts, NULL, fps, n, audit_lines, cb, arg);
}

/* ---- one experiment ----------------------------------------------------- */

typedef struct refresh_op {
    ss_op op;
    char key[VALIDATE_KEY_MAX + 1];
} refresh_op;

static void on_refresh_reply(ss_op *op, redisReply *reply)
{
    refresh_op *ro = (refresh_op *)op;
    shared_state *ss = op->ss;
    if (!reply) {
        fail_op(op, SHARED_UNAVAILABLE, "the connection to Redis was lost");
    } else if (reply->type == REDIS_REPLY_ERROR) {
        fail_op(op, SHARED_ERROR, reply->str);
    } else if (reply->type == REDIS_REPLY_STRING) {
        bool fresh;
        experiment *e = experiment_from_text(ss, ro->key, reply->str, reply->len, &fresh);
        if (e && fresh) {
            registry_install(ss->reg, &e, 1, false, NULL);
            experiment_release(e);
            sync_now(ss); /* the version moved on; the poll would notice too */
        }
        fail_op(op, e ? SHARED_OK : SHARED_ERROR, e ? NULL : "the shared definition does not load");
    } else {
        fail_op(op, SHARED_OK, NULL); /* absent: the registry keeps what it has */
    }
    free(ro);
}

int shared_state_refresh(shared_state *ss, const char *key, shared_done_fn *cb, void *arg)
{
    if (!ss->up)
        return -1;
    refresh_op *ro = calloc(1, sizeof *ro);
    if (!ro)
        return -1;
    snprintf(ro->key, sizeof ro->key, "%s", key);
    ro->op.on_reply = on_refresh_reply;
    ro->op.done = cb;
    ro->op.arg = arg;
    const char *argv[] = {"HGET", SS_KEY_EXPERIMENTS, ro->key};
    size_t lens[] = {4, strlen(argv[1]), strlen(ro->key)};
    if (link_command(ss, &ro->op, 3, argv, lens) != 0) {
        free(ro);
        return -1;
    }
    return 0;
}

/* ---- seeding and the first contact --------------------------------------- */

typedef struct seed_job {
    shared_state *ss;
    const upshot_config *cfg;
    char actor[65];
    char reason[200];
    bool has_reason;
    int attempts;
    size_t n;
    shared_done_fn *cb;
    void *arg;
} seed_job;

static void seed_try(seed_job *job);

static void seed_finish(seed_job *job, shared_status st, const char *detail)
{
    shared_state *ss = job->ss;
    if (job->cb)
        job->cb(job->arg, st, detail);
    bool sequence = job->cb == NULL;
    free(job);
    if (sequence && ss->ready) {
        /* The first-contact sequence ends with a read of everything, also
         * when the file could not be seeded (logged): the shared state
         * stands as it is. */
        ss->phase = PH_READ2;
        if (send_read(ss, true, false, NULL, NULL) != 0)
            link_drop_cmd(ss, "the shared state could not be read");
    }
}

static void on_seed_reread(void *arg, shared_status st, const char *detail)
{
    seed_job *job = arg;
    if (st != SHARED_OK)
        seed_finish(job, st, detail);
    else
        seed_try(job);
}

static void on_seed_commit(void *arg, shared_status st, const char *detail)
{
    seed_job *job = arg;
    if (st == SHARED_CONFLICT && ++job->attempts < SS_SEED_ATTEMPTS) {
        /* Another instance seeded (or changed) first: read what it did and
         * plan again; an identical file then plans nothing. */
        if (send_read(job->ss, false, false, on_seed_reread, job) != 0)
            seed_finish(job, SHARED_UNAVAILABLE, "the connection to Redis was lost");
        return;
    }
    char n[24];
    snprintf(n, sizeof n, "%zu", job->n);
    seed_finish(job, st, st == SHARED_OK ? n : detail);
}

static void seed_try(seed_job *job)
{
    shared_state *ss = job->ss;
    experiment **plan;
    uint32_t *fps;
    size_t n;
    char err[REGISTRY_ERR_MAX];
    registry_status rs = registry_plan_config(ss->reg, job->cfg, registry_seeds(ss->reg), &plan,
                                              &fps, &n, err);
    if (rs != REGISTRY_OK) {
        log_msg(LOG_ERROR, "shared state: the config's experiments were not imported: %s", err);
        seed_finish(job, SHARED_ERROR, err);
        return;
    }
    job->n = n;
    if (n == 0) {
        seed_finish(job, SHARED_OK, "0");
        return;
    }
    json_t *audit = json_array();
    for (size_t i = 0; i < n && audit; i++) {
        char *line = audit_entry(job->actor, "reload", plan[i]->key,
                                 job->has_reason ? job->reason : NULL,
                                 json_pack("{s:I, s:I}", "revision", (json_int_t)plan[i]->revision,
                                           "fingerprint", (json_int_t)fps[i]));
        if (line)
            json_array_append_new(audit, json_string(line));
        free(line);
    }
    int rc = audit ? commit_ex(ss, plan, NULL, fps, n, audit, on_seed_commit, job) : -1;
    json_decref(audit);
    registry_plan_free(plan, fps, n);
    if (rc != 0)
        seed_finish(job, SHARED_UNAVAILABLE, "Redis is unreachable");
}

static int seed_start(shared_state *ss, const upshot_config *cfg, const char *actor,
                      const char *reason, shared_done_fn *cb, void *arg)
{
    seed_job *job = calloc(1, sizeof *job);
    if (!job)
        return -1;
    job->ss = ss;
    job->cfg = cfg;
    snprintf(job->actor, sizeof job->actor, "%s", actor ? actor : "config");
    job->has_reason = reason != NULL;
    snprintf(job->reason, sizeof job->reason, "%s", reason ? reason : "");
    job->cb = cb;
    job->arg = arg;
    seed_try(job);
    return 0;
}

int shared_state_seed(shared_state *ss, const upshot_config *cfg, const char *actor,
                      const char *reason, shared_done_fn *cb, void *arg)
{
    if (!ss->up)
        return -1;
    return seed_start(ss, cfg, actor, reason, cb, arg);
}

static void seed_at_start(shared_state *ss)
{
    if (seed_start(ss, ss->cfg, "config", "start-up", NULL, NULL) != 0)
        link_drop_cmd(ss, "out of memory");
}

static void on_import(void *arg, shared_status st, const char *detail)
{
    shared_state *ss = arg;
    if (st == SHARED_OK) {
        log_msg(LOG_INFO, "shared state: imported the cached copy into Redis");
        ss->phase = PH_SEED;
        seed_at_start(ss);
    } else if (st == SHARED_CONFLICT && ss->ready) {
        /* Another instance imported first: its copy stands; start over
         * from what Redis now holds. */
        start_sequence(ss);
    } else if (ss->ready) {
        link_drop_cmd(ss, "importing the cached copy failed");
    }
}

/* Redis has no experiments: the cached copy (a state.json of an older
 * version included) goes in, each expected absent, with the seeds it
 * recorded and, when Redis has no audit log either, data_dir/audit.jsonl.
 * A file definition served only provisionally (never stored, no seed) is
 * left to the seeding that follows, which audits it as the file's. */
static void import_cache(shared_state *ss, long long audit_len)
{
    size_t n = registry_count(ss->reg);
    experiment **puts = calloc(n + 1, sizeof *puts);
    uint32_t *fps = calloc(n + 1, sizeof *fps);
    long long *expected = calloc(n + 1, sizeof *expected); /* all absent */
    json_t *audit = audit_len == 0 ? audit_read_legacy(ss->cfg->data_dir) : json_array();
    size_t k = 0;
    for (size_t i = 0; puts && fps && expected && audit && i < n; i++) {
        experiment *e = registry_at(ss->reg, i);
        const char *origin = json_string_value(json_object_get(e->def, "origin"));
        if (e->revision == 0 && origin && strcmp(origin, "file") == 0 &&
            !json_object_get(registry_seeds(ss->reg), e->key))
            continue; /* served from the file until now: seeded from the file next */
        json_t *def = json_deep_copy(e->def);
        char err[EXP_ERR_MAX];
        if (def)
            json_object_set_new(def, "revision", json_integer(e->revision > 0 ? e->revision : 1));
        experiment *c = def ? experiment_parse(def, EXP_FROM_STATE, err) : NULL;
        json_decref(def);
        if (!c)
            continue;
        puts[k] = c;
        json_t *fp = json_object_get(registry_seeds(ss->reg), e->key);
        fps[k++] = fp ? (uint32_t)json_integer_value(fp) : 0;
        char *line = audit_entry("upshotd", "import", e->key, "the shared state was empty",
                                 json_pack("{s:s}", "from", "the local cached copy"));
        if (line)
            json_array_append_new(audit, json_string(line));
        free(line);
    }
    int rc = puts && fps && expected && audit
                 ? commit_ex(ss, puts, expected, fps, k, audit, on_import, ss) : -1;
    free(expected);
    for (size_t i = 0; i < k; i++)
        experiment_release(puts[i]);
    free(puts);
    free(fps);
    json_decref(audit);
    if (rc != 0)
        link_drop_cmd(ss, "importing the cached copy failed");
}

/* First contact (and again after Redis lost everything): read, import
 * when empty, seed the config file, read again and be up. */
static void start_sequence(shared_state *ss)
{
    ss->starting = true;
    ss->phase = PH_READ1;
    if (send_read(ss, true, false, NULL, NULL) != 0)
        link_drop_cmd(ss, "the first read could not be sent");
}

/* ---- audit, lease -------------------------------------------------------- */

typedef struct log_op {
    ss_op op;
    shared_log_fn *cb;
    char key[VALIDATE_KEY_MAX + 1];
    size_t limit;
} log_op;

static void on_plain_reply(ss_op *op, redisReply *reply)
{
    free(op);
}

void shared_state_audit(shared_state *ss, char *line)
{
    ss_op *op = calloc(1, sizeof *op);
    if (line && op) {
        op->on_reply = on_plain_reply;
        const char *argv[] = {"RPUSH", SS_KEY_AUDIT, line};
        size_t lens[] = {5, strlen(SS_KEY_AUDIT), strlen(line)};
        if (ss->ready && link_command(ss, op, 3, argv, lens) == 0)
            op = NULL;
    }
    free(op);
    free(line);
}

static void on_log_reply(ss_op *op, redisReply *reply)
{
    log_op *lo = (log_op *)op;
    if (!reply) {
        lo->cb(op->arg, SHARED_UNAVAILABLE, NULL);
    } else if (reply->type != REDIS_REPLY_ARRAY) {
        lo->cb(op->arg, SHARED_ERROR, NULL);
    } else {
        const char **lines = calloc(reply->elements + 1, sizeof *lines);
        size_t k = 0;
        for (size_t i = 0; lines && i < reply->elements; i++)
            if (reply->element[i]->type == REDIS_REPLY_STRING)
                lines[k++] = reply->element[i]->str;
        json_t *entries = lines ? audit_filter(lines, k, lo->key, lo->limit) : NULL;
        free(lines);
        lo->cb(op->arg, entries ? SHARED_OK : SHARED_NO_MEMORY, entries);
        json_decref(entries);
    }
    free(lo);
}

int shared_state_read_log(shared_state *ss, const char *exp_key, size_t limit, shared_log_fn *cb,
                          void *arg)
{
    if (!ss->ready)
        return -1;
    log_op *lo = calloc(1, sizeof *lo);
    if (!lo)
        return -1;
    lo->op.on_reply = on_log_reply;
    lo->op.arg = arg;
    lo->cb = cb;
    lo->limit = limit;
    snprintf(lo->key, sizeof lo->key, "%s", exp_key);
    const char *argv[] = {"LRANGE", SS_KEY_AUDIT, "0", "-1"};
    size_t lens[] = {6, strlen(SS_KEY_AUDIT), 1, 2};
    if (link_command(ss, &lo->op, 4, argv, lens) != 0) {
        free(lo);
        return -1;
    }
    return 0;
}

typedef struct lease_op {
    ss_op op;
    shared_lease_fn *cb;
} lease_op;

static void on_lease_reply(ss_op *op, redisReply *reply)
{
    lease_op *lo = (lease_op *)op;
    lo->cb(op->arg, reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1);
    free(lo);
}

int shared_state_lease(shared_state *ss, const char *name, long ttl_ms, shared_lease_fn *cb,
                       void *arg)
{
    if (!ss->up)
        return -1;
    lease_op *lo = calloc(1, sizeof *lo);
    if (!lo)
        return -1;
    lo->op.on_reply = on_lease_reply;
    lo->op.arg = arg;
    lo->cb = cb;
    char key[128], ttl[24];
    snprintf(key, sizeof key, "%s%s", SS_LEASE_PREFIX, name);
    snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
    const char *argv[] = {"EVAL", lease_lua, "1", key, ss->instance, ttl};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    if (link_command(ss, &lo->op, 6, argv, lens) != 0) {
        free(lo);
        return -1;
    }
    return 0;
}

/* ---- the version check ---------------------------------------------------- */

typedef struct poll_op {
    ss_op op;
} poll_op;

static void on_poll_reply(ss_op *op, redisReply *reply)
{
    shared_state *ss = op->ss;
    ss->poll_inflight = false;
    long long v = -1;
    if (reply && reply->type == REDIS_REPLY_STRING)
        v = strtoll(reply->str, NULL, 10);
    else if (reply && reply->type == REDIS_REPLY_NIL)
        v = 0;
    free(op);
    if (v >= 0 && v != ss->version && ss->up)
        sync_now(ss);
}

/* Every state.poll_ms: the version check, and the watchdog of a hung
 * Redis (the oldest command waiting longer than SS_SLOW_MS). */
static void on_poll_timer(evutil_socket_t fd, short what, void *arg)
{
    shared_state *ss = arg;
    if (ss->ready && ss->head && ms_since(&ss->head->sent) > SS_SLOW_MS) {
        link_drop_cmd(ss, "Redis did not answer within 3 s");
        return;
    }
    if (!ss->up || ss->poll_inflight || ss->sync_inflight)
        return;
    poll_op *po = calloc(1, sizeof *po);
    if (!po)
        return;
    po->op.on_reply = on_poll_reply;
    const char *argv[] = {"GET", SS_KEY_VERSION};
    size_t lens[] = {3, strlen(SS_KEY_VERSION)};
    if (link_command(ss, &po->op, 2, argv, lens) == 0)
        ss->poll_inflight = true;
    else
        free(po);
}

/* ---- life ---------------------------------------------------------------- */

shared_state *shared_state_new(struct event_base *base, const upshot_config *cfg, registry *reg)
{
    shared_state *ss = calloc(1, sizeof *ss);
    if (!ss)
        return NULL;
    ss->base = base;
    ss->cfg = cfg;
    ss->reg = reg;
    ss->backoff_ms = SS_RECONNECT_MIN_MS;
    unsigned char raw[16];
    entropy_bytes(raw, sizeof raw);
    for (int i = 0; i < 16; i++)
        snprintf(ss->instance + 2 * i, 3, "%02x", raw[i]);
    snprintf(ss->last_error, sizeof ss->last_error, "not connected yet");
    ss->slot = (int)keyslot_of(SS_KEY_VERSION, strlen(SS_KEY_VERSION));
    ss->reconnect_ev = evtimer_new(base, on_reconnect_timer, ss);
    ss->poll_ev = event_new(base, -1, EV_PERSIST, on_poll_timer, ss);
    redis_link_callbacks cb = {.on_up = on_link_up, .on_down = on_link_down, .arg = ss};
    ss->link = redis_link_new(base, cfg, &cb);
    if (!ss->reconnect_ev || !ss->poll_ev || !ss->link) {
        shared_state_free(ss);
        return NULL;
    }
    return ss;
}

void shared_state_start(shared_state *ss)
{
    int ms = ss->cfg->state_poll_ms > 0 ? ss->cfg->state_poll_ms : 250;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(ss->poll_ev, &tv);
    redis_link_start(ss->link);
}

void shared_state_free(shared_state *ss)
{
    if (!ss)
        return;
    ss->freeing = true;
    ss->ready = false;
    redis_link_free(ss->link); /* pending operations end SHARED_UNAVAILABLE */
    if (ss->sub) {
        redisAsyncContext *c = ss->sub;
        ss->sub = NULL;
        redisAsyncFree(c);
    }
    if (ss->reconnect_ev)
        event_free(ss->reconnect_ev);
    if (ss->poll_ev)
        event_free(ss->poll_ev);
    free(ss);
}

bool shared_state_is_up(const shared_state *ss) { return ss && ss->up; }
const char *shared_state_last_error(const shared_state *ss) { return ss->up ? "" : ss->last_error; }
long long shared_state_version(const shared_state *ss) { return ss->version; }

/* redis_link.c: connections to one Redis or a Redis Cluster, and the slot
 * router over them (see redis_link.h).
 *
 * State: a table of nodes (each with at most one hiredis connection), the
 * slot map (slot -> node number, -1 while unknown), the registered scripts,
 * and the commands waiting for a retry, in order. Every command in flight is a
 * `req` holding a copy of its RESP text, so that a redirect or a retry can
 * send it again; hiredis owns it (as privdata) while it is on a connection,
 * the waiting queue while it waits. A node's connection is forgotten
 * (n->ac = NULL, c->data = NULL) before it is freed, so callbacks that
 * hiredis runs with a NULL reply while freeing it find it stale. */
#include "redis_link.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyslot.h"
#include "metrics.h"

#define LINK_BACKOFF_MIN_MS 200
/* One Redis: reconnecting faster does not bring it back sooner. A cluster:
 * the map changes under us (a failover), and asking again is cheap. */
#define LINK_BACKOFF_MAX_MS 5000
#define LINK_BACKOFF_MAX_CLUSTER_MS 1000
#define LINK_TIMEOUT_TICKS 3     /* one-second ticks: connect, setup, map request */
#define LINK_RETRY_MIN_MS 20
#define LINK_RETRY_MAX_MS 500
#define SLOT_PINNED (-2)         /* a req sent to one node, never redirected (WAIT) */

typedef struct node {
    struct redis_link *l;
    int index;
    char host[256];
    int port;
    char name[272];          /* "host:port" */
    redisAsyncContext *ac;   /* NULL: no connection */
    bool connected;          /* the connect callback said yes */
    int setup_pending;       /* AUTH, SELECT, SCRIPT LOAD replies still due */
    int ticks;               /* watchdog ticks spent not ready */
    bool master;             /* the map names it as a slot owner */
    bool carried;            /* this connection carried commands (not only the map's) */
} node;

typedef struct req {
    struct redis_link *l;
    struct req *next;        /* in the waiting queue */
    redis_link_reply_fn *cb;
    void *arg;
    int slot;                /* 0..16383, -1 any master, SLOT_PINNED */
    int node;                /* where it was last sent */
    int redirects;
    bool retrying;           /* deadline is set */
    struct timespec deadline; /* of TRYAGAIN/CLUSTERDOWN retries; 0 before the first */
    bool asking;             /* send ASKING first */
    size_t len;
    char cmd[];
} req;

typedef struct script {
    char *text;
    char sha[41];
} script;

struct redis_link {
    struct event_base *base;
    redis_link_callbacks cb;
    bool cluster;
    char password[256];
    int db;
    node *nodes;             /* REDIS_LINK_MAX_NODES */
    int nnodes;
    int16_t slots[KEYSLOT_COUNT];
    script scripts[REDIS_LINK_MAX_SCRIPTS];
    int nscripts;
    bool started, up, resetting, freeing;
    int backoff_ms;
    struct event *retry_ev;  /* reconnect (one Redis) or map refresh (a cluster) */
    struct event *tick_ev;   /* once a second: timeouts */
    int refresh_node;        /* where CLUSTER SLOTS is pending; -1 none */
    uintptr_t refresh_token; /* tells the pending refresh from abandoned ones */
    int refresh_ticks;
    int refresh_next;        /* round robin over the nodes */
    bool refresh_again;      /* a MOVED asked for one while one was pending */
    /* TRYAGAIN and CLUSTERDOWN: the commands that got one, in the order
     * their replies came (per connection, the order they were sent), and
     * every command submitted while any waits, so that none overtakes an
     * earlier one: a conversion applied before its visitor's exposure
     * would count as unexposed for good. One timer resends them all. */
    req *wait_head, *wait_tail;
    struct event *wait_ev;
    int wait_ms;
    char last_why[200];
};

static void schedule_retry(redis_link *l);
static void start_refresh(redis_link *l);
static int send_req(redis_link *l, req *q, int idx);

static bool node_ready(const node *n)
{
    return n->ac && n->connected && n->setup_pending == 0;
}

static void set_why(redis_link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(redis_link *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->last_why, sizeof l->last_why, fmt, ap);
    va_end(ap);
}

static int find_or_add(redis_link *l, const char *host, size_t hostlen, int port)
{
    for (int i = 0; i < l->nnodes; i++)
        if (l->nodes[i].port == port && strlen(l->nodes[i].host) == hostlen &&
            memcmp(l->nodes[i].host, host, hostlen) == 0)
            return i;
    if (l->nnodes == REDIS_LINK_MAX_NODES || hostlen >= sizeof l->nodes[0].host)
        return -1;
    node *n = &l->nodes[l->nnodes];
    memset(n, 0, sizeof *n);
    n->l = l;
    n->index = l->nnodes;
    memcpy(n->host, host, hostlen);
    n->host[hostlen] = '\0';
    n->port = port;
    snprintf(n->name, sizeof n->name, "%s:%d", n->host, port);
    return l->nnodes++;
}

/* ---- connections ---- */

static void link_down(redis_link *l, const char *why)
{
    l->up = false;
    if (l->cb.on_down && !l->freeing)
        l->cb.on_down(l->cb.arg, why);
}

static void check_up(redis_link *l)
{
    if (l->up || l->resetting || l->freeing)
        return;
    for (unsigned s = 0; s < KEYSLOT_COUNT; s++)
        if (l->slots[s] < 0 || !node_ready(&l->nodes[l->slots[s]]))
            return;
    l->up = true;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    l->last_why[0] = '\0';
    if (l->cb.on_up)
        l->cb.on_up(l->cb.arg);
}

/* Forgets n's connection; frees it too unless hiredis is freeing it
 * already (a failed connect, a lost connection). A master's loss (or the
 * one Redis's) takes the link down and schedules the recovery. */
static void node_lost(redis_link *l, node *n, bool free_it, const char *why)
{
    redisAsyncContext *c = n->ac;
    if (!c)
        return;
    n->ac = NULL;
    n->connected = false;
    n->setup_pending = 0;
    n->ticks = 0;
    c->data = NULL;
    bool refreshing = l->refresh_node == n->index;
    if (refreshing)
        l->refresh_node = -1;
    /* Losing a connection that carried commands is a master's loss too,
     * even when the map no longer names it (it may have answered a write
     * that a WAIT on a new connection would not cover). */
    bool matters = !l->cluster || n->master || n->carried;
    n->carried = false;
    if (matters) {
        set_why(l, "%s: %s", n->name, why);
        g_metrics.redis_errors++;
        link_down(l, l->last_why);
    }
    if (free_it)
        redisAsyncFree(c); /* deferred by hiredis inside one of c's callbacks */
    if ((matters || refreshing) && !l->freeing)
        schedule_retry(l);
}

static void on_setup_reply(redisAsyncContext *c, void *r, void *privdata)
{
    node *n = c->data;
    redisReply *reply = r;
    if (!n || n->ac != c || !reply)
        return; /* stale, or lost: handled where the loss is seen */
    redis_link *l = n->l;
    int k = (int)(uintptr_t)privdata - 1; /* -1: AUTH or SELECT; else a script */
    if (reply->type == REDIS_REPLY_ERROR ||
        (k >= 0 && (reply->type != REDIS_REPLY_STRING || reply->len != 40))) {
        char why[200];
        snprintf(why, sizeof why, "connection setup failed: %s",
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected SCRIPT LOAD reply");
        node_lost(l, n, true, why);
        return;
    }
    if (k >= 0 && !l->scripts[k].sha[0]) {
        memcpy(l->scripts[k].sha, reply->str, 40);
        l->scripts[k].sha[40] = '\0';
    }
    if (--n->setup_pending == 0)
        check_up(l);
}

static void on_connect(const redisAsyncContext *c, int status)
{
    node *n = c->data;
    if (!n || n->ac != c)
        return;
    if (status != REDIS_OK) {
        char why[200];
        snprintf(why, sizeof why, "connect failed: %s", c->errstr);
        node_lost(n->l, n, false, why); /* hiredis frees c after this callback */
        return;
    }
    n->connected = true;
    if (n->setup_pending == 0)
        check_up(n->l);
}

static void on_disconnect(const redisAsyncContext *c, int status)
{
    node *n = c->data;
    if (!n || n->ac != c)
        return;
    node_lost(n->l, n, false, status == REDIS_OK ? "disconnected" : c->errstr);
}

/* Opens n's connection and queues its setup: AUTH, SELECT, SCRIPT LOAD,
 * which go out first once it connects. 0, or -1 (why logged in last_why). */
static int node_connect(redis_link *l, node *n)
{
    if (n->ac)
        return 0;
    redisAsyncContext *ac = redisAsyncConnect(n->host, n->port);
    if (!ac || ac->err) {
        set_why(l, "%s: connect failed: %s", n->name, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        return -1;
    }
    ac->data = n;
    n->ac = ac;
    n->connected = false;
    n->ticks = 0;
    n->setup_pending = 0;
    redisLibeventAttach(ac, l->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (l->password[0] &&
        redisAsyncCommand(ac, on_setup_reply, NULL, "AUTH %s", l->password) == REDIS_OK)
        n->setup_pending++;
    if (!l->cluster && l->db &&
        redisAsyncCommand(ac, on_setup_reply, NULL, "SELECT %d", l->db) == REDIS_OK)
        n->setup_pending++;
    for (int k = 0; k < l->nscripts; k++)
        if (redisAsyncCommand(ac, on_setup_reply, (void *)(uintptr_t)(k + 1), "SCRIPT LOAD %s",
                              l->scripts[k].text) == REDIS_OK)
            n->setup_pending++;
    return 0;
}

/* ---- the slot map ---- */

/* Reads `CLUSTER SLOTS`: [[start, end, [host, port, id...], replicas...]...].
 * An empty host means the node that answered. False on a malformed reply. */
static bool read_slots(redis_link *l, const node *asked, const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ARRAY)
        return false;
    /* Read into a new map and take it only when the whole reply reads: a
     * reply of the wrong shape leaves the map as it was. */
    int16_t *slots = malloc(KEYSLOT_COUNT * sizeof *slots);
    bool master[REDIS_LINK_MAX_NODES] = {false};
    if (!slots)
        return false;
    for (unsigned s = 0; s < KEYSLOT_COUNT; s++)
        slots[s] = -1;
    bool ok = true;
    for (size_t e = 0; ok && e < reply->elements; e++) {
        const redisReply *r = reply->element[e];
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
            r->element[0]->type != REDIS_REPLY_INTEGER ||
            r->element[1]->type != REDIS_REPLY_INTEGER) {
            ok = false;
            break;
        }
        long long lo = r->element[0]->integer, hi = r->element[1]->integer;
        if (lo < 0 || hi < lo || hi >= KEYSLOT_COUNT) {
            ok = false;
            break;
        }
        for (size_t k = 2; k < r->elements; k++) {
            const redisReply *a = r->element[k];
            if (a->type != REDIS_REPLY_ARRAY || a->elements < 2 ||
                a->element[0]->type != REDIS_REPLY_STRING ||
                a->element[1]->type != REDIS_REPLY_INTEGER) {
                ok = false;
                break;
            }
            const char *host = a->element[0]->str;
            size_t hostlen = a->element[0]->len;
            if (hostlen == 0 || strcmp(host, "?") == 0) {
                host = asked->host;
                hostlen = strlen(host);
            }
            int idx = find_or_add(l, host, hostlen, (int)a->element[1]->integer);
            if (k > 2)
                continue; /* a replica: known, for later refreshes */
            if (idx < 0) {
                ok = false;
                break;
            }
            master[idx] = true;
            for (long long s = lo; s <= hi; s++)
                slots[s] = (int16_t)idx;
        }
    }
    if (ok) {
        memcpy(l->slots, slots, KEYSLOT_COUNT * sizeof *slots);
        for (int i = 0; i < l->nnodes; i++)
            l->nodes[i].master = master[i];
    }
    free(slots);
    return ok;
}

static void on_slots_reply(redisAsyncContext *c, void *r, void *privdata)
{
    node *n = c->data;
    redisReply *reply = r;
    if (!n || n->ac != c || !reply)
        return;
    redis_link *l = n->l;
    if (l->refresh_node != n->index || l->refresh_token != (uintptr_t)privdata)
        return; /* an abandoned request */
    l->refresh_node = -1;
    if (reply->type == REDIS_REPLY_ERROR || !read_slots(l, n, reply)) {
        set_why(l, "%s: CLUSTER SLOTS failed: %s", n->name,
                reply->type == REDIS_REPLY_ERROR ? reply->str : "malformed reply");
        l->refresh_next = n->index + 1; /* ask another node next */
        schedule_retry(l);
        return;
    }
    unsigned mapped = 0;
    for (unsigned s = 0; s < KEYSLOT_COUNT; s++)
        mapped += l->slots[s] >= 0;
    for (int i = 0; i < l->nnodes; i++)
        if (l->nodes[i].master && node_connect(l, &l->nodes[i]) != 0) {
            link_down(l, l->last_why);
            schedule_retry(l);
        }
    if (mapped < KEYSLOT_COUNT) {
        set_why(l, "cluster: %u of %u slots have a master", mapped, KEYSLOT_COUNT);
        if (l->up)
            link_down(l, l->last_why);
        schedule_retry(l);
    } else if (l->refresh_again) {
        l->refresh_again = false;
        start_refresh(l);
    }
    check_up(l);
}

/* Asks one node for the map: a connected one if any (round robin), else
 * the next known node, connecting it first. One request at a time. */
static void start_refresh(redis_link *l)
{
    if (!l->cluster || l->resetting || l->freeing)
        return;
    if (l->refresh_node >= 0) {
        l->refresh_again = true;
        return;
    }
    int pick = -1;
    for (int k = 0; k < l->nnodes && pick < 0; k++) {
        int i = (l->refresh_next + k) % l->nnodes;
        if (node_ready(&l->nodes[i]))
            pick = i;
    }
    for (int k = 0; k < l->nnodes && pick < 0; k++) {
        int i = (l->refresh_next + k) % l->nnodes;
        if (node_connect(l, &l->nodes[i]) == 0)
            pick = i;
    }
    if (pick < 0) {
        schedule_retry(l);
        return;
    }
    l->refresh_next = (pick + 1) % l->nnodes;
    g_metrics.redis_map_refreshes++;
    l->refresh_token++;
    if (redisAsyncCommand(l->nodes[pick].ac, on_slots_reply, (void *)l->refresh_token,
                          "CLUSTER SLOTS") != REDIS_OK) {
        schedule_retry(l);
        return;
    }
    l->refresh_node = pick;
    l->refresh_ticks = 0;
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    redis_link *l = arg;
    g_metrics.redis_reconnects++;
    if (l->cluster) {
        start_refresh(l);
    } else if (node_connect(l, &l->nodes[0]) != 0) {
        link_down(l, l->last_why);
        schedule_retry(l);
    }
}

static void schedule_retry(redis_link *l)
{
    if (l->freeing || !l->started || evtimer_pending(l->retry_ev, NULL))
        return;
    struct timeval tv = {l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000};
    event_add(l->retry_ev, &tv);
    int max = l->cluster ? LINK_BACKOFF_MAX_CLUSTER_MS : LINK_BACKOFF_MAX_MS;
    l->backoff_ms = l->backoff_ms * 2 > max ? max : l->backoff_ms * 2;
}

/* Once a second: connections not ready after LINK_TIMEOUT_TICKS are given
 * up, and so is a map request unanswered for as long. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    redis_link *l = arg;
    for (int i = 0; i < l->nnodes; i++) {
        node *n = &l->nodes[i];
        if (!n->ac || node_ready(n)) {
            n->ticks = 0;
            continue;
        }
        if (++n->ticks >= LINK_TIMEOUT_TICKS)
            node_lost(l, n, true, n->connected ? "setup timed out" : "connect timed out");
    }
    if (l->refresh_node >= 0 && ++l->refresh_ticks >= LINK_TIMEOUT_TICKS) {
        set_why(l, "%s: CLUSTER SLOTS timed out", l->nodes[l->refresh_node].name);
        l->refresh_next = l->refresh_node + 1;
        l->refresh_node = -1;
        schedule_retry(l);
    }
    if (l->started && !l->up && l->refresh_node < 0)
        schedule_retry(l); /* a no-op while one is pending */
}

/* ---- commands ---- */

static void req_finish(req *q, int idx, const redisReply *reply)
{
    q->cb(q->arg, reply ? idx : -1, reply);
    free(q);
}

static int route(const redis_link *l, int slot)
{
    if (slot >= 0)
        return l->slots[slot];
    for (int i = 0; i < l->nnodes; i++)
        if (l->nodes[i].master && node_ready(&l->nodes[i]))
            return i;
    return -1;
}

static void wait_append(redis_link *l, req *q)
{
    q->next = NULL;
    if (l->wait_tail)
        l->wait_tail->next = q;
    else
        l->wait_head = q;
    l->wait_tail = q;
    if (!evtimer_pending(l->wait_ev, NULL)) {
        struct timeval tv = {l->wait_ms / 1000, (l->wait_ms % 1000) * 1000};
        event_add(l->wait_ev, &tv);
        l->wait_ms = l->wait_ms * 2 > LINK_RETRY_MAX_MS ? LINK_RETRY_MAX_MS : l->wait_ms * 2;
    }
}

/* Sends every waiting command again, in queue order. */
static void on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
    redis_link *l = arg;
    req *q = l->wait_head;
    l->wait_head = l->wait_tail = NULL;
    while (q) {
        req *next = q->next;
        q->next = NULL;
        int idx = route(l, q->slot);
        if (idx < 0 || send_req(l, q, idx) != 0)
            req_finish(q, -1, NULL);
        q = next;
    }
}

static bool starts(const redisReply *r, const char *prefix)
{
    return strncmp(r->str, prefix, strlen(prefix)) == 0;
}

/* "MOVED 3999 127.0.0.1:6381" or "ASK ...": the slot and the node (an
 * empty host means the one that answered). -1 when unreadable or the table
 * is full. */
static int redirect_target(redis_link *l, const node *from, const char *text, int *slot)
{
    const char *sp = strchr(text, ' ');
    char *end;
    long s = sp ? strtol(sp + 1, &end, 10) : -1;
    if (!sp || s < 0 || s >= (long)KEYSLOT_COUNT || *end != ' ')
        return -1;
    const char *addr = end + 1, *colon = strrchr(addr, ':');
    if (!colon)
        return -1;
    long port = strtol(colon + 1, &end, 10);
    if (port < 1 || port > 65535 || (*end != '\0' && *end != ' '))
        return -1;
    *slot = (int)s;
    if (colon == addr)
        return find_or_add(l, from->host, strlen(from->host), (int)port);
    return find_or_add(l, addr, (size_t)(colon - addr), (int)port);
}

static void retry_later(redis_link *l, req *q)
{
    if (!q->retrying) {
        q->retrying = true;
        clock_gettime(CLOCK_MONOTONIC, &q->deadline);
        q->deadline.tv_sec += REDIS_LINK_RETRY_MS / 1000;
    }
    wait_append(l, q);
}

static bool retry_expired(const req *q)
{
    if (!q->retrying)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > q->deadline.tv_sec ||
           (now.tv_sec == q->deadline.tv_sec && now.tv_nsec >= q->deadline.tv_nsec);
}

static void on_req_reply(redisAsyncContext *c, void *r, void *privdata)
{
    req *q = privdata;
    redis_link *l = q->l;
    redisReply *reply = r;
    node *n = c->data;
    if (!reply) {
        if (n && n->ac == c) /* hiredis is freeing a lost connection */
            node_lost(l, n, false, c->errstr[0] ? c->errstr : "connection lost");
        req_finish(q, -1, NULL);
        return;
    }
    if (reply->type != REDIS_REPLY_ERROR && !l->wait_head)
        l->wait_ms = LINK_RETRY_MIN_MS; /* the cluster answers again */
    if (reply->type != REDIS_REPLY_ERROR || q->slot == SLOT_PINNED || !n || n->ac != c ||
        l->resetting || l->freeing) {
        req_finish(q, q->node, reply);
        return;
    }
    bool moved = starts(reply, "MOVED "), ask = starts(reply, "ASK ");
    if ((moved || ask) && q->redirects < REDIS_LINK_MAX_REDIRECTS) {
        int slot = -1, idx = redirect_target(l, n, reply->str, &slot);
        if (idx >= 0) {
            q->redirects++;
            q->asking = ask;
            if (moved) {
                g_metrics.redis_redirects[REDIS_REDIRECT_MOVED]++;
                l->slots[slot] = (int16_t)idx;
                l->nodes[idx].master = true;
                start_refresh(l);
            } else {
                g_metrics.redis_redirects[REDIS_REDIRECT_ASK]++;
            }
            if (send_req(l, q, idx) != 0)
                req_finish(q, -1, NULL);
            return;
        }
    }
    bool tryagain = starts(reply, "TRYAGAIN"), down = starts(reply, "CLUSTERDOWN");
    if ((tryagain || down) && !retry_expired(q)) {
        g_metrics.redis_redirects[tryagain ? REDIS_REDIRECT_TRYAGAIN
                                           : REDIS_REDIRECT_CLUSTERDOWN]++;
        if (down)
            start_refresh(l);
        retry_later(l, q);
        return;
    }
    if (starts(reply, "NOSCRIPT") && q->redirects < REDIS_LINK_MAX_REDIRECTS &&
        l->nscripts > 0) {
        /* A master that never loaded the scripts (a promoted replica after
         * a failover, a restarted server): load them there, then again. */
        g_metrics.redis_redirects[REDIS_REDIRECT_NOSCRIPT]++;
        q->redirects++;
        for (int k = 0; k < l->nscripts; k++)
            redisAsyncCommand(c, NULL, NULL, "SCRIPT LOAD %s", l->scripts[k].text);
        if (send_req(l, q, n->index) != 0)
            req_finish(q, -1, NULL);
        return;
    }
    req_finish(q, q->node, reply);
}

/* Hands q to node idx's connection (connecting it first when needed). */
static int send_req(redis_link *l, req *q, int idx)
{
    node *n = &l->nodes[idx];
    if (!n->ac && (!l->cluster || node_connect(l, n) != 0))
        return -1;
    if (q->asking && redisAsyncCommand(n->ac, NULL, NULL, "ASKING") != REDIS_OK)
        return -1;
    q->node = idx;
    n->carried = true;
    return redisAsyncFormattedCommand(n->ac, on_req_reply, q, q->cmd, q->len) == REDIS_OK ? 0 : -1;
}

static int submit(redis_link *l, int slot, int idx, const char *cmd, size_t len,
                  redis_link_reply_fn *cb, void *arg)
{
    /* A node still connecting takes the command: hiredis queues it behind
     * the connection's setup (after a MOVED to a node not used before). */
    if (idx < 0 || (slot == SLOT_PINNED && !node_ready(&l->nodes[idx])))
        return -1;
    req *q = malloc(sizeof *q + len);
    if (!q)
        return -1;
    *q = (req){.l = l, .cb = cb, .arg = arg, .slot = slot, .len = len};
    memcpy(q->cmd, cmd, len);
    if (l->wait_head && slot != SLOT_PINNED) { /* behind the waiting ones */
        wait_append(l, q);
        return 0;
    }
    if (send_req(l, q, idx) != 0) {
        free(q);
        return -1;
    }
    return 0;
}

int redis_link_command_formatted(redis_link *l, int slot, const char *cmd, size_t len,
                                 redis_link_reply_fn *cb, void *arg)
{
    if (!l->up || slot >= (int)KEYSLOT_COUNT)
        return -1;
    return submit(l, slot < 0 ? -1 : slot, route(l, slot < 0 ? -1 : slot), cmd, len, cb, arg);
}

int redis_link_command_argv(redis_link *l, int slot, int argc, const char **argv,
                            const size_t *argvlen, redis_link_reply_fn *cb, void *arg)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0)
        return -1;
    int rc = redis_link_command_formatted(l, slot, cmd, (size_t)len, cb, arg);
    redisFreeCommand(cmd);
    return rc;
}

int redis_link_wait(redis_link *l, int idx, int numreplicas, int timeout_ms,
                    redis_link_reply_fn *cb, void *arg)
{
    if (idx < 0 || idx >= l->nnodes)
        return -1;
    char *cmd = NULL;
    int len = redisFormatCommand(&cmd, "WAIT %d %d", numreplicas, timeout_ms);
    if (len < 0)
        return -1;
    int rc = submit(l, SLOT_PINNED, idx, cmd, (size_t)len, cb, arg);
    redisFreeCommand(cmd);
    return rc;
}

/* ---- lifecycle ---- */

redis_link *redis_link_new(struct event_base *base, const upshot_config *cfg,
                           const redis_link_callbacks *cb)
{
    redis_link *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base = base;
    l->cb = *cb;
    l->nodes = calloc(REDIS_LINK_MAX_NODES, sizeof *l->nodes);
    l->retry_ev = evtimer_new(base, on_retry_timer, l);
    l->wait_ev = evtimer_new(base, on_wait_timer, l);
    l->wait_ms = LINK_RETRY_MIN_MS;
    l->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, l);
    if (!l->nodes || !l->retry_ev || !l->wait_ev || !l->tick_ev) {
        redis_link_free(l);
        return NULL;
    }
    snprintf(l->password, sizeof l->password, "%s", cfg->redis_password);
    l->db = cfg->redis_db;
    l->cluster = cfg->nredis_nodes > 0;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    l->refresh_node = -1;
    for (unsigned s = 0; s < KEYSLOT_COUNT; s++)
        l->slots[s] = l->cluster ? -1 : 0;
    if (l->cluster) {
        for (int i = 0; i < cfg->nredis_nodes; i++)
            find_or_add(l, cfg->redis_nodes[i].host, strlen(cfg->redis_nodes[i].host),
                        cfg->redis_nodes[i].port);
    } else {
        find_or_add(l, cfg->redis_host, strlen(cfg->redis_host), cfg->redis_port);
        l->nodes[0].master = true;
    }
    set_why(l, "not connected yet");
    return l;
}

int redis_link_add_script(redis_link *l, const char *text)
{
    if (l->nscripts == REDIS_LINK_MAX_SCRIPTS || l->started)
        return -1;
    script *s = &l->scripts[l->nscripts];
    s->text = strdup(text);
    if (!s->text)
        return -1;
    s->sha[0] = '\0';
    return l->nscripts++;
}

const char *redis_link_script_sha(const redis_link *l, int k)
{
    return k >= 0 && k < l->nscripts ? l->scripts[k].sha : "";
}

void redis_link_start(redis_link *l)
{
    l->started = true;
    struct timeval second = {1, 0};
    event_add(l->tick_ev, &second);
    if (l->cluster) {
        start_refresh(l);
    } else if (node_connect(l, &l->nodes[0]) != 0) {
        link_down(l, l->last_why);
        schedule_retry(l);
    }
}

/* Drops every connection and every waiting command (NULL replies). */
static void drop_all(redis_link *l)
{
    for (int i = 0; i < l->nnodes; i++) {
        node *n = &l->nodes[i];
        redisAsyncContext *c = n->ac;
        if (!c)
            continue;
        n->ac = NULL;
        n->connected = false;
        n->setup_pending = 0;
        n->carried = false;
        c->data = NULL;
        redisAsyncFree(c);
    }
    req *q = l->wait_head;
    l->wait_head = l->wait_tail = NULL;
    if (l->wait_ev)
        event_del(l->wait_ev);
    l->wait_ms = LINK_RETRY_MIN_MS;
    while (q) {
        req *next = q->next;
        req_finish(q, -1, NULL);
        q = next;
    }
    l->refresh_node = -1;
}

void redis_link_reset(redis_link *l, const char *why)
{
    if (l->resetting || l->freeing)
        return;
    set_why(l, "%s", why);
    link_down(l, l->last_why);
    l->resetting = true;
    drop_all(l);
    l->resetting = false;
    schedule_retry(l);
}

void redis_link_free(redis_link *l)
{
    if (!l)
        return;
    l->freeing = true;
    l->up = false; /* nothing sent from a callback run while dropping */
    if (l->nodes)
        drop_all(l);
    if (l->retry_ev)
        event_free(l->retry_ev);
    if (l->tick_ev)
        event_free(l->tick_ev);
    if (l->wait_ev)
        event_free(l->wait_ev);
    for (int k = 0; k < l->nscripts; k++)
        free(l->scripts[k].text);
    free(l->nodes);
    free(l);
}

bool redis_link_is_up(const redis_link *l) { return l->up; }
bool redis_link_is_cluster(const redis_link *l) { return l->cluster; }

const char *redis_link_node_name(const redis_link *l, int idx)
{
    return idx >= 0 && idx < l->nnodes ? l->nodes[idx].name : "";
}

int redis_link_nodes_connected(const redis_link *l)
{
    int n = 0;
    for (int i = 0; i < l->nnodes; i++)
        n += l->nodes[i].master && node_ready(&l->nodes[i]);
    return n;
}

int redis_link_masters(const redis_link *l)
{
    int n = 0;
    for (int i = 0; i < l->nnodes; i++)
        n += l->nodes[i].master;
    return n;
}

void redis_link_describe(const redis_link *l, char *out, size_t outlen)
{
    if (!l->cluster) {
        snprintf(out, outlen, "one redis at %s: %s%s%s", l->nodes[0].name,
                 l->up ? "connected" : "not connected",
                 !l->up && l->last_why[0] ? ", " : "", !l->up ? l->last_why : "");
        return;
    }
    unsigned mapped = 0;
    for (unsigned s = 0; s < KEYSLOT_COUNT; s++)
        mapped += l->slots[s] >= 0;
    snprintf(out, outlen, "cluster: %d of %d masters connected, %u of %u slots mapped%s%s%s",
             redis_link_nodes_connected(l), redis_link_masters(l), mapped, KEYSLOT_COUNT,
             l->refresh_node >= 0 ? ", slot map refresh pending" : "",
             !l->up && l->last_why[0] ? "; last failure: " : "", !l->up ? l->last_why : "");
}

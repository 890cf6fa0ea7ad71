/* redis_link.h: upshotd's connections to Redis, one server or a cluster.
 *
 * The one module that opens hiredis connections. It routes each command to
 * the master owning the command's slot (keyslot.h) and hands back the final
 * reply, so its users never see the topology:
 *
 *   one Redis   redis.host/port: one connection, every slot maps to it;
 *   a cluster   redis.nodes seeds: the slot map comes from CLUSTER SLOTS
 *               asked of any reachable node (the seeds, then every node
 *               learnt since), one connection per master.
 *
 * Each connection runs AUTH (redis.password), SELECT (one Redis only, db
 * 0 in a cluster) and SCRIPT LOAD of every registered script before any
 * command, all pipelined, so a command sent at once waits behind them.
 *
 * Replies a cluster gives instead of an answer are followed here:
 *   MOVED slot host:port  the slot lives elsewhere now: the map takes the
 *                         new owner at once, a full refresh follows, and
 *                         the command is sent again to the named node;
 *   ASK slot host:port    the key is being migrated: ASKING then the
 *                         command on the named node; the map is unchanged;
 *   TRYAGAIN, CLUSTERDOWN retried on a timer, backoff from 20 ms doubling
 *                         to 500 ms, for at most REDIS_LINK_RETRY_MS; then
 *                         the error reply is what the caller gets. Retries
 *                         keep their order, and commands submitted while
 *                         any waits queue behind them, so none overtakes an
 *                         earlier one. Left open: a command already sent
 *                         when an earlier one's error came back runs if the
 *                         cluster recovered in between (a window of one
 *                         round trip);
 *   NOSCRIPT              (a new master after a failover may lack the
 *                         script) SCRIPT LOAD of the registered script with
 *                         that SHA on that node, then the command again.
 * A command is redirected at most REDIS_LINK_MAX_REDIRECTS times; beyond,
 * the caller gets the last error.
 *
 * The link is up when every one of the 16,384 slots has a master whose
 * connection is established and set up. Losing the connection of any
 * master the map names (or redis_link_reset) calls on_down once; the link
 * then refreshes the map (a cluster) or reconnects (one Redis) with a
 * backoff from 200 ms doubling to 5 s, bounding each connect and each map
 * request to 3 s (hiredis 0.14 has no connect timeout), and calls on_up
 * again when every slot has a ready master. Commands sent while down fail
 * at once.
 *
 * hiredis types appear here because only redis_link.c, store.c and
 * shared_state.c include this header (tests/layout/check_layout.py). Runs
 * on the caller's libevent loop; nothing blocks. */
#ifndef UPSHOT_REDIS_LINK_H
#define UPSHOT_REDIS_LINK_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct event_base;
typedef struct redis_link redis_link;

/* Nodes the link knows (seeds, masters, replicas named by the map). A
 * node's number stays the same for the link's lifetime. */
#define REDIS_LINK_MAX_NODES 128
#define REDIS_LINK_MAX_SCRIPTS 4
#define REDIS_LINK_MAX_REDIRECTS 16
#define REDIS_LINK_RETRY_MS 5000

typedef struct redis_link_callbacks {
    /* Every slot has a connected master: commands can be sent. */
    void (*on_up)(void *arg);
    /* A master's connection was lost, or the link was reset: why says
     * which and how. Commands still on the other connections are answered
     * as usual; those on the lost one get a NULL reply. */
    void (*on_down)(void *arg, const char *why);
    void *arg;
} redis_link_callbacks;

/* A command's final reply, borrowed for the call: NULL when its connection
 * was lost (or the link reset or freed) before it came. node is the number
 * of the node that answered (after redirects); -1 with a NULL reply. */
typedef void redis_link_reply_fn(void *arg, int node, const redisReply *reply);

/* Copies what it needs of cfg (redis.host/port or redis.nodes, password,
 * db); connects on redis_link_start. NULL when out of memory. */
redis_link *redis_link_new(struct event_base *base, const upshot_config *cfg,
                           const redis_link_callbacks *cb);
/* Pending commands get a NULL reply; on_down is not called. NULL ignored. */
void redis_link_free(redis_link *l);

/* Registers a Lua script, before redis_link_start: the link loads it on
 * every connection it opens and reloads it where NOSCRIPT shows it missing.
 * Returns its number (for redis_link_script_sha), -1 when the table is full
 * or out of memory. text is copied. */
int redis_link_add_script(redis_link *l, const char *text);
/* The script's SHA1 in hex, "" until a server has answered its first load. */
const char *redis_link_script_sha(const redis_link *l, int script);

void redis_link_start(redis_link *l);

/* Drops every connection at once (pending commands get a NULL reply),
 * calls on_down(why) if it was up or connecting, and starts over with
 * backoff. For a server that stopped answering: a graceful close would
 * wait for replies that never come. */
void redis_link_reset(redis_link *l, const char *why);

bool redis_link_is_up(const redis_link *l);
bool redis_link_is_cluster(const redis_link *l);

/* Sends a command to the master of slot (0..16383; -1: any connected
 * master). cmd is RESP (redisFormatCommand*), copied. Returns 0 when sent,
 * after which cb runs exactly once from the loop (also on redis_link_free);
 * -1 when the link is down or out of memory, and cb never runs. */
int redis_link_command_formatted(redis_link *l, int slot, const char *cmd, size_t len,
                                 redis_link_reply_fn *cb, void *arg);
int redis_link_command_argv(redis_link *l, int slot, int argc, const char **argv,
                            const size_t *argvlen, redis_link_reply_fn *cb, void *arg);

/* WAIT numreplicas timeout_ms on node's connection: cb's reply is the
 * number of replicas that acknowledged every write sent on that connection
 * before it (an integer), an error, or NULL when the connection was lost.
 * Same return and cb rules as the commands above; -1 also when node is not
 * connected. */
int redis_link_wait(redis_link *l, int node, int numreplicas, int timeout_ms,
                    redis_link_reply_fn *cb, void *arg);

/* "host:port" of node; "" for an unknown number. */
const char *redis_link_node_name(const redis_link *l, int node);
/* Masters the map names whose connection is ready, and masters it names. */
int redis_link_nodes_connected(const redis_link *l);
int redis_link_masters(const redis_link *l);
/* One line on the topology, for /healthz: "one redis at H:P, connected",
 * "cluster: 2 of 3 masters connected, slot map refreshing", ... */
void redis_link_describe(const redis_link *l, char *out, size_t outlen);

#endif

/* store.h: the journal's writer to Redis, and the handlers' reads.
 *
 * The store sends its commands through redis_link.h (one Redis or a Redis
 * Cluster; it routes each command by its key's slot). It
 *   - applies the journal to Redis: reads complete lines from the
 *     checkpoint, groups them by experiment, sends one EVALSHA of
 *     record.lua per experiment (pipelined, several batches in flight),
 *     and advances the checkpoint when a batch's replies are all in;
 *   - with redis.wait_replicas = N > 0, advances it only once `WAIT N`
 *     sent after those replies, on the connection of every master the
 *     batch's calls ran on, counted at least N replicas. The guarantee: a
 *     checkpointed event is in the memory of N replicas of its master, so
 *     a failover that promotes one of them keeps it. The bound: WAIT does
 *     not wait for the replicas' disks (Redis 7.0 has no WAITAOF), and a
 *     batch not confirmed within 3 s (STORE_SLOW_MS) is sent again from
 *     the journal on new connections, where the idempotent script counts
 *     each event once;
 *   - leaves out repeat exposures of visitors Redis is known to hold a
 *     record for (seen.h), since the script would ignore them; the set is
 *     cleared whenever the link goes down;
 *   - starts over on new connections when Redis answers too slowly,
 *     restarting from the checkpoint (the script is idempotent, so a batch
 *     applied just before the failure is not counted twice);
 *   - answers the two reads the handlers need, typed: a visitor's record
 *     (stickiness after a weight change) and an experiment's counters
 *     (results). Failures come back as a store_status; what that means
 *     for an HTTP client is the handler's business.
 * Nothing here ever blocks the event loop. No hiredis type appears here
 * (tests/layout/check_layout.py checks). */
#ifndef UPSHOT_STORE_H
#define UPSHOT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "journal.h"
#include "visitor_record.h"

struct event_base;
typedef struct store store;

store *store_new(struct event_base *base, const upshot_config *cfg, journal *j);
void store_free(store *s); /* NULL is ignored; pending reads end STORE_UNAVAILABLE */

/* Where the store learns an experiment's configured revenue cap, which
 * record.lua sets in each shard group the first time it records an order
 * there (docs/redis.md, "Capping"): fn writes the cap as text into out
 * (DECIMAL_G17_MAX + 1 bytes) and returns its length, 0 when the
 * experiment caps nothing or is unknown. Called on the write path, once
 * per script call. */
typedef size_t store_cap_fn(void *arg, const char *exp, char *out);
void store_set_cap_source(store *s, store_cap_fn *fn, void *arg);

/* Caps, once, the visitors of experiment exp recorded before its revenue
 * cap was learned (engine/capping.h): recap.lua on each of the 65,536
 * visitor shards, a few calls at a time, then done(arg, ok, visitors
 * capped) from the loop. The corrections count on `day` ("YYYY-MM-DD").
 * Idempotent: after a failure (ok false: the link went down, a script
 * error) the whole pass may be run again. -1 when nothing was started
 * (not connected, bad arguments). The store must outlive the pass. */
typedef void store_recap_fn(void *arg, bool ok, uint64_t capped);
int store_recap(store *s, const char *exp, double cap, const char *day, store_recap_fn *done,
                void *arg);

/* Connects (asynchronously; failures only log and retry). */
void store_start(store *s);

/* New lines were appended to the journal: schedule a flush (at once when a
 * full batch is waiting, else within pipeline.flush_ms). */
void store_kick(store *s);

bool store_is_up(const store *s);
/* Whether events reach Redis as they should: connected, and no batch
 * waiting more than a second for its reply (a stalled Redis keeps the
 * connection open). When not, why gets a one-line reason. */
bool store_is_healthy(const store *s, char *why, size_t whylen);
/* Whether Redis was found to have lost the data set upshotd wrote to
 * (restarted empty, flushed, or replaced) since upshotd started. */
bool store_data_lost(const store *s);
const char *store_last_error(const store *s); /* "" when none */
uint64_t store_inflight(const store *s);
/* Masters with a ready connection, and masters the slot map names (1 and 1
 * for one connected Redis). */
void store_topology(const store *s, int *connected, int *masters);
/* (experiment, visitor) pairs remembered as recorded (seen.h). */
uint64_t store_seen_pairs(const store *s);

/* How a read ended. */
typedef enum store_status {
    STORE_OK,          /* answered; the result is valid for the callback */
    STORE_NOT_FOUND,   /* answered: there is no such record */
    STORE_UNAVAILABLE, /* not connected, or the connection was lost (or the
                        * store freed) before the answer */
    STORE_ERROR,       /* Redis answered with an error */
    STORE_MALFORMED,   /* Redis answered something the store cannot read:
                        * a reply of the wrong shape, a record that does
                        * not parse (visitor_record.h) */
    STORE_NO_MEMORY,   /* out of memory starting the read or handing
                        * over its answer */
} store_status;

const char *store_status_name(store_status st); /* "ok", "unavailable", ... */

/* The reads below start a request and return STORE_OK, after which cb is
 * called exactly once from the event loop, whatever happens (also from
 * store_free); or they fail at once, STORE_UNAVAILABLE when Redis is not
 * connected or STORE_NO_MEMORY, and cb is never called. Callers keep arg
 * alive until cb. What cb receives is borrowed for the call only. */

/* The record of visitor in experiment exp (an HGET of its shard, keys.h).
 * rec is non-NULL only with STORE_OK. */
typedef void store_visitor_fn(void *arg, store_status st, const visitor_record *rec);
store_status store_lookup_visitor(store *s, const char *exp, const char *visitor,
                                  store_visitor_fn *cb, void *arg);

/* Every counter of experiment exp (docs/redis.md): n (field, value) pairs,
 * as results_build takes them. An experiment with no counters yet is
 * STORE_OK with n = 0. */
typedef void store_counters_fn(void *arg, store_status st, size_t n, const char *const *fields,
                               const char *const *values);
store_status store_fetch_counters(store *s, const char *exp, store_counters_fn *cb, void *arg);

/* Flushes everything at once and calls done once the journal is fully
 * applied, or after timeout_ms, or at once when Redis is down. */
void store_drain(store *s, int timeout_ms, void (*done)(void *arg), void *arg);

#endif

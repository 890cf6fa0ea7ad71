/* store.h: upshotd's one Redis connection, and the journal's writer.
 *
 * The store owns a hiredis async context on the server's event loop. It
 *   - applies the journal to Redis: reads complete lines from the
 *     checkpoint, groups them by experiment, sends one EVALSHA of
 *     record.lua per experiment (pipelined, several batches in flight),
 *     and advances the checkpoint when a batch's replies are all in;
 *   - leaves out repeat exposures of visitors Redis is known to hold a
 *     record for (seen.h), since the script would ignore them;
 *   - reconnects with backoff when Redis goes away or answers too slowly,
 *     restarting from the checkpoint (the script is idempotent, so a batch
 *     applied just before the failure is not counted twice);
 *   - passes other commands through for the results and stickiness reads.
 * Nothing here ever blocks the event loop, and assignment never waits on
 * it. */
#ifndef UPSHOT_STORE_H
#define UPSHOT_STORE_H

#include <hiredis/async.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "journal.h"

struct event_base;
typedef struct store store;

store *store_new(struct event_base *base, const upshot_config *cfg, journal *j);
void store_free(store *s); /* NULL is ignored; pending callbacks get NULL replies */

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
/* (experiment, visitor) pairs remembered as recorded (seen.h). */
uint64_t store_seen_pairs(const store *s);

/* Sends a command if connected: 0, or -1 when Redis is down (cb is then
 * not called). cb gets NULL when the connection is lost before a reply. */
int store_command_argv(store *s, redisCallbackFn *cb, void *privdata, int argc,
                       const char **argv, const size_t *argvlen);

/* Flushes everything at once and calls done once the journal is fully
 * applied, or after timeout_ms, or at once when Redis is down. */
void store_drain(store *s, int timeout_ms, void (*done)(void *arg), void *arg);

#endif

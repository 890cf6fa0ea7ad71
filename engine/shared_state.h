/* shared_state.h: the experiments, their revisions, the config version and
 * the audit log that every upshotd instance shares through Redis.
 *
 * Redis holds the truth (docs/redis.md, "Shared state"): the hash
 * {upshot}:experiments (key -> experiment JSON with its "revision"), the
 * counter {upshot}:version (+1 per change), the list {upshot}:audit, the
 * hash {upshot}:seeds (key -> fingerprint of the config file's definition
 * last imported) and the channel upshot:changes (message: the new
 * version). Every key has the hash tag {upshot}, so one script touches
 * them all atomically.
 *
 * A change is one compare-and-set script call (shared_state_commit): it
 * checks that each experiment is still at the revision the change was
 * computed against, writes the new JSON, bumps the version, appends the
 * audit entries and publishes, or does nothing and names the experiment
 * that moved. Only once Redis has answered (and, with
 * redis.wait_replicas > 0, once WAIT confirmed that many replicas) does
 * the callback run, so a change is acknowledged only after Redis has it.
 *
 * Each instance serves from its registry (registry.h), installed from
 * Redis: after each of its own changes, on every upshot:changes message,
 * and when the version it polls every state.poll_ms differs from the one
 * it installed (a missed message, a subscriber that was down). On first
 * contact with a Redis that has no experiments it imports its cached copy
 * (a state.json of older versions included) and data_dir/audit.jsonl;
 * then it seeds the config file's experiments (registry_plan_config).
 *
 * While Redis is unreachable the registry keeps serving its last snapshot
 * and every change is refused (SHARED_UNAVAILABLE) without being made.
 * Everything runs on the event loop that was given; nothing blocks it.
 * hiredis stays inside shared_state.c. */
#ifndef UPSHOT_SHARED_STATE_H
#define UPSHOT_SHARED_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "experiment.h"
#include "registry.h"

struct event_base;
typedef struct shared_state shared_state;

typedef enum {
    SHARED_OK,
    SHARED_CONFLICT,       /* an experiment is at another revision: nothing written */
    SHARED_UNAVAILABLE,    /* not connected, or the connection was lost before the
                              answer: the change may or may not have been made */
    SHARED_NOT_REPLICATED, /* made, but WAIT confirmed fewer replicas than asked */
    SHARED_ERROR,          /* Redis answered an error */
    SHARED_NO_MEMORY,
} shared_status;

/* cfg and reg are borrowed for the object's life (the caller swaps cfg's
 * contents in place on a reload). NULL out of memory. */
shared_state *shared_state_new(struct event_base *base, const upshot_config *cfg, registry *reg);
/* Connects (asynchronously; failures log and retry with backoff). */
void shared_state_start(shared_state *ss);
/* Frees; NULL is ignored. Callbacks still pending run first, with
 * SHARED_UNAVAILABLE. */
void shared_state_free(shared_state *ss);

/* Connected, and the registry installed from Redis at least once since. */
bool shared_state_is_up(const shared_state *ss);
const char *shared_state_last_error(const shared_state *ss); /* "" when none */
/* The shared version the registry was last installed at (0 before). */
long long shared_state_version(const shared_state *ss);

/* The callbacks below run exactly once, from the event loop, whenever a
 * call returned 0; a call that returns -1 (not up, or out of memory)
 * never calls back. detail: a sentence, borrowed for the call. */
typedef void shared_done_fn(void *arg, shared_status st, const char *detail);

/* Writes n experiments (borrowed), each expected at revision
 * e->revision - 1 in Redis (0: absent), with the fingerprints of fps
 * (NULL, or 0 for "none") as their seeds, and appends the audit lines
 * (an array of JSON text strings, borrowed; may be NULL). On SHARED_OK the
 * experiments are installed in the registry before cb runs. */
int shared_state_commit(shared_state *ss, experiment *const *puts, const uint32_t *fps, size_t n,
                        json_t *audit_lines, shared_done_fn *cb, void *arg);

/* Reads one experiment from Redis and installs it (a conflict's loser sees
 * the definition that won). */
int shared_state_refresh(shared_state *ss, const char *key, shared_done_fn *cb, void *arg);

/* Writes the config's experiments that registry_plan_config selects
 * (audited as "reload" by actor, with reason, which may be NULL); a
 * conflict re-reads the shared state and plans again, a few times. cb's
 * detail on SHARED_OK is the number of experiments written, as text. */
int shared_state_seed(shared_state *ss, const upshot_config *cfg, const char *actor,
                      const char *reason, shared_done_fn *cb, void *arg);

/* Appends one audit line (JSON text, stolen) that records no change (an
 * auto-promotion decision). Fire and forget: lost when Redis is down. */
void shared_state_audit(shared_state *ss, char *line);

/* The audit entries of exp_key, oldest first, at most limit of the
 * newest. entries is borrowed for the call; NULL unless SHARED_OK. */
typedef void shared_log_fn(void *arg, shared_status st, json_t *entries);
int shared_state_read_log(shared_state *ss, const char *exp_key, size_t limit, shared_log_fn *cb,
                          void *arg);

/* Takes or renews the lease {upshot}:lease:NAME for ttl_ms on behalf of
 * this instance: held is true when this instance holds it now. */
typedef void shared_lease_fn(void *arg, bool held);
int shared_state_lease(shared_state *ss, const char *name, long ttl_ms, shared_lease_fn *cb,
                       void *arg);

#endif

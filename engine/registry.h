/* registry.h: the in-memory snapshot of the live experiments that
 * assignments are served from, and its local cached copy.
 *
 * The source of truth is the shared state in Redis (shared_state.h): every
 * change is made there first, by one compare-and-set script, and reaches
 * each instance's registry through registry_install. The registry itself
 * never decides that a change happened; it
 *   - prepares one (registry_prepare: validated, read-only fields filled,
 *     the rules of docs/config.md enforced, revision + 1), which the caller
 *     hands to the shared state;
 *   - installs what the shared state holds (registry_install), bumping
 *     registry_version so that caches derived from the live set refresh;
 *   - keeps a copy of the installed set in data_dir/state.json (written
 *     atomically after each install), which is what an instance serves from
 *     when it starts while Redis is unreachable. A state.json written by
 *     older versions (the truth then) has the same format and is imported
 *     into Redis on the first start against an empty shared state.
 *
 * Everything runs on the event loop: lookups take no lock. They return
 * borrowed pointers valid until the next install; code that keeps one
 * across an asynchronous wait takes a reference (experiment_retain). */
#ifndef UPSHOT_REGISTRY_H
#define UPSHOT_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "experiment.h"

#define REGISTRY_ERR_MAX 320

typedef struct registry registry;

/* Loads the cached copy data_dir/state.json when present. NULL with err on
 * a corrupt file (upshotd refuses to start rather than silently forget
 * experiments it may be the last holder of). */
registry *registry_new(const char *data_dir, char err[REGISTRY_ERR_MAX]);
void registry_free(registry *r);

experiment *registry_get(const registry *r, const char *key);
size_t registry_count(const registry *r);
/* The i-th experiment in key order (0 <= i < count). */
experiment *registry_at(const registry *r, size_t i);
/* +1 on every change of the live set: caches derived from the live set
 * key on it. */
uint64_t registry_version(const registry *r);

/* What a change of the live set came to. The HTTP layer maps these to
 * statuses (api_admin.c); nothing below it speaks HTTP. */
typedef enum {
    REGISTRY_OK = 0,
    REGISTRY_INVALID,     /* the definition does not parse, or breaks a rule of docs/config.md */
    REGISTRY_NOT_FOUND,   /* REG_UPDATE of a key that is not live */
    REGISTRY_EXISTS,      /* REG_CREATE of a key that is live */
    REGISTRY_CONFLICT,    /* a change the live experiment cannot take (variants of
                             a started one), or layers that would overlap */
    REGISTRY_NO_MEMORY,
    REGISTRY_UNAVAILABLE, /* the shared state (Redis) is unreachable: nothing changed */
    REGISTRY_STALE,       /* the experiment changed in the shared state since the
                             change was computed, and the change cannot be
                             reapplied on the new definition: nothing changed */
    REGISTRY_PRECONDITION,/* If-Match named another revision: nothing changed */
    REGISTRY_NOT_REPLICATED, /* made in Redis, but WAIT did not confirm
                                redis.wait_replicas replicas in time */
} registry_status;

/* Builds the experiment that would replace the live one of def's key
 * (borrowed) without installing it: validated, read-only fields filled,
 * revision = the live one's + 1 (1 when new), and checked against the
 * other live experiments' layers. src EXP_FROM_USER: the read-only fields
 * (created_at, started_at, stopped_at, allocation_version, promotions)
 * are carried over from the live version; EXP_FROM_STATE: def is a copy
 * of a live definition with one field changed. mode: REG_CREATE fails with
 * REGISTRY_EXISTS when the key is live, REG_UPDATE with REGISTRY_NOT_FOUND
 * when it is not, REG_UPSERT takes either. *out (owned by the caller) on
 * REGISTRY_OK; anything else comes with a sentence in err. */
typedef enum { REG_CREATE, REG_UPDATE, REG_UPSERT } registry_mode;
registry_status registry_prepare(const registry *r, json_t *def, exp_source src,
                                 registry_mode mode, const char *origin, experiment **out,
                                 char err[REGISTRY_ERR_MAX]);

/* The config file's experiments that should be written to the shared
 * state (docs/config.md, "The config file is a seed"): with seeds (the
 * shared {key: fingerprint of the file definition last imported}), each
 * file experiment that is not live, or whose fingerprint differs from its
 * seed; with seeds NULL (no shared state yet), only those not live. Each
 * is prepared as by registry_prepare (origin "file"); *out gets a new
 * array of n owned experiments and *fps their fingerprints (both NULL
 * when n is 0; free with registry_plan_free). Layers are checked across
 * the plan and the experiments that stay. */
registry_status registry_plan_config(const registry *r, const upshot_config *cfg, json_t *seeds,
                                     experiment ***out, uint32_t **fps, size_t *n,
                                     char err[REGISTRY_ERR_MAX]);
void registry_plan_free(experiment **plan, uint32_t *fps, size_t n);

/* Installs experiments (borrowed; retained here) as the shared state holds
 * them, each replacing the live one of its key. complete: list is the whole
 * shared set, and live experiments it lacks are dropped. seeds (borrowed,
 * may be NULL) replaces the kept fingerprints. Bumps registry_version when
 * anything changed, then rewrites the cached copy (a failure is logged:
 * the shared state has the change). 0, or -1 out of memory (nothing
 * changed). */
int registry_install(registry *r, experiment *const *list, size_t n, bool complete, json_t *seeds);

/* The fingerprints kept with the cached copy (borrowed): what state.json of
 * an older version recorded, imported into Redis with its experiments. */
json_t *registry_seeds(const registry *r);

/* Current UTC time as RFC 3339 ("2026-11-22T12:00:00Z"). */
void registry_now_rfc3339(char out[32]);

#endif

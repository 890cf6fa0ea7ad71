/* registry.h: the live set of experiments, and what keeps it across
 * restarts.
 *
 * The registry maps experiment keys to immutable experiments. Every change
 * (create, update, start, stop, promote, a config reload) goes through
 * registry_put, which fills the read-only fields (timestamps,
 * allocation_version), enforces the rules of docs/config.md (what a started
 * experiment may change, non-overlapping layers), swaps the new experiment
 * in, and rewrites data_dir/state.json atomically before returning. The
 * new set is written first and installed only when the write worked, so
 * whatever is live survives a restart, a change the client saw succeed is
 * on disk, and one it saw fail was not made.
 *
 * Lookups return borrowed pointers valid until the next change; code that
 * keeps one across an asynchronous wait takes a reference
 * (experiment_retain). */
#ifndef UPSHOT_REGISTRY_H
#define UPSHOT_REGISTRY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "experiment.h"

#define REGISTRY_ERR_MAX 320

typedef struct registry registry;

/* Loads data_dir/state.json when present. NULL with err on a corrupt file
 * (upshotd refuses to start rather than silently forget experiments). */
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
    REGISTRY_INVALID,   /* the definition does not parse, or breaks a rule of docs/config.md */
    REGISTRY_NOT_FOUND, /* REG_UPDATE of a key that is not live */
    REGISTRY_EXISTS,    /* REG_CREATE of a key that is live */
    REGISTRY_CONFLICT,  /* a change the live experiment cannot take (variants of
                           a started one), or layers that would overlap */
    REGISTRY_NO_MEMORY,
    REGISTRY_IO_ERROR,  /* state.json could not be written: the change was
                           not made (persist first, then install) */
} registry_status;

/* Applies a parsed config's experiments: each experiment whose file
 * definition changed since it was last loaded (or is new) replaces the
 * live one; the others stay as the admin API left them. All or nothing.
 * *changed gets the number replaced; the caller writes the audit entry.
 * Fails with REGISTRY_INVALID, REGISTRY_CONFLICT (layers), REGISTRY_NO_MEMORY
 * or REGISTRY_IO_ERROR, changing nothing. */
registry_status registry_apply_config(registry *r, const upshot_config *cfg, int *changed,
                                      char err[REGISTRY_ERR_MAX]);


/* Replaces (or creates) one experiment from def (borrowed). src
 * EXP_FROM_USER: the read-only fields (created_at, started_at, stopped_at,
 * allocation_version, promotions) are carried over from the live version;
 * EXP_FROM_STATE: def is a copy of a live definition with one field
 * changed. mode: REG_CREATE fails with REGISTRY_EXISTS when the key is
 * live, REG_UPDATE with REGISTRY_NOT_FOUND when it is not, REG_UPSERT
 * takes either. Anything but REGISTRY_OK comes with a sentence in err. */
typedef enum { REG_CREATE, REG_UPDATE, REG_UPSERT } registry_mode;
registry_status registry_put(registry *r, json_t *def, exp_source src, registry_mode mode,
                             const char *origin, char err[REGISTRY_ERR_MAX]);

/* Current UTC time as RFC 3339 ("2026-11-22T12:00:00Z"). */
void registry_now_rfc3339(char out[32]);

#endif

/* capping.h: learning an experiment's revenue cap, and capping the
 * visitors recorded before it.
 *
 * An experiment with capping.learn (docs/config.md) starts uncapped. Every
 * auto_promote_interval_s seconds, one instance (the holder of the lease
 * {upshot}:lease:capping) looks at each such experiment:
 *   1. no cap yet: its counters are read and, once min_converters visitors
 *      have converted, the cap is computed (analysis_learn_cap: mean + k
 *      sd of the converters' totals, pooled over variants and regions) and
 *      frozen in the definition's read-only field capping_learned
 *      ({value, learned_at, converters, mean, sd, recapped: false}) through
 *      the shared state, audited as "learn_cap". From then on every
 *      instance records orders under it (record.lua reads the cap from
 *      Redis, so an instance that has not heard of it yet caps alike once
 *      any instance has recorded under it);
 *   2. cap learned, not yet applied to earlier visitors: recap.lua runs
 *      over every visitor shard (store_recap), bringing the visitors whose
 *      totals exceeded the cap before it existed under it, the corrections
 *      counted on that day; then capped_learned.recapped becomes true
 *      (audited as "recap").
 * Both steps are idempotent, so an instance that dies halfway leaves the
 * work to the next holder of the lease. Until recapped is true the
 * results say so (capping.recapped false): the capped sums may still
 * count some early visitor uncapped. */
#ifndef UPSHOT_CAPPING_H
#define UPSHOT_CAPPING_H

struct upshotd;
typedef struct capping capping;

/* Starts the timer on d's loop (interval read once). NULL: out of memory. */
capping *capping_start(struct upshotd *d);

/* Stops the timer and frees; NULL does nothing. Call after the worker and
 * the store are freed, as autopromote_free: what was in flight has ended. */
void capping_free(capping *c);

#endif

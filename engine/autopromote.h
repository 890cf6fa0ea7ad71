/* autopromote.h: the automatic promotion pass.
 *
 * Every auto_promote_interval_s seconds, each running experiment with
 * auto_promote enabled, one after the other, has its counters read from
 * Redis and the one promotion rule (engine/core/decide.h, through
 * analysis.h) applied per region on the worker thread (worker.h); a
 * region whose recommendation is to promote gets the promotion, back on
 * the loop, through the registry and the audit log like one made by
 * hand. Every change of a region's recommendation is audited too, so the
 * log says why a promotion did or did not happen. The last recommendation per
 * (experiment, region) lives here, in memory: after a restart the first
 * pass audits the current ones again.
 *
 * The pass also runs the circuit breaker of every running experiment that
 * has one on (auto_promote or not): a region whose breaker trips gets the
 * trip recorded in the shared state, with its evidence, and its promotion
 * withdrawn (docs/promotion.md, "The circuit breaker"). */
#ifndef UPSHOT_AUTOPROMOTE_H
#define UPSHOT_AUTOPROMOTE_H

struct upshotd;
typedef struct autopromote autopromote;

/* Starts the timer on d's event loop, at d's configured interval (read
 * once: a reload does not change it). NULL when out of memory. */
autopromote *autopromote_start(struct upshotd *d);

/* Stops the timer and frees; NULL does nothing. Call after the worker
 * and the store are freed: the decision and the Redis read still in
 * flight have then ended (their completions only schedule the next step
 * of the pass, which no longer runs). */
void autopromote_free(autopromote *a);

#endif

/* bandit.h: the updater of bandit experiments (docs/config.md,
 * "allocation"; docs/operations.md, "Bandit updates").
 *
 * One instance at a time (the holder of the lease {upshot}:lease:bandit)
 * looks every 30 seconds for running bandit experiments whose
 * bandit_state.next_update has come (or that have none yet). For each, one
 * at a time: the counters are read and, on the worker, every targeted
 * region's cumulative randomized counts go through stats_bandit_update_run
 * (seed: bandit_plan_seed); back on the loop, the new bandit_state (weights,
 * layout moved from the previous one with bandit_layout_apply, period,
 * history, p_best, waiting, next_update) is written through the shared
 * state's compare-and-set, audited as actor "bandit", action
 * "bandit_update", with every input needed to recompute it.
 *
 * An update that fails (Redis down, a concurrent change) writes nothing:
 * the weights in force stay, next_update stays in the past, and the next
 * tick tries again. The admin endpoints run the same update on demand
 * (POST /v1/experiments/{key}/bandit/update) and show the state
 * (GET /v1/experiments/{key}/bandit). */
#ifndef UPSHOT_BANDIT_H
#define UPSHOT_BANDIT_H

#include "api.h"

typedef struct bandit bandit;

/* Starts the timer on d's loop. NULL: out of memory. */
bandit *bandit_start(upshotd *d);

/* Stops the timer and frees; NULL does nothing. Call after the worker and
 * the store are freed (as capping_free): what was in flight has ended. */
void bandit_free(bandit *b);

/* GET /v1/experiments/{key}/bandit and POST .../bandit/update. */
api_handler api_bandit_get, api_bandit_update;

#endif

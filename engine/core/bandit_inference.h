/* bandit_inference.h: the statistics of a bandit experiment's periods.
 *
 * A bandit changes each region's weights at every update; the counters
 * keep each period's cohort apart (results.h, period table). This module
 * turns a region's cohorts into what the results body shows and what the
 * promotion rules decide on (docs/stats.md, "Bandit periods";
 * docs/promotion.md, "Bandit experiments"):
 *   - the weights in force in each period, from the experiment's
 *     bandit_state (period 0: the starting weights);
 *   - per arm the period-weighted and naive estimates of the bandit's
 *     metric and the weighted differences against control
 *     (stats_periods_analyze);
 *   - SRM against the visitors each period's weights lead one to expect
 *     (stats_periods_srm_run);
 *   - decide_run's inputs: one look of equivalent counts per arm carrying
 *     the period-weighted figures, and that SRM.
 * Pure; allocates only the JSON it returns. */
#ifndef UPSHOT_BANDIT_INFERENCE_H
#define UPSHOT_BANDIT_INFERENCE_H

#include <jansson.h>
#include <stdbool.h>

#include "analysis.h"
#include "decide.h"
#include "experiment.h"
#include "results.h"

/* The weights in force in period `period` of region: from the state's
 * current period or history, the starting weights for period 0. false
 * when the state no longer knows that period (summarised history). */
bool bandit_period_weights(const experiment *e, const char *region, int period, double *w);

/* decide_run's inputs for region r of a bandit experiment: look[k] gets
 * each arm's counts as an equivalent sample of its period-weighted
 * figures on the goal metric (stats_periods_effective: visitors, and
 * conversions, orders, decliners and revenue sums at the weighted rates),
 * capped sums when capped; *srm the SRM against the weights in force.
 * 0, or -1 when the region has no period data (the caller then uses the
 * daily looks). */
int bandit_decide_inputs(const results_table *t, const experiment *e, int r, bool capped,
                         decide_counts *look, decide_srm *srm);

/* The results body's "bandit" object (docs/api.md); region_filter may be
 * NULL. A new reference. */
json_t *bandit_results_json(const results_table *t, const experiment *e,
                            const analysis_settings *cfg, bool capped, const char *region_filter);

#endif

/* cli_bandit.h: what `upshot show` says about a bandit experiment.
 *
 * A bandit experiment's results body carries a `bandit` object (docs/api.md,
 * "The bandit object"): its settings, the next update time, and per region
 * the weights in force, their history by period, the probability of being
 * best, the share of buckets that changed owner, whether the region still
 * waits for the minimum sample, the period-weighted and naive estimates and
 * the SRM check against the weights in force.
 *
 * cli_bandit_view copies that object into the view document unchanged, so
 * `show --json` passes every number through as upshotd computed it, and
 * adds nothing it would have to compute; cli_bandit_render prints it for
 * people. Nothing here is a statistic: the bandit's numbers come from
 * upshotd (stats_bandit_update_run and the period inference). The
 * rendering of a region whose fields are missing prints "-" for them, so
 * an upshotd that has not written a field yet still shows the rest.
 */
#ifndef UPSHOT_CLI_BANDIT_H
#define UPSHOT_CLI_BANDIT_H

#include <jansson.h>
#include <stdio.h>

/* The view's "bandit" member for a results body: a new reference to a deep
 * copy of its "bandit" object, or NULL when the experiment is not a bandit
 * (no such object, or not an object). The caller owns the result. */
json_t *cli_bandit_view(const json_t *results);

/* Prints the bandit section: the settings and next update, then for every
 * region (only `region` when not NULL) the weights with p_best and the
 * estimates, "waiting for N visitors per arm (fewest: M)" when waiting, and
 * a chart of the weights by period. Every line fits width columns (at most
 * 100). */
void cli_bandit_render(const json_t *bandit, const char *region, FILE *f, int color, int width);

#endif

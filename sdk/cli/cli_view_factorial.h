/* cli_view_factorial.h: the factorial sections of `upshot show`.
 *
 * A factorial experiment's results carry upshotd's `factorial` object
 * (docs/api.md): the models of main effects and two-way interactions,
 * the factor-level comparisons and the power of the interaction tests.
 * cli_view_build passes it through as the view's "factorial" field, with
 * each region's promotion as upshotd decided it ("factorial_decision");
 * this module prints them for people: the effects tables with the joint
 * interaction tests, an interaction chart per pair of factors, the
 * combinations and factor levels of each region with the promoted one
 * marked, and the power line. Nothing here computes a statistic.
 */
#ifndef UPSHOT_CLI_VIEW_FACTORIAL_H
#define UPSHOT_CLI_VIEW_FACTORIAL_H

#include <jansson.h>
#include <stdio.h>

/* Writes the factorial sections of view (a cli_view_build document), every
 * line at most width columns; nothing when the view has no "factorial".
 * The view's "metric" picks the model (conversion: the logistic model on
 * the log-odds; revenue: least squares in money per visitor; aov has no
 * model and reads the goal's), "region_filter" the scope, "alpha" which
 * p-values are marked. */
void cli_view_render_factorial(const json_t *view, FILE *f, int color, int width);

#endif

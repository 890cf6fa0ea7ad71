/* stats.h -- the statistics library in one include.
 *
 * Reading order: stats_core.h (values that may be undefined, log-space
 * p-values, stats_init), stats_dist.h (tails), then one header per
 * quantity: stats_prop.h (conversion, declines), stats_revenue.h (revenue
 * per visitor, AOV, the learned cap), stats_cuped.h (covariate-adjusted
 * revenue), stats_srm.h, stats_bayes.h, stats_msprt.h,
 * stats_adjust.h, stats_power.h, stats_analyze.h, which runs them all
 * for one experiment, and stats_factorial.h (the models of a factorial
 * experiment). Formulas and references: docs/stats.md.
 */
#ifndef UPSHOT_STATS_H
#define UPSHOT_STATS_H

#include "stats_adjust.h"
#include "stats_analyze.h"
#include "stats_bayes.h"
#include "stats_core.h"
#include "stats_cuped.h"
#include "stats_dist.h"
#include "stats_factorial.h"
#include "stats_msprt.h"
#include "stats_power.h"
#include "stats_prop.h"
#include "stats_revenue.h"
#include "stats_srm.h"

#endif

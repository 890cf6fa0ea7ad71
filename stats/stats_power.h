/* stats_power.h -- sample size and days remaining for a conversion test.
 *
 * Why: "how long until this test is conclusive?" is the question the
 * growth team asks most.
 *
 * Per-arm sample size for rates p0 (baseline) and p1 (= p0 (1 + relative
 * MDE)), two-sided alpha and power 1 - beta, with a = z_{1-alpha/2},
 * b = z_{power}, d = |p1 - p0|, pbar = (p0 + p1)/2:
 *
 *   pooled   (R's power.prop.test, strict = FALSE):
 *            n = ( a sqrt(2 pbar (1 - pbar)) + b sqrt(p0 q0 + p1 q1) )^2 / d^2
 *   unpooled (the textbook/Evan Miller form):
 *            n = (a + b)^2 (p0 q0 + p1 q1) / d^2
 *
 * both rounded up to whole visitors. The pooled form is the default
 * (it matches the pooled z-test that reports the result); the unpooled one
 * reproduces calculators that use it (p0 = 0.34,
 * d = 0.003, power 0.85 gives 448,671.5 -> 448,672 unpooled and
 * 448,674.4 -> 448,675 pooled; the published total 897,348 is the pooled
 * figure rounded to nearest).
 *
 * A decrease (p1 < p0, a negative MDE) uses the same formulas with
 * d = |p1 - p0|; the result differs from the increase of the same size
 * only through p1 q1 (0.34 -> 0.337 needs 446,759.0 pooled per arm,
 * against 448,674.4 for 0.34 -> 0.343).
 *
 * Days remaining: each arm receives w_i / sum(w) of the daily traffic;
 * days = ceil( max_i (n_needed - n_i)+ / (traffic * w_i / sum w) ).
 */
#ifndef UPSHOT_STATS_POWER_H
#define UPSHOT_STATS_POWER_H

#include "stats_core.h"

#define STATS_DEFAULT_POWER 0.8

/* Unrounded per-arm n (NaN on invalid input: rates outside (0,1), equal
 * rates, alpha or power outside (0,1)). */
double stats_power_n_exact(double p0, double p1, double alpha, double power, bool pooled);

/* Rounded up, with reasons when undefined. */
stats_value stats_power_n_per_arm(double p0, double p1, double alpha, double power, bool pooled);

/* Days until every arm has n_needed visitors at visitors_per_day in total. */
stats_value stats_power_days_remaining(double n_needed, const uint64_t *n, const double *w,
                                       size_t k, double visitors_per_day);

#endif

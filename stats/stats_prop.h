/* stats_prop.h -- proportions: conversion rate (and the decline-rate
 * guardrail, which is the same kind of quantity) per arm and treatment vs
 * control.
 *
 * Why: conversion is the goal metric of an upsell offer, and "declined the
 * offer" is its guardrail; both are counts of unique visitors out of n.
 *
 * Formulas (z = normal quantile at 1 - alpha/2; q = 1 - p):
 *   Wilson interval   (x + z^2/2)/(n + z^2) +- z sqrt(x(n-x)/n + z^2/4)/(n + z^2)
 *   z-test            z = (p1 - p0) / sqrt(pbar qbar (1/n0 + 1/n1)), pbar pooled
 *   Wald interval     (p1 - p0) +- z sqrt(p0 q0/n0 + p1 q1/n1)
 *   relative lift     p1/p0 - 1, Var = p1q1/(n1 p0^2) + p1^2 p0q0/(n0 p0^4)
 *                     (delta method), normal interval and z = lift/se
 *   independence      Pearson chi-square of the 2 x k table (converted,
 *                     not converted) x arm, no continuity correction,
 *                     df = k' - 1 over the k' arms with visitors.
 * These match R's prop.test(correct = FALSE) (its p-value and its Wilson
 * confidence interval) and chisq.test(correct = FALSE).
 */
#ifndef UPSHOT_STATS_PROP_H
#define UPSHOT_STATS_PROP_H

#include "stats_core.h"

/* Wilson score interval for x successes out of n at level 1 - alpha.
 * Undefined when n = 0. */
stats_interval stats_wilson_interval(uint64_t n, uint64_t x, double alpha);

typedef struct stats_prop_result {
    stats_value diff;        /* p1 - p0 */
    stats_interval diff_ci;  /* Wald, unpooled */
    stats_value z;           /* pooled two-proportion z */
    stats_pvalue p;          /* two-sided, from z */
    stats_value lift;        /* p1 / p0 - 1 */
    stats_value lift_se;     /* delta method */
    stats_interval lift_ci;  /* lift +- z se */
    stats_pvalue lift_p;     /* two-sided, z = lift / lift_se */
} stats_prop_result;

/* Treatment (n1, x1) against control (n0, x0). alpha <= 0 means 0.05.
 * Returns 0 when every field is defined, 1 when some are undefined (each
 * with its reason), -1 on invalid input (x > n). */
int stats_prop_compare(uint64_t n0, uint64_t x0, uint64_t n1, uint64_t x1, double alpha,
                       stats_prop_result *out);

typedef struct stats_chisq_result {
    stats_value statistic;
    stats_value df;
    stats_pvalue p;
} stats_chisq_result;

/* Pearson chi-square test of independence of conversion and arm across k
 * arms (n[i] visitors, x[i] converters). Arms with no visitors are left
 * out. Undefined with fewer than two such arms or when nobody (or
 * everybody) converted. */
int stats_prop_chisq_independence(const uint64_t *n, const uint64_t *x, size_t k,
                                  stats_chisq_result *out);

/* Normal quantile 1 - alpha/2, alpha <= 0 or >= 1 meaning 0.05. */
double stats_prop_zcrit(double alpha);

#endif

/* stats_revenue.h -- revenue per visitor (Welch t-test) and average order
 * value (delta method) from sufficient statistics.
 *
 * Why: an upsell that converts less but sells pricier bundles can still
 * earn more; revenue per visitor decides, AOV explains.
 *
 * Inputs per arm: n visitors, S = sum of revenue, Q = sum of squared
 * revenue over visitors (non-converters contribute 0), x converters.
 *
 *   mean = S/n, var = (Q - S^2/n) / (n - 1)       (unbiased)
 *   Welch: se^2 = v0/n0 + v1/n1,
 *          df = se^4 / ((v0/n0)^2/(n0-1) + (v1/n1)^2/(n1-1)),
 *          t = (m1 - m0)/se, interval (m1 - m0) +- t_{df,1-alpha/2} se
 *   relative lift m1/m0 - 1 with delta-method
 *          Var = v1/(n1 m0^2) + m1^2 v0/(n0 m0^4), t-quantile with the
 *          Welch df (this reproduces GrowthBook's published example).
 *   AOV = S/x. By the delta method for the ratio mean(R)/mean(C) with
 *          C the conversion indicator (and R = 0 whenever C = 0), the
 *          variance reduces to (Q/x - (S/x)^2) / x: the spread of order
 *          values among converters over x. Normal interval for the
 *          difference.
 *
 * Cancellation: Q - S^2/n subtracts two numbers of size n E[R^2]. When
 * order values are nearly constant and most visitors convert, the relative
 * error of the variance is about eps * Q / (Q - S^2/n); it is computed as
 * fma(-S, S/n, Q) to save one rounding. No representation of (n, S, Q) can
 * do better; a difference that is negative by more than 1e-9 Q is reported
 * as inconsistent input, a smaller one is rounding and is clamped to 0.
 */
#ifndef UPSHOT_STATS_REVENUE_H
#define UPSHOT_STATS_REVENUE_H

#include "stats_core.h"

typedef struct stats_welch_result {
    stats_value diff;        /* m1 - m0 */
    stats_value se;
    stats_value t;
    stats_value df;          /* Welch-Satterthwaite */
    stats_pvalue p;          /* two-sided */
    stats_interval diff_ci;  /* t-quantile */
    stats_value lift;        /* m1/m0 - 1 */
    stats_interval lift_ci;
    stats_pvalue lift_p;
} stats_welch_result;

/* Mean and unbiased variance from (n, S, Q). Undefined variance for n < 2;
 * both undefined for n = 0; -1 for inconsistent input (Q < S^2/n). */
int stats_revenue_moments(double n, double sum, double sumsq, stats_value *mean,
                          stats_value *var);

/* Welch t-test of treatment (n1, S1, Q1) against control. */
int stats_welch(double n0, double s0, double q0, double n1, double s1, double q1,
                double alpha, stats_welch_result *out);

typedef struct stats_aov_result {
    stats_value aov0, aov1;  /* S/x per arm */
    stats_value se0, se1;    /* delta-method standard errors */
    stats_value diff;        /* aov1 - aov0 */
    stats_interval diff_ci;  /* normal */
    stats_pvalue p;          /* two-sided, normal */
} stats_aov_result;

/* Delta-method AOV for one arm: value and standard error. */
void stats_aov_arm(double x, double sum, double sumsq, stats_value *aov, stats_value *se);

int stats_aov_compare(double x0, double s0, double q0, double x1, double s1, double q1,
                      double alpha, stats_aov_result *out);

/* Learned revenue cap: mean + k * SD of per-visitor revenue totals among
 * converting visitors, from (x converters, S, Q) pooled over the arms
 * (the arms must be pooled: a cap learned per arm would cap each arm
 * differently and bias the comparison). SD is the unbiased one, (n - 1).
 *
 * Why mean + k SD and not a quantile: sufficient statistics are all the
 * engine keeps, and no quantile can be read from them. With k = 3 a
 * normal order-value distribution loses 0.13% of its orders to the cap;
 * revenue is right-skewed, so more orders are capped, which is the point
 * (a few whales dominate the variance).
 *
 * k <= 0 or NaN: STATS_CAP_DEFAULT_K. Undefined below min_converters
 * (<= 0: STATS_CAP_MIN_CONVERTERS; never below 2): the SD of fewer orders
 * moves too much for a cap that is frozen once learned. Undefined, never
 * 0, for invalid or inconsistent sums. The engine freezes the value and
 * applies it at record time, so capped sums stay exact. */
#define STATS_CAP_DEFAULT_K 3.0
#define STATS_CAP_MIN_CONVERTERS 100.0
stats_value stats_revenue_learned_cap(double converters, double sum, double sumsq, double k,
                                      double min_converters);

#endif

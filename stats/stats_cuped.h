/* stats_cuped.h -- CUPED / regression-adjusted revenue per visitor from
 * sufficient statistics.
 *
 * Why: revenue per visitor is noisy; most of the noise is who the visitor
 * already was (a full cart buys more). Subtracting theta * (x - mean x)
 * for a covariate x fixed before the offer is shown removes the part of
 * revenue that x predicts, leaves the treatment effect unbiased, and
 * shrinks its variance by about corr(x, y)^2 (Deng, Xu, Kohavi, Walker
 * 2013). Upshot's covariate is the cart value at exposure, 0 for visitors
 * without one (docs/stats.md says why 0 keeps the estimate unbiased).
 *
 * Inputs per arm (all sums over the arm's visitors):
 *
 *   n, Sy = sum y, Syy = sum y^2, Sx = sum x, Sxx = sum x^2, Sxy = sum x y
 *
 * Centred per arm: SSyy = Syy - Sy^2/n, SSxx = Sxx - Sx^2/n,
 * SSxy = Sxy - Sx Sy/n (computed with fma, like stats_revenue).
 *
 * theta (STATS_CUPED_WITHIN, the default): pooled over the two arms being
 * compared, from deviations around each arm's own means:
 *
 *   theta = (SSxy_0 + SSxy_1) / (SSxx_0 + SSxx_1)
 *
 * This is the common slope of lm(y ~ arm + x) on the two arms' raw data,
 * so the adjusted difference below equals R's coefficient on arm exactly.
 * Two arms, not all k: a comparison then depends only on its own two arms
 * (as the Welch test does), so a broken third arm, or one whose effect
 * changes the slope, cannot move another arm's result; the precision lost
 * by not pooling more arms is in theta only, an O(1/n) effect. Within-arm,
 * not total, deviations: the total covariance also contains the product
 * of the two arms' mean differences in x and y, i.e. the treatment effect
 * itself leaks into theta.
 *
 * Adjusted means, on the revenue scale (xbar = pooled mean of x over the
 * two arms):  m_i = Sy_i/n_i - theta (Sx_i/n_i - xbar)
 * Difference: d = m_1 - m_0, with per-arm adjusted variances
 *   v_i = (SSyy_i - 2 theta SSxy_i + theta^2 SSxx_i) / (n_i - 1),
 *   se^2 = v_0/n_0 + v_1/n_1, Welch df, t quantile (as stats_welch).
 * Relative lift: m_1/m_0 - 1, full delta method over the four means
 * (ybar_0, xbar_0, ybar_1, xbar_1) with theta held fixed, xbar included
 * (formula in docs/stats.md); t with the Welch df.
 * Variance reduction: 1 - se^2 / (unadjusted Welch se^2).
 * Also, the homoscedastic ANCOVA standard error and p of the same
 * estimate: what summary(lm(y ~ arm + x)) prints, df n_0 + n_1 - 3.
 *
 * STATS_CUPED_GBSTATS reproduces GrowthBook's gbstats: theta from the
 * total (not within-arm) covariance of the two arms together, lift =
 * d / (control's unadjusted mean), and gbstats's simplified variance of
 * that lift, which replaces ybar_1 - theta (xbar_1 - xbar_0) in the
 * derivative by ybar_1. For comparison with their published numbers.
 *
 * theta is 0 (defined, with note set) when the covariate has no spread
 * within the arms: no adjustment is possible and every figure equals the
 * unadjusted one. Otherwise undefined values carry a reason, as in the
 * rest of stats/.
 */
#ifndef UPSHOT_STATS_CUPED_H
#define UPSHOT_STATS_CUPED_H

#include "stats_core.h"

/* One arm's sufficient statistics. */
typedef struct stats_cuped_arm {
    double n;    /* visitors */
    double sy;   /* sum of y (revenue per visitor) */
    double syy;  /* sum of y^2 */
    double sx;   /* sum of x (covariate) */
    double sxx;  /* sum of x^2 */
    double sxy;  /* sum of x * y */
} stats_cuped_arm;

typedef enum stats_cuped_mode {
    STATS_CUPED_WITHIN = 0,  /* within-arm pooled theta, full delta method */
    STATS_CUPED_GBSTATS,     /* gbstats's theta and relative variance */
} stats_cuped_mode;

typedef struct stats_cuped_result {
    stats_value theta;
    const char *theta_note;  /* static; non-NULL when theta was set to 0 */
    stats_value mean0, mean1;  /* adjusted means (centred, revenue scale) */
    stats_value diff;        /* mean1 - mean0 */
    stats_value se;
    stats_value df;          /* Welch-Satterthwaite on adjusted variances */
    stats_pvalue p;          /* two-sided, t */
    stats_interval diff_ci;
    stats_value lift;        /* relative; see the mode */
    stats_interval lift_ci;
    stats_pvalue lift_p;
    stats_value variance_reduction;  /* 1 - se^2 / unadjusted se^2 */
    /* homoscedastic ANCOVA, as lm(y ~ arm + x); STATS_CUPED_WITHIN only */
    stats_value se_ols;
    stats_pvalue p_ols;      /* t with n_0 + n_1 - 3 df */
} stats_cuped_result;

/* Compares treatment c1 with control c0. alpha <= 0 or >= 1: 0.05.
 * Returns 0 when every field is defined (se_ols/p_ols aside in gbstats
 * mode), 1 when some are undefined (reasons in the fields), -1 for
 * invalid or inconsistent sums (everything undefined). */
int stats_cuped(const stats_cuped_arm *c0, const stats_cuped_arm *c1, stats_cuped_mode mode,
                double alpha, stats_cuped_result *out);

/* Sets every field of out undefined with why (static). */
void stats_cuped_undef(stats_cuped_result *out, const char *why);

#endif

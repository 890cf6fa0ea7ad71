/* stats_periods.h -- arms compared across periods of changing weights.
 *
 * Why: a bandit moves traffic between arms while the experiment runs. If
 * the arms' rates drift over time (weekday, season, a campaign) while the
 * weights move, the pooled rate of an arm mixes the periods in its own
 * proportions: an arm that got most of its visitors in a good week looks
 * better than it is (Simpson's paradox; Kohavi, Tang & Xu, "Trustworthy
 * Online Controlled Experiments", 2020, on ramp-ups that change the
 * allocation; GrowthBook's multi-armed bandit documentation weights
 * periods the same way). Within one period every arm's visitors arrived
 * under the same weights at the same time, so comparing arms inside a
 * period is fair; the period-weighted estimate combines those within-
 * period figures with the SAME weights for every arm:
 *
 *   w_p   = N_p / sum_q N_q   (N_p: the region's visitors of period p, all arms)
 *   m_i   = sum_p w_p mean_{i,p}
 *   V_i   = sum_p w_p^2 s^2_{i,p} / n_{i,p}
 *
 * with mean_{i,p} the arm's rate (conversions / visitors) or revenue per
 * visitor in period p, and s^2 the within-period variance: p (1 - p) for a
 * rate, the sample variance (n - 1 denominator) for revenue. Only periods
 * in which every arm has at least STATS_PERIODS_MIN_N visitors enter
 * (the weights are renormalised over them), so every arm is weighted
 * alike; the others still count in the naive figures and in SRM. The
 * difference of arm t and control c is m_t - m_c with variance V_t + V_c
 * (the periods' samples are independent), a normal CI and a two-sided
 * p-value: a fixed-sample figure, reported for reading; decisions use the
 * always-valid test on the same estimate (engine/core/decide.h, via
 * stats_periods_effective).
 *
 * The naive figure is the pooled one, sum over periods of the sums over
 * the visitors, next to it for comparison.
 *
 * SRM under a bandit: arm i's expected visitors are
 * sum_p N_p theta_{i,p}, theta_{i,p} the weights in force in period p;
 * stats_periods_srm runs the chi-square of the total against that and the
 * sequential test (stats_srm.h) as the product over periods of each
 * period's Dirichlet-multinomial Bayes factor against its own weights:
 * periods follow each other in time and each factor has mean 1 under its
 * weights, so the running product is a test martingale (Ville's bound
 * holds over the period boundaries looked at).
 *
 * Pure: GSL through stats_dist/stats_srm only, no allocation beyond what
 * the caller passes. */
#ifndef UPSHOT_STATS_PERIODS_H
#define UPSHOT_STATS_PERIODS_H

#include "stats_core.h"

/* Fewest visitors an arm needs in a period for the period to enter the
 * weighted figures (a sample variance needs two). */
#define STATS_PERIODS_MIN_N 2

typedef enum {
    STATS_PERIODS_RATE, /* sum = conversions of 0/1 visitors */
    STATS_PERIODS_MEAN  /* sum, sumsq = revenue per visitor */
} stats_periods_kind;

/* One arm's cohort in one period. */
typedef struct stats_periods_cell {
    uint64_t n;   /* visitors first exposed in the period */
    double sum;   /* conversions, or revenue sum over those visitors */
    double sumsq; /* revenue sum of squares (ignored for a rate) */
} stats_periods_cell;

typedef struct stats_periods_estimate {
    stats_value estimate; /* the rate or mean */
    stats_value se;       /* its standard error */
} stats_periods_estimate;

typedef struct stats_periods_arm {
    stats_periods_estimate weighted, naive;
    stats_value diff;       /* weighted: arm minus control (undefined for control) */
    stats_interval ci;      /* normal interval at 1 - alpha */
    stats_pvalue p;         /* two-sided */
} stats_periods_arm;

/* cells[p * k + i] for nperiods periods (any order) and k >= 2 arms;
 * control < k; alpha <= 0: STATS_DEFAULT_ALPHA. Fills out[k]; *used gets
 * the number of periods that entered the weighted figures (may be NULL).
 * 0, or -1 on bad arguments. */
int stats_periods_analyze(const stats_periods_cell *cells, size_t nperiods, size_t k,
                          size_t control, stats_periods_kind kind, double alpha,
                          stats_periods_arm *out, size_t *used);

/* What an equivalent sample of one arm would look like: the weighted mean
 * m and variance V above as n_eff = min(visitors, s2_mix / V) visitors
 * with mean m and second moment m2 (s2_mix = m2 - m^2 is the variance of
 * the period-weighted mixture), so a test that takes counts (mean and
 * plug-in variance s2/n) sees m and, up to the cap, V. The cap keeps the
 * equivalent sample no larger than the real one (the conservative side).
 * 0, or -1 when the arm has no usable period or zero variance (then out is
 * the pooled sample). */
typedef struct stats_periods_equiv {
    double n_eff, mean, m2;
} stats_periods_equiv;
int stats_periods_effective(const stats_periods_cell *cells, size_t nperiods, size_t k, size_t arm,
                            stats_periods_kind kind, stats_periods_equiv *out);

typedef struct stats_periods_srm {
    double expected[16];     /* per arm (k <= 16) */
    stats_value chi2;
    stats_pvalue p;          /* chi-square of the totals against expected */
    stats_pvalue p_always_valid; /* sequential, product over periods */
    bool flagged;            /* p_always_valid < alpha */
} stats_periods_srm;

/* n[p * k + i]: visitors of arm i first exposed in period p; weights[p * k
 * + i] the weights in force in period p (positive, normalised here);
 * 2 <= k <= 16. alpha <= 0: STATS_SRM_THRESHOLD; c <= 0: the default
 * concentration. 0, 1 when there are no visitors (nothing flagged), -1 on
 * bad arguments. */
int stats_periods_srm_run(const uint64_t *n, const double *weights, size_t nperiods, size_t k,
                          double c, double alpha, stats_periods_srm *out);

#endif

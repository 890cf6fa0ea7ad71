/* stats_msprt.h -- always-valid p-values and confidence intervals for the
 * difference of two conversion rates: the mixture sequential probability
 * ratio test (mSPRT) of Johari, Koomen, Pekelis & Walsh, "Peeking at A/B
 * Tests", KDD 2017.
 *
 * Why: the growth team looks at the dashboard every day. A fixed-horizon
 * p-value checked daily for four weeks declares a winner in 25-35% of A/A
 * tests; the mSPRT p-value may be watched continuously and still keeps
 * P(ever below alpha | no effect) <= alpha.
 *
 * At each look (cumulative counts), with d = p1 - p0 and the plug-in
 * variance V = p0 q0/n0 + p1 q1/n1, the mixture likelihood ratio under a
 * N(0, tau^2) prior on the true difference is
 *
 *   Lambda = sqrt(V / (V + tau^2)) * exp( tau^2 d^2 / (2 V (V + tau^2)) )
 *
 * and p_t = min(1, 1/Lambda_t), carried as a running minimum over looks
 * (the sequence is then monotone, as an always-valid p-value must be).
 * Everything is done with ln Lambda, so p = 1e-500 is representable.
 *
 * The matching confidence sequence is the set of d0 with
 * Lambda(d - d0) < 1/alpha:
 *
 *   d +- sqrt( V (V + tau^2) / tau^2 * (2 ln(1/alpha) + ln((V + tau^2)/V)) )
 *
 * intersected over looks (the running intersection is also valid).
 *
 * tau^2: the default STATS_MSPRT_DEFAULT_TAU2 = 1e-4, i.e. a prior sd of
 * the true difference of 1 percentage point. Upsell offers typically take
 * 3-15% of the visitors who see them and worthwhile variants move that by
 * 5-20% relative, i.e. 0.2-2 points; Johari et al. show the test is most
 * powerful when tau is of the order of the effects one expects, and
 * insensitive to a factor of a few either way. Set it per experiment when
 * the base rate is far from that range.
 */
#ifndef UPSHOT_STATS_MSPRT_H
#define UPSHOT_STATS_MSPRT_H

#include "stats_core.h"

#define STATS_MSPRT_DEFAULT_TAU2 1e-4

/* ln Lambda for an observed difference d with variance V > 0. */
double stats_msprt_log_lambda(double d, double v, double tau2);

/* ln Lambda+ of the one-sided mixture: the same likelihood ratio mixed
 * over a half-normal prior on positive differences only (2 N(0, tau^2)
 * restricted to theta > 0), for "is the difference greater than 0?":
 *
 *   Lambda+ = 2 Phi(z) Lambda,   z = d tau / sqrt(V (V + tau^2))
 *
 * (the two-sided Lambda times twice the posterior probability that
 * theta > 0). Under theta = 0 it is a nonnegative martingale with mean 1
 * over cumulative looks, and under theta < 0 a supermartingale, so by
 * Ville's inequality P(ever Lambda+ >= 1/alpha | theta <= 0) <= alpha:
 * an always-valid one-sided test (the same normal approximation as the
 * two-sided mSPRT). It spends no evidence on the other direction, so
 * against an effect of the sign it looks for it crosses 1/alpha sooner
 * than Lambda (up to a factor 2), and against the opposite sign it stays
 * below 1. The circuit breaker (engine/core/decide.h) uses it for "the
 * variant's decline rate is higher" and "the variant's AOV is lower". */
double stats_msprt_log_lambda_greater(double d, double v, double tau2);

/* One look: p = min(1, 1/Lambda). Undefined when an arm has no visitors
 * or V = 0 (both rates 0 or 1). tau2 <= 0 means the default. */
stats_pvalue stats_msprt_pvalue(uint64_t n0, uint64_t x0, uint64_t n1, uint64_t x1,
                                double tau2);

/* One look: the always-valid interval for p1 - p0 at level 1 - alpha. */
stats_interval stats_msprt_ci(uint64_t n0, uint64_t x0, uint64_t n1, uint64_t x1,
                              double tau2, double alpha);

typedef struct stats_msprt_result {
    stats_pvalue p;           /* running minimum over looks */
    stats_interval ci;        /* intersection over looks */
    stats_interval ci_last;   /* the last usable look's own interval */
    stats_value log_lambda;   /* ln Lambda at the last usable look */
    size_t looks;             /* looks given */
    size_t looks_used;        /* looks where the statistic was defined */
} stats_msprt_result;

/* Runs over n_looks cumulative looks of a k-arm experiment, comparing arm
 * `variant` with arm 0. look_n and look_x hold n_looks * k counts laid out
 * [look * k + arm]. Looks must be cumulative (non-decreasing); a look that
 * decreases is rejected (returns -1). */
int stats_msprt_run(const uint64_t *look_n, const uint64_t *look_x, size_t n_looks, size_t k,
                    size_t variant, double tau2, double alpha, stats_msprt_result *out);

#endif

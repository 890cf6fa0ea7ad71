/* stats_srm.h -- sample ratio mismatch: are visitors split as configured?
 *
 * Why: if the assignment, a redirect or a bot filter drops visitors from
 * one arm, every other number is biased. Pearson's chi-square goodness of
 * fit of the observed visitors against the *configured* weights (any
 * positive weights, normalised to sum 1), df = k - 1. Flagged at
 * p < STATS_SRM_THRESHOLD (0.001, the industry convention: strict enough
 * that a daily check over a month rarely raises a false alarm). With fewer
 * than STATS_SRM_MIN_VISITORS in total the test is reported but never
 * flagged, since expected counts below 5 make the chi-square approximation
 * unreliable. Equivalent to R's chisq.test(n, p = w / sum(w)).
 *
 * The chi-square test is a fixed-sample test: run at every daily look at
 * p < 0.001 it raises false alarms far more often than 0.1% over a month
 * (about ten times as often in the promotion simulation). For an alarm
 * that may be checked at every look, stats_srm_sequential() gives the
 * sequential test of Lindon & Malek ("Anytime-Valid Inference for
 * Multinomial Count Data", NeurIPS 2022): the Bayes factor of a
 * Dirichlet(c * theta) mixture of multinomials against the configured
 * split theta = w / sum(w),
 *
 *   BF(n) = Gamma(c) / Gamma(c + N) * prod_i Gamma(c theta_i + n_i)
 *           / (Gamma(c theta_i) theta_i^n_i),        N = sum n_i,
 *
 * is a nonnegative martingale with mean 1 under the configured split, so
 * by Ville's inequality P(BF ever exceeds 1/alpha) <= alpha, however
 * often one looks. The always-valid p-value is min(1, min over looks of
 * 1/BF); the alarm is p < alpha. Assumptions: visitors are assigned
 * independently with fixed probabilities theta (true of hashing unique
 * visitors), and the looks are cumulative counts of the same visitors.
 * The concentration c (STATS_SRM_SEQ_CONCENTRATION) says how large an
 * imbalance the test is tuned for: a Dirichlet(c theta) share has sd
 * ~ sqrt(theta (1 - theta) / c), 1.5 points at c = 1000 for three arms.
 * ln BF is computed with GSL's lngamma; at N = 1e8 its absolute error is
 * ~1e-7, irrelevant against ln(1/alpha) = 6.9.
 */
#ifndef UPSHOT_STATS_SRM_H
#define UPSHOT_STATS_SRM_H

#include "stats_core.h"

#define STATS_SRM_THRESHOLD 0.001
#define STATS_SRM_MIN_VISITORS 100

typedef struct stats_srm_result {
    stats_value statistic;
    stats_value df;
    stats_pvalue p;
    bool flagged;   /* p < threshold and enough visitors */
} stats_srm_result;

/* n[i] visitors and w[i] > 0 configured weights for k >= 2 arms;
 * threshold <= 0 means STATS_SRM_THRESHOLD. Returns -1 on invalid
 * weights. */
int stats_srm(const uint64_t *n, const double *w, size_t k, double threshold,
              stats_srm_result *out);

/* Dirichlet concentration of the sequential test's mixture. Chosen with
 * bench/sim_promotion (docs/promotion.md): a 1-point imbalance at 2,000
 * visitors per arm per day is caught in about a week, and gross ones
 * (a broken redirect) on the first look. */
#define STATS_SRM_SEQ_CONCENTRATION 1000.0

typedef struct stats_srm_seq_result {
    stats_value log_bf;      /* ln BF at the latest look */
    stats_value max_log_bf;  /* running maximum of ln BF over the looks */
    stats_pvalue p;          /* always-valid: min(1, exp(-max ln BF)) */
    bool flagged;            /* p < alpha */
} stats_srm_seq_result;

/* ln BF of counts n[0..k-1] against weights w (> 0, normalised here) with
 * concentration c (<= 0: STATS_SRM_SEQ_CONCENTRATION). 0 when all n are 0;
 * NaN on invalid weights or k < 2. */
double stats_srm_log_bf(const uint64_t *n, const double *w, size_t k, double c);

/* The sequential test over nlooks cumulative looks,
 * looks[look * k + arm] (oldest first). alpha <= 0: STATS_SRM_THRESHOLD.
 * Returns 0, 1 when there are no visitors (p undefined, not flagged), or
 * -1 on invalid weights / no looks. */
int stats_srm_sequential(const uint64_t *looks, size_t nlooks, const double *w, size_t k,
                         double c, double alpha, stats_srm_seq_result *out);

#endif

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

#endif

/* stats_srm.c -- see stats_srm.h. */
#include "stats_srm.h"

#include "stats_dist.h"

#include <math.h>

int stats_srm(const uint64_t *n, const double *w, size_t k, double threshold,
              stats_srm_result *out)
{
    out->flagged = false;
    double W = 0.0, N = 0.0;
    const char *why = NULL;
    for (size_t i = 0; i < k; i++) {
        if (!(w[i] > 0.0) || !isfinite(w[i]))
            why = "weights must be positive";
        W += w[i];
        N += (double)n[i];
    }
    if (!why && k < 2)
        why = "fewer than two arms";
    if (why) {
        out->statistic = out->df = stats_value_undef(why);
        out->p = stats_pvalue_undef(why);
        return -1;
    }
    if (N == 0.0) {
        why = "no visitors";
        out->statistic = out->df = stats_value_undef(why);
        out->p = stats_pvalue_undef(why);
        return 1;
    }
    if (!(threshold > 0.0))
        threshold = STATS_SRM_THRESHOLD;
    double stat = 0.0;
    for (size_t i = 0; i < k; i++) {
        double e = N * (w[i] / W);
        double d = (double)n[i] - e;
        stat += d * d / e;
    }
    double df = (double)(k - 1);
    out->statistic = stats_value_of(stat);
    out->df = stats_value_of(df);
    out->p = stats_dist_p_chisq(stat, df);
    out->flagged = out->p.defined && N >= STATS_SRM_MIN_VISITORS && out->p.p < threshold;
    return 0;
}

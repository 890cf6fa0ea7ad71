/* stats_srm.c -- see stats_srm.h. */
#include "stats_srm.h"

#include "stats_dist.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
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

static double lngamma(double x)
{
    gsl_sf_result r;
    return gsl_sf_lngamma_e(x, &r) == GSL_SUCCESS ? r.val : NAN;
}

double stats_srm_log_bf(const uint64_t *n, const double *w, size_t k, double c)
{
    if (k < 2 || !w || !n)
        return NAN;
    if (!(c > 0.0) || !isfinite(c))
        c = STATS_SRM_SEQ_CONCENTRATION;
    double W = 0.0, N = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (!(w[i] > 0.0) || !isfinite(w[i]))
            return NAN;
        W += w[i];
        N += (double)n[i];
    }
    if (N == 0.0)
        return 0.0;
    double l = lngamma(c) - lngamma(c + N);
    for (size_t i = 0; i < k; i++) {
        double theta = w[i] / W, a = c * theta, ni = (double)n[i];
        if (n[i] > 0)
            l += lngamma(a + ni) - lngamma(a) - ni * log(theta);
    }
    return l;
}

int stats_srm_sequential(const uint64_t *looks, size_t nlooks, const double *w, size_t k,
                         double c, double alpha, stats_srm_seq_result *out)
{
    out->flagged = false;
    const char *why = NULL;
    if (!looks || nlooks == 0)
        why = "no looks";
    else if (isnan(stats_srm_log_bf(looks, w, k, c)))
        why = k < 2 ? "fewer than two arms" : "weights must be positive";
    if (why) {
        out->log_bf = out->max_log_bf = stats_value_undef(why);
        out->p = stats_pvalue_undef(why);
        return -1;
    }
    if (!(alpha > 0.0))
        alpha = STATS_SRM_THRESHOLD;
    double max = 0.0, last = 0.0, total = 0.0;
    for (size_t d = 0; d < nlooks; d++) {
        last = stats_srm_log_bf(looks + d * k, w, k, c);
        if (last > max)
            max = last;
    }
    for (size_t i = 0; i < k; i++)
        total += (double)looks[(nlooks - 1) * k + i];
    if (total == 0.0) {
        why = "no visitors";
        out->log_bf = out->max_log_bf = stats_value_undef(why);
        out->p = stats_pvalue_undef(why);
        return 1;
    }
    out->log_bf = stats_value_of(last);
    out->max_log_bf = stats_value_of(max);
    /* ln BF starts at 0 (no data), so the running maximum is >= 0 and
     * p = exp(-max) <= 1 */
    out->p = stats_pvalue_from_log(-max);
    out->flagged = out->p.log10_p < log10(alpha);
    return 0;
}

/* stats_prop.c -- see stats_prop.h. */
#include "stats_prop.h"

#include "stats_dist.h"

#include <math.h>

double stats_prop_zcrit(double alpha)
{
    if (!(alpha > 0.0) || !(alpha < 1.0))
        alpha = STATS_DEFAULT_ALPHA;
    return stats_dist_normal_quantile(1.0 - alpha / 2.0);
}

stats_interval stats_wilson_interval(uint64_t n, uint64_t x, double alpha)
{
    if (n == 0)
        return stats_interval_undef("no visitors");
    if (x > n)
        return stats_interval_undef("conversions exceed visitors");
    double z = stats_prop_zcrit(alpha), z2 = z * z;
    double nn = (double)n, xx = (double)x;
    double denom = nn + z2;
    double centre = (xx + z2 / 2.0) / denom;
    /* x(n-x)/n written as x * (n-x)/n: no cancellation, exact 0 at the ends */
    double half = z * sqrt(xx * ((nn - xx) / nn) + z2 / 4.0) / denom;
    double lo = centre - half, hi = centre + half;
    /* at x = 0 (x = n) the bound is exactly 0 (1); keep rounding out */
    if (x == 0)
        lo = 0.0;
    if (x == n)
        hi = 1.0;
    return stats_interval_of(fmax(lo, 0.0), fmin(hi, 1.0));
}

int stats_prop_compare(uint64_t n0, uint64_t x0, uint64_t n1, uint64_t x1, double alpha,
                       stats_prop_result *out)
{
    const char *why = NULL;
    if (x0 > n0 || x1 > n1)
        why = "conversions exceed visitors";
    else if (n0 == 0)
        why = "control has no visitors";
    else if (n1 == 0)
        why = "treatment has no visitors";
    if (why) {
        out->diff = out->z = out->lift = out->lift_se = stats_value_undef(why);
        out->diff_ci = out->lift_ci = stats_interval_undef(why);
        out->p = out->lift_p = stats_pvalue_undef(why);
        return x0 > n0 || x1 > n1 ? -1 : 1;
    }
    int rc = 0;
    double zc = stats_prop_zcrit(alpha);
    double a = (double)n0, b = (double)n1;
    double p0 = (double)x0 / a, p1 = (double)x1 / b;
    double q0 = (double)(n0 - x0) / a, q1 = (double)(n1 - x1) / b;
    double d = p1 - p0;
    out->diff = stats_value_of(d);

    double v = p0 * q0 / a + p1 * q1 / b;
    if (v > 0.0) {
        double h = zc * sqrt(v);
        out->diff_ci = stats_interval_of(d - h, d + h);
    } else {
        out->diff_ci = stats_interval_undef("both rates are 0 or 1: the Wald variance is zero");
        rc = 1;
    }

    double pbar = (double)(x0 + x1) / (a + b);
    double qbar = (double)((n0 - x0) + (n1 - x1)) / (a + b);
    double vp = pbar * qbar * (1.0 / a + 1.0 / b);
    if (vp > 0.0) {
        double z = d / sqrt(vp);
        out->z = stats_value_of(z);
        out->p = stats_dist_p_normal(z);
    } else {
        const char *w = "no variation: nobody or everybody converted in both arms";
        out->z = stats_value_undef(w);
        out->p = stats_pvalue_undef(w);
        rc = 1;
    }

    if (x0 == 0) {
        const char *w = "control rate is 0: relative lift is undefined";
        out->lift = out->lift_se = stats_value_undef(w);
        out->lift_ci = stats_interval_undef(w);
        out->lift_p = stats_pvalue_undef(w);
        return 1;
    }
    double lift = p1 / p0 - 1.0;
    double vl = p1 * q1 / (b * p0 * p0) + p1 * p1 * p0 * q0 / (a * p0 * p0 * p0 * p0);
    out->lift = stats_value_of(lift);
    if (vl > 0.0) {
        double se = sqrt(vl);
        out->lift_se = stats_value_of(se);
        out->lift_ci = stats_interval_of(lift - zc * se, lift + zc * se);
        out->lift_p = stats_dist_p_normal(lift / se);
    } else {
        const char *w = "delta-method variance of the lift is zero";
        out->lift_se = stats_value_undef(w);
        out->lift_ci = stats_interval_undef(w);
        out->lift_p = stats_pvalue_undef(w);
        rc = 1;
    }
    return rc;
}

int stats_prop_chisq_independence(const uint64_t *n, const uint64_t *x, size_t k,
                                  stats_chisq_result *out)
{
    double N = 0.0, X = 0.0;
    size_t arms = 0;
    for (size_t i = 0; i < k; i++) {
        if (x[i] > n[i]) {
            const char *w = "conversions exceed visitors";
            out->statistic = out->df = stats_value_undef(w);
            out->p = stats_pvalue_undef(w);
            return -1;
        }
        if (n[i] == 0)
            continue;
        arms++;
        N += (double)n[i];
        X += (double)x[i];
    }
    const char *why = NULL;
    if (arms < 2)
        why = "fewer than two arms have visitors";
    else if (X == 0.0 || X == N)
        why = "no variation: nobody or everybody converted";
    if (why) {
        out->statistic = out->df = stats_value_undef(why);
        out->p = stats_pvalue_undef(why);
        return 1;
    }
    double pc = X / N, pn = (N - X) / N, stat = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (n[i] == 0)
            continue;
        double ni = (double)n[i];
        double e1 = ni * pc, e0 = ni * pn;
        double o1 = (double)x[i], o0 = ni - o1;
        stat += (o1 - e1) * (o1 - e1) / e1 + (o0 - e0) * (o0 - e0) / e0;
    }
    double df = (double)(arms - 1);
    out->statistic = stats_value_of(stat);
    out->df = stats_value_of(df);
    out->p = stats_dist_p_chisq(stat, df);
    return 0;
}

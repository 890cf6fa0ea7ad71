/* stats_revenue.c -- see stats_revenue.h. */
#include "stats_revenue.h"

#include "stats_dist.h"
#include "stats_prop.h"

#include <math.h>

/* Sum of squared deviations Q - S^2/n; NaN when inconsistent. */
static double centred_ss(double n, double s, double q)
{
    double ss = fma(-s, s / n, q);
    if (ss < 0.0) {
        if (-ss > 1e-9 * q)
            return NAN;
        ss = 0.0;  /* rounding, not data */
    }
    return ss;
}

int stats_revenue_moments(double n, double sum, double sumsq, stats_value *mean,
                          stats_value *var)
{
    if (!(n >= 0.0) || !(sumsq >= 0.0) || !isfinite(sum) || !isfinite(sumsq)) {
        *mean = *var = stats_value_undef("invalid revenue sums");
        return -1;
    }
    if (n == 0.0) {
        *mean = *var = stats_value_undef("no visitors");
        return 1;
    }
    *mean = stats_value_of(sum / n);
    if (n < 2.0) {
        *var = stats_value_undef("fewer than two visitors: no variance");
        return 1;
    }
    double ss = centred_ss(n, sum, sumsq);
    if (isnan(ss)) {
        *var = stats_value_undef("revenue_sumsq is smaller than revenue_sum^2/visitors");
        return -1;
    }
    *var = stats_value_of(ss / (n - 1.0));
    return 0;
}

static void welch_undef(stats_welch_result *o, const char *why, bool keep_diff)
{
    if (!keep_diff)
        o->diff = stats_value_undef(why);
    o->se = o->t = o->df = o->lift = stats_value_undef(why);
    o->p = o->lift_p = stats_pvalue_undef(why);
    o->diff_ci = o->lift_ci = stats_interval_undef(why);
}

int stats_welch(double n0, double s0, double q0, double n1, double s1, double q1,
                double alpha, stats_welch_result *out)
{
    stats_value m0, v0, m1, v1;
    int r0 = stats_revenue_moments(n0, s0, q0, &m0, &v0);
    int r1 = stats_revenue_moments(n1, s1, q1, &m1, &v1);
    if (r0 < 0 || r1 < 0) {
        welch_undef(out, r0 < 0 ? v0.why : v1.why, false);
        return -1;
    }
    if (!m0.defined || !m1.defined) {
        welch_undef(out, m0.defined ? "treatment has no visitors" : "control has no visitors",
                    false);
        return 1;
    }
    out->diff = stats_value_of(m1.value - m0.value);
    if (!v0.defined || !v1.defined) {
        welch_undef(out, "an arm has fewer than two visitors", true);
        return 1;
    }
    if (!(alpha > 0.0) || !(alpha < 1.0))
        alpha = STATS_DEFAULT_ALPHA;
    double a = v0.value / n0, b = v1.value / n1;
    double se2 = a + b;
    if (!(se2 > 0.0)) {
        welch_undef(out, "revenue has zero variance in both arms", true);
        return 1;
    }
    double se = sqrt(se2);
    /* df: written as (a+b)^2 / (a^2/(n0-1) + b^2/(n1-1)) to keep it finite
     * when one variance is 0 */
    double df = se2 * se2 / (a * a / (n0 - 1.0) + b * b / (n1 - 1.0));
    double d = out->diff.value, t = d / se;
    double tq = stats_dist_t_quantile(1.0 - alpha / 2.0, df);
    out->se = stats_value_of(se);
    out->t = stats_value_of(t);
    out->df = stats_value_of(df);
    out->p = stats_dist_p_t(t, df);
    out->diff_ci = isfinite(tq) ? stats_interval_of(d - tq * se, d + tq * se)
                                : stats_interval_undef("t quantile failed");
    if (m0.value <= 0.0) {
        const char *w = "control revenue per visitor is 0: relative lift is undefined";
        out->lift = stats_value_undef(w);
        out->lift_ci = stats_interval_undef(w);
        out->lift_p = stats_pvalue_undef(w);
        return 1;
    }
    double mc = m0.value, mt = m1.value;
    double lift = mt / mc - 1.0;
    double vl = v1.value / (n1 * mc * mc) + mt * mt * v0.value / (n0 * mc * mc * mc * mc);
    out->lift = stats_value_of(lift);
    if (!(vl > 0.0)) {
        const char *w = "delta-method variance of the lift is zero";
        out->lift_ci = stats_interval_undef(w);
        out->lift_p = stats_pvalue_undef(w);
        return 1;
    }
    double sl = sqrt(vl);
    out->lift_ci = isfinite(tq) ? stats_interval_of(lift - tq * sl, lift + tq * sl)
                                : stats_interval_undef("t quantile failed");
    out->lift_p = stats_dist_p_t(lift / sl, df);
    return 0;
}

void stats_aov_arm(double x, double sum, double sumsq, stats_value *aov, stats_value *se)
{
    if (!(x > 0.0)) {
        *aov = *se = stats_value_undef("no conversions: order value is undefined");
        return;
    }
    *aov = stats_value_of(sum / x);
    double ss = centred_ss(x, sum, sumsq);
    if (isnan(ss)) {
        *se = stats_value_undef("revenue_sumsq is smaller than revenue_sum^2/conversions");
        return;
    }
    /* (Q/x - (S/x)^2) / x = ss / x^2 */
    *se = stats_value_of(sqrt(ss) / x);
}

int stats_aov_compare(double x0, double s0, double q0, double x1, double s1, double q1,
                      double alpha, stats_aov_result *out)
{
    stats_aov_arm(x0, s0, q0, &out->aov0, &out->se0);
    stats_aov_arm(x1, s1, q1, &out->aov1, &out->se1);
    const char *why = !out->aov0.defined ? "control has no conversions"
                      : !out->aov1.defined ? "treatment has no conversions"
                      : !out->se0.defined ? out->se0.why
                      : !out->se1.defined ? out->se1.why : NULL;
    if (why) {
        out->diff = out->aov0.defined && out->aov1.defined
                        ? stats_value_of(out->aov1.value - out->aov0.value)
                        : stats_value_undef(why);
        out->diff_ci = stats_interval_undef(why);
        out->p = stats_pvalue_undef(why);
        return 1;
    }
    double d = out->aov1.value - out->aov0.value;
    double se = hypot(out->se0.value, out->se1.value);
    out->diff = stats_value_of(d);
    if (!(se > 0.0)) {
        const char *w = "order values have zero spread in both arms";
        out->diff_ci = stats_interval_undef(w);
        out->p = stats_pvalue_undef(w);
        return 1;
    }
    double z = stats_prop_zcrit(alpha);
    out->diff_ci = stats_interval_of(d - z * se, d + z * se);
    out->p = stats_dist_p_normal(d / se);
    return 0;
}

stats_value stats_revenue_learned_cap(double converters, double sum, double sumsq, double k,
                                      double min_converters)
{
    if (!isfinite(converters) || !isfinite(sum) || !isfinite(sumsq) || converters < 0.0 ||
        sum < 0.0 || sumsq < 0.0)
        return stats_value_undef("invalid revenue sums");
    if (!(k > 0.0) || !isfinite(k))
        k = STATS_CAP_DEFAULT_K;
    if (!(min_converters > 0.0) || !isfinite(min_converters))
        min_converters = STATS_CAP_MIN_CONVERTERS;
    if (min_converters < 2.0)
        min_converters = 2.0;
    if (converters < min_converters)
        return stats_value_undef("too few converting visitors to learn a cap");
    double ss = centred_ss(converters, sum, sumsq);
    if (isnan(ss))
        return stats_value_undef("revenue_sumsq is smaller than revenue_sum^2/conversions");
    return stats_value_of(sum / converters + k * sqrt(ss / (converters - 1.0)));
}

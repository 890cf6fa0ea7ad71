/* stats_power.c -- see stats_power.h. */
#include "stats_power.h"

#include "stats_dist.h"

#include <math.h>

double stats_power_n_exact(double p0, double p1, double alpha, double power, bool pooled)
{
    if (!(p0 > 0.0 && p0 < 1.0) || !(p1 > 0.0 && p1 < 1.0) || p0 == p1 ||
        !(alpha > 0.0 && alpha < 1.0) || !(power > 0.0 && power < 1.0))
        return NAN;
    double a = stats_dist_normal_quantile(1.0 - alpha / 2.0);
    double b = stats_dist_normal_quantile(power);
    double d = fabs(p1 - p0);
    double v = p0 * (1.0 - p0) + p1 * (1.0 - p1);
    double root;
    if (pooled) {
        double pbar = (p0 + p1) / 2.0;
        root = (a * sqrt(2.0 * pbar * (1.0 - pbar)) + b * sqrt(v)) / d;
    } else {
        root = (a + b) * sqrt(v) / d;
    }
    return root * root;
}

stats_value stats_power_n_per_arm(double p0, double p1, double alpha, double power, bool pooled)
{
    if (!(p0 > 0.0 && p0 < 1.0))
        return stats_value_undef("baseline rate must be strictly between 0 and 1");
    if (!(p1 > 0.0 && p1 < 1.0))
        return stats_value_undef("target rate baseline * (1 + mde) must be between 0 and 1");
    if (p0 == p1)
        return stats_value_undef("minimum detectable effect is 0");
    double n = stats_power_n_exact(p0, p1, alpha, power, pooled);
    if (!isfinite(n))
        return stats_value_undef("alpha and power must be between 0 and 1");
    /* ceil, but a value within 1e-9 above an integer is that integer (the
     * formula is exact in real arithmetic for round inputs) */
    double c = ceil(n - 1e-9 * n);
    return stats_value_of(c);
}

stats_value stats_power_days_remaining(double n_needed, const uint64_t *n, const double *w,
                                       size_t k, double visitors_per_day)
{
    if (!(n_needed >= 0.0))
        return stats_value_undef("sample size is undefined");
    if (!(visitors_per_day > 0.0))
        return stats_value_undef("traffic per day is unknown");
    double W = 0.0;
    for (size_t i = 0; i < k; i++)
        W += w[i] > 0.0 ? w[i] : 0.0;
    if (!(W > 0.0))
        return stats_value_undef("weights must be positive");
    double worst = 0.0;
    for (size_t i = 0; i < k; i++) {
        double missing = n_needed - (double)n[i];
        if (missing <= 0.0)
            continue;
        if (!(w[i] > 0.0))
            return stats_value_undef("an arm with weight 0 never reaches the sample size");
        double days = missing / (visitors_per_day * w[i] / W);
        worst = fmax(worst, days);
    }
    return stats_value_of(ceil(worst));
}

/* stats_msprt.c -- see stats_msprt.h. */
#include "stats_msprt.h"

#include <gsl/gsl_math.h>
#include <gsl/gsl_sf_erf.h>
#include <math.h>

double stats_msprt_log_lambda(double d, double v, double tau2)
{
    double s = v + tau2;
    /* 0.5 ln(V/(V+tau^2)) written with log1p: V << tau^2 at large n */
    return -0.5 * log1p(tau2 / v) + tau2 * d * d / (2.0 * v * s);
}

double stats_msprt_log_lambda_greater(double d, double v, double tau2)
{
    /* 2 Phi(z) = erfc(-z / sqrt 2); gsl_sf_log_erfc keeps its log exact
     * far in the lower tail, where Phi(z) underflows. */
    double z = d * sqrt(tau2) / sqrt(v * (v + tau2));
    return stats_msprt_log_lambda(d, v, tau2) + gsl_sf_log_erfc(-z / M_SQRT2);
}

static double tau2_or_default(double tau2)
{
    return (tau2 > 0.0 && isfinite(tau2)) ? tau2 : STATS_MSPRT_DEFAULT_TAU2;
}

/* d and V for one look; returns a reason when undefined. */
static const char *look_stats(uint64_t n0, uint64_t x0, uint64_t n1, uint64_t x1, double *d,
                              double *v)
{
    if (x0 > n0 || x1 > n1)
        return "conversions exceed visitors";
    if (n0 == 0 || n1 == 0)
        return "an arm has no visitors";
    double a = (double)n0, b = (double)n1;
    double p0 = (double)x0 / a, p1 = (double)x1 / b;
    double q0 = (double)(n0 - x0) / a, q1 = (double)(n1 - x1) / b;
    *d = p1 - p0;
    *v = p0 * q0 / a + p1 * q1 / b;
    if (!(*v > 0.0))
        return "both rates are 0 or 1: variance is zero";
    return NULL;
}

stats_pvalue stats_msprt_pvalue(uint64_t n0, uint64_t x0, uint64_t n1, uint64_t x1,
                                double tau2)
{
    double d, v;
    const char *why = look_stats(n0, x0, n1, x1, &d, &v);
    if (why)
        return stats_pvalue_undef(why);
    double ll = stats_msprt_log_lambda(d, v, tau2_or_default(tau2));
    return stats_pvalue_from_log(ll > 0.0 ? -ll : 0.0);
}

static double half_width(double v, double tau2, double alpha)
{
    return sqrt(v * (v + tau2) / tau2 * (2.0 * log(1.0 / alpha) + log1p(tau2 / v)));
}

stats_interval stats_msprt_ci(uint64_t n0, uint64_t x0, uint64_t n1, uint64_t x1,
                              double tau2, double alpha)
{
    double d, v;
    const char *why = look_stats(n0, x0, n1, x1, &d, &v);
    if (why)
        return stats_interval_undef(why);
    if (!(alpha > 0.0) || !(alpha < 1.0))
        alpha = STATS_DEFAULT_ALPHA;
    double h = half_width(v, tau2_or_default(tau2), alpha);
    return stats_interval_of(d - h, d + h);
}

int stats_msprt_run(const uint64_t *look_n, const uint64_t *look_x, size_t n_looks, size_t k,
                    size_t variant, double tau2, double alpha, stats_msprt_result *out)
{
    tau2 = tau2_or_default(tau2);
    if (!(alpha > 0.0) || !(alpha < 1.0))
        alpha = STATS_DEFAULT_ALPHA;
    out->looks = n_looks;
    out->looks_used = 0;
    double ln_p = 0.0, lo = -INFINITY, hi = INFINITY;
    const char *why = n_looks == 0 ? "no looks" : "no look with visitors in both arms";
    if (variant == 0 || variant >= k) {
        why = variant == 0 ? "control" : "no such variant";
        n_looks = 0;
    }
    for (size_t l = 0; l < n_looks; l++) {
        const uint64_t *n = look_n + l * k, *x = look_x + l * k;
        if (l > 0) {
            const uint64_t *pn = n - k, *px = x - k;
            if (n[0] < pn[0] || n[variant] < pn[variant] || x[0] < px[0] ||
                x[variant] < px[variant]) {
                why = "looks are not cumulative (a count decreases)";
                out->p = stats_pvalue_undef(why);
                out->ci = out->ci_last = stats_interval_undef(why);
                out->log_lambda = stats_value_undef(why);
                return -1;
            }
        }
        double d, v;
        const char *w = look_stats(n[0], x[0], n[variant], x[variant], &d, &v);
        if (w) {
            if (out->looks_used == 0)
                why = w;
            continue;
        }
        double ll = stats_msprt_log_lambda(d, v, tau2);
        if (-ll < ln_p)
            ln_p = -ll;
        double h = half_width(v, tau2, alpha);
        lo = fmax(lo, d - h);
        hi = fmin(hi, d + h);
        out->ci_last = stats_interval_of(d - h, d + h);
        out->log_lambda = stats_value_of(ll);
        out->looks_used++;
    }
    if (out->looks_used == 0) {
        out->p = stats_pvalue_undef(why);
        out->ci = out->ci_last = stats_interval_undef(why);
        out->log_lambda = stats_value_undef(why);
        return 1;
    }
    out->p = stats_pvalue_from_log(ln_p);
    if (lo <= hi) {
        out->ci = stats_interval_of(lo, hi);
    } else {
        /* Happens with probability <= alpha under the model, or when the
         * rates drift over time. */
        out->ci = stats_interval_undef("intervals of successive looks do not overlap");
        return 1;
    }
    return 0;
}

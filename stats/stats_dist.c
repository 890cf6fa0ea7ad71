/* stats_dist.c -- distribution tails in log space. See stats_dist.h.
 *
 * Incomplete beta, the workhorse of the t-test and the Bayesian module:
 *
 *   I_x(a,b) = x^a (1-x)^b / (a B(a,b)) * CF(a,b,x)
 *
 * where CF is the classical continued fraction (Abramowitz & Stegun 26.5.8),
 * evaluated by the modified Lentz method. It converges quickly when
 * x < (a+1)/(a+b+2); otherwise we evaluate the complement through the
 * symmetry I_x(a,b) = 1 - I_{1-x}(b,a). Near the mean it needs on the order
 * of sqrt(min(a,b)) terms, so we allow up to STATS_CF_MAX_TERMS (GSL's own
 * gsl_sf_beta_inc stops at 512 and fails beyond a ~ 2.5e5).
 *
 * The prefactor is where 10^8-visitor arms cancel: a ln x + b ln(1-x) and
 * ln B(a,b) are each about -6e7 and their difference is O(10), so the
 * textbook form keeps only ~8 digits. For a, b >= 10 we instead use
 *
 *   x^a y^b / B(a,b) = sqrt(ab / (2 pi (a+b))) * G*(a+b) / (G*(a) G*(b))
 *                      * exp( a log1pmx(e0) + b log1pmx(e1) ),
 *   mu = a/(a+b), e0 = (x-mu)/mu, e1 = (mu-x)/(1-mu),
 *
 * with G* Stirling's remainder (gsl_sf_gammastar) and log1pmx(e) =
 * ln(1+e) - e. The two linear terms a e0 + b e1 cancel exactly on paper,
 * so no large numbers are ever subtracted (the same idea as Temme's and
 * DiDonato & Morris's TOMS 708 "bcorr"/"brcomp").
 */
#include "stats_dist.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_log.h>
#include <math.h>

/* Beyond this many Lentz steps we report non-convergence. Measured need:
 * ~3 sqrt(min(a,b)) near the mean, i.e. ~2e4 at a = 3.4e7. */
#define STATS_CF_MAX_TERMS 200000
#define STATS_TINY 1e-300

/* ln(1+e) - e without cancellation, in a handful of flops: it is the inner
 * loop of every Beta density (two calls per quadrature node), where GSL's
 * gsl_sf_log_1plusx_mx_e costs four times as much.
 * With u = e / (2 + e), ln(1+e) = 2 atanh(u) and e = 2u / (1-u), so
 *   ln(1+e) - e = -u e + 2 u^3 (1/3 + u^2/5 + u^4/7 + ...),
 * every term of the sum positive. |e| < 1/4 gives |u| < 1/7, and ten terms
 * leave a remainder below 1e-17 of the result. Farther out log1p(e) - e
 * loses at most a factor 10 (~1e-15 relative), which is where the density
 * is negligible anyway. */
static double ln1pmx(double e)
{
    if (e <= -1.0)
        return -INFINITY;
    if (fabs(e) >= 0.25)
        return log1p(e) - e;
    double u = e / (2.0 + e), v = u * u;
    double s = 1.0 / 21.0;
    s = s * v + 1.0 / 19.0;
    s = s * v + 1.0 / 17.0;
    s = s * v + 1.0 / 15.0;
    s = s * v + 1.0 / 13.0;
    s = s * v + 1.0 / 11.0;
    s = s * v + 1.0 / 9.0;
    s = s * v + 1.0 / 7.0;
    s = s * v + 1.0 / 5.0;
    s = s * v + 1.0 / 3.0;
    return -u * e + 2.0 * u * v * s;
}

static double ln_gammastar(double z)
{
    gsl_sf_result r;
    if (gsl_sf_gammastar_e(z, &r) != GSL_SUCCESS)
        return NAN;
    return log(r.val);
}

/* ln( x^a y^b / B(a,b) ), y = 1 - x. */
static double ln_beta_prefactor(double a, double b, double x, double y)
{
    if (a >= 10.0 && b >= 10.0) {
        double s = a + b;
        double mu = a / s, nu = b / s;
        /* delta = x - mu, taken from whichever of x, y is the small one so
         * that its digits are not lost in 1 - x. */
        double delta = (x <= 0.5) ? x - mu : nu - y;
        double e0 = delta / mu, e1 = -delta / nu;
        double core = a * ln1pmx(e0) + b * ln1pmx(e1);
        return core + 0.5 * log(a * b / (2.0 * M_PI * s))
               + ln_gammastar(s) - ln_gammastar(a) - ln_gammastar(b);
    }
    gsl_sf_result lb;
    if (gsl_sf_lnbeta_e(a, b, &lb) != GSL_SUCCESS)
        return NAN;
    double lx = (x < 0.5) ? log(x) : log1p(-y);
    double ly = (y < 0.5) ? log(y) : log1p(-x);
    return a * lx + b * ly - lb.val;
}

/* Continued fraction for I_x(a,b) * a * B(a,b) / (x^a y^b), Lentz's method.
 * Returns NaN when it does not converge. */
static double beta_cf(double a, double b, double x)
{
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < STATS_TINY)
        d = STATS_TINY;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= STATS_CF_MAX_TERMS; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < STATS_TINY)
            d = STATS_TINY;
        c = 1.0 + aa / c;
        if (fabs(c) < STATS_TINY)
            c = STATS_TINY;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < STATS_TINY)
            d = STATS_TINY;
        c = 1.0 + aa / c;
        if (fabs(c) < STATS_TINY)
            c = STATS_TINY;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 4.0 * DBL_EPSILON)
            return h;
    }
    return NAN;
}

/* ln(1 - e^l) for l <= 0 without cancellation (Maechler's log1mexp). */
static double ln1mexp(double l)
{
    if (l > -M_LN2)
        return log(-expm1(l));
    return log1p(-exp(l));
}

int stats_dist_ibeta(double a, double b, double x, double y,
                     double *ln_lower, double *ln_upper)
{
    if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0) || !(y >= 0.0) ||
        !isfinite(a) || !isfinite(b) || fabs(x + y - 1.0) > 1e-12)
        return -1;
    if (x == 0.0) {
        *ln_lower = -INFINITY;
        *ln_upper = 0.0;
        return 0;
    }
    if (y == 0.0) {
        *ln_lower = 0.0;
        *ln_upper = -INFINITY;
        return 0;
    }
    double pre = ln_beta_prefactor(a, b, x, y);
    if (isnan(pre))
        return -1;
    if (x < (a + 1.0) / (a + b + 2.0)) {
        double cf = beta_cf(a, b, x);
        if (!(cf > 0.0))
            return -1;
        *ln_lower = pre + log(cf) - log(a);
        if (*ln_lower > 0.0)
            *ln_lower = 0.0;
        *ln_upper = ln1mexp(*ln_lower);
    } else {
        double cf = beta_cf(b, a, y);
        if (!(cf > 0.0))
            return -1;
        *ln_upper = pre + log(cf) - log(b);
        if (*ln_upper > 0.0)
            *ln_upper = 0.0;
        *ln_lower = ln1mexp(*ln_upper);
    }
    return 0;
}

void stats_dist_beta_init(stats_dist_beta *d, double a, double b)
{
    double s = a + b;
    d->a = a;
    d->b = b;
    d->mu = a / s;
    d->nu = b / s;
    /* Centred whenever both shapes allow Stirling's remainder, at any
     * size: the plain form's constant -ln B(a,b) comes from lgamma values
     * of size (a+b) ln(a+b), whose rounding (~1e-10 at a + b = 6e4) shifts
     * the whole density and with it the posterior mass. */
    d->centred = a >= 10.0 && b >= 10.0;
    if (d->centred) {
        /* Around the mode m = (a-1)/(a+b-2) the density is
         *   ln f(x) = ln f(m) + (a-1) ln1pmx((x-m)/m) + (b-1) ln1pmx((m-x)/(1-m))
         * (the linear terms cancel exactly), so no logarithm is taken per
         * point. ln f(m) comes from the mean-centred Stirling form once. */
        double m = (a - 1.0) / (s - 2.0), cm = (b - 1.0) / (s - 2.0);
        double ln_c = 0.5 * log(a * b / (2.0 * M_PI * s)) + ln_gammastar(s)
                      - ln_gammastar(a) - ln_gammastar(b);
        double delta = m - d->mu;
        d->ln_norm = a * ln1pmx(delta / d->mu) + b * ln1pmx(-delta / d->nu) + ln_c - log(m)
                     - log(cm);
        d->mode = m;
        d->inv_mode = 1.0 / m;
        d->inv_comode = 1.0 / cm;
    } else {
        gsl_sf_result lb;
        d->ln_norm = gsl_sf_lnbeta_e(a, b, &lb) == GSL_SUCCESS ? -lb.val : NAN;
        d->mode = d->inv_mode = d->inv_comode = NAN;
    }
}

double stats_dist_beta_lnpdf(const stats_dist_beta *d, double x)
{
    if (!(x > 0.0) || !(x < 1.0))
        return -INFINITY;
    if (d->centred) {
        double delta = x - d->mode;
        return (d->a - 1.0) * ln1pmx(delta * d->inv_mode)
               + (d->b - 1.0) * ln1pmx(-delta * d->inv_comode) + d->ln_norm;
    }
    return (d->a - 1.0) * log(x) + (d->b - 1.0) * log1p(-x) + d->ln_norm;
}

double stats_dist_ln_beta_pdf(double a, double b, double x)
{
    if (!(x > 0.0) || !(x < 1.0))
        return -INFINITY;
    /* density = prefactor(a,b,x) / (x y) */
    return ln_beta_prefactor(a, b, x, 1.0 - x) - log(x) - log1p(-x);
}

double stats_dist_ln_normal_two_sided(double z)
{
    if (isnan(z))
        return NAN;
    /* P(|Z| >= |z|) = erfc(|z| / sqrt 2) */
    gsl_sf_result r;
    double u = fabs(z) / M_SQRT2;
    if (gsl_sf_log_erfc_e(u, &r) != GSL_SUCCESS)
        return NAN;
    return r.val;
}

/* ln Q(a, x), the regularised upper incomplete gamma, for the underflow
 * region (x > a + 1) by its continued fraction (A&S 6.5.31). */
static double ln_gamma_q_cf(double a, double x)
{
    double b = x + 1.0 - a, c = 1.0 / STATS_TINY, d = 1.0 / b, h = d;
    for (int i = 1; i <= 100000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < STATS_TINY)
            d = STATS_TINY;
        c = b + an / c;
        if (fabs(c) < STATS_TINY)
            c = STATS_TINY;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 4.0 * DBL_EPSILON) {
            gsl_sf_result lg;
            if (gsl_sf_lngamma_e(a, &lg) != GSL_SUCCESS)
                return NAN;
            return -x + a * log(x) - lg.val + log(h);
        }
    }
    return NAN;
}

double stats_dist_ln_chisq_upper(double x, double df)
{
    if (!(df > 0.0) || isnan(x))
        return NAN;
    if (x <= 0.0)
        return 0.0;
    if (df == 1.0) {  /* exact: P(chi2_1 >= x) = erfc(sqrt(x/2)) */
        gsl_sf_result r;
        if (gsl_sf_log_erfc_e(sqrt(x / 2.0), &r) != GSL_SUCCESS)
            return NAN;
        return r.val;
    }
    double a = df / 2.0, h = x / 2.0;
    gsl_sf_result q;
    int st = gsl_sf_gamma_inc_Q_e(a, h, &q);
    if (st == GSL_SUCCESS && q.val > 1e-250)
        return log(q.val);
    if (h > a + 1.0)
        return ln_gamma_q_cf(a, h);
    return (st == GSL_SUCCESS && q.val > 0.0) ? log(q.val) : NAN;
}

double stats_dist_ln_t_two_sided(double t, double df)
{
    if (!(df > 0.0) || isnan(t))
        return NAN;
    if (df > 1e12)  /* t(df) equals the normal to ~1e-12 here */
        return stats_dist_ln_normal_two_sided(t);
    double t2 = t * t;
    if (t2 == 0.0)
        return 0.0;
    if (!isfinite(t2))
        return -INFINITY;
    /* P(|T| >= t) = I_{df/(df+t^2)}(df/2, 1/2) */
    double x = df / (df + t2), y = t2 / (df + t2);
    double lo, up;
    if (stats_dist_ibeta(df / 2.0, 0.5, x, y, &lo, &up) != 0)
        return NAN;
    return lo;
}

stats_pvalue stats_dist_p_normal(double z)
{
    if (!isfinite(z))
        return stats_pvalue_undef("test statistic is not finite");
    return stats_pvalue_from_log(stats_dist_ln_normal_two_sided(z));
}

stats_pvalue stats_dist_p_chisq(double x, double df)
{
    if (!isfinite(x) || !(df > 0.0))
        return stats_pvalue_undef("chi-square statistic is not finite");
    return stats_pvalue_from_log(stats_dist_ln_chisq_upper(x, df));
}

stats_pvalue stats_dist_p_t(double t, double df)
{
    if (!isfinite(t))
        return stats_pvalue_undef("t statistic is not finite");
    if (!(df > 0.0))
        return stats_pvalue_undef("degrees of freedom are not positive");
    return stats_pvalue_from_log(stats_dist_ln_t_two_sided(t, df));
}

double stats_dist_normal_quantile(double p)
{
    if (!(p > 0.0) || !(p < 1.0))
        return NAN;
    return gsl_cdf_ugaussian_Pinv(p);
}

double stats_dist_t_quantile(double p, double df)
{
    if (!(p > 0.0) || !(p < 1.0) || !(df > 0.0))
        return NAN;
    if (df > 1e12)
        return gsl_cdf_ugaussian_Pinv(p);
    double q = gsl_cdf_tdist_Pinv(p, df);
    return isfinite(q) ? q : NAN;
}

/* stats_dist.h -- distribution tails in log space: normal, chi-square,
 * Student t, and the regularised incomplete beta function.
 *
 * Why: the test modules need two-sided p-values that stay meaningful when
 * they underflow a double (z = 40 gives p ~ 1e-349; gsl_cdf_ugaussian_Q
 * returns 0 there), and the Bayesian module needs Beta tail probabilities
 * for shape parameters up to ~1e8, where GSL's gsl_sf_beta_inc stops after
 * 512 continued-fraction terms and where the textbook prefactor
 * x^a (1-x)^b / B(a,b) loses eight digits to cancellation (see
 * stats_dist_ibeta in stats_dist.c for how both are avoided).
 *
 * All functions return natural logarithms (ln) unless the name says
 * otherwise; none calls GSL's error handler (only *_e variants are used).
 */
#ifndef UPSHOT_STATS_DIST_H
#define UPSHOT_STATS_DIST_H

#include "stats_core.h"

/* ln P(|Z| >= |z|) for a standard normal Z; exact in log space for any
 * finite z (uses ln erfc). */
double stats_dist_ln_normal_two_sided(double z);

/* ln P(X >= x) for X ~ chi-square(df), df > 0, x >= 0. NaN on bad input. */
double stats_dist_ln_chisq_upper(double x, double df);

/* ln P(|T| >= |t|) for T ~ Student t(df), df > 0 (df may be huge). */
double stats_dist_ln_t_two_sided(double t, double df);

/* Regularised incomplete beta I_x(a,b) and its complement, both as ln,
 * for a, b > 0, x in [0,1], y = 1 - x passed separately so that callers
 * who know 1-x exactly (the t distribution) keep its digits.
 * Returns 0 on success, -1 on bad input or non-convergence. */
int stats_dist_ibeta(double a, double b, double x, double y,
                     double *ln_lower, double *ln_upper);

/* ln of the Beta(a,b) density at x (0 < x < 1), computed relative to the
 * mean so that it keeps ~15 digits for a, b up to 1e9. */
double stats_dist_ln_beta_pdf(double a, double b, double x);

/* A Beta(a,b) density prepared for many evaluations: the normalising
 * constant is computed once. For a, b >= 10 the density is evaluated
 * relative to its mode, (a-1) ln1pmx((x-m)/m) + (b-1) ln1pmx((m-x)/(1-m))
 * plus ln f(m) from Stirling's remainder: no large terms cancel and no
 * logarithm is taken per point (~1e-15 relative at any size). Otherwise one
 * shape is below 10 and the plain form a ln x + b ln(1-x) - ln B(a,b) is
 * exact to ~1e-14: GSL's ln B then either subtracts small lgamma values
 * or, when the shapes differ by more than 5x, uses its own Stirling form.
 * (The plain form with both shapes large is what this avoids: ln B(a,b)
 * from lgamma values of size (a+b) ln(a+b) is off by ~1e-10 at a + b =
 * 6e4, which shifts the whole density by that much.) */
typedef struct stats_dist_beta {
    double a, b;     /* shape parameters */
    double mu, nu;   /* a/(a+b), b/(a+b) */
    double ln_norm;  /* centred: ln f(mode); plain: -ln B(a,b) */
    double mode, inv_mode, inv_comode; /* centred only: m, 1/m, 1/(1-m) */
    bool centred;    /* which form is used */
} stats_dist_beta;

void stats_dist_beta_init(stats_dist_beta *d, double a, double b);
/* ln density at x in (0,1); -inf outside. */
double stats_dist_beta_lnpdf(const stats_dist_beta *d, double x);

/* Two-sided p-value helpers built on the above. */
stats_pvalue stats_dist_p_normal(double z);
stats_pvalue stats_dist_p_chisq(double x, double df);
stats_pvalue stats_dist_p_t(double t, double df);

/* Quantiles: z with P(Z <= z) = p, and t with P(T <= t) = p.
 * NaN on bad input. */
double stats_dist_normal_quantile(double p);
double stats_dist_t_quantile(double p, double df);

#endif

/* Tests for stats_msprt and stats_adjust. Sources: mpmath at 40 digits
 * implementing the formulas of Johari et al. (reference.py), R's
 * p.adjust (reference.R). */
#include <criterion/criterion.h>
#include <gsl/gsl_math.h>
#include <math.h>

#include "stats.h"

#define REL(act, exp, tol)                                                                    \
    cr_expect(fabs((double)(act) - (double)(exp)) <= (tol) * fabs((double)(exp)),            \
              "%s = %.17g, expected %.17g (rel tol %g)", #act, (double)(act), (double)(exp), \
              (double)(tol))

static void init(void) { stats_init(); }
TestSuite(stats_msprt, .init = init);

Test(stats_msprt, single_look)
{
    /* mpmath (reference.py, "msprt 10000/1000 vs 10000/1100 tau2=1e-4") */
    stats_pvalue p = stats_msprt_pvalue(10000, 1000, 10000, 1100, 1e-4);
    REL(p.p, 0.2676532900875319, 1e-10);
    stats_interval ci = stats_msprt_ci(10000, 1000, 10000, 1100, 1e-4, 0.05);
    REL(ci.lo, -0.003224723616962162, 1e-9);
    REL(ci.hi, 0.02322472361696216, 1e-10);
    /* consistency: 0 is inside the interval exactly when p > alpha is not
     * guaranteed in general, but Lambda(d - d0) = 1/alpha at the bounds */
    double d = 0.01, v = 0.09 / 10000 + 0.11 * 0.89 / 10000;
    REL(stats_msprt_log_lambda(d - ci.hi, v, 1e-4), log(20.0), 1e-9);
}

Test(stats_msprt, running_minimum_and_intersection)
{
    /* three cumulative looks of a 2-arm test (reference.py) */
    uint64_t n[] = {2000, 2000, 4000, 4000, 6000, 6000};
    uint64_t x[] = {200, 260, 400, 470, 600, 660};
    stats_msprt_result r;
    cr_assert_eq(stats_msprt_run(n, x, 3, 2, 1, 1e-4, 0.05, &r), 0);
    REL(r.p.p, 0.15631611853777286, 1e-10);
    REL(r.ci.lo, -0.005107949813195908, 1e-9);
    REL(r.ci.hi, 0.02747405705618735, 1e-10);
    cr_expect_eq(r.looks_used, 3);
    /* the last look alone is weaker than the running minimum */
    cr_expect(stats_msprt_pvalue(6000, 600, 6000, 660, 1e-4).p > r.p.p);
    /* decreasing counts are rejected */
    uint64_t bad[] = {2000, 2000, 1000, 4000};
    uint64_t bx[] = {200, 260, 100, 470};
    cr_expect_eq(stats_msprt_run(bad, bx, 2, 2, 1, 1e-4, 0.05, &r), -1);
}

Test(stats_msprt, extreme_and_undefined)
{
    /* mpmath (reference.py, "msprt huge log10 p") */
    stats_pvalue p = stats_msprt_pvalue(100000000, 34000000, 100000000, 34240000, 1e-4);
    REL(p.log10_p, -276.0329980105267, 1e-10);
    p = stats_msprt_pvalue(100, 0, 100, 0, 1e-4);
    cr_expect(!p.defined);
    p = stats_msprt_pvalue(0, 0, 100, 1, 1e-4);
    cr_expect(!p.defined);
    cr_expect_str_eq(p.why, "an arm has no visitors");
    /* default tau^2 */
    REL(stats_msprt_pvalue(10000, 1000, 10000, 1100, 0).p, 0.2676532900875319, 1e-10);
}

Test(stats_msprt, holm_and_bh_match_p_adjust)
{
    const double p[] = {0.01, 0.04, 0.03, 0.005, 0.2, 0.04};
    double adj[6];
    size_t order[6];
    /* R 4.2.2: p.adjust(p, "holm") */
    const double holm[] = {0.05, 0.12, 0.12, 0.03, 0.2, 0.12};
    cr_assert_eq(stats_adjust(STATS_ADJUST_HOLM, p, 6, adj, order), 0);
    for (int i = 0; i < 6; i++)
        REL(adj[i], holm[i], 1e-12);
    /* R 4.2.2: p.adjust(p, "BH") */
    const double bh[] = {0.03, 0.048, 0.048, 0.03, 0.2, 0.048};
    cr_assert_eq(stats_adjust(STATS_ADJUST_BH, p, 6, adj, NULL), 0);
    for (int i = 0; i < 6; i++)
        REL(adj[i], bh[i], 1e-12);
    /* NaN is rejected */
    const double q[] = {0.1, NAN};
    cr_expect_eq(stats_adjust(STATS_ADJUST_HOLM, q, 2, adj, NULL), -1);
}

Test(stats_msprt, adjust_keeps_underflowed_p_values)
{
    /* 200 p-values (50 regions x 4 treatments), two of them 1e-400 */
    stats_pvalue p[200];
    for (int i = 0; i < 200; i++)
        p[i] = stats_pvalue_from_log(log(0.5));
    p[7] = stats_pvalue_from_log(-400 * M_LN10);
    p[9] = stats_pvalue_from_log(-500 * M_LN10);
    p[3] = stats_pvalue_undef("no visitors");
    cr_assert_eq(stats_adjust_pvalues(STATS_ADJUST_HOLM, p, 200), 0);
    /* m = 199 defined values: smallest * 199, next * 198 */
    REL(p[9].log10_p, -500 + log10(199.0), 1e-12);
    REL(p[7].log10_p, -400 + log10(198.0), 1e-12);
    cr_expect(!p[3].defined);
    cr_expect_eq(p[0].p, 1.0);
}

/* The one-sided mixture ratio of stats_msprt_log_lambda_greater, against
 * the integral over theta > 0 of the likelihood ratio times the
 * half-normal prior, computed by mpmath's quad at 30 digits:
 * log(quad(2 N(theta; 0, tau2) exp(theta d / V - theta^2 / (2 V)), [0, inf])). */
Test(stats_msprt, one_sided_mixture_matches_the_integral)
{
    double v = 0.000102, tau2 = 1e-4;
    REL(stats_msprt_log_lambda_greater(0.012, v, tau2), 0.475828591682595307605383008713, 1e-10);
    REL(stats_msprt_log_lambda_greater(-0.012, v, tau2), -0.900632994480631053074805313034,
        1e-10);
    /* at d = 0 the one-sided ratio equals the two-sided one (Phi(0) = 1/2) */
    REL(stats_msprt_log_lambda_greater(0.0, v, tau2), stats_msprt_log_lambda(0.0, v, tau2), 1e-12);
    /* for an effect of its sign it gains up to ln 2 over the two-sided ratio */
    double two = stats_msprt_log_lambda(0.05, v, tau2);
    double one = stats_msprt_log_lambda_greater(0.05, v, tau2);
    cr_expect(one > two && one <= two + M_LN2 + 1e-12, "one-sided %g, two-sided %g", one, two);
    /* far in the wrong direction it stays finite (log erfc, no underflow:
     * the two-sided part alone is about e^607 there) and below 1 */
    double far = stats_msprt_log_lambda_greater(-0.5, v, tau2);
    cr_expect(isfinite(far) && far < -0.900632994480631, "ln Lambda+ = %g", far);
}

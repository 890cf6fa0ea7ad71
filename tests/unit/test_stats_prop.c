/* Tests for stats_prop (conversion and decline rates), stats_srm and
 * stats_dist tails. Every expected number names its source; the scripts
 * are in tests/vectors/stats/ (reference.R -> reference-R.txt,
 * reference.py -> reference-py.txt). */
#include <criterion/criterion.h>
#include <gsl/gsl_math.h>
#include <math.h>

#include "stats.h"

#define REL(act, exp, tol)                                                                    \
    cr_expect(fabs((double)(act) - (double)(exp)) <= (tol) * fabs((double)(exp)),            \
              "%s = %.17g, expected %.17g (rel tol %g)", #act, (double)(act), (double)(exp), \
              (double)(tol))
#define ABS(act, exp, tol)                                                                    \
    cr_expect(fabs((double)(act) - (double)(exp)) <= (tol),                                  \
              "%s = %.17g, expected %.17g (abs tol %g)", #act, (double)(act), (double)(exp), \
              (double)(tol))

static void init(void) { stats_init(); }
TestSuite(stats_prop, .init = init);

Test(stats_prop, wilson_matches_prop_test)
{
    /* R 4.2.2: prop.test(120, 1000, correct = FALSE)$conf.int */
    stats_interval w = stats_wilson_interval(1000, 120, 0.05);
    cr_assert(w.defined);
    REL(w.lo, 0.10129926060130914, 1e-9);
    REL(w.hi, 0.14160907584771276, 1e-9);
    /* R 4.2.2: prop.test(0, 50, correct = FALSE)$conf.int */
    w = stats_wilson_interval(50, 0, 0.05);
    ABS(w.lo, 0.0, 0.0);
    REL(w.hi, 0.071347599133358683, 1e-9);
    /* R 4.2.2: prop.test(50, 50, correct = FALSE)$conf.int */
    w = stats_wilson_interval(50, 50, 0.05);
    REL(w.lo, 0.92865240086664136, 1e-9);
    ABS(w.hi, 1.0, 0.0);
    w = stats_wilson_interval(0, 0, 0.05);
    cr_expect(!w.defined);
    cr_expect_str_eq(w.why, "no visitors");
}

Test(stats_prop, z_test_wald_and_lift)
{
    stats_prop_result r;
    cr_assert_eq(stats_prop_compare(1000, 120, 1000, 150, 0.05, &r), 0);
    ABS(r.diff.value, 0.03, 1e-15);
    /* R 4.2.2: prop.test(c(150,120), c(1000,1000), correct=FALSE): X^2 = z^2, p */
    REL(r.z.value * r.z.value, 3.8535645472061657, 1e-9);
    cr_expect(r.z.value > 0.0);
    REL(r.p.p, 0.04964038686536882, 1e-9);
    REL(r.p.log10_p, log10(0.04964038686536882), 1e-9);
    /* mpmath 40 digits (reference.py): Wald interval and delta-method lift */
    REL(r.diff_ci.lo, 7.602882129778617e-05, 1e-7);
    REL(r.diff_ci.hi, 0.05992397117870221, 1e-9);
    REL(r.lift.value, 0.25, 1e-14);
    REL(r.lift_se.value, 0.14252192813739226, 1e-12);
    REL(r.lift_ci.lo, -0.02933784615649458, 1e-8);
    REL(r.lift_ci.hi, 0.5293378461564946, 1e-9);
    REL(r.lift_p.p, 0.07941062599894223, 1e-9);
}

Test(stats_prop, extreme_significance_keeps_log_p)
{
    /* 1e8 visitors per arm, 34% vs 34.24%: z = 35.79, p ~ 1e-280.
     * mpmath 40 digits (reference.py, "huge z", "huge log10 p"). */
    stats_prop_result r;
    stats_prop_compare(100000000, 34000000, 100000000, 34240000, 0.05, &r);
    REL(r.z.value, 35.79438766881547, 1e-9);
    REL(r.p.log10_p, -279.86955083489096, 1e-9);
    char buf[32];
    cr_expect_str_eq(stats_pvalue_format(r.p, buf, sizeof buf), "1.4e-280");
}

Test(stats_prop, edge_cases_are_undefined_with_reasons)
{
    stats_prop_result r;
    /* zero conversions everywhere: no variation */
    cr_expect_eq(stats_prop_compare(100, 0, 100, 0, 0.05, &r), 1);
    cr_expect(r.diff.defined);
    cr_expect(!r.p.defined);
    cr_expect(!r.diff_ci.defined);
    cr_expect(!r.lift.defined);
    cr_expect_str_eq(r.lift.why, "control rate is 0: relative lift is undefined");
    /* 100% conversion in both */
    stats_prop_compare(10, 10, 10, 10, 0.05, &r);
    cr_expect(!r.p.defined);
    /* an arm with zero visitors */
    cr_expect_eq(stats_prop_compare(0, 0, 10, 3, 0.05, &r), 1);
    cr_expect_str_eq(r.diff.why, "control has no visitors");
    /* n = 1 */
    stats_prop_compare(1, 0, 1, 1, 0.05, &r);
    cr_expect(r.p.defined);
    cr_expect(isfinite(r.p.p));
    /* invalid */
    cr_expect_eq(stats_prop_compare(10, 11, 10, 1, 0.05, &r), -1);
}

Test(stats_prop, chisq_independence_three_arms)
{
    /* R 4.2.2: chisq.test(rbind(c(120,150,135), c(880,850,1365)), correct=FALSE) */
    uint64_t n[] = {1000, 1000, 1500}, x[] = {120, 150, 135};
    stats_chisq_result c;
    cr_assert_eq(stats_prop_chisq_independence(n, x, 3, &c), 0);
    REL(c.statistic.value, 21.360617483396176, 1e-10);
    REL(c.df.value, 2.0, 0.0);
    REL(c.p.p, 2.2993275790877987e-05, 1e-8);
    /* an arm without visitors is left out; all zero is undefined */
    uint64_t n2[] = {10, 0}, x2[] = {1, 0};
    cr_expect_eq(stats_prop_chisq_independence(n2, x2, 2, &c), 1);
    cr_expect(!c.p.defined);
}

Test(stats_prop, srm_against_configured_weights)
{
    stats_srm_result s;
    /* anchors.md and R 4.2.2: chisq.test(c(600,400), p=c(.5,.5)): 40, 2.5396e-10 */
    uint64_t n[] = {600, 400};
    double w[] = {1, 1};
    cr_assert_eq(stats_srm(n, w, 2, 0.0, &s), 0);
    REL(s.statistic.value, 40.0, 1e-14);
    REL(s.p.p, 2.5396285894708649e-10, 1e-9);
    cr_expect(s.flagged);
    /* R 4.2.2: chisq.test(c(5100,2400,2500), p=c(2,1,1)/4): 6, 0.049787 */
    uint64_t n3[] = {5100, 2400, 2500};
    double w3[] = {50, 25, 25};
    stats_srm(n3, w3, 3, 0.0, &s);
    REL(s.statistic.value, 6.0, 1e-12);
    REL(s.p.p, 0.049787068367863944, 1e-9);
    cr_expect(!s.flagged);
    /* tiny samples are never flagged */
    uint64_t n4[] = {9, 1};
    stats_srm(n4, w, 2, 0.0, &s);
    cr_expect(s.p.p < 0.05);
    cr_expect(!s.flagged);
    /* bad weights */
    double wbad[] = {1, 0};
    cr_expect_eq(stats_srm(n, wbad, 2, 0.0, &s), -1);
    cr_expect(!s.p.defined);
}

Test(stats_prop, tails_in_log_space)
{
    /* R 4.2.2: pchisq(3000, 2, lower.tail=FALSE, log.p=TRUE)/log(10) */
    REL(stats_dist_ln_chisq_upper(3000, 2) / M_LN10, -651.44172285487764, 1e-10);
    /* R 4.2.2: (log(2) + pnorm(-40, log.p=TRUE))/log(10) */
    REL(stats_dist_ln_normal_two_sided(40) / M_LN10, -349.13597646368186, 1e-10);
    /* R 4.2.2: (log(2) + pt(-40, 1e6, log.p=TRUE))/log(10) */
    REL(stats_dist_ln_t_two_sided(40, 1e6) / M_LN10, -348.85797706841112, 1e-9);
    /* R 4.2.2: (log(2) + pt(-8, 5, log.p=TRUE))/log(10) */
    REL(stats_dist_ln_t_two_sided(8, 5) / M_LN10, -3.3072353132506023, 1e-10);
    stats_pvalue p = stats_dist_p_normal(40);
    cr_expect(p.defined);
    cr_expect_eq(p.p, 0.0); /* underflows; log10 carries it */
    char buf[32];
    cr_expect_str_eq(stats_pvalue_format(p, buf, sizeof buf), "7.3e-350");
}

Test(stats_prop, works_without_stats_init)
{
    /* GSL's handler is whatever it is; bad inputs must still not abort */
    cr_expect(isnan(stats_dist_normal_quantile(0.0)));
    cr_expect(isnan(stats_dist_t_quantile(1.5, 3)));
    cr_expect(isnan(stats_dist_ln_chisq_upper(1.0, -1.0)));
    double lo, up;
    cr_expect_eq(stats_dist_ibeta(-1, 1, 0.5, 0.5, &lo, &up), -1);
}

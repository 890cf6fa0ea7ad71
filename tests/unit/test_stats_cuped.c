/* Tests for stats_cuped (regression-adjusted revenue per visitor) and the
 * learned revenue cap (stats_revenue_learned_cap). Every expected number
 * names its source: R 4.2.2 running tests/vectors/stats/cuped.R (output in
 * cuped-R.txt, quoted by label), GrowthBook's published gbstats test, or
 * arithmetic written out next to it. */
#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"

#define REL(act, exp, tol)                                                                    \
    cr_expect(fabs((double)(act) - (double)(exp)) <= (tol) * fabs((double)(exp)),            \
              "%s = %.17g, expected %.17g (rel tol %g)", #act, (double)(act), (double)(exp), \
              (double)(tol))

static void init(void) { stats_init(); }
TestSuite(stats_cuped, .init = init);

/* cuped-R.txt, "sim control/treatment n Sy Syy Sx Sxx Sxy": sums of the
 * simulated per-visitor data, 4000 visitors per arm */
static const stats_cuped_arm sim0 = {4000, 29867.470000000001, 1420058.152299999958,
                                     95853.830000000002, 5507886.655899999663,
                                     1347736.632299999939};
static const stats_cuped_arm sim1 = {4000, 33810.320000000000, 1589610.570000000065,
                                     92170.759999999995, 5007029.712600000203,
                                     1356414.089500000002};

Test(stats_cuped, matches_lm_common_slope)
{
    stats_cuped_result r;
    cr_assert_eq(stats_cuped(&sim0, &sim1, STATS_CUPED_WITHIN, 0.05, &r), 0);
    /* the within-arm pooled theta is lm's slope on x and the adjusted
     * difference is lm's coefficient on arm: the same least-squares
     * solution, so only rounding separates them (1e-10) */
    REL(r.theta.value, 0.19844589181387234, 1e-10);      /* "slope on x (theta)" */
    REL(r.diff.value, 1.1684350276910316, 1e-10);        /* "arm estimate" */
    /* centred adjusted means are the intercepts of lm(y ~ arm + xc) */
    REL(r.mean0.value, 7.3755062361545383, 1e-10);       /* "intercept (adjusted mean 0)" */
    REL(r.mean1.value, 8.5439412638455696, 1e-10);       /* "intercept + arm (mean 1)" */
    /* the homoscedastic ANCOVA standard error and p are lm's exactly */
    REL(r.se_ols.value, 0.37602828353306694, 1e-9);      /* "arm std error" */
    REL(r.p_ols.p, 0.0018946246509302846, 1e-7);         /* "arm p" (t, 7997 df) */
    /* the reported se is the per-arm (Welch-style) one; it is not lm's:
     * lm pools the residual variance and adds theta's own uncertainty */
    REL(r.se.value, 0.37595247588337655, 1e-9);          /* "cuped welch se" */
    REL(r.df.value, 7977.1528550647408, 1e-9);           /* "cuped welch df" */
    REL(r.p.p, 0.0018906339368057513, 1e-7);             /* "cuped welch p" */
    REL(r.diff_ci.lo, 0.43146989643413403, 1e-8);        /* "cuped welch ci" */
    REL(r.diff_ci.hi, 1.90540015894792925, 1e-9);
    REL(r.variance_reduction.value, 0.095962280469624073, 1e-8); /* "variance reduction" */
    /* relative lift; its se against R's numerical gradient is the next
     * test (central differences, h = 1e-5: agreement to ~1e-8 at best) */
    REL(r.lift.value, 0.15842099379742569, 1e-10);       /* "lift m1/m0 - 1" */
    REL(r.lift_p.p, 0.0039591171174264729, 1e-6);        /* "lift p (t, welch df)" */
}

Test(stats_cuped, lift_se_matches_numerical_gradient)
{
    stats_cuped_result r;
    stats_cuped(&sim0, &sim1, STATS_CUPED_WITHIN, 0.05, &r);
    double tq = stats_dist_t_quantile(0.975, r.df.value);
    double se = (r.lift_ci.hi - r.lift_ci.lo) / (2.0 * tq);
    REL(se, 0.054964517267425073, 1e-7);                 /* "lift se (numerical gradient)" */
}

/* GrowthBook gbstats, test_analyze_metric_df_ra (frequentist, relative):
 * control n 3001, sums y 300, y^2 600, x 210, x^2 415, xy -20; treatment
 * n 3000, 222, 555, 120, 405, -10; published expected -0.281707154,
 * p_value 0.003732549. */
static const stats_cuped_arm gb0 = {3001, 300, 600, 210, 415, -20};
static const stats_cuped_arm gb1 = {3000, 222, 555, 120, 405, -10};

Test(stats_cuped, reproduces_gbstats_published_case)
{
    stats_cuped_result r;
    cr_assert_eq(stats_cuped(&gb0, &gb1, STATS_CUPED_GBSTATS, 0.05, &r), 0);
    /* the published figures, to their 9 digits */
    cr_expect(fabs(r.lift.value - -0.281707154) < 5e-10, "lift %.12f", r.lift.value);
    cr_expect(fabs(r.lift_p.p - 0.003732549) < 5e-10, "p %.12f", r.lift_p.p);
    /* full digits: cuped-R.txt, "gbstats ..." */
    REL(r.theta.value, -0.073211940348135454, 1e-10);
    REL(r.diff.value, -0.02816132827514771, 1e-10);
    REL(r.se.value, 0.011075982918923316, 1e-10);
    REL(r.df.value, 5995.2404225074397, 1e-9);
    REL(r.p.p, 0.011029368646360714, 1e-8);
    REL(r.lift.value, -0.28170715384572759, 1e-10);
    REL(r.lift_p.p, 0.0037325486152390442, 1e-8);
    double tq = stats_dist_t_quantile(0.975, r.df.value);
    REL((r.lift_ci.hi - r.lift_ci.lo) / (2.0 * tq), 0.097104876445109622, 1e-9);
    REL(r.variance_reduction.value, 0.0040367818949366141, 1e-7);
    cr_expect(!r.se_ols.defined);
}

Test(stats_cuped, default_mode_on_gbstats_case)
{
    /* the same sums in the default mode: within-arm theta, centred means,
     * lift m1/m0 - 1 with the full delta method (cuped-R.txt, "within") */
    stats_cuped_result r;
    cr_assert_eq(stats_cuped(&gb0, &gb1, STATS_CUPED_WITHIN, 0.05, &r), 0);
    REL(r.theta.value, -0.074794048674378791, 1e-10);
    REL(r.diff.value, -0.028208754621375245, 1e-10);
    REL(r.se.value, 0.011075972985503181, 1e-10);
    REL(r.p.p, 0.010895036218754438, 1e-8);
    REL(r.lift.value, -0.27905276537909496, 1e-10);
    REL(r.lift_p.p, 0.0033602543678309389, 1e-8);
    double tq = stats_dist_t_quantile(0.975, r.df.value);
    REL((r.lift_ci.hi - r.lift_ci.lo) / (2.0 * tq), 0.095113986777893927, 1e-9);
}

Test(stats_cuped, zero_covariate_variance_is_plain_welch)
{
    /* nobody has a cart value: x = 0 everywhere, theta is 0 with a note
     * and every figure equals stats_welch's on the same revenue sums */
    stats_cuped_arm a = {50, 201.5, 4909.25, 0, 0, 0}, b = {50, 342, 8856, 0, 0, 0};
    stats_cuped_result r;
    stats_welch_result w;
    cr_assert_eq(stats_cuped(&a, &b, STATS_CUPED_WITHIN, 0.05, &r), 0);
    stats_welch(50, 201.5, 4909.25, 50, 342, 8856, 0.05, &w);
    cr_expect(r.theta.defined && r.theta.value == 0.0);
    cr_expect_not_null(r.theta_note);
    REL(r.diff.value, w.diff.value, 1e-14);
    REL(r.se.value, w.se.value, 1e-14);
    REL(r.p.p, w.p.p, 1e-12);
    REL(r.lift.value, w.lift.value, 1e-14);
    REL(r.lift_ci.lo, w.lift_ci.lo, 1e-12);
    REL(r.lift_p.p, w.lift_p.p, 1e-12);
    cr_expect(r.variance_reduction.defined && fabs(r.variance_reduction.value) < 1e-15);
    /* a constant covariate (every visitor has the same cart) is the same */
    stats_cuped_arm a2 = a, b2 = b;
    a2.sx = 50 * 7.0; a2.sxx = 50 * 49.0; a2.sxy = 7.0 * 201.5;
    b2.sx = 50 * 7.0; b2.sxx = 50 * 49.0; b2.sxy = 7.0 * 342;
    cr_assert_eq(stats_cuped(&a2, &b2, STATS_CUPED_WITHIN, 0.05, &r), 0);
    cr_expect(r.theta.value == 0.0 && r.theta_note);
    REL(r.p.p, w.p.p, 1e-12);
}

Test(stats_cuped, undefined_and_invalid)
{
    stats_cuped_result r;
    stats_cuped_arm none = {0, 0, 0, 0, 0, 0}, one = {1, 5, 25, 2, 4, 10};
    cr_expect_eq(stats_cuped(&none, &sim1, STATS_CUPED_WITHIN, 0.05, &r), 1);
    cr_expect(!r.diff.defined);
    cr_expect_str_eq(r.diff.why, "control has no visitors");
    cr_expect_eq(stats_cuped(&sim0, &none, STATS_CUPED_WITHIN, 0.05, &r), 1);
    cr_expect_str_eq(r.p.why, "treatment has no visitors");
    cr_expect_eq(stats_cuped(&one, &sim1, STATS_CUPED_WITHIN, 0.05, &r), 1);
    cr_expect_str_eq(r.theta.why, "an arm has fewer than two visitors");
    /* Syy < Sy^2/n */
    stats_cuped_arm bad = sim0;
    bad.syy = 1.0;
    cr_expect_eq(stats_cuped(&bad, &sim1, STATS_CUPED_WITHIN, 0.05, &r), -1);
    cr_expect(!r.theta.defined);
    /* Sxx < Sx^2/n */
    bad = sim0;
    bad.sxx = 1.0;
    cr_expect_eq(stats_cuped(&sim0, &bad, STATS_CUPED_WITHIN, 0.05, &r), -1);
    /* |SSxy| > sqrt(SSxx SSyy): x = y = (1, 2) gives SSxy = SSxx = SSyy
     * = 0.5; Sxy = 7 makes SSxy = 2.5 */
    stats_cuped_arm cs = {2, 3, 5, 3, 5, 7};
    cr_expect_eq(stats_cuped(&cs, &sim1, STATS_CUPED_WITHIN, 0.05, &r), -1);
    cs.sxy = 5; /* consistent: x = y */
    cr_expect_eq(stats_cuped(&cs, &cs, STATS_CUPED_WITHIN, 0.05, &r), 1);
    /* x = y in both arms: theta = 1, the adjusted y - x is 0: nothing
     * left to test */
    REL(r.theta.value, 1.0, 1e-14);
    cr_expect(!r.p.defined);
    cr_expect_str_eq(r.p.why, "adjusted revenue has zero variance in both arms");
    /* NaN input */
    bad = sim0;
    bad.sxy = NAN;
    cr_expect_eq(stats_cuped(&bad, &sim1, STATS_CUPED_WITHIN, 0.05, &r), -1);
}

Test(stats_cuped, control_without_revenue_has_no_relative_lift)
{
    /* control earned nothing: the difference is defined, the lift not */
    stats_cuped_arm a = {100, 0, 0, 500, 5000, 0}, b = {100, 300, 3000, 400, 4000, 2000};
    stats_cuped_result r;
    cr_expect_eq(stats_cuped(&a, &b, STATS_CUPED_GBSTATS, 0.05, &r), 1);
    cr_expect(r.diff.defined && r.p.defined);
    cr_expect(!r.lift.defined);
    cr_expect_str_eq(r.lift.why, "control revenue per visitor is 0: relative lift is undefined");
}

Test(stats_cuped, learned_cap_hand_computed)
{
    /* 100 converters, 50 with orders of 10 and 50 of 30: S = 2000,
     * Q = 50*100 + 50*900 = 50000; mean 20; SS = 50000 - 2000^2/100 = 10000;
     * SD = sqrt(10000/99) = 10.050378152592121; cap = 20 + 3 SD */
    stats_value c = stats_revenue_learned_cap(100, 2000, 50000, 0, 0);
    cr_assert(c.defined, "%s", c.why);
    REL(c.value, 20.0 + 3.0 * sqrt(10000.0 / 99.0), 1e-15);
    REL(c.value, 50.151134457776363, 1e-14);
    /* k = 2 */
    c = stats_revenue_learned_cap(100, 2000, 50000, 2.0, 0);
    REL(c.value, 20.0 + 2.0 * 10.050378152592121, 1e-14);
    /* below the default minimum of 100 converters: undefined */
    c = stats_revenue_learned_cap(99, 1980, 49500, 3.0, 0);
    cr_expect(!c.defined);
    cr_expect_str_eq(c.why, "too few converting visitors to learn a cap");
    /* an explicit minimum: 4 orders 10, 20, 30, 40: S 100, Q 3000, mean
     * 25, SS = 3000 - 2500 = 500, SD = sqrt(500/3) = 12.909944487358056 */
    c = stats_revenue_learned_cap(4, 100, 3000, 3.0, 4);
    REL(c.value, 25.0 + 3.0 * 12.909944487358056, 1e-14);
    /* all orders equal: SD 0, the cap is the order value */
    c = stats_revenue_learned_cap(200, 200 * 25.0, 200 * 625.0, 3.0, 0);
    REL(c.value, 25.0, 1e-15);
    /* inconsistent and invalid sums */
    cr_expect(!stats_revenue_learned_cap(200, 5000, 100, 3.0, 0).defined);
    cr_expect(!stats_revenue_learned_cap(200, -1, 100, 3.0, 0).defined);
    cr_expect(!stats_revenue_learned_cap(NAN, 1, 100, 3.0, 0).defined);
    /* a minimum below 2 is raised to 2: one order has no SD */
    cr_expect(!stats_revenue_learned_cap(1, 10, 100, 3.0, 1).defined);
}

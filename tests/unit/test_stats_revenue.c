/* Tests for stats_revenue (Welch, AOV) and stats_power. Sources next to
 * every number; scripts in tests/vectors/stats/. */
#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"

#define REL(act, exp, tol)                                                                    \
    cr_expect(fabs((double)(act) - (double)(exp)) <= (tol) * fabs((double)(exp)),            \
              "%s = %.17g, expected %.17g (rel tol %g)", #act, (double)(act), (double)(exp), \
              (double)(tol))

static void init(void) { stats_init(); }
TestSuite(stats_revenue, .init = init);

Test(stats_revenue, welch_gbstats_published_example)
{
    /* anchors.md (GrowthBook gbstats test file): diff 0.29,
     * CI (0.04538, 0.53462), p 0.02016; lift 0.70732, CI (-0.03526, 1.44989),
     * p 0.06191. Full digits from R 4.2.2 (reference.R, "welch gbstats"). */
    stats_welch_result r;
    cr_assert_eq(stats_welch(3407, 1396.87, 52377.9767, 3461, 2422.7, 134698.29, 0.05, &r), 0);
    REL(r.diff.value, 0.29, 1e-12);
    REL(r.t.value, 2.3240227609215203, 1e-9);
    REL(r.df.value, 5841.7420320935644, 1e-9);
    REL(r.p.p, 0.020158402643586967, 1e-8);
    REL(r.diff_ci.lo, 0.045377892559290117, 1e-8);
    REL(r.diff_ci.hi, 0.534622107440709815, 1e-9);
    REL(r.lift.value, 0.70731707317073167, 1e-12);
    /* the published relative interval uses the t quantile with the Welch df */
    REL(r.lift_ci.lo, -0.035260089066117772, 1e-7);
    REL(r.lift_ci.hi, 1.449894235407581, 1e-9);
    REL(r.lift_p.p, 0.061911827456183587, 1e-8);
    /* and the rounded published figures */
    cr_expect(fabs(r.diff_ci.lo - 0.04538) < 5e-6 && fabs(r.diff_ci.hi - 0.53462) < 5e-6);
    cr_expect(fabs(r.lift_ci.lo + 0.03526) < 5e-6 && fabs(r.lift_ci.hi - 1.44989) < 5e-6);
}

Test(stats_revenue, welch_matches_t_test_on_raw_data)
{
    /* R 4.2.2: t.test(xb, xa, var.equal = FALSE) on the vectors in
     * reference.R; (n, S, Q) = (50, 201.5, 4909.25) and (50, 342, 8856). */
    stats_welch_result r;
    stats_welch(50, 201.5, 4909.25, 50, 342, 8856, 0.05, &r);
    REL(r.t.value, 1.3500546680781331, 1e-9);
    REL(r.df.value, 93.15905992965115, 1e-9);
    REL(r.p.p, 0.18026953051345382, 1e-8);
    REL(r.diff_ci.lo, -1.3231493248362913, 1e-8);
    REL(r.diff_ci.hi, 6.9431493248362903, 1e-9);
}

Test(stats_revenue, welch_edge_cases)
{
    stats_welch_result r;
    /* n = 1: mean defined, variance not */
    cr_expect_eq(stats_welch(1, 10, 100, 5, 10, 40, 0.05, &r), 1);
    cr_expect(r.diff.defined);
    cr_expect(!r.p.defined);
    /* zero variance both arms */
    stats_welch(10, 0, 0, 10, 0, 0, 0.05, &r);
    cr_expect(!r.p.defined);
    cr_expect_str_eq(r.p.why, "revenue has zero variance in both arms");
    /* inconsistent sums */
    cr_expect_eq(stats_welch(10, 100, 10, 10, 5, 25, 0.05, &r), -1);
    /* a single huge order: stays finite and not significant */
    cr_expect_eq(stats_welch(100000, 5000, 250000, 100000, 5000 + 1e6, 250000 + 1e12, 0.05, &r),
                 0);
    cr_expect(r.p.defined && r.p.p > 0.3);
    /* zero visitors */
    cr_expect_eq(stats_welch(0, 0, 0, 10, 1, 1, 0.05, &r), 1);
    cr_expect(!r.diff.defined);
}

Test(stats_revenue, aov_delta_method)
{
    /* mpmath 40 digits (reference.py, "aov"): se = sqrt((Q/x - (S/x)^2)/x) */
    stats_aov_result a;
    cr_assert_eq(stats_aov_compare(100, 5000, 300000, 90, 5400, 380000, 0.05, &a), 0);
    REL(a.aov0.value, 50.0, 1e-15);
    REL(a.se0.value, 2.23606797749979, 1e-12);
    REL(a.se1.value, 2.629368792488718, 1e-12);
    REL(a.diff_ci.lo, 3.2349776108608865, 1e-9);
    REL(a.diff_ci.hi, 16.765022389139112, 1e-9);
    REL(a.p.p, 0.003765066318316187, 1e-8);
    cr_expect_eq(stats_aov_compare(0, 0, 0, 90, 5400, 380000, 0.05, &a), 1);
    cr_expect(!a.aov0.defined);
    cr_expect_str_eq(a.p.why, "control has no conversions");
}

Test(stats_revenue, power_matches_power_prop_test)
{
    /* R 4.2.2: power.prop.test(p1=.10, p2=.11, power=.8)$n */
    REL(stats_power_n_exact(0.10, 0.11, 0.05, 0.8, true), 14750.790469046382, 1e-8);
    stats_value n = stats_power_n_per_arm(0.10, 0.11, 0.05, 0.8, true);
    cr_expect_eq(n.value, 14751.0);
    /* R 4.2.2: power.prop.test(p1=.05, p2=.06, sig.level=.01, power=.9)$n */
    REL(stats_power_n_exact(0.05, 0.06, 0.01, 0.9, true), 15464.651047663947, 1e-8);
    /* anchors.md: baseline 0.34, absolute MDE 0.003, power 0.85 -> 897,348
     * in total. R 4.2.2: power.prop.test(p1=.34, p2=.343, power=.85)$n =
     * 448674.395 per arm: the published total is the pooled formula with n
     * rounded to the nearest visitor (2 x 448,674); the unpooled formula
     * gives 448,671.46 (R closed form in reference.R). We round up. */
    double pooled = stats_power_n_exact(0.34, 0.343, 0.05, 0.85, true);
    REL(pooled, 448674.39524559956, 1e-8);
    cr_expect_eq(2.0 * round(pooled), 897348.0);
    REL(stats_power_n_exact(0.34, 0.343, 0.05, 0.85, false), 448671.45883267251, 1e-8);
    cr_expect_eq(stats_power_n_per_arm(0.34, 0.343, 0.05, 0.85, true).value, 448675.0);
    cr_expect_eq(stats_power_n_per_arm(0.34, 0.343, 0.05, 0.85, false).value, 448672.0);
    /* a decrease of the same size: 0.34 -> 0.337. R 4.2.2
     * power.prop.test(p1=.34, p2=.337, power=.85)$n (reference.R);
     * unpooled from SciPy 1.10.1 normal quantiles (power_decrease.py) */
    REL(stats_power_n_exact(0.34, 0.337, 0.05, 0.85, true), 446759.00383799028, 1e-8);
    REL(stats_power_n_exact(0.34, 0.337, 0.05, 0.85, false), 446756.06742507376, 1e-8);
    cr_expect_eq(stats_power_n_per_arm(0.34, 0.337, 0.05, 0.85, true).value, 446760.0);
    /* undefined inputs */
    cr_expect(!stats_power_n_per_arm(0.0, 0.1, 0.05, 0.8, true).defined);
    cr_expect(!stats_power_n_per_arm(0.9, 1.1, 0.05, 0.8, true).defined);
}

Test(stats_revenue, days_remaining)
{
    uint64_t n[] = {1000, 500};
    double w[] = {1, 1};
    /* arm 1 misses 14251 at 5000/day * 1/2 -> 5.7 -> 6 days */
    stats_value d = stats_power_days_remaining(14751, n, w, 2, 5000);
    cr_expect_eq(d.value, 6.0);
    cr_expect(!stats_power_days_remaining(14751, n, w, 2, 0).defined);
    uint64_t done[] = {20000, 20000};
    cr_expect_eq(stats_power_days_remaining(14751, done, w, 2, 100).value, 0.0);
}

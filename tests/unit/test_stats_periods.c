/* Tests for stats_periods.h: the period-weighted and naive figures, the
 * differences and the SRM under changing weights against
 * tests/vectors/stats/periods.txt, which tests/vectors/stats/periods.py
 * computes from simulated visitors (not from sums), to 1e-9 relative;
 * then the cases the reference does not cover. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stats_periods.h"

#define K 3
#define NP 4

static stats_periods_cell rate_cells[NP * K], mean_cells[NP * K];
static double weights[NP * K];
static uint64_t visitors[NP * K];
static double want_rate[K][8], want_mean[K][8], want_srm[K + 3];

static void load(void)
{
    stats_init();
    FILE *f = fopen(UPSHOT_SOURCE_DIR "/tests/vectors/stats/periods.txt", "r");
    cr_assert_not_null(f);
    char line[1024];
    int ncells = 0, nrate = 0, nmean = 0, nsrm = 0;
    while (fgets(line, sizeof line, f)) {
        int p, i;
        unsigned long long n, conv;
        double s, q, w, x[8];
        if (sscanf(line, "cell %d %d %llu %llu %lf %lf %lf", &p, &i, &n, &conv, &s, &q, &w) == 7) {
            rate_cells[p * K + i] = (stats_periods_cell){n, (double)conv, (double)conv};
            mean_cells[p * K + i] = (stats_periods_cell){n, s, q};
            weights[p * K + i] = w;
            visitors[p * K + i] = n;
            ncells++;
        } else if (sscanf(line, "rate %d %lf %lf %lf %lf %lf %lf %lf %lf", &i, &x[0], &x[1], &x[2],
                          &x[3], &x[4], &x[5], &x[6], &x[7]) >= 5) {
            memcpy(want_rate[i], x, sizeof x);
            nrate++;
        } else if (sscanf(line, "mean %d %lf %lf %lf %lf %lf %lf %lf %lf", &i, &x[0], &x[1], &x[2],
                          &x[3], &x[4], &x[5], &x[6], &x[7]) >= 5) {
            memcpy(want_mean[i], x, sizeof x);
            nmean++;
        } else if (sscanf(line, "srm %lf %lf %lf %lf %lf %lf", &want_srm[0], &want_srm[1],
                          &want_srm[2], &want_srm[3], &want_srm[4], &want_srm[5]) == 6) {
            nsrm++;
        }
    }
    fclose(f);
    cr_assert(ncells == NP * K && nrate == K && nmean == K && nsrm == 1, "the reference file");
}

TestSuite(stats_periods, .init = load);

#define CLOSE(act, want, what)                                                                     \
    cr_expect(fabs((act) - (want)) <= 1e-9 * fabs(want) + 1e-300, "%s: %.17g, reference %.17g",   \
              what, (double)(act), (double)(want))

static void check(const stats_periods_cell *cells, stats_periods_kind kind, double want[K][8])
{
    stats_periods_arm a[K];
    size_t used = 0;
    cr_assert_eq(stats_periods_analyze(cells, NP, K, 0, kind, 0.05, a, &used), 0);
    cr_expect_eq(used, (size_t)NP);
    for (int i = 0; i < K; i++) {
        cr_assert(a[i].weighted.estimate.defined && a[i].naive.estimate.defined);
        CLOSE(a[i].weighted.estimate.value, want[i][0], "weighted");
        CLOSE(a[i].weighted.se.value, want[i][1], "weighted se");
        CLOSE(a[i].naive.estimate.value, want[i][2], "naive");
        CLOSE(a[i].naive.se.value, want[i][3], "naive se");
        if (i == 0) {
            cr_expect(!a[i].diff.defined && !a[i].p.defined, "the control has no difference");
            continue;
        }
        cr_assert(a[i].diff.defined && a[i].ci.defined && a[i].p.defined);
        CLOSE(a[i].diff.value, want[i][4], "diff");
        CLOSE(a[i].ci.lo, want[i][5], "ci lo");
        CLOSE(a[i].ci.hi, want[i][6], "ci hi");
        CLOSE(a[i].p.p, want[i][7], "p");
    }
}

Test(stats_periods, rates_match_the_reference_from_visitors)
{
    check(rate_cells, STATS_PERIODS_RATE, want_rate);
}

Test(stats_periods, revenue_means_match_the_reference_from_visitors)
{
    check(mean_cells, STATS_PERIODS_MEAN, want_mean);
}

Test(stats_periods, the_reference_shows_the_naive_bias_the_weights_remove)
{
    /* Arm 2 has control's rate in every period but got most of its
     * visitors late, when every rate was low: pooled it looks a point
     * and a half worse; weighted it is within 0.01 points. */
    cr_expect_lt(want_rate[2][2] - want_rate[0][2], -0.01);
    cr_expect_lt(fabs(want_rate[2][0] - want_rate[0][0]), 0.0001);
}

Test(stats_periods, srm_expectations_follow_the_weights_in_force)
{
    stats_periods_srm s;
    cr_assert_eq(stats_periods_srm_run(visitors, weights, NP, K, 1000.0, 0, &s), 0);
    for (int i = 0; i < K; i++)
        CLOSE(s.expected[i], want_srm[i], "expected");
    CLOSE(s.chi2.value, want_srm[K], "chi2");
    CLOSE(s.p.p, want_srm[K + 1], "chi-square p");
    CLOSE(s.p_always_valid.p, want_srm[K + 2], "always-valid p");
    cr_expect(!s.flagged);
    /* Against the starting weights the same split is a gross mismatch. */
    double start[NP * K];
    for (int i = 0; i < NP * K; i++)
        start[i] = 1.0 / 3;
    cr_assert_eq(stats_periods_srm_run(visitors, start, NP, K, 1000.0, 0, &s), 0);
    cr_expect(s.flagged, "the fixed-weight expectation would raise a false alarm");
}

Test(stats_periods, srm_catches_a_lost_arm_under_moving_weights)
{
    uint64_t n[NP * K];
    memcpy(n, visitors, sizeof n);
    for (int p = 0; p < NP; p++)
        n[p * K + 1] = n[p * K + 1] * 7 / 10; /* 30% of arm 1 lost in every period */
    stats_periods_srm s;
    cr_assert_eq(stats_periods_srm_run(n, weights, NP, K, 1000.0, 0, &s), 0);
    cr_expect(s.flagged, "p_always_valid %g", s.p_always_valid.p);
}

Test(stats_periods, a_period_without_every_arm_is_left_out_of_the_weights)
{
    stats_periods_cell c[2 * 2] = {{100, 10, 10}, {100, 20, 20}, {50, 5, 5}, {1, 1, 1}};
    stats_periods_arm a[2];
    size_t used = 9;
    cr_assert_eq(stats_periods_analyze(c, 2, 2, 0, STATS_PERIODS_RATE, 0.05, a, &used), 0);
    cr_expect_eq(used, 1u);
    cr_expect_float_eq(a[1].weighted.estimate.value, 0.2, 1e-15);
    cr_expect_float_eq(a[1].naive.estimate.value, 21.0 / 101, 1e-15);
    /* nothing usable: weighted figures undefined, naive still there */
    cr_assert_eq(stats_periods_analyze(c + 2, 1, 2, 0, STATS_PERIODS_RATE, 0.05, a, &used), 0);
    cr_expect_eq(used, 0u);
    cr_expect(!a[0].weighted.estimate.defined && !a[1].diff.defined && a[1].naive.estimate.defined);
    cr_expect_eq(stats_periods_analyze(c, 2, 1, 0, STATS_PERIODS_RATE, 0.05, a, &used), -1);
}

Test(stats_periods, one_period_is_the_plain_comparison)
{
    stats_periods_cell c[2] = {{1000, 100, 100}, {1000, 130, 130}};
    stats_periods_arm a[2];
    cr_assert_eq(stats_periods_analyze(c, 1, 2, 0, STATS_PERIODS_RATE, 0.05, a, NULL), 0);
    cr_expect_float_eq(a[1].weighted.estimate.value, a[1].naive.estimate.value, 1e-15);
    cr_expect_float_eq(a[1].weighted.se.value, sqrt(0.13 * 0.87 / 1000), 1e-15);
    cr_expect_float_eq(a[1].diff.value, 0.03, 1e-15);
}

Test(stats_periods, the_equivalent_sample_has_the_weighted_mean_and_variance)
{
    stats_periods_equiv q;
    for (int i = 0; i < K; i++) {
        cr_assert_eq(stats_periods_effective(rate_cells, NP, K, (size_t)i, STATS_PERIODS_RATE, &q), 0);
        CLOSE(q.mean, want_rate[i][0], "mean");
        uint64_t n = 0;
        for (int p = 0; p < NP; p++)
            n += rate_cells[p * K + i].n;
        cr_expect_leq(q.n_eff, (double)n, "never more than the real visitors");
        double v = want_rate[i][1] * want_rate[i][1];
        if (q.n_eff < (double)n)
            CLOSE(q.mean * (1 - q.mean) / q.n_eff, v, "variance");
        else
            cr_expect_geq(q.mean * (1 - q.mean) / q.n_eff, v * (1 - 1e-12), "capped: conservative");
    }
}

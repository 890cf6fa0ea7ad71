/* Tests for stats_srm: the chi-square check and the sequential Bayes
 * factor test. ln BF references: mpmath 1.2.1 loggamma at 40 digits
 * (tests/vectors/stats/srm_bf.py -> srm_bf.txt), itself checked there
 * against numerical integration of the Dirichlet mixture. Chi-square: R
 * chisq.test (docs/stats.md anchor). */
#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"

#define ABS(act, exp, tol)                                                                    \
    cr_expect(fabs((double)(act) - (double)(exp)) <= (tol),                                  \
              "%s = %.17g, expected %.17g (abs tol %g)", #act, (double)(act), (double)(exp), \
              (double)(tol))

static void init(void) { stats_init(); }
TestSuite(stats_srm, .init = init);

Test(stats_srm, chi_square_anchor)
{
    /* R 4.2.2 chisq.test(c(600, 400)): X^2 = 40, p = 2.54e-10 */
    uint64_t n[2] = {600, 400};
    double w[2] = {1, 1};
    stats_srm_result r;
    cr_assert_eq(stats_srm(n, w, 2, 0, &r), 0);
    ABS(r.statistic.value, 40.0, 1e-12);
    cr_expect(r.flagged);
}

Test(stats_srm, log_bayes_factor_matches_mpmath)
{
    /* srm_bf.txt, "log_bf" lines: mpmath loggamma at 40 digits */
    static const struct {
        uint64_t n[3];
        double w[3];
        size_t k;
        double c, ref;
    } cases[] = {
        {{600, 400}, {1, 1}, 2, 1000, 9.675061953898252},
        {{510, 490}, {1, 1}, 2, 1000, -0.24664690434168063},
        {{600, 400}, {1, 1}, 2, 1, 16.455587614160642},
        {{2000, 1900, 2100}, {1, 1, 1}, 3, 1000, 2.341464969711922},
        {{40000, 20000, 20000}, {2, 1, 1}, 3, 1000, -4.395189895038182},
        {{30000, 30000, 27000}, {1, 1, 1}, 3, 1000, 99.02027003661333},
        {{60300, 59700, 60000}, {1, 1, 1}, 3, 1000, -3.7074287977646585},
        {{0, 5}, {1, 1}, 2, 1000, 0.009955232013842324},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ABS(stats_srm_log_bf(cases[i].n, cases[i].w, cases[i].k, cases[i].c), cases[i].ref,
            1e-9);
    /* 1e8 visitors: lgamma of ~1.8e9 keeps ~1e-7 absolute */
    uint64_t big[3] = {34000000, 33000000, 33000000};
    double w3[3] = {1, 1, 1};
    ABS(stats_srm_log_bf(big, w3, 3, 1000), 9955.548938763008, 1e-6);
    /* the default concentration */
    uint64_t n2[2] = {600, 400};
    double w2[2] = {1, 1};
    ABS(stats_srm_log_bf(n2, w2, 2, 0), 9.675061953898252, 1e-9);
    /* invalid */
    double bad[2] = {1, 0};
    cr_expect(isnan(stats_srm_log_bf(n2, bad, 2, 1000)));
    cr_expect(isnan(stats_srm_log_bf(n2, w2, 1, 1000)));
}

Test(stats_srm, sequential_p_is_the_running_minimum_of_one_over_bf)
{
    /* three cumulative looks: ln BF goes up at look 1, then back down;
     * the always-valid p keeps the largest ln BF seen */
    double w[2] = {1, 1};
    uint64_t looks[3 * 2] = {100, 100, 600, 400, 1510, 1490};
    stats_srm_seq_result r;
    cr_assert_eq(stats_srm_sequential(looks, 3, w, 2, 1000, 0.001, &r), 0);
    ABS(r.max_log_bf.value, 9.675061953898252, 1e-9); /* srm_bf.txt, 600/400 */
    ABS(r.p.p, exp(-9.675061953898252), 1e-15);
    cr_expect(r.flagged, "1/BF = %g < 0.001", r.p.p);
    cr_expect(r.log_bf.value < r.max_log_bf.value);
    /* the same data as a single last look is not flagged: the alarm
     * remembers what it saw */
    cr_assert_eq(stats_srm_sequential(looks + 4, 1, w, 2, 1000, 0.001, &r), 0);
    cr_expect(!r.flagged);
    cr_expect(r.p.p > 0.001);
    /* no visitors; no looks */
    uint64_t zero[2] = {0, 0};
    cr_expect_eq(stats_srm_sequential(zero, 1, w, 2, 1000, 0.001, &r), 1);
    cr_expect(!r.p.defined && !r.flagged);
    cr_expect_eq(stats_srm_sequential(looks, 0, w, 2, 1000, 0.001, &r), -1);
}

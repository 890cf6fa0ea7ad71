/* Tests for stats_bandit: the weight rule (control share, additive floor,
 * uniform when the floor leaves no room), waiting for the minimum per arm,
 * reproducibility from the seed, and the Monte Carlo figures against exact
 * values (the probability that one Beta draw exceeds another, summed in
 * closed form as in Evan Miller's "Formulas for Bayesian A/B testing"). */
#include <criterion/criterion.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <string.h>

#include "stats.h"
#include "stats_bandit.h"

static void init(void) { stats_init(); }
TestSuite(stats_bandit, .init = init);

static stats_bandit_config conf(size_t k, double control_share, double floor_share)
{
    return (stats_bandit_config){.k = k, .control = 0, .control_share = control_share,
                                 .floor = floor_share, .min_per_arm = 100,
                                 .metric = STATS_BANDIT_CONVERSION,
                                 .beta = STATS_BANDIT_DEFAULT_BETA,
                                 .draws = STATS_BANDIT_DEFAULT_DRAWS, .seed = 42};
}

static double sum(const double *w, size_t k)
{
    double s = 0;
    for (size_t i = 0; i < k; i++)
        s += w[i];
    return s;
}

Test(stats_bandit, floor_identity_and_control_share)
{
    stats_bandit_config c = conf(4, 0.25, 0.05);
    double a[4] = {0, 0.7, 0.2, 0.1}, w[4];
    stats_bandit_weights_from(&c, a, w);
    /* control 0.25; room = 0.75 - 3 * 0.05 = 0.6 shared by a */
    cr_expect_float_eq(w[0], 0.25, 1e-15);
    cr_expect_float_eq(w[1], 0.05 + 0.6 * 0.7, 1e-15);
    cr_expect_float_eq(w[2], 0.05 + 0.6 * 0.2, 1e-15);
    cr_expect_float_eq(w[3], 0.05 + 0.6 * 0.1, 1e-15);
    cr_expect_float_eq(sum(w, 4), 1.0, 1e-12);

    /* The control's own entry never counts, even when the caller sets it. */
    double a2[4] = {5, 0.7, 0.2, 0.1}, w2[4];
    stats_bandit_weights_from(&c, a2, w2);
    cr_expect(memcmp(w, w2, sizeof w) == 0);
}

Test(stats_bandit, floor_without_room_is_uniform)
{
    /* 3 treatments x 0.3 = 0.9 > 1 - 0.2: the floor leaves no room. */
    stats_bandit_config c = conf(4, 0.2, 0.3);
    double a[4] = {0, 1, 0, 0}, w[4];
    stats_bandit_weights_from(&c, a, w);
    cr_expect_float_eq(w[0], 0.2, 1e-15);
    for (int i = 1; i < 4; i++)
        cr_expect_float_eq(w[i], 0.8 / 3, 1e-15);
    /* Exactly no room: also uniform. */
    c.floor = 0.8 / 3;
    stats_bandit_weights_from(&c, a, w);
    cr_expect_float_eq(sum(w, 4), 1.0, 1e-12);
    cr_expect_float_eq(w[2], 0.8 / 3, 1e-12);
}

Test(stats_bandit, waits_for_the_minimum_per_arm)
{
    stats_bandit_config c = conf(3, 1.0 / 3, 0.05);
    stats_bandit_arm arms[3] = {{500, 20, 0, 0}, {99, 30, 0, 0}, {500, 40, 0, 0}};
    double prev[3] = {0.4, 0.3, 0.3};
    stats_bandit_update u;
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &u), 0);
    cr_expect(u.waiting);
    cr_expect_eq(u.fewest, 1);
    cr_expect(memcmp(u.weights, prev, sizeof prev) == 0);
    arms[1].visitors = 100;
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &u), 0);
    cr_expect_not(u.waiting);
    cr_expect_float_eq(u.weights[0], 1.0 / 3, 1e-15);
}

Test(stats_bandit, same_seed_same_weights)
{
    stats_bandit_config c = conf(4, 0.2, 0.02);
    stats_bandit_arm arms[4] = {{1000, 40, 0, 0}, {1000, 45, 0, 0}, {1000, 52, 0, 0},
                                {1000, 38, 0, 0}};
    double prev[4] = {0.25, 0.25, 0.25, 0.25};
    stats_bandit_update a, b, d;
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &a), 0);
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &b), 0);
    cr_expect(memcmp(&a, &b, sizeof a) == 0, "same data, settings and seed: same update");
    c.seed = 43;
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &d), 0);
    cr_expect(memcmp(a.allocation, d.allocation, sizeof a.allocation) != 0,
              "another seed draws differently");
    /* ... but within Monte Carlo error of the first (sd <= 0.005 each). */
    for (int i = 0; i < 4; i++)
        cr_expect(fabs(a.allocation[i] - d.allocation[i]) < 0.03);
    cr_expect_float_eq(sum(a.weights, 4), 1.0, 1e-12);
    cr_expect_float_eq(a.weights[0], 0.2, 1e-15);
}

/* P(B > A) for A ~ Beta(a1, b1), B ~ Beta(a2, b2) with integer a2:
 * sum_{i=0}^{a2-1} B(a1 + i, b1 + b2) / ((b2 + i) B(1 + i, b2) B(a1, b1)). */
static double prob_b_beats_a(double a1, double b1, double a2, double b2)
{
    double total = 0;
    for (int i = 0; i < (int)a2; i++)
        total += exp(gsl_sf_lnbeta(a1 + i, b1 + b2) - log(b2 + i) - gsl_sf_lnbeta(1 + i, b2) -
                     gsl_sf_lnbeta(a1, b1));
    return total;
}

Test(stats_bandit, probability_best_matches_the_closed_form)
{
    stats_bandit_config c = conf(2, 0.5, 0);
    stats_bandit_arm arms[2] = {{400, 20, 0, 0}, {400, 28, 0, 0}};
    double prev[2] = {0.5, 0.5};
    stats_bandit_update u;
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &u), 0);
    double exact = prob_b_beats_a(1 + 20, 1 + 380, 1 + 28, 1 + 372);
    /* 10,000 draws: sd of the estimate <= 0.005; 4 sd. */
    cr_expect(fabs(u.p_best[1] - exact) < 0.02, "p_best %g, exact %g", u.p_best[1], exact);
    cr_expect_float_eq(u.p_best[0] + u.p_best[1], 1.0, 1e-12);
    /* One treatment: it gets all of 1 - c. */
    cr_expect_float_eq(u.weights[1], 0.5, 1e-15);
    cr_expect_float_eq(u.allocation[1], 1.0, 1e-15);
}

Test(stats_bandit, top_two_splits_between_leader_and_challenger)
{
    /* Two arms far ahead and equal, one far behind: each of the two leads
     * half the rounds and is the challenger of the other, so they share the
     * rounds about equally and the weak arm gets almost none. */
    stats_bandit_config c = conf(4, 0.1, 0);
    stats_bandit_arm arms[4] = {{5000, 250, 0, 0}, {5000, 400, 0, 0}, {5000, 400, 0, 0},
                                {5000, 100, 0, 0}};
    double prev[4] = {0.25, 0.25, 0.25, 0.25};
    stats_bandit_update u;
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &u), 0);
    cr_expect(fabs(u.allocation[1] - 0.5) < 0.03, "a1 = %g", u.allocation[1]);
    cr_expect(fabs(u.allocation[2] - 0.5) < 0.03, "a2 = %g", u.allocation[2]);
    cr_expect(u.allocation[3] < 0.001);
    cr_expect_float_eq(u.allocation[0], 0, 1e-15);

    /* One arm far ahead: it leads nearly every round, so it gets beta of
     * them, and the challengers share the other half. */
    arms[2].conversions = 250;
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &u), 0);
    cr_expect(fabs(u.allocation[1] - 0.5) < 0.03, "a1 = %g", u.allocation[1]);
    cr_expect(u.allocation[2] > 0.4, "the runner-up is the usual challenger: %g", u.allocation[2]);
}

Test(stats_bandit, revenue_posterior)
{
    stats_bandit_config c = conf(3, 0.2, 0.05);
    c.metric = STATS_BANDIT_REVENUE;
    /* means 1.0, 1.5, 1.0 with sd 5: arm 1 clearly best at n = 20,000. */
    stats_bandit_arm arms[3] = {{20000, 0, 20000, 20000 * 26.0},
                                {20000, 0, 30000, 20000 * (25 + 2.25)},
                                {20000, 0, 20000, 20000 * 26.0}};
    double prev[3] = {0.2, 0.4, 0.4};
    stats_bandit_update u;
    cr_assert_eq(stats_bandit_update_run(&c, arms, prev, &u), 0);
    cr_expect(u.p_best[1] > 0.99);
    cr_expect(u.weights[1] > u.weights[2]);
    cr_expect(u.weights[2] >= 0.05 - 1e-15);
    cr_expect_float_eq(sum(u.weights, 3), 1.0, 1e-12);
}

Test(stats_bandit, invalid_input)
{
    stats_bandit_config c = conf(3, 0.2, 0.05);
    stats_bandit_arm arms[3] = {{100, 5, 0, 0}, {100, 5, 0, 0}, {100, 101, 0, 0}};
    double prev[3] = {0.2, 0.4, 0.4};
    stats_bandit_update u;
    cr_expect_eq(stats_bandit_update_run(&c, arms, prev, &u), -1, "conversions > visitors");
    arms[2].conversions = 5;
    double bad[3] = {0.2, 0.4, 0.5};
    cr_expect_eq(stats_bandit_update_run(&c, arms, bad, &u), -1, "weights sum to 1.1");
    c.control_share = 1;
    cr_expect_eq(stats_bandit_update_run(&c, arms, prev, &u), -1, "no share left");
    c = conf(1, 0.2, 0.05);
    cr_expect_eq(stats_bandit_update_run(&c, arms, prev, &u), -1, "one arm");
}

/* Tests for stats_analyze: the whole report for one experiment, its
 * validation, and its agreement with the per-module functions. */
#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"

static void init(void) { stats_init(); }
TestSuite(stats_analyze, .init = init);

static const stats_variant_input three[] = {
    {.weight = 1, .visitors = 1000, .conversions = 120, .declines = 300,
     .revenue_sum = 6000, .revenue_sumsq = 360000},
    {.weight = 1, .visitors = 1000, .conversions = 150, .declines = 310,
     .revenue_sum = 7800, .revenue_sumsq = 480000},
    {.weight = 1, .visitors = 1500, .conversions = 135, .declines = 500,
     .revenue_sum = 6750, .revenue_sumsq = 400000},
};

Test(stats_analyze, full_report_is_consistent)
{
    uint64_t ln[] = {300, 300, 450, 1000, 1000, 1500};
    uint64_t lx[] = {30, 40, 40, 120, 150, 135};
    stats_experiment_input in = {.k = 3, .variants = three, .has_declines = true,
                                 .power_mde_rel = 0.1, .n_looks = 2, .look_visitors = ln,
                                 .look_conversions = lx};
    stats_experiment_report *r = calloc(1, sizeof *r);
    cr_assert_eq(stats_analyze(&in, r, NULL), 0);
    cr_expect_eq(r->k, 3);
    cr_expect_float_eq(r->alpha, 0.05, 0);
    /* same as the module functions (their values are checked against R) */
    cr_expect_float_eq(r->variants[1].conversion.p.p, 0.04964038686536882, 1e-12);
    cr_expect_float_eq(r->independence.statistic.value, 21.360617483396176, 1e-9);
    /* Holm over the two treatments: max(2 * min p, other p) */
    double p1 = r->variants[1].conversion.p.p, p2 = r->variants[2].conversion.p.p;
    double small = fmin(p1, p2), big = fmax(p1, p2);
    double adj_small = fmin(1.0, 2.0 * small), adj_big = fmax(adj_small, big);
    cr_expect_float_eq(fmin(r->variants[1].conversion_p_adj.p, r->variants[2].conversion_p_adj.p),
                       adj_small, 1e-12);
    cr_expect_float_eq(fmax(r->variants[1].conversion_p_adj.p, r->variants[2].conversion_p_adj.p),
                       adj_big, 1e-12);
    /* control has reasons, not numbers */
    cr_expect(!r->variants[0].conversion.p.defined);
    cr_expect_str_eq(r->variants[0].conversion.p.why, "control");
    /* decline guardrail computed */
    cr_expect(r->variants[1].decline.p.defined);
    /* SRM uses weights 1:1:1 and sees 1000/1000/1500 */
    cr_expect(r->srm.flagged);
    /* power from the control's rate 0.12 and +10%: power.prop.test */
    cr_expect_float_eq(r->power.n_per_arm.value,
                       ceil(stats_power_n_exact(0.12, 0.132, 0.05, 0.8, true) - 1e-6), 0);
    /* traffic from the looks: (3500 - 1050) / 1 per day */
    cr_expect_float_eq(r->power.visitors_per_day.value, 2450.0, 1e-12);
    cr_expect(r->power.days_remaining.defined);
    cr_expect_eq(r->variants[1].msprt.looks_used, 2);
    cr_expect(r->variants[1].bayes.chance_to_beat.value > 0.9);
    free(r);
}

Test(stats_analyze, validation_names_the_problem)
{
    stats_variant_input v[2] = {three[0], three[1]};
    stats_experiment_input in = {.k = 2, .variants = v};
    stats_experiment_report *r = calloc(1, sizeof *r);
    v[1].conversions = 2000;
    cr_expect_eq(stats_analyze(&in, r, NULL), -1);
    cr_expect_str_eq(r->error, "conversions exceed visitors");
    cr_expect_eq(r->error_variant, 1);
    v[1] = three[1];
    v[0].revenue_sumsq = 10; /* S^2/x = 300000 > 10 */
    cr_expect_eq(stats_analyze(&in, r, NULL), -1);
    cr_expect_eq(r->error_variant, 0);
    v[0] = three[0];
    v[0].weight = 0;
    cr_expect_eq(stats_analyze(&in, r, NULL), -1);
    v[0].weight = 1;
    in.k = 1;
    cr_expect_eq(stats_analyze(&in, r, NULL), -1);
    free(r);
}

Test(stats_analyze, empty_arms_never_crash)
{
    stats_variant_input v[3] = {{.weight = 1}, {.weight = 1}, {.weight = 2, .visitors = 1}};
    stats_experiment_input in = {.k = 3, .variants = v};
    stats_experiment_report *r = calloc(1, sizeof *r);
    cr_assert_eq(stats_analyze(&in, r, NULL), 0);
    cr_expect(!r->variants[0].rate.defined);
    cr_expect(!r->variants[1].conversion.p.defined);
    cr_expect(!r->variants[1].revenue.p.defined);
    cr_expect(!r->variants[1].decline_rate.defined);
    cr_expect_str_eq(r->variants[1].decline_rate.why, "declines not reported");
    cr_expect(!r->power.n_per_arm.defined);
    free(r);
}

Test(stats_analyze, bayes_needs_visitors_in_both_arms)
{
    /* an empty treatment against a real control: the posterior of the
     * treatment would be the Beta(1,1) prior, which gave P(beat) 0.9691
     * against a 3% control; it is undefined like the other comparisons */
    stats_variant_input v[3] = {{.weight = 1, .visitors = 1000, .conversions = 30},
                                {.weight = 1},
                                {.weight = 1, .visitors = 1000, .conversions = 35}};
    stats_experiment_input in = {.k = 3, .variants = v};
    stats_experiment_report *r = calloc(1, sizeof *r);
    cr_assert_eq(stats_analyze(&in, r, NULL), 0);
    const stats_bayes_result *b = &r->variants[1].bayes;
    const stats_value all[] = {b->chance_to_beat, b->chance_to_lose, b->loss_ship, b->loss_keep};
    for (size_t i = 0; i < 4; i++) {
        cr_expect(!all[i].defined, "quantity %zu is defined: %g", i, all[i].value);
        cr_expect_str_eq(all[i].why, "treatment has no visitors");
    }
    cr_expect_str_eq(r->variants[1].conversion.p.why, "treatment has no visitors");
    cr_expect(r->variants[2].bayes.chance_to_beat.defined);
    /* an empty control leaves every treatment's Bayesian numbers undefined */
    v[0] = (stats_variant_input){.weight = 1};
    cr_assert_eq(stats_analyze(&in, r, NULL), 0);
    cr_expect(!r->variants[2].bayes.loss_keep.defined);
    cr_expect_str_eq(r->variants[2].bayes.loss_keep.why, "control has no visitors");
    free(r);
}

Test(stats_analyze, power_for_a_decrease)
{
    /* baseline 0.34, relative MDE -0.003/0.34 (absolute -0.003), power
     * 0.85: R 4.2.2 power.prop.test(p1=.34, p2=.337, power=.85)$n =
     * 446759.004 (reference.R), unpooled 446756.067 (SciPy 1.10.1,
     * power_decrease.py) */
    stats_variant_input v[2] = {{.weight = 1, .visitors = 1000, .conversions = 340},
                                {.weight = 1, .visitors = 1000, .conversions = 335}};
    stats_experiment_input in = {.k = 2, .variants = v, .power_baseline = 0.34,
                                 .power_mde_rel = -0.003 / 0.34, .power = 0.85,
                                 .visitors_per_day = 10000};
    stats_experiment_report *r = calloc(1, sizeof *r);
    cr_assert_eq(stats_analyze(&in, r, NULL), 0);
    cr_assert(r->power.n_per_arm.defined, "undefined: %s", r->power.n_per_arm.why);
    cr_expect_float_eq(r->power.target.value, 0.337, 1e-15);
    cr_expect_float_eq(r->power.n_per_arm.value, 446760.0, 0);
    cr_expect_float_eq(r->power.n_per_arm_unpooled.value, 446757.0, 0);
    cr_expect(r->power.days_remaining.defined);
    /* a decrease of 100% or more has no target rate */
    in.power_mde_rel = -1.0;
    cr_assert_eq(stats_analyze(&in, r, NULL), 0);
    cr_expect(!r->power.n_per_arm.defined);
    cr_expect(!r->power.target.defined);
    free(r);
}

Test(stats_analyze, cuped_per_treatment)
{
    /* the simulated arms of tests/vectors/stats/cuped.R (cuped-R.txt,
     * "sim ...", converters from "sim converters") */
    stats_variant_input v[2] = {
        {.weight = 1, .visitors = 4000, .conversions = 777, .revenue_sum = 29867.470000000001,
         .revenue_sumsq = 1420058.152299999958, .cov_sum = 95853.830000000002,
         .cov_sumsq = 5507886.655899999663, .cov_cross = 1347736.632299999939},
        {.weight = 1, .visitors = 4000, .conversions = 837, .revenue_sum = 33810.32,
         .revenue_sumsq = 1589610.570000000065, .cov_sum = 92170.759999999995,
         .cov_sumsq = 5007029.712600000203, .cov_cross = 1356414.089500000002},
    };
    stats_experiment_input in = {.k = 2, .variants = v, .has_covariate = true};
    stats_experiment_report *r = calloc(1, sizeof *r);
    cr_assert_eq(stats_analyze(&in, r, NULL), 0);
    /* lm(y ~ arm + x) arm estimate and the per-arm p (cuped-R.txt) */
    cr_expect_float_eq(r->variants[1].cuped.diff.value, 1.1684350276910316, 1e-9);
    cr_expect_float_eq(r->variants[1].cuped.p.p, 0.0018906339368057513, 1e-9);
    /* one treatment: the adjusted p is the raw one */
    cr_expect_float_eq(r->variants[1].cuped_p_adj.p, r->variants[1].cuped.p.p, 0);
    cr_expect(!r->variants[0].cuped.diff.defined);
    cr_expect_str_eq(r->variants[0].cuped.diff.why, "control");
    /* no covariate: every CUPED field undefined with that reason */
    in.has_covariate = false;
    cr_assert_eq(stats_analyze(&in, r, NULL), 0);
    cr_expect(!r->variants[1].cuped.theta.defined);
    cr_expect_str_eq(r->variants[1].cuped.theta.why, "no covariate");
    cr_expect_str_eq(r->variants[1].cuped.lift_p.why, "no covariate");
    cr_expect(!r->variants[1].cuped_p_adj.defined);
    /* inconsistent covariate sums are an input error naming the arm */
    in.has_covariate = true;
    v[1].cov_sumsq = 1.0;
    cr_expect_eq(stats_analyze(&in, r, NULL), -1);
    cr_expect_eq(r->error_variant, 1);
    cr_expect_str_eq(r->error, "covariate_sumsq is smaller than covariate_sum^2/visitors "
                               "(sums are inconsistent)");
    v[1].cov_sumsq = 5007029.712600000203;
    v[0].cov_cross = -1.0;
    cr_expect_eq(stats_analyze(&in, r, NULL), -1);
    cr_expect_str_eq(r->error, "covariate_cross must be a non-negative number");
    v[0].cov_cross = 1e9; /* (Sxy)^2 > Sxx Syy */
    cr_expect_eq(stats_analyze(&in, r, NULL), -1);
    cr_expect_eq(r->error_variant, 0);
    free(r);
}

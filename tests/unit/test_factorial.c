/* test_factorial.c: the analysis and the factor-level decision of factorial
 * experiments (engine/core/factorial.h), through analysis_decide as the
 * results endpoint and auto-promotion call it, on hand-built result tables
 * whose counts are written down (rate x visitors per cell). */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "factorial.h"
#include "stats_core.h"

static void init(void) { stats_init(); }
TestSuite(factorial, .init = init);

static const analysis_settings SETTINGS = {.alpha = 0.05, .tau2 = 0, .min_sample = 100,
                                           .correction = CORRECTION_HOLM};

/* placement (cart, checkout) x wording (plain, benefit): cells in the
 * order cart-plain, cart-benefit, checkout-plain, checkout-benefit. */
static experiment *two_by_two(const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"key\": \"offer\", \"placement\": \"slot\", \"status\": \"running\","
             " \"regions\": [\"gr\", \"pl\"], \"goal\": \"conversion\","
             " \"factors\": ["
             "  {\"key\": \"placement\", \"levels\": [{\"key\": \"cart\"}, {\"key\": \"checkout\"}]},"
             "  {\"key\": \"wording\", \"levels\": [{\"key\": \"plain\"}, {\"key\": \"benefit\"}]}]"
             " %s}",
             extra ? extra : "");
    json_error_t jerr;
    json_t *def = json_loads(text, 0, &jerr);
    cr_assert_not_null(def, "%s", jerr.text);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    json_decref(def);
    cr_assert_not_null(e, "%s", err);
    cr_assert_eq(e->nvariants, 4);
    return e;
}

/* A table of nregions regions over ndays days, every cell empty. */
static void table(results_table *t, int nregions, const char *const *regions, int ndays, int k)
{
    memset(t, 0, sizeof *t);
    t->nvariants = k;
    t->nregions = nregions;
    t->ndays = ndays;
    t->regions = calloc((size_t)nregions, sizeof *t->regions);
    t->days = calloc((size_t)ndays, sizeof *t->days);
    t->cells = calloc((size_t)(nregions * ndays * k), sizeof *t->cells);
    t->promoted = calloc((size_t)(nregions * k), sizeof *t->promoted);
    cr_assert(t->regions && t->days && t->cells && t->promoted);
    for (int r = 0; r < nregions; r++)
        snprintf(t->regions[r], sizeof t->regions[r], "%s", regions[r]);
    for (int d = 0; d < ndays; d++)
        snprintf(t->days[d], sizeof t->days[d], "2026-11-%02d", d + 1);
}

/* Region r, cell v: n visitors a day, of whom x convert (each order 30). */
static void fill(results_table *t, int r, int v, uint64_t n, uint64_t x)
{
    for (int d = 0; d < t->ndays; d++) {
        results_counts *c = &t->cells[((size_t)r * (size_t)t->ndays + (size_t)d) *
                                          (size_t)t->nvariants + (size_t)v];
        c->visitors = n;
        c->conversions = c->orders = x;
        c->revenue_sum = c->capped_sum = 30.0 * (double)x;
        c->revenue_sumsq = c->capped_sumsq = 900.0 * (double)x;
    }
}

static const char *const REGIONS[2] = {"gr", "pl"};

Test(factorial, cells_map_levels_and_sum_days)
{
    experiment *e = two_by_two(NULL);
    results_table t;
    table(&t, 2, REGIONS, 3, 4);
    for (int v = 0; v < 4; v++) {
        fill(&t, 0, v, 100, (uint64_t)(5 + v));
        fill(&t, 1, v, 200, 10);
    }
    stats_fact_cell *c;
    size_t n;
    cr_assert_eq(factorial_cells(&t, e, 0, false, &c, &n), 0);
    cr_assert_eq(n, 4);
    /* cell 2 = checkout-plain: placement level 1, wording level 0 */
    cr_assert_eq(c[2].levels[0], 1);
    cr_assert_eq(c[2].levels[1], 0);
    cr_assert_eq(c[2].n, 300);
    cr_assert_eq(c[2].conversions, 21);
    cr_assert_eq(c[2].sum, 630);
    free(c);
    cr_assert_eq(factorial_cells(&t, e, -1, false, &c, &n), 0);
    cr_assert_eq(n, 8);
    cr_assert_eq(c[5].stratum, 1);
    cr_assert_eq(c[5].n, 600);
    free(c);
    results_free(&t);
    experiment_release(e);
}

/* A clean main effect of placement and no interaction: no single cell is
 * strong enough against the control cell, but the placement level pooled
 * over wording is (twice the visitors per arm). */
Test(factorial, a_factor_level_is_promoted_when_nothing_interacts)
{
    experiment *e = two_by_two(NULL);
    results_table t;
    table(&t, 1, REGIONS, 4, 4);
    /* per day: 2000 visitors a cell; 5% at cart, 6% at checkout */
    fill(&t, 0, 0, 2000, 100);
    fill(&t, 0, 1, 2000, 100);
    fill(&t, 0, 2, 2000, 120);
    fill(&t, 0, 3, 2000, 120);
    analysis_decisions d;
    cr_assert_eq(analysis_decide(&t, e, &SETTINGS, &d), 0);
    cr_assert_eq(d.n, 1);
    cr_assert_str_eq(d.regions[0].recommendation, "promote", "%s", d.regions[0].why);
    cr_assert_str_eq(d.regions[0].kind, "factor_level");
    cr_assert_eq(d.regions[0].factor, 0);
    cr_assert_eq(d.regions[0].level, 1);
    /* the control cell with placement set to checkout */
    cr_assert_str_eq(e->variants[d.regions[0].promote_variant].key, "checkout-plain");
    analysis_decisions_free(&d);

    /* the same counts, one cell at a time, do not make a combination win */
    double w[4];
    decide_config dc;
    for (int v = 0; v < 4; v++) w[v] = e->variants[v].weight;
    dc = (decide_config){.nvariants = 4, .control = 0, .weights = w,
                         .goal = DECIDE_GOAL_CONVERSION, .guard_decline = true, .alpha = 0.05,
                         .min_sample = 100, .correction = DECIDE_CORRECTION_HOLM};
    decide_counts looks[4 * 4];
    for (int day = 0; day < 4; day++)
        for (int v = 0; v < 4; v++)
            looks[day * 4 + v] = (decide_counts){.visitors = 2000u * (day + 1),
                                                 .conversions = (v < 2 ? 100u : 120u) * (day + 1)};
    decide_region g = {"gr", 4, looks};
    decide_result res;
    cr_assert_eq(decide_run(&dc, &g, 1, &res), 0);
    cr_assert_neq(res.regions[0].rec, DECIDE_REC_PROMOTE);
    decide_result_free(&res);
    results_free(&t);
    experiment_release(e);
}

/* A promotion already in place: the factor level is set on its cell. */
Test(factorial, a_factor_level_is_set_on_the_promoted_cell)
{
    experiment *e0 = two_by_two(NULL);
    json_t *promos = json_pack("{s:{s:s, s:f, s:s}}", "gr", "variant", "cart-benefit", "holdback",
                               0.1, "since", "2026-11-01T00:00:00Z");
    json_t *def = experiment_def_with(e0, "promotions", promos);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    json_decref(def);
    experiment_release(e0);
    cr_assert_not_null(e, "%s", err);
    results_table t;
    table(&t, 1, REGIONS, 4, 4);
    fill(&t, 0, 0, 2000, 100);
    fill(&t, 0, 1, 2000, 100);
    fill(&t, 0, 2, 2000, 120);
    fill(&t, 0, 3, 2000, 120);
    analysis_decisions d;
    cr_assert_eq(analysis_decide(&t, e, &SETTINGS, &d), 0);
    cr_assert_str_eq(d.regions[0].kind, "factor_level");
    cr_assert_str_eq(e->variants[d.regions[0].promote_variant].key, "checkout-benefit");
    analysis_decisions_free(&d);
    results_free(&t);
    experiment_release(e);
}

/* Benefit wording hurts at the cart (3.8%) and not at checkout (5.6%),
 * so checkout wins on the placement marginal (pooled over wording), but
 * only because of how it meets the wording: the placement x wording
 * interaction is significant, so neither factor is promoted on its own,
 * and no cell on its own beats the control cell. */
Test(factorial, no_factor_level_promotion_when_an_interaction_is_significant)
{
    experiment *e = two_by_two(NULL);
    results_table t;
    table(&t, 1, REGIONS, 4, 4);
    fill(&t, 0, 0, 2000, 100);
    fill(&t, 0, 1, 2000, 76);
    fill(&t, 0, 2, 2000, 100);
    fill(&t, 0, 3, 2000, 112);
    double w[4];
    decide_config dc;
    for (int v = 0; v < 4; v++) w[v] = e->variants[v].weight;
    dc = (decide_config){.nvariants = 4, .control = 0, .weights = w,
                         .goal = DECIDE_GOAL_CONVERSION, .guard_decline = true, .alpha = 0.05,
                         .min_sample = 100, .correction = DECIDE_CORRECTION_HOLM};
    analysis_decisions d;
    cr_assert_eq(analysis_decide(&t, e, &SETTINGS, &d), 0);
    cr_assert_str_neq(d.regions[0].recommendation, "promote", "%s", d.regions[0].why);
    cr_assert_null(d.regions[0].kind);
    analysis_decisions_free(&d);

    /* why: the interaction test, and the marginals that would otherwise win */
    decide_result combo = {0};
    decide_counts looks[4 * 4];
    for (int day = 0; day < 4; day++)
        for (int v = 0; v < 4; v++) {
            uint64_t x[4] = {100, 76, 100, 112};
            looks[day * 4 + v] = (decide_counts){.visitors = 2000u * (day + 1),
                                                 .conversions = x[v] * (day + 1)};
        }
    decide_region g = {"gr", 4, looks};
    cr_assert_eq(decide_run(&dc, &g, 1, &combo), 0);
    factorial_decision fd;
    cr_assert_eq(factorial_decide(&t, e, &dc, dc.alpha, &combo, &fd), 0);
    cr_assert(fd.regions[0].considered);
    cr_assert_lt(fd.regions[0].interaction_p[0], 0.05);
    cr_assert(!fd.regions[0].interaction_free[0]);
    cr_assert(!fd.regions[0].interaction_free[1]);
    cr_assert_eq(fd.regions[0].promote_cell, -1);
    /* the placement marginal alone is significant: only the interaction
     * keeps it from being promoted */
    cr_assert_eq(fd.marginals[0].factor, 0);
    cr_assert_lt(fd.marginals[0].p_adjusted, 0.05);
    cr_assert(!fd.marginals[0].eligible);
    cr_assert(!fd.marginals[0].winner);
    factorial_decision_free(&fd);
    decide_result_free(&combo);
    results_free(&t);
    experiment_release(e);
}

Test(factorial, a_strongly_best_cell_is_promoted_as_a_combination)
{
    experiment *e = two_by_two(NULL);
    results_table t;
    table(&t, 1, REGIONS, 4, 4);
    fill(&t, 0, 0, 2000, 100);
    fill(&t, 0, 1, 2000, 100);
    fill(&t, 0, 2, 2000, 100);
    fill(&t, 0, 3, 2000, 200); /* 10% */
    analysis_decisions d;
    cr_assert_eq(analysis_decide(&t, e, &SETTINGS, &d), 0);
    cr_assert_str_eq(d.regions[0].recommendation, "promote");
    cr_assert_str_eq(d.regions[0].kind, "combination");
    cr_assert_eq(d.regions[0].factor, -1);
    cr_assert_str_eq(e->variants[d.regions[0].promote_variant].key, "checkout-benefit");
    analysis_decisions_free(&d);
    results_free(&t);
    experiment_release(e);
}

/* The family: regions x factors x non-control levels, whatever the data. */
Test(factorial, the_family_is_regions_by_factors_by_levels)
{
    const char *text =
        "{\"key\": \"offer\", \"placement\": \"slot\", \"status\": \"running\","
        " \"regions\": [\"gr\", \"pl\"],"
        " \"factors\": ["
        "  {\"key\": \"placement\", \"levels\": [{\"key\": \"cart\"}, {\"key\": \"checkout\"}]},"
        "  {\"key\": \"tiers\", \"levels\": [{\"key\": \"one\"}, {\"key\": \"two\"}, {\"key\": \"three\"}]},"
        "  {\"key\": \"urgency\", \"levels\": [{\"key\": \"none\"}, {\"key\": \"timer\"}]}]}";
    json_t *def = json_loads(text, 0, NULL);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    json_decref(def);
    cr_assert_not_null(e, "%s", err);
    results_table t;
    table(&t, 2, REGIONS, 2, e->nvariants);
    for (int r = 0; r < 2; r++)
        for (int v = 0; v < e->nvariants; v++)
            fill(&t, r, v, 500, 25);
    double w[EXP_MAX_VARIANTS];
    for (int v = 0; v < e->nvariants; v++) w[v] = e->variants[v].weight;
    decide_config dc = {.nvariants = (size_t)e->nvariants, .control = 0, .weights = w,
                        .goal = DECIDE_GOAL_CONVERSION, .alpha = 0.05, .min_sample = 100,
                        .correction = DECIDE_CORRECTION_HOLM};
    decide_result combo = {0};
    factorial_decision fd;
    cr_assert_eq(factorial_decide(&t, e, &dc, dc.alpha, &combo, &fd), 0);
    cr_assert_eq(fd.family_size, 2 * (1 + 2 + 1));
    cr_assert_eq(fd.nmarginals, 8);
    /* no combination result: no region is considered, nothing promoted */
    for (size_t r = 0; r < fd.nregions; r++) {
        cr_assert(!fd.regions[r].considered);
        cr_assert_eq(fd.regions[r].promote_cell, -1);
    }
    /* tiers=three against tiers=one in pl */
    const factorial_marginal *m = &fd.marginals[4 + 2];
    cr_assert_eq(m->region, 1);
    cr_assert_eq(m->factor, 1);
    cr_assert_eq(m->level, 2);
    cr_assert_eq(m->visitors, 2 * 500 * 4);
    cr_assert_eq(m->control_visitors, 2 * 500 * 4);
    factorial_decision_free(&fd);
    results_free(&t);
    experiment_release(e);
}

Test(factorial, term_names_join_factor_and_level_keys)
{
    experiment *e = two_by_two(NULL);
    results_table t;
    table(&t, 2, REGIONS, 1, 4);
    char buf[128];
    stats_fact_term x = {.kind = STATS_FACT_TERM_INTERACTION, .factor_a = 0, .level_a = 1,
                         .factor_b = 1, .level_b = 1};
    factorial_term_name(e, &x, &t, buf, sizeof buf);
    cr_assert_str_eq(buf, "placement=checkout:wording=benefit");
    x = (stats_fact_term){.kind = STATS_FACT_TERM_MAIN, .factor_a = 1, .level_a = 1,
                          .factor_b = -1, .level_b = -1};
    factorial_term_name(e, &x, &t, buf, sizeof buf);
    cr_assert_str_eq(buf, "wording=benefit");
    x = (stats_fact_term){.kind = STATS_FACT_TERM_STRATUM, .factor_a = -1, .level_a = 1,
                          .factor_b = -1, .level_b = -1};
    factorial_term_name(e, &x, &t, buf, sizeof buf);
    cr_assert_str_eq(buf, "region=pl");
    x = (stats_fact_term){.kind = STATS_FACT_TERM_INTERCEPT};
    factorial_term_name(e, &x, &t, buf, sizeof buf);
    cr_assert_str_eq(buf, "(Intercept)");
    results_free(&t);
    experiment_release(e);
}

/* The results object: a saturated 2x2 logit reproduces the cells' own
 * log-odds, and the power figure follows stats.interaction_effect. */
Test(factorial, results_object_has_models_marginals_and_power)
{
    experiment *e = two_by_two(", \"stats\": {\"interaction_effect\": 0.02}");
    cr_assert_float_eq(e->interaction_effect, 0.02, 1e-12);
    results_table t;
    table(&t, 2, REGIONS, 2, 4);
    uint64_t x[2][4] = {{50, 60, 70, 100}, {40, 44, 48, 52}};
    for (int r = 0; r < 2; r++)
        for (int v = 0; v < 4; v++)
            fill(&t, r, v, 1000, x[r][v]);
    json_t *body = json_pack("{s:{}, s:[]}", "total", "regions");
    analysis_attach(body, &t, e, &SETTINGS, NULL);
    json_t *f = json_object_get(body, "factorial");
    cr_assert_not_null(f);
    cr_assert_eq(json_array_size(json_object_get(f, "factors")), 2);
    cr_assert_eq(json_array_size(json_object_get(f, "cells")), 4);
    json_t *models = json_object_get(f, "models");
    cr_assert_eq(json_array_size(models), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(models, 0), "scope")),
                     "overall");
    json_t *gr = json_object_get(json_array_get(models, 1), "conversion");
    cr_assert_str_eq(json_string_value(json_object_get(gr, "status")), "ok");
    json_t *terms = json_object_get(gr, "terms");
    cr_assert_eq(json_array_size(terms), 4);
    /* saturated: intercept = logit(100/2000), interaction = the log odds ratio contrast */
    double l00 = log(100.0 / 1900), l01 = log(120.0 / 1880), l10 = log(140.0 / 1860),
           l11 = log(200.0 / 1800);
    json_t *t0 = json_array_get(terms, 0), *t3 = json_array_get(terms, 3);
    cr_assert_str_eq(json_string_value(json_object_get(t0, "term")), "(Intercept)");
    cr_assert_float_eq(json_real_value(json_object_get(t0, "estimate")), l00, 1e-7);
    cr_assert_str_eq(json_string_value(json_object_get(t3, "term")),
                     "placement=checkout:wording=benefit");
    cr_assert_str_eq(json_string_value(json_object_get(t3, "kind")), "interaction");
    cr_assert_float_eq(json_real_value(json_object_get(t3, "estimate")), l11 - l10 - l01 + l00,
                       1e-7);
    /* its Wald SE: sqrt of the sum of 1/x + 1/(n - x) over the four cells
     * at the maximum; the fit reports R's, from the weights of its last
     * IRLS step, which lag the maximum by one step (relative 1e-4 here) */
    double se = sqrt(1.0 / 100 + 1.0 / 1900 + 1.0 / 120 + 1.0 / 1880 + 1.0 / 140 + 1.0 / 1860 +
                     1.0 / 200 + 1.0 / 1800);
    double got = json_real_value(json_object_get(t3, "se"));
    cr_assert_lt(fabs(got - se) / se, 1e-4, "se %.12g vs %.12g", got, se);
    json_t *pred = json_array_get(json_object_get(gr, "predicted"), 3);
    cr_assert_str_eq(json_string_value(json_object_get(pred, "variant")), "checkout-benefit");
    cr_assert_float_eq(json_real_value(json_object_get(pred, "rate")), 0.1, 1e-7);
    cr_assert_eq(json_array_size(json_object_get(gr, "interaction_tests")), 1);
    /* overall: region as a stratum term */
    json_t *ov = json_object_get(json_array_get(models, 0), "conversion");
    json_t *last = json_array_get(json_object_get(ov, "terms"), 4);
    cr_assert_str_eq(json_string_value(json_object_get(last, "term")), "region=pl");
    cr_assert_str_eq(json_string_value(json_object_get(last, "kind")), "stratum");
    /* marginals: 2 regions x 2 factors, then 2 overall */
    json_t *marg = json_object_get(f, "marginals");
    cr_assert_eq(json_array_size(marg), 6);
    json_t *m0 = json_array_get(marg, 0);
    cr_assert_str_eq(json_string_value(json_object_get(m0, "scope")), "gr");
    cr_assert_str_eq(json_string_value(json_object_get(m0, "factor")), "placement");
    cr_assert_str_eq(json_string_value(json_object_get(m0, "level")), "checkout");
    cr_assert_eq(json_integer_value(json_object_get(m0, "visitors")), 4000);
    cr_assert_float_eq(json_real_value(json_object_get(m0, "rate")), 340.0 / 4000, 1e-12);
    cr_assert(json_is_null(json_object_get(json_array_get(marg, 4), "p_adjusted")));
    /* power: control rate (100 + 80) / 4000 = 0.045, effect 0.02 */
    json_t *pw = json_object_get(f, "power");
    cr_assert_float_eq(json_real_value(json_object_get(pw, "interaction_effect")), 0.02, 1e-12);
    double p0 = 0.045, p11 = 0.065, z = 1.959963984540054 + 0.8416212335729143;
    double need = ceil(z * z * (3 * p0 * (1 - p0) + p11 * (1 - p11)) / (0.02 * 0.02));
    cr_assert_float_eq(json_real_value(json_object_get(pw, "per_cell_needed")), need, 1.0);
    cr_assert_float_eq(json_real_value(json_object_get(pw, "per_cell_visitors_per_day")), 1000,
                       1e-9);
    double days = ceil((need - 2000) / 1000);
    cr_assert_float_eq(json_real_value(json_object_get(pw, "days_to_go")), days > 0 ? days : 0,
                       1.0);
    /* decisions carry kind, factor, level for a factorial */
    json_t *dr = json_array_get(json_object_get(json_object_get(body, "decisions"), "regions"), 0);
    cr_assert(json_object_get(dr, "kind") != NULL);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(body, "decisions"),
                                                    "factor_level_family_size")),
                 4);
    json_decref(body);
    results_free(&t);
    experiment_release(e);
}

Test(factorial, a_plain_experiment_has_no_factorial_object)
{
    json_t *def = json_loads("{\"key\": \"plain\", \"placement\": \"slot\", \"control\": \"a\", "
                             "\"variants\": [{\"key\": \"a\", \"weight\": 0.5}, "
                             "{\"key\": \"b\", \"weight\": 0.5}]}",
                             0, NULL);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    json_decref(def);
    cr_assert_not_null(e, "%s", err);
    results_table t;
    table(&t, 1, REGIONS, 1, 2);
    fill(&t, 0, 0, 100, 5);
    fill(&t, 0, 1, 100, 5);
    json_t *body = json_pack("{s:{}, s:[]}", "total", "regions");
    analysis_attach(body, &t, e, &SETTINGS, NULL);
    cr_assert_null(json_object_get(body, "factorial"));
    cr_assert_null(json_object_get(json_array_get(json_object_get(json_object_get(body,
                                                                                  "decisions"),
                                                                  "regions"),
                                                  0),
                                   "kind"));
    analysis_decisions d;
    cr_assert_eq(analysis_decide(&t, e, &SETTINGS, &d), 0);
    cr_assert_null(d.regions[0].kind);
    analysis_decisions_free(&d);
    json_decref(body);
    results_free(&t);
    experiment_release(e);
}

/* Tests for bandit_inference.h: the weights in force per period come from
 * the bandit state (period 0: the starting weights); decide's inputs are
 * equivalent counts whose rate is the period-weighted one (not the pooled
 * one) and the SRM against the weights in force; the results body's
 * bandit object carries the cohorts and the estimates. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandit_inference.h"
#include "stats_core.h"

static experiment *bandit;
static bandit_layout layout;

/* Three arms; gr moved to period 1 (0.2 / 0.8 between control and b is
 * what the worked example of docs/stats.md uses, with a third arm c at a
 * small share). */
static void make(void)
{
    stats_init();
    double w0[3] = {0.45, 0.45, 0.1}, w1[3] = {0.18, 0.72, 0.1};
    static char text[65536], def[70000];
    cr_assert_eq(bandit_layout_init(&layout, w0, 3), 0);
    cr_assert_geq(bandit_layout_apply(&layout, w1, 3), 0);
    cr_assert_geq(bandit_layout_encode(&layout, text, sizeof text), 0);
    snprintf(def, sizeof def,
             "{\"key\":\"w\",\"status\":\"running\",\"placement\":\"checkout_popup\","
             "\"regions\":\"all\",\"control\":\"a\",\"variants\":["
             "{\"key\":\"a\",\"weight\":0.45},{\"key\":\"b\",\"weight\":0.45},"
             "{\"key\":\"c\",\"weight\":0.1}],\"allocation\":{\"mode\":\"bandit\"},"
             "\"bandit_state\":{\"regions\":{\"gr\":{\"period\":1,\"weights\":[0.18,0.72,0.1],"
             "\"layout\":\"%s\",\"since\":\"2026-11-21T00:00:00Z\",\"waiting\":false,"
             "\"history\":[{\"period\":0,\"since\":\"2026-11-20T00:00:00Z\","
             "\"weights\":[0.45,0.45,0.1]}]}}}}",
             text);
    char err[EXP_ERR_MAX];
    json_t *j = json_loads(def, 0, NULL);
    cr_assert_not_null(j);
    bandit = experiment_parse(j, EXP_FROM_STATE, err);
    json_decref(j);
    cr_assert_not_null(bandit, "%s", err);
}

static void unmake(void) { experiment_release(bandit); }

TestSuite(bandit_inference, .init = make, .fini = unmake);

/* The worked example: the same rate for a and b in each period (10%, then
 * 4%), c likewise; 2,000 visitors in each period split by its weights. */
static void build(results_table *t)
{
    static const char *f[] = {"e|0|gr|#0", "e|1|gr|#0", "e|2|gr|#0", "c|0|gr|#0", "c|1|gr|#0",
                              "c|2|gr|#0", "e|0|gr|#1", "e|1|gr|#1", "e|2|gr|#1", "c|0|gr|#1",
                              "c|1|gr|#1", "c|2|gr|#1", "e|0|gr|2026-11-20", "e|1|gr|2026-11-20",
                              "e|2|gr|2026-11-20"};
    static const char *v[] = {"900", "900", "200", "90", "90", "20",
                              "360", "1440", "200", "14.4", "57.6", "8",
                              "1260", "2340", "400"};
    /* counts must be whole: scale by 5 */
    static char vv[15][32];
    const char *vals[15];
    for (int i = 0; i < 15; i++) {
        snprintf(vv[i], sizeof vv[i], "%.0f", 5 * atof(v[i]));
        vals[i] = vv[i];
    }
    cr_assert_eq(results_build(t, 3, 15, f, vals), 0);
}

Test(bandit_inference, weights_in_force_come_from_the_state)
{
    double w[3];
    cr_assert(bandit_period_weights(bandit, "gr", 1, w));
    cr_expect(w[0] == 0.18 && w[1] == 0.72 && w[2] == 0.1);
    cr_assert(bandit_period_weights(bandit, "gr", 0, w));
    cr_expect(w[0] == 0.45 && w[1] == 0.45 && w[2] == 0.1);
    cr_expect(!bandit_period_weights(bandit, "gr", 2, w), "a period the state does not know");
    cr_assert(bandit_period_weights(bandit, "pl", 0, w), "a region on the starting weights");
    cr_expect(w[0] == 0.45);
}

Test(bandit_inference, a_summarized_history_entry_is_no_periods_weights)
{
    /* Old periods merged into one entry (bandit_plan.h) carry their average
     * weights: period 0 is still tested against the starting weights, and
     * a merged period's weights are unknown rather than the average. */
    json_t *def = json_deep_copy(bandit->def);
    json_t *gr = json_object_get(json_object_get(json_object_get(def, "bandit_state"), "regions"),
                                 "gr");
    json_object_set_new(gr, "period", json_integer(3));
    json_object_set_new(gr, "history",
                        json_pack("[{s:i, s:i, s:b, s:s, s:[f,f,f]}]", "period", 0, "through", 2,
                                  "summarized", 1, "since", "2026-11-20T00:00:00Z", "weights",
                                  0.3, 0.6, 0.1));
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    json_decref(def);
    cr_assert_not_null(e, "%s", err);
    double w[3];
    cr_assert(bandit_period_weights(e, "gr", 0, w));
    cr_expect(w[0] == 0.45 && w[1] == 0.45 && w[2] == 0.1, "%g %g %g", w[0], w[1], w[2]);
    cr_expect(!bandit_period_weights(e, "gr", 2, w), "merged into the summary: unknown");
    cr_assert(bandit_period_weights(e, "gr", 3, w));
    cr_expect(w[1] == 0.72);
    experiment_release(e);
}

Test(bandit_inference, decide_sees_the_weighted_rate_and_the_srm_in_force)
{
    results_table t;
    build(&t);
    int gr = results_region_index(&t, "gr");
    decide_counts look[3];
    decide_srm srm;
    cr_assert_eq(bandit_decide_inputs(&t, bandit, gr, false, look, &srm), 0);
    /* pooled a: (450 + 72) / (4500 + 1800) = 8.3%, b: (450 + 288) / (4500 +
     * 7200) = 6.3%; weighted (w = 1/2, 1/2) both 7% */
    for (int v = 0; v < 3; v++) {
        double rate = (double)look[v].conversions / (double)look[v].visitors;
        cr_expect(fabs(rate - 0.07) < 1e-3, "arm %d: %g", v, rate);
    }
    cr_expect_gt(srm.p_always_valid, 0.5, "the split is the weights in force: %g",
                 srm.p_always_valid);
    results_free(&t);
    cr_expect_eq(bandit_decide_inputs(&t, bandit, -1, false, look, &srm), -1);
}

Test(bandit_inference, the_body_has_cohorts_estimates_and_srm)
{
    results_table t;
    build(&t);
    analysis_settings s = {.alpha = 0.05, .tau2 = 1e-4, .min_sample = 100};
    json_t *b = bandit_results_json(&t, bandit, &s, false, NULL);
    cr_assert_not_null(b);
    json_t *gr = json_array_get(json_object_get(b, "regions"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(gr, "region")), "gr");
    cr_expect_eq(json_integer_value(json_object_get(gr, "period")), 1);
    json_t *periods = json_object_get(gr, "periods");
    cr_assert_eq(json_array_size(periods), 2u);
    json_t *p1b = json_array_get(json_object_get(json_array_get(periods, 1), "variants"), 1);
    cr_expect_eq(json_integer_value(json_object_get(p1b, "visitors")), 7200);
    cr_expect_eq(json_integer_value(json_object_get(p1b, "conversions")), 288);
    json_t *eb = json_array_get(json_object_get(gr, "estimates"), 1);
    double wb = json_number_value(json_object_get(json_object_get(eb, "weighted"), "rate"));
    double nb = json_number_value(json_object_get(json_object_get(eb, "naive"), "rate"));
    cr_expect(fabs(wb - 0.07) < 1e-12, "weighted %g", wb);
    cr_expect(fabs(nb - 738.0 / 11700) < 1e-12, "naive %g", nb);
    double d = json_number_value(json_object_get(json_object_get(eb, "diff_weighted"), "estimate"));
    cr_expect(fabs(d) < 1e-12, "weighted difference %g", d);
    json_t *ex = json_object_get(json_object_get(gr, "srm"), "expected");
    cr_expect(fabs(json_number_value(json_array_get(ex, 1)) - (10000 * 0.45 + 10000 * 0.72)) < 1e-6);
    json_decref(b);
    results_free(&t);
}

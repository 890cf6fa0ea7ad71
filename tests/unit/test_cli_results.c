/* test_cli_results.c: results JSON -> counts per region x variant and the
 * cumulative daily looks that decide_run takes, and the CUPED numbers of
 * upshotd's analysis as `upshot show` prints them. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_results.h"
#include "cli_view.h"

static json_t *load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/fixtures/%s", UPSHOT_SOURCE_DIR, name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s", name, e.text);
    return j;
}

Test(cli_results, fixture_counts_looks_and_promotion)
{
    json_t *j = load("results_checkout_tiers.json");
    cli_results r;
    char err[256];
    cr_assert_eq(cli_results_parse(j, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.nvariants, 3);
    cr_assert_eq(r.control, 0);
    cr_assert_eq(r.nregions, 2);
    cr_assert_eq(r.ndays, 3);
    cr_assert_str_eq(r.days[0], "2026-11-18");
    cr_assert_str_eq(r.days[2], "2026-11-20");
    int gr = cli_results_region(&r, "gr");
    cr_assert_geq(gr, 0);
    /* the last look equals the region totals; looks never decrease */
    for (size_t v = 0; v < 3; v++) {
        const decide_counts *last = &r.regions[gr].looks[2 * 3 + v];
        cr_assert_eq(last->visitors, r.regions[gr].counts[v].visitors);
        cr_assert_eq(last->conversions, r.regions[gr].counts[v].conversions);
        cr_assert_eq(last->decliners, r.regions[gr].counts[v].decliners);
        for (size_t d = 1; d < 3; d++)
            cr_assert_geq(r.regions[gr].looks[d * 3 + v].visitors,
                          r.regions[gr].looks[(d - 1) * 3 + v].visitors);
    }
    cr_assert_eq(r.regions[gr].counts[1].visitors, 3080);
    cr_assert_eq(r.regions[gr].counts[1].conversions, 240);
    int pl = cli_results_region(&r, "pl");
    cr_assert(r.regions[pl].promotion.active);
    cr_assert_str_eq(r.regions[pl].promotion.variant_key, "urgency");
    cr_assert_eq(r.regions[pl].promotion.variant, 2);
    cr_assert_eq(r.regions[pl].promotion.counts.visitors, 500);
    cr_assert_not(r.regions[gr].promotion.active);
    /* total looks sum the regions */
    for (size_t v = 0; v < 3; v++)
        cr_assert_eq(r.total_looks[2 * 3 + v].visitors,
                     r.regions[0].counts[v].visitors + r.regions[1].counts[v].visitors);
    cr_assert_eq(r.duplicates, 3);
    cr_assert_eq(r.unexposed, 1);
    decide_region dr[2];
    cli_results_decide_regions(&r, dr);
    cr_assert_eq(dr[gr].nlooks, 3);
    cr_assert_eq(dr[gr].looks, r.regions[gr].looks);
    cli_results_free(&r);
    json_decref(j);
}

Test(cli_results, days_with_gaps_repeat_the_previous_look)
{
    const char *text =
        "{\"experiment\":\"e\",\"control\":\"a\",\"variants\":[{\"key\":\"a\",\"weight\":0.5},"
        "{\"key\":\"b\",\"weight\":0.5}],\"regions\":[{\"region\":\"gr\",\"variants\":[]},"
        "{\"region\":\"pl\",\"variants\":[]}],\"daily\":["
        "{\"day\":\"2026-01-02\",\"region\":\"pl\",\"variant\":\"a\",\"visitors\":5},"
        "{\"day\":\"2026-01-01\",\"region\":\"gr\",\"variant\":\"a\",\"visitors\":10,"
        "\"conversions\":1,\"decliners\":2,\"revenue_sum\":9.5,\"revenue_sumsq\":90.25},"
        "{\"day\":\"2026-01-03\",\"region\":\"gr\",\"variant\":\"a\",\"visitors\":4}]}";
    json_t *j = json_loads(text, 0, NULL);
    cli_results r;
    char err[256];
    cr_assert_eq(cli_results_parse(j, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.ndays, 3, "days sorted and unique across regions");
    int gr = cli_results_region(&r, "gr");
    cr_assert_eq(r.regions[gr].looks[0 * 2].visitors, 10);
    cr_assert_eq(r.regions[gr].looks[1 * 2].visitors, 10, "no traffic on day 2");
    cr_assert_eq(r.regions[gr].looks[2 * 2].visitors, 14);
    cr_assert_eq(r.regions[gr].daily[1 * 2].visitors, 0);
    cr_assert_float_eq(r.regions[gr].looks[2 * 2].revenue_sum, 9.5, 1e-12);
    int pl = cli_results_region(&r, "pl");
    cr_assert_eq(r.regions[pl].looks[0].visitors, 0);
    cr_assert_eq(r.regions[pl].looks[2 * 2].visitors, 5);
    cli_results_free(&r);
    json_decref(j);
}

Test(cli_results, malformed_bodies_are_refused_with_a_reason)
{
    cli_results r;
    char err[256];
    json_t *j = json_loads("[]", 0, NULL);
    cr_assert_eq(cli_results_parse(j, &r, err, sizeof err), -1);
    cli_results_free(&r);
    json_decref(j);
    j = json_loads("{\"variants\":[{\"key\":\"a\"}]}", 0, NULL);
    cr_assert_eq(cli_results_parse(j, &r, err, sizeof err), -1);
    cr_assert(strstr(err, "variants") != NULL, "%s", err);
    cli_results_free(&r);
    json_decref(j);
    j = json_loads("{\"control\":\"z\",\"variants\":[{\"key\":\"a\"},{\"key\":\"b\"}]}", 0, NULL);
    cr_assert_eq(cli_results_parse(j, &r, err, sizeof err), -1);
    cr_assert(strstr(err, "control") != NULL, "%s", err);
    cli_results_free(&r);
    json_decref(j);
}

/* Builds and renders `upshot show` for results j; returns the text
 * (caller frees). */
static char *show_text(json_t *j, cli_results *r, json_t **view)
{
    char err[256];
    cr_assert_eq(cli_results_parse(j, r, err, sizeof err), 0, "%s", err);
    json_t *exp = load("experiment_checkout_tiers.json");
    cli_view_opts o = {NULL, -1, 0, -1, -1, 0};
    *view = cli_view_build(exp, r, &o, err, sizeof err);
    cr_assert_not_null(*view, "%s", err);
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cli_view_render(*view, f, 0, 100);
    fclose(f);
    json_decref(exp);
    return text;
}

Test(cli_results, cuped_from_the_server_analysis_is_shown)
{
    json_t *j = load("results_checkout_tiers.json");
    /* the fixture's analysis carries no CUPED: nothing is shown */
    cli_results r;
    json_t *view;
    char *text = show_text(j, &r, &view);
    cr_expect(isnan(r.server_cuped_lift[1]));
    cr_expect_null(strstr(text, "CUPED"), "%s", text);
    free(text);
    json_decref(view);
    cli_results_free(&r);
    /* upshotd's total analysis with a CUPED lift for three-tiers (and a
     * null one, with its reason, for urgency) */
    json_t *an = json_object_get(json_object_get(j, "total"), "analysis");
    json_object_set_new(an, "variants",
                        json_pack("[{s:s}, {s:s, s:{s:f, s:f}}, {s:s, s:{s:n, s:s}}]", "name",
                                  "control", "name", "three-tiers", "cuped", "lift", 0.0421,
                                  "p_value", 0.0123, "name", "urgency", "cuped", "lift",
                                  "lift_reason", "no covariate"));
    text = show_text(j, &r, &view);
    int ti = cli_results_variant(&r, "three-tiers"), ui = cli_results_variant(&r, "urgency");
    cr_expect_float_eq(r.server_cuped_lift[ti], 0.0421, 0);
    cr_expect_float_eq(r.server_cuped_p[ti], 0.0123, 0);
    cr_expect(isnan(r.server_cuped_lift[ui]));
    json_t *arm = json_array_get(json_object_get(json_object_get(view, "total"), "variants"), ti);
    cr_expect_float_eq(json_number_value(json_object_get(arm, "revenue_lift_cuped")), 0.0421, 0);
    cr_expect(strstr(text, "(CUPED)"), "%s", text);
    cr_expect(strstr(text, "+4.2%  p 0.0123"), "%s", text);
    free(text);
    json_decref(view);
    cli_results_free(&r);
    json_decref(j);
}

Test(cli_results, a_factorial_body_keeps_the_factorial_object)
{
    json_t *j = load("results_offer_strategy.json");
    cli_results r;
    char err[256];
    cr_assert_eq(cli_results_parse(j, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.nvariants, 16, "the cells are the variants");
    cr_assert_str_eq(r.variants[r.control], "cart-plain-one-none");
    cr_assert_eq(r.server_factorial, json_object_get(j, "factorial"));
    cli_results_free(&r);
    cr_assert_null(r.server_factorial);
    json_decref(j);

    j = load("results_checkout_tiers.json");
    cr_assert_eq(cli_results_parse(j, &r, err, sizeof err), 0, "%s", err);
    cr_assert_null(r.server_factorial, "a plain experiment has none");
    cli_results_free(&r);
    json_decref(j);
}

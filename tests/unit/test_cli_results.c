/* test_cli_results.c: results JSON -> counts per region x variant and the
 * cumulative daily looks that decide_run takes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>

#include "cli_results.h"

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

/* test_cli_bandit.c: the bandit section of `upshot show`: the view keeps the
 * results' `bandit` object number for number, and the text shows per region
 * the weights, p(best), the estimates, the moved share, the next update, the
 * waiting line and the weight chart, within 100 columns. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli_bandit.h"

static json_t *load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/fixtures/%s", UPSHOT_SOURCE_DIR, name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert_not_null(j, "%s: %s", name, e.text);
    return j;
}

static char *render(const json_t *b, const char *region, int width)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cli_bandit_render(b, region, f, 0, width);
    fclose(f);
    return text;
}

static size_t widest(const char *s)
{
    size_t best = 0, cur = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') {
            if (cur > best) best = cur;
            cur = 0;
        } else if ((*p & 0xc0) != 0x80) {
            cur++;
        }
    }
    return cur > best ? cur : best;
}

Test(cli_bandit, view_is_the_results_bandit_object_unchanged)
{
    json_t *res = load("results_checkout_wording.json");
    json_t *v = cli_bandit_view(res);
    cr_assert_not_null(v);
    cr_assert(json_equal(v, json_object_get(res, "bandit")));
    cr_assert_neq(v, json_object_get(res, "bandit"), "a copy, not the results' own object");
    json_decref(v);
    json_decref(res);
}

Test(cli_bandit, no_view_for_a_fixed_experiment)
{
    json_t *res = load("results_checkout_tiers.json");
    cr_assert_null(cli_bandit_view(res));
    json_object_set_new(res, "bandit", json_string("not an object"));
    cr_assert_null(cli_bandit_view(res));
    json_decref(res);
}

Test(cli_bandit, text_has_weights_p_best_estimates_and_next_update)
{
    json_t *res = load("results_checkout_wording.json");
    json_t *b = json_object_get(res, "bandit");
    char *t = render(b, NULL, 100);
    const char *want[] = {
        "Bandit: top-two Thompson sampling on conversion, updated every 1d",
        "control share 34.0%  floor 2.0% per treatment  min 100 visitors/arm",
        "next update 2026-11-21T00:00:00Z",
        "period 2 since 2026-11-20T00:00:00Z  moved buckets 17.2%",
        "51.2%", "14.8%",                 /* gr's weights */
        "0.973",                          /* p(best) of three-tiers in gr */
        "7.86% ±0.49", "7.79%",           /* weighted (± its se) and naive rates */
        "+3.84 [+2.65, +5.03]", "<0.0001",
        "SRM against the weights in force: chi2 0.00, p 0.9985",
        "weights by period (3 periods",
        "waiting for 100 visitors per arm (fewest: 63)",
        NULL};
    for (int i = 0; want[i]; i++)
        cr_assert(strstr(t, want[i]) != NULL, "missing \"%s\" in:\n%s", want[i], t);
    /* only pl waits: the one waiting line comes after pl's heading */
    const char *gr = strstr(t, "\ngr"), *pl = strstr(t, "\npl"), *wait = strstr(t, "waiting");
    cr_assert(gr && pl && wait && gr < pl && wait > pl, "%s", t);
    cr_assert_leq(widest(t), 100, "%s", t);
    free(t);
    json_decref(res);
}

Test(cli_bandit, chart_draws_one_glyph_per_variant_and_period)
{
    json_t *res = load("results_checkout_wording.json");
    char *t = render(json_object_get(res, "bandit"), "gr", 100);
    /* the chart's legend names every variant, its x axis the first and last
     * period's days (MM-DD) */
    const char *chart = strstr(t, "weights by period");
    cr_assert_not_null(chart, "%s", t);
    cr_assert_not_null(strstr(chart, "* control"), "%s", chart);
    cr_assert_not_null(strstr(chart, "+ three-tiers"), "%s", chart);
    cr_assert_not_null(strstr(chart, "o urgency"), "%s", chart);
    cr_assert_not_null(strstr(chart, "11-18"), "%s", chart);
    cr_assert_not_null(strstr(chart, "11-20"), "%s", chart);
    /* the top of the y axis is the largest weight, three-tiers' 51.25% */
    cr_assert_not_null(strstr(chart, "+51.2%"), "%s", chart);
    /* three periods x three variants; at period 0 the three weights (34%,
     * 33%, 33%) share one cell, where the last series drawn (urgency, o)
     * shows: o three times, control (*) and three-tiers (+) twice */
    size_t star = 0, plus = 0, o = 0;
    const char *legend = strstr(chart, "* control");
    for (const char *p = strchr(chart, '\n'); p < legend; p++) {
        if (*p == 'o') o++;
        if (*p == '*') star++;
        if (*p == '+' && p[1] == ' ') plus++; /* not a label (+51.2%) nor the axis (+---) */
    }
    cr_assert_eq(o, 3, "%s", chart);
    cr_assert_eq(star, 2, "%s", chart);
    /* the region filter leaves pl out */
    cr_assert_null(strstr(t, "\npl"), "%s", t);
    free(t);
    json_decref(res);
}

Test(cli_bandit, region_without_history_says_the_weights_have_not_moved)
{
    json_t *res = load("results_checkout_wording.json");
    char *t = render(json_object_get(res, "bandit"), "pl", 100);
    cr_assert_not_null(strstr(t, "(the weights have not moved yet)"), "%s", t);
    cr_assert_not_null(strstr(t, "period 0 since the start"), "%s", t);
    free(t);
    json_decref(res);
}

Test(cli_bandit, narrow_terminal_cuts_names_not_numbers)
{
    json_t *res = load("results_checkout_wording.json");
    char *t = render(json_object_get(res, "bandit"), NULL, 80);
    cr_assert_leq(widest(t), 80, "%s", t);
    cr_assert_not_null(strstr(t, "+3.84 [+2.65, +5.03]"), "%s", t);
    free(t);
    json_decref(res);
}

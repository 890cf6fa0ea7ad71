/* Tests for results.h: the counters hash as record.lua writes it (fields
 * METRIC|VARIANT|REGION|DAY, "p" before the metric for promoted traffic,
 * plus "dup", "unexposed|c", "unexposed|d") turned into tables, sums and
 * the results JSON. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "results.h"

#define D1 "2026-11-20"
#define D2 "2026-11-21"
#define D3 "2026-11-22"

typedef struct kv {
    const char *field, *value;
} kv;

/* Builds t from a {field, value} list (split into HGETALL's two arrays). */
static void build(results_table *t, int nvariants, const kv *pairs, size_t n)
{
    const char *fields[256], *values[256];
    cr_assert_leq(n, 256u);
    for (size_t i = 0; i < n; i++) {
        fields[i] = pairs[i].field;
        values[i] = pairs[i].value;
    }
    cr_assert_eq(results_build(t, nvariants, n, fields, values), 0, "results_build failed");
}

#define BUILD(t, nv, pairs) build((t), (nv), (pairs), sizeof(pairs) / sizeof *(pairs))

#define EXPECT_N(act, want) \
    cr_expect_eq((act), (uint64_t)(want), "%s = %llu, expected %llu", #act, \
                 (unsigned long long)(act), (unsigned long long)(want))
#define EXPECT_F(act, want) \
    cr_expect(fabs((act) - (want)) <= 1e-9 * (1 + fabs(want)), "%s = %.17g, expected %.17g", #act, \
              (double)(act), (double)(want))

/* Two regions, two (out of order) days, two variants, every metric. */
static const kv FULL[] = {
    {"e|0|gr|" D1, "100"}, {"e|1|gr|" D1, "98"},
    {"e|0|gr|" D2, "50"},  {"e|1|gr|" D2, "52"},
    {"e|0|pl|" D2, "30"},  {"e|1|pl|" D2, "31"},
    {"c|0|gr|" D1, "5"},   {"c|1|gr|" D1, "8"},   {"c|1|gr|" D2, "2"},
    {"o|0|gr|" D1, "6"},   {"o|1|gr|" D1, "9"},   {"o|1|gr|" D2, "2"},
    {"s|0|gr|" D1, "120.5"}, {"s|1|gr|" D1, "300.25"}, {"s|1|gr|" D2, "40"},
    {"q|0|gr|" D1, "4000.25"}, {"q|1|gr|" D1, "15000.0625"}, {"q|1|gr|" D2, "800"},
    {"d|0|gr|" D1, "10"},  {"d|1|gr|" D1, "12"},  {"d|0|pl|" D2, "3"},
    {"dn|0|gr|" D1, "11"}, {"dn|1|gr|" D1, "15"}, {"dn|0|pl|" D2, "4"},
    {"c|0|pl|" D2, "1"},   {"o|0|pl|" D2, "1"},   {"s|0|pl|" D2, "9.99"}, {"q|0|pl|" D2, "99.8001"},
    /* promoted traffic in gr (variant 1 won there) */
    {"pe|1|gr|" D2, "40"}, {"pe|0|gr|" D2, "2"},
    {"pc|1|gr|" D2, "4"},  {"po|1|gr|" D2, "5"},  {"ps|1|gr|" D2, "75.5"}, {"pq|1|gr|" D2, "1300"},
    {"pd|1|gr|" D2, "1"},  {"pdn|1|gr|" D2, "2"},
    {"pe|1|gr|" D3, "10"},
    /* integrity */
    {"dup", "7"}, {"unexposed|c", "3"}, {"unexposed|d", "2"},
};

TestSuite(results);

Test(results, regions_and_days_sorted)
{
    results_table t;
    BUILD(&t, 2, FULL);
    cr_expect_eq(t.nvariants, 2);
    cr_assert_eq(t.nregions, 2, "regions %d", t.nregions);
    cr_expect_str_eq(t.regions[0], "gr");
    cr_expect_str_eq(t.regions[1], "pl");
    /* Promoted fields do not add days: D3 has promoted traffic only. */
    cr_assert_eq(t.ndays, 2, "days %d", t.ndays);
    cr_expect_str_eq(t.days[0], D1);
    cr_expect_str_eq(t.days[1], D2);
    cr_expect_eq(results_region_index(&t, "gr"), 0);
    cr_expect_eq(results_region_index(&t, "pl"), 1);
    cr_expect_eq(results_region_index(&t, "se"), -1);
    EXPECT_N(t.duplicates, 7);
    EXPECT_N(t.unexposed_conversions, 3);
    EXPECT_N(t.unexposed_declines, 2);
    results_free(&t);
}

Test(results, cells_hold_each_metric)
{
    results_table t;
    BUILD(&t, 2, FULL);
    /* [region][day][variant] */
    const results_counts *gr_d1_v1 = &t.cells[(0 * 2 + 0) * 2 + 1];
    EXPECT_N(gr_d1_v1->visitors, 98);
    EXPECT_N(gr_d1_v1->conversions, 8);
    EXPECT_N(gr_d1_v1->orders, 9);
    EXPECT_F(gr_d1_v1->revenue_sum, 300.25);
    EXPECT_F(gr_d1_v1->revenue_sumsq, 15000.0625);
    EXPECT_N(gr_d1_v1->decliners, 12);
    EXPECT_N(gr_d1_v1->decline_events, 15);
    const results_counts *pl_d1_v0 = &t.cells[(1 * 2 + 0) * 2 + 0];
    EXPECT_N(pl_d1_v0->visitors, 0);
    const results_counts *pl_d2_v0 = &t.cells[(1 * 2 + 1) * 2 + 0];
    EXPECT_N(pl_d2_v0->visitors, 30);
    EXPECT_N(pl_d2_v0->decliners, 3);
    EXPECT_N(pl_d2_v0->decline_events, 4);
    EXPECT_F(pl_d2_v0->revenue_sum, 9.99);
    results_free(&t);
}

Test(results, promoted_counted_apart)
{
    results_table t;
    BUILD(&t, 2, FULL);
    const results_counts *p1 = &t.promoted[0 * 2 + 1]; /* gr, variant 1, all days */
    EXPECT_N(p1->visitors, 50);
    EXPECT_N(p1->conversions, 4);
    EXPECT_N(p1->orders, 5);
    EXPECT_F(p1->revenue_sum, 75.5);
    EXPECT_F(p1->revenue_sumsq, 1300.0);
    EXPECT_N(p1->decliners, 1);
    EXPECT_N(p1->decline_events, 2);
    EXPECT_N(t.promoted[0 * 2 + 0].visitors, 2);
    EXPECT_N(t.promoted[1 * 2 + 0].visitors, 0);
    EXPECT_N(t.promoted[1 * 2 + 1].visitors, 0);

    /* None of it reaches the randomized sums. */
    results_counts sum[2];
    results_sum(&t, 0, t.ndays - 1, sum);
    EXPECT_N(sum[1].visitors, 98 + 52);
    EXPECT_N(sum[1].conversions, 10);
    EXPECT_F(sum[1].revenue_sum, 340.25);
    results_free(&t);
}

Test(results, sums_per_region_and_cumulative_over_days)
{
    results_table t;
    BUILD(&t, 2, FULL);
    results_counts s[2];

    /* gr, first day only */
    results_sum(&t, 0, 0, s);
    EXPECT_N(s[0].visitors, 100);
    EXPECT_N(s[1].visitors, 98);
    EXPECT_N(s[1].conversions, 8);
    /* gr, through the second day */
    results_sum(&t, 0, 1, s);
    EXPECT_N(s[0].visitors, 150);
    EXPECT_N(s[1].visitors, 150);
    EXPECT_N(s[1].conversions, 10);
    EXPECT_N(s[1].orders, 11);
    EXPECT_F(s[1].revenue_sum, 340.25);
    EXPECT_F(s[1].revenue_sumsq, 15800.0625);
    /* pl has nothing on the first day */
    results_sum(&t, 1, 0, s);
    EXPECT_N(s[0].visitors, 0);
    EXPECT_N(s[1].visitors, 0);
    results_sum(&t, 1, 1, s);
    EXPECT_N(s[0].visitors, 30);
    EXPECT_N(s[0].conversions, 1);
    /* all regions */
    results_sum(&t, -1, 0, s);
    EXPECT_N(s[0].visitors, 100);
    results_sum(&t, -1, 1, s);
    EXPECT_N(s[0].visitors, 180);
    EXPECT_N(s[1].visitors, 181);
    EXPECT_N(s[0].conversions, 6);
    EXPECT_N(s[0].decliners, 13);
    EXPECT_N(s[0].decline_events, 15);
    EXPECT_F(s[0].revenue_sum, 130.49);
    /* upto_day past the last day is the same as the last day */
    results_counts s2[2];
    results_sum(&t, -1, 99, s2);
    EXPECT_N(s2[0].visitors, 180);
    /* before the first day: nothing (and the output is cleared) */
    results_sum(&t, -1, -1, s);
    EXPECT_N(s[0].visitors, 0);
    EXPECT_F(s[0].revenue_sum, 0.0);
    results_free(&t);
}

Test(results, empty_hash)
{
    results_table t;
    cr_assert_eq(results_build(&t, 3, 0, NULL, NULL), 0);
    cr_expect_eq(t.nregions, 0);
    cr_expect_eq(t.ndays, 0);
    EXPECT_N(t.duplicates, 0);
    results_counts s[3];
    memset(s, 0xff, sizeof s);
    results_sum(&t, -1, t.ndays - 1, s);
    for (int v = 0; v < 3; v++)
        EXPECT_N(s[v].visitors, 0);
    results_free(&t);
    results_free(&t); /* freeing twice is harmless: results_free clears */
}

Test(results, bad_and_unknown_fields_ignored)
{
    static const kv pairs[] = {
        {"e|0|gr|" D1, "10"},
        {"e|1|gr|" D1, "11"},
        /* a variant index beyond this layout (an older experiment) */
        {"e|2|gr|" D1, "1000"},
        {"e|-1|gr|" D1, "1000"},
        /* not numbers */
        {"e|x|gr|" D1, "1000"},
        {"e||gr|" D1, "1000"},
        {"e|1x|gr|" D1, "1000"},
        /* wrong number of parts */
        {"e|0|gr", "1000"},
        {"e|0|gr|" D1 "|extra", "1000"},
        {"e", "1000"},
        {"", "1000"},
        /* a day that is not a date */
        {"e|0|gr|2026-11-2", "1000"},
        {"e|0|gr|2026-11-200", "1000"},
        {"e|0|gr|not-a-date", "1000"},
        /* unknown metrics, in a region and on a day with no real data */
        {"zz|0|se|" D3, "1000"},
        {"p|0|se|" D3, "1000"},
        {"x|0|se|" D3, "1000"},
        /* an empty region */
        {"e|0||" D1, "1000"},
        /* unknown special fields */
        {"unexposed|x", "1000"},
        {"dups", "1000"},
    };
    results_table t;
    BUILD(&t, 2, pairs);
    cr_expect_eq(t.nregions, 1, "regions %d (first \"%s\"), expected only gr", t.nregions,
                 t.nregions ? t.regions[0] : "");
    cr_expect_eq(t.ndays, 1, "days %d, expected only " D1, t.ndays);
    cr_expect_eq(results_region_index(&t, "se"), -1, "a region seen only in unknown fields was added");
    results_counts s[2];
    results_sum(&t, -1, t.ndays - 1, s);
    EXPECT_N(s[0].visitors, 10);
    EXPECT_N(s[1].visitors, 11);
    EXPECT_N(t.duplicates, 0);
    EXPECT_N(t.unexposed_conversions, 0);
    EXPECT_N(t.unexposed_declines, 0);
    results_free(&t);
}

/* ---- results_json --------------------------------------------------- */

static experiment *two_variant_experiment(void)
{
    const char *text =
        "{\"key\": \"checkout-tiers\", \"placement\": \"checkout_popup\", \"status\": \"running\","
        " \"control\": \"control\","
        " \"variants\": [{\"key\": \"control\", \"weight\": 0.5}, {\"key\": \"tiers\", \"weight\": 0.5}],"
        " \"started_at\": \"2026-11-18T00:00:00Z\","
        " \"promotions\": {\"se\": {\"variant\": \"control\", \"holdback\": 0.1, \"since\": \"2026-11-22T09:00:00Z\"},"
        "                \"gr\": {\"variant\": \"tiers\", \"holdback\": 0.05, \"since\": \"2026-11-21T08:00:00Z\"}}}";
    json_t *def = json_loads(text, 0, NULL);
    cr_assert_not_null(def);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    json_decref(def);
    cr_assert_not_null(e, "%s", err);
    return e;
}

/* Checks one COUNTS object. */
static void expect_counts(json_t *c, const char *variant, uint64_t visitors, uint64_t conversions,
                          double revenue_sum, double revenue_sumsq, uint64_t orders, uint64_t decliners,
                          uint64_t decline_events, const char *where)
{
    cr_assert(json_is_object(c), "%s: not an object", where);
    cr_expect_str_eq(json_string_value(json_object_get(c, "variant")), variant, "%s: variant", where);
#define INT_FIELD(name, want)                                                                  \
    cr_expect(json_is_integer(json_object_get(c, name)) &&                                     \
                  json_integer_value(json_object_get(c, name)) == (json_int_t)(want),          \
              "%s: %s = %lld, expected %lld", where, name,                                     \
              (long long)json_integer_value(json_object_get(c, name)), (long long)(want))
#define REAL_FIELD(name, want)                                                                 \
    cr_expect(json_is_number(json_object_get(c, name)) &&                                      \
                  fabs(json_number_value(json_object_get(c, name)) - (want)) <= 1e-9 * (1 + fabs(want)), \
              "%s: %s = %.17g, expected %.17g", where, name,                                   \
              json_number_value(json_object_get(c, name)), (double)(want))
    INT_FIELD("visitors", visitors);
    INT_FIELD("conversions", conversions);
    REAL_FIELD("revenue_sum", revenue_sum);
    REAL_FIELD("revenue_sumsq", revenue_sumsq);
    INT_FIELD("orders", orders);
    INT_FIELD("decliners", decliners);
    INT_FIELD("decline_events", decline_events);
#undef INT_FIELD
#undef REAL_FIELD
}

static json_t *region_obj(json_t *regions, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(regions, i, r) {
        if (strcmp(json_string_value(json_object_get(r, "region")), name) == 0)
            return r;
    }
    return NULL;
}

Test(results, counts_json_fields)
{
    results_counts c = {.visitors = 1200, .conversions = 48, .orders = 51, .decliners = 300,
                        .decline_events = 310, .revenue_sum = 2875.5, .revenue_sumsq = 190211.25,
                        .capped_sum = 2790.5, .capped_sumsq = 171311.25,
                        .covariate_visitors = 1100, .covariate_sum = 40150, .covariate_sumsq = 2210300.5,
                        .cross_sum = 150210, .capped_cross_sum = 146001, .refunds = 2,
                        .refund_sum = 39.8};
    json_t *j = results_counts_json("control", &c);
    expect_counts(j, "control", 1200, 48, 2875.5, 190211.25, 51, 300, 310, "COUNTS");
    static const struct {
        const char *field;
        double want;
    } more[] = {{"revenue_sum_capped", 2790.5}, {"revenue_sumsq_capped", 171311.25},
                {"cart_visitors", 1100},        {"cart_sum", 40150},
                {"cart_sumsq", 2210300.5},      {"cart_revenue_sum", 150210},
                {"cart_revenue_sum_capped", 146001}, {"refunds", 2}, {"refund_sum", 39.8}};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        cr_expect_eq(json_number_value(json_object_get(j, more[i].field)), more[i].want, "%s",
                     more[i].field);
    cr_expect_eq(json_object_size(j), 17u, "COUNTS has %zu fields", json_object_size(j));
    json_decref(j);
}

Test(results, capped_cart_and_refund_metrics_parse_and_sum)
{
    /* Two days of one cell, as record.lua writes them: capped sums are the
     * uncapped ones plus the k differences. */
    const char *f[] = {"e|0|gr|2026-11-20", "s|0|gr|2026-11-20", "q|0|gr|2026-11-20",
                       "ks|0|gr|2026-11-20", "kq|0|gr|2026-11-20", "xn|0|gr|2026-11-20",
                       "xs|0|gr|2026-11-20", "xq|0|gr|2026-11-20", "xy|0|gr|2026-11-20",
                       "kx|0|gr|2026-11-20", "r|0|gr|2026-11-21", "rs|0|gr|2026-11-21",
                       "s|0|gr|2026-11-21", "q|0|gr|2026-11-21", "cap", "refund|rejected",
                       "unexposed|r"};
    const char *v[] = {"3", "900", "810000", "-400", "-560000", "2", "50", "1300", "27000",
                       "-12000", "1", "100", "-100", "-170000", "500", "4", "2"};
    results_table t;
    cr_assert_eq(results_build(&t, 2, sizeof f / sizeof *f, f, v), 0);
    results_counts sum[2];
    results_sum(&t, -1, t.ndays - 1, sum);
    cr_expect_eq(sum[0].revenue_sum, 800);
    cr_expect_eq(sum[0].revenue_sumsq, 640000);
    cr_expect_eq(sum[0].capped_sum, 400);
    cr_expect_eq(sum[0].capped_sumsq, 80000);
    cr_expect_eq(sum[0].covariate_visitors, 2u);
    cr_expect_eq(sum[0].covariate_sum, 50);
    cr_expect_eq(sum[0].covariate_sumsq, 1300);
    cr_expect_eq(sum[0].cross_sum, 27000);
    cr_expect_eq(sum[0].capped_cross_sum, 15000);
    cr_expect_eq(sum[0].refunds, 1u);
    cr_expect_eq(sum[0].refund_sum, 100);
    cr_expect_eq(t.cap, 500);
    cr_expect_eq(t.refused_refunds, 4u);
    cr_expect_eq(t.unexposed_refunds, 2u);
    results_free(&t);
}

Test(results, json_field_by_field)
{
    results_table t;
    BUILD(&t, 2, FULL);
    experiment *e = two_variant_experiment();
    json_t *root = results_json(&t, e, NULL);
    cr_assert_not_null(root);

    /* variants */
    json_t *vs = json_object_get(root, "variants");
    cr_assert_eq(json_array_size(vs), 2u);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(vs, 0), "key")), "control");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(vs, 1), "key")), "tiers");
    cr_expect_float_eq(json_number_value(json_object_get(json_array_get(vs, 0), "weight")), 0.5, 1e-15);
    cr_expect(json_is_true(json_object_get(json_array_get(vs, 0), "control")));
    cr_expect(json_is_false(json_object_get(json_array_get(vs, 1), "control")));

    /* total: randomized traffic of every region and day */
    json_t *tv = json_object_get(json_object_get(root, "total"), "variants");
    cr_assert_eq(json_array_size(tv), 2u);
    expect_counts(json_array_get(tv, 0), "control", 180, 6, 130.49, 4100.0501, 7, 13, 15, "total control");
    expect_counts(json_array_get(tv, 1), "tiers", 181, 10, 340.25, 15800.0625, 11, 12, 15, "total tiers");

    /* regions: gr and pl with data, se promoted without data */
    json_t *regions = json_object_get(root, "regions");
    cr_assert_eq(json_array_size(regions), 3u, "regions: %zu", json_array_size(regions));
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(regions, 0), "region")), "gr");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(regions, 1), "region")), "pl");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(regions, 2), "region")), "se");

    json_t *gr = region_obj(regions, "gr");
    json_t *grv = json_object_get(gr, "variants");
    expect_counts(json_array_get(grv, 0), "control", 150, 5, 120.5, 4000.25, 6, 10, 11, "gr control");
    expect_counts(json_array_get(grv, 1), "tiers", 150, 10, 340.25, 15800.0625, 11, 12, 15, "gr tiers");
    json_t *gp = json_object_get(gr, "promotion");
    cr_assert(json_is_object(gp), "gr has no promotion object");
    cr_expect_str_eq(json_string_value(json_object_get(gp, "variant")), "tiers");
    cr_expect_float_eq(json_number_value(json_object_get(gp, "holdback")), 0.05, 1e-15);
    cr_expect_str_eq(json_string_value(json_object_get(gp, "since")), "2026-11-21T08:00:00Z");
    json_t *gpc = json_object_get(gp, "counts");
    cr_assert_eq(json_array_size(gpc), 2u);
    expect_counts(json_array_get(gpc, 0), "control", 2, 0, 0, 0, 0, 0, 0, "gr promoted control");
    expect_counts(json_array_get(gpc, 1), "tiers", 50, 4, 75.5, 1300, 5, 1, 2, "gr promoted tiers");
    cr_expect_null(json_object_get(gr, "formerly_promoted"));

    json_t *pl = region_obj(regions, "pl");
    cr_expect(json_is_null(json_object_get(pl, "promotion")), "pl promotion is not null");
    cr_expect_null(json_object_get(pl, "formerly_promoted"));
    expect_counts(json_array_get(json_object_get(pl, "variants"), 0), "control", 30, 1, 9.99, 99.8001, 1, 3, 4,
                  "pl control");

    json_t *se = region_obj(regions, "se");
    expect_counts(json_array_get(json_object_get(se, "variants"), 0), "control", 0, 0, 0, 0, 0, 0, 0, "se control");
    json_t *sp = json_object_get(se, "promotion");
    cr_assert(json_is_object(sp));
    cr_expect_str_eq(json_string_value(json_object_get(sp, "variant")), "control");
    cr_expect_float_eq(json_number_value(json_object_get(sp, "holdback")), 0.1, 1e-15);
    cr_expect_eq(json_array_size(json_object_get(sp, "counts")), 2u);

    /* daily: region x day x variant, not cumulative */
    json_t *daily = json_object_get(root, "daily");
    cr_assert_eq(json_array_size(daily), 2u * 2u * 2u, "daily rows %zu", json_array_size(daily));
    json_t *row = json_array_get(daily, 3); /* gr, D2, tiers */
    cr_expect_str_eq(json_string_value(json_object_get(row, "region")), "gr");
    cr_expect_str_eq(json_string_value(json_object_get(row, "day")), D2);
    expect_counts(row, "tiers", 52, 2, 40, 800, 2, 0, 0, "daily gr " D2 " tiers");
    row = json_array_get(daily, 4); /* pl, D1, control */
    cr_expect_str_eq(json_string_value(json_object_get(row, "region")), "pl");
    cr_expect_str_eq(json_string_value(json_object_get(row, "day")), D1);
    expect_counts(row, "control", 0, 0, 0, 0, 0, 0, 0, "daily pl " D1 " control");

    /* integrity */
    json_t *in = json_object_get(root, "integrity");
    cr_expect_eq(json_integer_value(json_object_get(in, "duplicates")), 7);
    cr_expect_eq(json_integer_value(json_object_get(in, "unexposed_conversions")), 3);
    cr_expect_eq(json_integer_value(json_object_get(in, "unexposed_declines")), 2);

    json_decref(root);
    experiment_release(e);
    results_free(&t);
}

Test(results, json_region_filter)
{
    results_table t;
    BUILD(&t, 2, FULL);
    experiment *e = two_variant_experiment();
    json_t *root = results_json(&t, e, "pl");
    cr_assert_not_null(root);
    json_t *regions = json_object_get(root, "regions");
    cr_assert_eq(json_array_size(regions), 1u, "filtered regions: %zu", json_array_size(regions));
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(regions, 0), "region")), "pl");
    json_t *daily = json_object_get(root, "daily");
    cr_expect_eq(json_array_size(daily), 4u);
    size_t i;
    json_t *row;
    json_array_foreach(daily, i, row) {
        cr_expect_str_eq(json_string_value(json_object_get(row, "region")), "pl", "daily row %zu", i);
    }
    json_decref(root);

    /* A promoted region without data is reported when asked for. */
    root = results_json(&t, e, "se");
    regions = json_object_get(root, "regions");
    cr_assert_eq(json_array_size(regions), 1u);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(regions, 0), "region")), "se");
    cr_expect_eq(json_array_size(json_object_get(root, "daily")), 0u);
    json_decref(root);

    /* An unknown region: nothing. */
    root = results_json(&t, e, "fi");
    cr_expect_eq(json_array_size(json_object_get(root, "regions")), 0u);
    cr_expect_eq(json_array_size(json_object_get(root, "daily")), 0u);
    json_decref(root);
    experiment_release(e);
    results_free(&t);
}

Test(results, formerly_promoted_traffic_reported)
{
    /* Promoted counts in a region that is no longer promoted. */
    static const kv pairs[] = {
        {"e|0|pl|" D1, "10"}, {"e|1|pl|" D1, "10"}, {"pe|0|pl|" D1, "7"}, {"pc|0|pl|" D1, "1"},
    };
    results_table t;
    BUILD(&t, 2, pairs);
    experiment *e = two_variant_experiment(); /* promotes gr and se, not pl */
    json_t *root = results_json(&t, e, NULL);
    json_t *pl = region_obj(json_object_get(root, "regions"), "pl");
    cr_assert_not_null(pl);
    cr_expect(json_is_null(json_object_get(pl, "promotion")));
    json_t *fp = json_object_get(pl, "formerly_promoted");
    cr_assert_eq(json_array_size(fp), 2u, "formerly_promoted missing");
    expect_counts(json_array_get(fp, 0), "control", 7, 1, 0, 0, 0, 0, 0, "formerly promoted control");
    json_decref(root);
    experiment_release(e);
    results_free(&t);
}

Test(results, json_of_an_empty_table)
{
    results_table t;
    cr_assert_eq(results_build(&t, 2, 0, NULL, NULL), 0);
    experiment *e = two_variant_experiment();
    json_t *root = results_json(&t, e, NULL);
    cr_assert_not_null(root);
    json_t *tv = json_object_get(json_object_get(root, "total"), "variants");
    expect_counts(json_array_get(tv, 1), "tiers", 0, 0, 0, 0, 0, 0, 0, "empty total");
    /* only the promoted regions, with zero counts */
    cr_expect_eq(json_array_size(json_object_get(root, "regions")), 2u);
    cr_expect_eq(json_array_size(json_object_get(root, "daily")), 0u);
    json_decref(root);
    experiment_release(e);
    results_free(&t);
}

Test(results, optional_counts_fields_appear_only_where_they_have_something_to_say)
{
    experiment *e = two_variant_experiment();
    const char *f[] = {"e|0|gr|2026-11-20", "s|0|gr|2026-11-20", "xn|1|gr|2026-11-20",
                       "xs|1|gr|2026-11-20"};
    const char *v[] = {"3", "90", "2", "50"};
    results_table t;
    cr_assert_eq(results_build(&t, 2, 2, f, v), 0); /* no cart value, no refund */
    json_t *j = results_json(&t, e, NULL);
    json_t *row = json_array_get(json_object_get(j, "daily"), 0);
    cr_expect_null(json_object_get(row, "cart_sum"));
    cr_expect_null(json_object_get(row, "refunds"));
    cr_expect_null(json_object_get(row, "revenue_sum_capped"), "the experiment caps nothing");
    cr_expect(json_is_null(json_object_get(j, "capping")));
    json_decref(j);
    results_free(&t);
    cr_assert_eq(results_build(&t, 2, 4, f, v), 0); /* a cart value somewhere */
    j = results_json(&t, e, NULL);
    json_t *total = json_object_get(json_object_get(j, "total"), "variants");
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(total, 1), "cart_visitors")), 2);
    cr_expect_not_null(json_object_get(json_array_get(total, 0), "cart_sum"), "every row has the group");
    cr_expect_null(json_object_get(json_array_get(total, 0), "refunds"));
    json_decref(j);
    results_free(&t);
    experiment_release(e);
}

/* A bandit's per-period cohort fields (record.lua: "METRIC|VARIANT|REGION|#P")
 * go to the period table, never to a day; malformed period fields are
 * refused whole. */
Test(results, period_fields_fill_the_period_table_and_not_the_days)
{
    static const kv P[] = {
        {"e|0|gr|" D1, "10"}, {"e|1|gr|" D1, "12"},
        {"e|0|gr|#0", "6"},   {"e|1|gr|#0", "5"},  {"e|0|gr|#2", "4"}, {"e|1|gr|#2", "7"},
        {"c|1|gr|#2", "3"},   {"o|1|gr|#2", "4"},  {"s|1|gr|#2", "80.5"}, {"q|1|gr|#2", "2500.25"},
        {"ks|1|gr|#2", "-10"}, {"kq|1|gr|#2", "-900"}, {"r|1|gr|#2", "1"}, {"rs|1|gr|#2", "2.5"},
        {"d|0|gr|#0", "2"},   {"dn|0|gr|#0", "3"},
        {"e|0|pl|#10", "9"},
        /* refused: promoted, cart sums, leading zero, empty, too long, a
         * sign, a variant out of range */
        {"pe|0|gr|#1", "100"}, {"xn|0|gr|#1", "100"}, {"e|0|gr|#01", "100"}, {"e|0|gr|#", "100"},
        {"e|0|gr|#1234567890", "100"}, {"e|0|gr|#-1", "100"}, {"e|5|gr|#1", "100"},
    };
    results_table t;
    BUILD(&t, 2, P);
    cr_assert_eq(t.nperiods, 3, "periods 0, 2 and 10, got %d", t.nperiods);
    cr_expect_eq(t.periods[0], 0);
    cr_expect_eq(t.periods[1], 2);
    cr_expect_eq(t.periods[2], 10, "sorted as numbers");
    cr_expect_eq(t.ndays, 1, "a period is not a day");
    int gr = results_region_index(&t, "gr"), pl = results_region_index(&t, "pl");
    cr_assert(gr >= 0 && pl >= 0);
    int p0 = results_period_index(&t, 0), p2 = results_period_index(&t, 2),
        p10 = results_period_index(&t, 10);
    cr_expect_eq(results_period_index(&t, 1), -1);
    EXPECT_N(results_period_cell(&t, gr, p0, 0)->visitors, 6);
    EXPECT_N(results_period_cell(&t, gr, p0, 1)->visitors, 5);
    EXPECT_N(results_period_cell(&t, gr, p0, 0)->decliners, 2);
    EXPECT_N(results_period_cell(&t, gr, p0, 0)->decline_events, 3);
    const results_counts *c = results_period_cell(&t, gr, p2, 1);
    EXPECT_N(c->visitors, 7);
    EXPECT_N(c->conversions, 3);
    EXPECT_N(c->orders, 4);
    EXPECT_F(c->revenue_sum, 80.5);
    EXPECT_F(c->revenue_sumsq, 2500.25);
    EXPECT_F(c->capped_sum, 70.5);
    EXPECT_F(c->capped_sumsq, 1600.25);
    EXPECT_N(c->refunds, 1);
    EXPECT_F(c->refund_sum, 2.5);
    EXPECT_N(results_period_cell(&t, pl, p10, 0)->visitors, 9);
    EXPECT_N(results_period_cell(&t, gr, p10, 0)->visitors, 0);
    /* The daily sums hold only the daily fields. */
    results_counts sum[2];
    results_sum(&t, gr, t.ndays - 1, sum);
    EXPECT_N(sum[0].visitors, 10);
    EXPECT_N(sum[1].visitors, 12);
    EXPECT_N(sum[1].conversions, 0);
    results_free(&t);
}

/* Tests for bandit_plan: the update seed formula (the one docs/config.md
 * gives, so an audit entry can be replayed), the UTC-aligned schedule, the
 * period rule with its Monte Carlo deadband, and the bounded history. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bandit_plan.h"
#include "hash.h"

Test(bandit_plan, seed_is_murmur3_of_region_and_period)
{
    cr_expect_eq(bandit_plan_seed(12345, "gr", 1), hash_murmur3_32("gr|1", 4, 12345));
    cr_expect_eq(bandit_plan_seed(12345, "mena", 17), hash_murmur3_32("mena|17", 7, 12345));
    cr_expect_neq(bandit_plan_seed(12345, "gr", 1), bandit_plan_seed(12345, "gr", 2));
    cr_expect_neq(bandit_plan_seed(12345, "gr", 1), bandit_plan_seed(12345, "pl", 1));
    cr_expect_neq(bandit_plan_seed(12345, "gr", 1), bandit_plan_seed(12346, "gr", 1));
}

Test(bandit_plan, schedule_is_aligned_to_utc)
{
    int64_t t = bandit_plan_parse_time("2026-12-02T13:07:41Z");
    char out[32];
    bandit_plan_format_time(bandit_plan_next(t, 86400), out);
    cr_expect_str_eq(out, "2026-12-03T00:00:00Z");
    bandit_plan_format_time(bandit_plan_next(t, 900), out);
    cr_expect_str_eq(out, "2026-12-02T13:15:00Z");
    bandit_plan_format_time(bandit_plan_next(t, 3600), out);
    cr_expect_str_eq(out, "2026-12-02T14:00:00Z");
    /* exactly on a boundary: the next one, not now */
    int64_t m = bandit_plan_parse_time("2026-12-02T00:00:00Z");
    bandit_plan_format_time(bandit_plan_next(m, 86400), out);
    cr_expect_str_eq(out, "2026-12-03T00:00:00Z");
    /* leap day and year end round-trip */
    const char *days[] = {"2024-02-29T23:59:59Z", "2026-12-31T23:45:00Z", "1970-01-01T00:00:00Z"};
    for (size_t i = 0; i < 3; i++) {
        bandit_plan_format_time(bandit_plan_parse_time(days[i]), out);
        cr_expect_str_eq(out, days[i]);
    }
    cr_expect_eq(bandit_plan_parse_time("1970-01-02T00:00:00Z"), 86400);
    cr_expect_eq(bandit_plan_parse_time("2026-12-02 13:07:41Z"), -1);
    cr_expect_eq(bandit_plan_parse_time("2026-13-02T13:07:41Z"), -1);
    cr_expect_eq(bandit_plan_parse_time(NULL), -1);
}

Test(bandit_plan, a_new_period_needs_more_than_the_noise)
{
    double prev[3] = {0.2, 0.4, 0.4};
    double same_buckets[3] = {0.2, 0.40001, 0.39999};
    double small[3] = {0.2, 0.405, 0.395};   /* 0.5% moved: within the noise */
    double big[3] = {0.2, 0.43, 0.37};       /* 3% moved */
    cr_expect_not(bandit_plan_changed(prev, prev, 3));
    cr_expect_not(bandit_plan_changed(prev, same_buckets, 3));
    cr_expect_not(bandit_plan_changed(prev, small, 3));
    cr_expect(bandit_plan_changed(prev, big, 3));
}

Test(bandit_plan, history_is_bounded_and_summarizes_the_oldest)
{
    json_t *h = json_array();
    char since[32];
    double w[2];
    for (int p = 0; p < 10; p++) {
        /* periods of 1 day, weights 0.1 p */
        bandit_plan_format_time((int64_t)p * 86400, since);
        w[0] = 0.1 * p;
        w[1] = 1 - w[0];
        cr_assert_eq(bandit_plan_history_push(h, p, since, w, 2, 4), 0);
        cr_assert_leq(json_array_size(h), 4);
    }
    cr_expect_eq(json_array_size(h), 4);
    json_t *first = json_array_get(h, 0);
    cr_expect(json_is_true(json_object_get(first, "summarized")));
    cr_expect_eq(json_integer_value(json_object_get(first, "period")), 0);
    cr_expect_eq(json_integer_value(json_object_get(first, "through")), 6);
    cr_expect_str_eq(json_string_value(json_object_get(first, "since")), "1970-01-01T00:00:00Z");
    /* equal durations: the mean of 0.0 .. 0.6 */
    cr_expect_float_eq(json_number_value(json_array_get(json_object_get(first, "weights"), 0)), 0.3,
                       1e-12);
    for (int i = 1; i < 4; i++)
        cr_expect_eq(json_integer_value(json_object_get(json_array_get(h, (size_t)i), "period")),
                     6 + i);
    json_decref(h);
}

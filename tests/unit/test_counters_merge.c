/* Tests for counters_merge.h: the counters of an experiment's shard groups
 * summed into one field each, integers exactly, floats in double. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "counters_merge.h"

TestSuite(counters_merge);

static const char *value_of(const counters_merged *m, const char *field)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->fields[i], field) == 0)
            return m->values[i];
    return NULL;
}

Test(counters_merge, sums_each_field_over_groups)
{
    /* Three groups' HGETALLs one after the other. */
    const char *f[] = {"e|0|gr|2026-11-22", "s|0|gr|2026-11-22", "dup",
                       "e|0|gr|2026-11-22", "s|0|gr|2026-11-22", "o|1|pl|2026-11-23",
                       "e|0|gr|2026-11-22", "ps|0|gr|2026-11-22", "dup", "unexposed|c"};
    const char *v[] = {"5", "10.25", "1", "7", "0.5", "3", "9000000000", "2.5", "2", "4"};
    counters_merged m;
    cr_assert_eq(counters_merge(10, f, v, &m), 0);
    cr_expect_eq(m.n, 6u);
    cr_expect_str_eq(value_of(&m, "e|0|gr|2026-11-22"), "9000000012");
    cr_expect_str_eq(value_of(&m, "s|0|gr|2026-11-22"), "10.75");
    cr_expect_str_eq(value_of(&m, "ps|0|gr|2026-11-22"), "2.5");
    cr_expect_str_eq(value_of(&m, "o|1|pl|2026-11-23"), "3");
    cr_expect_str_eq(value_of(&m, "dup"), "3");
    cr_expect_str_eq(value_of(&m, "unexposed|c"), "4");
    for (size_t i = 1; i < m.n; i++)
        cr_expect_lt(strcmp(m.fields[i - 1], m.fields[i]), 0, "fields not sorted");
    counters_merged_free(&m);
}

Test(counters_merge, floats_are_summed_in_double_and_read_back_exactly)
{
    /* 0.1 + 0.2 in double is 0.30000000000000004: printed with %.17g it
     * reads back as that same double. */
    const char *f[] = {"q|0|gr|2026-11-22", "q|0|gr|2026-11-22"};
    const char *v[] = {"0.10000000000000001", "0.20000000000000001"};
    counters_merged m;
    cr_assert_eq(counters_merge(2, f, v, &m), 0);
    cr_assert_eq(m.n, 1u);
    cr_expect_str_eq(m.values[0], "0.30000000000000004");
    cr_expect_eq(strtod(m.values[0], NULL), 0.1 + 0.2);
    counters_merged_free(&m);
}

Test(counters_merge, kinds_follow_the_metric)
{
    cr_expect(counters_is_float("s|0|gr|2026-11-22"));
    cr_expect(counters_is_float("q|0|gr|2026-11-22"));
    cr_expect(counters_is_float("ps|0|gr|2026-11-22"));
    cr_expect(counters_is_float("pq|0|gr|2026-11-22"));
    cr_expect_not(counters_is_float("e|0|gr|2026-11-22"));
    cr_expect_not(counters_is_float("pe|0|gr|2026-11-22"));
    cr_expect_not(counters_is_float("dup"));
    cr_expect_not(counters_is_float("unexposed|c"));
    cr_expect_not(counters_is_float("sx|0|gr|2026-11-22"));
    /* An integer field whose value is not an integer counts as 0. */
    const char *f[] = {"e|0|gr|2026-11-22", "e|0|gr|2026-11-22"};
    const char *v[] = {"2", "1.5"};
    counters_merged m;
    cr_assert_eq(counters_merge(2, f, v, &m), 0);
    cr_expect_str_eq(m.values[0], "2");
    counters_merged_free(&m);
}

Test(counters_merge, nothing_in_nothing_out)
{
    counters_merged m;
    cr_assert_eq(counters_merge(0, NULL, NULL, &m), 0);
    cr_expect_eq(m.n, 0u);
    counters_merged_free(&m);
    counters_merged_free(NULL);
}

Test(counters_merge, new_float_metrics_sum_in_double_and_the_cap_is_not_summed)
{
    cr_expect(counters_is_float("xy|0|gr|2026-11-20"));
    cr_expect(counters_is_float("pks|0|gr|2026-11-20"));
    cr_expect(counters_is_float("rs|1|se|2026-11-20"));
    cr_expect(!counters_is_float("xn|0|gr|2026-11-20"), "visitors with a cart value: a count");
    cr_expect(!counters_is_float("r|0|gr|2026-11-20"), "refunds: a count");
    cr_expect(!counters_is_float("cap"));
    const char *f[] = {"cap", "xy|0|gr|2026-11-20", "cap", "xy|0|gr|2026-11-20"};
    const char *v[] = {"500", "0.1", "500", "0.2"};
    counters_merged m;
    cr_assert_eq(counters_merge(4, f, v, &m), 0);
    cr_assert_eq(m.n, 2u);
    cr_expect_str_eq(m.fields[0], "cap");
    cr_expect_str_eq(m.values[0], "500", "the cap of every group, not 1000");
    cr_expect_eq(strtod(m.values[1], NULL), 0.1 + 0.2);
    counters_merged_free(&m);
}

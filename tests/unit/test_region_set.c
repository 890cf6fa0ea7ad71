/* Tests for region_set.h: known regions are themselves, any other region
 * is "other", adding is idempotent, and the set is bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "region_set.h"

TestSuite(region_set);

Test(region_set, a_new_set_knows_only_other)
{
    region_set *s = region_set_new();
    cr_assert_not_null(s);
    cr_expect_eq(region_set_count(s), 1u);
    cr_expect_str_eq(region_set_fold(s, "gr"), REGION_OTHER);
    cr_expect_str_eq(region_set_fold(s, REGION_OTHER), REGION_OTHER);
    region_set_free(s);
    region_set_free(NULL);
}

Test(region_set, known_regions_fold_to_themselves_and_the_rest_to_other)
{
    region_set *s = region_set_new();
    const char *known[] = {"se", "gr", "mena", "pl", "ee", "gr"}; /* gr twice, out of order */
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        cr_assert_eq(region_set_add(s, known[i]), 0);
    region_set_seal(s);
    cr_expect_eq(region_set_count(s), 6u, "five regions and other");
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        cr_expect_str_eq(region_set_fold(s, known[i]), known[i]);
    const char *unknown[] = {"de", "g", "grr", "aa", "zz", "menaa", "0"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        cr_expect_str_eq(region_set_fold(s, unknown[i]), REGION_OTHER, "%s", unknown[i]);
    region_set_free(s);
}

Test(region_set, the_set_is_bounded)
{
    region_set *s = region_set_new();
    char key[32];
    size_t added = 1; /* other */
    for (int i = 0; i < REGION_SET_MAX + 10; i++) {
        snprintf(key, sizeof key, "r%d", i);
        if (region_set_add(s, key) == 0)
            added++;
    }
    region_set_seal(s);
    cr_expect_eq(added, (size_t)REGION_SET_MAX, "adds past the bound fail");
    cr_expect_eq(region_set_count(s), (size_t)REGION_SET_MAX);
    cr_expect_str_eq(region_set_fold(s, "r0"), "r0");
    snprintf(key, sizeof key, "r%d", REGION_SET_MAX + 5);
    cr_expect_str_eq(region_set_fold(s, key), REGION_OTHER);
    region_set_free(s);
}

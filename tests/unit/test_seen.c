/* Tests for seen.h: the bounded set of (experiment, visitor) pairs Redis is
 * known to hold. What matters: a pair added is found, a pair never added is
 * not, keys of different experiments differ, the set never holds more than
 * its capacity, and clearing forgets everything. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "seen.h"

TestSuite(seen);

static uint64_t key(const char *exp, const char *visitor)
{
    return seen_key(seen_experiment_seed(exp, strlen(exp)), visitor, strlen(visitor));
}

Test(seen, added_pairs_are_found_and_others_are_not)
{
    seen *s = seen_new(1024);
    cr_assert_not_null(s);
    cr_expect_not(seen_has(s, key("checkout-tiers", "v1")));
    seen_add(s, key("checkout-tiers", "v1"));
    cr_expect(seen_has(s, key("checkout-tiers", "v1")));
    cr_expect_not(seen_has(s, key("checkout-tiers", "v2")));
    cr_expect_not(seen_has(s, key("cart-bundle", "v1")), "another experiment, same visitor");
    seen_add(s, key("checkout-tiers", "v1"));
    cr_expect_eq(seen_count(s), 1, "adding twice holds one pair");
    seen_free(s);
}

Test(seen, keys_separate_experiments_and_are_never_zero)
{
    cr_expect_neq(key("a", "bc"), key("ab", "c"), "the experiment is not just a prefix");
    cr_expect_neq(key("x", "v"), key("y", "v"));
    cr_expect_eq(key("x", "v"), key("x", "v"), "deterministic");
    cr_expect_neq(key("", ""), 0);
}

Test(seen, a_full_set_stays_within_capacity_and_keeps_the_latest)
{
    seen *s = seen_new(64);
    cr_assert_not_null(s);
    char v[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(v, sizeof v, "visitor-%d", i);
        seen_add(s, key("e", v));
        cr_assert(seen_has(s, key("e", v)), "the pair just added is present (%s)", v);
    }
    cr_expect_leq(seen_count(s), 64);
    int remembered = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(v, sizeof v, "visitor-%d", i);
        remembered += seen_has(s, key("e", v));
    }
    /* Every set is full, each slot holding a distinct pair that was added:
     * exactly as many are found as the table holds, never more. */
    cr_expect_eq(seen_count(s), 64);
    cr_expect_eq(remembered, 64);
    seen_free(s);
}

Test(seen, clear_forgets_everything)
{
    seen *s = seen_new(256);
    cr_assert_not_null(s);
    for (int i = 0; i < 100; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        seen_add(s, key("e", v));
    }
    cr_expect_gt(seen_count(s), 0);
    seen_clear(s);
    cr_expect_eq(seen_count(s), 0);
    for (int i = 0; i < 100; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        cr_expect_not(seen_has(s, key("e", v)));
    }
    seen_free(s);
}

Test(seen, zero_capacity_means_off_and_null_is_safe)
{
    cr_expect_null(seen_new(0));
    seen *tiny = seen_new(3); /* rounded up to one set of four */
    cr_assert_not_null(tiny);
    seen_add(tiny, 7);
    cr_expect(seen_has(tiny, 7));
    seen_free(tiny);
    seen_add(NULL, 42);
    cr_expect_not(seen_has(NULL, 42));
    seen_clear(NULL);
    cr_expect_eq(seen_count(NULL), 0);
    seen_free(NULL);
}

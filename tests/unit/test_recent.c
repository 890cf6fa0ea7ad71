/* Tests for recent.h: duplicate detection, FIFO eviction at capacity and
 * deletion that keeps the open-addressing probe chains intact. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "recent.h"

TestSuite(recent);

static void id_of(char *buf, size_t cap, long i) { snprintf(buf, cap, "evt-%ld", i); }

Test(recent, second_sighting_is_a_duplicate)
{
    recent *r = recent_new(16);
    cr_assert_not_null(r);
    cr_expect(!recent_check_and_add(r, "checkout-tiers", "e1"), "first sighting is new");
    cr_expect(recent_check_and_add(r, "checkout-tiers", "e1"), "second sighting is a duplicate");
    cr_expect(recent_check_and_add(r, "checkout-tiers", "e1"), "third sighting is a duplicate");
    cr_expect(!recent_check_and_add(r, "checkout-tiers", "e2"), "another id is new");
    recent_free(r);
}

Test(recent, experiments_are_independent)
{
    recent *r = recent_new(16);
    cr_assert_not_null(r);
    cr_expect(!recent_check_and_add(r, "exp-a", "e1"));
    cr_expect(!recent_check_and_add(r, "exp-b", "e1"), "the same id in another experiment is new");
    cr_expect(recent_check_and_add(r, "exp-a", "e1"));
    cr_expect(recent_check_and_add(r, "exp-b", "e1"));
    /* Concatenation must not collide: ("ab", "c") vs ("a", "bc"). */
    cr_expect(!recent_check_and_add(r, "ab", "c"));
    cr_expect(!recent_check_and_add(r, "a", "bc"), "(a, bc) must not look like (ab, c)");
    recent_free(r);
}

Test(recent, free_null_is_ignored)
{
    recent_free(NULL);
}

Test(recent, fifo_eviction_forgets_the_oldest)
{
    /* 1024 is a power of two, so it is the exact capacity. */
    const long cap = 1024;
    recent *r = recent_new((size_t)cap);
    cr_assert_not_null(r);
    char id[32];
    for (long i = 0; i < cap; i++) {
        id_of(id, sizeof id, i);
        cr_assert(!recent_check_and_add(r, "x", id), "%s reported as duplicate while filling", id);
    }
    /* Full: everything is still remembered. Checking an existing id does
     * not insert, so this loop does not evict anything. */
    for (long i = 0; i < cap; i++) {
        id_of(id, sizeof id, i);
        cr_assert(recent_check_and_add(r, "x", id), "%s forgotten before capacity was exceeded", id);
    }
    /* One more id evicts exactly the oldest. */
    cr_expect(!recent_check_and_add(r, "x", "newest"));
    cr_expect(recent_check_and_add(r, "x", "newest"), "the newest must be kept");
    id_of(id, sizeof id, 1);
    cr_expect(recent_check_and_add(r, "x", id), "the second oldest must be kept");
    id_of(id, sizeof id, cap - 1);
    cr_expect(recent_check_and_add(r, "x", id), "the last filled must be kept");
    /* Ask for evt-0 last: asking re-adds it (and evicts evt-1). */
    id_of(id, sizeof id, 0);
    cr_expect(!recent_check_and_add(r, "x", id), "the oldest must be forgotten");
    recent_free(r);
}

Test(recent, forget_allows_a_retry)
{
    recent *r = recent_new(64);
    cr_assert_not_null(r);
    cr_expect(!recent_check_and_add(r, "exp", "e1"));
    cr_expect(!recent_check_and_add(r, "exp", "e2"));
    recent_forget(r, "exp", "e1");
    cr_expect(!recent_check_and_add(r, "exp", "e1"), "a forgotten id is new again");
    cr_expect(recent_check_and_add(r, "exp", "e1"), "and remembered after that");
    cr_expect(recent_check_and_add(r, "exp", "e2"), "forgetting e1 must not forget e2");
    /* Forgetting something never seen, or twice, is harmless. */
    recent_forget(r, "exp", "never-seen");
    recent_forget(r, "other", "e2");
    cr_expect(recent_check_and_add(r, "exp", "e2"));
    recent_free(r);
}

Test(recent, forget_keeps_probe_chains_intact)
{
    /* Many ids in a small table share probe chains; deleting every third
     * must leave all others findable (a plain "set slot to empty" delete
     * would cut chains and lose some of them). */
    const long n = 1024;
    recent *r = recent_new((size_t)n);
    cr_assert_not_null(r);
    char id[32];
    for (long i = 0; i < n; i++) {
        id_of(id, sizeof id, i);
        cr_assert(!recent_check_and_add(r, "x", id));
    }
    for (long i = 0; i < n; i += 3) {
        id_of(id, sizeof id, i);
        recent_forget(r, "x", id);
    }
    for (long i = 0; i < n; i++) {
        id_of(id, sizeof id, i);
        bool dup = recent_check_and_add(r, "x", id);
        if (i % 3 == 0)
            cr_assert(!dup, "%s was forgotten, yet reported as duplicate", id);
        else
            cr_assert(dup, "%s lost after deleting its neighbours", id);
    }
    recent_free(r);
}

Test(recent, many_evictions_keep_the_last_capacity_ids)
{
    const long cap = 1024, total = 100000;
    recent *r = recent_new((size_t)cap);
    cr_assert_not_null(r);
    char id[32];
    for (long i = 0; i < total; i++) {
        id_of(id, sizeof id, i);
        cr_assert(!recent_check_and_add(r, "bulk", id), "%s reported as duplicate on first insert", id);
    }
    /* The last `cap` ids are all still found (none lost by a broken chain
     * after ~99k evictions). Checking them does not insert anything. */
    long lost = 0;
    for (long i = total - cap; i < total; i++) {
        id_of(id, sizeof id, i);
        if (!recent_check_and_add(r, "bulk", id)) {
            lost++;
            break;
        }
    }
    cr_expect_eq(lost, 0, "an id among the last %ld was lost", cap);
    /* An early id is long gone (asking re-adds it, so ask last). */
    id_of(id, sizeof id, 5);
    cr_expect(!recent_check_and_add(r, "bulk", id), "an early id must have been evicted");
    recent_free(r);
}

Test(recent, capacity_is_rounded_up)
{
    /* Asking for 1500 gives at least 1500 (rounded to 2048). */
    recent *r = recent_new(1500);
    cr_assert_not_null(r);
    char id[32];
    for (long i = 0; i < 1500; i++) {
        id_of(id, sizeof id, i);
        cr_assert(!recent_check_and_add(r, "x", id));
    }
    for (long i = 0; i < 1500; i++) {
        id_of(id, sizeof id, i);
        cr_assert(recent_check_and_add(r, "x", id), "%s lost below the requested capacity", id);
    }
    recent_free(r);
}

Test(recent, forget_then_evictions_still_work)
{
    /* A forgotten id leaves its FIFO entry behind; evicting that entry must
     * not remove anything else, and the table must keep its capacity. */
    const long cap = 1024;
    recent *r = recent_new((size_t)cap);
    cr_assert_not_null(r);
    char id[32];
    for (long i = 0; i < cap; i++) {
        id_of(id, sizeof id, i);
        cr_assert(!recent_check_and_add(r, "x", id));
    }
    id_of(id, sizeof id, 0);
    recent_forget(r, "x", id);
    /* Pushes out evt-0's stale FIFO entry, then evt-1. */
    cr_expect(!recent_check_and_add(r, "x", "a"));
    cr_expect(!recent_check_and_add(r, "x", "b"));
    id_of(id, sizeof id, 2);
    cr_expect(recent_check_and_add(r, "x", id), "evt-2 should still be there");
    cr_expect(recent_check_and_add(r, "x", "a"));
    cr_expect(recent_check_and_add(r, "x", "b"));
    recent_free(r);
}

/* Tests for bandit_layout: the first layout is the fixed one, a weight
 * change moves exactly the total variation, buckets that never moved keep
 * their arm, and the text form round-trips. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit_layout.h"
#include "experiment.h"

static uint32_t moved_needed(const uint32_t *from, const uint32_t *to, int k)
{
    uint32_t m = 0;
    for (int i = 0; i < k; i++)
        m += from[i] > to[i] ? from[i] - to[i] : 0;
    return m;
}

static void check_counts(const bandit_layout *l)
{
    uint32_t count[BANDIT_LAYOUT_MAX_ARMS] = {0};
    for (uint32_t b = 0; b < HASH_BUCKETS; b++)
        count[l->owner[b]]++;
    for (int i = 0; i < l->narms; i++)
        cr_expect_eq(count[i], l->count[i], "arm %d owns %u, counted %u", i, count[i], l->count[i]);
}

Test(bandit_layout, first_layout_is_the_fixed_ranges)
{
    /* The same weights as a plain experiment: same ranges. */
    json_t *def = json_pack("{s:s, s:s, s:[{s:s, s:f}, {s:s, s:f}, {s:s, s:f}]}", "key", "e", "placement", "slot",
                            "variants", "key", "a", "weight", 0.3333, "key", "b", "weight",
                            0.3333, "key", "c", "weight", 0.3334);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert(e, "%s", err);
    bandit_layout l;
    double w[3] = {0.3333, 0.3333, 0.3334};
    cr_assert_eq(bandit_layout_init(&l, w, 3), 0);
    for (uint32_t b = 0; b < HASH_BUCKETS; b++)
        cr_expect_eq(l.owner[b], (uint8_t)(b < e->variants[0].end ? 0 : b < e->variants[1].end ? 1 : 2));
    cr_expect_eq(l.nmoved, 0);
    experiment_release(e);
    json_decref(def);
}

Test(bandit_layout, moves_only_the_total_variation)
{
    bandit_layout l;
    double w0[4] = {0.25, 0.25, 0.25, 0.25};
    cr_assert_eq(bandit_layout_init(&l, w0, 4), 0);
    bandit_layout before = l;
    double w1[4] = {0.25, 0.10, 0.40, 0.25};
    uint32_t t[4];
    bandit_layout_targets(w1, 4, t);
    cr_expect_eq(bandit_layout_apply(&l, w1, 4), 1500);
    cr_expect_eq(moved_needed(before.count, t, 4), 1500);
    check_counts(&l);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(l.count[i], t[i]);
    /* Arms 0 and 3 kept every bucket; a fixed layout would have shifted arm 2's range. */
    uint32_t changed = 0;
    for (uint32_t b = 0; b < HASH_BUCKETS; b++) {
        if (l.owner[b] != before.owner[b]) {
            changed++;
            cr_expect(bandit_layout_bucket_moved(&l, b));
        } else {
            cr_expect_not(bandit_layout_bucket_moved(&l, b));
        }
    }
    cr_expect_eq(changed, 1500);
    cr_expect_float_eq(bandit_layout_moved_share(&l), 0.15, 1e-12);
}

Test(bandit_layout, many_random_updates)
{
    /* Every step moves exactly what the counts require, the moved set only
     * grows, and every bucket not in it still has its first owner. */
    srand(7);
    int k = 6;
    bandit_layout l;
    double w[6];
    for (int i = 0; i < k; i++)
        w[i] = 1.0 / k;
    cr_assert_eq(bandit_layout_init(&l, w, k), 0);
    bandit_layout first = l;
    uint32_t prev_moved = 0;
    for (int step = 0; step < 200; step++) {
        double s = 0;
        for (int i = 0; i < k; i++)
            s += w[i] = 0.02 + (double)rand() / RAND_MAX;
        double c = 0;
        for (int i = 0; i < k - 1; i++)
            c += w[i] /= s;
        w[k - 1] = 1 - c;
        uint32_t before[BANDIT_LAYOUT_MAX_ARMS], t[BANDIT_LAYOUT_MAX_ARMS];
        memcpy(before, l.count, sizeof before);
        bandit_layout_targets(w, k, t);
        int m = bandit_layout_apply(&l, w, k);
        cr_assert_eq((uint32_t)m, moved_needed(before, t, k));
        cr_assert(l.nmoved >= prev_moved);
        prev_moved = l.nmoved;
    }
    check_counts(&l);
    for (uint32_t b = 0; b < HASH_BUCKETS; b++)
        if (!bandit_layout_bucket_moved(&l, b))
            cr_expect_eq(l.owner[b], first.owner[b]);
}

Test(bandit_layout, text_round_trip)
{
    bandit_layout l, back;
    double w0[3] = {0.5, 0.25, 0.25}, w1[3] = {0.2, 0.5, 0.3}, w2[3] = {0.3, 0.3, 0.4};
    cr_assert_eq(bandit_layout_init(&l, w0, 3), 0);
    bandit_layout_apply(&l, w1, 3);
    bandit_layout_apply(&l, w2, 3);
    char text[4096];
    int n = bandit_layout_encode(&l, text, sizeof text);
    cr_assert(n > 0);
    cr_assert_eq(bandit_layout_decode(&back, text, 3), 0, "%s", text);
    cr_expect(memcmp(back.owner, l.owner, sizeof l.owner) == 0);
    cr_expect(memcmp(back.moved, l.moved, sizeof l.moved) == 0);
    cr_expect(memcmp(back.count, l.count, sizeof l.count) == 0);
    cr_expect_eq(back.nmoved, l.nmoved);
    /* Too small a buffer is refused, not cut. */
    cr_expect_eq(bandit_layout_encode(&l, text, (size_t)n), -1);

    cr_expect_eq(bandit_layout_decode(&back, "0*10000/10000", 2), 0);
    cr_expect_eq(bandit_layout_decode(&back, "0*9999/10000", 2), -1, "runs short of 10,000");
    cr_expect_eq(bandit_layout_decode(&back, "2*10000/10000", 2), -1, "no arm 2");
    cr_expect_eq(bandit_layout_decode(&back, "0*10000/10000x", 2), -1, "junk");
    cr_expect_eq(bandit_layout_decode(&back, "0*10000", 2), -1, "no moved part");
    cr_expect_eq(bandit_layout_decode(&back, "0*5000,1*5000/0,10000", 2), 0);
    cr_expect_eq(back.nmoved, 10000);
}

Test(bandit_layout, weights_going_back_and_forth_reuse_the_moved_buckets)
{
    /* A/B/A/B...: the first change marks 1,000 buckets; every later one
     * moves 1,000 again, but the ones already marked, so the share of
     * visitors who can need a lookup stays at 10% instead of growing. */
    bandit_layout l;
    double a[3] = {0.4, 0.3, 0.3}, b[3] = {0.4, 0.2, 0.4};
    cr_assert_eq(bandit_layout_init(&l, a, 3), 0);
    for (int round = 0; round < 20; round++) {
        cr_assert_eq(bandit_layout_apply(&l, round % 2 ? a : b, 3), 1000);
        cr_assert_eq(l.nmoved, 1000, "round %d: %u buckets marked", round, l.nmoved);
        check_counts(&l);
    }
    /* A bucket that never moved keeps its first owner throughout. */
    bandit_layout first;
    cr_assert_eq(bandit_layout_init(&first, a, 3), 0);
    for (uint32_t i = 0; i < HASH_BUCKETS; i++)
        if (!bandit_layout_bucket_moved(&l, i))
            cr_expect_eq(l.owner[i], first.owner[i]);
}

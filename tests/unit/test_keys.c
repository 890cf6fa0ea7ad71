/* Tests for keys.h: each experiment's shard groups carry tags whose slots
 * lie in the group's twelfth of the slot space, deterministically; a
 * visitor's keys all carry its group's tag; the visitor shard is the top 16
 * bits of murmur3_32(visitor, 0); old-layout names are recognised. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "keys.h"
#include "keyslot.h"

TestSuite(keys);

static unsigned slot_of(const char *key)
{
    return keyslot_of(key, strlen(key));
}

Test(keys, group_ranges_cut_the_slot_space_as_redis_cli_does)
{
    cr_assert_eq(keys_group_slot_lo(0), 0u);
    cr_assert_eq(keys_group_slot_lo(KEYS_GROUPS), KEYSLOT_COUNT);
    for (unsigned g = 0; g < KEYS_GROUPS; g++) {
        unsigned w = keys_group_slot_lo(g + 1) - keys_group_slot_lo(g);
        cr_expect(w == 1365 || w == 1366, "group %u is %u slots wide", g, w);
    }
    /* `redis-cli --cluster create` with m masters ends master i at
     * lround(cursor + 16384 / m - 1), cursor advancing by 16384 / m: for
     * every m dividing 12 each master holds exactly 12 / m whole group
     * ranges. Three masters: 0-5460, 5461-10922, 10923-16383. */
    const unsigned ms[] = {1, 2, 3, 4, 6, 12};
    for (size_t k = 0; k < sizeof ms / sizeof *ms; k++) {
        unsigned m = ms[k];
        double per = (double)KEYSLOT_COUNT / m, cursor = 0;
        long first = 0;
        for (unsigned i = 0; i < m; i++) {
            long last = i == m - 1 ? (long)KEYSLOT_COUNT - 1 : lround(cursor + per - 1);
            unsigned g0 = i * (KEYS_GROUPS / m), g1 = (i + 1) * (KEYS_GROUPS / m);
            cr_expect_eq((long)keys_group_slot_lo(g0), first, "m=%u master %u starts at %ld", m, i,
                         first);
            cr_expect_eq((long)keys_group_slot_lo(g1), last + 1, "m=%u master %u ends at %ld", m,
                         i, last);
            first = last + 1;
            cursor += per;
        }
    }
}

Test(keys, each_group_tag_lies_in_its_range_distinct_and_deterministic)
{
    const char *names[] = {"checkout-tiers", "a", "bench-exp",
                           "a-64-character-key-is-the-longest-an-experiment-may-have-0123456"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        keys_tags t, again;
        cr_assert_eq(keys_tags_compute(&t, names[k]), 0);
        cr_assert_eq(keys_tags_compute(&again, names[k]), 0);
        char seen[KEYS_GROUPS][KEYS_MAX];
        for (unsigned g = 0; g < KEYS_GROUPS; g++) {
            cr_expect_eq(t.suffix[g], again.suffix[g], "not deterministic");
            char tag[KEYS_MAX];
            size_t n = keys_group_tag(tag, &t, g);
            cr_assert_eq(n, strlen(tag));
            unsigned slot = keyslot_crc16(tag, n) % KEYSLOT_COUNT;
            cr_expect(slot >= keys_group_slot_lo(g) && slot < keys_group_slot_lo(g + 1),
                      "%s: group %u tag \"%s\" in slot %u", names[k], g, tag, slot);
            /* the slot the writer routes the group's calls by is the one of
             * every key of the group (keyslot_of honours the braces) */
            char key[KEYS_MAX];
            size_t klen = keys_group_counters(key, &t, g);
            cr_expect_eq(t.slot[g], slot);
            cr_expect_eq(t.slot[g], keyslot_of(key, klen));
            /* the smallest suffix: no smaller one lands in the range */
            for (uint32_t m = 0; m < t.suffix[g]; m++) {
                char shorter[KEYS_MAX];
                int len = snprintf(shorter, sizeof shorter, "x:%s:%u:%u", names[k], g, m);
                unsigned s = keyslot_crc16(shorter, (size_t)len) % KEYSLOT_COUNT;
                cr_expect(s < keys_group_slot_lo(g) || s >= keys_group_slot_lo(g + 1),
                          "suffix %u of group %u was not the smallest", t.suffix[g], g);
            }
            snprintf(seen[g], KEYS_MAX, "%s", tag);
            for (unsigned h = 0; h < g; h++)
                cr_expect_str_neq(seen[h], tag);
        }
    }
}

Test(keys, tags_are_found_for_many_names)
{
    /* The suffix search ends in every range for thousands of names, with a
     * bounded effort (a geometric number of tries, mean about 12). */
    uint32_t worst = 0;
    for (int i = 0; i < 3000; i++) {
        char exp[32];
        snprintf(exp, sizeof exp, "exp-%d", i);
        keys_tags t;
        cr_assert_eq(keys_tags_compute(&t, exp), 0);
        for (unsigned g = 0; g < KEYS_GROUPS; g++) {
            char tag[KEYS_MAX];
            size_t n = keys_group_tag(tag, &t, g);
            unsigned slot = keyslot_crc16(tag, n) % KEYSLOT_COUNT;
            cr_assert(slot >= keys_group_slot_lo(g) && slot < keys_group_slot_lo(g + 1));
            worst = t.suffix[g] > worst ? t.suffix[g] : worst;
        }
    }
    cr_expect_lt(worst, 1000u, "a suffix as large as %u", worst);
}

Test(keys, names_carry_the_group_tag)
{
    keys_tags t;
    cr_assert_eq(keys_tags_compute(&t, "checkout-tiers"), 0);
    char k[KEYS_MAX], want[KEYS_MAX], tag[KEYS_MAX];
    for (unsigned g = 0; g < KEYS_GROUPS; g++) {
        keys_group_tag(tag, &t, g);
        snprintf(want, sizeof want, "x:checkout-tiers:%u:%u", g, t.suffix[g]);
        cr_expect_str_eq(tag, want);
        size_t n = keys_group_counters(k, &t, g);
        snprintf(want, sizeof want, "{%s}:cnt", tag);
        cr_expect_str_eq(k, want);
        cr_expect_eq(n, strlen(k));
        n = keys_group_event_tokens(k, &t, g);
        snprintf(want, sizeof want, "{%s}:ev", tag);
        cr_expect_str_eq(k, want);
        cr_expect_eq(n, strlen(k));
    }
    /* A visitor's shard key carries its group's tag, so its record, its
     * event ids and its counters share one slot. */
    const uint32_t shards[] = {0, 1, 11, 12, 4095, KEYS_SHARDS - 1};
    for (size_t i = 0; i < sizeof shards / sizeof *shards; i++) {
        uint32_t s = shards[i];
        unsigned g = keys_group_of_shard(s);
        cr_expect_eq(g, s % KEYS_GROUPS);
        size_t n = keys_visitor_shard(k, &t, s);
        keys_group_tag(tag, &t, g);
        snprintf(want, sizeof want, "{%s}:v:%u", tag, s);
        cr_expect_str_eq(k, want);
        cr_expect_eq(n, strlen(k));
        char cnt[KEYS_MAX];
        keys_group_counters(cnt, &t, g);
        cr_expect_eq(slot_of(k), slot_of(cnt), "shard %u and its counters differ in slot", s);
    }
}

Test(keys, the_longest_names_fit)
{
    const char *exp = "a-64-character-key-is-the-longest-an-experiment-may-have-0123456";
    cr_assert_eq(strlen(exp), 64u);
    keys_tags t;
    cr_assert_eq(keys_tags_compute(&t, exp), 0);
    t.suffix[KEYS_GROUPS - 1] = UINT32_MAX; /* the widest suffix a tag can have */
    char k[KEYS_MAX], want[KEYS_MAX];
    keys_visitor_shard(k, &t, KEYS_SHARDS - 1 - (KEYS_SHARDS - 1) % KEYS_GROUPS + KEYS_GROUPS - 1);
    snprintf(want, sizeof want, "{x:%s:11:%u}:v:%u", exp, UINT32_MAX,
             KEYS_SHARDS - 1 - (KEYS_SHARDS - 1) % KEYS_GROUPS + KEYS_GROUPS - 1);
    cr_expect_str_eq(k, want);
    char longer[80];
    snprintf(longer, sizeof longer, "%s7", exp);
    cr_expect_eq(keys_tags_compute(&t, longer), -1);
}

Test(keys, tag_cache_computes_once_per_experiment)
{
    static keys_tag_cache c;
    keys_tag_cache_init(&c);
    const keys_tags *a = keys_tag_cache_get(&c, "checkout-tiers");
    cr_assert_not_null(a);
    keys_tags want;
    keys_tags_compute(&want, "checkout-tiers");
    cr_expect_eq(memcmp(a->suffix, want.suffix, sizeof want.suffix), 0);
    cr_expect_eq(c.computed, 1u);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(keys_tag_cache_get(&c, "checkout-tiers"), a);
    cr_expect_eq(c.computed, 1u, "recomputed %llu times", (unsigned long long)c.computed);
    const keys_tags *b = keys_tag_cache_get(&c, "cart-bundle");
    cr_assert_not_null(b);
    cr_expect_str_eq(b->exp, "cart-bundle");
    cr_expect_null(keys_tag_cache_get(&c, ""));
}

Test(keys, legacy_names_are_recognised)
{
    char k[KEYS_MAX], exp[KEYS_MAX];
    uint32_t shard = 0;
    keys_legacy_counters(k, "checkout-tiers");
    cr_expect_str_eq(k, "{x:checkout-tiers}:cnt");
    cr_expect_eq(keys_legacy_parse(k, strlen(k), exp, &shard), KEYS_LEGACY_COUNTERS);
    cr_expect_str_eq(exp, "checkout-tiers");
    keys_legacy_event_tokens(k, "e");
    cr_expect_str_eq(k, "{x:e}:ev");
    cr_expect_eq(keys_legacy_parse(k, strlen(k), exp, &shard), KEYS_LEGACY_EVENT_TOKENS);
    keys_legacy_event_ids(k, "e");
    cr_expect_str_eq(k, "{x:e}:ids");
    cr_expect_eq(keys_legacy_parse(k, strlen(k), exp, &shard), KEYS_LEGACY_EVENT_IDS);
    keys_legacy_visitor_shard(k, "e", 65535);
    cr_expect_str_eq(k, "{x:e}:v:65535");
    cr_expect_eq(keys_legacy_parse(k, strlen(k), exp, &shard), KEYS_LEGACY_VISITORS);
    cr_expect_eq(shard, 65535u);

    /* Group keys and anything else are not old-layout keys. */
    keys_tags t;
    keys_tags_compute(&t, "e");
    size_t n = keys_group_counters(k, &t, 3);
    cr_expect_eq(keys_legacy_parse(k, n, exp, &shard), KEYS_LEGACY_NONE);
    n = keys_visitor_shard(k, &t, 3);
    cr_expect_eq(keys_legacy_parse(k, n, exp, &shard), KEYS_LEGACY_NONE);
    const char *others[] = {"upshot:dataset", "{x:e}:v:65536", "{x:e}:v:01", "{x:e}:v:", "{x:}:cnt",
                            "{x:E}:cnt", "{x:e}:cntx", "{x:e", "{upshot}:version"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        cr_expect_eq(keys_legacy_parse(others[i], strlen(others[i]), exp, &shard),
                     KEYS_LEGACY_NONE, "\"%s\" taken for an old-layout key", others[i]);
}

Test(keys, shard_is_top_16_bits_of_murmur3)
{
    const char *visitors[] = {
        "", "v", "visitor-1", "visitor-2", "9f1c2e3d-4b5a-6789-abcd-ef0123456789",
        "Visitor_ABC.def@example.com", "~!@#$%^&*()",
    };
    for (size_t i = 0; i < sizeof visitors / sizeof *visitors; i++) {
        const char *v = visitors[i];
        uint32_t want = hash_murmur3_32(v, strlen(v), 0) >> 16;
        uint32_t got = keys_shard_of(v);
        cr_expect_eq(got, want, "keys_shard_of(\"%s\") = %u, expected %u", v, got, want);
        cr_expect_lt(got, KEYS_SHARDS, "shard %u of \"%s\" out of range", got, v);
    }
}

Test(keys, visitors_spread_evenly_over_groups)
{
    /* 120,000 visitors over 12 groups: 10,000 each expected, sd ~ 96;
     * 9,500..10,500 is over five standard deviations on either side. */
    static unsigned per[KEYS_GROUPS];
    for (int i = 0; i < 120000; i++) {
        char v[32];
        snprintf(v, sizeof v, "visitor-%d", i);
        uint32_t s = keys_shard_of(v);
        cr_assert_lt(s, KEYS_SHARDS);
        per[keys_group_of_shard(s)]++;
    }
    for (unsigned g = 0; g < KEYS_GROUPS; g++)
        cr_expect(per[g] > 9500 && per[g] < 10500, "group %u has %u visitors", g, per[g]);
}

Test(keys, known_murmur3_value)
{
    /* A published MurmurHash3_x86_32 vector ties the shard to the real
     * function rather than to whatever hash_murmur3_32 returns today:
     * murmur3_32("hello", seed 0) = 0x248bfa47. */
    cr_assert_eq(hash_murmur3_32("hello", 5, 0), 0x248bfa47u);
    cr_expect_eq(keys_shard_of("hello"), 0x248bfa47u >> 16, "shard of \"hello\" = %u, expected %u",
                 keys_shard_of("hello"), 0x248bfa47u >> 16);
}

/* Tests for keys.h: Redis key names carry the {x:EXP} hash tag, and the
 * visitor shard is the top 16 bits of murmur3_32(visitor, 0). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "keys.h"

TestSuite(keys);

Test(keys, counters_and_ids_names)
{
    char k[KEYS_MAX];
    keys_counters(k, "checkout-tiers");
    cr_expect_str_eq(k, "{x:checkout-tiers}:cnt", "keys_counters gave \"%s\"", k);
    keys_event_tokens(k, "checkout-tiers");
    cr_expect_str_eq(k, "{x:checkout-tiers}:ev", "keys_event_tokens gave \"%s\"", k);
    keys_event_ids(k, "checkout-tiers");
    cr_expect_str_eq(k, "{x:checkout-tiers}:ids", "keys_event_ids gave \"%s\"", k);
}

Test(keys, visitor_shard_name)
{
    char k[KEYS_MAX];
    keys_visitor_shard(k, "cart-bundle", 0);
    cr_expect_str_eq(k, "{x:cart-bundle}:v:0", "got \"%s\"", k);
    keys_visitor_shard(k, "cart-bundle", 4095);
    cr_expect_str_eq(k, "{x:cart-bundle}:v:4095", "got \"%s\"", k);
}

/* Redis Cluster hashes only what is between the first '{' and the next
 * '}': every key of one experiment must share that tag. */
static void hash_tag(const char *key, char *out, size_t cap)
{
    const char *open = strchr(key, '{');
    const char *close = open ? strchr(open + 1, '}') : NULL;
    cr_assert(open && close && close > open + 1, "key \"%s\" has no hash tag", key);
    snprintf(out, cap, "%.*s", (int)(close - open - 1), open + 1);
}

Test(keys, all_keys_of_an_experiment_share_one_slot_tag)
{
    const char *exp = "a-64-character-key-is-the-longest-an-experiment-may-have-0123456";
    cr_assert_eq(strlen(exp), 64u);
    char cnt[KEYS_MAX], ids[KEYS_MAX], ev[KEYS_MAX], shard[KEYS_MAX];
    keys_counters(cnt, exp);
    keys_event_ids(ids, exp);
    keys_event_tokens(ev, exp);
    keys_visitor_shard(shard, exp, KEYS_SHARDS - 1);

    char want[KEYS_MAX], t1[KEYS_MAX], t2[KEYS_MAX], t3[KEYS_MAX], t4[KEYS_MAX];
    snprintf(want, sizeof want, "x:%s", exp);
    hash_tag(cnt, t1, sizeof t1);
    hash_tag(ids, t2, sizeof t2);
    hash_tag(shard, t3, sizeof t3);
    hash_tag(ev, t4, sizeof t4);
    cr_expect_str_eq(t1, want, "counters tag \"%s\", expected \"%s\"", t1, want);
    cr_expect_str_eq(t2, want, "ids tag \"%s\", expected \"%s\"", t2, want);
    cr_expect_str_eq(t3, want, "shard tag \"%s\", expected \"%s\"", t3, want);
    cr_expect_str_eq(t4, want, "event token tag \"%s\", expected \"%s\"", t4, want);

    /* The longest key still fits, untruncated. */
    char full[KEYS_MAX];
    snprintf(full, sizeof full, "{x:%s}:v:%u", exp, KEYS_SHARDS - 1);
    cr_expect_str_eq(shard, full, "got \"%s\", expected \"%s\"", shard, full);
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

Test(keys, shard_in_range_and_spread)
{
    /* 40,000 visitors over 65,536 shards: every one in range, and the hash
     * reaches both ends of the range (a shift by the wrong amount would
     * squeeze all of them into a few shards). */
    static unsigned seen[KEYS_SHARDS];
    unsigned used = 0;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 40000; i++) {
        char v[32];
        snprintf(v, sizeof v, "visitor-%d", i);
        uint32_t s = keys_shard_of(v);
        cr_assert_lt(s, KEYS_SHARDS, "keys_shard_of(\"%s\") = %u, not below %u", v, s, KEYS_SHARDS);
        cr_assert_eq(s, hash_murmur3_32(v, strlen(v), 0) >> 16);
        if (!seen[s]++)
            used++;
        lo = s < lo ? s : lo;
        hi = s > hi ? s : hi;
    }
    cr_expect_lt(lo, 16u, "smallest shard seen %u", lo);
    cr_expect_gt(hi, KEYS_SHARDS - 17, "largest shard seen %u", hi);
    /* Expected distinct shards: 65536 * (1 - e^(-40000/65536)) ~ 29,950,
     * sd ~ 110 (occupancy); 29,000 is far below any plausible outcome. */
    cr_expect_gt(used, 29000u, "only %u of %u shards used", used, KEYS_SHARDS);
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

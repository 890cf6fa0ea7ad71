/* test_hash: MurmurHash3 and bucket derivation against the shared vectors
 * (tests/vectors/assignment.json, written by an independent Python
 * implementation) and the public Optimizely vector. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "hash.h"

static json_t *vectors;

static void load(void)
{
    json_error_t err;
    vectors = json_load_file(UPSHOT_SOURCE_DIR "/tests/vectors/assignment.json", 0, &err);
    cr_assert_not_null(vectors, "cannot read vectors: %s", err.text);
}

static void unload(void) { json_decref(vectors); }

TestSuite(hash, .init = load, .fini = unload);

Test(hash, known_values_from_the_spec)
{
    cr_assert_eq(hash_murmur3_32("", 0, 0), 0u);
    cr_assert_eq(hash_murmur3_32("", 0, 1), 0x514e28b7u);
    cr_assert_eq(hash_murmur3_32("hello", 5, 0), 0x248bfa47u);
}

Test(hash, optimizely_public_vector)
{
    /* Optimizely's bucketing: murmur3_32 seed 1 of "ppid1" + "1886780721"
     * lands in bucket 5254 of 10000 (their published test case). */
    const char *k = "ppid11886780721";
    cr_assert_eq(hash_to_bucket(hash_murmur3_32(k, strlen(k), 1)), 5254u);
}

Test(hash, murmur3_vectors)
{
    size_t i;
    json_t *c;
    size_t n = 0;
    json_array_foreach(json_object_get(vectors, "murmur3"), i, c) {
        const char *in = json_string_value(json_object_get(c, "input"));
        uint32_t seed = (uint32_t)json_integer_value(json_object_get(c, "seed"));
        uint32_t want = (uint32_t)json_integer_value(json_object_get(c, "hash"));
        uint32_t got = hash_murmur3_32(in, strlen(in), seed);
        cr_expect_eq(got, want, "murmur3(\"%s\", %u) = %u, want %u", in, seed, got, want);
        n++;
    }
    cr_assert_gt(n, 30);
}

Test(hash, bucket_vectors)
{
    size_t i;
    json_t *c;
    size_t n = 0;
    json_array_foreach(json_object_get(vectors, "bucket"), i, c) {
        const char *salt = json_string_value(json_object_get(c, "salt"));
        const char *purpose = json_string_value(json_object_get(c, "purpose"));
        const char *visitor = json_string_value(json_object_get(c, "visitor"));
        uint32_t want = (uint32_t)json_integer_value(json_object_get(c, "bucket"));
        uint32_t got = hash_bucket(salt, purpose, visitor);
        cr_expect_eq(got, want, "bucket(%s,%s,%s) = %u, want %u", salt, purpose, visitor, got, want);
        n++;
    }
    cr_assert_eq(n, 160);
}

Test(hash, bucket_range_and_overlong_input)
{
    cr_assert_eq(hash_to_bucket(0), 0u);
    cr_assert_eq(hash_to_bucket(UINT32_MAX), HASH_BUCKETS - 1);
    char big[HASH_MAX_INPUT + 10];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(hash_bucket("s", "variant", big), UINT32_MAX);
}

Test(hash, prefix_continuation_equals_the_full_hash)
{
    /* Every combination of prefix and visitor lengths mod 4 is exercised. */
    const char *salts[] = {"s", "ab", "abc", "salt", "checkout-tiers", "wording-2026", "Ωmega"};
    const char *purposes[] = {"variant", "coverage", "holdback", "layer"};
    char visitor[64];
    for (size_t s = 0; s < sizeof salts / sizeof *salts; s++)
        for (size_t p = 0; p < 4; p++) {
            hash_prefix hp;
            hash_prefix_init(&hp, salts[s], purposes[p]);
            for (int len = 1; len < 40; len++) {
                for (int i = 0; i < len; i++)
                    visitor[i] = (char)('a' + (i * 7 + len + (int)s) % 26);
                visitor[len] = '\0';
                cr_expect_eq(hash_prefix_bucket(&hp, visitor), hash_bucket(salts[s], purposes[p], visitor),
                             "salt %s purpose %s visitor %s", salts[s], purposes[p], visitor);
            }
        }
}

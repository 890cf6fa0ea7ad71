/* hash.h: the bucketing hash shared by upshotd and every SDK.
 *
 * Upshot buckets a visitor by hashing a UTF-8 string with MurmurHash3 x86
 * 32-bit (Austin Appleby's public-domain design, the same function
 * Optimizely and Unleash bucket with) and mapping the 32-bit value onto
 * 10,000 buckets by multiply-and-shift. docs/assignment.md is the normative
 * spec; tests/vectors/assignment.json holds vectors that the C and the
 * JavaScript tests both run, so the implementations cannot drift apart.
 *
 * Pure: no allocation, no global state, safe from any thread. */
#ifndef UPSHOT_HASH_H
#define UPSHOT_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Number of buckets every decision (layer, coverage, holdback, variant) is
 * made in. 10,000 gives weights and coverage a resolution of 0.01%. */
#define HASH_BUCKETS 10000u

/* MurmurHash3_x86_32 of len bytes at data with the given seed. */
uint32_t hash_murmur3_32(const void *data, size_t len, uint32_t seed);

/* Maps a 32-bit hash onto [0, HASH_BUCKETS): floor(h * 10000 / 2^32). */
static inline uint32_t hash_to_bucket(uint32_t h)
{
    return (uint32_t)(((uint64_t)h * HASH_BUCKETS) >> 32);
}

/* The bucket of one decision: murmur3_32(salt "|" purpose "|" visitor, 0)
 * mapped to [0, 10000). purpose is one of "layer", "coverage", "holdback",
 * "variant"; distinct purposes make the decisions independent of each other.
 * Inputs longer than HASH_MAX_INPUT bytes in total return UINT32_MAX (callers
 * validate ids far below that bound, so this never happens for valid input). */
#define HASH_MAX_INPUT 1024u
uint32_t hash_bucket(const char *salt, const char *purpose, const char *visitor);

/* The same bucket with the constant part precomputed: MurmurHash3 reads its
 * input in 4-byte blocks, so the state after the full blocks of
 * "salt|purpose|" (and the 0-3 bytes left over) can be kept per experiment
 * and the hash continued with each visitor. hash_prefix_bucket(p, v)
 * equals hash_bucket(salt, purpose, v) for every v (tests check it). */
typedef struct hash_prefix {
    uint32_t h;       /* state after the prefix's full blocks */
    uint32_t len;     /* prefix length in bytes */
    uint8_t tail[3];  /* prefix bytes after its last full block */
    uint8_t ntail;
} hash_prefix;

void hash_prefix_init(hash_prefix *p, const char *salt, const char *purpose);
uint32_t hash_prefix_bucket(const hash_prefix *p, const char *visitor);

#endif

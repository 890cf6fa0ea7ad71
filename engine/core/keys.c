/* keys.c: Redis key names (see keys.h). */
#include "keys.h"

#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "hash.h"
#include "keyslot.h"
#include "validate.h"

#define KEYS_EXP_MAX 64

unsigned keys_group_slot_lo(unsigned g)
{
    /* round(g * 16384 / 12) in integers: redis-cli --cluster create ends
     * master i's range at lround((i + 1) * 16384 / m - 1), so for m
     * dividing 12 the master boundaries are exactly these (the fractions
     * are thirds, never halves, so rounding has no tie to break). */
    return (2u * g * KEYSLOT_COUNT + KEYS_GROUPS) / (2u * KEYS_GROUPS);
}

/* "x:" EXP ":" g ":" n into out (no NUL); returns the length. */
static size_t tag_into(char *out, const char *exp, size_t explen, unsigned g, uint32_t n)
{
    memcpy(out, "x:", 2);
    memcpy(out + 2, exp, explen);
    size_t at = 2 + explen;
    out[at++] = ':';
    at += decimal_u64(out + at, g);
    out[at++] = ':';
    at += decimal_u64(out + at, n);
    return at;
}

int keys_tags_compute(keys_tags *out, const char *exp)
{
    size_t explen = strlen(exp);
    if (explen > KEYS_EXP_MAX)
        return -1;
    memcpy(out->exp, exp, explen + 1);
    char tag[KEYS_MAX];
    for (unsigned g = 0; g < KEYS_GROUPS; g++) {
        unsigned lo = keys_group_slot_lo(g), hi = keys_group_slot_lo(g + 1);
        /* Each try lands in the range with probability about 1/12; CRC16
         * over the decimal suffixes reaches every range within a few
         * hundred tries for any name (tests/unit/test_keys.c checks
         * thousands), so the loop's bound is never reached in practice. */
        uint32_t n = 0;
        for (;; n++) {
            size_t len = tag_into(tag, exp, explen, g, n);
            unsigned slot = keyslot_crc16(tag, len) % KEYSLOT_COUNT;
            if ((slot >= lo && slot < hi) || n == UINT32_MAX)
                break;
        }
        out->suffix[g] = n;
        out->slot[g] = (uint16_t)(keyslot_crc16(tag, tag_into(tag, exp, explen, g, n)) %
                                  KEYSLOT_COUNT);
    }
    return 0;
}

size_t keys_group_tag(char out[KEYS_MAX], const keys_tags *t, unsigned g)
{
    size_t n = tag_into(out, t->exp, strlen(t->exp), g, t->suffix[g]);
    out[n] = '\0';
    return n;
}

/* "{" TAG "}" SUFFIX: at most 1 + 2 + 64 + 1 + 2 + 1 + 10 + 1 = 82 bytes
 * before the suffix, which leaves room for ":v:" and 10 digits. */
static size_t group_key(char out[KEYS_MAX], const keys_tags *t, unsigned g, const char *suffix,
                        size_t suffixlen)
{
    out[0] = '{';
    size_t n = 1 + tag_into(out + 1, t->exp, strlen(t->exp), g, t->suffix[g]);
    out[n++] = '}';
    memcpy(out + n, suffix, suffixlen);
    n += suffixlen;
    out[n] = '\0';
    return n;
}

size_t keys_group_counters(char out[KEYS_MAX], const keys_tags *t, unsigned g)
{
    return group_key(out, t, g, ":cnt", 4);
}

size_t keys_group_event_tokens(char out[KEYS_MAX], const keys_tags *t, unsigned g)
{
    return group_key(out, t, g, ":ev", 3);
}

uint32_t keys_shard_of(const char *visitor)
{
    return hash_murmur3_32(visitor, strlen(visitor), 0) >> 16; /* 16 bits: 65536 shards */
}

size_t keys_visitor_shard(char out[KEYS_MAX], const keys_tags *t, uint32_t shard)
{
    /* Called once per event on the write path: built by hand, not with
     * snprintf. */
    size_t n = group_key(out, t, keys_group_of_shard(shard), ":v:", 3);
    n += decimal_u64(out + n, shard);
    out[n] = '\0';
    return n;
}

void keys_tag_cache_init(keys_tag_cache *c)
{
    memset(c, 0, sizeof *c);
}

const keys_tags *keys_tag_cache_get(keys_tag_cache *c, const char *exp)
{
    size_t n = strlen(exp);
    if (n == 0 || n > KEYS_EXP_MAX)
        return NULL;
    keys_tags *e = &c->entry[hash_murmur3_32(exp, n, 0) % KEYS_TAG_CACHE];
    if (strcmp(e->exp, exp) != 0) {
        keys_tags_compute(e, exp);
        c->computed++;
    }
    return e;
}

void keys_legacy_counters(char out[KEYS_MAX], const char *exp)
{
    snprintf(out, KEYS_MAX, "{x:%s}:cnt", exp);
}

void keys_legacy_event_tokens(char out[KEYS_MAX], const char *exp)
{
    snprintf(out, KEYS_MAX, "{x:%s}:ev", exp);
}

void keys_legacy_event_ids(char out[KEYS_MAX], const char *exp)
{
    snprintf(out, KEYS_MAX, "{x:%s}:ids", exp);
}

void keys_legacy_visitor_shard(char out[KEYS_MAX], const char *exp, uint32_t shard)
{
    snprintf(out, KEYS_MAX, "{x:%s}:v:%u", exp, (unsigned)shard);
}

keys_legacy_kind keys_legacy_parse(const char *key, size_t len, char exp[KEYS_MAX],
                                   uint32_t *shard)
{
    if (len < 6 || memcmp(key, "{x:", 3) != 0)
        return KEYS_LEGACY_NONE;
    const char *close = memchr(key + 3, '}', len - 3);
    size_t explen = close ? (size_t)(close - (key + 3)) : 0;
    if (!close || explen == 0 || explen > KEYS_EXP_MAX)
        return KEYS_LEGACY_NONE;
    memcpy(exp, key + 3, explen);
    exp[explen] = '\0';
    if (!validate_key(exp)) /* a group tag holds ':', which no key does */
        return KEYS_LEGACY_NONE;
    const char *rest = close + 1;
    size_t restlen = len - (size_t)(rest - key);
    if (restlen == 4 && memcmp(rest, ":cnt", 4) == 0)
        return KEYS_LEGACY_COUNTERS;
    if (restlen == 3 && memcmp(rest, ":ev", 3) == 0)
        return KEYS_LEGACY_EVENT_TOKENS;
    if (restlen == 4 && memcmp(rest, ":ids", 4) == 0)
        return KEYS_LEGACY_EVENT_IDS;
    uint64_t n;
    if (restlen > 3 && memcmp(rest, ":v:", 3) == 0 &&
        decimal_parse_u64(rest + 3, restlen - 3, KEYS_SHARDS - 1, &n) == 0) {
        *shard = (uint32_t)n;
        return KEYS_LEGACY_VISITORS;
    }
    return KEYS_LEGACY_NONE;
}

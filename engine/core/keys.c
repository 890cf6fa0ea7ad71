/* keys.c: Redis key names (see keys.h). */
#include "keys.h"

#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "hash.h"

void keys_counters(char out[KEYS_MAX], const char *exp)
{
    snprintf(out, KEYS_MAX, "{x:%s}:cnt", exp);
}

void keys_event_tokens(char out[KEYS_MAX], const char *exp)
{
    snprintf(out, KEYS_MAX, "{x:%s}:ev", exp);
}

void keys_event_ids(char out[KEYS_MAX], const char *exp)
{
    snprintf(out, KEYS_MAX, "{x:%s}:ids", exp);
}

uint32_t keys_shard_of(const char *visitor)
{
    return hash_murmur3_32(visitor, strlen(visitor), 0) >> 16; /* 16 bits: 65536 shards */
}

void keys_visitor_shard(char out[KEYS_MAX], const char *exp, uint32_t shard)
{
    /* Called once per event on the write path: built by hand, not with
     * snprintf. "{x:" EXP "}:v:" SHARD, EXP at most 64 bytes. */
    size_t n = strlen(exp);
    if (n > KEYS_MAX - 24)
        n = KEYS_MAX - 24;
    memcpy(out, "{x:", 3);
    memcpy(out + 3, exp, n);
    memcpy(out + 3 + n, "}:v:", 4);
    decimal_u64(out + 7 + n, shard); /* at most 10 digits + NUL: 7 + 104 + 11 <= KEYS_MAX */
}

/* keys.c: Redis key names (see keys.h). */
#include "keys.h"

#include <stdio.h>
#include <string.h>

#include "hash.h"

void keys_counters(char out[KEYS_MAX], const char *exp)
{
    snprintf(out, KEYS_MAX, "{x:%s}:cnt", exp);
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
    snprintf(out, KEYS_MAX, "{x:%s}:v:%u", exp, shard);
}

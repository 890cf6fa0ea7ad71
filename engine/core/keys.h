/* keys.h: Redis key names (docs/redis.md is the table).
 *
 * Every key of one experiment carries the hash tag {x:KEY}, so all of them
 * live in one Redis Cluster slot and one script call may touch them all.
 * Visitor records are spread over KEYS_SHARDS small hashes so that each
 * stays in Redis's compact listpack encoding (with Redis's default of 128
 * entries per listpack, up to about 8 million visitors per experiment):
 * about 35 bytes a visitor instead of about 70 in hashtable-encoded
 * hashes. Measured side by side, both layouts cost the same Redis CPU per
 * exposure, so the compact one wins. The shard is the top 16 bits of
 * murmur3_32(visitor, 0). Pure. */
#ifndef UPSHOT_KEYS_H
#define UPSHOT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_SHARDS 65536u
#define KEYS_MAX 128

/* "{x:EXP}:cnt": counters; "{x:EXP}:ev": event id -> the acknowledgment
 * token of the journal line that counted it; "{x:EXP}:ids": the set of
 * event ids that older versions kept instead, still read while it exists. */
void keys_counters(char out[KEYS_MAX], const char *exp);
void keys_event_tokens(char out[KEYS_MAX], const char *exp);
void keys_event_ids(char out[KEYS_MAX], const char *exp);

/* "upshot:dataset": the data set marker, a random id that tells a Redis
 * that lost its data from the one upshotd wrote to (store.c). */
#define KEYS_DATASET_MARKER "upshot:dataset"

/* The visitor's shard number and its key "{x:EXP}:v:SHARD". */
uint32_t keys_shard_of(const char *visitor);
void keys_visitor_shard(char out[KEYS_MAX], const char *exp, uint32_t shard);

#endif

/* keys.h: Redis key names (docs/redis.md is the table).
 *
 * One experiment's data is split into KEYS_GROUPS shard groups, each under
 * its own hash tag, so that a hot experiment spreads over every master of
 * a Redis Cluster while each script call still touches one slot:
 *
 *   group g's tag      x:EXP:g:n, n the smallest integer >= 0 such that
 *                      keyslot_of(tag) lies in [keys_group_slot_lo(g),
 *                      keys_group_slot_lo(g + 1)), the g-th twelfth of the
 *                      slot space (about 12 CRC16s per group on average)
 *   a visitor's shard  the top 16 bits of murmur3_32(visitor, 0), as before
 *   a visitor's group  shard % KEYS_GROUPS
 *
 * A visitor's record, the ids of its events and the counters its events
 * bump all carry the visitor's group tag, so one call per (experiment,
 * group) applies them, and results sum the groups' counters
 * (counters_merge.h).
 *
 * Why the spread is even by construction: `redis-cli --cluster create`
 * gives master i the slots [round(i * 16384 / m), round((i + 1) * 16384 /
 * m)), and the group ranges are cut at round(g * 16384 / 12), so with m
 * dividing 12 (1, 2, 3, 4, 6 or 12 masters) every master holds exactly
 * 12 / m whole groups, i.e. 1/m of the visitors and of the events. With
 * another m the busiest master holds ceil(12 / m) groups: a share of at
 * most ceil(12 / m) / 12 (5 masters: 3/12 = 0.25 instead of 0.20; 8: 2/12
 * instead of 1/8). A slot moved by a reshard moves whole groups.
 *
 * Visitor records are spread over KEYS_SHARDS small hashes so that each
 * stays in Redis's compact listpack encoding (with Redis's default of 128
 * entries per listpack, up to about 8 million visitors per experiment):
 * about 35 bytes a visitor instead of about 70 in hashtable-encoded hashes.
 * Computing a tag set costs about 150 CRC16s of short strings: callers
 * keep it per experiment (keys_tag_cache), never per batch. Pure. */
#ifndef UPSHOT_KEYS_H
#define UPSHOT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_SHARDS 65536u
#define KEYS_GROUPS 12u
#define KEYS_MAX 128

/* The tags of one experiment: group g's tag is "x:EXP:g:suffix[g]". */
typedef struct keys_tags {
    char exp[72];                  /* the experiment key (at most 64 bytes) */
    uint32_t suffix[KEYS_GROUPS];  /* n of each group's tag */
    uint16_t slot[KEYS_GROUPS];    /* each group's Redis Cluster slot: where every
                                    * key of the group lives (keyslot.h) */
} keys_tags;

/* First slot of group g's range (g = KEYS_GROUPS gives 16384): the slot
 * space cut in twelfths, rounded as redis-cli rounds its master ranges. */
unsigned keys_group_slot_lo(unsigned g);

/* Computes exp's tags. 0, or -1 when exp is longer than 64 bytes. */
int keys_tags_compute(keys_tags *out, const char *exp);

/* Group g's tag without braces ("x:EXP:g:n") into out; returns its length. */
size_t keys_group_tag(char out[KEYS_MAX], const keys_tags *t, unsigned g);

/* Group g's keys: "{x:EXP:g:n}:cnt" counters, "{x:EXP:g:n}:ev" event id ->
 * the acknowledgment token of the journal line that counted it. Each
 * returns the name's length. */
size_t keys_group_counters(char out[KEYS_MAX], const keys_tags *t, unsigned g);
size_t keys_group_event_tokens(char out[KEYS_MAX], const keys_tags *t, unsigned g);

/* The visitor's shard number, its group, and the shard's key
 * "{x:EXP:g:n}:v:SHARD" with g = shard % KEYS_GROUPS. */
uint32_t keys_shard_of(const char *visitor);
static inline unsigned keys_group_of_shard(uint32_t shard) { return shard % KEYS_GROUPS; }
size_t keys_visitor_shard(char out[KEYS_MAX], const keys_tags *t, uint32_t shard);

/* A small direct-mapped cache of tag sets, so a batch looks its
 * experiment's tags up instead of computing them: KEYS_TAG_CACHE entries,
 * an experiment's slot picked by a hash of its key; a collision evicts (and
 * the next lookup recomputes, which is only slower). */
#define KEYS_TAG_CACHE 256u
typedef struct keys_tag_cache {
    keys_tags entry[KEYS_TAG_CACHE];
    uint64_t computed;             /* tag sets computed so far (a miss each) */
} keys_tag_cache;

/* Zeroes the cache (a static or calloc'd one is ready as it is). */
void keys_tag_cache_init(keys_tag_cache *c);
/* exp's tags, borrowed from the cache until the next lookup of another
 * experiment; NULL when exp is longer than 64 bytes. */
const keys_tags *keys_tag_cache_get(keys_tag_cache *c, const char *exp);

/* The old single-tag layout, still found in a Redis upgraded from a
 * version before groups (store.c migrates it): "{x:EXP}:cnt", "{x:EXP}:ev",
 * "{x:EXP}:ids" (an event id set), "{x:EXP}:v:SHARD". */
void keys_legacy_counters(char out[KEYS_MAX], const char *exp);
void keys_legacy_event_tokens(char out[KEYS_MAX], const char *exp);
void keys_legacy_event_ids(char out[KEYS_MAX], const char *exp);
void keys_legacy_visitor_shard(char out[KEYS_MAX], const char *exp, uint32_t shard);

/* What an old-layout key name is; KEYS_LEGACY_NONE for anything else (a
 * group key, a key of no experiment, a malformed name). */
typedef enum keys_legacy_kind {
    KEYS_LEGACY_NONE,
    KEYS_LEGACY_COUNTERS,      /* {x:EXP}:cnt */
    KEYS_LEGACY_EVENT_TOKENS,  /* {x:EXP}:ev */
    KEYS_LEGACY_EVENT_IDS,     /* {x:EXP}:ids */
    KEYS_LEGACY_VISITORS,      /* {x:EXP}:v:SHARD, *shard set */
} keys_legacy_kind;
/* Reads key (len bytes): its kind, the experiment into exp (a valid key,
 * validate.h) and, for a visitor shard, the shard number (< KEYS_SHARDS). */
keys_legacy_kind keys_legacy_parse(const char *key, size_t len, char exp[KEYS_MAX],
                                   uint32_t *shard);

/* "upshot:dataset": the data set marker, a random id that tells a Redis
 * that lost its data from the one upshotd wrote to (store.c). */
#define KEYS_DATASET_MARKER "upshot:dataset"
/* "upshot:layout": "groups12" once a Redis holds no old-layout key any more
 * (set by the migration, store.c); until then each connect looks for some. */
#define KEYS_LAYOUT_MARKER "upshot:layout"
#define KEYS_LAYOUT_CURRENT "groups12"

#endif

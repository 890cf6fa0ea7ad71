/* seen.c: the set of pairs known to be recorded in Redis (see seen.h). */
#include "seen.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define SEEN_WAYS 4

struct seen {
    uint64_t *slots;   /* nsets * SEEN_WAYS fingerprints; 0 is empty */
    size_t nsets;      /* a power of two */
    size_t count;
};

seen *seen_new(size_t slots)
{
    if (slots == 0)
        return NULL;
    if (slots < SEEN_WAYS)
        slots = SEEN_WAYS;
    size_t nsets = 1;
    while (nsets * 2 <= slots / SEEN_WAYS)
        nsets *= 2;
    seen *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    /* calloc: the kernel hands out zero pages lazily, so an idle set costs
     * no resident memory. */
    s->slots = calloc(nsets * SEEN_WAYS, sizeof *s->slots);
    if (!s->slots) {
        free(s);
        return NULL;
    }
    s->nsets = nsets;
    s->count = 0;
    return s;
}

void seen_free(seen *s)
{
    if (s)
        free(s->slots);
    free(s);
}

uint32_t seen_experiment_seed(const char *experiment, size_t experiment_len)
{
    return hash_murmur3_32(experiment, experiment_len, 0x5ee17a11u);
}

uint64_t seen_key(uint32_t experiment_seed, const char *visitor, size_t visitor_len)
{
    /* Two independent 32-bit MurmurHash3 values of the visitor, seeded by
     * the experiment's own hash: distinct experiments give unrelated keys. */
    uint32_t e = experiment_seed;
    uint64_t hi = hash_murmur3_32(visitor, visitor_len, e);
    uint64_t lo = hash_murmur3_32(visitor, visitor_len, e ^ 0x9e3779b9u);
    uint64_t key = hi << 32 | lo;
    return key ? key : 1;
}

static uint64_t *set_of(const seen *s, uint64_t key)
{
    return s->slots + (size_t)(key & (s->nsets - 1)) * SEEN_WAYS;
}

bool seen_has(const seen *s, uint64_t key)
{
    if (!s)
        return false;
    const uint64_t *set = set_of(s, key);
    for (int w = 0; w < SEEN_WAYS; w++)
        if (set[w] == key)
            return true;
    return false;
}

void seen_add(seen *s, uint64_t key)
{
    if (!s)
        return;
    uint64_t *set = set_of(s, key);
    for (int w = 0; w < SEEN_WAYS; w++) {
        if (set[w] == key)
            return;
        if (set[w] == 0) {
            set[w] = key;
            s->count++;
            return;
        }
    }
    /* Full: overwrite a way chosen by the key's top bits (the low bits
     * chose the set), which spreads evictions without keeping ages. */
    set[key >> 62] = key;
}

void seen_clear(seen *s)
{
    if (!s || s->count == 0)
        return;
    memset(s->slots, 0, s->nsets * SEEN_WAYS * sizeof *s->slots);
    s->count = 0;
}

size_t seen_count(const seen *s)
{
    return s ? s->count : 0;
}

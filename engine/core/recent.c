/* recent.c: recently seen event ids (see recent.h). */
#include "recent.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct recent {
    uint64_t *slots;  /* 0 = empty; hashes are forced non-zero */
    uint64_t *fifo;   /* insertion order, for eviction */
    size_t mask;      /* slots - 1 (slots = 2 * capacity) */
    size_t capacity, count, head;
};

static uint64_t key_hash(const char *exp, const char *id)
{
    size_t le = strlen(exp), li = strlen(id);
    uint32_t a = hash_murmur3_32(exp, le, 0x5eed1u) ^ hash_murmur3_32(id, li, 0x5eed2u);
    uint32_t b = hash_murmur3_32(id, li, a);
    uint64_t h = ((uint64_t)a << 32) | b;
    return h ? h : 1;
}

recent *recent_new(size_t capacity)
{
    recent *r = calloc(1, sizeof *r);
    size_t cap = 1024;
    while (cap < capacity)
        cap <<= 1;
    if (!r)
        return NULL;
    r->capacity = cap;
    r->mask = 2 * cap - 1;
    r->slots = calloc(2 * cap, sizeof *r->slots);
    r->fifo = calloc(cap, sizeof *r->fifo);
    if (!r->slots || !r->fifo) {
        recent_free(r);
        return NULL;
    }
    return r;
}

void recent_free(recent *r)
{
    if (!r)
        return;
    free(r->slots);
    free(r->fifo);
    free(r);
}

static size_t find(const recent *r, uint64_t h)
{
    size_t i = (size_t)h & r->mask;
    while (r->slots[i] && r->slots[i] != h)
        i = (i + 1) & r->mask;
    return i;
}

/* Deletes slot i keeping linear-probe chains intact (backward shift). */
static void erase_slot(recent *r, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & r->mask;
        if (!r->slots[j])
            break;
        size_t home = (size_t)r->slots[j] & r->mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            r->slots[i] = r->slots[j];
            i = j;
        }
    }
    r->slots[i] = 0;
}

bool recent_check_and_add(recent *r, const char *experiment, const char *id)
{
    uint64_t h = key_hash(experiment, id);
    size_t i = find(r, h);
    if (r->slots[i])
        return true;
    if (r->count == r->capacity) { /* evict the oldest */
        size_t k = find(r, r->fifo[r->head]);
        if (r->slots[k])
            erase_slot(r, k);
        r->head = (r->head + 1) % r->capacity;
        r->count--;
        i = find(r, h);
    }
    r->slots[i] = h;
    r->fifo[(r->head + r->count) % r->capacity] = h;
    r->count++;
    return false;
}

void recent_forget(recent *r, const char *experiment, const char *id)
{
    uint64_t h = key_hash(experiment, id);
    size_t i = find(r, h);
    if (r->slots[i])
        erase_slot(r, i); /* its fifo entry stays; eviction of a missing hash is a no-op */
}

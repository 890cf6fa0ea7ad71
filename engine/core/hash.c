/* hash.c: MurmurHash3 x86 32-bit and Upshot's bucket derivation.
 * Written from the algorithm's description (public domain, A. Appleby); the
 * tail handling reads bytes little-endian regardless of the host. */
#include "hash.h"

#include <stdio.h>
#include <string.h>

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static inline uint32_t mix_block(uint32_t h, uint32_t k)
{
    k *= 0xcc9e2d51u;
    k = rotl32(k, 15);
    k *= 0x1b873593u;
    h ^= k;
    h = rotl32(h, 13);
    return h * 5 + 0xe6546b64u;
}

static inline uint32_t finish(uint32_t h, const uint8_t *tail, size_t ntail, size_t total)
{
    uint32_t k = 0;
    switch (ntail) {
    case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        k ^= tail[0];
        k *= 0xcc9e2d51u;
        k = rotl32(k, 15);
        k *= 0x1b873593u;
        h ^= k;
    }
    h ^= (uint32_t)total;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t hash_murmur3_32(const void *data, size_t len, uint32_t seed)
{
    const uint8_t *bytes = data;
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed;
    size_t blocks = len / 4;

    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *p = bytes + 4 * i;
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }

    const uint8_t *tail = bytes + 4 * blocks;
    uint32_t k = 0;
    switch (len & 3) {
    case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
    }

    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t hash_bucket(const char *salt, const char *purpose, const char *visitor)
{
    char buf[HASH_MAX_INPUT];
    size_t ls = strlen(salt), lp = strlen(purpose), lv = strlen(visitor);
    if (ls + lp + lv + 2 > sizeof buf)
        return UINT32_MAX;
    memcpy(buf, salt, ls);
    buf[ls] = '|';
    memcpy(buf + ls + 1, purpose, lp);
    buf[ls + 1 + lp] = '|';
    memcpy(buf + ls + 2 + lp, visitor, lv);
    return hash_to_bucket(hash_murmur3_32(buf, ls + lp + lv + 2, 0));
}

void hash_prefix_init(hash_prefix *p, const char *salt, const char *purpose)
{
    char buf[HASH_MAX_INPUT];
    int n = snprintf(buf, sizeof buf, "%s|%s|", salt, purpose);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof buf ? sizeof buf - 1 : (size_t)n;
    const uint8_t *b = (const uint8_t *)buf;
    uint32_t h = 0;
    size_t blocks = len / 4;
    for (size_t i = 0; i < blocks; i++)
        h = mix_block(h, (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
                             (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24);
    p->h = h;
    p->len = (uint32_t)len;
    p->ntail = (uint8_t)(len & 3);
    memcpy(p->tail, b + 4 * blocks, p->ntail);
}

uint32_t hash_prefix_bucket(const hash_prefix *p, const char *visitor)
{
    const uint8_t *v = (const uint8_t *)visitor;
    size_t vlen = strlen(visitor);
    uint32_t h = p->h;
    uint8_t pending[4];
    size_t np = p->ntail;
    memcpy(pending, p->tail, np);
    size_t i = 0;
    /* Complete the block the prefix left open. */
    while (np < 4 && i < vlen)
        pending[np++] = v[i++];
    if (np < 4)
        return hash_to_bucket(finish(h, pending, np, p->len + vlen));
    h = mix_block(h, (uint32_t)pending[0] | (uint32_t)pending[1] << 8 |
                         (uint32_t)pending[2] << 16 | (uint32_t)pending[3] << 24);
    for (; i + 4 <= vlen; i += 4)
        h = mix_block(h, (uint32_t)v[i] | (uint32_t)v[i + 1] << 8 | (uint32_t)v[i + 2] << 16 |
                             (uint32_t)v[i + 3] << 24);
    return hash_to_bucket(finish(h, v + i, vlen - i, p->len + vlen));
}

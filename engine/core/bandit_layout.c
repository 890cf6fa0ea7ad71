/* bandit_layout.c: the bucket layout of a bandit region (bandit_layout.h). */
#include "bandit_layout.h"

#include <math.h>
#include <string.h>

#include "decimal.h"

static uint32_t share_to_buckets(double fraction)
{
    double b = floor(fraction * HASH_BUCKETS + 0.5);
    return b <= 0 ? 0 : b >= HASH_BUCKETS ? HASH_BUCKETS : (uint32_t)b;
}

static bool weights_ok(const double *w, int k)
{
    if (k < 2 || k > BANDIT_LAYOUT_MAX_ARMS || !w)
        return false;
    double sum = 0;
    for (int i = 0; i < k; i++) {
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return false;
        sum += w[i];
    }
    return fabs(sum - 1) <= 1e-9;
}

void bandit_layout_targets(const double *weights, int k, uint32_t *counts)
{
    double cum = 0;
    uint32_t start = 0;
    for (int i = 0; i < k; i++) {
        cum += weights[i];
        uint32_t end = i == k - 1 ? HASH_BUCKETS : share_to_buckets(cum);
        if (end < start) /* cumulative rounding never decreases; be safe */
            end = start;
        counts[i] = end - start;
        start = end;
    }
}

int bandit_layout_init(bandit_layout *l, const double *weights, int k)
{
    if (!weights_ok(weights, k))
        return -1;
    memset(l, 0, sizeof *l);
    l->narms = k;
    bandit_layout_targets(weights, k, l->count);
    uint32_t b = 0;
    for (int i = 0; i < k; i++)
        for (uint32_t j = 0; j < l->count[i]; j++)
            l->owner[b++] = (uint8_t)i;
    return 0;
}

int bandit_layout_apply(bandit_layout *l, const double *weights, int k)
{
    if (!weights_ok(weights, k) || k != l->narms)
        return -1;
    uint32_t target[BANDIT_LAYOUT_MAX_ARMS];
    bandit_layout_targets(weights, k, target);

    /* Release: each arm above its target frees buckets, those already
     * marked moved first (their visitors are looked up anyway), then
     * unmoved ones, highest first in each pass. Reusing the moved ones is
     * what keeps weights that go back and forth from marking a new part
     * of the buckets at every update. A freed bucket is marked with the
     * owner value k (no arm) until it is taken. */
    uint32_t surplus[BANDIT_LAYOUT_MAX_ARMS];
    for (int i = 0; i < k; i++)
        surplus[i] = l->count[i] > target[i] ? l->count[i] - target[i] : 0;
    for (int pass = 1; pass >= 0; pass--) {
        for (uint32_t b = HASH_BUCKETS; b-- > 0;) {
            int o = l->owner[b];
            if (o < k && surplus[o] > 0 && (int)bandit_layout_bucket_moved(l, b) == pass) {
                surplus[o]--;
                l->count[o]--;
                l->owner[b] = (uint8_t)k;
            }
        }
    }
    /* Take: the freed buckets, lowest first, go to the arms below target in
     * arm order. Freed and needed totals are equal (both sum to 10,000). */
    int arm = 0;
    int moved = 0;
    for (uint32_t b = 0; b < HASH_BUCKETS; b++) {
        if (l->owner[b] != k)
            continue;
        while (arm < k && l->count[arm] >= target[arm])
            arm++;
        if (arm == k) /* cannot happen: counts and targets both sum to 10,000 */
            return -1;
        l->owner[b] = (uint8_t)arm;
        l->count[arm]++;
        if (!bandit_layout_bucket_moved(l, b)) {
            l->moved[b >> 3] |= (uint8_t)(1u << (b & 7));
            l->nmoved++;
        }
        moved++;
    }
    return moved;
}

double bandit_layout_moved_share(const bandit_layout *l)
{
    return (double)l->nmoved / HASH_BUCKETS;
}

/* Appends s (len bytes) to out at *at; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *at, const char *s, size_t len)
{
    if (*at + len + 1 > cap)
        return false;
    memcpy(out + *at, s, len);
    *at += len;
    out[*at] = '\0';
    return true;
}

static bool put_u32(char *out, size_t cap, size_t *at, uint32_t v)
{
    char buf[DECIMAL_U64_BUF];
    return put(out, cap, at, buf, decimal_u64(buf, v));
}

int bandit_layout_encode(const bandit_layout *l, char *out, size_t cap)
{
    size_t at = 0;
    if (cap == 0)
        return -1;
    out[0] = '\0';
    for (uint32_t b = 0; b < HASH_BUCKETS;) {
        uint32_t e = b;
        while (e < HASH_BUCKETS && l->owner[e] == l->owner[b])
            e++;
        if ((b > 0 && !put(out, cap, &at, ",", 1)) || !put_u32(out, cap, &at, l->owner[b]) ||
            !put(out, cap, &at, "*", 1) || !put_u32(out, cap, &at, e - b))
            return -1;
        b = e;
    }
    if (!put(out, cap, &at, "/", 1))
        return -1;
    bool state = false; /* runs alternate, starting with unmoved */
    for (uint32_t b = 0; b < HASH_BUCKETS;) {
        uint32_t e = b;
        while (e < HASH_BUCKETS && bandit_layout_bucket_moved(l, e) == state)
            e++;
        if ((b > 0 && !put(out, cap, &at, ",", 1)) || !put_u32(out, cap, &at, e - b))
            return -1;
        b = e;
        state = !state;
    }
    return (int)at;
}

/* Reads a decimal of at most 5 digits at *p (bucket counts and arms). */
static bool read_small(const char **p, uint32_t *v)
{
    const char *s = *p;
    uint32_t x = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 6) {
        x = x * 10 + (uint32_t)(*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || digits > 5)
        return false;
    *v = x;
    *p = s;
    return true;
}

int bandit_layout_decode(bandit_layout *l, const char *text, int k)
{
    if (k < 2 || k > BANDIT_LAYOUT_MAX_ARMS || !text)
        return -1;
    memset(l, 0, sizeof *l);
    l->narms = k;
    const char *p = text;
    uint32_t b = 0;
    for (;;) {
        uint32_t arm, len;
        if (!read_small(&p, &arm) || *p++ != '*' || !read_small(&p, &len) || arm >= (uint32_t)k ||
            len == 0 || len > HASH_BUCKETS - b)
            return -1;
        memset(l->owner + b, (int)arm, len);
        l->count[arm] += len;
        b += len;
        if (*p == ',') {
            p++;
            continue;
        }
        break;
    }
    if (b != HASH_BUCKETS || *p++ != '/')
        return -1;
    b = 0;
    bool state = false;
    for (;;) {
        uint32_t len;
        if (!read_small(&p, &len) || len > HASH_BUCKETS - b || (len == 0 && b > 0))
            return -1;
        if (state) {
            for (uint32_t j = b; j < b + len; j++)
                l->moved[j >> 3] |= (uint8_t)(1u << (j & 7));
            l->nmoved += len;
        }
        b += len;
        state = !state;
        if (*p == ',') {
            p++;
            continue;
        }
        break;
    }
    return b == HASH_BUCKETS && *p == '\0' ? 0 : -1;
}

/* bandit_layout.h: which arm owns each variant bucket of one region of a
 * bandit experiment, and which buckets have ever changed owner.
 *
 * Why: a bandit changes weights often, and a visitor must keep the variant
 * of their first exposure. With the fixed layout of docs/assignment.md
 * (contiguous ranges from cumulative weights) a small weight change of the
 * first arm shifts every later range, and every visitor would need a Redis
 * lookup to stay sticky. Here a weight change moves only as many buckets
 * as the weights differ by (the total variation distance, times 10,000):
 * an arm above its new bucket count gives up buckets (those already moved
 * first, then the others; highest first in each group), and the arms
 * below theirs take them, lowest bucket first, in arm order. Giving up
 * moved buckets first means weights that drift back and forth keep
 * reusing the same moved buckets instead of marking new ones. A bucket
 * that has never changed owner still belongs to the arm every visitor in
 * it was first exposed to, so only visitors in moved buckets can need the
 * lookup (docs/assignment.md, "Bandit stickiness").
 *
 * Bucket counts follow the same rounding as fixed ranges: arm i gets
 * start_{i+1} - start_i buckets, start_i = floor(c_i * 10000 + 0.5) over
 * the cumulative weights, so the first layout equals the fixed one.
 *
 * A layout is kept in the experiment's definition as text (run-length
 * encoded, so a few KiB at most in practice) and is a pure function of the
 * weight history; encode/decode round-trip exactly. Pure, no allocation. */
#ifndef UPSHOT_BANDIT_LAYOUT_H
#define UPSHOT_BANDIT_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define BANDIT_LAYOUT_MAX_ARMS 64

typedef struct bandit_layout {
    int narms;
    uint8_t owner[HASH_BUCKETS];                /* arm index of each bucket */
    uint8_t moved[(HASH_BUCKETS + 7) / 8];      /* bit b: bucket b changed owner once */
    uint32_t count[BANDIT_LAYOUT_MAX_ARMS];     /* buckets each arm owns */
    uint32_t nmoved;                            /* buckets with the moved bit */
} bandit_layout;

/* Buckets each arm should own for these weights (k entries, summing to 1). */
void bandit_layout_targets(const double *weights, int k, uint32_t *counts);

/* The first layout: contiguous ranges, nothing moved. -1 when k is out of
 * range (2..BANDIT_LAYOUT_MAX_ARMS) or the weights are not a distribution. */
int bandit_layout_init(bandit_layout *l, const double *weights, int k);

/* Moves the fewest buckets that give every arm its count for the new
 * weights; returns how many moved in this step, or -1 as above. */
int bandit_layout_apply(bandit_layout *l, const double *weights, int k);

static inline bool bandit_layout_bucket_moved(const bandit_layout *l, uint32_t b)
{
    return (l->moved[b >> 3] >> (b & 7)) & 1;
}

/* Share of buckets that ever changed owner: the largest share of returning
 * visitors that can need a Redis lookup. */
double bandit_layout_moved_share(const bandit_layout *l);

/* Text form: "OWNERS/MOVED", OWNERS runs "arm*len" joined by ",",
 * MOVED the alternating run lengths of unmoved and moved buckets
 * (starting with unmoved) joined by ",". Writes at most cap bytes with the
 * terminating NUL; returns the length, or -1 when it does not fit. */
int bandit_layout_encode(const bandit_layout *l, char *out, size_t cap);

/* Parses the text form for k arms. 0, or -1 when it is malformed (runs do
 * not cover 10,000 buckets, an arm out of range, junk). */
int bandit_layout_decode(bandit_layout *l, const char *text, int k);

#endif

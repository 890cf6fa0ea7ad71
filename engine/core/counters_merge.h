/* counters_merge.h: one experiment's counters summed over its shard groups.
 *
 * Each shard group keeps its own counters hash (keys.h); the results of an
 * experiment are the sum. counters_merge takes the (field, value) pairs of
 * every group's HGETALL one after the other and gives each field once,
 * with the sum of its values:
 *   - the float metrics (revenue s and its squares q, the cart value's
 *     xs, xq and cross sum xy, the capping differences ks, kq, kx, the
 *     refunded amount rs, each also with the promoted prefix p) are
 *     summed in double and printed "%.17g", so a sum of two groups reads
 *     back as the double it is;
 *   - "cap", the revenue cap every group holds, is taken as is;
 *   - every other field is an integer counter, summed exactly in 64 bits.
 * A value that does not read as its kind counts as 0 (results_build would
 * ignore it the same way). Fields come out sorted. Pure. */
#ifndef UPSHOT_COUNTERS_MERGE_H
#define UPSHOT_COUNTERS_MERGE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct counters_merged {
    size_t n;          /* distinct fields */
    char **fields;     /* n field names, owned */
    char **values;     /* n summed values, owned */
} counters_merged;

/* Whether field names a float metric ("s|...", "pq|...", "xy|..." and the
 * others listed above). */
bool counters_is_float(const char *field);

/* Merges n pairs into *out (which the caller frees with
 * counters_merged_free, also after a failure). 0, or -1 out of memory. */
int counters_merge(size_t n, const char *const *fields, const char *const *values,
                   counters_merged *out);
void counters_merged_free(counters_merged *m); /* NULL or zeroed is fine */

#endif

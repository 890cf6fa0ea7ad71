/* stats_adjust.h -- multiple-comparison adjustment of p-values: Holm
 * (family-wise error) and Benjamini-Hochberg (false discovery rate).
 *
 * Why: with four treatments, or fifty regions times four treatments in the
 * promotion logic, some raw p-value falls below 0.05 by chance alone.
 *
 *   Holm: sort p ascending, adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))
 *   BH:   adj_(i) = min_{j >= i} min(1, m/j p_(j))
 * These are R's p.adjust(p, "holm") and p.adjust(p, "BH").
 *
 * The work is done on ln p so that underflowed p-values keep their order
 * and value. Arrays may contain any number of entries; the caller supplies
 * the m-entry index buffer (or NULL, then one is allocated for the call).
 * Undefined p-values must be left out by the caller: NaN input is
 * rejected.
 */
#ifndef UPSHOT_STATS_ADJUST_H
#define UPSHOT_STATS_ADJUST_H

#include "stats_core.h"

typedef enum stats_adjust_method {
    STATS_ADJUST_HOLM = 0, /* family-wise error rate (default) */
    STATS_ADJUST_BH = 1,   /* false discovery rate */
    STATS_ADJUST_NONE = 2  /* copy */
} stats_adjust_method;

/* "holm", "bh", "none" */
const char *stats_adjust_name(stats_adjust_method m);

/* ln_p[m] in, ln_adj[m] out (may alias ln_p). order: NULL or m entries of
 * scratch. Returns 0, or -1 on NaN input or allocation failure. */
int stats_adjust_log(stats_adjust_method method, const double *ln_p, size_t m, double *ln_adj,
                     size_t *order);

/* Same on plain p-values in [0, 1]. */
int stats_adjust(stats_adjust_method method, const double *p, size_t m, double *adj,
                 size_t *order);

/* Adjusts an array of stats_pvalue in place; undefined entries are skipped
 * (and not counted in m). Returns -1 on allocation failure. */
int stats_adjust_pvalues(stats_adjust_method method, stats_pvalue *p, size_t m);

#endif

/* results.h: turning an experiment's Redis counters into result tables.
 *
 * The counters hash (docs/redis.md) holds one field per metric x variant x
 * region x day. results_build parses HGETALL's fields into a dense table
 * [region][day][variant] of randomized counts plus [region][variant] of
 * promoted counts; sums and cumulative daily looks come from it, for the
 * results endpoint, the statistics, and the promotion decisions. A bandit
 * experiment's counters also hold per-period fields
 * "METRIC|VARIANT|REGION|#PERIOD" (docs/redis.md): the cohort of visitors
 * first exposed in that period of the region; they go to a second table
 * [region][period][variant] and never into the days. Pure:
 * input is plain strings, output plain structs and JSON. */
#ifndef UPSHOT_RESULTS_H
#define UPSHOT_RESULTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "experiment.h"

typedef struct results_counts {
    uint64_t visitors;       /* unique exposed visitors (first exposure day) */
    uint64_t conversions;    /* visitors converted (first conversion day) */
    uint64_t orders;         /* distinct conversion events */
    uint64_t decliners;      /* visitors who declined */
    uint64_t decline_events;
    double revenue_sum;      /* sum over visitors of revenue, net of refunds */
    double revenue_sumsq;    /* sum over visitors of (their total revenue)^2 */
    /* The same two with each visitor's total capped (capping.value; equal
     * to the uncapped ones when nothing is capped). */
    double capped_sum;
    double capped_sumsq;
    /* The cart value at exposure, x (docs/stats.md, CUPED): visitors
     * exposed with one, sum of x, of x^2, and of x times the visitor's
     * revenue (uncapped and capped). A visitor without one counts x = 0. */
    uint64_t covariate_visitors;
    double covariate_sum;
    double covariate_sumsq;
    double cross_sum;
    double capped_cross_sum;
    uint64_t refunds;        /* refund events counted */
    double refund_sum;       /* the amount they took */
} results_counts;

typedef struct results_table {
    int nvariants;
    int nregions;
    char (*regions)[VALIDATE_KEY_MAX + 1]; /* sorted */
    int ndays;
    char (*days)[11];                      /* sorted, "YYYY-MM-DD" */
    results_counts *cells;                 /* [region][day][variant], randomized */
    results_counts *promoted;              /* [region][variant] */
    uint64_t duplicates;
    uint64_t unexposed_conversions;
    uint64_t unexposed_declines;
    uint64_t unexposed_refunds;
    uint64_t refused_refunds;   /* of an order not counted, or of more than was left */
    double cap;                 /* the revenue cap Redis holds ("cap"), 0 when none */
    /* Bandit periods: every period number that has a field, sorted, and
     * the cohorts' counts (visitors, conversions, orders, revenue sums
     * and their capped differences, refunds, declines; no cart sums). */
    int nperiods;
    int *periods;
    results_counts *period_cells;          /* [region][period][variant] */
} results_table;

/* Parses n (field, value) pairs. Fields that do not parse or name a
 * variant index >= nvariants are ignored (an older experiment layout).
 * 0, or -1 on allocation failure. */
int results_build(results_table *t, int nvariants, size_t n, const char *const *fields,
                  const char *const *values);
void results_free(results_table *t);

/* Index of a bandit period number in t->periods, or -1. */
int results_period_index(const results_table *t, int period);

/* The counts of region r's cohort of period index pi, variant v. */
const results_counts *results_period_cell(const results_table *t, int r, int pi, int v);

/* Index of a region, or -1. */
int results_region_index(const results_table *t, const char *region);

/* Sums randomized counts of region r (-1: all regions) over days
 * 0..upto_day (inclusive) into out[nvariants]. */
void results_sum(const results_table *t, int region, int upto_day, results_counts *out);

/* The counts part of the results body (docs/api.md): variants, total,
 * regions (with promotions), daily, integrity. region_filter may be NULL.
 * Analysis objects are added by the caller. */
json_t *results_json(const results_table *t, const experiment *e, const char *region_filter);

/* Whether the statistics and decisions of e use the capped revenue sums:
 * a fixed cap (configured, or held in Redis), or a learned one once the
 * visitors recorded before it are capped too (until then the capped sums
 * would mix capped and uncapped visitors). */
bool results_capping_applied(const results_table *t, const experiment *e);

/* COUNTS object of one variant, with every field. */
json_t *results_counts_json(const char *variant, const results_counts *c);

/* The same with only the optional groups in `fields` (results_json adds
 * each group only when the experiment caps revenue, has cart values, or
 * has refunds: docs/api.md, COUNTS). */
enum {
    RESULTS_JSON_CAPPED = 1,  /* revenue_sum_capped, revenue_sumsq_capped */
    RESULTS_JSON_CART = 2,    /* cart_visitors, cart_sum, cart_sumsq, cart_revenue_sum(_capped) */
    RESULTS_JSON_REFUNDS = 4, /* refunds, refund_sum */
    RESULTS_JSON_ALL = 7,
};
json_t *results_counts_json_fields(const char *variant, const results_counts *c, unsigned fields);

#endif

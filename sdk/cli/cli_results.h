/* cli_results.h: the results of one experiment as the dashboard sees them.
 *
 * Parses the body of GET /v1/experiments/{key}/results (docs/api.md) into
 * counts per region x variant, the promoted traffic apart, and the
 * cumulative counts at every daily look, laid out exactly as decide_run
 * (engine/core/decide.h) takes them. Days are the union of the days present in
 * `daily`, sorted; a region without traffic on a day repeats its previous
 * cumulative counts there (a look that saw nothing new).
 */
#ifndef UPSHOT_CLI_RESULTS_H
#define UPSHOT_CLI_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "decide.h"

#define CLI_KEY_MAX 64

typedef struct cli_promotion {
    bool active;
    int variant;                  /* index, -1 if the key is unknown */
    char variant_key[CLI_KEY_MAX + 1];
    double holdback;
    char since[40];
    decide_counts counts;         /* promoted traffic, never in the stats */
} cli_promotion;

/* What a daily row carries beyond decide_counts, for the export: the
 * capped revenue sums and the cart value's sums (docs/api.md, COUNTS). */
typedef struct cli_cell_extra {
    double uncapped_sum, uncapped_sumsq; /* "revenue_sum", "revenue_sumsq" as sent */
    double capped_sum, capped_sumsq;
    uint64_t cart_visitors;
    double cart_sum, cart_sumsq, cart_cross, cart_cross_capped;
} cli_cell_extra;

typedef struct cli_region {
    char name[CLI_KEY_MAX + 1];
    decide_counts *counts;        /* nvariants: region totals */
    decide_counts *daily;         /* ndays * nvariants: that day's counts */
    cli_cell_extra *daily_extra;  /* ndays * nvariants: the same rows' extra sums */
    decide_counts *looks;         /* ndays * nvariants, cumulative */
    cli_promotion promotion;
} cli_region;

typedef struct cli_results {
    char experiment[CLI_KEY_MAX + 1];
    char status[16];
    char generated_at[40];
    size_t nvariants;
    char variants[DECIDE_MAX_VARIANTS][CLI_KEY_MAX + 1];
    double weights[DECIDE_MAX_VARIANTS];
    size_t control;
    decide_counts total[DECIDE_MAX_VARIANTS];  /* all regions, randomized */
    size_t nregions;
    cli_region *regions;
    size_t ndays;
    char (*days)[11];                          /* "YYYY-MM-DD" */
    decide_counts *total_looks;                /* ndays * nvariants */
    unsigned long long duplicates, unexposed;  /* "integrity" */
    double cap;                                /* "capping.value"; 0: revenue is not capped,
                                                  else every decide_counts revenue is the
                                                  capped one, as upshotd decides with */
    /* upshotd's own settings and verdicts, when the results carry them
     * (regions[].analysis and "decisions"); NaN / -1 / NULL when absent */
    double server_alpha, server_tau2;
    int server_correction;                     /* decide_correction, -1 */
    long long server_min_sample;               /* -1 */
    json_t *server_decisions;                  /* "decisions", owned ref */
    json_t *server_factorial;                  /* "factorial" of a factorial experiment
                                                  (docs/api.md), owned ref; NULL else */
    /* CUPED revenue lift and its p per variant, from the pooled total's
     * analysis (total.analysis.variants[].cuped, matched by name); NaN
     * when absent or null (no covariate recorded, an older upshotd) */
    double server_cuped_lift[DECIDE_MAX_VARIANTS];
    double server_cuped_p[DECIDE_MAX_VARIANTS];
} cli_results;

/* Fills r from a results body. Returns 0, or -1 with a sentence in err
 * (the body does not have the documented shape). r is always safe to
 * pass to cli_results_free afterwards. */
int cli_results_parse(json_t *root, cli_results *r, char *err, size_t errcap);

void cli_results_free(cli_results *r);

/* Index of variant key, or -1. */
int cli_results_variant(const cli_results *r, const char *key);

/* Index of region name, or -1. */
int cli_results_region(const cli_results *r, const char *name);

/* decide_region views of r's regions (nregions entries, borrowing r). */
void cli_results_decide_regions(const cli_results *r, decide_region *out);

#endif

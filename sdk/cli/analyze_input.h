/* analyze_input.h -- the two input readers of `upshot analyze`: a JSON
 * summary and `upshot export --csv` output (formats: docs/analyze.md).
 *
 * Internal to sdk/cli: analyze.c runs them on a file, the fuzz harnesses
 * (tests/fuzz/) on arbitrary bytes. They read outside input, so every
 * count is checked, every message names the field and the variant or
 * line, and memory is bounded: at most ANALYZE_MAX_LOOKS days and
 * ANALYZE_MAX_ROWS CSV rows, whatever the file says.
 *
 * Both readers fill an analyze_data whose stats_experiment_input is ready
 * for stats_analyze except for its pointers (analyze_data_input sets
 * them). The CSV reader adds per variant in the order upshotd's results
 * endpoint does (regions sorted, then days sorted), so that equal counts
 * give bit-for-bit equal sums and therefore equal statistics.
 */
#ifndef UPSHOT_ANALYZE_INPUT_H
#define UPSHOT_ANALYZE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#define ANALYZE_MAX_LOOKS 4096     /* days (CSV) or looks (JSON) */
#define ANALYZE_MAX_ROWS (1u << 20) /* CSV data rows: 4096 days x 16 variants x 16 regions */
#define ANALYZE_NAME 64

typedef struct analyze_data {
    char experiment[128];                       /* "" when the file names none */
    size_t k;                                   /* variants, control first */
    char names[STATS_MAX_VARIANTS][ANALYZE_NAME];
    stats_variant_input v[STATS_MAX_VARIANTS];  /* totals and weights */
    bool has_orders;                            /* orders[] given for every variant */
    bool capped;                                /* v[] holds capped revenue (a CSV with a cap) */
    double cap;                                 /* then: the cap */
    double uncapped_sum[STATS_MAX_VARIANTS];    /* then: the uncapped sums, for the report */
    double uncapped_sumsq[STATS_MAX_VARIANTS];
    uint64_t orders[STATS_MAX_VARIANTS];        /* distinct orders (shown, not tested) */
    stats_experiment_input in;                  /* settings; pointers set later */
    size_t n_looks;
    uint64_t look_n[ANALYZE_MAX_LOOKS * STATS_MAX_VARIANTS]; /* [look * k + variant] */
    uint64_t look_x[ANALYZE_MAX_LOOKS * STATS_MAX_VARIANTS];
    char msg[256];                              /* why a reader failed */
} analyze_data;

/* Options of the CSV reader (the JSON summary carries its own settings). */
typedef struct analyze_csv_options {
    const char *region;     /* only this region's rows; NULL: sum over regions */
    const double *weights;  /* configured weights, overriding the file's; NULL */
    size_t n_weights;       /* entries of weights */
} analyze_csv_options;

/* Each reader fills a zeroed d (calloc it: it is about 1 MiB) from text.
 * Returns 0, or -1 with a sentence in d->msg. text need not end in NUL
 * for the JSON reader; the CSV reader needs text[len] == 0 and writes
 * into text (it cuts lines and fields in place). */
int analyze_input_json(analyze_data *d, const char *text, size_t len);
int analyze_input_csv(analyze_data *d, char *text, const analyze_csv_options *opt);

/* Points d->in at d's variants and looks; call after a reader succeeded. */
void analyze_data_input(analyze_data *d);

#endif

/* analysis.h: from result tables to statistics and decisions.
 *
 * The bridge between the counters (results.h), the statistics library
 * (stats/) and the promotion rules (decide.h): it builds each slice's
 * per-variant sufficient statistics and cumulative daily looks, runs them
 * through the library, and attaches the reports to the results body. The
 * same decide_run call serves the results endpoint, `upshot show` and
 * automatic promotion, so all three always agree. Pure. */
#ifndef UPSHOT_ANALYSIS_H
#define UPSHOT_ANALYSIS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "experiment.h"
#include "results.h"

/* What the analysis reads of the server's configuration (docs/config.md,
 * stats.*), copied out of it: results and auto-promotion compute off the
 * event loop (engine/worker.h), where a reload may swap the config while
 * they run. An experiment's own stats.* still override these. */
typedef struct analysis_settings {
    double alpha;                 /* stats.alpha */
    double tau2;                  /* stats.tau2 */
    long min_sample;              /* stats.min_sample */
    config_correction correction; /* stats.correction */
} analysis_settings;

/* Copies cfg's analysis settings into *out. */
void analysis_settings_from(analysis_settings *out, const upshot_config *cfg);

typedef struct analysis_region_decision {
    char region[VALIDATE_KEY_MAX + 1];
    int promote_variant;         /* -1: nothing to promote */
    const char *recommendation;  /* decide_recommendation_name(), static */
    char why[200];
    /* a factorial experiment (factorial.h): how the promoted cell won,
     * "combination" (on its own against the control cell) or
     * "factor_level" (a level of `factor` on the marginal counts); NULL
     * when nothing is promoted or the experiment is not factorial */
    const char *kind;
    int factor, level;           /* of a factor_level promotion, else -1 */
    /* the circuit breaker (decide.h, decide_breaker) */
    bool breaker_tripped;
    int breaker_variant;         /* -1: no breaker test ran */
    const char *breaker_metric;  /* decide_breaker_metric_name(), static */
    char breaker_day[11];        /* day of the tripping look, "" when not tripped */
    double breaker_e_value;      /* largest one-sided mixture ratio */
    double breaker_p;            /* always-valid, Bonferroni-adjusted */
    double breaker_diff;         /* variant minus control */
    double breaker_alpha;        /* the family-wise level it was tested at */
    size_t breaker_family;       /* tests the level is shared by (Bonferroni) */
} analysis_region_decision;

typedef struct analysis_decisions {
    size_t n;
    analysis_region_decision *regions;
} analysis_decisions;

/* Runs the promotion rules over every region of t: decide_run over the
 * variants (a factorial's cells), then for a factorial experiment the
 * factor-level step of factorial.h where no cell won. 0 or -1. */
int analysis_decide(const results_table *t, const experiment *e, const analysis_settings *cfg,
                    analysis_decisions *out);
void analysis_decisions_free(analysis_decisions *d);

/* Adds "analysis" to body.total and to each of body.regions[],
 * "decisions" and "breaker" to body, and "factorial" for a factorial
 * experiment (docs/api.md). region_filter may be NULL. */
void analysis_attach(json_t *body, const results_table *t, const experiment *e,
                     const analysis_settings *cfg, const char *region_filter);

/* The cap an experiment with capping.learn would learn from t now
 * (docs/stats.md, "Capping"): mean + k sd of the revenue totals of the
 * visitors who converted, pooled over variants, regions and days
 * (randomized traffic; uncapped sums). 0 with *cap, *mean, *sd and
 * *converters set, or -1 while fewer than e->cap_min_converters have
 * converted (or their spread is undefined); *converters is set either way. */
int analysis_learn_cap(const results_table *t, const experiment *e, double *cap, double *mean,
                       double *sd, uint64_t *converters);

/* The breaker's settings and its trips, as the results body and
 * GET .../breaker show them: {"decline_rate", "aov", "alpha", "trips"}.
 * A new reference. */
json_t *analysis_breaker_json(const experiment *e, const analysis_settings *cfg);

#endif

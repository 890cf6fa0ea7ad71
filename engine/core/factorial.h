/* factorial.h: the analysis and the factor-level decision of a factorial
 * experiment (docs/promotion.md, "Factorial experiments").
 *
 * A factorial experiment's cells are its variants (experiment.h), so the
 * counters, the results table and the combination decision (decide_run
 * over the cells) are those of any experiment. What this module adds:
 *
 *   - the cells of a region (or of every region, the region as a stratum)
 *     as stats_fact_cell rows, and the models of stats/stats_factorial.h
 *     fitted on them: conversion by logistic regression, revenue per
 *     visitor by least squares with HC3 errors;
 *   - the factor-level step of the decision rule: in a region where no
 *     cell wins on its own, a factor F none of whose two-way interactions
 *     is significant there (unadjusted joint Wald p >= alpha on the goal's
 *     model) has each of its levels compared with F's control level on
 *     the marginal counts (cells pooled over the other factors: since the
 *     factors are drawn independently, a two-arm randomized comparison),
 *     with the same always-valid test decide_run applies to variants, and
 *     a Holm/BH correction over regions x factors x non-control levels;
 *   - the `factorial` object of the results body (docs/api.md).
 *
 * analysis.c calls it, so the results endpoint, `upshot show` and
 * automatic promotion run the same rule. Pure: no I/O, allocates only its
 * results. stats_init() must have run. */
#ifndef UPSHOT_FACTORIAL_H
#define UPSHOT_FACTORIAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decide.h"
#include "experiment.h"
#include "results.h"
#include "stats_factorial.h"

/* The interaction the power figure is for, when the experiment does not
 * state stats.interaction_effect: this share of the control cell's
 * observed conversion rate, as an absolute difference of rates. */
#define FACTORIAL_DEFAULT_EFFECT_SHARE 0.20
/* Power of that figure. */
#define FACTORIAL_POWER 0.80

/* One factor-level comparison in one region: level `level` of factor
 * `factor` against the factor's control level (0), each arm the sum of
 * the cells at that level (pooled over the other factors). */
typedef struct factorial_marginal {
    int region;                /* index into the results table's regions */
    int factor, level;         /* level >= 1 */
    uint64_t visitors, control_visitors; /* at the latest look */
    double rate, control_rate; /* conversion rates at the latest look (NaN: no visitors) */
    double lift, lift_lo, lift_hi; /* relative lift on the goal metric, always-valid interval */
    double p;                  /* always-valid p-value (1 when untested) */
    double p_adjusted;         /* over the family regions x factors x levels */
    bool tested;
    bool guardrail_failed;     /* more declines than the control level (unadjusted) */
    bool eligible;             /* the factor has no interaction worth keeping here */
    bool winner;               /* every rule holds */
} factorial_marginal;

/* The factor-level step in one region. */
typedef struct factorial_region {
    stats_fact_status fit_status; /* of the goal's model with interactions */
    /* Smallest unadjusted joint Wald p of the factor's two-way
     * interactions in the goal's model (NaN when the fit gave none). */
    double interaction_p[EXP_MAX_FACTORS];
    bool interaction_free[EXP_MAX_FACTORS]; /* interaction_p >= alpha */
    bool considered;           /* the combination step promoted nothing and the
                                  region passes SRM, minimum sample and breaker */
    int promote_cell;          /* -1: no factor level wins */
    int factor, level;         /* of the promotion, -1 when none */
} factorial_region;

typedef struct factorial_decision {
    size_t nregions;
    factorial_region *regions;       /* nregions, the results table's order */
    size_t nmarginals;               /* nregions x sum over factors of (levels - 1) */
    factorial_marginal *marginals;   /* region by region, factor by factor, level by level */
    size_t family_size;              /* = nmarginals: untested ones count with p = 1 */
} factorial_decision;

/* The stats_fact_cell rows of region r of t (r = -1: every region, each a
 * stratum in the table's region order), summed over days; revenue from
 * the capped sums when capped. *out is allocated (free() it), *n set.
 * 0, or -1 on no memory. */
int factorial_cells(const results_table *t, const experiment *e, int r, bool capped,
                    stats_fact_cell **out, size_t *n);

/* The design of e's models over nstrata strata; interactions as given. */
stats_fact_design factorial_design(const experiment *e, int nstrata, bool interactions);

/* Fits model on region r of t (-1: every region as strata). 0 with *out
 * filled (stats_fact_fit_free it), or -1 (too many strata for the pooled
 * fit, invalid input, no memory): *out zeroed. */
int factorial_fit(const results_table *t, const experiment *e, int r, stats_fact_model model,
                  bool interactions, bool capped, double alpha, stats_fact_fit *out);

/* The factor-level step for every region of t, after the combination
 * decision `combo` (decide_run over the cells with dc). dc->alpha is the
 * level of this step's family (the experiment's alpha less the
 * combination step's share: docs/promotion.md); gate_alpha, the whole
 * alpha, is the unadjusted level of the interaction check. Where a level
 * wins, regions[r].promote_cell is the cell to promote: the region's
 * current promotion's cell (or the control cell) with the factor set to
 * the level. 0, or -1 on no memory (out zeroed). */
int factorial_decide(const results_table *t, const experiment *e, const decide_config *dc,
                     double gate_alpha, const decide_result *combo, factorial_decision *out);
void factorial_decision_free(factorial_decision *d); /* zeroed or NULL: nothing */

/* Whether the analysis includes the two-way interactions ("interactions",
 * default true). */
bool factorial_interactions(const experiment *e);

/* The `factorial` object of the results body (docs/api.md): factors,
 * cells, models (overall, then each region or only region_filter),
 * marginals (those of fd, then the overall ones), power. The models'
 * intervals and the power use alpha, the experiment's whole level; the
 * marginals, dc's (the factor-level step's share). A new reference. */
json_t *factorial_json(const results_table *t, const experiment *e, const decide_config *dc,
                       double alpha, const factorial_decision *fd, const char *region_filter);

/* "placement=checkout", "placement=checkout:wording=benefit", "region=pl",
 * "(Intercept)" into buf. region names the strata (NULL: "stratum=N"). */
void factorial_term_name(const experiment *e, const stats_fact_term *term,
                         const results_table *t, char *buf, size_t size);

#endif

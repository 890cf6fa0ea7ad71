/* stats_analyze.h -- the whole analysis of one experiment (one region, or
 * the total over regions) in one call: what the engine's results endpoint
 * and `upshot analyze` print.
 *
 * Why one entry point: both callers must show the same numbers, computed
 * with the same defaults and the same treatment of undefined quantities.
 *
 * Arm 0 is the control; every comparison is arm i minus arm 0. Treatment
 * p-values (conversion, revenue, decline) are adjusted across the k - 1
 * treatments with the chosen method (Holm by default). Adjusting across
 * regions for promotion is the caller's job: collect the raw
 * stats_pvalue's and pass them to stats_adjust_pvalues().
 *
 * A comparison with an arm that has no visitors is undefined throughout
 * ("control has no visitors" / "treatment has no visitors"), the Bayesian
 * one included: its posterior would be the prior alone.
 *
 * No allocation when the caller passes a stats_bayes_workspace; the
 * report is a plain struct (about 30 KB) the caller owns.
 */
#ifndef UPSHOT_STATS_ANALYZE_H
#define UPSHOT_STATS_ANALYZE_H

#include "stats_adjust.h"
#include "stats_bayes.h"
#include "stats_core.h"
#include "stats_cuped.h"
#include "stats_msprt.h"
#include "stats_power.h"
#include "stats_prop.h"
#include "stats_revenue.h"
#include "stats_srm.h"

/* Arms of one analysis: an experiment's variants, or a factorial one's
 * cells (engine/core/experiment.h, EXP_MAX_VARIANTS). */
#define STATS_MAX_VARIANTS 64

/* One arm's sufficient statistics. */
typedef struct stats_variant_input {
    double weight;          /* configured traffic weight, > 0 */
    uint64_t visitors;      /* unique visitors exposed */
    uint64_t conversions;   /* unique visitors who converted, <= visitors */
    uint64_t declines;      /* unique visitors who declined, <= visitors */
    double revenue_sum;     /* sum over visitors of revenue, >= 0 */
    double revenue_sumsq;   /* sum over visitors of revenue^2 */
    /* covariate x (cart value at exposure, 0 without one); read only when
     * the experiment's has_covariate is set. The y in cov_cross is the
     * same per-visitor revenue total (capped when capping is on) that
     * revenue_sum adds up. */
    double cov_sum;         /* sum over visitors of x, >= 0 */
    double cov_sumsq;       /* sum over visitors of x^2 */
    double cov_cross;       /* sum over visitors of x * revenue, >= 0 */
} stats_variant_input;

typedef struct stats_experiment_input {
    size_t k;                            /* arms, 2..STATS_MAX_VARIANTS */
    const stats_variant_input *variants; /* k entries, [0] is control */
    bool has_declines;                   /* false: decline fields undefined */
    bool has_covariate;                  /* false: cuped undefined, "no covariate" */
    double alpha;                        /* <= 0: 0.05 */
    double tau2;                         /* mSPRT mixing variance, <= 0: default */
    stats_adjust_method adjust;          /* across treatments; default Holm */
    /* power; mde_rel == 0 leaves the power section undefined */
    double power_baseline;               /* <= 0: control's observed rate */
    double power_mde_rel;                /* relative minimum detectable effect,
                                            > -1; negative for a decrease */
    double power;                        /* <= 0: 0.8 */
    double visitors_per_day;             /* <= 0: from the looks, if >= 2 */
    /* cumulative looks for mSPRT; n_looks == 0: the totals are one look */
    size_t n_looks;
    const uint64_t *look_visitors;       /* n_looks * k, [look * k + arm] */
    const uint64_t *look_conversions;    /* same layout */
} stats_experiment_input;

typedef struct stats_variant_report {
    /* the arm alone */
    stats_value rate;                 /* conversions / visitors */
    stats_interval rate_ci;           /* Wilson, 1 - alpha */
    stats_value decline_rate;
    stats_interval decline_ci;        /* Wilson */
    stats_value revenue_per_visitor;
    stats_value revenue_sd;           /* sd of per-visitor revenue */
    stats_value aov;                  /* revenue per converter */
    stats_value aov_se;               /* delta method */
    /* against control; for arm 0 every field is undefined ("control") */
    stats_prop_result conversion;
    stats_pvalue conversion_p_adj;    /* adjusted across treatments */
    stats_prop_result decline;
    stats_pvalue decline_p_adj;
    stats_welch_result revenue;
    stats_pvalue revenue_p_adj;
    stats_cuped_result cuped;         /* CUPED revenue per visitor, within-arm theta */
    stats_pvalue cuped_p_adj;         /* adjusted across treatments */
    stats_aov_result aov_cmp;
    stats_bayes_result bayes;
    stats_msprt_result msprt;
} stats_variant_report;

typedef struct stats_power_report {
    stats_value baseline;             /* p0 used */
    stats_value target;               /* p0 (1 + mde) */
    stats_value power;                /* 1 - beta used */
    stats_value n_per_arm;            /* pooled, power.prop.test */
    stats_value n_per_arm_unpooled;
    stats_value visitors_per_day;     /* used for days_remaining */
    stats_value days_remaining;       /* from n_per_arm */
} stats_power_report;

typedef struct stats_experiment_report {
    size_t k;
    double alpha, tau2;
    stats_adjust_method adjust;
    stats_variant_report variants[STATS_MAX_VARIANTS];
    stats_chisq_result independence;  /* conversion x arm, all k arms */
    stats_srm_result srm;
    stats_power_report power;
    const char *error;                /* set when stats_analyze returns -1 */
    int error_variant;                /* arm index the error is about, or -1 */
} stats_experiment_report;

/* Checks the input; returns NULL or a static message, with *variant set to
 * the arm concerned (-1 for the experiment or the looks). */
const char *stats_validate_input(const stats_experiment_input *in, int *variant);

/* Runs everything. ws may be NULL (allocated for the call). Returns 0, or
 * -1 with out->error set when the input is invalid. Undefined quantities
 * are not errors. */
int stats_analyze(const stats_experiment_input *in, stats_experiment_report *out,
                  stats_bayes_workspace *ws);

#endif

/* decide.h: per-region promotion decisions, one pure function.
 *
 * The growth team's dashboard (`upshot show`) and upshotd's automatic
 * promotion call the same function with the same inputs, so what the
 * dashboard recommends is exactly what auto-promotion would do.
 *
 * Input: for every region of an experiment, the cumulative counts of every
 * variant at each daily look (oldest first), plus the experiment's
 * settings. Output: for every region x variant a verdict with its numbers,
 * and for every region one recommendation:
 *
 *   DECIDE_REC_PROMOTE      promote `variant` in this region
 *   DECIDE_REC_KEEP_RUNNING not conclusive yet
 *   DECIDE_REC_STOP         no effect likely: enough data for the minimum
 *                           detectable effect and nothing wins, or every
 *                           variant is significantly worse than control
 *   DECIDE_REC_CHECK_SRM    the visitor split does not match the weights;
 *                           nothing else in the region can be trusted
 *
 * A variant V is promoted in region R only when all of these hold
 * (docs/promotion.md explains each and shows the simulation that checks
 * the false-promotion rate):
 *
 *   1. SRM passes in R: the always-valid p-value of the sequential SRM
 *      test (stats_srm_sequential: a Dirichlet-multinomial Bayes factor
 *      against the configured weights, running maximum over R's daily
 *      looks) is >= DECIDE_SRM_ALPHA. Being sequential, the alarm keeps
 *      its 0.1% false-alarm rate however many looks are taken; the
 *      chi-square p of the latest look is reported next to it.
 *   2. Every arm in R has at least min_sample visitors.
 *   3. V's always-valid (mSPRT) p-value on the goal metric against control,
 *      running-minimum over R's daily looks, adjusted across the family of
 *      all regions x non-control variants (Holm by default, or
 *      Benjamini-Hochberg), is < alpha.
 *   4. V's lift on the goal metric is positive.
 *   5. No guardrail fails: V's decline rate is not higher than control's
 *      with an (unadjusted) always-valid p-value < alpha. Not adjusting
 *      makes the guardrail stricter, which is the safe side.
 *
 * When several variants qualify in one region, the one with the largest
 * lift is promoted.
 *
 * The circuit breaker (docs/promotion.md, "The circuit breaker") is a
 * guardrail that acts: region R trips when some variant V is worse than
 * control there by a one-sided always-valid test
 * (stats_msprt_log_lambda_greater), on the decline rate (higher) and,
 * when configured, on the AOV (lower). The largest mixture ratio over R's
 * looks must reach m / breaker_alpha, m being the number of breaker tests
 * of the experiment (regions x non-control variants x metrics): a
 * Bonferroni bound, so the chance that an experiment with no harmful
 * variant ever trips anywhere stays <= breaker_alpha however many daily
 * looks are taken. A tripped region gets DECIDE_REC_BREAKER (never a
 * promotion); upshotd then routes it to control.
 *
 * Pure: no I/O, no clock, no global state; allocates only the result.
 * Thread-safe as long as stats_init() has run once. */
#ifndef UPSHOT_DECIDE_H
#define UPSHOT_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SRM alarm level for the sequential test: the usual 0.001 (Kohavi et
 * al.), now holding over all looks together rather than at each one. */
#define DECIDE_SRM_ALPHA 0.001
/* Relative minimum detectable effect used for "stop: no effect likely"
 * when the caller passes mde <= 0. */
#define DECIDE_DEFAULT_MDE 0.10
/* Power used with the MDE for the sample size behind "stop". */
#define DECIDE_POWER 0.80
/* Largest needed_per_arm: a tiny control rate can ask for more visitors
 * than a count holds; the value saturates here (it also fits the JSON
 * integer the results endpoint writes). */
#define DECIDE_NEEDED_MAX ((uint64_t)INT64_MAX)
#define DECIDE_MAX_VARIANTS 16
/* A look enters the breaker's decline test only when both arms have at
 * least this many visitors in the window: below it the normal
 * approximation behind the mixture ratio is poor, and a handful of early
 * declines could trip the region. */
#define DECIDE_BREAKER_MIN_VISITORS 100
/* Likewise for the AOV test, in orders per arm: the delta-method standard
 * error of a ratio needs a few dozen orders to be near its value. */
#define DECIDE_BREAKER_MIN_ORDERS 30

typedef enum {
    DECIDE_GOAL_CONVERSION, /* converters / visitors */
    DECIDE_GOAL_REVENUE,    /* revenue per visitor */
    DECIDE_GOAL_AOV         /* average order value: revenue per order */
} decide_goal;

typedef enum {
    DECIDE_CORRECTION_HOLM, /* controls the family-wise error rate */
    DECIDE_CORRECTION_BH    /* controls the false discovery rate */
} decide_correction;

/* Cumulative counts of one variant in one region up to the end of a look
 * (the same fields as COUNTS in docs/api.md). */
typedef struct decide_counts {
    uint64_t visitors;     /* unique exposed visitors */
    uint64_t conversions;  /* visitors who converted at least once */
    uint64_t orders;       /* distinct orders */
    uint64_t decliners;    /* visitors who declined at least once */
    double revenue_sum;    /* sum over visitors of their revenue */
    double revenue_sumsq;  /* sum over visitors of their revenue squared */
} decide_counts;

/* An SRM computed by the caller (a bandit's, against the weights in force
 * in each period: stats/stats_periods.h) to use in place of the test of
 * the looks' visitors against the configured weights. */
typedef struct decide_srm {
    double p;               /* chi-square p, for context */
    double p_always_valid;  /* the sequential p the alarm is raised on */
} decide_srm;

/* One region's data. looks[d * nvariants + v] holds variant v's cumulative
 * counts through look d (d = 0 is the oldest, nlooks - 1 the latest);
 * cumulative counts never decrease. A region with nlooks == 0 has no data
 * and gets DECIDE_REC_KEEP_RUNNING. */
typedef struct decide_region {
    const char *name;            /* region key, borrowed */
    size_t nlooks;
    const decide_counts *looks;  /* nlooks * nvariants entries, borrowed */
} decide_region;

/* The experiment's settings (docs/config.md, fields stats.* and goal). */
typedef struct decide_config {
    size_t nvariants;            /* 2..DECIDE_MAX_VARIANTS */
    size_t control;              /* index of the control variant */
    const double *weights;       /* nvariants configured weights (sum 1) */
    decide_goal goal;
    bool guard_decline;          /* "decline_rate" is among the guardrails */
    double alpha;                /* significance level, e.g. 0.05 */
    double tau2;                 /* mSPRT mixing variance; <= 0: stats default */
    uint64_t min_sample;         /* visitors every arm of a region needs */
    decide_correction correction;
    double mde;                  /* relative MDE for "stop"; <= 0: default */
    /* circuit breaker (all off when zeroed) */
    bool breaker_decline;        /* trip on a higher decline rate */
    bool breaker_aov;            /* trip on a lower AOV */
    double breaker_alpha;        /* family-wise false-trip level; <= 0: alpha */
    /* Per region (the order of decide_run's regions), where the breaker's
     * window starts: it tests looks from.. minus the counts of look
     * from - 1, so that after an operator's reset it runs a fresh
     * sequential test on new data only. NULL, or 0: the whole history.
     * Borrowed. */
    const size_t *breaker_from;
    /* Per region (the order of decide_run's regions), an SRM to use in
     * place of the test of the looks' visitors against `weights` (a
     * bandit's: decide_srm), or NULL to use that test. NULL: every
     * region uses it. Borrowed. */
    const decide_srm *const *srm;
} decide_config;

/* Verdict on one variant in one region, most blocking reason first. */
typedef enum {
    DECIDE_ARM_CONTROL,          /* the control itself */
    DECIDE_ARM_NO_DATA,          /* no visitors yet */
    DECIDE_ARM_SRM,              /* region fails SRM */
    DECIDE_ARM_MIN_SAMPLE,       /* some arm of the region below min_sample */
    DECIDE_ARM_GUARDRAIL,        /* significantly more declines than control */
    DECIDE_ARM_WORSE,            /* significantly worse on the goal metric */
    DECIDE_ARM_INCONCLUSIVE,     /* adjusted p >= alpha */
    DECIDE_ARM_WINNER            /* passes every rule */
} decide_arm_verdict;

typedef struct decide_arm {
    decide_arm_verdict verdict;
    bool tested;         /* a goal-metric p-value could be computed */
    double lift;         /* relative lift on the goal at the latest look (NaN if undefined) */
    double lift_lo, lift_hi; /* always-valid interval of the relative lift (NaN if undefined) */
    double p;            /* always-valid p-value, running minimum over looks (1 if untested) */
    double p_adjusted;   /* after the correction across regions x variants */
    double decline_diff; /* variant decline rate minus control's (NaN if undefined) */
    double decline_p;    /* always-valid p-value of the decline difference (1 if untested) */
    bool guardrail_failed;
} decide_arm;

typedef enum {
    DECIDE_REC_KEEP_RUNNING,
    DECIDE_REC_PROMOTE,
    DECIDE_REC_STOP,
    DECIDE_REC_CHECK_SRM,
    DECIDE_REC_BREAKER       /* the circuit breaker tripped: route to control */
} decide_recommendation;

typedef enum {
    DECIDE_BREAKER_NONE,
    DECIDE_BREAKER_DECLINE,  /* decline rate higher than control's */
    DECIDE_BREAKER_AOV       /* AOV lower than control's */
} decide_breaker_metric;

/* The breaker of one region: the tripping test, or, when nothing trips,
 * the test closest to tripping (largest e-value), for display. */
typedef struct decide_breaker {
    bool tripped;
    int variant;             /* the variant of that test, -1 when none ran */
    decide_breaker_metric metric;
    int look;                /* first look that tripped (index into looks), -1 */
    double e_value;          /* largest one-sided mixture ratio over the window */
    double p;                /* min(1, m / e_value): always-valid, Bonferroni-adjusted */
    double diff;             /* variant minus control at the tripping (or latest) look:
                                decline rate, or AOV in the shop's currency */
    size_t family;           /* m, the number of breaker tests */
} decide_breaker;

typedef struct decide_region_result {
    decide_recommendation rec;
    int variant;            /* variant to promote (DECIDE_REC_PROMOTE), else -1 */
    double srm_p;           /* chi-square p of the latest look's visitors vs weights,
                               for context (1 if no data) */
    double srm_p_always_valid; /* sequential SRM p over the looks (1 if no data) */
    bool srm_failed;        /* srm_p_always_valid < DECIDE_SRM_ALPHA */
    bool min_sample_met;    /* every arm has >= min_sample visitors */
    uint64_t min_visitors;  /* fewest visitors of any arm at the latest look */
    uint64_t needed_per_arm;/* visitors per arm to detect the MDE (0 if unknown),
                               at most DECIDE_NEEDED_MAX */
    const char *why;        /* one sentence, static storage */
    decide_breaker breaker;
    decide_arm *arms;       /* nvariants verdicts, points into decide_result */
} decide_region_result;

typedef struct decide_result {
    size_t nregions, nvariants;
    size_t family_size;             /* tests in the multiplicity family */
    decide_region_result *regions;  /* nregions, same order as the input */
    decide_arm *arms;               /* nregions * nvariants */
} decide_result;

/* Decides every region. Returns 0 and fills out (release it with
 * decide_result_free), or -1 when cfg is invalid (nvariants out of range,
 * control out of range, alpha not in (0,1), weights NULL) or memory runs
 * out; out is then zeroed. */
int decide_run(const decide_config *cfg, const decide_region *regions,
               size_t nregions, decide_result *out);

void decide_result_free(decide_result *r); /* zeroed or NULL: nothing */

/* Stable lowercase names for JSON and logs: "keep_running", "promote",
 * "stop", "check_srm", "breaker"; "control", "no_data", "srm", "min_sample",
 * "guardrail", "worse", "inconclusive", "winner". */
const char *decide_recommendation_name(decide_recommendation r);
const char *decide_verdict_name(decide_arm_verdict v);

/* Parses "holm" / "bh" and "conversion" / "revenue" / "aov";
 * return 0, or -1 when unknown. */
int decide_parse_correction(const char *s, decide_correction *out);
int decide_parse_goal(const char *s, decide_goal *out);

/* "decline_rate", "aov", or "" for DECIDE_BREAKER_NONE. */
const char *decide_breaker_metric_name(decide_breaker_metric m);

#endif

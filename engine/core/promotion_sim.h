/* promotion_sim.h: simulated experiments run through decide_run, the same
 * function upshotd's auto-promotion and `upshot show` use.
 *
 * One simulated experiment: R regions, K variants (variant 0 is control,
 * equal weights), D days. Every day each region gets `daily_visitors`
 * visitors, split across variants by a multinomial draw with the configured
 * weights (so the split wobbles as real traffic does and the SRM check
 * sees honest noise); each variant's converters and decliners are binomial
 * draws at its true rates. After every day the cumulative counts of all
 * days so far go to decide_run, as a daily look. The outcome records, per
 * region, the first day a promotion was recommended (or -1).
 *
 * srm_shift breaks the split on purpose: the actual assignment moves that
 * share of all traffic from variant 1 to control (0.01: 1/3 - 0.01 of the
 * visitors reach variant 1 at three equal weights) while decide still
 * checks against the configured weights, as a redirect that loses some
 * treatment visitors to control would. The outcome records the first day
 * the SRM alarm was raised.
 *
 * Revenue: with order_sd = 0 every order is worth a fixed value (the goal
 * is conversion, so revenue never enters the decision); with order_sd > 0
 * each order's value is a gamma draw of mean PROMOTION_SIM_ORDER_VALUE
 * and that standard deviation, so the AOV test of the circuit breaker
 * sees real noise.
 *
 * Harm, for the circuit breaker (cfg.breaker_*): in region harm_region,
 * variant harm_variant declines decline_lift more often (relative: 0.3
 * turns 15% into 19.5%) and its orders are worth aov_drop less (relative).
 * The outcome records per region the first day the breaker tripped, and
 * which variant on which metric. A region that trips keeps being fed and
 * decided (its running maximum keeps it tripped, as upshotd keeps it), so
 * a promotion recommended before the trip still counts as one.
 *
 * Pure (no I/O; randomness only from the caller's GSL generator), so that
 * bench/sim_promotion.c and tests/unit/test_decide.c run literally the same
 * simulation.
 */
#ifndef UPSHOT_PROMOTION_SIM_H
#define UPSHOT_PROMOTION_SIM_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "decide.h"

#define PROMOTION_SIM_MAX_REGIONS 16
#define PROMOTION_SIM_MAX_DAYS 120
#define PROMOTION_SIM_ORDER_VALUE 35.0

typedef struct promotion_sim_params {
    size_t regions;          /* R */
    size_t variants;         /* K, variant 0 = control */
    size_t days;             /* D looks, one per day */
    unsigned daily_visitors; /* per region per day, all variants together */
    double base_rate;        /* control conversion rate, e.g. 0.04 */
    double decline_rate;     /* every variant's decline rate */
    int lift_region;         /* first region with a true effect, -1 for none */
    size_t lift_regions;     /* how many regions from lift_region on have it (0 = 1) */
    size_t lift_variant;     /* which variant has it */
    double lift;             /* true relative lift there, e.g. 0.10 */
    double srm_shift;        /* share of traffic moved from variant 1 to control, 0 = none */
    double order_sd;         /* sd of one order's value; 0: every order is worth the same */
    int harm_region;         /* region with a harmful variant, -1 for none */
    size_t harm_variant;     /* which variant harms there */
    double decline_lift;     /* its relative decline-rate increase, e.g. 0.30 */
    double aov_drop;         /* its relative drop in order value, e.g. 0.10 */
    decide_config cfg;       /* decision settings (weights filled by sim) */
} promotion_sim_params;

typedef struct promotion_sim_outcome {
    int first_promotion_day[PROMOTION_SIM_MAX_REGIONS]; /* -1: never promoted */
    int promoted_variant[PROMOTION_SIM_MAX_REGIONS];    /* at that first day */
    int srm_alarm[PROMOTION_SIM_MAX_REGIONS];           /* SRM check fired on some look */
    int first_srm_day[PROMOTION_SIM_MAX_REGIONS];       /* first such look, -1: never */
    int first_trip_day[PROMOTION_SIM_MAX_REGIONS];      /* breaker tripped, -1: never */
    int trip_variant[PROMOTION_SIM_MAX_REGIONS];        /* at that first day */
    decide_breaker_metric trip_metric[PROMOTION_SIM_MAX_REGIONS];
} promotion_sim_outcome;

/* Runs one experiment. Returns 0, or -1 on bad parameters / no memory. */
int promotion_sim_run(gsl_rng *rng, const promotion_sim_params *p, promotion_sim_outcome *o);

#endif

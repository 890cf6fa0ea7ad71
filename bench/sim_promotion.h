/* sim_promotion.h: simulated experiments run through decide_run, the same
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
 * Revenue is not simulated: the goal is conversion, so revenue never
 * enters the decision (revenue_sum is set to a fixed order value times
 * converters so the counts stay consistent).
 *
 * Header-only (static functions) so that bench/sim_promotion.c and
 * tests/unit/test_decide.c run literally the same simulation. Needs GSL.
 */
#ifndef UPSHOT_SIM_PROMOTION_H
#define UPSHOT_SIM_PROMOTION_H

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"

#define SIM_MAX_REGIONS 16
#define SIM_MAX_DAYS 120
#define SIM_ORDER_VALUE 35.0

typedef struct sim_params {
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
    decide_config cfg;       /* decision settings (weights filled by sim) */
} sim_params;

typedef struct sim_outcome {
    int first_promotion_day[SIM_MAX_REGIONS]; /* -1: never promoted */
    int promoted_variant[SIM_MAX_REGIONS];    /* at that first day */
    int srm_alarm[SIM_MAX_REGIONS];           /* SRM check fired on some look */
} sim_outcome;

/* Runs one experiment. Returns 0, or -1 on bad parameters / no memory. */
static int sim_run_experiment(gsl_rng *rng, const sim_params *p, sim_outcome *o)
{
    size_t R = p->regions, K = p->variants, D = p->days;
    if (R == 0 || R > SIM_MAX_REGIONS || K < 2 || K > DECIDE_MAX_VARIANTS || D == 0 ||
        D > SIM_MAX_DAYS)
        return -1;
    double weights[DECIDE_MAX_VARIANTS];
    for (size_t v = 0; v < K; v++) weights[v] = 1.0 / (double)K;
    decide_config cfg = p->cfg;
    cfg.nvariants = K;
    cfg.control = 0;
    cfg.weights = weights;

    decide_counts *looks = calloc(R * D * K, sizeof *looks);
    decide_region regs[SIM_MAX_REGIONS];
    if (looks == NULL) return -1;
    for (size_t r = 0; r < R; r++) {
        o->first_promotion_day[r] = -1;
        o->promoted_variant[r] = -1;
        o->srm_alarm[r] = 0;
        regs[r].name = "sim";
        regs[r].looks = looks + r * D * K;
    }
    int rc = 0;
    for (size_t d = 0; d < D; d++) {
        for (size_t r = 0; r < R; r++) {
            unsigned split[DECIDE_MAX_VARIANTS];
            gsl_ran_multinomial(rng, K, p->daily_visitors, weights, split);
            decide_counts *today = looks + r * D * K + d * K;
            const decide_counts *prev = d ? today - K : NULL;
            for (size_t v = 0; v < K; v++) {
                double rate = p->base_rate;
                size_t nl = p->lift_regions ? p->lift_regions : 1;
                if (p->lift_region >= 0 && r >= (size_t)p->lift_region &&
                    r < (size_t)p->lift_region + nl && v == p->lift_variant)
                    rate *= 1.0 + p->lift;
                unsigned conv = gsl_ran_binomial(rng, rate, split[v]);
                unsigned decl = gsl_ran_binomial(rng, p->decline_rate, split[v]);
                decide_counts c = prev ? prev[v] : (decide_counts){0};
                c.visitors += split[v];
                c.conversions += conv;
                c.orders += conv;
                c.decliners += decl;
                c.revenue_sum += SIM_ORDER_VALUE * conv;
                c.revenue_sumsq += SIM_ORDER_VALUE * SIM_ORDER_VALUE * conv;
                today[v] = c;
            }
            regs[r].nlooks = d + 1;
        }
        decide_result res;
        if (decide_run(&cfg, regs, R, &res) != 0) {
            rc = -1;
            break;
        }
        for (size_t r = 0; r < R; r++) {
            if (res.regions[r].srm_failed) o->srm_alarm[r] = 1;
            if (res.regions[r].rec == DECIDE_REC_PROMOTE && o->first_promotion_day[r] < 0) {
                o->first_promotion_day[r] = (int)d;
                o->promoted_variant[r] = res.regions[r].variant;
            }
        }
        decide_result_free(&res);
    }
    free(looks);
    return rc;
}

#endif

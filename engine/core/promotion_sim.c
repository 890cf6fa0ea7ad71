/* promotion_sim.c -- see promotion_sim.h. */
#include "promotion_sim.h"

#include <gsl/gsl_randist.h>
#include <stdlib.h>

int promotion_sim_run(gsl_rng *rng, const promotion_sim_params *p, promotion_sim_outcome *o)
{
    size_t R = p->regions, K = p->variants, D = p->days;
    if (R == 0 || R > PROMOTION_SIM_MAX_REGIONS || K < 2 || K > DECIDE_MAX_VARIANTS || D == 0 ||
        D > PROMOTION_SIM_MAX_DAYS)
        return -1;
    double weights[DECIDE_MAX_VARIANTS], actual[DECIDE_MAX_VARIANTS];
    for (size_t v = 0; v < K; v++) weights[v] = actual[v] = 1.0 / (double)K;
    if (!(p->srm_shift >= 0.0 && p->srm_shift < actual[1])) return -1;
    actual[0] += p->srm_shift;
    actual[1] -= p->srm_shift;
    decide_config cfg = p->cfg;
    cfg.nvariants = K;
    cfg.control = 0;
    cfg.weights = weights;

    decide_counts *looks = calloc(R * D * K, sizeof *looks);
    decide_region regs[PROMOTION_SIM_MAX_REGIONS];
    if (looks == NULL) return -1;
    for (size_t r = 0; r < R; r++) {
        o->first_promotion_day[r] = -1;
        o->promoted_variant[r] = -1;
        o->srm_alarm[r] = 0;
        o->first_srm_day[r] = -1;
        regs[r].name = "sim";
        regs[r].looks = looks + r * D * K;
    }
    int rc = 0;
    for (size_t d = 0; d < D; d++) {
        for (size_t r = 0; r < R; r++) {
            unsigned split[DECIDE_MAX_VARIANTS];
            gsl_ran_multinomial(rng, K, p->daily_visitors, actual, split);
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
                c.revenue_sum += PROMOTION_SIM_ORDER_VALUE * conv;
                c.revenue_sumsq += PROMOTION_SIM_ORDER_VALUE * PROMOTION_SIM_ORDER_VALUE * conv;
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
            if (res.regions[r].srm_failed && !o->srm_alarm[r]) {
                o->srm_alarm[r] = 1;
                o->first_srm_day[r] = (int)d;
            }
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

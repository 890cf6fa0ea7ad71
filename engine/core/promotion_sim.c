/* promotion_sim.c -- see promotion_sim.h. */
#include "promotion_sim.h"

#include <gsl/gsl_randist.h>
#include <stdbool.h>
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
    if (!(p->order_sd >= 0.0) || !(p->aov_drop >= 0.0 && p->aov_drop < 1.0) ||
        !(p->decline_lift >= 0.0) || (p->harm_region >= 0 && p->harm_variant >= K))
        return -1;
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
        o->first_trip_day[r] = -1;
        o->trip_variant[r] = -1;
        o->trip_metric[r] = DECIDE_BREAKER_NONE;
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
                bool harmed = p->harm_region >= 0 && r == (size_t)p->harm_region &&
                              v == p->harm_variant;
                double drate = p->decline_rate * (harmed ? 1.0 + p->decline_lift : 1.0);
                if (drate > 1.0) drate = 1.0;
                unsigned conv = gsl_ran_binomial(rng, rate, split[v]);
                unsigned decl = gsl_ran_binomial(rng, drate, split[v]);
                decide_counts c = prev ? prev[v] : (decide_counts){0};
                c.visitors += split[v];
                c.conversions += conv;
                c.orders += conv;
                c.decliners += decl;
                double mean = PROMOTION_SIM_ORDER_VALUE * (harmed ? 1.0 - p->aov_drop : 1.0);
                if (p->order_sd > 0) {
                    /* gamma with this mean and sd: shape (m/s)^2, scale s^2/m */
                    double shape = (mean / p->order_sd) * (mean / p->order_sd);
                    double scale = p->order_sd * p->order_sd / mean;
                    for (unsigned i = 0; i < conv; i++) {
                        double x = gsl_ran_gamma(rng, shape, scale);
                        c.revenue_sum += x;
                        c.revenue_sumsq += x * x;
                    }
                } else {
                    c.revenue_sum += mean * conv;
                    c.revenue_sumsq += mean * mean * conv;
                }
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
            const decide_breaker *b = &res.regions[r].breaker;
            if (b->tripped && o->first_trip_day[r] < 0) {
                o->first_trip_day[r] = (int)d;
                o->trip_variant[r] = b->variant;
                o->trip_metric[r] = b->metric;
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

/* decide.c: the promotion rules of decide.h, in the order a reader checks
 * them: per region SRM and minimum sample, per variant the always-valid
 * p-value of the goal metric and the guardrail, then the multiplicity
 * correction across the whole regions x variants family, then one
 * recommendation per region.
 *
 * Every number comes from the statistics library (stats/): this file only
 * combines verdicts. docs/promotion.md explains the rules and the
 * simulation (bench/sim_promotion.c) that checks them.
 */
#include "decide.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_adjust.h"
#include "stats_core.h"
#include "stats_msprt.h"
#include "stats_power.h"
#include "stats_prop.h"
#include "stats_revenue.h"
#include "stats_srm.h"

const char *decide_recommendation_name(decide_recommendation r)
{
    switch (r) {
    case DECIDE_REC_KEEP_RUNNING: return "keep_running";
    case DECIDE_REC_PROMOTE: return "promote";
    case DECIDE_REC_STOP: return "stop";
    case DECIDE_REC_CHECK_SRM: return "check_srm";
    case DECIDE_REC_BREAKER: return "breaker";
    }
    return "keep_running";
}

const char *decide_verdict_name(decide_arm_verdict v)
{
    switch (v) {
    case DECIDE_ARM_CONTROL: return "control";
    case DECIDE_ARM_NO_DATA: return "no_data";
    case DECIDE_ARM_SRM: return "srm";
    case DECIDE_ARM_MIN_SAMPLE: return "min_sample";
    case DECIDE_ARM_GUARDRAIL: return "guardrail";
    case DECIDE_ARM_WORSE: return "worse";
    case DECIDE_ARM_INCONCLUSIVE: return "inconclusive";
    case DECIDE_ARM_WINNER: return "winner";
    }
    return "inconclusive";
}

int decide_parse_correction(const char *s, decide_correction *out)
{
    if (s == NULL) return -1;
    if (strcmp(s, "holm") == 0) *out = DECIDE_CORRECTION_HOLM;
    else if (strcmp(s, "bh") == 0) *out = DECIDE_CORRECTION_BH;
    else return -1;
    return 0;
}

int decide_parse_goal(const char *s, decide_goal *out)
{
    if (s == NULL) return -1;
    if (strcmp(s, "conversion") == 0) *out = DECIDE_GOAL_CONVERSION;
    else if (strcmp(s, "revenue") == 0) *out = DECIDE_GOAL_REVENUE;
    else if (strcmp(s, "aov") == 0) *out = DECIDE_GOAL_AOV;
    else return -1;
    return 0;
}

const char *decide_breaker_metric_name(decide_breaker_metric m)
{
    switch (m) {
    case DECIDE_BREAKER_DECLINE: return "decline_rate";
    case DECIDE_BREAKER_AOV: return "aov";
    case DECIDE_BREAKER_NONE: break;
    }
    return "";
}

void decide_result_free(decide_result *r)
{
    if (r == NULL) return;
    free(r->regions);
    free(r->arms);
    memset(r, 0, sizeof *r);
}

static bool decide_config_ok(const decide_config *c)
{
    return c != NULL && c->nvariants >= 2 && c->nvariants <= DECIDE_MAX_VARIANTS &&
           c->control < c->nvariants && c->weights != NULL && c->alpha > 0 && c->alpha < 1;
}

/* Largest number of daily looks a region may have; a longer history is
 * thinned to its most recent DECIDE_MAX_LOOKS looks, which keeps the work
 * per call bounded (the mSPRT p-value is a running minimum, so dropping
 * old looks can only make it larger: the safe side). */
#define DECIDE_MAX_LOOKS 4096

/* Per-look scratch for one region: the counts of the arms in the layout
 * stats_msprt_run takes ([look * k + arm], arm 0 = control). */
typedef struct decide_scratch {
    uint64_t *n, *x, *dx; /* visitors, conversions, decliners */
    size_t cap;
} decide_scratch;

static int decide_scratch_fill(decide_scratch *s, const decide_config *cfg,
                               const decide_region *g, size_t first, size_t nlooks, size_t v)
{
    size_t need = nlooks * 2;
    if (need > s->cap) {
        uint64_t *a = realloc(s->n, need * sizeof *a);
        if (a == NULL) return -1;
        s->n = a;
        uint64_t *b = realloc(s->x, need * sizeof *b);
        if (b == NULL) return -1;
        s->x = b;
        uint64_t *c = realloc(s->dx, need * sizeof *c);
        if (c == NULL) return -1;
        s->dx = c;
        s->cap = need;
    }
    for (size_t d = 0; d < nlooks; d++) {
        const decide_counts *L = g->looks + (first + d) * cfg->nvariants;
        s->n[d * 2] = L[cfg->control].visitors;
        s->x[d * 2] = L[cfg->control].conversions;
        s->dx[d * 2] = L[cfg->control].decliners;
        s->n[d * 2 + 1] = L[v].visitors;
        s->x[d * 2 + 1] = L[v].conversions;
        s->dx[d * 2 + 1] = L[v].decliners;
    }
    return 0;
}

/* Revenue per visitor or AOV at one look: the library's comparison gives
 * the difference and its standard error; the mixture ratio of
 * stats_msprt_log_lambda turns them into an always-valid p-value. The
 * mixing variance is on the relative scale, tau = DECIDE_DEFAULT_MDE of
 * the control's value (conversion uses the library's absolute default),
 * because a revenue difference has the shop's currency as its unit. */
static void decide_value_look(decide_goal goal, const decide_counts *c, const decide_counts *t,
                              double alpha, double *diff, double *var, double *ctl_value)
{
    *diff = NAN;
    *var = NAN;
    *ctl_value = NAN;
    if (goal == DECIDE_GOAL_REVENUE) {
        stats_welch_result w;
        stats_welch((double)c->visitors, c->revenue_sum, c->revenue_sumsq, (double)t->visitors,
                    t->revenue_sum, t->revenue_sumsq, alpha, &w);
        stats_value m, v;
        stats_revenue_moments((double)c->visitors, c->revenue_sum, c->revenue_sumsq, &m, &v);
        if (w.diff.defined && w.se.defined && m.defined) {
            *diff = w.diff.value;
            *var = w.se.value * w.se.value;
            *ctl_value = m.value;
        }
    } else {
        stats_aov_result a;
        stats_aov_compare((double)c->conversions, c->revenue_sum, c->revenue_sumsq,
                          (double)t->conversions, t->revenue_sum, t->revenue_sumsq, alpha, &a);
        if (a.diff.defined && a.se0.defined && a.se1.defined && a.aov0.defined) {
            *diff = a.diff.value;
            *var = a.se0.value * a.se0.value + a.se1.value * a.se1.value;
            *ctl_value = a.aov0.value;
        }
    }
}

/* Always-valid p-value (running minimum of 1/Lambda over the looks) and
 * current relative lift for a revenue or AOV goal. */
static void decide_value_test(const decide_config *cfg, const decide_region *g, size_t first,
                              size_t v, decide_arm *arm, double *ln_p)
{
    double ln_min = 0;
    bool any = false;
    const decide_counts *last = g->looks + (g->nlooks - 1) * cfg->nvariants;
    double d_last, v_last, c_last;
    decide_value_look(cfg->goal, &last[cfg->control], &last[v], cfg->alpha, &d_last, &v_last,
                      &c_last);
    if (!(isfinite(c_last) && c_last > 0)) {
        *ln_p = 0;
        return;
    }
    double tau = DECIDE_DEFAULT_MDE * c_last;
    double tau2 = cfg->tau2 > 0 ? cfg->tau2 : tau * tau;
    for (size_t d = first; d < g->nlooks; d++) {
        const decide_counts *L = g->looks + d * cfg->nvariants;
        double diff, var, cv;
        decide_value_look(cfg->goal, &L[cfg->control], &L[v], cfg->alpha, &diff, &var, &cv);
        if (!isfinite(diff) || !(var > 0)) continue;
        double ll = stats_msprt_log_lambda(diff, var, tau2);
        if (!isfinite(ll)) continue;
        any = true;
        if (-ll < ln_min) ln_min = -ll;
    }
    arm->tested = any;
    *ln_p = any ? ln_min : 0;
    if (isfinite(d_last)) arm->lift = d_last / c_last;
}

/* The goal-metric test of variant v in region g: fills arm->tested, p,
 * lift, lift interval; *ln_p gets ln of the always-valid p (0 = p of 1). */
static int decide_goal_test(const decide_config *cfg, const decide_region *g, size_t first,
                            size_t v, decide_scratch *s, decide_arm *arm, double *ln_p)
{
    const decide_counts *last = g->looks + (g->nlooks - 1) * cfg->nvariants;
    const decide_counts *c = &last[cfg->control], *t = &last[v];
    *ln_p = 0;
    if (cfg->goal == DECIDE_GOAL_CONVERSION) {
        size_t n = g->nlooks - first;
        if (decide_scratch_fill(s, cfg, g, first, n, v) != 0) return -1;
        stats_msprt_result m;
        if (stats_msprt_run(s->n, s->x, n, 2, 1, cfg->tau2, cfg->alpha, &m) == 0 &&
            m.p.defined) {
            arm->tested = true;
            *ln_p = m.p.log10_p * M_LN10;
            stats_prop_result pr;
            if (stats_prop_compare(c->visitors, c->conversions, t->visitors, t->conversions,
                                   cfg->alpha, &pr) >= 0 && pr.lift.defined)
                arm->lift = pr.lift.value;
            /* the always-valid interval of the difference, expressed
             * relative to the control's current rate */
            double p0 = c->visitors ? (double)c->conversions / (double)c->visitors : 0;
            if (m.ci.defined && p0 > 0) {
                arm->lift_lo = m.ci.lo / p0;
                arm->lift_hi = m.ci.hi / p0;
            }
        }
    } else {
        decide_value_test(cfg, g, first, v, arm, ln_p);
    }
    arm->p = exp(*ln_p);
    return 0;
}

/* Guardrail: decline rate of v against control, always-valid, one-sided
 * in effect (only "more declines" fails). Unadjusted on purpose. */
static int decide_guardrail(const decide_config *cfg, const decide_region *g, size_t first,
                            size_t v, decide_scratch *s, decide_arm *arm)
{
    const decide_counts *last = g->looks + (g->nlooks - 1) * cfg->nvariants;
    const decide_counts *c = &last[cfg->control], *t = &last[v];
    if (c->visitors > 0 && t->visitors > 0)
        arm->decline_diff = (double)t->decliners / (double)t->visitors -
                            (double)c->decliners / (double)c->visitors;
    if (!cfg->guard_decline) return 0;
    size_t n = g->nlooks - first;
    if (decide_scratch_fill(s, cfg, g, first, n, v) != 0) return -1;
    stats_msprt_result m;
    if (stats_msprt_run(s->n, s->dx, n, 2, 1, cfg->tau2, cfg->alpha, &m) == 0 && m.p.defined) {
        arm->decline_p = m.p.p;
        arm->guardrail_failed = m.p.p < cfg->alpha && arm->decline_diff > 0;
    }
    return 0;
}

/* ---- the circuit breaker ------------------------------------------------ */

/* Counts of a look within the breaker's window: at minus base (base NULL:
 * at itself). Counts are cumulative, so the differences are the window's
 * own sufficient statistics; a float sum that rounds below zero is 0. */
static decide_counts breaker_window(const decide_counts *at, const decide_counts *base)
{
    if (base == NULL) return *at;
#define SUB(f) (at->f >= base->f ? at->f - base->f : 0)
    decide_counts w = {.visitors = SUB(visitors), .conversions = SUB(conversions),
                       .orders = SUB(orders), .decliners = SUB(decliners)};
#undef SUB
    w.revenue_sum = fmax(0, at->revenue_sum - base->revenue_sum);
    w.revenue_sumsq = fmax(0, at->revenue_sumsq - base->revenue_sumsq);
    return w;
}

/* ln Lambda+ of one look for "t is worse than c" on metric m, with *diff
 * (t minus c); NaN when the look does not qualify. For the AOV, *tau2 is
 * fixed at the first qualifying look (10% of the control's AOV then, as
 * the goal tests do: the difference is in the shop's currency) and kept
 * for the later looks, so one mixture serves the whole window. */
static double breaker_look(decide_breaker_metric m, const decide_counts *c,
                           const decide_counts *t, double tau2_decline, double *tau2_aov,
                           double *diff)
{
    if (m == DECIDE_BREAKER_DECLINE) {
        if (c->visitors < DECIDE_BREAKER_MIN_VISITORS ||
            t->visitors < DECIDE_BREAKER_MIN_VISITORS || c->decliners > c->visitors ||
            t->decliners > t->visitors)
            return NAN;
        double n0 = (double)c->visitors, n1 = (double)t->visitors;
        double p0 = (double)c->decliners / n0, p1 = (double)t->decliners / n1;
        double v = p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1;
        if (!(v > 0)) return NAN;
        *diff = p1 - p0;
        return stats_msprt_log_lambda_greater(p1 - p0, v,
                                              tau2_decline > 0 ? tau2_decline
                                                               : STATS_MSPRT_DEFAULT_TAU2);
    }
    if (c->conversions < DECIDE_BREAKER_MIN_ORDERS || t->conversions < DECIDE_BREAKER_MIN_ORDERS)
        return NAN;
    stats_aov_result a;
    stats_aov_compare((double)c->conversions, c->revenue_sum, c->revenue_sumsq,
                      (double)t->conversions, t->revenue_sum, t->revenue_sumsq, 0.05, &a);
    if (!(a.diff.defined && a.se0.defined && a.se1.defined && a.aov0.defined)) return NAN;
    double v = a.se0.value * a.se0.value + a.se1.value * a.se1.value;
    if (!(v > 0) || !(a.aov0.value > 0)) return NAN;
    if (!(*tau2_aov > 0)) {
        double tau = DECIDE_DEFAULT_MDE * a.aov0.value;
        *tau2_aov = tau * tau;
    }
    *diff = a.diff.value;
    /* "lower AOV" is "greater" for the control minus the variant */
    return stats_msprt_log_lambda_greater(-a.diff.value, v, *tau2_aov);
}

/* The breaker of region g over looks from..nlooks-1: every non-control
 * variant on every enabled metric; the earliest trip wins (then the
 * largest ratio), else the test closest to tripping is reported. */
static void decide_breaker_region(const decide_config *cfg, const decide_region *g,
                                  size_t window, size_t from, size_t family, decide_breaker *b)
{
    double alpha = cfg->breaker_alpha > 0 ? cfg->breaker_alpha : cfg->alpha;
    double threshold = log((double)family / alpha);
    size_t K = cfg->nvariants;
    const decide_counts *base = window > 0 && window <= g->nlooks
                                    ? g->looks + (window - 1) * K
                                    : NULL;
    double best_ll = 0;
    for (int mi = 0; mi < 2; mi++) {
        decide_breaker_metric m = mi == 0 ? DECIDE_BREAKER_DECLINE : DECIDE_BREAKER_AOV;
        if ((m == DECIDE_BREAKER_DECLINE && !cfg->breaker_decline) ||
            (m == DECIDE_BREAKER_AOV && !cfg->breaker_aov))
            continue;
        for (size_t v = 0; v < K; v++) {
            if (v == cfg->control) continue;
            double max_ll = -INFINITY, tau2_aov = 0, last_diff = NAN, trip_diff = NAN;
            int trip = -1;
            for (size_t d = from; d < g->nlooks; d++) {
                const decide_counts *L = g->looks + d * K;
                decide_counts c =
                    breaker_window(&L[cfg->control], base ? &base[cfg->control] : NULL);
                decide_counts t = breaker_window(&L[v], base ? &base[v] : NULL);
                double diff = NAN;
                double ll = breaker_look(m, &c, &t, cfg->tau2, &tau2_aov, &diff);
                if (!isfinite(ll)) continue;
                last_diff = diff;
                if (ll > max_ll) max_ll = ll;
                if (trip < 0 && ll >= threshold) {
                    trip = (int)d;
                    trip_diff = diff;
                }
            }
            if (!isfinite(max_ll)) continue;
            bool better = trip >= 0 ? !b->tripped || trip < b->look ||
                                          (trip == b->look && max_ll > best_ll)
                                    : !b->tripped && (b->variant < 0 || max_ll > best_ll);
            if (!better) continue;
            best_ll = max_ll;
            b->tripped = trip >= 0;
            b->variant = (int)v;
            b->metric = m;
            b->look = trip;
            b->diff = trip >= 0 ? trip_diff : last_diff;
        }
    }
    if (b->variant >= 0) {
        b->e_value = exp(fmax(best_ll, 0));
        /* m / e computed in logs: e may exceed the range of a double */
        b->p = fmin(1, exp(log((double)family) - fmax(best_ll, 0)));
    }
}

int decide_run(const decide_config *cfg, const decide_region *regions, size_t nregions,
               decide_result *out)
{
    memset(out, 0, sizeof *out);
    if (!decide_config_ok(cfg) || (nregions > 0 && regions == NULL)) return -1;
    size_t K = cfg->nvariants;
    size_t R = nregions;
    out->nregions = R;
    out->nvariants = K;
    out->regions = calloc(R ? R : 1, sizeof *out->regions);
    size_t narms = R * K;
    out->arms = calloc(narms > 0 ? narms : 1, sizeof *out->arms);
    size_t m = R * (K - 1);
    double *ln_p = calloc(m ? m : 1, sizeof *ln_p);
    size_t *order = calloc(m ? m : 1, sizeof *order);
    decide_scratch s = {0};
    if (out->regions == NULL || out->arms == NULL || ln_p == NULL || order == NULL) goto fail;
    out->family_size = m;
    size_t breaker_family = m * ((cfg->breaker_decline ? 1 : 0) + (cfg->breaker_aov ? 1 : 0));

    /* pass 1: per region and arm, the raw tests */
    size_t fi = 0;
    for (size_t r = 0; r < R; r++) {
        const decide_region *g = &regions[r];
        decide_region_result *rr = &out->regions[r];
        rr->arms = out->arms + r * K;
        rr->variant = -1;
        rr->srm_p = 1;
        rr->srm_p_always_valid = 1;
        rr->rec = DECIDE_REC_KEEP_RUNNING;
        rr->why = "no data yet";
        rr->breaker = (decide_breaker){.variant = -1, .look = -1, .e_value = 1, .p = 1,
                                       .diff = NAN, .family = breaker_family};
        for (size_t v = 0; v < K; v++) {
            decide_arm *a = &rr->arms[v];
            a->verdict = v == cfg->control ? DECIDE_ARM_CONTROL : DECIDE_ARM_NO_DATA;
            a->lift = a->lift_lo = a->lift_hi = a->decline_diff = NAN;
            a->p = a->p_adjusted = a->decline_p = 1;
        }
        size_t first = g->nlooks > DECIDE_MAX_LOOKS ? g->nlooks - DECIDE_MAX_LOOKS : 0;
        if (g->nlooks == 0 || g->looks == NULL) {
            for (size_t v = 0; v < K; v++)
                if (v != cfg->control) ln_p[fi++] = 0;
            continue;
        }
        const decide_counts *last = g->looks + (g->nlooks - 1) * K;
        uint64_t n[DECIDE_MAX_VARIANTS];
        uint64_t minv = UINT64_MAX;
        for (size_t v = 0; v < K; v++) {
            n[v] = last[v].visitors;
            if (n[v] < minv) minv = n[v];
        }
        rr->min_visitors = minv;
        rr->min_sample_met = minv >= cfg->min_sample;
        stats_srm_result srm;
        if (stats_srm(n, cfg->weights, K, DECIDE_SRM_ALPHA, &srm) == 0 && srm.p.defined)
            rr->srm_p = srm.p.p;  /* for context; the alarm is sequential */
        /* the sequential test: running maximum of ln BF over the looks
         * (what stats_srm_sequential computes, without copying the looks) */
        double max_lbf = 0;
        for (size_t d = first; d < g->nlooks; d++) {
            uint64_t nd[DECIDE_MAX_VARIANTS];
            for (size_t v = 0; v < K; v++) nd[v] = g->looks[d * K + v].visitors;
            double l = stats_srm_log_bf(nd, cfg->weights, K, STATS_SRM_SEQ_CONCENTRATION);
            if (l > max_lbf) max_lbf = l;
        }
        rr->srm_p_always_valid = exp(-max_lbf);
        if (cfg->srm && cfg->srm[r]) { /* the caller's (a bandit's: decide.h, decide_srm) */
            rr->srm_p = cfg->srm[r]->p;
            rr->srm_p_always_valid = cfg->srm[r]->p_always_valid;
        }
        rr->srm_failed = rr->srm_p_always_valid < DECIDE_SRM_ALPHA;
        const decide_counts *ctl = &last[cfg->control];
        if (ctl->visitors > 0) {
            double p0 = (double)ctl->conversions / (double)ctl->visitors;
            double mde = cfg->mde > 0 ? cfg->mde : DECIDE_DEFAULT_MDE;
            stats_value need = stats_power_n_per_arm(p0, p0 * (1 + mde), cfg->alpha,
                                                     DECIDE_POWER, true);
            /* converting a double beyond the range is undefined: saturate */
            if (need.defined)
                rr->needed_per_arm = need.value >= (double)DECIDE_NEEDED_MAX
                                         ? DECIDE_NEEDED_MAX
                                         : (uint64_t)need.value;
        }
        if (breaker_family > 0) {
            size_t window = cfg->breaker_from ? cfg->breaker_from[r] : 0;
            decide_breaker_region(cfg, g, window, first > window ? first : window,
                                  breaker_family, &rr->breaker);
        }
        for (size_t v = 0; v < K; v++) {
            if (v == cfg->control) continue;
            decide_arm *a = &rr->arms[v];
            double lp = 0;
            if (decide_goal_test(cfg, g, first, v, &s, a, &lp) != 0 ||
                decide_guardrail(cfg, g, first, v, &s, a) != 0)
                goto fail;
            ln_p[fi++] = lp;
        }
    }

    /* pass 2: one correction over the whole family (untested pairs count
     * with p = 1, so the family does not shrink while data trickles in) */
    if (m > 0 && stats_adjust_log(cfg->correction == DECIDE_CORRECTION_BH ? STATS_ADJUST_BH
                                                                           : STATS_ADJUST_HOLM,
                                  ln_p, m, ln_p, order) != 0)
        goto fail;

    /* pass 3: verdicts and recommendations */
    fi = 0;
    for (size_t r = 0; r < R; r++) {
        decide_region_result *rr = &out->regions[r];
        bool any_data = regions[r].nlooks > 0 && regions[r].looks != NULL;
        double best_lift = -INFINITY;
        size_t worse = 0, tested = 0;
        bool all_powered = rr->needed_per_arm > 0 && rr->min_visitors >= rr->needed_per_arm;
        for (size_t v = 0; v < K; v++) {
            if (v == cfg->control) continue;
            decide_arm *a = &rr->arms[v];
            a->p_adjusted = exp(ln_p[fi++]);
            if (!any_data || !a->tested) {
                a->verdict = DECIDE_ARM_NO_DATA;
                continue;
            }
            tested++;
            bool significant = a->p_adjusted < cfg->alpha;
            if (rr->srm_failed) a->verdict = DECIDE_ARM_SRM;
            else if (!rr->min_sample_met) a->verdict = DECIDE_ARM_MIN_SAMPLE;
            else if (a->guardrail_failed) a->verdict = DECIDE_ARM_GUARDRAIL;
            else if (significant && a->lift < 0) a->verdict = DECIDE_ARM_WORSE;
            else if (significant && a->lift > 0) a->verdict = DECIDE_ARM_WINNER;
            else a->verdict = DECIDE_ARM_INCONCLUSIVE;
            if (a->verdict == DECIDE_ARM_WORSE) worse++;
            if (a->verdict == DECIDE_ARM_WINNER && a->lift > best_lift) {
                best_lift = a->lift;
                rr->variant = (int)v;
            }
        }
        if (rr->breaker.tripped) {
            rr->rec = DECIDE_REC_BREAKER;
            rr->variant = -1;
            rr->why = rr->breaker.metric == DECIDE_BREAKER_AOV
                          ? "circuit breaker: a variant's AOV is significantly lower than control's"
                          : "circuit breaker: a variant's decline rate is significantly higher "
                            "than control's";
        } else if (!any_data || tested == 0) {
            rr->rec = DECIDE_REC_KEEP_RUNNING;
            rr->why = "not enough data to compare yet";
        } else if (rr->srm_failed) {
            rr->rec = DECIDE_REC_CHECK_SRM;
            rr->why = "visitors per variant do not match the configured weights";
        } else if (!rr->min_sample_met) {
            rr->rec = DECIDE_REC_KEEP_RUNNING;
            rr->why = "an arm is below the minimum sample";
        } else if (rr->variant >= 0) {
            rr->rec = DECIDE_REC_PROMOTE;
            rr->why = "significant positive lift on the goal, guardrails hold";
        } else if (worse == tested) {
            rr->rec = DECIDE_REC_STOP;
            rr->why = "every variant is significantly worse than control";
        } else if (all_powered) {
            rr->rec = DECIDE_REC_STOP;
            rr->why = "enough visitors for the minimum effect, and no winner";
        } else {
            rr->rec = DECIDE_REC_KEEP_RUNNING;
            rr->why = "no variant is significant yet";
        }
    }
    free(ln_p);
    free(order);
    free(s.n);
    free(s.x);
    free(s.dx);
    return 0;

fail:
    free(ln_p);
    free(order);
    free(s.n);
    free(s.x);
    free(s.dx);
    decide_result_free(out);
    return -1;
}

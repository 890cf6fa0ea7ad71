/* analysis.c: statistics and decisions for result tables (see analysis.h). */
#include "analysis.h"

#include "bandit_inference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "stats_analyze.h"
#include "report_json.h"

void analysis_settings_from(analysis_settings *out, const upshot_config *cfg)
{
    *out = (analysis_settings){.alpha = cfg->alpha, .tau2 = cfg->tau2,
                               .min_sample = cfg->min_sample, .correction = cfg->correction};
}

/* Whether revenue is tested and decided on the capped sums (results.h). */
static bool capping_on(const results_table *t, const experiment *e)
{
    return results_capping_applied(t, e);
}

static decide_counts to_decide(const results_counts *c, bool capped)
{
    return (decide_counts){.visitors = c->visitors, .conversions = c->conversions,
                           .orders = c->orders, .decliners = c->decliners,
                           .revenue_sum = capped ? c->capped_sum : c->revenue_sum,
                           .revenue_sumsq = capped ? c->capped_sumsq : c->revenue_sumsq};
}

/* Cumulative looks of region r: looks[d * k + v] for d = 0..ndays-1. */
static decide_counts *region_looks(const results_table *t, int r, bool capped)
{
    size_t k = (size_t)t->nvariants, nd = (size_t)t->ndays;
    decide_counts *looks = calloc(nd * k + 1, sizeof *looks);
    results_counts *acc = calloc(k, sizeof *acc);
    if (!looks || !acc) {
        free(looks);
        free(acc);
        return NULL;
    }
    for (size_t d = 0; d < nd; d++)
        for (size_t v = 0; v < k; v++) {
            const results_counts *c = &t->cells[((size_t)r * nd + d) * k + v];
            acc[v].visitors += c->visitors;
            acc[v].conversions += c->conversions;
            acc[v].orders += c->orders;
            acc[v].decliners += c->decliners;
            acc[v].revenue_sum += c->revenue_sum;
            acc[v].revenue_sumsq += c->revenue_sumsq;
            acc[v].capped_sum += c->capped_sum;
            acc[v].capped_sumsq += c->capped_sumsq;
            looks[d * k + v] = to_decide(&acc[v], capped);
        }
    free(acc);
    return looks;
}

static void fill_decide_config(decide_config *dc, double *weights, const experiment *e,
                               const analysis_settings *cfg)
{
    for (int v = 0; v < e->nvariants; v++)
        weights[v] = e->variants[v].weight;
    json_t *guards = json_object_get(e->def, "guardrails");
    bool guard_decline = !guards; /* default: ["decline_rate"] */
    size_t i;
    json_t *g;
    json_array_foreach(guards, i, g) {
        guard_decline |= strcmp(json_string_value(g), "decline_rate") == 0;
    }
    *dc = (decide_config){
        .nvariants = (size_t)e->nvariants,
        .control = (size_t)e->control,
        .weights = weights,
        .goal = e->goal == EXP_GOAL_REVENUE ? DECIDE_GOAL_REVENUE
                : e->goal == EXP_GOAL_AOV   ? DECIDE_GOAL_AOV
                                            : DECIDE_GOAL_CONVERSION,
        .guard_decline = guard_decline,
        .alpha = e->alpha > 0 ? e->alpha : cfg->alpha,
        .tau2 = e->tau2 > 0 ? e->tau2 : cfg->tau2,
        .min_sample = (uint64_t)(e->min_sample >= 0 ? e->min_sample : cfg->min_sample),
        .correction = cfg->correction == CORRECTION_BH ? DECIDE_CORRECTION_BH
                                                       : DECIDE_CORRECTION_HOLM,
        .mde = 0,
        .breaker_decline = e->breaker_decline,
        .breaker_aov = e->breaker_aov,
        .breaker_alpha = e->breaker_alpha > 0 ? e->breaker_alpha
                                              : (e->alpha > 0 ? e->alpha : cfg->alpha),
    };
}

/* The breaker's first look in region r: after a reset it tests only the
 * days after the reset's day (that day's counts are its baseline), so the
 * evidence that tripped it before is not counted again. */
static size_t breaker_from(const results_table *t, const experiment *e, int r)
{
    const char *day = experiment_breaker_reset_day(e, t->regions[r]);
    size_t from = 0;
    if (day)
        while (from < (size_t)t->ndays && strcmp(t->days[from], day) <= 0)
            from++;
    return from;
}

/* A bandit's region decides on one look of period-weighted equivalent
 * counts and on the SRM against the weights in force (bandit_inference.h,
 * docs/promotion.md "Bandit experiments"), when the region has period
 * data. srm points into srms[r]. */
static void bandit_region_inputs(const results_table *t, const experiment *e, int r,
                                 decide_region *g, decide_srm *srm, const decide_srm **use,
                                 size_t *from)
{
    decide_counts *look = calloc((size_t)t->nvariants, sizeof *look);
    if (!look || bandit_decide_inputs(t, e, r, capping_on(t, e), look, srm) != 0) {
        free(look);
        return;
    }
    free((void *)g->looks);
    g->looks = look;
    g->nlooks = 1;
    *use = srm;
    *from = 0;
}

/* Runs decide over every region of t; regions[] and looks are returned
 * for the caller to free. */
static int run_decide(const results_table *t, const experiment *e, const analysis_settings *cfg,
                      decide_result *res, decide_region **regions_out)
{
    double weights[EXP_MAX_VARIANTS];
    decide_config dc;
    fill_decide_config(&dc, weights, e, cfg);
    decide_region *regions = calloc((size_t)t->nregions + 1, sizeof *regions);
    size_t *from = calloc((size_t)t->nregions + 1, sizeof *from);
    /* a bandit's SRMs, and the per-region pointers decide reads them by */
    decide_srm *srms = calloc((size_t)t->nregions + 1, sizeof *srms);
    const decide_srm **use = calloc((size_t)t->nregions + 1, sizeof *use);
    if (!regions || !from || !srms || !use) {
        free(srms);
        free(use);
        free(regions);
        free(from);
        *regions_out = NULL;
        return -1;
    }
    dc.breaker_from = from;
    for (int r = 0; r < t->nregions; r++) {
        regions[r].name = t->regions[r];
        regions[r].nlooks = (size_t)t->ndays;
        regions[r].looks = region_looks(t, r, capping_on(t, e));
        from[r] = breaker_from(t, e, r);
        if (!regions[r].looks)
            regions[r].nlooks = 0;
        if (experiment_is_bandit(e))
            bandit_region_inputs(t, e, r, &regions[r], &srms[r], &use[r], &from[r]);
    }
    dc.srm = use;
    int rc = decide_run(&dc, regions, (size_t)t->nregions, res);
    free(srms);
    free(use);
    free(from);
    *regions_out = regions;
    return rc;
}

static void free_regions(decide_region *regions, int n)
{
    for (int r = 0; r < n && regions; r++)
        free((void *)regions[r].looks);
    free(regions);
}

int analysis_decide(const results_table *t, const experiment *e, const analysis_settings *cfg,
                    analysis_decisions *out)
{
    memset(out, 0, sizeof *out);
    decide_result res;
    decide_region *regions = NULL;
    if (run_decide(t, e, cfg, &res, &regions) != 0) {
        free_regions(regions, t->nregions);
        return -1;
    }
    out->regions = calloc((size_t)t->nregions + 1, sizeof *out->regions);
    if (!out->regions) {
        decide_result_free(&res);
        free_regions(regions, t->nregions);
        return -1;
    }
    out->n = (size_t)t->nregions;
    for (int r = 0; r < t->nregions; r++) {
        analysis_region_decision *ad = &out->regions[r];
        snprintf(ad->region, sizeof ad->region, "%s", t->regions[r]);
        ad->promote_variant = res.regions[r].rec == DECIDE_REC_PROMOTE ? res.regions[r].variant : -1;
        ad->recommendation = decide_recommendation_name(res.regions[r].rec);
        snprintf(ad->why, sizeof ad->why, "%s", res.regions[r].why ? res.regions[r].why : "");
        const decide_breaker *b = &res.regions[r].breaker;
        ad->breaker_tripped = b->tripped;
        ad->breaker_variant = b->variant;
        ad->breaker_metric = decide_breaker_metric_name(b->metric);
        if (b->tripped && b->look >= 0 && b->look < t->ndays)
            snprintf(ad->breaker_day, sizeof ad->breaker_day, "%s", t->days[b->look]);
        ad->breaker_e_value = b->e_value;
        ad->breaker_p = b->p;
        ad->breaker_diff = b->diff;
        ad->breaker_family = b->family;
        ad->breaker_alpha = e->breaker_alpha > 0 ? e->breaker_alpha
                                                 : (e->alpha > 0 ? e->alpha : cfg->alpha);
    }
    decide_result_free(&res);
    free_regions(regions, t->nregions);
    return 0;
}

void analysis_decisions_free(analysis_decisions *d)
{
    free(d->regions);
    memset(d, 0, sizeof *d);
}

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *decisions_json(const results_table *t, const experiment *e,
                              const analysis_settings *cfg, const char *region_filter)
{
    decide_result res;
    decide_region *regions = NULL;
    if (run_decide(t, e, cfg, &res, &regions) != 0) {
        free_regions(regions, t->nregions);
        return json_null();
    }
    json_t *out = json_array();
    for (int r = 0; r < t->nregions; r++) {
        if (region_filter && strcmp(region_filter, t->regions[r]) != 0)
            continue;
        const decide_region_result *rr = &res.regions[r];
        json_t *arms = json_array();
        for (int v = 0; v < e->nvariants; v++) {
            const decide_arm *a = &rr->arms[v];
            json_array_append_new(arms, json_pack(
                "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "variant", e->variants[v].key,
                "verdict", decide_verdict_name(a->verdict), "lift", num_or_null(a->lift),
                "lift_lo", num_or_null(a->lift_lo), "lift_hi", num_or_null(a->lift_hi),
                "p_always_valid", num_or_null(a->p), "p_adjusted", num_or_null(a->p_adjusted),
                "decline_p", num_or_null(a->decline_p), "guardrail_failed", a->guardrail_failed));
        }
        const decide_breaker *b = &rr->breaker;
        const exp_breaker_trip *trip = experiment_breaker_trip(e, t->regions[r]);
        json_t *breaker = json_pack(
            "{s:b, s:b, s:o, s:s, s:o, s:o, s:o, s:o, s:I}", "active", trip != NULL, "tripped",
            b->tripped, "variant",
            b->variant >= 0 ? json_string(e->variants[b->variant].key) : json_null(), "metric",
            decide_breaker_metric_name(b->metric), "day",
            b->tripped && b->look >= 0 && b->look < t->ndays ? json_string(t->days[b->look])
                                                             : json_null(),
            "e_value", num_or_null(b->e_value), "p", num_or_null(b->p), "diff",
            num_or_null(b->diff), "family", (json_int_t)b->family);
        json_array_append_new(out, json_pack(
            "{s:s, s:s, s:o, s:s, s:o, s:o, s:b, s:b, s:I, s:I, s:o, s:o}", "region", t->regions[r],
            "recommendation", decide_recommendation_name(rr->rec), "variant",
            rr->variant >= 0 ? json_string(e->variants[rr->variant].key) : json_null(), "why",
            rr->why ? rr->why : "", "srm_p", num_or_null(rr->srm_p),
            "srm_p_always_valid", num_or_null(rr->srm_p_always_valid), "srm_failed", rr->srm_failed,
            "min_sample_met", rr->min_sample_met, "min_visitors", (json_int_t)rr->min_visitors,
            "needed_per_arm", (json_int_t)rr->needed_per_arm, "arms", arms, "breaker", breaker));
    }
    double weights[EXP_MAX_VARIANTS];
    decide_config dc;
    fill_decide_config(&dc, weights, e, cfg);
    json_t *root = json_pack("{s:s, s:I, s:f, s:f, s:I, s:o}", "correction",
                             cfg->correction == CORRECTION_BH ? "bh" : "holm", "family_size",
                             (json_int_t)res.family_size, "alpha", dc.alpha, "tau2", dc.tau2,
                             "min_sample", (json_int_t)dc.min_sample, "regions", out);
    decide_result_free(&res);
    free_regions(regions, t->nregions);
    return root;
}

json_t *analysis_breaker_json(const experiment *e, const analysis_settings *cfg)
{
    double weights[EXP_MAX_VARIANTS];
    decide_config dc;
    fill_decide_config(&dc, weights, e, cfg);
    json_t *trips = json_object_get(e->def, "breaker_trips");
    return json_pack("{s:b, s:b, s:f, s:o}", "decline_rate", e->breaker_decline, "aov",
                     e->breaker_aov, "alpha", dc.breaker_alpha, "trips",
                     trips ? json_incref(trips) : json_object());
}

/* The statistics report of one slice (region r, or all regions when
 * r < 0), with the control moved first as the library expects. */
static json_t *slice_analysis(const results_table *t, const experiment *e,
                              const analysis_settings *cfg, int r)
{
    size_t k = (size_t)t->nvariants, nd = (size_t)t->ndays;
    int order[EXP_MAX_VARIANTS];
    const char *names[EXP_MAX_VARIANTS + 1];
    order[0] = e->control;
    for (int v = 0, j = 1; v < e->nvariants; v++)
        if (v != e->control)
            order[j++] = v;
    for (size_t j = 0; j < k; j++)
        names[j] = e->variants[order[j]].key;
    names[k] = NULL;

    results_counts *sum = calloc(k, sizeof *sum);
    uint64_t *look_n = calloc(nd * k + 1, sizeof *look_n);
    uint64_t *look_x = calloc(nd * k + 1, sizeof *look_x);
    stats_experiment_report *rep = malloc(sizeof *rep);
    stats_variant_input in[EXP_MAX_VARIANTS];
    json_t *out = NULL;
    if (!sum || !look_n || !look_x || !rep)
        goto done;
    for (size_t d = 0; d < nd; d++) {
        results_sum(t, r, (int)d, sum);
        for (size_t j = 0; j < k; j++) {
            look_n[d * k + j] = sum[order[j]].visitors;
            look_x[d * k + j] = sum[order[j]].conversions;
        }
    }
    results_sum(t, r, (int)nd - 1, sum);
    bool capped = capping_on(t, e), any_cart = false;
    for (size_t j = 0; j < k; j++) {
        const results_counts *c = &sum[order[j]];
        in[j] = (stats_variant_input){
            .weight = e->variants[order[j]].weight, .visitors = c->visitors,
            .conversions = c->conversions, .declines = c->decliners,
            .revenue_sum = capped ? c->capped_sum : c->revenue_sum,
            .revenue_sumsq = capped ? c->capped_sumsq : c->revenue_sumsq,
            .cov_sum = c->covariate_sum, .cov_sumsq = c->covariate_sumsq,
            .cov_cross = capped ? c->capped_cross_sum : c->cross_sum};
        /* Sums of increments (a refund subtracts) can end a rounding below
         * the true 0: within 1e-9 of the scale of the sums, they are 0. */
        if (in[j].cov_cross < 0 &&
            in[j].cov_cross > -1e-9 * sqrt(in[j].cov_sumsq * in[j].revenue_sumsq) - 1e-9)
            in[j].cov_cross = 0;
        any_cart |= c->covariate_visitors > 0;
    }
    stats_experiment_input input = {
        .k = k, .variants = in, .has_declines = true,
        .alpha = e->alpha > 0 ? e->alpha : cfg->alpha,
        .tau2 = e->tau2 > 0 ? e->tau2 : cfg->tau2,
        .adjust = cfg->correction == CORRECTION_BH ? STATS_ADJUST_BH : STATS_ADJUST_HOLM,
        .power_mde_rel = DECIDE_DEFAULT_MDE, .power = DECIDE_POWER,
        .n_looks = nd, .look_visitors = look_n, .look_conversions = look_x,
        /* CUPED on the cart value once any visitor of the slice was exposed
         * with one (the others count x = 0: docs/stats.md) */
        .has_covariate = any_cart,
    };
    if (stats_analyze(&input, rep, NULL) != 0) {
        out = json_pack("{s:s}", "error", rep->error ? rep->error : "invalid input");
        goto done;
    }
    out = report_json_report(rep, names);
    if (capped) {
        double un[EXP_MAX_VARIANTS], us[EXP_MAX_VARIANTS], uq[EXP_MAX_VARIANTS];
        for (size_t j = 0; j < k; j++) {
            un[j] = (double)sum[order[j]].visitors;
            us[j] = sum[order[j]].revenue_sum;
            uq[j] = sum[order[j]].revenue_sumsq;
        }
        report_json_add_uncapped(out, un, us, uq, k, input.alpha);
    }
done:
    free(sum);
    free(look_n);
    free(look_x);
    free(rep);
    return out ? out : json_null();
}

void analysis_attach(json_t *body, const results_table *t, const experiment *e,
                     const analysis_settings *cfg, const char *region_filter)
{
    json_object_set_new(json_object_get(body, "total"), "analysis", slice_analysis(t, e, cfg, -1));
    size_t i;
    json_t *reg;
    json_array_foreach(json_object_get(body, "regions"), i, reg) {
        int r = results_region_index(t, json_string_value(json_object_get(reg, "region")));
        json_object_set_new(reg, "analysis", r >= 0 ? slice_analysis(t, e, cfg, r) : json_null());
    }
    json_object_set_new(body, "decisions", decisions_json(t, e, cfg, region_filter));
    json_object_set_new(body, "breaker", analysis_breaker_json(e, cfg));
    if (experiment_is_bandit(e))
        json_object_set_new(body, "bandit",
                            bandit_results_json(t, e, cfg, capping_on(t, e), region_filter));
}

int analysis_learn_cap(const results_table *t, const experiment *e, double *cap, double *mean,
                       double *sd, uint64_t *converters)
{
    uint64_t c = 0;
    double sum = 0, sumsq = 0;
    for (int r = 0; r < t->nregions; r++)
        for (int d = 0; d < t->ndays; d++)
            for (int v = 0; v < t->nvariants; v++) {
                const results_counts *x =
                    &t->cells[((size_t)r * (size_t)t->ndays + (size_t)d) * (size_t)t->nvariants +
                              (size_t)v];
                c += x->conversions;
                sum += x->revenue_sum;
                sumsq += x->revenue_sumsq;
            }
    *converters = c;
    /* Non-converters add 0 to both sums, so these are the converters'. */
    stats_value v = stats_revenue_learned_cap((double)c, sum, sumsq, e->cap_k,
                                              (double)e->cap_min_converters);
    if (!v.defined || !(v.value > 0)) /* every converter at 0 (or refunded): nothing to cap */
        return -1;
    *cap = v.value;
    *mean = sum / (double)c;
    *sd = (v.value - *mean) / e->cap_k;
    return 0;
}

/* cli_view.c: the report of `upshot show` (cli_view.h).
 *
 * Build: experiment + results -> decide_run (regions; the pooled total as
 * a one-region family for reading only) + per-arm numbers from stats/ ->
 * one JSON object. Render: that object -> header, SRM banner, variant
 * tables, regions x variants matrix, cumulative lift chart, sample size,
 * recommendations. Undefined numbers are JSON null and print as "-".
 */
#include "cli_view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_table.h"
#include "cli_term.h"
#include "stats_bayes.h"
#include "stats_core.h"
#include "stats_power.h"
#include "stats_prop.h"
#include "stats_revenue.h"

/* ---- helpers ---------------------------------------------------------- */

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jval(stats_value v)
{
    return v.defined ? jnum(v.value) : json_null();
}

static json_t *jint(double v)
{
    return json_integer((json_int_t)v);
}

static json_t *jpair(double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) return json_null();
    return json_pack("[f, f]", lo, hi);
}

static double jget(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *goal_name(int g)
{
    return g == DECIDE_GOAL_REVENUE ? "revenue" : g == DECIDE_GOAL_AOV ? "aov" : "conversion";
}

/* ---- settings --------------------------------------------------------- */

void cli_view_config(const json_t *exp, const cli_results *r, const cli_view_opts *o,
                     double *weights, decide_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->nvariants = r->nvariants;
    cfg->control = r->control;
    double sum = 0;
    for (size_t v = 0; v < r->nvariants; v++) sum += r->weights[v];
    for (size_t v = 0; v < r->nvariants; v++)
        weights[v] = sum > 0 ? r->weights[v] / sum : 1.0 / (double)r->nvariants;
    cfg->weights = weights;

    decide_goal g = DECIDE_GOAL_CONVERSION;
    decide_parse_goal(json_string_value(json_object_get(exp, "goal")), &g);
    cfg->goal = g;
    json_t *gr = json_object_get(exp, "guardrails");
    cfg->guard_decline = true;
    if (json_is_array(gr)) {
        cfg->guard_decline = false;
        size_t i;
        json_t *x;
        json_array_foreach(gr, i, x)
            if (json_is_string(x) && strcmp(json_string_value(x), "decline_rate") == 0)
                cfg->guard_decline = true;
    }
    /* options, then the experiment's own stats.*, then what upshotd
     * reports it decided with, then the documented defaults */
    json_t *st = json_object_get(exp, "stats");
    double a = jget(st, "alpha"), t2 = jget(st, "tau2"), ms = jget(st, "min_sample");
    if (!(isfinite(a) && a > 0)) a = r->server_alpha;
    if (!(isfinite(t2) && t2 > 0)) t2 = r->server_tau2;
    if (!(isfinite(ms) && ms >= 0) && r->server_min_sample >= 0) ms = (double)r->server_min_sample;
    cfg->alpha = o && o->alpha > 0 ? o->alpha : (isfinite(a) && a > 0 ? a : 0.05);
    cfg->tau2 = isfinite(t2) && t2 > 0 ? t2 : 0;
    cfg->min_sample = o && o->min_sample >= 0 ? (uint64_t)o->min_sample
                      : (isfinite(ms) && ms >= 0 ? (uint64_t)ms : 1000);
    cfg->correction = o && o->correction >= 0 ? (decide_correction)o->correction
                      : r->server_correction >= 0 ? (decide_correction)r->server_correction
                                                  : DECIDE_CORRECTION_HOLM;
    cfg->mde = o && o->mde > 0 ? o->mde : DECIDE_DEFAULT_MDE;
    /* the circuit breaker: on for the decline rate unless the experiment
     * says otherwise, as upshotd reads it (docs/config.md) */
    json_t *br = json_object_get(exp, "breaker");
    json_t *bd = json_object_get(br, "decline_rate"), *ba = json_object_get(br, "aov");
    double balpha = jget(br, "alpha");
    cfg->breaker_decline = json_is_boolean(bd) ? json_is_true(bd) : true;
    cfg->breaker_aov = json_is_true(ba);
    cfg->breaker_alpha = isfinite(balpha) && balpha > 0 ? balpha : cfg->alpha;
}

/* The breaker's window per region: after a reset, only the days after the
 * reset's day (the rule of engine/core/analysis.c). */
static void view_breaker_windows(const json_t *exp, const cli_results *r,
                                 const decide_region *regs, size_t *from)
{
    json_t *resets = json_object_get(exp, "breaker_resets");
    for (size_t g = 0; g < r->nregions; g++) {
        const char *day =
            json_string_value(json_object_get(json_object_get(resets, regs[g].name), "day"));
        from[g] = 0;
        if (day)
            while (from[g] < r->ndays && strcmp(r->days[from[g]], day) <= 0) from[g]++;
    }
}

/* ---- numbers per arm -------------------------------------------------- */

/* The metric's value in one arm (rate, revenue per visitor, AOV). */
static stats_value view_metric_value(int metric, const decide_counts *c)
{
    if (metric == DECIDE_GOAL_REVENUE) {
        stats_value mean, var;
        stats_revenue_moments((double)c->visitors, c->revenue_sum, c->revenue_sumsq, &mean,
                              &var);
        return mean;
    }
    if (metric == DECIDE_GOAL_AOV) {
        stats_value aov, se;
        stats_aov_arm((double)c->conversions, c->revenue_sum, c->revenue_sumsq, &aov, &se);
        return aov;
    }
    if (c->visitors == 0) return stats_value_undef("no visitors");
    return stats_value_of((double)c->conversions / (double)c->visitors);
}

/* Relative lift of the metric, treatment t against control c, at one look
 * (for the chart): from the library's comparison of that metric. */
static stats_value view_lift(int metric, const decide_counts *c, const decide_counts *t,
                             double alpha)
{
    if (metric == DECIDE_GOAL_REVENUE) {
        stats_welch_result w;
        stats_welch((double)c->visitors, c->revenue_sum, c->revenue_sumsq, (double)t->visitors,
                    t->revenue_sum, t->revenue_sumsq, alpha, &w);
        return w.lift;
    }
    if (metric == DECIDE_GOAL_AOV) {
        stats_aov_result a;
        stats_aov_compare((double)c->conversions, c->revenue_sum, c->revenue_sumsq,
                          (double)t->conversions, t->revenue_sum, t->revenue_sumsq, alpha, &a);
        if (!a.aov0.defined || !a.aov1.defined || a.aov0.value <= 0)
            return stats_value_undef("AOV undefined");
        return stats_value_of(a.aov1.value / a.aov0.value - 1.0);
    }
    stats_prop_result p;
    if (stats_prop_compare(c->visitors, c->conversions, t->visitors, t->conversions, alpha,
                           &p) < 0)
        return stats_value_undef("invalid counts");
    return p.lift;
}

/* One variant's row: counts, per-arm metrics, comparison with control. */
static json_t *view_arm(const cli_results *r, size_t v, const decide_counts *c,
                        const decide_counts *ctl, const decide_arm *arm, int metric,
                        double alpha, stats_bayes_workspace *ws)
{
    json_t *o = json_object();
    json_object_set_new(o, "variant", json_string(r->variants[v]));
    json_object_set_new(o, "control", json_boolean(v == r->control));
    json_object_set_new(o, "visitors", jint((double)c->visitors));
    json_object_set_new(o, "conversions", jint((double)c->conversions));
    json_object_set_new(o, "orders", jint((double)c->orders));
    json_object_set_new(o, "decliners", jint((double)c->decliners));
    json_object_set_new(o, "revenue_sum", json_real(c->revenue_sum));

    stats_value rate = view_metric_value(DECIDE_GOAL_CONVERSION, c);
    json_object_set_new(o, "conversion_rate", jval(rate));
    stats_interval wi = stats_wilson_interval(c->visitors, c->conversions, alpha);
    json_object_set_new(o, "conversion_rate_ci", wi.defined ? jpair(wi.lo, wi.hi) : json_null());
    json_object_set_new(o, "revenue_per_visitor",
                        jval(view_metric_value(DECIDE_GOAL_REVENUE, c)));
    json_object_set_new(o, "aov", jval(view_metric_value(DECIDE_GOAL_AOV, c)));
    json_object_set_new(o, "decline_rate",
                        c->visitors ? json_real((double)c->decliners / (double)c->visitors)
                                    : json_null());
    json_object_set_new(o, "metric_value", jval(view_metric_value(metric, c)));
    if (v == r->control) {
        json_object_set_new(o, "verdict", json_string("control"));
        return o;
    }
    /* value-table lifts (fixed-horizon, for reading; the decision uses the
     * always-valid numbers below) */
    json_object_set_new(o, "revenue_lift", jval(view_lift(DECIDE_GOAL_REVENUE, ctl, c, alpha)));
    json_object_set_new(o, "aov_lift", jval(view_lift(DECIDE_GOAL_AOV, ctl, c, alpha)));

    json_object_set_new(o, "lift", jnum(arm->lift));
    json_object_set_new(o, "lift_ci", jpair(arm->lift_lo, arm->lift_hi));
    json_object_set_new(o, "p_always_valid", arm->tested ? jnum(arm->p) : json_null());
    json_object_set_new(o, "p_adjusted", arm->tested ? jnum(arm->p_adjusted) : json_null());
    json_object_set_new(o, "decline_diff", jnum(arm->decline_diff));
    json_object_set_new(o, "decline_p", jnum(arm->decline_p));
    json_object_set_new(o, "guardrail_failed", json_boolean(arm->guardrail_failed));
    json_object_set_new(o, "verdict", json_string(decide_verdict_name(arm->verdict)));
    json_t *beat = json_null();
    if (metric == DECIDE_GOAL_CONVERSION && c->visitors > 0 && ctl->visitors > 0) {
        stats_bayes_result b;
        stats_bayes_compare(ctl->visitors, ctl->conversions, c->visitors, c->conversions, ws, &b);
        if (b.chance_to_beat.defined) {
            json_decref(beat);
            beat = json_real(b.chance_to_beat.value);
        }
    }
    json_object_set_new(o, "chance_to_beat", beat);
    return o;
}

/* Cumulative lift per day of every non-control variant in one slice. */
static json_t *view_chart(const cli_results *r, const decide_counts *looks, int metric,
                          double alpha)
{
    json_t *days = json_array(), *series = json_array();
    for (size_t d = 0; d < r->ndays; d++) json_array_append_new(days, json_string(r->days[d]));
    for (size_t v = 0; v < r->nvariants; v++) {
        if (v == r->control) continue;
        json_t *pts = json_array();
        for (size_t d = 0; d < r->ndays; d++) {
            const decide_counts *L = looks + d * r->nvariants;
            json_array_append_new(pts, jval(view_lift(metric, &L[r->control], &L[v], alpha)));
        }
        json_array_append_new(series, json_pack("{s:s, s:o}", "variant", r->variants[v],
                                                "lift", pts));
    }
    return json_pack("{s:s, s:o, s:o}", "metric", goal_name(metric), "days", days, "series",
                     series);
}

/* Days until every arm of region g reaches `needed` at the region's
 * average daily traffic so far (the library's days-remaining rule);
 * -1 when unknown. */
static double view_days_to_go(const cli_results *r, const cli_region *g, uint64_t needed,
                              const double *weights)
{
    if (needed == 0 || r->ndays == 0) return -1;
    uint64_t n[DECIDE_MAX_VARIANTS];
    double total = 0;
    for (size_t v = 0; v < r->nvariants; v++) {
        n[v] = g->counts[v].visitors;
        total += (double)n[v];
    }
    if (total <= 0) return -1;
    stats_value d = stats_power_days_remaining((double)needed, n, weights, r->nvariants,
                                               total / (double)r->ndays);
    return d.defined ? d.value : -1;
}

/* The region's breaker: the rules' verdict on the data here, and the
 * trip upshotd recorded (active: the region is routed to control). */
static json_t *view_breaker(const json_t *exp, const cli_results *r, const cli_region *g,
                            const decide_breaker *b)
{
    json_t *trip = json_object_get(json_object_get(exp, "breaker_trips"), g->name);
    json_t *o = json_pack(
        "{s:b, s:o, s:s, s:o, s:o, s:o, s:o}", "tripped", b->tripped, "variant",
        b->variant >= 0 ? json_string(r->variants[b->variant]) : json_null(), "metric",
        decide_breaker_metric_name(b->metric), "day",
        b->tripped && b->look >= 0 && (size_t)b->look < r->ndays ? json_string(r->days[b->look])
                                                                 : json_null(),
        "e_value", jnum(b->e_value), "p", jnum(b->p), "diff", jnum(b->diff));
    json_object_set_new(o, "active", json_boolean(json_is_object(trip)));
    json_object_set_new(o, "trip", json_is_object(trip) ? json_incref(trip) : json_null());
    return o;
}

/* A factorial experiment's promotion comes from upshotd's decision: its
 * factor-level step needs the models and the marginal counts, which only
 * the server's analysis has (docs/promotion.md). The region's entry of
 * "decisions", reduced to what says which cell or level is promoted;
 * null when the results carry no decision for the region. */
static json_t *view_fact_decision(const cli_results *r, const cli_region *g)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(r->server_decisions, "regions"), i, d) {
        const char *rn = json_string_value(json_object_get(d, "region"));
        if (rn == NULL || strcmp(rn, g->name) != 0) continue;
        return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "recommendation",
                         json_object_get(d, "recommendation"), "variant",
                         json_object_get(d, "variant"), "kind", json_object_get(d, "kind"),
                         "factor", json_object_get(d, "factor"), "level",
                         json_object_get(d, "level"), "why", json_object_get(d, "why"));
    }
    return json_null();
}

static json_t *view_region(const json_t *exp, const cli_results *r, const cli_region *g,
                           const decide_result *dg, const decide_result *dm, size_t gi,
                           int metric, double alpha, const double *weights,
                           stats_bayes_workspace *ws)
{
    const decide_region_result *rr = &dg->regions[gi];
    json_t *o = json_object();
    json_object_set_new(o, "region", json_string(g->name));
    json_object_set_new(o, "recommendation", json_string(decide_recommendation_name(rr->rec)));
    json_object_set_new(o, "promote_variant",
                        rr->variant >= 0 ? json_string(r->variants[rr->variant]) : json_null());
    json_object_set_new(o, "why", json_string(rr->why ? rr->why : ""));
    /* upshotd's own verdict for this region, to show any disagreement */
    json_t *srv = json_null();
    size_t si;
    json_t *sd;
    json_array_foreach(json_object_get(r->server_decisions, "regions"), si, sd) {
        const char *rn = json_string_value(json_object_get(sd, "region"));
        const char *rec = json_string_value(json_object_get(sd, "recommendation"));
        if (rn && rec && strcmp(rn, g->name) == 0) {
            json_decref(srv);
            srv = json_string(rec);
        }
    }
    json_object_set_new(o, "server_recommendation", srv);
    if (r->server_factorial) json_object_set_new(o, "factorial_decision", view_fact_decision(r, g));
    json_object_set_new(o, "srm_p", jnum(rr->srm_p));
    json_object_set_new(o, "srm_p_always_valid", jnum(rr->srm_p_always_valid));
    json_object_set_new(o, "srm_failed", json_boolean(rr->srm_failed));
    json_object_set_new(o, "min_sample_met", json_boolean(rr->min_sample_met));
    json_object_set_new(o, "min_visitors", jint((double)rr->min_visitors));
    json_object_set_new(o, "needed_per_arm",
                        rr->needed_per_arm ? jint((double)rr->needed_per_arm) : json_null());
    double dtg = view_days_to_go(r, g, rr->needed_per_arm, weights);
    json_object_set_new(o, "days_to_go", dtg >= 0 ? jint(dtg) : json_null());
    json_object_set_new(o, "breaker", view_breaker(exp, r, g, &rr->breaker));
    json_t *arms = json_array();
    for (size_t v = 0; v < r->nvariants; v++) {
        json_t *a = view_arm(r, v, &g->counts[v], &g->counts[r->control],
                             &dm->regions[gi].arms[v], metric, alpha, ws);
        /* the verdict shown in the matrix is the goal's (what promotion uses) */
        if (v != r->control) {
            json_object_set_new(a, "goal_verdict",
                                json_string(decide_verdict_name(rr->arms[v].verdict)));
            json_object_set_new(a, "goal_lift", jnum(rr->arms[v].lift));
            json_object_set_new(a, "goal_p_adjusted",
                                rr->arms[v].tested ? jnum(rr->arms[v].p_adjusted) : json_null());
        }
        json_array_append_new(arms, a);
    }
    json_object_set_new(o, "variants", arms);
    if (g->promotion.active) {
        const decide_counts *pc = &g->promotion.counts;
        json_object_set_new(o, "promotion", json_pack(
            "{s:s, s:f, s:s, s:I, s:I, s:f}", "variant", g->promotion.variant_key, "holdback",
            g->promotion.holdback, "since", g->promotion.since, "visitors",
            (json_int_t)pc->visitors, "conversions", (json_int_t)pc->conversions,
            "revenue_sum", pc->revenue_sum));
    } else {
        json_object_set_new(o, "promotion", json_null());
    }
    return o;
}

json_t *cli_view_build(const json_t *exp, const cli_results *r, const cli_view_opts *o,
                       char *err, size_t errcap)
{
    double weights[DECIDE_MAX_VARIANTS];
    decide_config cfg;
    cli_view_config(exp, r, o, weights, &cfg);
    int metric = o && o->metric >= 0 ? o->metric : (int)cfg.goal;
    if (o && o->region && cli_results_region(r, o->region) < 0 && r->nregions > 0) {
        snprintf(err, errcap, "no results for region \"%s\" (regions with traffic: %zu)",
                 o->region, r->nregions);
        return NULL;
    }

    decide_region *regs = calloc(r->nregions ? r->nregions : 1, sizeof *regs);
    size_t *from = calloc(r->nregions ? r->nregions : 1, sizeof *from);
    if (regs == NULL || from == NULL) {
        free(regs);
        free(from);
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    cli_results_decide_regions(r, regs);
    view_breaker_windows(exp, r, regs, from);
    cfg.breaker_from = from;
    decide_result dg = {0}, dm = {0}, dt = {0};
    decide_config cfgm = cfg;
    cfgm.goal = (decide_goal)metric;
    cfgm.breaker_from = NULL; /* dm and dt are read for numbers, not the breaker */
    decide_region total = {"all", r->ndays, r->total_looks};
    if (decide_run(&cfg, regs, r->nregions, &dg) != 0 ||
        decide_run(&cfgm, regs, r->nregions, &dm) != 0 ||
        decide_run(&cfgm, &total, 1, &dt) != 0) {
        snprintf(err, errcap, "the decision rules could not run on these results");
        free(regs);
        free(from);
        decide_result_free(&dg);
        decide_result_free(&dm);
        decide_result_free(&dt);
        return NULL;
    }
    stats_bayes_workspace *ws = stats_bayes_workspace_new();

    json_t *view = json_object();
    json_object_set_new(view, "experiment", json_string(r->experiment));
    const char *name = json_string_value(json_object_get(exp, "name"));
    json_object_set_new(view, "name", json_string(name ? name : r->experiment));
    json_object_set_new(view, "status", json_string(r->status));
    json_object_set_new(view, "generated_at", json_string(r->generated_at));
    const char *started = json_string_value(json_object_get(exp, "started_at"));
    json_object_set_new(view, "started_at", started ? json_string(started) : json_null());
    json_object_set_new(view, "control", json_string(r->variants[r->control]));
    json_object_set_new(view, "goal", json_string(goal_name(cfg.goal)));
    json_object_set_new(view, "metric", json_string(goal_name(metric)));
    json_object_set_new(view, "alpha", json_real(cfg.alpha));
    json_object_set_new(view, "correction", json_string(cfg.correction == DECIDE_CORRECTION_BH
                                                            ? "bh" : "holm"));
    json_object_set_new(view, "family_size", jint((double)dg.family_size));
    json_object_set_new(view, "min_sample", jint((double)cfg.min_sample));
    json_object_set_new(view, "mde", json_real(cfg.mde));
    json_object_set_new(view, "guardrails", cfg.guard_decline ? json_pack("[s]", "decline_rate")
                                                              : json_array());
    /* Revenue figures and decisions are on the capped sums when capped. */
    json_object_set_new(view, "revenue_cap", r->cap > 0 ? json_real(r->cap) : json_null());
    json_t *bmetrics = json_array();
    if (cfg.breaker_decline) json_array_append_new(bmetrics, json_string("decline_rate"));
    if (cfg.breaker_aov) json_array_append_new(bmetrics, json_string("aov"));
    json_object_set_new(view, "breaker", json_pack("{s:o, s:f}", "metrics", bmetrics, "alpha",
                                                   cfg.breaker_alpha));
    json_object_set_new(view, "region_filter", o && o->region ? json_string(o->region)
                                                              : json_null());
    json_t *days = json_array();
    for (size_t d = 0; d < r->ndays; d++) json_array_append_new(days, json_string(r->days[d]));
    json_object_set_new(view, "days", days);
    json_object_set_new(view, "integrity", json_pack("{s:I, s:I}", "duplicates",
                        (json_int_t)r->duplicates, "unexposed_conversions",
                        (json_int_t)r->unexposed));

    /* the pooled total, for reading */
    json_t *tarms = json_array();
    for (size_t v = 0; v < r->nvariants; v++) {
        json_t *a = view_arm(r, v, &r->total[v], &r->total[r->control], &dt.regions[0].arms[v],
                             metric, cfg.alpha, ws);
        /* CUPED comes from upshotd's analysis of the total (it needs the
         * covariate sums, which only the server's analysis reads) */
        if (v != r->control) {
            json_object_set_new(a, "revenue_lift_cuped", jnum(r->server_cuped_lift[v]));
            json_object_set_new(a, "revenue_cuped_p", jnum(r->server_cuped_p[v]));
        }
        json_array_append_new(tarms, a);
    }
    json_object_set_new(view, "total", json_pack("{s:o, s:o, s:o, s:b}", "variants", tarms,
                        "srm_p", jnum(dt.regions[0].srm_p), "srm_p_always_valid",
                        jnum(dt.regions[0].srm_p_always_valid), "srm_failed",
                        dt.regions[0].srm_failed));

    json_t *jregs = json_array();
    for (size_t gi = 0; gi < r->nregions; gi++)
        json_array_append_new(jregs, view_region(exp, r, &r->regions[gi], &dg, &dm, gi, metric,
                                                 cfg.alpha, weights, ws));
    json_object_set_new(view, "regions", jregs);

    /* upshotd's factorial analysis, as it sent it (docs/api.md) */
    if (r->server_factorial) json_object_set(view, "factorial", r->server_factorial);

    int gsel = o && o->region ? cli_results_region(r, o->region) : -1;
    json_object_set_new(view, "chart", view_chart(r, gsel >= 0 ? r->regions[gsel].looks
                                                               : r->total_looks,
                                                  metric, cfg.alpha));
    stats_bayes_workspace_free(ws);
    free(regs);
    free(from);
    decide_result_free(&dg);
    decide_result_free(&dm);
    decide_result_free(&dt);
    return view;
}

void cli_view_summary(const json_t *view, unsigned long long *visitors, const char **leading,
                      int *conclusive, int *regions)
{
    *visitors = 0;
    *leading = NULL;
    *conclusive = 0;
    *regions = 0;
    json_t *arms = json_object_get(json_object_get(view, "total"), "variants");
    double best = -INFINITY;
    size_t i;
    json_t *a;
    json_array_foreach(arms, i, a) {
        *visitors += (unsigned long long)json_integer_value(json_object_get(a, "visitors"));
        double m = jget(a, "metric_value");
        if (isfinite(m) && m > best) {
            best = m;
            *leading = json_string_value(json_object_get(a, "variant"));
        }
    }
    json_array_foreach(json_object_get(view, "regions"), i, a) {
        const char *rec = json_string_value(json_object_get(a, "recommendation"));
        (*regions)++;
        if (rec && (strcmp(rec, "promote") == 0 || strcmp(rec, "stop") == 0)) (*conclusive)++;
    }
}

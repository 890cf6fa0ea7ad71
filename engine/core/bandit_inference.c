/* bandit_inference.c: a bandit's periods to estimates, SRM and decision
 * inputs (see bandit_inference.h). */
#include "bandit_inference.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats_periods.h"
#include "stats_srm.h"

/* The region's object in bandit_state.regions, or NULL. Borrowed. */
static json_t *state_region(const experiment *e, const char *region)
{
    return json_object_get(json_object_get(json_object_get(e->def, "bandit_state"), "regions"),
                           region);
}

static bool read_weights(json_t *a, int k, double *w)
{
    if (!json_is_array(a) || (int)json_array_size(a) != k)
        return false;
    for (int v = 0; v < k; v++) {
        json_t *x = json_array_get(a, (size_t)v);
        if (!json_is_number(x))
            return false;
        w[v] = json_number_value(x);
    }
    return true;
}

/* Whether history entry h is period's own: a summary of merged old periods
 * (bandit_plan.h: "summarized", "through") holds their average weights,
 * which are no period's, so it never matches. */
static bool history_entry_is(json_t *h, int period)
{
    return json_integer_value(json_object_get(h, "period")) == period &&
           !json_is_true(json_object_get(h, "summarized")) && !json_object_get(h, "through");
}

bool bandit_period_weights(const experiment *e, const char *region, int period, double *w)
{
    if (period == 0) { /* the starting weights, whatever the history kept */
        for (int v = 0; v < e->nvariants; v++)
            w[v] = e->variants[v].weight;
        return true;
    }
    json_t *r = state_region(e, region);
    if (r && json_integer_value(json_object_get(r, "period")) == period &&
        read_weights(json_object_get(r, "weights"), e->nvariants, w))
        return true;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(r, "history"), i, h) {
        if (history_entry_is(h, period) && read_weights(json_object_get(h, "weights"), e->nvariants, w))
            return true;
    }
    return false;
}

/* When period started in region ("" when unknown). Borrowed. */
static const char *period_since(const experiment *e, const char *region, int period)
{
    json_t *r = state_region(e, region);
    if (r && json_integer_value(json_object_get(r, "period")) == period)
        return json_string_value(json_object_get(r, "since"));
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(r, "history"), i, h) {
        if (history_entry_is(h, period))
            return json_string_value(json_object_get(h, "since"));
    }
    return NULL;
}

/* Region r's cohorts as stats_periods cells [period][variant] of one
 * metric: conversions (a rate), or revenue per visitor. */
static void region_cells(const results_table *t, int r, stats_periods_kind kind, bool capped,
                         double (*pick)(const results_counts *), stats_periods_cell *cells)
{
    int k = t->nvariants;
    for (int p = 0; p < t->nperiods; p++)
        for (int v = 0; v < k; v++) {
            const results_counts *c = results_period_cell(t, r, p, v);
            stats_periods_cell *x = &cells[(size_t)p * (size_t)k + (size_t)v];
            x->n = c->visitors;
            if (pick) {
                x->sum = x->sumsq = pick(c);
            } else if (kind == STATS_PERIODS_RATE) {
                x->sum = x->sumsq = (double)c->conversions;
            } else {
                x->sum = capped ? c->capped_sum : c->revenue_sum;
                x->sumsq = capped ? c->capped_sumsq : c->revenue_sumsq;
            }
        }
}

/* A count from a double: rounded, 0 for negative or NaN, saturated at
 * 2^53 (counts from a hand-edited hash may be anything; a double beyond
 * uint64_t's range does not convert). */
static uint64_t to_count(double x)
{
    if (!(x > 0))
        return 0;
    if (x >= 9007199254740992.0)
        return UINT64_C(9007199254740992);
    return (uint64_t)llround(x);
}

static double pick_decliners(const results_counts *c) { return (double)c->decliners; }
static double pick_orders(const results_counts *c) { return (double)c->orders; }

/* Weighted per-visitor figure of a 0/1 (or count) metric for arm v. */
static double weighted_rate(const stats_periods_cell *cells, size_t np, size_t k, size_t v)
{
    stats_periods_equiv q;
    if (stats_periods_effective(cells, np, k, v, STATS_PERIODS_RATE, &q) == 0)
        return q.mean;
    return q.mean; /* the pooled figure when no period is usable */
}

/* Region r's SRM against the weights in force; false when nothing to test. */
static bool region_srm(const results_table *t, const experiment *e, int r, stats_periods_srm *out)
{
    size_t k = (size_t)t->nvariants, np = 0;
    uint64_t *n = calloc((size_t)t->nperiods * k + 1, sizeof *n);
    double *w = calloc((size_t)t->nperiods * k + 1, sizeof *w);
    bool ok = false;
    if (!n || !w)
        goto done;
    for (int p = 0; p < t->nperiods; p++) {
        /* a period whose weights the state no longer holds is left out */
        if (!bandit_period_weights(e, t->regions[r], t->periods[p], &w[np * k]))
            continue;
        for (size_t v = 0; v < k; v++)
            n[np * k + v] = results_period_cell(t, r, p, (int)v)->visitors;
        np++;
    }
    ok = stats_periods_srm_run(n, w, np, k, STATS_SRM_SEQ_CONCENTRATION, DECIDE_SRM_ALPHA, out) == 0;
done:
    free(n);
    free(w);
    return ok;
}

static bool region_has_periods(const results_table *t, int r)
{
    for (int p = 0; p < t->nperiods; p++)
        for (int v = 0; v < t->nvariants; v++)
            if (results_period_cell(t, r, p, v)->visitors > 0)
                return true;
    return false;
}

int bandit_decide_inputs(const results_table *t, const experiment *e, int r, bool capped,
                         decide_counts *look, decide_srm *srm)
{
    if (r < 0 || !region_has_periods(t, r))
        return -1;
    size_t k = (size_t)t->nvariants, np = (size_t)t->nperiods;
    stats_periods_cell *goal = calloc(np * k, sizeof *goal);
    stats_periods_cell *conv = calloc(np * k, sizeof *conv);
    stats_periods_cell *decl = calloc(np * k, sizeof *decl);
    stats_periods_cell *ord = calloc(np * k, sizeof *ord);
    stats_periods_cell *rev = calloc(np * k, sizeof *rev);
    int rc = -1;
    if (!goal || !conv || !decl || !ord || !rev)
        goto done;
    bool revenue_goal = e->goal != EXP_GOAL_CONVERSION;
    region_cells(t, r, STATS_PERIODS_RATE, capped, NULL, conv);
    region_cells(t, r, STATS_PERIODS_MEAN, capped, NULL, rev);
    region_cells(t, r, STATS_PERIODS_RATE, capped, pick_decliners, decl);
    region_cells(t, r, STATS_PERIODS_RATE, capped, pick_orders, ord);
    memcpy(goal, revenue_goal ? rev : conv, np * k * sizeof *goal);
    for (size_t v = 0; v < k; v++) {
        /* The equivalent sample of the goal metric fixes the visitors;
         * every other figure is its weighted per-visitor value times them. */
        stats_periods_equiv q;
        stats_periods_effective(goal, np, k, v,
                                revenue_goal ? STATS_PERIODS_MEAN : STATS_PERIODS_RATE, &q);
        double n = (double)to_count(floor(q.n_eff));
        stats_periods_equiv m;
        stats_periods_effective(rev, np, k, v, STATS_PERIODS_MEAN, &m);
        double mean = revenue_goal ? q.mean : m.mean, m2 = revenue_goal ? q.m2 : m.m2;
        look[v] = (decide_counts){
            .visitors = (uint64_t)n,
            .conversions = to_count(weighted_rate(conv, np, k, v) * n),
            .orders = to_count(weighted_rate(ord, np, k, v) * n),
            .decliners = to_count(weighted_rate(decl, np, k, v) * n),
            .revenue_sum = mean * n,
            .revenue_sumsq = m2 * n,
        };
    }
    stats_periods_srm s;
    *srm = (decide_srm){1, 1};
    if (region_srm(t, e, r, &s)) {
        srm->p = s.p.defined ? s.p.p : 1;
        srm->p_always_valid = s.p_always_valid.defined ? s.p_always_valid.p : 1;
    }
    rc = 0;
done:
    free(goal);
    free(conv);
    free(decl);
    free(ord);
    free(rev);
    return rc;
}

static json_t *num_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }
static json_t *value_json(stats_value v) { return v.defined ? num_or_null(v.value) : json_null(); }

static json_t *weights_json(const experiment *e, const double *w)
{
    json_t *a = json_array();
    for (int v = 0; v < e->nvariants; v++)
        json_array_append_new(a, json_pack("{s:s, s:f}", "variant", e->variants[v].key, "weight", w[v]));
    return a;
}

static json_t *estimate_json(const char *name, const stats_periods_estimate *x)
{
    return json_pack("{s:o, s:o}", name, value_json(x->estimate), "se", value_json(x->se));
}

static json_t *region_json(const results_table *t, const experiment *e,
                           const analysis_settings *cfg, bool capped, const char *region)
{
    int k = e->nvariants;
    int r = results_region_index(t, region);
    json_t *st = state_region(e, region);
    const exp_bandit_region *br = experiment_bandit_region(e, region);
    double w[EXP_MAX_VARIANTS];
    int period = experiment_bandit_period(e, region);
    if (!bandit_period_weights(e, region, period, w))
        for (int v = 0; v < k; v++)
            w[v] = e->variants[v].weight;
    json_t *o = json_pack("{s:s, s:i, s:O?, s:b, s:O?, s:I}", "region", region, "period", period,
                          "since", json_object_get(st, "since"), "waiting",
                          json_is_true(json_object_get(st, "waiting")), "fewest_visitors",
                          json_object_get(st, "fewest_visitors"), "min_visitors_per_arm",
                          (json_int_t)e->bandit.min_visitors_per_arm);
    json_object_set_new(o, "weights", weights_json(e, w));
    json_t *pb = json_array();
    json_t *pbs = json_object_get(st, "p_best");
    for (int v = 0; v < k && json_is_array(pbs); v++)
        json_array_append_new(pb, json_pack("{s:s, s:O?}", "variant", e->variants[v].key, "p",
                                            json_array_get(pbs, (size_t)v)));
    json_object_set_new(o, "p_best", pb);
    json_t *ms = json_object_get(st, "moved_share");
    json_object_set_new(o, "moved_share", ms ? json_incref(ms)
                                         : br && br->layout
                                             ? json_real(bandit_layout_moved_share(br->layout))
                                             : json_real(0));
    json_t *hist = json_object_get(st, "history");
    json_object_set_new(o, "history", json_is_array(hist) ? json_incref(hist) : json_array());

    /* The cohorts, one entry per period with visitors in the region. */
    unsigned fields = capped || e->revenue_cap > 0 || e->cap_learn ? RESULTS_JSON_CAPPED : 0;
    json_t *periods = json_array();
    for (int p = 0; r >= 0 && p < t->nperiods; p++) {
        bool any = false;
        for (int v = 0; v < k; v++) {
            const results_counts *c = results_period_cell(t, r, p, v);
            any |= c->visitors > 0;
            if (c->refunds > 0)
                fields |= RESULTS_JSON_REFUNDS;
        }
        if (!any)
            continue;
        json_t *vs = json_array();
        for (int v = 0; v < k; v++)
            json_array_append_new(vs, results_counts_json_fields(e->variants[v].key,
                                                                 results_period_cell(t, r, p, v),
                                                                 fields));
        const char *since = period_since(e, region, t->periods[p]);
        json_array_append_new(periods, json_pack("{s:i, s:s?, s:o}", "period", t->periods[p],
                                                 "since", since, "variants", vs));
    }
    json_object_set_new(o, "periods", periods);

    /* Estimates of the bandit's metric. */
    json_t *est = json_array();
    json_t *srm = json_null();
    if (r >= 0 && t->nperiods > 0) {
        size_t np = (size_t)t->nperiods;
        stats_periods_cell *cells = calloc(np * (size_t)k, sizeof *cells);
        stats_periods_arm arms[EXP_MAX_VARIANTS];
        bool revenue = e->bandit.metric == EXP_BANDIT_REVENUE;
        stats_periods_kind kind = revenue ? STATS_PERIODS_MEAN : STATS_PERIODS_RATE;
        double alpha = e->alpha > 0 ? e->alpha : cfg->alpha;
        if (cells) {
            region_cells(t, r, kind, capped, NULL, cells);
            if (stats_periods_analyze(cells, np, (size_t)k, (size_t)e->control, kind, alpha, arms,
                                      NULL) == 0) {
                const char *name = revenue ? "mean" : "rate";
                for (int v = 0; v < k; v++) {
                    stats_periods_arm *a = &arms[v];
                    json_t *diff = json_null();
                    if (v != e->control)
                        diff = json_pack(
                            "{s:o, s:o, s:o}", "estimate", value_json(a->diff), "ci",
                            a->ci.defined ? json_pack("[f, f]", a->ci.lo, a->ci.hi) : json_null(),
                            "p_value", a->p.defined ? json_real(a->p.p) : json_null());
                    json_array_append_new(
                        est, json_pack("{s:s, s:o, s:o, s:o}", "variant", e->variants[v].key,
                                       "weighted", estimate_json(name, &a->weighted), "naive",
                                       estimate_json(name, &a->naive), "diff_weighted", diff));
                }
            }
            free(cells);
        }
        stats_periods_srm s;
        if (region_srm(t, e, r, &s)) {
            json_t *ex = json_array();
            for (int v = 0; v < k; v++)
                json_array_append_new(ex, json_real(s.expected[v]));
            srm = json_pack("{s:o, s:o, s:o, s:o}", "expected", ex, "chi2", value_json(s.chi2),
                            "p_value", s.p.defined ? json_real(s.p.p) : json_null(),
                            "p_always_valid",
                            s.p_always_valid.defined ? json_real(s.p_always_valid.p) : json_null());
        }
    }
    json_object_set_new(o, "estimates", est);
    json_object_set_new(o, "srm", srm);
    return o;
}

json_t *bandit_results_json(const results_table *t, const experiment *e,
                            const analysis_settings *cfg, bool capped, const char *region_filter)
{
    const exp_bandit *b = &e->bandit;
    json_t *alloc = json_object_get(e->def, "allocation");
    json_t *every = json_object_get(alloc, "every");
    json_t *o = json_pack("{s:s, s:o, s:f, s:f, s:I, s:f}", "metric",
                          b->metric == EXP_BANDIT_REVENUE ? "revenue" : "conversion", "every",
                          json_is_string(every) ? json_incref(every) : json_integer(b->every),
                          "control_share", b->control_share, "floor", b->floor,
                          "min_visitors_per_arm", (json_int_t)b->min_visitors_per_arm, "beta",
                          b->beta);
    json_object_set_new(o, "seed", b->seed <= (uint64_t)INT64_MAX ? json_integer((json_int_t)b->seed)
                                                                  : json_real((double)b->seed));
    json_object_set_new(o, "next_update",
                        b->next_update[0] ? json_string(b->next_update) : json_null());
    /* Regions: every region with counts, then every region the state
     * holds that has none yet. */
    json_t *regions = json_array();
    for (int r = 0; r < t->nregions; r++)
        if (!region_filter || strcmp(region_filter, t->regions[r]) == 0)
            json_array_append_new(regions, region_json(t, e, cfg, capped, t->regions[r]));
    const char *name;
    json_t *st;
    json_object_foreach(json_object_get(json_object_get(e->def, "bandit_state"), "regions"), name,
                        st) {
        if (results_region_index(t, name) < 0 && (!region_filter || strcmp(region_filter, name) == 0))
            json_array_append_new(regions, region_json(t, e, cfg, capped, name));
    }
    json_object_set_new(o, "regions", regions);
    return o;
}

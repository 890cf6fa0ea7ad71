/* factorial.c: models, factor-level decisions and the `factorial` results
 * object of a factorial experiment (see factorial.h).
 *
 * Every p-value of the factor-level step comes from decide_run itself,
 * run on a two-arm view of the marginal counts (the level's cells against
 * the control level's cells, cumulative per daily look), so the marginal
 * test is exactly the always-valid test, lift interval and decline
 * guardrail the variants get; this file adds the family correction over
 * regions x factors x levels and the choice of the cell. */
#include "factorial.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_adjust.h"

bool factorial_interactions(const experiment *e)
{
    json_t *v = json_object_get(e->def, "interactions");
    return !json_is_false(v);
}

stats_fact_design factorial_design(const experiment *e, int nstrata, bool interactions)
{
    stats_fact_design d = {.nfactors = e->nfactors, .interactions = interactions,
                           .nstrata = nstrata};
    for (int f = 0; f < e->nfactors; f++)
        d.nlevels[f] = e->factors[f].nlevels;
    return d;
}

static const results_counts *table_cell(const results_table *t, int r, int d, int v)
{
    return &t->cells[((size_t)r * (size_t)t->ndays + (size_t)d) * (size_t)t->nvariants +
                     (size_t)v];
}

int factorial_cells(const results_table *t, const experiment *e, int r, bool capped,
                    stats_fact_cell **out, size_t *n)
{
    int K = t->nvariants < e->nvariants ? t->nvariants : e->nvariants;
    int r0 = r < 0 ? 0 : r, r1 = r < 0 ? t->nregions : r + 1;
    size_t cap = (size_t)(r1 - r0) * (size_t)K;
    stats_fact_cell *c = calloc(cap ? cap : 1, sizeof *c);
    *out = c;
    *n = 0;
    if (!c)
        return -1;
    for (int g = r0; g < r1; g++)
        for (int v = 0; v < K; v++) {
            stats_fact_cell *x = &c[(*n)++];
            int lv[EXP_MAX_FACTORS];
            experiment_cell_levels(e, v, lv);
            for (int f = 0; f < e->nfactors; f++)
                x->levels[f] = lv[f];
            x->stratum = r < 0 ? g : 0;
            for (int d = 0; d < t->ndays; d++) {
                const results_counts *k = table_cell(t, g, d, v);
                x->n += (double)k->visitors;
                x->conversions += (double)k->conversions;
                x->sum += capped ? k->capped_sum : k->revenue_sum;
                x->sumsq += capped ? k->capped_sumsq : k->revenue_sumsq;
            }
            /* a conversion is counted on its own day, an exposure on its
             * own: summed over every day a visitor converts at most once */
            if (x->conversions > x->n)
                x->conversions = x->n;
            if (x->sumsq < 0)
                x->sumsq = 0;
        }
    return 0;
}

int factorial_fit(const results_table *t, const experiment *e, int r, stats_fact_model model,
                  bool interactions, bool capped, double alpha, stats_fact_fit *out)
{
    memset(out, 0, sizeof *out);
    int nstrata = r < 0 ? t->nregions : 1;
    if (nstrata < 1 || nstrata > STATS_FACT_MAX_STRATA || e->nfactors < 1)
        return -1;
    stats_fact_cell *cells;
    size_t n;
    if (factorial_cells(t, e, r, capped, &cells, &n) != 0) {
        free(cells);
        return -1;
    }
    stats_fact_design d = factorial_design(e, nstrata, interactions);
    int rc = stats_fact_fit_run(model, &d, cells, n, alpha, out);
    free(cells);
    return rc;
}

/* Cumulative looks of the marginal comparison of factor f, level l
 * against level 0, in region r (-1: every region):
 * looks[d * 2 + 0] the control level, looks[d * 2 + 1] level l. */
static void marginal_looks(const results_table *t, const experiment *e, int r, int f, int l,
                           bool capped, decide_counts *looks)
{
    int K = t->nvariants < e->nvariants ? t->nvariants : e->nvariants;
    int r0 = r < 0 ? 0 : r, r1 = r < 0 ? t->nregions : r + 1;
    decide_counts acc[2] = {{0}};
    for (int d = 0; d < t->ndays; d++) {
        for (int v = 0; v < K; v++) {
            int lv[EXP_MAX_FACTORS];
            experiment_cell_levels(e, v, lv);
            int arm = lv[f] == 0 ? 0 : lv[f] == l ? 1 : -1;
            if (arm < 0)
                continue;
            for (int g = r0; g < r1; g++) {
                const results_counts *k = table_cell(t, g, d, v);
                acc[arm].visitors += k->visitors;
                acc[arm].conversions += k->conversions;
                acc[arm].orders += k->orders;
                acc[arm].decliners += k->decliners;
                acc[arm].revenue_sum += capped ? k->capped_sum : k->revenue_sum;
                acc[arm].revenue_sumsq += capped ? k->capped_sumsq : k->revenue_sumsq;
            }
        }
        looks[d * 2] = acc[0];
        looks[d * 2 + 1] = acc[1];
    }
}

/* The always-valid comparison of one marginal: decide_run on the two
 * arms, with the conditional split of the two levels as the weights (the
 * sequential SRM then checks the marginal split too). Fills m's test
 * fields; *srm_failed from that run. 0, or -1 on no memory. */
static int marginal_test(const results_table *t, const experiment *e, const decide_config *dc,
                         int r, int f, int l, bool capped, factorial_marginal *m,
                         bool *srm_failed)
{
    m->rate = m->control_rate = m->lift = m->lift_lo = m->lift_hi = NAN;
    m->p = 1;
    m->tested = false;
    *srm_failed = false;
    if (t->ndays < 1)
        return 0;
    decide_counts *looks = calloc((size_t)t->ndays * 2, sizeof *looks);
    if (!looks)
        return -1;
    marginal_looks(t, e, r, f, l, capped, looks);
    const decide_counts *last = looks + (size_t)(t->ndays - 1) * 2;
    m->control_visitors = last[0].visitors;
    m->visitors = last[1].visitors;
    if (last[0].visitors > 0)
        m->control_rate = (double)last[0].conversions / (double)last[0].visitors;
    if (last[1].visitors > 0)
        m->rate = (double)last[1].conversions / (double)last[1].visitors;
    double w0 = e->factors[f].levels[0].weight, wl = e->factors[f].levels[l].weight;
    double weights[2] = {w0 / (w0 + wl), wl / (w0 + wl)};
    decide_config two = *dc;
    two.nvariants = 2;
    two.control = 0;
    two.weights = weights;
    two.breaker_decline = two.breaker_aov = false;
    two.breaker_from = NULL;
    decide_region g = {.name = r >= 0 ? t->regions[r] : "overall",
                       .nlooks = (size_t)t->ndays, .looks = looks};
    decide_result res;
    int rc = decide_run(&two, &g, 1, &res);
    free(looks);
    if (rc != 0)
        return -1;
    const decide_arm *a = &res.regions[0].arms[1];
    m->tested = a->tested;
    m->p = a->p;
    m->lift = a->lift;
    m->lift_lo = a->lift_lo;
    m->lift_hi = a->lift_hi;
    m->guardrail_failed = a->guardrail_failed;
    *srm_failed = res.regions[0].srm_failed;
    decide_result_free(&res);
    return 0;
}

/* The interaction check of region r: each factor's smallest unadjusted
 * joint Wald p over its two-way interactions, in the goal's model fitted
 * with interactions (whatever "interactions" says for display: the check
 * is what makes a factor-level promotion safe). */
static void interaction_check(const results_table *t, const experiment *e,
                              const decide_config *dc, double gate_alpha, int r, bool capped,
                              factorial_region *fr)
{
    for (int f = 0; f < EXP_MAX_FACTORS; f++) {
        fr->interaction_p[f] = NAN;
        fr->interaction_free[f] = false;
    }
    stats_fact_fit fit;
    stats_fact_model model = dc->goal == DECIDE_GOAL_CONVERSION ? STATS_FACT_LOGIT
                                                                : STATS_FACT_OLS_HC3;
    if (factorial_fit(t, e, r, model, true, capped, gate_alpha, &fit) != 0) {
        fr->fit_status = STATS_FACT_NO_DATA;
        return;
    }
    fr->fit_status = fit.status;
    if (fit.status == STATS_FACT_OK) {
        double minp[EXP_MAX_FACTORS];
        bool ok[EXP_MAX_FACTORS];
        for (int f = 0; f < e->nfactors; f++) {
            minp[f] = 1;
            ok[f] = true;
        }
        for (int a = 0; a < e->nfactors; a++)
            for (int b = a + 1; b < e->nfactors; b++) {
                stats_fact_joint j = stats_fact_interaction_test(&fit, a, b);
                if (!j.p.defined) {
                    ok[a] = ok[b] = false;
                    continue;
                }
                if (j.p.p < minp[a]) minp[a] = j.p.p;
                if (j.p.p < minp[b]) minp[b] = j.p.p;
            }
        for (int f = 0; f < e->nfactors; f++) {
            fr->interaction_p[f] = ok[f] ? minp[f] : NAN;
            fr->interaction_free[f] = ok[f] && minp[f] >= gate_alpha;
        }
    }
    stats_fact_fit_free(&fit);
}

void factorial_decision_free(factorial_decision *d)
{
    if (!d)
        return;
    free(d->regions);
    free(d->marginals);
    memset(d, 0, sizeof *d);
}

int factorial_decide(const results_table *t, const experiment *e, const decide_config *dc,
                     double gate_alpha, const decide_result *combo, factorial_decision *out)
{
    memset(out, 0, sizeof *out);
    size_t R = (size_t)t->nregions, per_region = 0;
    for (int f = 0; f < e->nfactors; f++)
        per_region += (size_t)(e->factors[f].nlevels - 1);
    size_t m = R * per_region;
    out->regions = calloc(R ? R : 1, sizeof *out->regions);
    out->marginals = calloc(m ? m : 1, sizeof *out->marginals);
    double *ln_p = calloc(m ? m : 1, sizeof *ln_p);
    size_t *order = calloc(m ? m : 1, sizeof *order);
    bool *msrm = calloc(m ? m : 1, sizeof *msrm);
    double *best_lift = calloc(R ? R : 1, sizeof *best_lift);
    if (!out->regions || !out->marginals || !ln_p || !order || !msrm || !best_lift)
        goto fail;
    out->nregions = R;
    out->nmarginals = out->family_size = m;
    bool capped = results_capping_applied(t, e);

    /* pass 1: per region, the interaction check and the raw marginal tests */
    size_t i = 0;
    for (size_t r = 0; r < R; r++) {
        factorial_region *fr = &out->regions[r];
        const decide_region_result *cr = r < combo->nregions ? &combo->regions[r] : NULL;
        fr->promote_cell = fr->factor = fr->level = -1;
        fr->considered = cr && cr->rec != DECIDE_REC_PROMOTE && cr->rec != DECIDE_REC_BREAKER &&
                         cr->rec != DECIDE_REC_CHECK_SRM && !cr->srm_failed &&
                         cr->min_sample_met && !cr->breaker.tripped;
        interaction_check(t, e, dc, gate_alpha, (int)r, capped, fr);
        for (int f = 0; f < e->nfactors; f++)
            for (int l = 1; l < e->factors[f].nlevels; l++, i++) {
                factorial_marginal *mg = &out->marginals[i];
                mg->region = (int)r;
                mg->factor = f;
                mg->level = l;
                mg->eligible = fr->interaction_free[f];
                if (marginal_test(t, e, dc, (int)r, f, l, capped, mg, &msrm[i]) != 0)
                    goto fail;
                ln_p[i] = mg->tested && mg->p > 0 ? log(mg->p) : mg->tested ? -745.0 : 0;
            }
    }

    /* pass 2: one correction over regions x factors x levels; untested
     * comparisons count with p = 1, so the family is fixed by the design */
    if (m > 0 &&
        stats_adjust_log(dc->correction == DECIDE_CORRECTION_BH ? STATS_ADJUST_BH
                                                                 : STATS_ADJUST_HOLM,
                         ln_p, m, ln_p, order) != 0)
        goto fail;

    /* pass 3: winners, and per region the level with the largest lift */
    for (i = 0; i < m; i++) {
        factorial_marginal *mg = &out->marginals[i];
        factorial_region *fr = &out->regions[mg->region];
        mg->p_adjusted = exp(ln_p[i]);
        mg->winner = fr->considered && mg->eligible && mg->tested && !msrm[i] &&
                     !mg->guardrail_failed && mg->p_adjusted < dc->alpha && mg->lift > 0;
        if (mg->winner && (fr->factor < 0 || mg->lift > best_lift[mg->region])) {
            best_lift[mg->region] = mg->lift;
            fr->factor = mg->factor;
            fr->level = mg->level;
        }
    }
    for (size_t r = 0; r < R; r++) {
        factorial_region *fr = &out->regions[r];
        if (fr->factor < 0)
            continue;
        const exp_promotion *p = experiment_promotion(e, t->regions[r]);
        int lv[EXP_MAX_FACTORS];
        experiment_cell_levels(e, p && p->variant >= 0 && p->variant < e->nvariants ? p->variant
                                                                                    : e->control,
                               lv);
        lv[fr->factor] = fr->level;
        fr->promote_cell = experiment_cell_index(e, lv);
    }
    free(ln_p);
    free(order);
    free(msrm);
    free(best_lift);
    return 0;
fail:
    free(ln_p);
    free(order);
    free(msrm);
    free(best_lift);
    factorial_decision_free(out);
    return -1;
}

/* ---- the results object ------------------------------------------------- */

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static const char *status_name(stats_fact_status s)
{
    switch (s) {
    case STATS_FACT_OK: return "ok";
    case STATS_FACT_NO_DATA: return "no_data";
    case STATS_FACT_SEPARATED: return "separated";
    case STATS_FACT_NOT_CONVERGED: return "not_converged";
    case STATS_FACT_SINGULAR: return "singular";
    }
    return "no_data";
}

static const char *kind_name(stats_fact_term_kind k)
{
    switch (k) {
    case STATS_FACT_TERM_INTERCEPT: return "intercept";
    case STATS_FACT_TERM_MAIN: return "main";
    case STATS_FACT_TERM_INTERACTION: return "interaction";
    case STATS_FACT_TERM_STRATUM: return "stratum";
    }
    return "main";
}

static const char *level_key(const experiment *e, int f, int l)
{
    return f >= 0 && f < e->nfactors && l >= 0 && l < e->factors[f].nlevels
               ? e->factors[f].levels[l].key
               : "?";
}

void factorial_term_name(const experiment *e, const stats_fact_term *term,
                         const results_table *t, char *buf, size_t size)
{
    switch (term->kind) {
    case STATS_FACT_TERM_INTERCEPT:
        snprintf(buf, size, "(Intercept)");
        return;
    case STATS_FACT_TERM_MAIN:
        snprintf(buf, size, "%s=%s", e->factors[term->factor_a].key,
                 level_key(e, term->factor_a, term->level_a));
        return;
    case STATS_FACT_TERM_INTERACTION:
        snprintf(buf, size, "%s=%s:%s=%s", e->factors[term->factor_a].key,
                 level_key(e, term->factor_a, term->level_a), e->factors[term->factor_b].key,
                 level_key(e, term->factor_b, term->level_b));
        return;
    case STATS_FACT_TERM_STRATUM:
        if (t && term->level_a >= 0 && term->level_a < t->nregions)
            snprintf(buf, size, "region=%s", t->regions[term->level_a]);
        else
            snprintf(buf, size, "stratum=%d", term->level_a);
        return;
    }
    buf[0] = '\0';
}

/* MODEL of docs/api.md for region r (-1: overall). */
static json_t *model_json(const results_table *t, const experiment *e, int r,
                          stats_fact_model model, bool interactions, bool capped, double alpha)
{
    const char *mname = model == STATS_FACT_LOGIT ? "logit" : "ols_hc3";
    stats_fact_fit fit;
    if (factorial_fit(t, e, r, model, interactions, capped, alpha, &fit) != 0)
        return json_pack("{s:s, s:s, s:s, s:f, s:i, s:n, s:[], s:[], s:[]}", "model", mname,
                         "status", "no_data", "why",
                         r < 0 && t->nregions > STATS_FACT_MAX_STRATA
                             ? "too many regions for the pooled fit"
                             : "the cells cannot be fitted",
                         "n", 0.0, "iterations", 0, "deviance", "terms", "interaction_tests",
                         "predicted");
    json_t *terms = json_array(), *tests = json_array(), *pred = json_array();
    bool ok = fit.status == STATS_FACT_OK;
    for (size_t i = 0; ok && i < fit.nterms; i++) {
        const stats_fact_term *x = &fit.terms[i];
        char name[4 * VALIDATE_KEY_MAX + 8];
        factorial_term_name(e, x, t, name, sizeof name);
        json_array_append_new(
            terms, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "term", name, "kind",
                             kind_name(x->kind), "estimate", num_or_null(x->estimate), "se",
                             x->se.defined ? num_or_null(x->se.value) : json_null(), "z",
                             num_or_null(x->stat), "p_value",
                             x->p.defined ? json_real(x->p.p) : json_null(), "ci",
                             x->ci.defined ? json_pack("[o, o]", num_or_null(x->ci.lo),
                                                       num_or_null(x->ci.hi))
                                           : json_null()));
    }
    for (int a = 0; ok && interactions && a < e->nfactors; a++)
        for (int b = a + 1; b < e->nfactors; b++) {
            stats_fact_joint j = stats_fact_interaction_test(&fit, a, b);
            json_array_append_new(
                tests, json_pack("{s:[s, s], s:o, s:i, s:o}", "factors", e->factors[a].key,
                                 e->factors[b].key, "chi2", num_or_null(j.chi2), "df", j.df,
                                 "p_value", j.p.defined ? json_real(j.p.p) : json_null()));
        }
    for (int v = 0; ok && v < e->nvariants; v++) {
        int lv[EXP_MAX_FACTORS];
        experiment_cell_levels(e, v, lv);
        double se = NAN;
        stats_value eta = stats_fact_predict(&fit, lv, 0, &se);
        double est = eta.defined ? eta.value : NAN;
        double out = model == STATS_FACT_LOGIT ? 1 / (1 + exp(-est)) : est;
        json_array_append_new(pred, json_pack("{s:s, s:o, s:o, s:o}", "variant",
                                              e->variants[v].key, "estimate", num_or_null(est),
                                              "se", num_or_null(se),
                                              model == STATS_FACT_LOGIT ? "rate" : "mean",
                                              num_or_null(out)));
    }
    json_t *j = json_pack("{s:s, s:s, s:o, s:f, s:i, s:o, s:o, s:o, s:o}", "model", mname,
                          "status", status_name(fit.status), "why",
                          fit.why && !ok ? json_string(fit.why) : json_null(), "n", fit.n,
                          "iterations", fit.iterations, "deviance",
                          ok ? num_or_null(fit.deviance) : json_null(), "terms", terms,
                          "interaction_tests", tests, "predicted", pred);
    stats_fact_fit_free(&fit);
    return j;
}

static json_t *marginal_json(const experiment *e, const char *scope, const factorial_marginal *m,
                             bool with_decision, double interaction_p)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "scope", scope,
        "factor", e->factors[m->factor].key, "level", level_key(e, m->factor, m->level),
        "control_level", level_key(e, m->factor, 0), "visitors", (json_int_t)m->visitors,
        "control_visitors", (json_int_t)m->control_visitors, "rate", num_or_null(m->rate),
        "control_rate", num_or_null(m->control_rate), "lift", num_or_null(m->lift), "lift_lo",
        num_or_null(m->lift_lo), "lift_hi", num_or_null(m->lift_hi), "p_always_valid",
        m->tested ? num_or_null(m->p) : json_null());
    json_object_set_new(j, "p_adjusted",
                        with_decision && m->tested ? num_or_null(m->p_adjusted) : json_null());
    json_object_set_new(j, "interaction_p", num_or_null(interaction_p));
    json_object_set_new(j, "guardrail_failed", json_boolean(m->guardrail_failed));
    json_object_set_new(j, "eligible", with_decision ? json_boolean(m->eligible) : json_null());
    json_object_set_new(j, "winner", json_boolean(with_decision && m->winner));
    return j;
}

/* Per-cell visitors to detect the stated interaction in each region, and
 * how many days the slowest cell of the slowest region still needs. */
static json_t *power_json(const results_table *t, const experiment *e, double alpha)
{
    uint64_t n0 = 0, x0 = 0;
    for (int r = 0; r < t->nregions; r++)
        for (int d = 0; d < t->ndays; d++) {
            n0 += table_cell(t, r, d, e->control)->visitors;
            x0 += table_cell(t, r, d, e->control)->conversions;
        }
    double p0 = n0 ? (double)x0 / (double)n0 : NAN;
    double effect = e->interaction_effect > 0 ? e->interaction_effect
                                              : FACTORIAL_DEFAULT_EFFECT_SHARE * p0;
    stats_value need = stats_value_undef("no control rate yet");
    if (isfinite(p0) && isfinite(effect) && effect > 0 && p0 > 0 && p0 + effect < 1)
        need = stats_fact_interaction_n_per_cell(p0, p0, p0, p0 + effect, alpha,
                                                 FACTORIAL_POWER);
    double slowest_rate = NAN, days_to_go = 0, fewest = NAN;
    bool days_known = need.defined && t->ndays > 0 && t->nregions > 0;
    for (int r = 0; r < t->nregions; r++) {
        double least = INFINITY;
        for (int v = 0; v < t->nvariants && v < e->nvariants; v++) {
            double n = 0;
            for (int d = 0; d < t->ndays; d++)
                n += (double)table_cell(t, r, d, v)->visitors;
            if (n < least) least = n;
        }
        if (!isfinite(least))
            continue;
        double rate = t->ndays > 0 ? least / t->ndays : NAN;
        if (!(slowest_rate <= rate)) slowest_rate = rate;
        if (!(fewest <= least)) fewest = least;
        if (!days_known)
            continue;
        if (least >= need.value)
            continue;
        if (!(rate > 0)) {
            days_known = false;
            continue;
        }
        double days = ceil((need.value - least) / rate);
        if (days > days_to_go) days_to_go = days;
    }
    return json_pack("{s:o, s:f, s:f, s:o, s:o, s:o, s:o}", "interaction_effect",
                     num_or_null(effect), "alpha", alpha, "power", FACTORIAL_POWER,
                     "per_cell_needed", need.defined ? json_real(ceil(need.value)) : json_null(),
                     "days_to_go", days_known ? json_real(days_to_go) : json_null(),
                     "per_cell_visitors_per_day", num_or_null(slowest_rate),
                     "per_cell_visitors", num_or_null(fewest));
}

json_t *factorial_json(const results_table *t, const experiment *e, const decide_config *dc,
                       double alpha, const factorial_decision *fd, const char *region_filter)
{
    bool inter = factorial_interactions(e), capped = results_capping_applied(t, e);
    json_t *factors = json_array(), *cells = json_array(), *models = json_array(),
           *marginals = json_array();
    for (int f = 0; f < e->nfactors; f++) {
        json_t *levels = json_array();
        for (int l = 0; l < e->factors[f].nlevels; l++)
            json_array_append_new(levels, json_string(e->factors[f].levels[l].key));
        json_array_append_new(factors,
                              json_pack("{s:s, s:o}", "key", e->factors[f].key, "levels", levels));
    }
    for (int v = 0; v < e->nvariants; v++) {
        int lv[EXP_MAX_FACTORS];
        experiment_cell_levels(e, v, lv);
        json_t *levels = json_object();
        for (int f = 0; f < e->nfactors; f++)
            json_object_set_new(levels, e->factors[f].key, json_string(level_key(e, f, lv[f])));
        json_array_append_new(cells, json_pack("{s:s, s:o}", "variant", e->variants[v].key,
                                               "levels", levels));
    }
    for (int r = -1; r < t->nregions; r++) {
        if (r >= 0 && region_filter && strcmp(region_filter, t->regions[r]) != 0)
            continue;
        json_array_append_new(
            models, json_pack("{s:s, s:o, s:o}", "scope", r < 0 ? "overall" : t->regions[r],
                              "conversion",
                              model_json(t, e, r, STATS_FACT_LOGIT, inter, capped, alpha),
                              "revenue",
                              model_json(t, e, r, STATS_FACT_OLS_HC3, inter, capped, alpha)));
    }
    for (size_t i = 0; fd && i < fd->nmarginals; i++) {
        const factorial_marginal *m = &fd->marginals[i];
        if (region_filter && strcmp(region_filter, t->regions[m->region]) != 0)
            continue;
        json_array_append_new(marginals,
                              marginal_json(e, t->regions[m->region], m, true,
                                            fd->regions[m->region].interaction_p[m->factor]));
    }
    /* overall: every region pooled, for context (not a decision) */
    for (int f = 0; f < e->nfactors; f++)
        for (int l = 1; l < e->factors[f].nlevels; l++) {
            factorial_marginal m = {.region = -1, .factor = f, .level = l};
            bool srm;
            if (marginal_test(t, e, dc, -1, f, l, capped, &m, &srm) == 0)
                json_array_append_new(marginals, marginal_json(e, "overall", &m, false, NAN));
        }
    return json_pack("{s:o, s:b, s:o, s:o, s:o, s:o}", "factors", factors, "interactions", inter,
                     "cells", cells, "models", models, "marginals", marginals, "power",
                     power_json(t, e, alpha));
}

/* report_json.c -- see report_json.h. */
#include "report_json.h"

#include <stdio.h>
#include <string.h>

static int set_reason(json_t *obj, const char *key, const char *why)
{
    char k[128];
    snprintf(k, sizeof k, "%s_reason", key);
    return json_object_set_new(obj, k, json_string(why ? why : "undefined"));
}

int report_json_set_value(json_t *obj, const char *key, stats_value v)
{
    if (v.defined)
        return json_object_set_new(obj, key, json_real(v.value));
    if (json_object_set_new(obj, key, json_null()) != 0)
        return -1;
    return set_reason(obj, key, v.why);
}

int report_json_set_interval(json_t *obj, const char *key, stats_interval v)
{
    if (v.defined)
        return json_object_set_new(obj, key, json_pack("[f,f]", v.lo, v.hi));
    if (json_object_set_new(obj, key, json_null()) != 0)
        return -1;
    return set_reason(obj, key, v.why);
}

int report_json_set_pvalue(json_t *obj, const char *key, stats_pvalue v)
{
    char k[128];
    snprintf(k, sizeof k, "%s_log10", key);
    if (v.defined) {
        if (json_object_set_new(obj, key, json_real(v.p)) != 0)
            return -1;
        return json_object_set_new(obj, k, json_real(v.log10_p));
    }
    if (json_object_set_new(obj, key, json_null()) != 0 ||
        json_object_set_new(obj, k, json_null()) != 0)
        return -1;
    return set_reason(obj, key, v.why);
}

static json_t *prop_obj(const stats_prop_result *r, stats_pvalue adj)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    report_json_set_value(o, "diff", r->diff);
    report_json_set_interval(o, "diff_ci", r->diff_ci);
    report_json_set_value(o, "z", r->z);
    report_json_set_pvalue(o, "p_value", r->p);
    report_json_set_pvalue(o, "p_adjusted", adj);
    report_json_set_value(o, "lift", r->lift);
    report_json_set_value(o, "lift_se", r->lift_se);
    report_json_set_interval(o, "lift_ci", r->lift_ci);
    report_json_set_pvalue(o, "lift_p_value", r->lift_p);
    return o;
}

/* CUPED revenue per visitor (stats_cuped.h); "theta_note" is a string
 * when theta was set to 0 (no covariate spread), else null. */
static json_t *cuped_obj(const stats_cuped_result *c, stats_pvalue adj)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    report_json_set_value(o, "theta", c->theta);
    json_object_set_new(o, "theta_note", c->theta_note ? json_string(c->theta_note) : json_null());
    report_json_set_value(o, "adjusted_mean_control", c->mean0);
    report_json_set_value(o, "adjusted_mean", c->mean1);
    report_json_set_value(o, "diff", c->diff);
    report_json_set_interval(o, "diff_ci", c->diff_ci);
    report_json_set_value(o, "se", c->se);
    report_json_set_value(o, "df", c->df);
    report_json_set_pvalue(o, "p_value", c->p);
    report_json_set_pvalue(o, "p_adjusted", adj);
    report_json_set_value(o, "lift", c->lift);
    report_json_set_interval(o, "lift_ci", c->lift_ci);
    report_json_set_pvalue(o, "lift_p_value", c->lift_p);
    report_json_set_value(o, "variance_reduction", c->variance_reduction);
    report_json_set_value(o, "ancova_se", c->se_ols);
    report_json_set_pvalue(o, "ancova_p_value", c->p_ols);
    return o;
}

json_t *report_json_variant(const stats_variant_report *v, const char *name, bool is_control)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(name ? name : "variant"));
    json_object_set_new(o, "control", json_boolean(is_control));
    report_json_set_value(o, "conversion_rate", v->rate);
    report_json_set_interval(o, "conversion_rate_ci", v->rate_ci);
    report_json_set_value(o, "decline_rate", v->decline_rate);
    report_json_set_interval(o, "decline_rate_ci", v->decline_ci);
    report_json_set_value(o, "revenue_per_visitor", v->revenue_per_visitor);
    report_json_set_value(o, "revenue_sd", v->revenue_sd);
    report_json_set_value(o, "aov", v->aov);
    report_json_set_value(o, "aov_se", v->aov_se);
    if (is_control)
        return o;

    json_object_set_new(o, "conversion", prop_obj(&v->conversion, v->conversion_p_adj));
    json_object_set_new(o, "decline", prop_obj(&v->decline, v->decline_p_adj));

    json_t *rev = json_object();
    const stats_welch_result *w = &v->revenue;
    report_json_set_value(rev, "diff", w->diff);
    report_json_set_interval(rev, "diff_ci", w->diff_ci);
    report_json_set_value(rev, "se", w->se);
    report_json_set_value(rev, "t", w->t);
    report_json_set_value(rev, "df", w->df);
    report_json_set_pvalue(rev, "p_value", w->p);
    report_json_set_pvalue(rev, "p_adjusted", v->revenue_p_adj);
    report_json_set_value(rev, "lift", w->lift);
    report_json_set_interval(rev, "lift_ci", w->lift_ci);
    report_json_set_pvalue(rev, "lift_p_value", w->lift_p);
    json_object_set_new(o, "revenue", rev);
    json_object_set_new(o, "cuped", cuped_obj(&v->cuped, v->cuped_p_adj));

    json_t *aov = json_object();
    report_json_set_value(aov, "diff", v->aov_cmp.diff);
    report_json_set_interval(aov, "diff_ci", v->aov_cmp.diff_ci);
    report_json_set_pvalue(aov, "p_value", v->aov_cmp.p);
    json_object_set_new(o, "aov_diff", aov);

    json_t *b = json_object();
    report_json_set_value(b, "chance_to_beat", v->bayes.chance_to_beat);
    report_json_set_value(b, "chance_to_lose", v->bayes.chance_to_lose);
    report_json_set_value(b, "loss_ship", v->bayes.loss_ship);
    report_json_set_value(b, "loss_keep", v->bayes.loss_keep);
    json_object_set_new(o, "bayes", b);

    json_t *m = json_object();
    report_json_set_pvalue(m, "p_value", v->msprt.p);
    report_json_set_interval(m, "ci", v->msprt.ci);
    report_json_set_interval(m, "ci_last", v->msprt.ci_last);
    report_json_set_value(m, "log_lambda", v->msprt.log_lambda);
    json_object_set_new(m, "looks", json_integer((json_int_t)v->msprt.looks));
    json_object_set_new(m, "looks_used", json_integer((json_int_t)v->msprt.looks_used));
    json_object_set_new(o, "always_valid", m);
    return o;
}

json_t *report_json_report(const stats_experiment_report *r, const char *const *names)
{
    json_t *o = json_object(), *arr = json_array();
    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return NULL;
    }
    json_object_set_new(o, "alpha", json_real(r->alpha));
    json_object_set_new(o, "tau2", json_real(r->tau2));
    json_object_set_new(o, "adjust", json_string(stats_adjust_name(r->adjust)));
    for (size_t i = 0; i < r->k; i++) {
        char fallback[32];
        const char *name = names ? names[i] : NULL;
        if (!name) {
            snprintf(fallback, sizeof fallback, "variant%zu", i);
            name = fallback;
        }
        json_array_append_new(arr, report_json_variant(&r->variants[i], name, i == 0));
    }
    json_object_set_new(o, "variants", arr);

    json_t *ind = json_object();
    report_json_set_value(ind, "statistic", r->independence.statistic);
    report_json_set_value(ind, "df", r->independence.df);
    report_json_set_pvalue(ind, "p_value", r->independence.p);
    json_object_set_new(o, "independence", ind);

    json_t *srm = json_object();
    report_json_set_value(srm, "statistic", r->srm.statistic);
    report_json_set_value(srm, "df", r->srm.df);
    report_json_set_pvalue(srm, "p_value", r->srm.p);
    json_object_set_new(srm, "threshold", json_real(STATS_SRM_THRESHOLD));
    json_object_set_new(srm, "flagged", json_boolean(r->srm.flagged));
    json_object_set_new(o, "srm", srm);

    json_t *pw = json_object();
    report_json_set_value(pw, "baseline_rate", r->power.baseline);
    report_json_set_value(pw, "target_rate", r->power.target);
    report_json_set_value(pw, "power", r->power.power);
    report_json_set_value(pw, "n_per_arm", r->power.n_per_arm);
    report_json_set_value(pw, "n_per_arm_unpooled", r->power.n_per_arm_unpooled);
    report_json_set_value(pw, "visitors_per_day", r->power.visitors_per_day);
    report_json_set_value(pw, "days_remaining", r->power.days_remaining);
    json_object_set_new(o, "power", pw);
    return o;
}

void report_json_add_uncapped(json_t *report, const double *n, const double *s, const double *q,
                              size_t k, double alpha)
{
    json_object_set_new(report, "revenue_capped", json_true());
    json_t *vs = json_object_get(report, "variants");
    for (size_t j = 0; j < k; j++) {
        json_t *o = json_object();
        stats_value mean, var;
        stats_revenue_moments(n[j], s[j], q[j], &mean, &var);
        report_json_set_value(o, "revenue_per_visitor", mean);
        if (j > 0) {
            stats_welch_result w;
            stats_welch(n[0], s[0], q[0], n[j], s[j], q[j], alpha, &w);
            report_json_set_value(o, "diff", w.diff);
            report_json_set_interval(o, "diff_ci", w.diff_ci);
            report_json_set_pvalue(o, "p_value", w.p);
            report_json_set_value(o, "lift", w.lift);
            report_json_set_interval(o, "lift_ci", w.lift_ci);
        }
        json_object_set_new(json_array_get(vs, j), "revenue_uncapped", o);
    }
}

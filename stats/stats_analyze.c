/* stats_analyze.c -- see stats_analyze.h. */
#include "stats_analyze.h"

#include <math.h>
#include <string.h>

/* x >= 0 and y >= 0 for every visitor, so Sx, Sxx, Sxy >= 0; and by
 * Cauchy-Schwarz Sx^2 <= n Sxx and Sxy^2 <= Sxx Syy (relative slack for
 * rounding). */
static const char *covariate_check(const stats_variant_input *v)
{
    if (!(v->cov_sum >= 0.0) || !isfinite(v->cov_sum))
        return "covariate_sum must be a non-negative number";
    if (!(v->cov_sumsq >= 0.0) || !isfinite(v->cov_sumsq))
        return "covariate_sumsq must be a non-negative number";
    if (!(v->cov_cross >= 0.0) || !isfinite(v->cov_cross))
        return "covariate_cross must be a non-negative number";
    if (v->cov_sum > 0.0 && v->visitors == 0)
        return "covariate_sum is positive but there are no visitors";
    if (v->visitors > 0 &&
        v->cov_sum * (v->cov_sum / (double)v->visitors) > v->cov_sumsq * (1.0 + 1e-9))
        return "covariate_sumsq is smaller than covariate_sum^2/visitors "
               "(sums are inconsistent)";
    if (v->cov_cross * v->cov_cross > v->cov_sumsq * v->revenue_sumsq * (1.0 + 1e-9))
        return "covariate_cross^2 exceeds covariate_sumsq * revenue_sumsq "
               "(sums are inconsistent)";
    return NULL;
}

const char *stats_validate_input(const stats_experiment_input *in, int *variant)
{
    *variant = -1;
    if (!in || !in->variants)
        return "no variants";
    if (in->k < 2)
        return "at least two variants are needed (a control and a treatment)";
    if (in->k > STATS_MAX_VARIANTS)
        return "too many variants (at most 64)";
    if (isnan(in->alpha) || in->alpha >= 1.0)
        return "alpha must be between 0 and 1";
    for (size_t i = 0; i < in->k; i++) {
        const stats_variant_input *v = &in->variants[i];
        *variant = (int)i;
        if (!(v->weight > 0.0) || !isfinite(v->weight))
            return "weight must be a positive number";
        if (v->conversions > v->visitors)
            return "conversions exceed visitors";
        if (in->has_declines && v->declines > v->visitors)
            return "declines exceed visitors";
        if (!(v->revenue_sum >= 0.0) || !isfinite(v->revenue_sum))
            return "revenue_sum must be a non-negative number";
        if (!(v->revenue_sumsq >= 0.0) || !isfinite(v->revenue_sumsq))
            return "revenue_sumsq must be a non-negative number";
        if (v->revenue_sum > 0.0 && v->conversions == 0)
            return "revenue_sum is positive but there are no conversions";
        /* Cauchy-Schwarz over converters: S^2 <= x Q */
        if (v->conversions > 0) {
            double x = (double)v->conversions;
            double s = v->revenue_sum;
            if (s * (s / x) > v->revenue_sumsq * (1.0 + 1e-9))
                return "revenue_sumsq is smaller than revenue_sum^2/conversions "
                       "(sums are inconsistent)";
        }
        if (in->has_covariate) {
            const char *e = covariate_check(v);
            if (e)
                return e;
        }
    }
    *variant = -1;
    if (in->n_looks > 0) {
        if (!in->look_visitors || !in->look_conversions)
            return "looks are missing their counts";
        for (size_t l = 0; l < in->n_looks; l++) {
            for (size_t i = 0; i < in->k; i++) {
                size_t j = l * in->k + i;
                *variant = (int)i;
                if (in->look_conversions[j] > in->look_visitors[j])
                    return "a look has more conversions than visitors";
                if (l > 0 && (in->look_visitors[j] < in->look_visitors[j - in->k] ||
                              in->look_conversions[j] < in->look_conversions[j - in->k]))
                    return "looks must be cumulative: a count decreases from one look "
                           "to the next";
            }
        }
        *variant = -1;
    }
    return NULL;
}

static void control_fields(stats_variant_report *r)
{
    const char *c = "control";
    stats_value u = stats_value_undef(c);
    stats_interval ui = stats_interval_undef(c);
    stats_pvalue up = stats_pvalue_undef(c);
    r->conversion = (stats_prop_result){u, ui, u, up, u, u, ui, up};
    r->decline = r->conversion;
    r->conversion_p_adj = r->decline_p_adj = r->revenue_p_adj = up;
    r->revenue = (stats_welch_result){u, u, u, u, up, ui, u, ui, up};
    stats_cuped_undef(&r->cuped, c);
    r->cuped_p_adj = up;
    r->aov_cmp.diff = u;
    r->aov_cmp.diff_ci = ui;
    r->aov_cmp.p = up;
    r->bayes = (stats_bayes_result){u, u, u, u};
    r->msprt = (stats_msprt_result){up, ui, ui, u, 0, 0};
}

static void no_declines(stats_variant_report *r)
{
    const char *w = "declines not reported";
    stats_value u = stats_value_undef(w);
    stats_interval ui = stats_interval_undef(w);
    stats_pvalue up = stats_pvalue_undef(w);
    r->decline_rate = u;
    r->decline_ci = ui;
    r->decline = (stats_prop_result){u, ui, u, up, u, u, ui, up};
    r->decline_p_adj = up;
}

static void adjust_treatments(stats_experiment_report *out, size_t off_raw, size_t off_adj)
{
    stats_pvalue p[STATS_MAX_VARIANTS];
    size_t m = out->k - 1;
    for (size_t i = 0; i < m; i++)
        memcpy(&p[i], (const char *)&out->variants[i + 1] + off_raw, sizeof p[i]);
    stats_adjust_pvalues(out->adjust, p, m);
    for (size_t i = 0; i < m; i++)
        memcpy((char *)&out->variants[i + 1] + off_adj, &p[i], sizeof p[i]);
}

static void power_section(const stats_experiment_input *in, stats_experiment_report *out,
                          const uint64_t *n, const double *w)
{
    stats_power_report *pw = &out->power;
    double power = in->power > 0.0 ? in->power : STATS_DEFAULT_POWER;
    pw->power = stats_value_of(power);
    /* traffic per day: given, or the mean daily increase over the looks */
    double vpd = in->visitors_per_day;
    if (!(vpd > 0.0) && in->n_looks >= 2) {
        double first = 0.0, last = 0.0;
        for (size_t i = 0; i < in->k; i++) {
            first += (double)in->look_visitors[i];
            last += (double)in->look_visitors[(in->n_looks - 1) * in->k + i];
        }
        vpd = (last - first) / (double)(in->n_looks - 1);
    }
    pw->visitors_per_day = vpd > 0.0 ? stats_value_of(vpd)
                                     : stats_value_undef("traffic per day is unknown "
                                                         "(give visitors_per_day or two looks)");
    /* the formula is symmetric in the sign of the effect: a negative MDE
     * (testing for a decrease) is as valid as a positive one; 0 means
     * none was given */
    if (in->power_mde_rel == 0.0 || isnan(in->power_mde_rel)) {
        const char *why = "no minimum detectable effect given";
        pw->baseline = pw->target = pw->n_per_arm = pw->n_per_arm_unpooled =
            pw->days_remaining = stats_value_undef(why);
        return;
    }
    double p0 = in->power_baseline;
    if (!(p0 > 0.0))
        p0 = n[0] > 0 ? (double)in->variants[0].conversions / (double)n[0] : 0.0;
    if (!(p0 > 0.0 && p0 < 1.0)) {
        const char *why = "baseline rate is 0 or 1 (give baseline_rate)";
        pw->baseline = pw->target = pw->n_per_arm = pw->n_per_arm_unpooled =
            pw->days_remaining = stats_value_undef(why);
        return;
    }
    double p1 = p0 * (1.0 + in->power_mde_rel);
    pw->baseline = stats_value_of(p0);
    pw->target = p1 >= 1.0   ? stats_value_undef("baseline * (1 + mde) is not below 1")
                 : p1 <= 0.0 ? stats_value_undef("baseline * (1 + mde) is not above 0 "
                                                 "(a decrease of 100% or more)")
                             : stats_value_of(p1);
    pw->n_per_arm = stats_power_n_per_arm(p0, p1, out->alpha, power, true);
    pw->n_per_arm_unpooled = stats_power_n_per_arm(p0, p1, out->alpha, power, false);
    pw->days_remaining = pw->n_per_arm.defined
                             ? stats_power_days_remaining(pw->n_per_arm.value, n, w, in->k, vpd)
                             : stats_value_undef("sample size is undefined");
}

int stats_analyze(const stats_experiment_input *in, stats_experiment_report *out,
                  stats_bayes_workspace *ws)
{
    int bad = -1;
    const char *err = stats_validate_input(in, &bad);
    out->error = err;
    out->error_variant = bad;
    if (err) {
        out->k = 0;
        return -1;
    }
    size_t k = in->k;
    out->k = k;
    out->alpha = in->alpha > 0.0 ? in->alpha : STATS_DEFAULT_ALPHA;
    out->tau2 = in->tau2 > 0.0 ? in->tau2 : STATS_MSPRT_DEFAULT_TAU2;
    out->adjust = in->adjust;
    double alpha = out->alpha;

    uint64_t n[STATS_MAX_VARIANTS], x[STATS_MAX_VARIANTS];
    double w[STATS_MAX_VARIANTS];
    for (size_t i = 0; i < k; i++) {
        n[i] = in->variants[i].visitors;
        x[i] = in->variants[i].conversions;
        w[i] = in->variants[i].weight;
    }
    stats_bayes_workspace *own = NULL;
    if (!ws)
        own = ws = stats_bayes_workspace_new();  /* NULL is handled below */

    const stats_variant_input *c = &in->variants[0];
    for (size_t i = 0; i < k; i++) {
        const stats_variant_input *v = &in->variants[i];
        stats_variant_report *r = &out->variants[i];
        double nn = (double)v->visitors;
        r->rate = v->visitors ? stats_value_of((double)v->conversions / nn)
                              : stats_value_undef("no visitors");
        r->rate_ci = stats_wilson_interval(v->visitors, v->conversions, alpha);
        if (in->has_declines) {
            r->decline_rate = v->visitors ? stats_value_of((double)v->declines / nn)
                                          : stats_value_undef("no visitors");
            r->decline_ci = stats_wilson_interval(v->visitors, v->declines, alpha);
        }
        stats_value var;
        stats_revenue_moments(nn, v->revenue_sum, v->revenue_sumsq, &r->revenue_per_visitor,
                              &var);
        r->revenue_sd = var.defined ? stats_value_of(sqrt(var.value)) : var;
        stats_aov_arm((double)v->conversions, v->revenue_sum, v->revenue_sumsq, &r->aov,
                      &r->aov_se);
        if (i == 0) {
            control_fields(r);
            if (!in->has_declines)
                no_declines(r);
            continue;
        }
        stats_prop_compare(c->visitors, c->conversions, v->visitors, v->conversions, alpha,
                           &r->conversion);
        if (in->has_declines)
            stats_prop_compare(c->visitors, c->declines, v->visitors, v->declines, alpha,
                               &r->decline);
        else
            no_declines(r);
        stats_welch((double)c->visitors, c->revenue_sum, c->revenue_sumsq, nn, v->revenue_sum,
                    v->revenue_sumsq, alpha, &r->revenue);
        if (in->has_covariate) {
            stats_cuped_arm a0 = {(double)c->visitors, c->revenue_sum, c->revenue_sumsq,
                                  c->cov_sum, c->cov_sumsq, c->cov_cross};
            stats_cuped_arm a1 = {nn, v->revenue_sum, v->revenue_sumsq,
                                  v->cov_sum, v->cov_sumsq, v->cov_cross};
            stats_cuped(&a0, &a1, STATS_CUPED_WITHIN, alpha, &r->cuped);
        } else {
            stats_cuped_undef(&r->cuped, "no covariate");
        }
        stats_aov_compare((double)c->conversions, c->revenue_sum, c->revenue_sumsq,
                          (double)v->conversions, v->revenue_sum, v->revenue_sumsq, alpha,
                          &r->aov_cmp);
        if (c->visitors == 0 || v->visitors == 0) {
            /* the posterior would be the prior alone: a number about
             * nothing, so undefined like every other comparison */
            stats_value u = stats_value_undef(c->visitors == 0 ? "control has no visitors"
                                                               : "treatment has no visitors");
            r->bayes = (stats_bayes_result){u, u, u, u};
        } else if (ws) {
            stats_bayes_compare(c->visitors, c->conversions, v->visitors, v->conversions, ws,
                                &r->bayes);
        } else {
            stats_value u = stats_value_undef("out of memory");
            r->bayes = (stats_bayes_result){u, u, u, u};
        }
        if (in->n_looks > 0)
            stats_msprt_run(in->look_visitors, in->look_conversions, in->n_looks, k, i,
                            out->tau2, alpha, &r->msprt);
        else
            stats_msprt_run(n, x, 1, k, i, out->tau2, alpha, &r->msprt);
        r->conversion_p_adj = r->conversion.p;
        r->revenue_p_adj = r->revenue.p;
        r->cuped_p_adj = r->cuped.p;
        r->decline_p_adj = r->decline.p;
    }
    stats_bayes_workspace_free(own);

    adjust_treatments(out, offsetof(stats_variant_report, conversion_p_adj),
                      offsetof(stats_variant_report, conversion_p_adj));
    adjust_treatments(out, offsetof(stats_variant_report, revenue_p_adj),
                      offsetof(stats_variant_report, revenue_p_adj));
    adjust_treatments(out, offsetof(stats_variant_report, cuped_p_adj),
                      offsetof(stats_variant_report, cuped_p_adj));
    if (in->has_declines)
        adjust_treatments(out, offsetof(stats_variant_report, decline_p_adj),
                          offsetof(stats_variant_report, decline_p_adj));

    stats_prop_chisq_independence(n, x, k, &out->independence);
    stats_srm(n, w, k, 0.0, &out->srm);
    power_section(in, out, n, w);
    return 0;
}

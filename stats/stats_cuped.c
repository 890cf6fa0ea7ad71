/* stats_cuped.c -- see stats_cuped.h; formulas and sources in
 * docs/stats.md ("CUPED"). */
#include "stats_cuped.h"

#include "stats_dist.h"

#include <math.h>

/* Centred second moments of one arm: SSyy, SSxx, SSxy. */
typedef struct arm_moments {
    double n, ybar, xbar;
    double ssyy, ssxx, ssxy;
} arm_moments;

/* Q - S^2/n with stats_revenue's rule: a negative result larger than
 * 1e-9 Q is inconsistent input (NaN), a smaller one is rounding (0). */
static double centred_sq(double n, double s, double q)
{
    double ss = fma(-s, s / n, q);
    if (ss < 0.0) {
        if (-ss > 1e-9 * q)
            return NAN;
        ss = 0.0;
    }
    return ss;
}

void stats_cuped_undef(stats_cuped_result *o, const char *why)
{
    o->theta = o->mean0 = o->mean1 = o->diff = o->se = o->df = o->lift =
        o->variance_reduction = o->se_ols = stats_value_undef(why);
    o->theta_note = NULL;
    o->p = o->lift_p = o->p_ols = stats_pvalue_undef(why);
    o->diff_ci = o->lift_ci = stats_interval_undef(why);
}

/* Reads one arm; returns NULL or why the sums are invalid. n >= 2 is
 * checked by the caller. */
static const char *arm_read(const stats_cuped_arm *a, arm_moments *m)
{
    if (!isfinite(a->n) || !isfinite(a->sy) || !isfinite(a->syy) || !isfinite(a->sx) ||
        !isfinite(a->sxx) || !isfinite(a->sxy) || a->n < 0.0 || a->syy < 0.0 || a->sxx < 0.0)
        return "invalid covariate sums (not finite, or a negative count or sum of squares)";
    m->n = a->n;
    if (a->n == 0.0)
        return NULL;
    m->ybar = a->sy / a->n;
    m->xbar = a->sx / a->n;
    m->ssyy = centred_sq(a->n, a->sy, a->syy);
    m->ssxx = centred_sq(a->n, a->sx, a->sxx);
    if (isnan(m->ssyy))
        return "revenue_sumsq is smaller than revenue_sum^2/visitors";
    if (isnan(m->ssxx))
        return "covariate sumsq is smaller than covariate sum^2/visitors";
    m->ssxy = fma(-a->sx, a->sy / a->n, a->sxy);
    /* Cauchy-Schwarz on the centred sums, with room for the rounding of
     * SSxy (about eps times the terms it subtracts) */
    double slack = 1e-9 * (fabs(a->sxy) + fabs(a->sx * (a->sy / a->n)));
    if (fabs(m->ssxy) > sqrt(m->ssxx * m->ssyy) * (1.0 + 1e-9) + slack)
        return "covariate cross sum is inconsistent with the sums of squares "
               "(|cov(x,y)| > sd(x) sd(y))";
    return NULL;
}

/* Adjusted variance of one arm's y - theta x, per visitor (n - 1). */
static double adj_var(const arm_moments *m, double theta)
{
    double ss = m->ssyy - 2.0 * theta * m->ssxy + theta * theta * m->ssxx;
    return (ss > 0.0 ? ss : 0.0) / (m->n - 1.0);
}

static void lift_undef(stats_cuped_result *o, const char *why)
{
    o->lift = stats_value_undef(why);
    o->lift_ci = stats_interval_undef(why);
    o->lift_p = stats_pvalue_undef(why);
}

/* Relative lift and its delta-method variance; returns the variance or
 * NaN with the lift left undefined. */
static double lift_within(const arm_moments *a, const arm_moments *b, double theta, double m0,
                          double m1, stats_cuped_result *o)
{
    if (!(m0 > 0.0)) {
        lift_undef(o, "control adjusted revenue per visitor is not positive: "
                      "relative lift is undefined");
        return NAN;
    }
    double N = a->n + b->n, wa = a->n / N, wb = b->n / N;
    /* dR/d(ybar0, xbar0, ybar1, xbar1) for R = m1/m0 with xbar = wa xbar0
     * + wb xbar1 and theta fixed */
    double c = theta * (wa * m0 + wb * m1) / (m0 * m0);
    double gy0 = -m1 / (m0 * m0), gx0 = c, gy1 = 1.0 / m0, gx1 = -c;
    double v0 = (gy0 * gy0 * a->ssyy + gx0 * gx0 * a->ssxx + 2.0 * gy0 * gx0 * a->ssxy) /
                (a->n - 1.0) / a->n;
    double v1 = (gy1 * gy1 * b->ssyy + gx1 * gx1 * b->ssxx + 2.0 * gy1 * gx1 * b->ssxy) /
                (b->n - 1.0) / b->n;
    o->lift = stats_value_of(m1 / m0 - 1.0);
    return v0 + v1;
}

static double lift_gbstats(const arm_moments *a, const arm_moments *b, double theta,
                           double diff, stats_cuped_result *o)
{
    double mu = a->ybar;
    if (!(mu > 0.0)) {
        lift_undef(o, "control revenue per visitor is 0: relative lift is undefined");
        return NAN;
    }
    /* gbstats: the treatment part is v1 / (n1 mu^2); the control part
     * takes d lift / d ybar0 as -ybar1/mu^2 */
    double vt = adj_var(b, theta) / (b->n * mu * mu);
    double k = -b->ybar;
    double vy0 = a->ssyy / (a->n - 1.0), vx0 = a->ssxx / (a->n - 1.0),
           cxy0 = a->ssxy / (a->n - 1.0);
    double vc = (vy0 * k * k / (mu * mu) + 2.0 * theta * cxy0 * k / mu + theta * theta * vx0) /
                (a->n * mu * mu);
    o->lift = stats_value_of(diff / mu);
    return vt + vc;
}

/* lm(y ~ arm + x): classical ANCOVA standard error of the arm
 * coefficient, sigma^2 (1/n0 + 1/n1 + (xbar1 - xbar0)^2 / SSxx_within). */
static void ols(const arm_moments *a, const arm_moments *b, double theta, bool adjusted,
                double diff, stats_cuped_result *o)
{
    double N = a->n + b->n;
    double ssyy = a->ssyy + b->ssyy, ssxy = a->ssxy + b->ssxy, ssxx = a->ssxx + b->ssxx;
    double dfr = adjusted ? N - 3.0 : N - 2.0;
    if (!(dfr > 0.0)) {
        const char *w = "too few visitors for the ANCOVA residual variance";
        o->se_ols = stats_value_undef(w);
        o->p_ols = stats_pvalue_undef(w);
        return;
    }
    double rss = adjusted ? ssyy - theta * ssxy : ssyy;
    if (rss < 0.0)
        rss = 0.0;
    double dx = b->xbar - a->xbar;
    double v = rss / dfr * (1.0 / a->n + 1.0 / b->n + (adjusted ? dx * dx / ssxx : 0.0));
    if (!(v > 0.0)) {
        const char *w = "ANCOVA residual variance is zero";
        o->se_ols = stats_value_undef(w);
        o->p_ols = stats_pvalue_undef(w);
        return;
    }
    o->se_ols = stats_value_of(sqrt(v));
    o->p_ols = stats_dist_p_t(diff / sqrt(v), dfr);
}

int stats_cuped(const stats_cuped_arm *c0, const stats_cuped_arm *c1, stats_cuped_mode mode,
                double alpha, stats_cuped_result *out)
{
    arm_moments a = {0}, b = {0};
    const char *bad = arm_read(c0, &a);
    if (!bad)
        bad = arm_read(c1, &b);
    if (bad) {
        stats_cuped_undef(out, bad);
        return -1;
    }
    if (a.n == 0.0 || b.n == 0.0) {
        stats_cuped_undef(out, a.n == 0.0 ? "control has no visitors" : "treatment has no visitors");
        return 1;
    }
    if (a.n < 2.0 || b.n < 2.0) {
        stats_cuped_undef(out, "an arm has fewer than two visitors");
        return 1;
    }
    if (!(alpha > 0.0) || !(alpha < 1.0))
        alpha = STATS_DEFAULT_ALPHA;
    int rc = 0;

    /* theta */
    double theta = 0.0;
    out->theta_note = NULL;
    if (mode == STATS_CUPED_GBSTATS) {
        double N = a.n + b.n;
        double sx = c0->sx + c1->sx, sy = c0->sy + c1->sy;
        double ssxx = centred_sq(N, sx, c0->sxx + c1->sxx);
        double ssyy = centred_sq(N, sy, c0->syy + c1->syy);
        double ssxy = fma(-sx, sy / N, c0->sxy + c1->sxy);
        if (ssxx > 0.0 && ssyy > 0.0)
            theta = ssxy / ssxx;
        else
            out->theta_note = "covariate or revenue has no variance: no adjustment (theta = 0)";
    } else {
        double ssxx = a.ssxx + b.ssxx;
        if (ssxx > 0.0)
            theta = (a.ssxy + b.ssxy) / ssxx;
        else
            out->theta_note = "covariate has no variance within the arms: "
                              "no adjustment (theta = 0)";
    }
    out->theta = stats_value_of(theta);

    /* adjusted means and difference */
    double xbar = (c0->sx + c1->sx) / (a.n + b.n);
    double m0 = a.ybar - theta * (a.xbar - xbar), m1 = b.ybar - theta * (b.xbar - xbar);
    double d = m1 - m0;
    out->mean0 = stats_value_of(m0);
    out->mean1 = stats_value_of(m1);
    out->diff = stats_value_of(d);

    if (mode == STATS_CUPED_WITHIN) {
        ols(&a, &b, theta, out->theta_note == NULL, d, out);
    } else {
        const char *w = "ANCOVA figures are computed in the within-arm mode only";
        out->se_ols = stats_value_undef(w);
        out->p_ols = stats_pvalue_undef(w);
    }

    double A = adj_var(&a, theta) / a.n, B = adj_var(&b, theta) / b.n;
    double A0 = a.ssyy / (a.n - 1.0) / a.n, B0 = b.ssyy / (b.n - 1.0) / b.n;
    double se2 = A + B;
    out->variance_reduction = A0 + B0 > 0.0 ? stats_value_of(1.0 - se2 / (A0 + B0))
                                            : stats_value_undef("revenue has zero variance "
                                                                "in both arms");
    if (!(se2 > 0.0)) {
        const char *w = "adjusted revenue has zero variance in both arms";
        out->se = out->df = stats_value_undef(w);
        out->p = stats_pvalue_undef(w);
        out->diff_ci = stats_interval_undef(w);
        lift_undef(out, w);
        return 1;
    }
    double se = sqrt(se2);
    double df = se2 * se2 / (A * A / (a.n - 1.0) + B * B / (b.n - 1.0));
    double tq = stats_dist_t_quantile(1.0 - alpha / 2.0, df);
    out->se = stats_value_of(se);
    out->df = stats_value_of(df);
    out->p = stats_dist_p_t(d / se, df);
    out->diff_ci = isfinite(tq) ? stats_interval_of(d - tq * se, d + tq * se)
                                : stats_interval_undef("t quantile failed");

    double vl = mode == STATS_CUPED_GBSTATS ? lift_gbstats(&a, &b, theta, d, out)
                                            : lift_within(&a, &b, theta, m0, m1, out);
    if (isnan(vl))
        return 1;
    if (!(vl > 0.0)) {
        const char *w = "delta-method variance of the lift is zero";
        out->lift_ci = stats_interval_undef(w);
        out->lift_p = stats_pvalue_undef(w);
        return 1;
    }
    double sl = sqrt(vl), lift = out->lift.value;
    out->lift_ci = isfinite(tq) ? stats_interval_of(lift - tq * sl, lift + tq * sl)
                                : stats_interval_undef("t quantile failed");
    out->lift_p = stats_dist_p_t(lift / sl, df);
    if (!out->se_ols.defined && mode == STATS_CUPED_WITHIN)
        rc = 1;
    return rc;
}

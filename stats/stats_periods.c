/* stats_periods.c -- period-weighted estimates and SRM under a bandit
 * (see stats_periods.h for the formulas and why). */
#include "stats_periods.h"

#include <math.h>
#include <string.h>

#include "stats_dist.h"
#include "stats_srm.h"

/* Mean and within-sample variance s^2 of one cell (n >= 1). A rate's
 * variance is p (1 - p); revenue's the sample variance, 0 for n = 1. */
static void cell_moments(const stats_periods_cell *c, stats_periods_kind kind, double *mean,
                         double *s2)
{
    double n = (double)c->n;
    *mean = c->sum / n;
    if (kind == STATS_PERIODS_RATE) {
        *s2 = *mean * (1.0 - *mean);
    } else {
        double ss = c->sumsq - c->sum * *mean; /* sum of squared deviations */
        *s2 = n > 1 && ss > 0 ? ss / (n - 1.0) : 0.0;
    }
}

/* Whether period p enters the weighted figures: every arm has enough. */
static bool period_usable(const stats_periods_cell *cells, size_t p, size_t k)
{
    for (size_t i = 0; i < k; i++)
        if (cells[p * k + i].n < STATS_PERIODS_MIN_N)
            return false;
    return true;
}

/* The weights w_p over the usable periods: the sum of their visitors, 0
 * when none is usable. */
static double usable_total(const stats_periods_cell *cells, size_t nperiods, size_t k)
{
    double total = 0;
    for (size_t p = 0; p < nperiods; p++) {
        if (!period_usable(cells, p, k))
            continue;
        for (size_t i = 0; i < k; i++)
            total += (double)cells[p * k + i].n;
    }
    return total;
}

static double period_visitors(const stats_periods_cell *cells, size_t p, size_t k)
{
    double n = 0;
    for (size_t i = 0; i < k; i++)
        n += (double)cells[p * k + i].n;
    return n;
}

/* Weighted mean, its variance and the mixture's second moment of arm i. */
static bool weighted_arm(const stats_periods_cell *cells, size_t nperiods, size_t k, size_t i,
                         stats_periods_kind kind, double *m, double *v, double *m2)
{
    double total = usable_total(cells, nperiods, k);
    if (!(total > 0))
        return false;
    *m = *v = *m2 = 0;
    for (size_t p = 0; p < nperiods; p++) {
        if (!period_usable(cells, p, k))
            continue;
        double w = period_visitors(cells, p, k) / total;
        const stats_periods_cell *c = &cells[p * k + i];
        double mean, s2;
        cell_moments(c, kind, &mean, &s2);
        *m += w * mean;
        *v += w * w * s2 / (double)c->n;
        /* E[x^2] within the period: the rate's p, revenue's sumsq / n */
        *m2 += w * (kind == STATS_PERIODS_RATE ? mean : c->sumsq / (double)c->n);
    }
    return true;
}

int stats_periods_analyze(const stats_periods_cell *cells, size_t nperiods, size_t k,
                          size_t control, stats_periods_kind kind, double alpha,
                          stats_periods_arm *out, size_t *used)
{
    if (!cells || !out || k < 2 || control >= k)
        return -1;
    if (alpha <= 0 || alpha >= 1)
        alpha = STATS_DEFAULT_ALPHA;
    size_t nused = 0;
    for (size_t p = 0; p < nperiods; p++)
        nused += period_usable(cells, p, k);
    if (used)
        *used = nused;
    double m[16], v[16];
    bool ok[16];
    if (k > 16)
        return -1;
    for (size_t i = 0; i < k; i++) {
        stats_periods_arm *a = &out[i];
        memset(a, 0, sizeof *a);
        /* naive: pooled over every period */
        uint64_t n = 0;
        double sum = 0, sumsq = 0;
        for (size_t p = 0; p < nperiods; p++) {
            n += cells[p * k + i].n;
            sum += cells[p * k + i].sum;
            sumsq += cells[p * k + i].sumsq;
        }
        if (n > 0) {
            stats_periods_cell pooled = {n, sum, sumsq};
            double mean, s2;
            cell_moments(&pooled, kind, &mean, &s2);
            a->naive.estimate = stats_value_of(mean);
            a->naive.se = stats_value_of(sqrt(s2 / (double)n));
        } else {
            a->naive.estimate = a->naive.se = stats_value_undef("no visitors");
        }
        double m2;
        ok[i] = weighted_arm(cells, nperiods, k, i, kind, &m[i], &v[i], &m2);
        if (ok[i]) {
            a->weighted.estimate = stats_value_of(m[i]);
            a->weighted.se = stats_value_of(sqrt(v[i]));
        } else {
            a->weighted.estimate = a->weighted.se =
                stats_value_undef("no period with every arm's visitors");
        }
    }
    double z = stats_dist_normal_quantile(1.0 - alpha / 2.0);
    for (size_t i = 0; i < k; i++) {
        stats_periods_arm *a = &out[i];
        if (i == control) {
            a->diff = stats_value_undef("control");
            a->ci = stats_interval_undef("control");
            a->p = stats_pvalue_undef("control");
            continue;
        }
        if (!ok[i] || !ok[control]) {
            a->diff = stats_value_undef("no period with every arm's visitors");
            a->ci = stats_interval_undef("no period with every arm's visitors");
            a->p = stats_pvalue_undef("no period with every arm's visitors");
            continue;
        }
        double d = m[i] - m[control], se = sqrt(v[i] + v[control]);
        a->diff = stats_value_of(d);
        if (!(se > 0)) {
            a->ci = stats_interval_undef("zero variance");
            a->p = stats_pvalue_undef("zero variance");
            continue;
        }
        a->ci = stats_interval_of(d - z * se, d + z * se);
        a->p = stats_pvalue_from_log(stats_dist_ln_normal_two_sided(d / se));
    }
    return 0;
}

int stats_periods_effective(const stats_periods_cell *cells, size_t nperiods, size_t k, size_t arm,
                            stats_periods_kind kind, stats_periods_equiv *out)
{
    if (!cells || !out || k < 2 || arm >= k)
        return -1;
    uint64_t n = 0;
    double sum = 0, sumsq = 0;
    for (size_t p = 0; p < nperiods; p++) {
        n += cells[p * k + arm].n;
        sum += cells[p * k + arm].sum;
        sumsq += cells[p * k + arm].sumsq;
    }
    *out = (stats_periods_equiv){(double)n, n ? sum / (double)n : 0,
                                 n ? (kind == STATS_PERIODS_RATE ? sum : sumsq) / (double)n : 0};
    double m, v, m2;
    if (!weighted_arm(cells, nperiods, k, arm, kind, &m, &v, &m2))
        return -1;
    double s2 = m2 - m * m;
    if (!(v > 0) || !(s2 > 0))
        return -1;
    double n_eff = s2 / v;
    out->n_eff = n_eff < (double)n ? n_eff : (double)n;
    out->mean = m;
    out->m2 = m2;
    return 0;
}

int stats_periods_srm_run(const uint64_t *n, const double *weights, size_t nperiods, size_t k,
                          double c, double alpha, stats_periods_srm *out)
{
    if (!n || !weights || !out || k < 2 || k > 16)
        return -1;
    if (alpha <= 0 || alpha >= 1)
        alpha = STATS_SRM_THRESHOLD;
    memset(out, 0, sizeof *out);
    uint64_t obs[16] = {0};
    double total = 0;
    for (size_t p = 0; p < nperiods; p++) {
        double wsum = 0, np = 0;
        for (size_t i = 0; i < k; i++) {
            if (!(weights[p * k + i] >= 0))
                return -1;
            wsum += weights[p * k + i];
            np += (double)n[p * k + i];
            obs[i] += n[p * k + i];
        }
        if (!(wsum > 0))
            return -1;
        for (size_t i = 0; i < k; i++)
            out->expected[i] += np * weights[p * k + i] / wsum;
        total += np;
    }
    if (total == 0) {
        out->chi2 = stats_value_undef("no visitors");
        out->p = out->p_always_valid = stats_pvalue_undef("no visitors");
        return 1;
    }
    /* The chi-square against the expected counts: stats_srm normalises
     * its weights, and expected / total are those weights. */
    stats_srm_result r;
    if (stats_srm(obs, out->expected, k, alpha, &r) == 0) {
        out->chi2 = r.statistic;
        out->p = r.p;
    } else {
        out->chi2 = stats_value_undef("an arm expected no visitors");
        out->p = stats_pvalue_undef("an arm expected no visitors");
    }
    /* Sequential: ln BF summed over periods; its running maximum at the
     * period boundaries. A period with an arm at weight 0 has no mixture
     * to compare with and is left out (factor 1). */
    double lbf = 0, max_lbf = 0;
    for (size_t p = 0; p < nperiods; p++) {
        double l = stats_srm_log_bf(&n[p * k], &weights[p * k], k, c);
        if (isfinite(l))
            lbf += l;
        if (lbf > max_lbf)
            max_lbf = lbf;
    }
    out->p_always_valid = stats_pvalue_from_log(-max_lbf);
    out->flagged = out->p_always_valid.p < alpha;
    return 0;
}

/* stats_bandit.c -- top-two Thompson sampling with a fixed control share
 * (see stats_bandit.h for the rule and docs/stats.md for its limits). */
#include "stats_bandit.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

/* Redraws before the challenger is taken as the best of the other arms in
 * the last draw (step 3). */
#define CHALLENGER_TRIES 100

/* One arm's posterior, ready to draw from. */
typedef struct posterior {
    double a, b;       /* Beta(a, b) for conversion */
    double mean, sd;   /* Normal(mean, sd) for revenue */
} posterior;

static bool config_ok(const stats_bandit_config *c)
{
    return c && c->k >= 2 && c->k <= STATS_BANDIT_MAX_ARMS && c->control < c->k &&
           c->control_share >= 0 && c->control_share < 1 && c->floor >= 0 &&
           isfinite(c->floor) && c->beta > 0 && c->beta < 1 && c->draws >= 100 &&
           (c->metric == STATS_BANDIT_CONVERSION || c->metric == STATS_BANDIT_REVENUE);
}

void stats_bandit_weights_from(const stats_bandit_config *cfg, const double *a, double *weights)
{
    size_t m = cfg->k - 1;
    double rest = 1 - cfg->control_share;
    double room = rest - (double)m * cfg->floor;
    /* Renormalize a over the treatments: the control's entry never counts. */
    double total = 0;
    for (size_t i = 0; i < cfg->k; i++)
        if (i != cfg->control)
            total += a[i] > 0 ? a[i] : 0;
    for (size_t i = 0; i < cfg->k; i++) {
        if (i == cfg->control)
            weights[i] = cfg->control_share;
        else if (room <= 0 || total <= 0)
            weights[i] = rest / (double)m;
        else
            weights[i] = cfg->floor + room * (a[i] > 0 ? a[i] : 0) / total;
    }
}

/* Revenue: the sample variance of each arm, or the pooled one when an arm
 * has none yet (every visitor the same): a zero-width posterior would win
 * or lose every draw on no evidence. */
static void build_posteriors(const stats_bandit_config *cfg, const stats_bandit_arm *arms,
                             posterior *post)
{
    double pooled_ss = 0, pooled_n = 0;
    for (size_t i = 0; i < cfg->k; i++) {
        double n = (double)arms[i].visitors;
        if (n >= 2) {
            double mean = arms[i].revenue_sum / n;
            double ss = arms[i].revenue_sumsq - n * mean * mean;
            pooled_ss += ss > 0 ? ss : 0;
            pooled_n += n - 1;
        }
    }
    double pooled_var = pooled_n > 0 ? pooled_ss / pooled_n : 0;
    for (size_t i = 0; i < cfg->k; i++) {
        double n = (double)arms[i].visitors, c = (double)arms[i].conversions;
        post[i].a = 1 + c;
        post[i].b = 1 + n - c;
        double mean = n > 0 ? arms[i].revenue_sum / n : 0;
        double var = 0;
        if (n >= 2) {
            var = (arms[i].revenue_sumsq - n * mean * mean) / (n - 1);
            if (!(var > 0))
                var = pooled_var;
        } else {
            var = pooled_var;
        }
        post[i].mean = mean;
        post[i].sd = n > 0 ? sqrt(var / n) : sqrt(var);
    }
}

static double draw(const gsl_rng *r, stats_bandit_metric metric, const posterior *p)
{
    if (metric == STATS_BANDIT_CONVERSION)
        return gsl_ran_beta(r, p->a, p->b);
    return p->sd > 0 ? p->mean + gsl_ran_gaussian(r, p->sd) : p->mean;
}

/* The arm with the largest draw among those with include[i]; ties (only
 * degenerate posteriors tie) go to a uniformly chosen one of them, so no
 * arm is favoured by its position. */
static size_t leader(const gsl_rng *r, const double *theta, const bool *include, size_t k)
{
    double best = -INFINITY;
    size_t pick = 0, ties = 0;
    for (size_t i = 0; i < k; i++) {
        if (!include[i])
            continue;
        if (theta[i] > best) {
            best = theta[i];
            pick = i;
            ties = 1;
        } else if (theta[i] == best && gsl_rng_uniform_int(r, ++ties) == 0) {
            pick = i;
        }
    }
    return pick;
}

int stats_bandit_update_run(const stats_bandit_config *cfg, const stats_bandit_arm *arms,
                            const double *prev, stats_bandit_update *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!config_ok(cfg) || !arms || !prev || !out)
        return -1;
    double prev_sum = 0;
    for (size_t i = 0; i < cfg->k; i++) {
        if (arms[i].conversions > arms[i].visitors || !isfinite(arms[i].revenue_sum) ||
            !isfinite(arms[i].revenue_sumsq) || !(prev[i] >= 0))
            return -1;
        prev_sum += prev[i];
        if (arms[i].visitors < arms[out->fewest].visitors)
            out->fewest = i;
    }
    if (fabs(prev_sum - 1) > 1e-9)
        return -1;

    if (arms[out->fewest].visitors < cfg->min_per_arm || arms[out->fewest].visitors == 0) {
        out->waiting = true;
        memcpy(out->weights, prev, cfg->k * sizeof *prev);
        return 0;
    }

    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r)
        return -1;
    /* MT19937 takes an unsigned long seed: fold the 64 bits so that seeds
     * differing only in their high half still differ. */
    gsl_rng_set(r, (unsigned long)(cfg->seed ^ (cfg->seed >> 32)));

    posterior post[STATS_BANDIT_MAX_ARMS];
    build_posteriors(cfg, arms, post);
    bool all[STATS_BANDIT_MAX_ARMS], treatments[STATS_BANDIT_MAX_ARMS];
    for (size_t i = 0; i < cfg->k; i++) {
        all[i] = true;
        treatments[i] = i != cfg->control;
    }

    /* With one treatment there is no challenger to look for: it gets every
     * round, and only the probability of being best needs the draws. */
    bool single = cfg->k == 2;
    double won[STATS_BANDIT_MAX_ARMS] = {0}, best[STATS_BANDIT_MAX_ARMS] = {0};
    double theta[STATS_BANDIT_MAX_ARMS];
    for (unsigned d = 0; d < cfg->draws; d++) {
        for (size_t i = 0; i < cfg->k; i++)
            theta[i] = draw(r, cfg->metric, &post[i]);
        best[leader(r, theta, all, cfg->k)] += 1;
        size_t lead = leader(r, theta, treatments, cfg->k);
        if (single || gsl_rng_uniform(r) < cfg->beta) {
            won[lead] += 1;
            continue;
        }
        size_t challenger = lead;
        for (int t = 0; t < CHALLENGER_TRIES && challenger == lead; t++) {
            for (size_t i = 0; i < cfg->k; i++)
                if (i != cfg->control)
                    theta[i] = draw(r, cfg->metric, &post[i]);
            challenger = leader(r, theta, treatments, cfg->k);
        }
        if (challenger == lead) { /* the leader is all but certain: best of the rest */
            treatments[lead] = false;
            challenger = leader(r, theta, treatments, cfg->k);
            treatments[lead] = true;
        }
        won[challenger] += 1;
    }
    gsl_rng_free(r);

    for (size_t i = 0; i < cfg->k; i++) {
        out->allocation[i] = won[i] / cfg->draws;
        out->p_best[i] = best[i] / cfg->draws;
    }
    stats_bandit_weights_from(cfg, out->allocation, out->weights);
    return 0;
}

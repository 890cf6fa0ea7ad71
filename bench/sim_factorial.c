/* sim_factorial.c: does factorial promotion find the best offer, honestly?
 *
 * Simulates the demo's factorial experiment, offer-strategy
 * (sdk/web/demo/upshotd.demo.json: placement x wording x tiers x urgency,
 * two levels each, 16 cells, regions gr, pl, mena, ee, se), day by day,
 * and after every day hands the cumulative counts to analysis_decide: the
 * pure function upshotd's auto-promotion, the results endpoint and
 * `upshot show` call, so the combination step, the factor-level step,
 * SRM, minimum sample, guardrail and breaker are exactly the server's.
 * A promotion is applied as auto-promotion applies it: from the next day
 * only the holdback share (5%) of the region's visitors stays randomized
 * and counted in the cells, and a later decision may move the promotion to
 * another cell (a second factor's level on top of the first).
 *
 *   A/A    no true effect anywhere; counts the runs in which any region
 *          promotes anything within the days simulated: the family-wise
 *          false promotion rate (promised <= alpha, 5%), with its
 *          Clopper-Pearson 95% interval.
 *   power  the true effects tools/simulate states (keep them in step):
 *          relative lifts on the conversion rate, multiplied: placement
 *          checkout +20%, wording benefit +15%, tiers three +10%, urgency
 *          timer -5%, and wording benefit x urgency timer +30% in mena and
 *          pl only. The best cell is checkout-benefit-three-timer in mena
 *          and pl, checkout-benefit-three-none elsewhere. Per region: how
 *          often the promotion in force at the last day is the best cell,
 *          how often it is a cell truly worse than (or as good as) the
 *          control cell, and how often nothing was promoted.
 *
 * Traffic: --daily visitors a day enter the experiment (default 10,000),
 * split over the regions by tools/simulate's shares (gr 22%, pl 26%, mena
 * 18%, ee 12%, se 22%), each with its base conversion rate (4.0%, 3.5%,
 * 5.0%, 3.0%, 4.5%) and order value (42, 36, 61, 33, 55; three tiers
 * +15%, log-normal with sd 0.35 on the log scale). tools/run's simulator
 * sends 200 visitors/s, a quarter of whom reach offer-strategy (two of the
 * four pages, half of the offer-slot layer): one simulated day is about
 * 3.3 minutes of the demo. Cells get equal shares by a multinomial draw;
 * a quarter of the visitors who do not buy decline, in every cell.
 *
 * Seeded GSL generator (mt19937): the same command prints the same
 * figures. Prints a short report and one JSON line (bench/run reads it).
 *
 *   sim_factorial [--aa N] [--power N] [--days D] [--daily V] [--seed S]
 *                 [--holdback H]
 */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "config.h"
#include "experiment.h"
#include "results.h"
#include "stats_core.h"

#define NREG 5
#define NFAC 4
#define NCELL 16
#define MAX_DAYS 120

/* In the results table's order (sorted by name). */
static const char *const REGION[NREG] = {"ee", "gr", "mena", "pl", "se"};
static const double SHARE[NREG] = {0.12, 0.22, 0.18, 0.26, 0.22};
static const double BASE_RATE[NREG] = {0.030, 0.040, 0.050, 0.035, 0.045};
static const double AOV[NREG] = {33, 42, 61, 36, 55};
static const bool INTERACTS[NREG] = {false, false, true, true, false}; /* mena, pl */

/* Factors in definition order; level 1 is the non-control level. */
static const char *const FACTOR[NFAC] = {"placement", "wording", "tiers", "urgency"};
static const char *const LEVEL[NFAC][2] = {
    {"cart", "checkout"}, {"plain", "benefit"}, {"one", "three"}, {"none", "timer"}};
static const double MAIN[NFAC] = {0.20, 0.15, 0.10, -0.05};
static const double INTERACTION = 0.30; /* wording benefit x urgency timer, mena and pl */
static const double AOV_THREE = 0.15;
static const double DECLINE_SHARE = 0.25; /* of the visitors who do not buy */
static const double ORDER_LOG_SD = 0.35;

/* The level of factor f in cell c: the first factor varies slowest. */
static int level_of(int c, int f)
{
    return (c >> (NFAC - 1 - f)) & 1;
}

static double true_rate(int c, int r, bool effects)
{
    double p = BASE_RATE[r];
    if (!effects)
        return p;
    for (int f = 0; f < NFAC; f++)
        if (level_of(c, f))
            p *= 1.0 + MAIN[f];
    if (INTERACTS[r] && level_of(c, 1) && level_of(c, 3))
        p *= 1.0 + INTERACTION;
    return p;
}

static int best_cell(int r)
{
    int best = 0;
    for (int c = 1; c < NCELL; c++)
        if (true_rate(c, r, true) > true_rate(best, r, true))
            best = c;
    return best;
}

static void cell_key(int c, char *buf, size_t size)
{
    snprintf(buf, size, "%s-%s-%s-%s", LEVEL[0][level_of(c, 0)], LEVEL[1][level_of(c, 1)],
             LEVEL[2][level_of(c, 2)], LEVEL[3][level_of(c, 3)]);
}

/* offer-strategy as the demo config defines it, without the payloads (the
 * decisions never read them), with the promotions in force (-1: none). */
static experiment *make_experiment(const int promoted[NREG], double holdback)
{
    json_t *factors = json_array();
    for (int f = 0; f < NFAC; f++)
        json_array_append_new(factors, json_pack("{s:s, s:[{s:s}, {s:s}]}", "key", FACTOR[f],
                                                 "levels", "key", LEVEL[f][0], "key",
                                                 LEVEL[f][1]));
    json_t *def = json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s], s:s, s:[s], s:o, s:b, s:{s:b, s:f}}",
                            "key", "offer-strategy", "status", "running", "placement",
                            "offer_slot", "regions", "gr", "pl", "mena", "ee", "se", "goal",
                            "conversion", "guardrails", "decline_rate", "factors", factors,
                            "interactions", 1, "auto_promote", "enabled", 1, "holdback",
                            holdback);
    json_t *ps = json_object();
    for (int r = 0; r < NREG; r++) {
        if (promoted[r] < 0)
            continue;
        char key[64];
        cell_key(promoted[r], key, sizeof key);
        json_object_set_new(ps, REGION[r], json_pack("{s:s, s:f, s:s}", "variant", key,
                                                     "holdback", holdback, "since",
                                                     "2026-01-01T00:00:00Z"));
    }
    json_object_set_new(def, "promotions", ps);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    json_decref(def);
    if (!e)
        fprintf(stderr, "sim_factorial: %s\n", err);
    return e;
}

/* "YYYY-MM-DD" of day d from 2026-01-01. */
static void day_name(int d, char out[11])
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int m = 0;
    while (d >= mdays[m]) {
        d -= mdays[m];
        m++;
    }
    snprintf(out, 11, "2026-%02d-%02d", m + 1, d + 1);
}

typedef struct run_outcome {
    int final_cell[NREG];      /* promotion in force after the last day, -1: none */
    int first_day[NREG];       /* first promotion, -1: never */
    int changes[NREG];         /* promotions applied (a move to another cell counts) */
    int factor_level[NREG];    /* of them, by the factor-level step */
} run_outcome;

typedef struct sim {
    gsl_rng *rng;
    int days;
    unsigned daily;
    double holdback;
    analysis_settings settings;
    results_counts *counts;    /* [region][day][cell], daily counts */
} sim;

/* One region-day of traffic into the cells, at the true rates. */
static void one_day(sim *s, int r, int d, bool effects, bool promoted)
{
    unsigned visitors = (unsigned)lround(s->daily * SHARE[r]);
    if (promoted)
        visitors = gsl_ran_binomial(s->rng, s->holdback, visitors);
    double w[NCELL];
    unsigned split[NCELL];
    for (int c = 0; c < NCELL; c++)
        w[c] = 1.0;
    gsl_ran_multinomial(s->rng, NCELL, visitors, w, split);
    for (int c = 0; c < NCELL; c++) {
        results_counts *x = &s->counts[((size_t)r * s->days + d) * NCELL + c];
        memset(x, 0, sizeof *x);
        double p = true_rate(c, r, effects);
        unsigned conv = gsl_ran_binomial(s->rng, p, split[c]);
        unsigned decl = gsl_ran_binomial(s->rng, DECLINE_SHARE, split[c] - conv);
        x->visitors = split[c];
        x->conversions = x->orders = conv;
        x->decliners = x->decline_events = decl;
        double mean = AOV[r] * (effects && level_of(c, 2) ? 1.0 + AOV_THREE : 1.0);
        double zeta = log(mean) - ORDER_LOG_SD * ORDER_LOG_SD / 2;
        for (unsigned i = 0; i < conv; i++) {
            double v = gsl_ran_lognormal(s->rng, zeta, ORDER_LOG_SD);
            x->revenue_sum += v;
            x->revenue_sumsq += v * v;
        }
        x->capped_sum = x->revenue_sum;
        x->capped_sumsq = x->revenue_sumsq;
    }
}

/* One experiment of s->days daily looks. A/A runs (effects false) stop at
 * the first promotion: the run is already a false one. 0, or -1. */
static int run_one(sim *s, bool effects, run_outcome *o)
{
    int promoted[NREG];
    for (int r = 0; r < NREG; r++) {
        promoted[r] = o->final_cell[r] = o->first_day[r] = -1;
        o->changes[r] = o->factor_level[r] = 0;
    }
    experiment *e = make_experiment(promoted, s->holdback);
    if (!e)
        return -1;
    char regions[NREG][VALIDATE_KEY_MAX + 1];
    char(*days)[11] = calloc((size_t)s->days, sizeof *days);
    results_counts *cells = calloc((size_t)NREG * s->days * NCELL, sizeof *cells);
    results_counts *prom = calloc((size_t)NREG * NCELL, sizeof *prom);
    if (!days || !cells || !prom) {
        free(days);
        free(cells);
        free(prom);
        experiment_release(e);
        return -1;
    }
    for (int r = 0; r < NREG; r++)
        snprintf(regions[r], sizeof regions[r], "%s", REGION[r]);
    for (int d = 0; d < s->days; d++)
        day_name(d, days[d]);
    int rc = 0;
    bool stop = false;
    for (int d = 0; d < s->days && !stop && rc == 0; d++) {
        for (int r = 0; r < NREG; r++)
            one_day(s, r, d, effects, promoted[r] >= 0);
        /* The table of days 0..d: [region][day][cell] with d + 1 days. */
        int nd = d + 1;
        for (int r = 0; r < NREG; r++)
            memcpy(cells + (size_t)r * nd * NCELL, s->counts + (size_t)r * s->days * NCELL,
                   (size_t)nd * NCELL * sizeof *cells);
        results_table t = {.nvariants = NCELL, .nregions = NREG, .regions = regions,
                           .ndays = nd, .days = days, .cells = cells, .promoted = prom};
        analysis_decisions dec;
        if (analysis_decide(&t, e, &s->settings, &dec) != 0) {
            rc = -1;
            break;
        }
        bool changed = false;
        for (size_t i = 0; i < dec.n && i < NREG; i++) {
            const analysis_region_decision *rd = &dec.regions[i];
            int r = results_region_index(&t, rd->region);
            if (r < 0 || rd->promote_variant < 0 || rd->promote_variant == promoted[r])
                continue;
            promoted[r] = rd->promote_variant;
            if (o->first_day[r] < 0)
                o->first_day[r] = d;
            o->changes[r]++;
            if (rd->kind && strcmp(rd->kind, "factor_level") == 0)
                o->factor_level[r]++;
            changed = true;
        }
        analysis_decisions_free(&dec);
        if (changed) {
            if (!effects) {
                stop = true;
            } else {
                experiment_release(e);
                if (!(e = make_experiment(promoted, s->holdback)))
                    rc = -1;
            }
        }
    }
    for (int r = 0; r < NREG; r++)
        o->final_cell[r] = promoted[r];
    experiment_release(e);
    free(days);
    free(cells);
    free(prom);
    return rc;
}

/* Clopper-Pearson interval of k successes in n, level 1 - a. */
static void exact_ci(long k, long n, double a, double ci[2])
{
    ci[0] = k == 0 ? 0.0 : gsl_cdf_beta_Pinv(a / 2, (double)k, (double)(n - k + 1));
    ci[1] = k == n ? 1.0 : gsl_cdf_beta_Pinv(1 - a / 2, (double)(k + 1), (double)(n - k));
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void usage(void)
{
    fputs("usage: sim_factorial [--aa N] [--power N] [--days D] [--daily V] [--seed S]\n"
          "                     [--holdback H]\n",
          stderr);
}

int main(int argc, char **argv)
{
    stats_init();
    gsl_set_error_handler_off();
    long n_aa = 200, n_power = 50;
    unsigned long seed = 20261202;
    sim s = {.days = 28, .daily = 10000, .holdback = 0.05};
    s.settings = (analysis_settings){.alpha = 0.05, .tau2 = CONFIG_DEFAULT_TAU2,
                                     .min_sample = 1000, .correction = CORRECTION_HOLM};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--aa") == 0)
            n_aa = atol(v);
        else if (strcmp(a, "--power") == 0)
            n_power = atol(v);
        else if (strcmp(a, "--days") == 0)
            s.days = atoi(v);
        else if (strcmp(a, "--daily") == 0)
            s.daily = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoul(v, NULL, 10);
        else if (strcmp(a, "--holdback") == 0)
            s.holdback = atof(v);
        else {
            usage();
            return 2;
        }
    }
    if (n_aa < 0 || n_power < 0 || n_aa + n_power == 0 || s.days < 1 || s.days > MAX_DAYS ||
        s.daily < 16 || !(s.holdback > 0 && s.holdback <= 1)) {
        usage();
        return 2;
    }
    s.rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(s.rng, seed);
    s.counts = calloc((size_t)NREG * s.days * NCELL, sizeof *s.counts);
    if (!s.rng || !s.counts)
        return 1;

    printf("setup: offer-strategy, %d cells x %d regions, %d daily looks, %u visitors/day in the "
           "experiment (",
           NCELL, NREG, s.days, s.daily);
    for (int r = 0; r < NREG; r++)
        printf("%s%s %ld", r ? ", " : "", REGION[r], lround(s.daily * SHARE[r]));
    printf("), holdback %.0f%%, alpha %.2f, Holm, min_sample %ld, seed %lu\n", s.holdback * 100,
           s.settings.alpha, s.settings.min_sample, seed);

    long aa_false = 0, aa_regions = 0;
    for (long i = 0; i < n_aa; i++) {
        run_outcome o;
        if (run_one(&s, false, &o) != 0)
            return 1;
        int any = 0;
        for (int r = 0; r < NREG; r++)
            any += o.first_day[r] >= 0;
        aa_false += any > 0;
        aa_regions += any;
    }
    double aa_rate = n_aa ? (double)aa_false / n_aa : 0, aa_ci[2] = {0, 1};
    if (n_aa)
        exact_ci(aa_false, n_aa, 0.05, aa_ci);
    printf("A/A: %ld runs, %ld with a promotion in some region within %d days: %.2f%% "
           "(95%% CI %.2f-%.2f%%; promised <= %.0f%%)\n",
           n_aa, aa_false, s.days, aa_rate * 100, aa_ci[0] * 100, aa_ci[1] * 100,
           s.settings.alpha * 100);

    long found[NREG] = {0}, wrong[NREG] = {0}, none[NREG] = {0}, by_level = 0, moves = 0;
    long final[NREG][NCELL] = {{0}};
    int *first = calloc((size_t)(n_power ? n_power : 1) * NREG, sizeof *first);
    long nfirst = 0;
    if (!first)
        return 1;
    for (long i = 0; i < n_power; i++) {
        run_outcome o;
        if (run_one(&s, true, &o) != 0)
            return 1;
        for (int r = 0; r < NREG; r++) {
            int c = o.final_cell[r];
            if (c < 0) {
                none[r]++;
                continue;
            }
            final[r][c]++;
            found[r] += c == best_cell(r);
            wrong[r] += true_rate(c, r, true) <= true_rate(0, r, true);
            first[nfirst++] = o.first_day[r] + 1;
            by_level += o.factor_level[r];
            moves += o.changes[r];
        }
    }
    qsort(first, (size_t)nfirst, sizeof *first, cmp_int);
    long all_wrong = 0;
    for (int r = 0; r < NREG; r++)
        all_wrong += wrong[r];
    printf("power: %ld runs with tools/simulate's true effects; promotion in force after day %d:\n",
           n_power, s.days);
    for (int r = 0; r < NREG; r++) {
        char key[64];
        cell_key(best_cell(r), key, sizeof key);
        int mode = 0;
        for (int c = 1; c < NCELL; c++)
            if (final[r][c] > final[r][mode])
                mode = c;
        char mkey[64];
        cell_key(mode, mkey, sizeof mkey);
        printf("  %-4s best %s (+%.0f%%): found in %ld (%.0f%%), a cell no better than control "
               "in %ld, nothing promoted in %ld; most often %s (+%.0f%%, %ld)\n",
               REGION[r], key, (true_rate(best_cell(r), r, true) / BASE_RATE[r] - 1) * 100,
               found[r], n_power ? 100.0 * found[r] / n_power : 0, wrong[r], none[r], mkey,
               (true_rate(mode, r, true) / BASE_RATE[r] - 1) * 100, final[r][mode]);
    }
    if (nfirst)
        printf("  first promotion on day %d (median over promoting region-runs); %ld promotions "
               "applied, %ld of them by the factor-level step\n",
               first[nfirst / 2], moves, by_level);

    printf("{\"days\":%d,\"daily_total\":%u,\"holdback\":%g,\"seed\":%lu,"
           "\"aa\":{\"runs\":%ld,\"false\":%ld,\"rate\":%.6f,\"ci\":[%.6f,%.6f],"
           "\"region_promotions\":%ld},\"power\":{\"runs\":%ld,\"found_rate\":{",
           s.days, s.daily, s.holdback, seed, n_aa, aa_false, aa_rate, aa_ci[0], aa_ci[1],
           aa_regions, n_power);
    for (int r = 0; r < NREG; r++)
        printf("%s\"%s\":%.4f", r ? "," : "", REGION[r], n_power ? (double)found[r] / n_power : 0);
    printf("},\"none_rate\":{");
    for (int r = 0; r < NREG; r++)
        printf("%s\"%s\":%.4f", r ? "," : "", REGION[r], n_power ? (double)none[r] / n_power : 0);
    printf("},\"wrong_rate\":%.6f,\"median_first_day\":%d,\"promotions\":%ld,"
           "\"factor_level_promotions\":%ld}}\n",
           n_power ? (double)all_wrong / (n_power * NREG) : 0, nfirst ? first[nfirst / 2] : -1,
           moves, by_level);
    free(first);
    free(s.counts);
    gsl_rng_free(s.rng);
    return 0;
}

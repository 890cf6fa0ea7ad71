/* bench_stats.c -- time the full statistical analysis of one experiment
 * with 5 variants x 50 regions: per region and for the total, conversion
 * (Wilson, z, Wald, lift), decline guardrail, revenue (Welch), revenue
 * adjusted for the cart value (CUPED), AOV, SRM,
 * chi-square, Bayesian chance to beat and losses, mSPRT over 30 daily
 * looks, power and days to go; then Holm and BH across the 200
 * region x treatment p-values, as the promotion logic does.
 *
 * Prints the mean time per experiment in ms, the cost per region, and a
 * baseline measured in the same process: one trivial pass over the same
 * inputs (summing every count once), so the ratio survives machine noise.
 * --json prints one JSON object for bench/run (target: < 5 ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats.h"

#define REGIONS 50
#define VARIANTS 5
#define LOOKS 30

typedef struct region_data {
    stats_variant_input v[VARIANTS];
    uint64_t look_n[LOOKS * VARIANTS], look_x[LOOKS * VARIANTS];
} region_data;

static region_data regions[REGIONS + 1]; /* [REGIONS] is the total */

/* xorshift64*: deterministic data, same every run */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void make_data(void)
{
    memset(&regions[REGIONS], 0, sizeof regions[REGIONS]);
    for (int r = 0; r < REGIONS; r++) {
        double daily = 200.0 + 1800.0 * rnd(); /* visitors per arm per day */
        double base = 0.03 + 0.12 * rnd();     /* upsell take rate */
        for (int v = 0; v < VARIANTS; v++) {
            double rate = base * (1.0 + (v ? 0.15 * (rnd() - 0.3) : 0.0));
            uint64_t n = 0, x = 0;
            for (int l = 0; l < LOOKS; l++) {
                uint64_t dn = (uint64_t)(daily * (0.8 + 0.4 * rnd()));
                uint64_t dx = (uint64_t)(dn * rate * (0.7 + 0.6 * rnd()));
                n += dn;
                x += dx;
                regions[r].look_n[l * VARIANTS + v] = n;
                regions[r].look_x[l * VARIANTS + v] = x;
                regions[REGIONS].look_n[l * VARIANTS + v] += n;
                regions[REGIONS].look_x[l * VARIANTS + v] += x;
            }
            double aov = 25.0 + 10.0 * rnd();
            stats_variant_input *in = &regions[r].v[v];
            in->weight = 1.0;
            in->visitors = n;
            in->conversions = x;
            in->declines = (uint64_t)(n * 0.25);
            in->revenue_sum = aov * (double)x;
            in->revenue_sumsq = aov * aov * 1.3 * (double)x;
            /* cart value: 60% of visitors have one (mean 40), converters'
             * carts average 50; consistent with Cauchy-Schwarz for rates
             * below 0.6, so CUPED is computed, never refused */
            in->cov_sum = 0.6 * 40.0 * (double)n;
            in->cov_sumsq = 0.6 * 40.0 * 40.0 * 1.4 * (double)n;
            in->cov_cross = 50.0 * 1.05 * in->revenue_sum;
            stats_variant_input *t = &regions[REGIONS].v[v];
            t->weight = 1.0;
            t->visitors += n;
            t->conversions += x;
            t->declines += in->declines;
            t->revenue_sum += in->revenue_sum;
            t->revenue_sumsq += in->revenue_sumsq;
            t->cov_sum += in->cov_sum;
            t->cov_sumsq += in->cov_sumsq;
            t->cov_cross += in->cov_cross;
        }
    }
}

static stats_experiment_report reports[REGIONS + 1];

/* One full analysis; returns a checksum so nothing is optimised away. */
static double analyse_experiment(stats_bayes_workspace *ws)
{
    double sum = 0.0;
    for (int r = 0; r <= REGIONS; r++) {
        stats_experiment_input in = {.k = VARIANTS, .variants = regions[r].v,
                                     .has_declines = true, .has_covariate = true,
                                     .power_mde_rel = 0.1,
                                     .n_looks = LOOKS, .look_visitors = regions[r].look_n,
                                     .look_conversions = regions[r].look_x};
        stats_analyze(&in, &reports[r], ws);
        sum += reports[r].variants[1].bayes.chance_to_beat.value;
        sum += reports[r].variants[1].cuped.p.p;
    }
    /* multiplicity across regions x treatments, as promotion does */
    stats_pvalue p[REGIONS * (VARIANTS - 1)], q[REGIONS * (VARIANTS - 1)];
    for (int r = 0; r < REGIONS; r++)
        for (int v = 1; v < VARIANTS; v++)
            p[r * (VARIANTS - 1) + v - 1] = q[r * (VARIANTS - 1) + v - 1] =
                reports[r].variants[v].conversion.p;
    stats_adjust_pvalues(STATS_ADJUST_HOLM, p, REGIONS * (VARIANTS - 1));
    stats_adjust_pvalues(STATS_ADJUST_BH, q, REGIONS * (VARIANTS - 1));
    return sum + p[0].p + q[0].p;
}

/* Baseline: one pass over the same inputs doing trivial arithmetic. */
static double trivial_pass(void)
{
    double sum = 0.0;
    for (int r = 0; r <= REGIONS; r++) {
        for (int v = 0; v < VARIANTS; v++) {
            const stats_variant_input *in = &regions[r].v[v];
            sum += (double)in->conversions / (double)in->visitors + in->revenue_sum;
        }
        for (int i = 0; i < LOOKS * VARIANTS; i++)
            sum += (double)regions[r].look_x[i] / (double)regions[r].look_n[i];
    }
    return sum;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int json = argc > 1 && strcmp(argv[1], "--json") == 0;
    stats_init();
    make_data();
    stats_bayes_workspace *ws = stats_bayes_workspace_new();
    if (!ws)
        return 1;
    volatile double sink = 0.0;
    for (int i = 0; i < 5; i++) /* warm-up */
        sink += analyse_experiment(ws);
    int reps = 0;
    double t0 = now_s(), t1;
    do {
        sink += analyse_experiment(ws);
        reps++;
        t1 = now_s();
    } while (t1 - t0 < 2.0 || reps < 20);
    double per_exp = (t1 - t0) / reps;

    int breps = 0;
    double b0 = now_s(), b1;
    do {
        for (int i = 0; i < 100; i++)
            sink += trivial_pass();
        breps += 100;
        b1 = now_s();
    } while (b1 - b0 < 0.5);
    double per_base = (b1 - b0) / breps;
    stats_bayes_workspace_free(ws);

    /* CUPED must have run, not been refused */
    for (int r = 0; r <= REGIONS; r++)
        for (int v = 1; v < VARIANTS; v++)
            if (!reports[r].variants[v].cuped.p.defined) {
                fprintf(stderr, "bench_stats: CUPED undefined in region %d variant %d: %s\n", r,
                        v, reports[r].variants[v].cuped.p.why);
                return 1;
            }
    double ms = per_exp * 1e3;
    double per_region_us = per_exp * 1e6 / (REGIONS + 1);
    if (json) {
        printf("{\"bench\":\"stats\",\"regions\":%d,\"variants\":%d,\"looks\":%d,"
               "\"reps\":%d,\"ms_per_experiment\":%.4f,\"us_per_region\":%.2f,"
               "\"baseline_us\":%.3f,\"ratio_to_baseline\":%.1f,\"target_ms\":5.0,"
               "\"checksum\":%.6f}\n",
               REGIONS, VARIANTS, LOOKS, reps, ms, per_region_us, per_base * 1e6,
               per_exp / per_base, (double)sink);
    } else {
        printf("stats: %d regions x %d variants, %d daily looks, %d repetitions\n", REGIONS,
               VARIANTS, LOOKS, reps);
        printf("  full analysis      %8.3f ms per experiment (target < 5 ms)\n", ms);
        printf("  per region         %8.2f us (51 analyses: 50 regions + total)\n",
               per_region_us);
        printf("  trivial pass       %8.3f us over the same inputs (baseline)\n", per_base * 1e6);
        printf("  ratio              %8.1f x baseline\n", per_exp / per_base);
    }
    return 0;
}

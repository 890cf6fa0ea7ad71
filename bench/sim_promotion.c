/* sim_promotion.c: is per-region promotion honest?
 *
 * Runs simulated experiments (engine/core/promotion_sim.h) through decide_run,
 * the function upshotd's auto-promotion and `upshot show` call, with a
 * look after every day:
 *
 *   A/A    no true difference anywhere; counts the experiments in which
 *          any region gets a promotion recommendation on any day. The
 *          rules promise at most alpha (5%).
 *   power  a true relative lift in one variant of one region only; counts
 *          how often that region promotes that variant, and how often any
 *          other region promotes anything.
 *
 * Seeded GSL generator (mt19937): the same command prints the same
 * figures. Prints a short report and one JSON line (for scripts).
 *
 *   sim_promotion [--aa N] [--power N] [--seed S] [--regions R]
 *                 [--variants K] [--days D] [--daily V] [--rate P]
 *                 [--lift L] [--correction holm|bh] [--alpha A]
 *                 [--tau2 T] [--min-sample N] [--lift-regions N]
 *                 [--srm-shift S]
 *
 * --srm-shift S breaks the actual split in every experiment: S of all
 * traffic goes to control instead of variant 1 (0.01 at three equal
 * weights: 34.3% / 32.3% / 33.3%), while decide checks against the
 * configured weights. The report then says how many regions raised the
 * SRM alarm and on which day on average: the sequential SRM test's power.
 * Without it the A/A SRM alarm count is its false-alarm rate over all
 * looks (at most 0.1% of region-runs is the promise).
 *
 * --lift-regions N puts the same true lift in regions 0..N-1 (default 1):
 * with several true winners, Benjamini-Hochberg finds more of them than
 * Holm, which is the case for choosing it (docs/promotion.md).
 *
 * The circuit breaker (off unless asked, so the figures above stay as
 * documented): --breaker decline|aov|both turns it on; the A/A report
 * then counts the experiments in which any region tripped (at most the
 * breaker's alpha is the promise), and --harm N runs N more experiments
 * in which variant 1 of region 0 declines --decline-lift more often
 * (relative, default 0.30) and, with --aov-drop D, has orders worth D
 * less: how often and how soon that region trips, and how often another
 * one does. --order-sd S draws order values from a gamma of sd S (mean
 * 35), which the AOV test needs; --breaker-alpha A sets its level.
 */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "promotion_sim.h"
#include "stats_core.h"
#include "stats_msprt.h"

static void usage(void)
{
    fputs("usage: sim_promotion [--aa N] [--power N] [--seed S] [--regions R] [--variants K]\n"
          "                     [--days D] [--daily V] [--rate P] [--lift L]\n"
          "                     [--correction holm|bh] [--alpha A] [--tau2 T] [--min-sample N]\n"
          "                     [--lift-regions N] [--srm-shift S]\n"
          "                     [--breaker off|decline|aov|both] [--breaker-alpha A]\n"
          "                     [--harm N] [--decline-lift L] [--aov-drop D] [--order-sd S]\n",
          stderr);
}

int main(int argc, char **argv)
{
    stats_init();
    gsl_set_error_handler_off();
    long n_aa = 2000, n_power = 1000, n_harm = 0;
    unsigned long seed = 20261122;
    promotion_sim_params p;
    memset(&p, 0, sizeof p);
    p.regions = 5;
    p.variants = 3;
    p.days = 30;
    p.daily_visitors = 6000;
    p.base_rate = 0.04;
    p.decline_rate = 0.15;
    p.lift = 0.10;
    p.cfg.alpha = 0.05;
    p.cfg.min_sample = 1000;
    p.cfg.correction = DECIDE_CORRECTION_HOLM;
    p.cfg.goal = DECIDE_GOAL_CONVERSION;
    p.cfg.guard_decline = true;
    p.decline_lift = 0.30;
    const char *breaker = "off";

    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) { usage(); return 2; }
        i++;
        if (!strcmp(k, "--aa")) n_aa = atol(v);
        else if (!strcmp(k, "--power")) n_power = atol(v);
        else if (!strcmp(k, "--seed")) seed = strtoul(v, NULL, 10);
        else if (!strcmp(k, "--regions")) p.regions = (size_t)atol(v);
        else if (!strcmp(k, "--variants")) p.variants = (size_t)atol(v);
        else if (!strcmp(k, "--days")) p.days = (size_t)atol(v);
        else if (!strcmp(k, "--daily")) p.daily_visitors = (unsigned)atol(v);
        else if (!strcmp(k, "--rate")) p.base_rate = atof(v);
        else if (!strcmp(k, "--lift")) p.lift = atof(v);
        else if (!strcmp(k, "--alpha")) p.cfg.alpha = atof(v);
        else if (!strcmp(k, "--tau2")) p.cfg.tau2 = atof(v);
        else if (!strcmp(k, "--lift-regions")) p.lift_regions = (size_t)atol(v);
        else if (!strcmp(k, "--srm-shift")) p.srm_shift = atof(v);
        else if (!strcmp(k, "--min-sample")) p.cfg.min_sample = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--harm")) n_harm = atol(v);
        else if (!strcmp(k, "--decline-lift")) p.decline_lift = atof(v);
        else if (!strcmp(k, "--aov-drop")) p.aov_drop = atof(v);
        else if (!strcmp(k, "--order-sd")) p.order_sd = atof(v);
        else if (!strcmp(k, "--breaker-alpha")) p.cfg.breaker_alpha = atof(v);
        else if (!strcmp(k, "--breaker")) {
            breaker = v;
            p.cfg.breaker_decline = !strcmp(v, "decline") || !strcmp(v, "both");
            p.cfg.breaker_aov = !strcmp(v, "aov") || !strcmp(v, "both");
            if (strcmp(v, "off") && !p.cfg.breaker_decline && !p.cfg.breaker_aov) {
                usage();
                return 2;
            }
        }
        else if (!strcmp(k, "--correction")) {
            if (decide_parse_correction(v, &p.cfg.correction) != 0) { usage(); return 2; }
        } else { usage(); return 2; }
    }

    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    promotion_sim_outcome o;

    /* A/A */
    long aa_any = 0, aa_regions = 0, aa_srm = 0, aa_srm_day_sum = 0;
    long aa_trip_any = 0, aa_trip_regions = 0;
    promotion_sim_params aa = p;
    aa.lift_region = -1;
    aa.harm_region = -1;
    for (long e = 0; e < n_aa; e++) {
        if (promotion_sim_run(rng, &aa, &o) != 0) { fputs("simulation failed\n", stderr); return 1; }
        int any = 0;
        for (size_t r = 0; r < p.regions; r++) {
            if (o.first_promotion_day[r] >= 0) { any = 1; aa_regions++; }
            if (o.srm_alarm[r]) {
                aa_srm++;
                aa_srm_day_sum += o.first_srm_day[r] + 1;
            }
        }
        aa_any += any;
        int tripped = 0;
        for (size_t r = 0; r < p.regions; r++)
            if (o.first_trip_day[r] >= 0) { tripped = 1; aa_trip_regions++; }
        aa_trip_any += tripped;
    }

    /* regions 0..L-1, variant 1, with a true lift */
    size_t L = p.lift_regions ? p.lift_regions : 1;
    if (L > p.regions) L = p.regions;
    long hit = 0, hit_right_variant = 0, other_any = 0, first_day_sum = 0;
    promotion_sim_params pw = p;
    pw.lift_region = 0;
    pw.lift_variant = 1;
    pw.lift_regions = L;
    pw.harm_region = -1;
    for (long e = 0; e < n_power; e++) {
        if (promotion_sim_run(rng, &pw, &o) != 0) { fputs("simulation failed\n", stderr); return 1; }
        for (size_t r = 0; r < L; r++)
            if (o.first_promotion_day[r] >= 0) {
                hit++;
                if (o.promoted_variant[r] == 1) {
                    hit_right_variant++;
                    first_day_sum += o.first_promotion_day[r] + 1;
                }
            }
        int other = 0;
        for (size_t r = L; r < p.regions; r++)
            if (o.first_promotion_day[r] >= 0) other = 1;
        other_any += other;
    }
    /* harm: variant 1 of region 0 declines more (and sells cheaper) */
    long harm_hit = 0, harm_right = 0, harm_day_sum = 0, harm_other = 0, harm_promoted = 0;
    long harm_by_day[PROMOTION_SIM_MAX_DAYS + 1] = {0};
    promotion_sim_params hm = p;
    hm.lift_region = -1;
    hm.harm_region = 0;
    hm.harm_variant = 1;
    for (long e = 0; e < n_harm; e++) {
        if (promotion_sim_run(rng, &hm, &o) != 0) { fputs("simulation failed\n", stderr); return 1; }
        if (o.first_trip_day[0] >= 0) {
            harm_hit++;
            if (o.trip_variant[0] == 1) {
                harm_right++;
                harm_day_sum += o.first_trip_day[0] + 1;
                harm_by_day[o.first_trip_day[0] + 1]++;
            }
        }
        if (o.first_promotion_day[0] >= 0) harm_promoted++;
        int other = 0;
        for (size_t r = 1; r < p.regions; r++)
            if (o.first_trip_day[r] >= 0) other = 1;
        harm_other += other;
    }
    gsl_rng_free(rng);

    const char *corr = p.cfg.correction == DECIDE_CORRECTION_BH ? "bh" : "holm";
    if (p.srm_shift > 0)
        printf("actual split: %.4f of traffic moved from variant 1 to control\n", p.srm_shift);
    printf("setup: %zu regions x %zu variants, %zu daily looks, %u visitors per region per day "
           "(%.0f per arm), upsell rate %.2f%%, decline rate %.0f%%, alpha %.2f (%s), "
           "tau2 %g, min sample %llu, seed %lu\n",
           p.regions, p.variants, p.days, p.daily_visitors,
           (double)p.daily_visitors / (double)p.variants, p.base_rate * 100,
           p.decline_rate * 100, p.cfg.alpha, corr,
           p.cfg.tau2 > 0 ? p.cfg.tau2 : STATS_MSPRT_DEFAULT_TAU2, (unsigned long long)p.cfg.min_sample, seed);
    printf("A/A%s: %ld experiments, %ld with a promotion in any region (%.2f%%); "
           "%ld region promotions in all; %ld of %ld region-runs raised an SRM alarm "
           "(%.2f%%, mean first day %.1f)\n",
           p.srm_shift > 0 ? " with a broken split" : "", n_aa, aa_any,
           n_aa ? 100.0 * (double)aa_any / (double)n_aa : 0.0, aa_regions, aa_srm,
           n_aa * (long)p.regions, n_aa ? 100.0 * (double)aa_srm / (double)(n_aa * (long)p.regions) : 0.0,
           aa_srm ? (double)aa_srm_day_sum / (double)aa_srm : 0.0);
    if (p.cfg.breaker_decline || p.cfg.breaker_aov) {
        printf("breaker %s (alpha %.2f over %zu tests%s): A/A: %ld of %ld experiments tripped "
               "a region (%.2f%%); %ld region trips in all\n",
               breaker, p.cfg.breaker_alpha > 0 ? p.cfg.breaker_alpha : p.cfg.alpha,
               p.regions * (p.variants - 1) *
                   (size_t)((p.cfg.breaker_decline ? 1 : 0) + (p.cfg.breaker_aov ? 1 : 0)),
               p.order_sd > 0 ? ", order values random" : "", aa_trip_any, n_aa,
               n_aa ? 100.0 * (double)aa_trip_any / (double)n_aa : 0.0, aa_trip_regions);
        if (n_harm > 0) {
            long by7 = 0, by14 = 0, by3 = 0;
            for (size_t d = 1; d <= p.days && d <= PROMOTION_SIM_MAX_DAYS; d++) {
                if (d <= 3) by3 += harm_by_day[d];
                if (d <= 7) by7 += harm_by_day[d];
                if (d <= 14) by14 += harm_by_day[d];
            }
            printf("harm in region 0 (variant 1: declines +%.0f%% relative, orders -%.0f%%): %ld "
                   "experiments; that region tripped in %ld (%.1f%%), on the harmful variant in "
                   "%ld (mean first day %.1f; by day 3: %.1f%%, 7: %.1f%%, 14: %.1f%%); it was "
                   "promoted in %ld; another region tripped in %ld (%.2f%%)\n",
                   p.decline_lift * 100, p.aov_drop * 100, n_harm, harm_hit,
                   100.0 * (double)harm_hit / (double)n_harm, harm_right,
                   harm_right ? (double)harm_day_sum / (double)harm_right : 0.0,
                   100.0 * (double)by3 / (double)n_harm, 100.0 * (double)by7 / (double)n_harm,
                   100.0 * (double)by14 / (double)n_harm, harm_promoted, harm_other,
                   100.0 * (double)harm_other / (double)n_harm);
        }
    }
    double trials = (double)n_power * (double)L;
    char where[48];
    if (L == 1) snprintf(where, sizeof where, "region 0 only");
    else snprintf(where, sizeof where, "regions 0..%zu", L - 1);
    printf("+%.0f%% in %s: %ld experiments; %s promoted in %ld of %.0f region-runs (%.1f%%), "
           "with the right variant in %ld (%.1f%%, mean first day %.1f); any other region "
           "promoted in %ld experiments (%.2f%%)\n",
           p.lift * 100, where, n_power,
           L == 1 ? "that region" : "those regions", hit, trials,
           trials > 0 ? 100.0 * (double)hit / trials : 0.0, hit_right_variant,
           trials > 0 ? 100.0 * (double)hit_right_variant / trials : 0.0,
           hit_right_variant ? (double)first_day_sum / (double)hit_right_variant : 0.0, other_any,
           n_power ? 100.0 * (double)other_any / (double)n_power : 0.0);
    printf("{\"regions\":%zu,\"variants\":%zu,\"days\":%zu,\"daily_visitors\":%u,"
           "\"base_rate\":%g,\"lift\":%g,\"alpha\":%g,\"correction\":\"%s\",\"seed\":%lu,"
           "\"aa_experiments\":%ld,\"aa_any_promotion\":%ld,\"power_experiments\":%ld,"
           "\"power_region_promoted\":%ld,\"power_right_variant\":%ld,"
           "\"power_other_region_promoted\":%ld,\"lift_regions\":%zu,\"srm_shift\":%g,"
           "\"aa_srm_alarms\":%ld,\"breaker\":\"%s\",\"aa_any_trip\":%ld,"
           "\"harm_experiments\":%ld,\"harm_tripped\":%ld,\"harm_other_tripped\":%ld}\n",
           p.regions, p.variants, p.days, p.daily_visitors, p.base_rate, p.lift, p.cfg.alpha,
           corr, seed, n_aa, aa_any, n_power, hit, hit_right_variant, other_any, L, p.srm_shift,
           aa_srm, breaker, aa_trip_any, n_harm, harm_right, harm_other);
    return aa_any * 20 > n_aa ? 1 : 0; /* more than 5% false promotions fails */
}

/* sim_bandit.c: what a bandit experiment buys at the demo's traffic, and
 * whether the promotion rule stays honest while its weights move.
 *
 * Runs simulated 30-day experiments of six arms (control + five wordings)
 * in the five demo regions, each twice on the same truth: once with the
 * weights moved by stats_bandit_update_run (the update upshotd runs, same
 * settings and seeds as configured below) and once with a fixed equal
 * split. Traffic per region and baseline conversion rates are
 * tools/simulate's REGIONS table with 30,000 visitors a day in all (the
 * 6,000 per region per day docs/promotion.md calls the demo's traffic,
 * split by the table's shares):
 *
 *   region  share  visitors/day  baseline conversion
 *   gr      0.22   6,600         4.0%
 *   pl      0.26   7,800         3.5%
 *   mena    0.18   5,400         5.0%
 *   ee      0.12   3,600         3.0%
 *   se      0.22   6,600         4.5%
 *
 * Each update interval (a day, or 15 minutes with --every-15m), a region's
 * visitors are split across the arms by a multinomial draw from the weights
 * in force, and each arm's converters and decliners (15%) are binomial
 * draws at its true rates. The bandit then updates on the region's
 * cumulative counts (control share 1/6, floor 0.02 per wording, at least
 * 100 visitors per arm, beta 0.5) with --draws rounds of top-two sampling:
 * 1,000 by default against the engine's 10,000, which puts the Monte Carlo
 * error of a weight at 1.6% of the traffic instead of 0.5% and makes a run
 * ten times cheaper (a clear leader makes every round redraw up to 100
 * times for a challenger); the new weights hold from the next interval
 * on. Scenarios:
 *
 *   strong   wording 3 converts 20% better (relative) in every region
 *   aa       no difference anywhere
 *   regional a different best wording per region: wording 1 + r is +20%
 *            in region r, wording 1 + (r + 1) mod 5 is +10%
 *
 * Figures:
 *
 *   regret   expected conversions lost against showing every visitor the
 *            best arm of their region: sum over visitors of (best rate -
 *            rate of the arm shown), from the realised allocation and the
 *            true rates (so the binomial noise of the conversions does
 *            not blur the comparison). Both designs keep the control at
 *            1/6, so both pay for it.
 *   days to the lead: the day from which the region's best wording holds
 *            the largest weight of the five on every later day (top-two
 *            sampling with beta 0.5 gives the leader about half of the
 *            treatments' rounds, so it never gets a clear majority of the
 *            non-control traffic: "largest" is the measure), against the
 *            first day the fixed split's decision promotes it (from when
 *            it would get all of the traffic).
 *   A/A false promotion: the share of A/A experiments in which the
 *            promotion rule recommends a promotion in any region on any of
 *            the 30 days, with its Clopper-Pearson 95% interval. The promise
 *            is <= 5%. decide_run (the five regions and five wordings in
 *            one Holm family, alpha 0.05, min sample 1,000 per arm, decline
 *            guardrail; the always-valid rules) is fed after every day what
 *            upshotd feeds it for a bandit (engine/core/analysis.c,
 *            bandit_decide_inputs): per region one look of equivalent counts
 *            carrying each arm's period-weighted rates
 *            (stats_periods_effective), and the SRM test against the
 *            weights in force in each period (stats_periods_srm_run).
 *
 * For comparison the A/A runs also feed decide_run each region's
 * cumulative counts pooled over the periods, at every daily look, as a
 * fixed experiment's are; its SRM test checks one fixed weight vector,
 * which a bandit's counts cannot match, so there a promotion blocked only
 * by the SRM alarm counts as one (an upper bound on what the other rules
 * let through). With rates constant over time, as simulated, pooling does
 * not bias the comparison; with rates that drift while the weights move
 * it would (Simpson's paradox), which the period weighting is for and
 * this simulation does not exercise.
 *
 * Seeded GSL generator (mt19937) for the traffic, and every update seeded
 * from the run, region and period: the same command prints the same
 * figures. Prints a report and one JSON line (for bench/run).
 *
 *   sim_bandit [--runs N] [--aa N] [--every-15m N] [--seed S] [--draws D]
 *              [--report-only]
 *
 * --runs: experiments per scenario for regret and days (default 20);
 * --aa: A/A experiments for the false-promotion rate (default 1000);
 * --every-15m: experiments of the strong scenario updated every 15 minutes
 * (96 updates a day; default 0: about two CPU-minutes per experiment). Exits 1 when the A/A rate is
 * above 5%, unless --report-only (bench/run, whose gate judges the rate).
 */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandit_layout.h"
#include "bandit_plan.h"
#include "decide.h"
#include "stats_bandit.h"
#include "stats_core.h"
#include "stats_periods.h"

#define SIM_REGIONS 5
#define SIM_ARMS 6
#define SIM_DAYS 30
#define SIM_DAILY_TOTAL 30000
#define SIM_CONTROL_SHARE (1.0 / 6.0)
#define SIM_FLOOR 0.02
#define SIM_MIN_PER_ARM 100
#define SIM_DECLINE_RATE 0.15
#define SIM_MAX_SLOTS 96 /* updates per day at the shortest interval, 15 minutes */

/* tools/simulate's REGIONS table */
static const struct {
    const char *key;
    double share, rate;
} REGIONS[SIM_REGIONS] = {
    {"gr", 0.22, 0.040}, {"pl", 0.26, 0.035}, {"mena", 0.18, 0.050},
    {"ee", 0.12, 0.030}, {"se", 0.22, 0.045},
};

typedef enum { SC_STRONG, SC_AA, SC_REGIONAL } scenario;
static const char *SCENARIO_NAMES[] = {"strong", "aa", "regional"};

typedef struct sim_result {
    double regret;                     /* expected conversions lost, all regions */
    double optimum;                    /* expected conversions showing the best arm */
    int largest_day[SIM_REGIONS];      /* 1-based day from which the best wording has the
                                          largest weight of the wordings on every later
                                          day; 0: not on day 30 */
    int promote_day[SIM_REGIONS];      /* 1-based first day of a promotion; 0: never */
    int promoted[SIM_REGIONS];         /* the arm promoted then, -1 none */
    bool any_promotion;                /* some region promoted on some day: the bandit's
                                          period-aware decision, or the fixed split's */
    bool any_pooled;                   /* bandit: the decision on counts pooled over
                                          periods promoted, or would have but for SRM */
    bool any_srm;                      /* the period-aware SRM alarm rang somewhere */
    bool any_srm_pooled;               /* SRM against the starting weights rang */
    double moved_share[SIM_REGIONS];   /* bandit: buckets whose owner ever changed at the
                                          end (engine/core/bandit_layout.h), the largest
                                          share of returning visitors needing a lookup */
    double moved_any;                  /* buckets moved in some region: what upshotd's
                                          lookup decision uses (assign_needs_lookup) */
} sim_result;

static void true_rates(scenario sc, size_t r, double *p)
{
    for (size_t a = 0; a < SIM_ARMS; a++) p[a] = REGIONS[r].rate;
    if (sc == SC_STRONG) p[3] *= 1.20;
    if (sc == SC_REGIONAL) {
        p[1 + r % 5] *= 1.20;
        p[1 + (r + 1) % 5] *= 1.10;
    }
}

static size_t best_arm(const double *p)
{
    size_t b = 0;
    for (size_t a = 1; a < SIM_ARMS; a++)
        if (p[a] > p[b]) b = a;
    return b;
}

/* splitmix64 finaliser: the seed of one update from the run, region and period */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A promotion the rules would make in this region were the SRM alarm
 * silent: some wording that passes everything else. */
static bool would_promote(const decide_region_result *rr, const decide_config *cfg)
{
    if (rr->rec == DECIDE_REC_PROMOTE) return true;
    if (!rr->srm_failed || !rr->min_sample_met || rr->breaker.tripped) return false;
    for (size_t v = 0; v < cfg->nvariants; v++) {
        const decide_arm *a = &rr->arms[v];
        if (v != cfg->control && a->tested && !a->guardrail_failed &&
            a->p_adjusted < cfg->alpha && a->lift > 0)
            return true;
    }
    return false;
}

/* One experiment. bandit: weights moved by the update, else the fixed
 * equal split; slots: updates per day; decide: run the daily decision. */
static int sim_run(gsl_rng *rng, scenario sc, bool bandit, unsigned slots, bool decide,
                   unsigned draws, uint64_t run_seed, sim_result *out)
{
    memset(out, 0, sizeof *out);
    static decide_counts looks[SIM_REGIONS][SIM_DAYS * SIM_ARMS];
    double w[SIM_REGIONS][SIM_ARMS], p[SIM_REGIONS][SIM_ARMS];
    stats_bandit_arm cum[SIM_REGIONS][SIM_ARMS];
    decide_counts cnt[SIM_REGIONS][SIM_ARMS];
    unsigned period[SIM_REGIONS] = {0};
    size_t best[SIM_REGIONS];
    memset(cum, 0, sizeof cum);
    memset(cnt, 0, sizeof cnt);
    for (size_t r = 0; r < SIM_REGIONS; r++) {
        true_rates(sc, r, p[r]);
        best[r] = best_arm(p[r]);
        for (size_t a = 0; a < SIM_ARMS; a++) w[r][a] = 1.0 / SIM_ARMS;
        out->promoted[r] = -1;
    }
    double equal[SIM_ARMS];
    for (size_t a = 0; a < SIM_ARMS; a++) equal[a] = 1.0 / SIM_ARMS;
    static bandit_layout layout[SIM_REGIONS];
    for (size_t r = 0; r < SIM_REGIONS; r++)
        if (bandit_layout_init(&layout[r], equal, SIM_ARMS) != 0) return -1;
    decide_config dc = {.nvariants = SIM_ARMS, .control = 0, .weights = equal,
                        .goal = DECIDE_GOAL_CONVERSION, .guard_decline = true, .alpha = 0.05,
                        .min_sample = 1000, .correction = DECIDE_CORRECTION_HOLM};
    stats_bandit_config bc = {.k = SIM_ARMS, .control = 0, .control_share = SIM_CONTROL_SHARE,
                              .floor = SIM_FLOOR, .min_per_arm = SIM_MIN_PER_ARM,
                              .metric = STATS_BANDIT_CONVERSION,
                              .beta = STATS_BANDIT_DEFAULT_BETA, .draws = draws};
    /* Per region and period (decide runs only with daily updates, so at
     * most SIM_DAYS + 1 periods): each arm's cohort, as upshotd's counters
     * keep it, and the weights in force. */
    static stats_periods_cell pconv[SIM_REGIONS][SIM_DAYS + 1][SIM_ARMS];
    static stats_periods_cell pdecl[SIM_REGIONS][SIM_DAYS + 1][SIM_ARMS];
    static double pw[SIM_REGIONS][SIM_DAYS + 1][SIM_ARMS];
    if (decide && slots != 1) return -1;
    if (decide) {
        memset(pconv, 0, sizeof pconv);
        memset(pdecl, 0, sizeof pdecl);
    }
    for (size_t d = 0; d < SIM_DAYS; d++) {
        for (size_t r = 0; r < SIM_REGIONS; r++) {
            /* the weights in force on day d + 1: at its start (daily
             * updates change them only at the end of a day) */
            if (bandit && sc != SC_AA) {
                bool largest = true;
                for (size_t a = 1; a < SIM_ARMS; a++)
                    if (a != best[r] && w[r][a] >= w[r][best[r]]) largest = false;
                if (!largest) out->largest_day[r] = 0;
                else if (out->largest_day[r] == 0) out->largest_day[r] = (int)d + 1;
            }
            unsigned daily = (unsigned)lround(SIM_DAILY_TOTAL * REGIONS[r].share);
            for (unsigned s = 0; s < slots; s++) {
                unsigned n = (unsigned)((uint64_t)daily * (s + 1) / slots -
                                        (uint64_t)daily * s / slots);
                unsigned split[SIM_ARMS];
                gsl_ran_multinomial(rng, SIM_ARMS, n, w[r], split);
                for (size_t a = 0; a < SIM_ARMS; a++) {
                    unsigned conv = gsl_ran_binomial(rng, p[r][a], split[a]);
                    unsigned decl = gsl_ran_binomial(rng, SIM_DECLINE_RATE, split[a]);
                    cum[r][a].visitors += split[a];
                    cum[r][a].conversions += conv;
                    cnt[r][a].visitors += split[a];
                    cnt[r][a].conversions += conv;
                    cnt[r][a].orders += conv;
                    cnt[r][a].decliners += decl;
                    if (decide) {
                        stats_periods_cell *c = &pconv[r][period[r]][a], *x = &pdecl[r][period[r]][a];
                        c->n += split[a];
                        c->sum += conv;
                        x->n += split[a];
                        x->sum += decl;
                        pw[r][period[r]][a] = w[r][a];
                    }
                    out->regret += split[a] * (p[r][best[r]] - p[r][a]);
                    out->optimum += split[a] * p[r][best[r]];
                }
                if (!bandit) continue;
                bc.seed = mix(run_seed ^ mix(r * 1000003ULL + period[r] + 1));
                stats_bandit_update u;
                if (stats_bandit_update_run(&bc, cum[r], w[r], &u) != 0) return -1;
                /* as upshotd: a new period, and buckets moved, only when the
                 * weights move more than BANDIT_PLAN_MIN_MOVE of the traffic */
                if (!u.waiting && bandit_plan_changed(w[r], u.weights, SIM_ARMS)) {
                    memcpy(w[r], u.weights, sizeof w[r]);
                    period[r]++;
                    if (bandit_layout_apply(&layout[r], w[r], SIM_ARMS) < 0) return -1;
                }
            }
            memcpy(&looks[r][d * SIM_ARMS], cnt[r], sizeof cnt[r]);
        }
        if (!decide) continue;
        decide_region regs[SIM_REGIONS];
        for (size_t r = 0; r < SIM_REGIONS; r++)
            regs[r] = (decide_region){.name = REGIONS[r].key, .nlooks = d + 1, .looks = looks[r]};
        decide_result res;
        if (decide_run(&dc, regs, SIM_REGIONS, &res) != 0) return -1;
        for (size_t r = 0; r < SIM_REGIONS; r++) {
            const decide_region_result *rr = &res.regions[r];
            if (!bandit) {
                if (rr->rec == DECIDE_REC_PROMOTE && out->promote_day[r] == 0) {
                    out->promote_day[r] = (int)d + 1;
                    out->promoted[r] = rr->variant;
                    out->any_promotion = true;
                }
                continue;
            }
            if (rr->srm_failed) out->any_srm_pooled = true;
            if (would_promote(rr, &dc)) out->any_pooled = true;
        }
        decide_result_free(&res);
        if (!bandit) continue;
        /* The bandit as upshotd decides on it (engine/core/analysis.c,
         * bandit_decide_inputs): one look per region of equivalent counts
         * carrying each arm's period-weighted rates, and the SRM against
         * the weights in force in each period. */
        decide_counts eq[SIM_REGIONS][SIM_ARMS];
        decide_srm srm[SIM_REGIONS];
        const decide_srm *use[SIM_REGIONS];
        for (size_t r = 0; r < SIM_REGIONS; r++) {
            stats_periods_cell cc[(SIM_DAYS + 1) * SIM_ARMS], dd[(SIM_DAYS + 1) * SIM_ARMS];
            uint64_t nn[(SIM_DAYS + 1) * SIM_ARMS];
            double ww[(SIM_DAYS + 1) * SIM_ARMS];
            size_t np = 0;
            for (unsigned q = 0; q <= period[r] && q <= SIM_DAYS; q++) {
                uint64_t any = 0;
                for (size_t a = 0; a < SIM_ARMS; a++) any += pconv[r][q][a].n;
                if (!any) continue;
                for (size_t a = 0; a < SIM_ARMS; a++) {
                    cc[np * SIM_ARMS + a] = pconv[r][q][a];
                    dd[np * SIM_ARMS + a] = pdecl[r][q][a];
                    nn[np * SIM_ARMS + a] = pconv[r][q][a].n;
                    ww[np * SIM_ARMS + a] = pw[r][q][a];
                }
                np++;
            }
            for (size_t a = 0; a < SIM_ARMS; a++) {
                stats_periods_equiv qc, qd;
                stats_periods_effective(cc, np, SIM_ARMS, a, STATS_PERIODS_RATE, &qc);
                stats_periods_effective(dd, np, SIM_ARMS, a, STATS_PERIODS_RATE, &qd);
                double n = floor(qc.n_eff);
                uint64_t conv = (uint64_t)llround(qc.mean * n);
                eq[r][a] = (decide_counts){.visitors = (uint64_t)n, .conversions = conv,
                                           .orders = conv,
                                           .decliners = (uint64_t)llround(qd.mean * n),
                                           .revenue_sum = 35.0 * (double)conv,
                                           .revenue_sumsq = 35.0 * 35.0 * (double)conv};
            }
            stats_periods_srm sr;
            srm[r] = (decide_srm){1, 1};
            if (stats_periods_srm_run(nn, ww, np, SIM_ARMS, 0, DECIDE_SRM_ALPHA, &sr) == 0) {
                srm[r].p = sr.p.defined ? sr.p.p : 1;
                srm[r].p_always_valid = sr.p_always_valid.defined ? sr.p_always_valid.p : 1;
            }
            use[r] = &srm[r];
            regs[r] = (decide_region){.name = REGIONS[r].key, .nlooks = 1, .looks = eq[r]};
        }
        decide_config pc = dc;
        pc.srm = use;
        if (decide_run(&pc, regs, SIM_REGIONS, &res) != 0) return -1;
        for (size_t r = 0; r < SIM_REGIONS; r++) {
            const decide_region_result *rr = &res.regions[r];
            if (rr->srm_failed) out->any_srm = true;
            if (rr->rec == DECIDE_REC_PROMOTE && out->promote_day[r] == 0) {
                out->promote_day[r] = (int)d + 1;
                out->promoted[r] = rr->variant;
                out->any_promotion = true;
            }
        }
        decide_result_free(&res);
    }
    uint32_t any = 0;
    for (size_t r = 0; r < SIM_REGIONS; r++)
        out->moved_share[r] = bandit_layout_moved_share(&layout[r]);
    for (uint32_t b = 0; b < HASH_BUCKETS; b++) {
        bool m = false;
        for (size_t r = 0; r < SIM_REGIONS && !m; r++)
            m = bandit_layout_bucket_moved(&layout[r], b);
        any += m;
    }
    out->moved_any = (double)any / HASH_BUCKETS;
    return 0;
}

/* Clopper-Pearson 95% interval of x successes in n */
static void binom_ci(long x, long n, double *lo, double *hi)
{
    *lo = x == 0 ? 0.0 : gsl_cdf_beta_Pinv(0.025, (double)x, (double)(n - x + 1));
    *hi = x == n ? 1.0 : gsl_cdf_beta_Pinv(0.975, (double)(x + 1), (double)(n - x));
}

typedef struct scenario_summary {
    double regret_bandit, regret_fixed, optimum; /* means per experiment */
    double regret_bandit_15m;                    /* 15-minute updates; NAN when not run */
    long region_runs;                            /* regions x experiments */
    long largest;                                /* region-runs where the bandit got there */
    double largest_day_mean;
    long promoted_fixed;                         /* fixed split promoted the best wording */
    double promote_day_fixed_mean;
    double days_earlier_mean;                    /* over region-runs with both */
    long both;
    double moved_share_mean, moved_share_max;    /* bandit, over region-runs at day 30 */
    double moved_any_mean;                       /* bandit, buckets moved in some region */
} scenario_summary;

static int run_scenario(gsl_rng *rng, scenario sc, long runs, long runs15, unsigned draws,
                        uint64_t seed, scenario_summary *s)
{
    memset(s, 0, sizeof *s);
    s->regret_bandit_15m = NAN;
    double maj_sum = 0, prom_sum = 0, early_sum = 0;
    for (long i = 0; i < runs; i++) {
        sim_result b, f;
        uint64_t rs = mix(seed ^ mix((uint64_t)sc << 40 | (uint64_t)i));
        if (sim_run(rng, sc, true, 1, false, draws, rs, &b) != 0 ||
            sim_run(rng, sc, false, 1, true, draws, rs, &f) != 0)
            return -1;
        s->regret_bandit += b.regret / runs;
        s->moved_any_mean += b.moved_any / (double)runs;
        for (size_t r = 0; r < SIM_REGIONS; r++) {
            s->moved_share_mean += b.moved_share[r] / (double)(runs * SIM_REGIONS);
            if (b.moved_share[r] > s->moved_share_max) s->moved_share_max = b.moved_share[r];
        }
        s->regret_fixed += f.regret / runs;
        s->optimum += f.optimum / runs;
        for (size_t r = 0; r < SIM_REGIONS; r++) {
            double p[SIM_ARMS];
            true_rates(sc, r, p);
            int bestv = (int)best_arm(p);
            s->region_runs++;
            if (b.largest_day[r]) {
                s->largest++;
                maj_sum += b.largest_day[r];
            }
            if (f.promote_day[r] && f.promoted[r] == bestv) {
                s->promoted_fixed++;
                prom_sum += f.promote_day[r];
                if (b.largest_day[r]) {
                    s->both++;
                    early_sum += f.promote_day[r] - b.largest_day[r];
                }
            }
        }
    }
    s->largest_day_mean = s->largest ? maj_sum / s->largest : NAN;
    s->promote_day_fixed_mean = s->promoted_fixed ? prom_sum / s->promoted_fixed : NAN;
    s->days_earlier_mean = s->both ? early_sum / s->both : NAN;
    if (runs15 > 0) {
        s->regret_bandit_15m = 0;
        for (long i = 0; i < runs15; i++) {
            sim_result b;
            uint64_t rs = mix(seed ^ mix((uint64_t)sc << 40 | (uint64_t)i));
            if (sim_run(rng, sc, true, SIM_MAX_SLOTS, false, draws, rs, &b) != 0) return -1;
            s->regret_bandit_15m += b.regret / runs15;
        }
    }
    return 0;
}

static void usage(void)
{
    fputs("usage: sim_bandit [--runs N] [--aa N] [--every-15m N] [--seed S] [--draws D]\n"
          "                  [--report-only]\n", stderr);
}

static void json_num(const char *k, double v, bool comma)
{
    if (isfinite(v)) printf("\"%s\":%.6g%s", k, v, comma ? "," : "");
    else printf("\"%s\":null%s", k, comma ? "," : "");
}

int main(int argc, char **argv)
{
    stats_init();
    gsl_set_error_handler_off();
    long runs = 20, n_aa = 1000, runs15 = 0;
    unsigned long seed = 20261202;
    unsigned draws = 1000;
    bool report_only = false;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--report-only")) {
            report_only = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) { usage(); return 2; }
        i++;
        if (!strcmp(k, "--runs")) runs = atol(v);
        else if (!strcmp(k, "--aa")) n_aa = atol(v);
        else if (!strcmp(k, "--every-15m")) runs15 = atol(v);
        else if (!strcmp(k, "--seed")) seed = strtoul(v, NULL, 10);
        else if (!strcmp(k, "--draws")) draws = (unsigned)atol(v);
        else { usage(); return 2; }
    }
    if (runs < 1 || n_aa < 0 || runs15 < 0 || draws < 100) { usage(); return 2; }

    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    scenario_summary sum[3];
    for (int sc = 0; sc < 3; sc++)
        if (run_scenario(rng, (scenario)sc, runs, sc == SC_STRONG ? runs15 : 0, draws, seed,
                         &sum[sc]) != 0) {
            fputs("simulation failed\n", stderr);
            return 1;
        }
    /* A/A under the bandit through the decision */
    long aa_any = 0, aa_srm = 0, aa_pooled = 0, aa_srm_pooled = 0;
    for (long i = 0; i < n_aa; i++) {
        sim_result b;
        if (sim_run(rng, SC_AA, true, 1, true, draws, mix(seed ^ mix(0xaaULL << 40 | (uint64_t)i)),
                    &b) != 0) {
            fputs("simulation failed\n", stderr);
            return 1;
        }
        aa_any += b.any_promotion;
        aa_srm += b.any_srm;
        aa_pooled += b.any_pooled;
        aa_srm_pooled += b.any_srm_pooled;
    }
    gsl_rng_free(rng);
    double lo = 0, hi = 0;
    if (n_aa > 0) binom_ci(aa_any, n_aa, &lo, &hi);
    double aa_rate = n_aa ? (double)aa_any / (double)n_aa : 0;

    printf("setup: 5 regions (gr 6600, pl 7800, mena 5400, ee 3600, se 6600 visitors/day; "
           "baseline 4.0/3.5/5.0/3.0/4.5%%), 6 arms, %d days, control share 1/6, floor %.2f, "
           "min %d per arm, beta %.1f, %u draws, seed %lu\n",
           SIM_DAYS, SIM_FLOOR, SIM_MIN_PER_ARM, STATS_BANDIT_DEFAULT_BETA, draws, seed);
    for (int sc = 0; sc < 3; sc++) {
        const scenario_summary *s = &sum[sc];
        printf("%s (%ld experiments): regret bandit %.0f vs fixed %.0f conversions "
               "(%.0f%% less; best possible %.0f)",
               SCENARIO_NAMES[sc], runs, s->regret_bandit, s->regret_fixed,
               s->regret_fixed > 0 ? 100.0 * (1 - s->regret_bandit / s->regret_fixed) : 0.0,
               s->optimum);
        if (isfinite(s->regret_bandit_15m))
            printf("; every 15 minutes %.0f (%ld experiments)", s->regret_bandit_15m, runs15);
        printf("\n  buckets moved by day %d (returning visitors who can need a lookup): "
               "%.1f%% per region on average, at most %.1f%%; moved in some region %.1f%%\n",
               SIM_DAYS, 100 * s->moved_share_mean, 100 * s->moved_share_max,
               100 * s->moved_any_mean);
        if (sc != SC_AA)
            printf("  best wording leads the weights for good under the bandit in %ld of "
                   "%ld region-runs, from day %.1f on average; the fixed split promoted it in "
                   "%ld, on day %.1f on average; where both: %.1f days earlier under the bandit "
                   "(%ld region-runs)\n",
                   s->largest, s->region_runs, s->largest_day_mean, s->promoted_fixed,
                   s->promote_day_fixed_mean, s->days_earlier_mean, s->both);
    }
    double plo = 0, phi = 0;
    if (n_aa > 0) binom_ci(aa_pooled, n_aa, &plo, &phi);
    printf("A/A under the bandit: %ld experiments, %ld with a promotion in any region on any day "
           "(%.2f%%, 95%% CI %.2f%%..%.2f%%; the SRM check against the weights in force rang "
           "in %ld)\n", n_aa, aa_any, 100 * aa_rate, 100 * lo, 100 * hi, aa_srm);
    printf("  on counts pooled over periods instead (SRM ignored: it rang against the starting "
           "weights in %ld): %ld (%.2f%%, 95%% CI %.2f%%..%.2f%%)\n", aa_srm_pooled, aa_pooled,
           n_aa ? 100.0 * (double)aa_pooled / (double)n_aa : 0.0, 100 * plo, 100 * phi);

    printf("{\"seed\":%lu,\"days\":%d,\"draws\":%u,\"runs\":%ld,\"runs_15m\":%ld,", seed, SIM_DAYS,
           draws, runs, runs15);
    for (int sc = 0; sc < 3; sc++) {
        const scenario_summary *s = &sum[sc];
        printf("\"%s\":{", SCENARIO_NAMES[sc]);
        json_num("regret_bandit", s->regret_bandit, true);
        json_num("regret_fixed", s->regret_fixed, true);
        json_num("regret_bandit_15m", s->regret_bandit_15m, true);
        json_num("optimum", s->optimum, true);
        json_num("largest_day", s->largest_day_mean, true);
        json_num("fixed_promote_day", s->promote_day_fixed_mean, true);
        json_num("days_earlier", s->days_earlier_mean, true);
        json_num("moved_share", s->moved_share_mean, true);
        json_num("moved_share_max", s->moved_share_max, true);
        json_num("moved_any", s->moved_any_mean, true);
        printf("\"region_runs\":%ld,\"largest\":%ld,\"fixed_promoted\":%ld},", s->region_runs,
               s->largest, s->promoted_fixed);
    }
    printf("\"aa_experiments\":%ld,\"aa_any_promotion\":%ld,", n_aa, aa_any);
    json_num("aa_rate", aa_rate, true);
    json_num("aa_ci_lo", lo, true);
    json_num("aa_ci_hi", hi, true);
    printf("\"aa_srm_alarms\":%ld,\"aa_pooled_promotion\":%ld,", aa_srm, aa_pooled);
    json_num("aa_pooled_ci_hi", phi, false);
    printf("}\n");
    return !report_only && aa_any * 20 > n_aa ? 1 : 0; /* more than 5% false promotions fails */
}

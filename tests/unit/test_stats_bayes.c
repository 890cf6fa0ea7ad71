/* Tests for stats_bayes. Sources: R's integrate() over dbeta/pbeta
 * (reference.R), SciPy quad over Boost's betainc (reference.py), mpmath at
 * 30 digits for 1e8 visitors per arm (reference.py), closed forms. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define ABS(act, exp, tol)                                                                    \
    cr_expect(fabs((double)(act) - (double)(exp)) <= (tol),                                  \
              "%s = %.17g, expected %.17g (abs tol %g)", #act, (double)(act), (double)(exp), \
              (double)(tol))
#define REL(act, exp, tol)                                                                    \
    cr_expect(fabs((double)(act) - (double)(exp)) <= (tol) * fabs((double)(exp)),            \
              "%s = %.17g, expected %.17g (rel tol %g)", #act, (double)(act), (double)(exp), \
              (double)(tol))

static stats_bayes_workspace *ws;
static void init(void)
{
    stats_init();
    ws = stats_bayes_workspace_new();
}
static void fini(void) { stats_bayes_workspace_free(ws); }
TestSuite(stats_bayes, .init = init, .fini = fini);

Test(stats_bayes, moderate_samples_match_r_integrate)
{
    stats_bayes_result r;
    cr_assert_eq(stats_bayes_compare(1000, 100, 1000, 120, ws, &r), 0);
    /* R 4.2.2 integrate(dbeta(t,101,901) * pbeta(t,121,881, lower=FALSE)) */
    ABS(r.chance_to_beat.value, 0.92318343897355937, 1e-10);
    ABS(r.chance_to_lose.value, 1.0 - 0.92318343897355937, 1e-10);
    /* R 4.2.2 integrate(pbeta(t,121,881) * pbeta(t,101,901, lower=FALSE)) */
    REL(r.loss_ship.value, 0.00048461392635644419, 1e-8);
    /* SciPy (reference.py): loss_ship + E[p1] - E[p0] */
    REL(r.loss_keep.value, 0.020444693766676108, 1e-9);

    cr_assert_eq(stats_bayes_compare(50, 5, 40, 2, ws, &r), 0);
    /* R 4.2.2 (reference.R, "bayes 50/5 vs 40/2") */
    ABS(r.chance_to_beat.value, 0.21649234294414185, 1e-10);
    REL(r.loss_ship.value, 0.051621439793356816, 1e-8);
    /* SciPy (reference.py) */
    REL(r.loss_keep.value, 0.007665395837312877, 1e-8);

    /* SciPy quad over Boost betainc (reference.py, 20000/2000 vs 20000/2100) */
    stats_bayes_compare(20000, 2000, 20000, 2100, ws, &r);
    ABS(r.chance_to_beat.value, 0.950361700043419, 1e-10);
    REL(r.loss_ship.value, 6.284698009409769e-05, 1e-8);
}

Test(stats_bayes, closed_forms_for_tiny_samples)
{
    stats_bayes_result r;
    /* Beta(1,1) vs Beta(1,1): 1/2; E|p1 - p0|/2 = 1/6 */
    stats_bayes_compare(0, 0, 0, 0, ws, &r);
    ABS(r.chance_to_beat.value, 0.5, 1e-12);
    ABS(r.loss_ship.value, 1.0 / 6.0, 1e-12);
    /* Beta(1,2) control vs Beta(2,1): P = 5/6 (integral of 2(1-t) * (1 - t^2)) */
    stats_bayes_compare(1, 0, 1, 1, ws, &r);
    ABS(r.chance_to_beat.value, 5.0 / 6.0, 1e-12);
    /* E[(p0-p1)+] = 1/30, E[(p1-p0)+] = 1/30 + 2/3 - 1/3 = 11/30 */
    ABS(r.loss_ship.value, 1.0 / 30.0, 1e-12);
    ABS(r.loss_keep.value, 11.0 / 30.0, 1e-12);
    /* swapping arms swaps the answers */
    stats_bayes_result s;
    stats_bayes_compare(1, 1, 1, 0, ws, &s);
    ABS(s.chance_to_beat.value, 1.0 / 6.0, 1e-12);
    ABS(s.loss_ship.value, 11.0 / 30.0, 1e-12);
}

Test(stats_bayes, huge_samples_stay_accurate)
{
    stats_bayes_result r;
    /* 1e8 visitors per arm, 34.00% vs 34.01%. mpmath at 30 digits with
     * loggamma densities and nested quadrature (reference.py, "bayes mp
     * 1e8"). SciPy's double-precision beta.pdf is off by 4e-5 here, which
     * is the cancellation this module avoids. */
    cr_assert_eq(stats_bayes_compare(100000000, 34000000, 100000000, 34010000, ws, &r), 0);
    ABS(r.chance_to_beat.value, 0.93223563481902, 1e-11);
    /* normal approximation of the difference (exact to ~1e-9 here):
     * Phi((m1 - m0)/sqrt(v0 + v1)) = 0.9322356355 (reference.py) */
    ABS(r.chance_to_beat.value, 0.932235635539297, 2e-9);
    /* losses: E[p1] - E[p0] = 1e-4 (1 - 2e-8) exactly links the two */
    REL(r.loss_keep.value - r.loss_ship.value, 9.9999998e-05, 1e-9);
    cr_expect(r.loss_ship.value > 1.9e-6 && r.loss_ship.value < 2.1e-6);

    /* zero conversions against 3 at 1e8: the Gamma limit is 15/16;
     * mpmath gives 0.9375000018749999 for the exact Beta posteriors */
    stats_bayes_compare(100000000, 0, 100000000, 3, ws, &r);
    ABS(r.chance_to_beat.value, 0.9375000018749999, 1e-11);
}

Test(stats_bayes, extremes_and_invalid_input)
{
    stats_bayes_result r;
    /* clear winner: tiny chance to lose is computed directly, not 1 - x */
    stats_bayes_compare(1000, 500, 1000, 700, ws, &r);
    cr_expect(r.chance_to_lose.value > 0.0 && r.chance_to_lose.value < 1e-18);
    cr_expect_eq(r.chance_to_beat.value, 1.0);
    /* everybody converts */
    cr_expect_eq(stats_bayes_compare(10, 10, 10, 10, ws, &r), 0);
    ABS(r.chance_to_beat.value, 0.5, 1e-12);
    /* invalid */
    cr_expect_eq(stats_bayes_compare(10, 11, 10, 1, ws, &r), -1);
    cr_expect(!r.chance_to_beat.defined);
    /* NULL workspace allocates for the call */
    cr_expect_eq(stats_bayes_compare(1000, 100, 1000, 120, NULL, &r), 0);
    ABS(r.chance_to_beat.value, 0.92318343897355937, 1e-10);
}

/* The sweep: random comparisons from 10 to 1e8 visitors per arm, rates
 * 0.1% to 60% (tests/vectors/stats/bayes_sweep.json, computed by
 * bayes_sweep.py with mpmath 1.2.1 at 30 digits, each of the four integrals
 * on its own). Every quantity is defined for n >= 10, and each must agree
 * with the reference to 1e-9 absolute. The file is read with a small
 * key scanner: its layout is the fixed one bayes_sweep.py writes. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = '\0';
    fclose(f);
    return buf;
}

/* The number after "key": at or after *pos, moving *pos past it. */
static bool next_number(const char **pos, const char *key, double *out)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(*pos, pat);
    if (!p)
        return false;
    char *end;
    *out = strtod(p + strlen(pat), &end);
    *pos = end;
    return end != p + strlen(pat);
}

Test(stats_bayes, sweep_matches_mpmath_everywhere)
{
    char *json = read_file(UPSHOT_SOURCE_DIR "/tests/vectors/stats/bayes_sweep.json");
    cr_assert(json, "cannot read bayes_sweep.json");
    const char *pos = strstr(json, "\"cases\"");
    cr_assert(pos);
    int cases = 0, undefined = 0, wrong = 0;
    double worst = 0.0;
    double n0, x0, n1, x1, ref[4];
    static const char *const keys[4] = {"chance_to_beat", "chance_to_lose", "loss_ship",
                                        "loss_keep"};
    while (next_number(&pos, "n0", &n0)) {
        cr_assert(next_number(&pos, "x0", &x0) && next_number(&pos, "n1", &n1) &&
                  next_number(&pos, "x1", &x1));
        for (int k = 0; k < 4; k++)
            cr_assert(next_number(&pos, keys[k], &ref[k]));
        cases++;
        stats_bayes_result r;
        stats_bayes_compare((uint64_t)n0, (uint64_t)x0, (uint64_t)n1, (uint64_t)x1, ws, &r);
        const stats_value got[4] = {r.chance_to_beat, r.chance_to_lose, r.loss_ship,
                                    r.loss_keep};
        for (int k = 0; k < 4; k++) {
            if (!got[k].defined) {
                undefined++;
                cr_log_error("%.0f/%.0f vs %.0f/%.0f: %s undefined (%s)", x0, n0, x1, n1,
                             keys[k], got[k].why);
                continue;
            }
            double err = fabs(got[k].value - ref[k]);
            worst = fmax(worst, err);
            if (!(err <= 1e-9)) {
                wrong++;
                cr_log_error("%.0f/%.0f vs %.0f/%.0f: %s = %.17g, mpmath %.17g", x0, n0, x1,
                             n1, keys[k], got[k].value, ref[k]);
            }
        }
    }
    free(json);
    cr_log_info("sweep: %d comparisons, largest difference %.3g", cases, worst);
    cr_expect(cases >= 6, "only %d cases read", cases);
    cr_expect_eq(undefined, 0, "%d quantities undefined", undefined);
    cr_expect_eq(wrong, 0, "%d quantities off by more than 1e-9", wrong);
}

/* Tests for stats_factorial: the factorial models fitted from cell sums.
 *
 * The reference is R 4.2.2 fitting the EXPANDED per-visitor data
 * (tests/vectors/stats/factorial.R, output factorial-R.txt): glm(binomial)
 * for conversion, lm + sandwich::vcovHC(type = "HC3") for revenue per
 * visitor. The test reads each scenario's cell sums from that file, fits
 * them here, and compares every coefficient, standard error, z, p-value,
 * interval, joint interaction test, prediction and contrast to 1e-6
 * relative (p-values: relative on p, or on log10 p where p < 1e-300).
 * The file is read with a small line scanner: its layout is the fixed one
 * factorial.R writes (see the header of that script). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static void init(void) { stats_init(); }
TestSuite(stats_factorial, .init = init);

#define MAX_CELLS 256
#define MAX_TERMS 64
#define MAX_ROWS 64
#define TOL 1e-6

typedef struct ref_term {
    stats_fact_term_kind kind;
    int fa, la, fb, lb;
    double est, se, z, p, log10p, lo, hi;
} ref_term;

typedef struct ref_row { /* predict or contrast */
    int levels[STATS_FACT_MAX_FACTORS];
    int stratum;
    double est, se;
} ref_row;

typedef struct ref_joint {
    int a, b, df;
    double chi2, p, log10p;
} ref_joint;

typedef struct ref_fit {
    stats_fact_model model;
    double n, deviance;
    int iterations;
    ref_term terms[MAX_TERMS];
    int nterms;
    ref_joint joints[16];
    int njoints;
    ref_row pred[MAX_ROWS], contr[MAX_ROWS];
    int npred, ncontr;
} ref_fit;

typedef struct scenario {
    char name[64];
    stats_fact_design d;
    double alpha;
    stats_fact_cell cells[MAX_CELLS];
    int ncells;
    ref_fit fits[2];
    int nfits;
} scenario;

/* Reads the next space-separated token of *s as a number. */
static double num(char **s)
{
    char *end;
    double v = strtod(*s, &end);
    cr_assert(end != *s, "number expected at \"%.30s\"", *s);
    *s = end;
    return v;
}

static void read_levels(char **s, int k, int *levels, int *stratum)
{
    for (int f = 0; f < k; f++)
        levels[f] = (int)num(s);
    *stratum = (int)num(s);
}

/* Parses factorial-R.txt into sc (room for max); returns the count. */
static int load(scenario *sc, int max)
{
    FILE *f = fopen(UPSHOT_SOURCE_DIR "/tests/vectors/stats/factorial-R.txt", "r");
    cr_assert(f, "cannot read factorial-R.txt");
    char line[4096];
    int n = -1;
    scenario *cur = NULL;
    ref_fit *fit = NULL;
    while (fgets(line, sizeof line, f)) {
        char kw[16], *s = line;
        int used = 0;
        if (line[0] == '#' || sscanf(s, "%15s%n", kw, &used) != 1)
            continue;
        s += used;
        if (!strcmp(kw, "scenario")) {
            cr_assert(++n < max);
            cur = &sc[n];
            memset(cur, 0, sizeof *cur);
            cr_assert_eq(sscanf(s, "%63s", cur->name), 1);
            fit = NULL;
        } else if (!strcmp(kw, "design")) {
            cur->d.nfactors = (int)num(&s);
            for (int k = 0; k < cur->d.nfactors; k++)
                cur->d.nlevels[k] = (int)num(&s);
            cur->d.nstrata = (int)num(&s);
            cur->d.interactions = num(&s) != 0.0;
            cur->alpha = num(&s);
        } else if (!strcmp(kw, "cell")) {
            cr_assert(cur->ncells < MAX_CELLS);
            stats_fact_cell *c = &cur->cells[cur->ncells++];
            read_levels(&s, cur->d.nfactors, c->levels, &c->stratum);
            c->n = num(&s);
            c->conversions = num(&s);
            c->sum = num(&s);
            c->sumsq = num(&s);
        } else if (!strcmp(kw, "fit")) {
            cr_assert(cur->nfits < 2);
            fit = &cur->fits[cur->nfits++];
            char model[16];
            cr_assert_eq(sscanf(s, " %15s n %lf deviance %lf iterations %d", model, &fit->n,
                                &fit->deviance, &fit->iterations),
                         4);
            fit->model = !strcmp(model, "logit") ? STATS_FACT_LOGIT : STATS_FACT_OLS_HC3;
        } else if (!strcmp(kw, "term")) {
            cr_assert(fit->nterms < MAX_TERMS);
            ref_term *t = &fit->terms[fit->nterms++];
            char kind[16];
            cr_assert_eq(sscanf(s, "%15s%n", kind, &used), 1);
            s += used;
            t->kind = !strcmp(kind, "intercept") ? STATS_FACT_TERM_INTERCEPT
                      : !strcmp(kind, "main")    ? STATS_FACT_TERM_MAIN
                      : !strcmp(kind, "stratum") ? STATS_FACT_TERM_STRATUM
                                                 : STATS_FACT_TERM_INTERACTION;
            t->fa = (int)num(&s);
            t->la = (int)num(&s);
            t->fb = (int)num(&s);
            t->lb = (int)num(&s);
            t->est = num(&s);
            t->se = num(&s);
            t->z = num(&s);
            t->p = num(&s);
            t->log10p = num(&s);
            t->lo = num(&s);
            t->hi = num(&s);
        } else if (!strcmp(kw, "joint")) {
            ref_joint *j = &fit->joints[fit->njoints++];
            j->a = (int)num(&s);
            j->b = (int)num(&s);
            j->chi2 = num(&s);
            j->df = (int)num(&s);
            j->p = num(&s);
            j->log10p = num(&s);
        } else if (!strcmp(kw, "predict") || !strcmp(kw, "contrast")) {
            bool pred = kw[0] == 'p';
            int *cnt = pred ? &fit->npred : &fit->ncontr;
            cr_assert(*cnt < MAX_ROWS);
            ref_row *r = pred ? &fit->pred[(*cnt)++] : &fit->contr[(*cnt)++];
            read_levels(&s, cur->d.nfactors, r->levels, &r->stratum);
            r->est = num(&s);
            r->se = num(&s);
        }
    }
    fclose(f);
    return n + 1;
}

/* Comparison bookkeeping across the whole file. */
static double worst;
static int compared, failed;

static void near(const char *sc, const char *what, double got, double exp)
{
    compared++;
    double err = exp == 0.0 ? fabs(got) : fabs(got - exp) / fabs(exp);
    if (exp != 0.0 && err > worst)
        worst = err;
    /* an expected 0 (the control against itself) must come out as 0 up
     * to rounding of sums of order 1 */
    bool ok = exp == 0.0 ? err <= 1e-12 : err <= TOL;
    if (!ok) {
        failed++;
        cr_log_error("%s: %s = %.17g, R %.17g (rel %.3g)", sc, what, got, exp, err);
    }
}

static void near_p(const char *sc, const char *what, stats_pvalue got, double p,
                   double log10p)
{
    if (!got.defined) {
        failed++;
        cr_log_error("%s: %s p undefined (%s)", sc, what, got.why);
        return;
    }
    if (p > 1e-300)
        near(sc, what, got.p, p);
    else
        near(sc, what, got.log10_p, log10p);
}

static void check_fit(const scenario *sc, const ref_fit *rf)
{
    char what[128];
    const char *name = sc->name;
    stats_fact_fit fit;
    cr_assert_eq(stats_fact_fit_run(rf->model, &sc->d, sc->cells, (size_t)sc->ncells, sc->alpha,
                                    &fit),
                 0, "%s", name);
    cr_assert_eq(fit.status, STATS_FACT_OK, "%s: status %d (%s)", name, fit.status,
                 fit.why ? fit.why : "");
    const char *m = rf->model == STATS_FACT_LOGIT ? "logit" : "ols";
    /* the same path as R's per-visitor fit, so the same iterations */
    cr_expect_eq(fit.iterations, rf->iterations, "%s %s: %d iterations, R %d", name, m,
                 fit.iterations, rf->iterations);
    cr_expect_eq(fit.n, rf->n, "%s %s: n", name, m);
    snprintf(what, sizeof what, "%s deviance", m);
    near(name, what, fit.deviance, rf->deviance);
    cr_expect_eq(fit.nterms, (size_t)rf->nterms, "%s %s: %zu terms, R has %d", name, m,
                 fit.nterms, rf->nterms);
    for (int i = 0; i < rf->nterms; i++) {
        const ref_term *t = &rf->terms[i];
        int j = stats_fact_term_index(&fit, t->kind, t->fa, t->la, t->fb, t->lb);
        if (t->kind == STATS_FACT_TERM_STRATUM)
            j = stats_fact_term_index(&fit, t->kind, -1, t->la, -1, -1);
        cr_assert(j >= 0, "%s %s: no term %d (%d,%d,%d,%d)", name, m, t->kind, t->fa, t->la,
                  t->fb, t->lb);
        const stats_fact_term *g = &fit.terms[j];
        cr_expect(g->se.defined && g->ci.defined, "%s %s term %d", name, m, j);
        snprintf(what, sizeof what, "%s term %d (%d,%d,%d,%d)", m, t->kind, t->fa, t->la,
                 t->fb, t->lb);
        near(name, what, g->estimate, t->est);
        near(name, what, g->se.value, t->se);
        near(name, what, g->stat, t->z);
        near_p(name, what, g->p, t->p, t->log10p);
        near(name, what, g->ci.lo, t->lo);
        near(name, what, g->ci.hi, t->hi);
    }
    cr_expect_eq(rf->njoints, sc->d.interactions ? sc->d.nfactors * (sc->d.nfactors - 1) / 2 : 0,
                 "%s: joint tests in the file", name);
    for (int i = 0; i < rf->njoints; i++) {
        const ref_joint *r = &rf->joints[i];
        stats_fact_joint j = stats_fact_interaction_test(&fit, r->a, r->b);
        snprintf(what, sizeof what, "%s joint %d x %d", m, r->a, r->b);
        cr_expect_eq(j.df, r->df, "%s %s df", name, what);
        near(name, what, j.chi2, r->chi2);
        near_p(name, what, j.p, r->p, r->log10p);
        /* the same test with the factors swapped */
        stats_fact_joint k = stats_fact_interaction_test(&fit, r->b, r->a);
        cr_expect_eq(k.chi2, j.chi2);
    }
    for (int i = 0; i < rf->npred; i++) {
        const ref_row *r = &rf->pred[i];
        double se;
        stats_value v = stats_fact_predict(&fit, r->levels, r->stratum, &se);
        cr_expect(v.defined, "%s predict %d", name, i);
        snprintf(what, sizeof what, "%s predict %d", m, i);
        near(name, what, v.value, r->est);
        near(name, what, se, r->se);
    }
    static const int control[STATS_FACT_MAX_FACTORS] = {0};
    for (int i = 0; i < rf->ncontr; i++) {
        const ref_row *r = &rf->contr[i];
        double se;
        stats_value v = stats_fact_contrast(&fit, r->levels, control, r->stratum, &se);
        cr_expect(v.defined, "%s contrast %d", name, i);
        snprintf(what, sizeof what, "%s contrast %d", m, i);
        near(name, what, v.value, r->est);
        near(name, what, se, r->se);
    }
    stats_fact_fit_free(&fit);
}

Test(stats_factorial, every_number_matches_r_on_expanded_data)
{
    static scenario sc[8];
    int n = load(sc, 8);
    cr_assert_eq(n, 5, "scenarios read: %d", n);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(sc[i].nfits, 2, "%s: fits", sc[i].name);
        for (int k = 0; k < 2; k++)
            check_fit(&sc[i], &sc[i].fits[k]);
    }
    cr_log_info("factorial vs R: %d numbers, largest relative difference %.3g", compared, worst);
    cr_expect(compared > 900, "only %d numbers compared", compared);
    cr_expect_eq(failed, 0, "%d numbers differ from R by more than %g", failed, TOL);
}

/* The cells may come in any order and split into several rows with the
 * same levels and stratum: the fit is the same. */
Test(stats_factorial, duplicate_and_unordered_cells_are_summed)
{
    static scenario sc[8];
    load(sc, 8);
    const scenario *s = &sc[2]; /* 2x2x2x2 with five regions */
    static stats_fact_cell split[2 * MAX_CELLS];
    size_t k = 0;
    for (int i = s->ncells - 1; i >= 0; i--) {
        stats_fact_cell a = s->cells[i], b = a;
        double n1 = floor(a.n / 3.0), f = n1 / a.n;
        a.n = n1;
        a.conversions = floor(b.conversions * f);
        a.sum = b.sum * f;
        a.sumsq = b.sumsq * f;
        b.n -= a.n;
        b.conversions -= a.conversions;
        b.sum -= a.sum;
        b.sumsq -= a.sumsq;
        split[k++] = b;
        split[k++] = a;
    }
    for (int m = 0; m < 2; m++) {
        stats_fact_model model = m ? STATS_FACT_OLS_HC3 : STATS_FACT_LOGIT;
        stats_fact_fit whole, parts;
        cr_assert_eq(stats_fact_fit_run(model, &s->d, s->cells, (size_t)s->ncells, 0.05, &whole),
                     0);
        cr_assert_eq(stats_fact_fit_run(model, &s->d, split, k, 0.05, &parts), 0);
        cr_assert_eq(parts.status, STATS_FACT_OK);
        cr_assert_eq(parts.nterms, whole.nterms);
        for (size_t j = 0; j < whole.nterms; j++) {
            cr_expect(fabs(parts.terms[j].estimate - whole.terms[j].estimate) <=
                      1e-9 * (1.0 + fabs(whole.terms[j].estimate)));
            cr_expect(fabs(parts.terms[j].se.value - whole.terms[j].se.value) <=
                      1e-9 * whole.terms[j].se.value);
        }
        stats_fact_fit_free(&whole);
        stats_fact_fit_free(&parts);
    }
}

/* 2x2 with the interaction: four parameters for four cells, so each cell's
 * rate is fitted exactly, and a cell with 0 or all conversions sends its
 * log-odds to infinity. R 4.2.2's glm on the 4000 per-visitor rows of the
 * first case stops after 18 iterations with a fitted rate of 3.2e-9 for
 * that cell and an interaction of -17.7 with a standard error of 340 (a
 * fitted rate short of the 1e-10 test, so only the probe of further
 * Newton steps catches it); the fit must say "separated" and report no
 * estimates. */
static stats_fact_cell cell2(int a, int b, double n, double x)
{
    stats_fact_cell c = {.levels = {a, b}, .stratum = 0, .n = n, .conversions = x};
    return c;
}

static const stats_fact_design two_by_two = {.nfactors = 2, .nlevels = {2, 2},
                                             .interactions = true, .nstrata = 1};

Test(stats_factorial, separation_is_reported_without_estimates)
{
    stats_fact_cell zero[4] = {cell2(0, 0, 1000, 100), cell2(1, 0, 1000, 120),
                               cell2(0, 1, 1000, 110), cell2(1, 1, 1000, 0)};
    stats_fact_fit f;
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, zero, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_SEPARATED, "status %d", f.status);
    cr_expect_null(f.terms);
    cr_expect_eq(f.nterms, 0);
    cr_expect_null(f.cov);
    cr_expect(f.why && strstr(f.why, "separation"));
    cr_expect_eq(f.n, 4000.0);
    double se;
    static const int lv[2] = {1, 1};
    cr_expect(!stats_fact_predict(&f, lv, 0, &se).defined);
    cr_expect(!stats_fact_interaction_test(&f, 0, 1).p.defined);
    stats_fact_fit_free(&f);

    /* everybody converted in one cell */
    stats_fact_cell all[4] = {cell2(0, 0, 500, 50), cell2(1, 0, 500, 60), cell2(0, 1, 500, 500),
                              cell2(1, 1, 500, 70)};
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, all, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_SEPARATED);
    stats_fact_fit_free(&f);

    /* nobody converted at all: the intercept diverges */
    stats_fact_cell none[4] = {cell2(0, 0, 500, 0), cell2(1, 0, 500, 0), cell2(0, 1, 500, 0),
                               cell2(1, 1, 500, 0)};
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, none, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_SEPARATED);
    stats_fact_fit_free(&f);

    /* the same zero cell under main effects only is NOT separated: the
     * other three cells tie the log-odds of (1,1) to theirs, so the
     * maximum is finite and the fit is reported */
    stats_fact_design main_only = two_by_two;
    main_only.interactions = false;
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &main_only, zero, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_OK, "status %d (%s)", f.status, f.why ? f.why : "");
    cr_assert_eq(f.nterms, 3);
    /* R 4.2.2, glm(y ~ factor(a) + factor(b), binomial) on the 4000
     * per-visitor rows: 5 iterations, and the reported point is R's (the
     * separation probe's extra steps do not leak into the estimates) */
    static const double est[3] = {-1.8199747398110961, -0.61474600254784462,
                                  -0.75809689290765858};
    static const double sd[3] = {0.085086090848910459, 0.11968065722457562,
                                 0.12173959143548471};
    cr_expect_eq(f.iterations, 5);
    for (size_t j = 0; j < 3; j++) {
        cr_expect(fabs(f.terms[j].estimate - est[j]) < 1e-9 * fabs(est[j]), "%zu: %.17g", j,
                  f.terms[j].estimate);
        cr_expect(fabs(f.terms[j].se.value - sd[j]) < 1e-9 * sd[j], "%zu: %.17g", j,
                  f.terms[j].se.value);
    }
    stats_fact_fit_free(&f);

    /* revenue has no separation: a cell with no converters is a mean of 0 */
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_OLS_HC3, &two_by_two, zero, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_OK);
    stats_fact_fit_free(&f);
}

Test(stats_factorial, empty_columns_are_no_data)
{
    stats_fact_fit f;
    /* no cells at all */
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, NULL, 0, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_NO_DATA);
    cr_expect_null(f.terms);
    /* level 1 of the second factor never seen */
    stats_fact_cell half[2] = {cell2(0, 0, 100, 10), cell2(1, 0, 100, 12)};
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_OLS_HC3, &two_by_two, half, 2, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_NO_DATA);
    cr_expect_eq(f.n, 200.0);
    /* every level seen, but not the combination (1,1): its interaction
     * column is empty (a listed cell with n = 0 is the same as none) */
    stats_fact_cell three[4] = {cell2(0, 0, 100, 10), cell2(1, 0, 100, 12),
                                cell2(0, 1, 100, 11), cell2(1, 1, 0, 0)};
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, three, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_NO_DATA);
    /* an empty stratum */
    stats_fact_design strata = two_by_two;
    strata.nstrata = 3;
    stats_fact_cell four[4] = {cell2(0, 0, 100, 10), cell2(1, 0, 100, 12), cell2(0, 1, 100, 11),
                               cell2(1, 1, 100, 9)};
    four[3].stratum = 1;
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &strata, four, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_NO_DATA);
}

Test(stats_factorial, unidentified_designs_are_singular)
{
    /* main effects plus two strata, but only three cells for four
     * columns: every column has visitors, the columns are dependent */
    stats_fact_design d = {.nfactors = 2, .nlevels = {2, 2}, .interactions = false,
                           .nstrata = 2};
    stats_fact_cell c[3] = {cell2(1, 0, 100, 10), cell2(0, 1, 100, 20), cell2(0, 0, 100, 15)};
    c[1].stratum = 1;
    for (int i = 0; i < 3; i++) {
        c[i].sum = c[i].conversions * 20.0;
        c[i].sumsq = c[i].conversions * 500.0;
    }
    stats_fact_fit f;
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &d, c, 3, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_SINGULAR, "status %d", f.status);
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_OLS_HC3, &d, c, 3, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_SINGULAR, "status %d", f.status);
}

/* HC3 divides a cell's residual sum of squares by (1 - h)^2; a cell of
 * one visitor that alone determines a coefficient has h = 1 and residual
 * 0 (R's vcovHC gives NaN). Reported as singular, with the reason; a
 * cell of two visitors (h = 1/2) is fine. */
Test(stats_factorial, leverage_one_is_guarded)
{
    stats_fact_cell c[4] = {cell2(0, 0, 100, 10), cell2(1, 0, 100, 12), cell2(0, 1, 100, 11),
                            cell2(1, 1, 1, 1)};
    for (int i = 0; i < 4; i++) {
        c[i].sum = c[i].conversions * 30.0;
        c[i].sumsq = c[i].conversions * 1000.0;
    }
    stats_fact_fit f;
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_OLS_HC3, &two_by_two, c, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_SINGULAR);
    cr_expect(f.why && strstr(f.why, "leverage"), "%s", f.why ? f.why : "");
    cr_expect_null(f.terms);
    c[3] = cell2(1, 1, 2, 1);
    c[3].sum = 40.0;
    c[3].sumsq = 1600.0;
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_OLS_HC3, &two_by_two, c, 4, 0.05, &f), 0);
    cr_expect_eq(f.status, STATS_FACT_OK, "%s", f.why ? f.why : "");
    /* the saturated fit reproduces the cell means: (1,1) mean is 20 */
    static const int lv[2] = {1, 1};
    double se;
    cr_expect(fabs(stats_fact_predict(&f, lv, 0, &se).value - 20.0) < 1e-9);
    /* within-cell SS of (1,1): 1600 - 40^2/2 = 800 over h = 1/2:
     * variance of its mean = 800 / (1 - 1/2)^2 / 2^2 = 800 */
    cr_expect(fabs(se * se - 800.0) < 1e-6, "se^2 = %.17g", se * se);
    stats_fact_fit_free(&f);
}

Test(stats_factorial, invalid_input_returns_minus_one)
{
    stats_fact_cell ok[4] = {cell2(0, 0, 100, 10), cell2(1, 0, 100, 12), cell2(0, 1, 100, 11),
                             cell2(1, 1, 100, 9)};
    stats_fact_fit f;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, ok, 4, 0.05, &f), 0);
    stats_fact_fit_free(&f);
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, ok, 4, 0.05, NULL), -1);
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, NULL, ok, 4, 0.05, &f), -1);
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, NULL, 4, 0.05, &f), -1);
    cr_expect_eq(stats_fact_fit_run((stats_fact_model)7, &two_by_two, ok, 4, 0.05, &f), -1);

    stats_fact_design d = two_by_two;
    d.nfactors = 0;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &d, ok, 4, 0.05, &f), -1);
    d.nfactors = STATS_FACT_MAX_FACTORS + 1;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &d, ok, 4, 0.05, &f), -1);
    d = two_by_two;
    d.nlevels[1] = 1;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &d, ok, 4, 0.05, &f), -1);
    d.nlevels[1] = STATS_FACT_MAX_LEVELS + 1;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &d, ok, 4, 0.05, &f), -1);
    d = two_by_two;
    d.nstrata = 0;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &d, ok, 4, 0.05, &f), -1);
    d.nstrata = STATS_FACT_MAX_STRATA + 1;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &d, ok, 4, 0.05, &f), -1);

    stats_fact_cell bad[4];
    memcpy(bad, ok, sizeof bad);
    bad[2].conversions = 101; /* more conversions than visitors */
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, bad, 4, 0.05, &f), -1);
    memcpy(bad, ok, sizeof bad);
    bad[2].n = -1;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, bad, 4, 0.05, &f), -1);
    memcpy(bad, ok, sizeof bad);
    bad[2].levels[1] = 2; /* level out of range */
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, bad, 4, 0.05, &f), -1);
    memcpy(bad, ok, sizeof bad);
    bad[2].stratum = 1; /* stratum out of range */
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, bad, 4, 0.05, &f), -1);
    memcpy(bad, ok, sizeof bad);
    bad[2].n = NAN;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, bad, 4, 0.05, &f), -1);
    memcpy(bad, ok, sizeof bad);
    bad[2].sum = 100.0; /* revenue: sumsq < sum^2 / n */
    bad[2].sumsq = 50.0;
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_OLS_HC3, &two_by_two, bad, 4, 0.05, &f), -1);
    /* revenue sums do not matter to the conversion model */
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, bad, 4, 0.05, &f), 0);
    stats_fact_fit_free(&f);
    /* after -1, *out is zeroed */
    memset(&f, 0xff, sizeof f);
    cr_expect_eq(stats_fact_fit_run(STATS_FACT_LOGIT, NULL, ok, 4, 0.05, &f), -1);
    cr_expect_null(f.terms);
    cr_expect_eq(f.nterms, 0);
    stats_fact_fit_free(NULL);
}

Test(stats_factorial, lookups_and_range_checks)
{
    stats_fact_cell c[4] = {cell2(0, 0, 1000, 100), cell2(1, 0, 1000, 120),
                            cell2(0, 1, 1000, 110), cell2(1, 1, 1000, 160)};
    stats_fact_fit f;
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &two_by_two, c, 4, 0.05, &f), 0);
    cr_assert_eq(f.status, STATS_FACT_OK);
    cr_expect_eq(stats_fact_term_index(&f, STATS_FACT_TERM_INTERCEPT, -1, -1, -1, -1), 0);
    cr_expect_eq(stats_fact_term_index(&f, STATS_FACT_TERM_MAIN, 0, 1, -1, -1), 1);
    cr_expect_eq(stats_fact_term_index(&f, STATS_FACT_TERM_MAIN, 1, 1, -1, -1), 2);
    cr_expect_eq(stats_fact_term_index(&f, STATS_FACT_TERM_INTERACTION, 0, 1, 1, 1), 3);
    cr_expect_eq(stats_fact_term_index(&f, STATS_FACT_TERM_MAIN, 0, 2, -1, -1), -1);
    cr_expect_eq(stats_fact_term_index(&f, STATS_FACT_TERM_STRATUM, -1, 1, -1, -1), -1);
    /* the saturated logit reproduces each cell's log-odds: (1,1) is
     * log(160/840). IRLS stops as R's glm does, once the deviance moves
     * by less than 1e-8 relative, a little short of the exact maximum,
     * so the closed forms hold to 1e-6 relative, not to rounding. */
    static const int lv[2] = {1, 1}, base[2] = {0, 0}, out[2] = {2, 0};
    double se;
    double lo11 = log(160.0 / 840.0), v11 = 1.0 / 160 + 1.0 / 840;
    cr_expect(fabs(stats_fact_predict(&f, lv, 0, &se).value - lo11) < 1e-6 * fabs(lo11));
    cr_expect(fabs(se * se - v11) < 1e-3 * v11, "%.17g vs %.17g", se * se, v11);
    /* the contrast against the control is the log odds ratio; its
     * variance is about the two cells' 1/x + 1/(n-x) added, 0.0185516.
     * Like R, the covariance is the inverse of X'WX of the last step,
     * whose weights are those of the step before (R's summary.glm reuses
     * the last QR), which here is 1e-4 relative off the closed form:
     * glm(y ~ factor(a) * factor(b), binomial) on these 4000 per-visitor
     * rows in R 4.2.2 gives 0.018549756069035844 (4 iterations). */
    double lor0 = log((160.0 / 840.0) / (100.0 / 900.0));
    double vlor = v11 + 1.0 / 100 + 1.0 / 900;
    stats_value lor = stats_fact_contrast(&f, lv, base, 0, &se);
    cr_expect(fabs(lor.value - lor0) < 1e-6 * lor0, "%.17g vs %.17g", lor.value, lor0);
    cr_expect(fabs(se * se - vlor) < 1e-3 * vlor, "%.17g vs %.17g", se * se, vlor);
    cr_expect(fabs(se * se - 0.018549756069035844) < 1e-9 * vlor, "%.17g", se * se);
    cr_expect_eq(f.iterations, 4);
    cr_expect(!stats_fact_predict(&f, out, 0, &se).defined);
    cr_expect(!stats_fact_predict(&f, lv, 1, &se).defined);
    cr_expect(!stats_fact_contrast(&f, lv, NULL, 0, &se).defined);
    /* the one interaction: the joint test of one coefficient is its z^2 */
    stats_fact_joint j = stats_fact_interaction_test(&f, 0, 1);
    cr_expect_eq(j.df, 1);
    cr_expect(fabs(j.chi2 - f.terms[3].stat * f.terms[3].stat) < 1e-9 * j.chi2);
    cr_expect(fabs(j.p.p - f.terms[3].p.p) < 1e-9);
    stats_fact_fit_free(&f);
    /* without interactions there is nothing to test */
    stats_fact_design d = two_by_two;
    d.interactions = false;
    cr_assert_eq(stats_fact_fit_run(STATS_FACT_LOGIT, &d, c, 4, 0.05, &f), 0);
    j = stats_fact_interaction_test(&f, 0, 1);
    cr_expect_eq(j.df, 0);
    cr_expect(!j.p.defined);
    stats_fact_fit_free(&f);
}

/* The interaction contrast D = (p11 - p10) - (p01 - p00) is estimated by
 * the same combination of the four cells' observed rates. With n visitors
 * per cell the four are independent with variances p(1 - p)/n, so
 *   Var(D^) = (sum_ij p_ij (1 - p_ij)) / n,
 * and a two-sided level-alpha z test has the given power when
 *   |D| / sqrt(Var) = z_{1-alpha/2} + z_{power},
 * i.e. n = (z_{1-alpha/2} + z_{power})^2 sum p(1-p) / D^2.
 *
 * By hand, p00 = 0.10, p10 = 0.12, p01 = 0.11, p11 = 0.16:
 *   D = (0.16 - 0.12) - (0.11 - 0.10) = 0.03, D^2 = 0.0009
 *   sum p(1-p) = 0.09 + 0.1056 + 0.0979 + 0.1344 = 0.4279
 *   alpha 0.05, power 0.8: z = 1.959964 + 0.841621 = 2.801585, z^2 = 7.848880
 *   n = 7.848880 * 0.4279 / 0.0009 = 3731.71 -> 3732 visitors per cell.
 * alpha 0.01, power 0.9: z = 2.575829 + 1.281552 = 3.857381, z^2 = 14.879388
 *   n = 14.879388 * 0.4279 / 0.0009 = 7074.32 -> 7075. */
Test(stats_factorial, interaction_power_matches_hand_calculation)
{
    stats_value n = stats_fact_interaction_n_per_cell(0.10, 0.12, 0.11, 0.16, 0.05, 0.8);
    cr_assert(n.defined);
    cr_expect_eq(n.value, 3732.0, "%.17g", n.value);
    n = stats_fact_interaction_n_per_cell(0.10, 0.12, 0.11, 0.16, 0.01, 0.9);
    cr_expect_eq(n.value, 7075.0, "%.17g", n.value);
    /* a negative interaction of the same size, p11 = 0.10 (D = -0.03):
     * only the p11 variance term changes, to 0.10 * 0.90 = 0.09 */
    n = stats_fact_interaction_n_per_cell(0.10, 0.12, 0.11, 0.10, 0.05, 0.8);
    cr_expect_eq(n.value, ceil(7.848879734349086 * (0.09 + 0.1056 + 0.0979 + 0.09) / 0.0009),
                 "%.17g", n.value);
    /* undefined: no interaction, rates at the bounds, bad alpha/power */
    cr_expect(!stats_fact_interaction_n_per_cell(0.2, 0.3, 0.2, 0.3, 0.05, 0.8).defined);
    cr_expect(!stats_fact_interaction_n_per_cell(0.0, 0.12, 0.11, 0.16, 0.05, 0.8).defined);
    cr_expect(!stats_fact_interaction_n_per_cell(0.1, 1.0, 0.11, 0.16, 0.05, 0.8).defined);
    cr_expect(!stats_fact_interaction_n_per_cell(0.1, 0.12, 0.11, 0.16, 0.0, 0.8).defined);
    cr_expect(!stats_fact_interaction_n_per_cell(0.1, 0.12, 0.11, 0.16, 0.05, 1.0).defined);
}

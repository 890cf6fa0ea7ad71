/* stats_factorial.c -- see stats_factorial.h; the model, the coding and the
 * references are in docs/stats.md ("Factorial experiments").
 *
 * How the cell sums give the exact per-visitor fit: the design row x_c is
 * the same for every visitor of a cell, so every sum over visitors that a
 * fit needs is a sum over cells of n_c times something of x_c:
 *
 *   logistic  X'WX = sum_c n_c mu_c (1 - mu_c) x_c x_c' (the weight of a
 *             visitor is mu (1 - mu), equal within a cell), the score and
 *             the log-likelihood need only the cell's conversions x_c and
 *             non-conversions n_c - x_c, and IRLS's working response
 *             averaged over a cell is eta_c + (x_c/n_c - mu_c) / mu_c (1 - mu_c).
 *   least sq. X'X = sum_c n_c x_c x_c', X'y = sum_c x_c S_c, and the
 *             residual sum of squares of a cell is
 *             (Q_c - S_c^2/n_c) + n_c (ybar_c - yhat_c)^2
 *             (within-cell spread plus the cell mean's miss); each visitor
 *             of the cell has the leverage h_c = x_c' (X'X)^-1 x_c, so the
 *             HC3 meat sum_i x_i x_i' e_i^2 / (1 - h_i)^2 is
 *             sum_c x_c x_c' RSS_c / (1 - h_c)^2.
 *
 * Linear algebra: X'WX is formed and factorised by Cholesky (GSL). R uses
 * a QR of the expanded X; the normal equations lose digits only as the
 * square of X's condition number, and an indicator design with a few
 * hundred columns is well conditioned (agreement with R is about 1e-10,
 * docs/stats.md). Design rows are kept sparse: at most ROW_MAX ones. */
#include "stats_factorial.h"

#include "stats_dist.h"
#include "stats_prop.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

/* Ones in one design row: intercept, one main effect per factor, one
 * interaction per pair of factors, one stratum. */
#define ROW_MAX                                                                          \
    (1 + STATS_FACT_MAX_FACTORS + STATS_FACT_MAX_FACTORS * (STATS_FACT_MAX_FACTORS - 1) / 2 + \
     1)

/* IRLS as R's glm.fit with glm.control(): at most 25 iterations, stop when
 * |dev - dev_old| / (|dev| + 0.1) < 1e-8. */
#define IRLS_MAXIT 25
#define IRLS_EPSILON 1e-8
/* The separation probe after the fit: more Newton steps (each moves a
 * diverging log-odds by about 1) until the coefficients settle. 60 steps
 * take a fitted rate from R's stopping point (~1e-8) far below
 * SEP_MU; a finite maximum settles within a handful. */
#define SEP_STEPS 60
#define SEP_MU 1e-10
/* A cell whose visitors have leverage 1 - h below this is a cell of one
 * visitor that alone determines a coefficient (every visitor of a cell of
 * n has h <= 1/n, so nothing else comes near). */
#define LEVERAGE_GUARD 1e-8

/* Column layout of the design matrix (stats_fact_term's order). */
typedef struct layout {
    int p;                                                      /* columns */
    int main_off[STATS_FACT_MAX_FACTORS];                       /* level 1 of factor f */
    int inter_off[STATS_FACT_MAX_FACTORS][STATS_FACT_MAX_FACTORS]; /* (1,1) of pair f<g */
    int strata_off;                                             /* stratum 1 */
} layout;

/* One cell after merging duplicates and dropping empty ones. */
typedef struct mcell {
    int cols[ROW_MAX]; /* columns holding a 1 in the cell's design row */
    int k;             /* how many */
    double n, x, sum, sumsq;
} mcell;

static void layout_build(const stats_fact_design *d, layout *L)
{
    int c = 1;
    for (int f = 0; f < d->nfactors; f++) {
        L->main_off[f] = c;
        c += d->nlevels[f] - 1;
    }
    if (d->interactions)
        for (int f = 0; f < d->nfactors; f++)
            for (int g = f + 1; g < d->nfactors; g++) {
                L->inter_off[f][g] = c;
                c += (d->nlevels[f] - 1) * (d->nlevels[g] - 1);
            }
    L->strata_off = c;
    c += d->nstrata - 1;
    L->p = c;
}

static int row_cols(const stats_fact_design *d, const layout *L, const int *lv, int s, int *cols)
{
    int k = 0;
    cols[k++] = 0;
    for (int f = 0; f < d->nfactors; f++)
        if (lv[f] > 0)
            cols[k++] = L->main_off[f] + lv[f] - 1;
    if (d->interactions)
        for (int f = 0; f < d->nfactors; f++)
            for (int g = f + 1; g < d->nfactors; g++)
                if (lv[f] > 0 && lv[g] > 0)
                    cols[k++] = L->inter_off[f][g] + (lv[f] - 1) * (d->nlevels[g] - 1) +
                                (lv[g] - 1);
    if (s > 0)
        cols[k++] = L->strata_off + s - 1;
    return k;
}

static bool design_valid(const stats_fact_design *d)
{
    if (!d || d->nfactors < 1 || d->nfactors > STATS_FACT_MAX_FACTORS || d->nstrata < 1 ||
        d->nstrata > STATS_FACT_MAX_STRATA)
        return false;
    for (int f = 0; f < d->nfactors; f++)
        if (d->nlevels[f] < 2 || d->nlevels[f] > STATS_FACT_MAX_LEVELS)
            return false;
    return true;
}

static bool cell_valid(const stats_fact_design *d, const stats_fact_cell *c, stats_fact_model m)
{
    for (int f = 0; f < d->nfactors; f++)
        if (c->levels[f] < 0 || c->levels[f] >= d->nlevels[f])
            return false;
    if (c->stratum < 0 || c->stratum >= d->nstrata)
        return false;
    if (!isfinite(c->n) || !isfinite(c->conversions) || !(c->n >= 0.0) ||
        !(c->conversions >= 0.0) || c->conversions > c->n)
        return false;
    if (m == STATS_FACT_OLS_HC3) {
        if (!isfinite(c->sum) || !isfinite(c->sumsq) || !(c->sumsq >= 0.0))
            return false;
        if (c->n == 0.0)
            return c->sum == 0.0 && c->sumsq == 0.0;
        /* Cauchy-Schwarz: S^2 <= n Q, with room for the rounding of Q */
        if (c->sum * (c->sum / c->n) > c->sumsq * (1.0 + 1e-9) + 1e-300)
            return false;
    }
    return true;
}

/* Orders cells by levels then stratum, so duplicates are adjacent. */
static int cell_cmp(const void *pa, const void *pb)
{
    const stats_fact_cell *a = pa, *b = pb;
    for (int f = 0; f < STATS_FACT_MAX_FACTORS; f++)
        if (a->levels[f] != b->levels[f])
            return a->levels[f] < b->levels[f] ? -1 : 1;
    return (a->stratum > b->stratum) - (a->stratum < b->stratum);
}

/* Sorted copy of the cells with unused factor slots zeroed (the caller
 * may leave them uninitialised). Returns NULL on out of memory. */
static stats_fact_cell *sorted_cells(const stats_fact_design *d, const stats_fact_cell *cells,
                                     size_t ncells)
{
    stats_fact_cell *s = malloc((ncells ? ncells : 1) * sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < ncells; i++) {
        s[i] = cells[i];
        for (int f = d->nfactors; f < STATS_FACT_MAX_FACTORS; f++)
            s[i].levels[f] = 0;
    }
    qsort(s, ncells, sizeof *s, cell_cmp);
    return s;
}

/* Merges duplicate cells and drops empty ones into mc (room for ncells);
 * returns how many remain. */
static size_t merge_cells(const stats_fact_design *d, const layout *L,
                          const stats_fact_cell *s, size_t ncells, mcell *mc)
{
    size_t m = 0;
    const stats_fact_cell *last = NULL; /* the source of mc[m - 1] */
    for (size_t i = 0; i < ncells; i++) {
        if (s[i].n == 0.0)
            continue;
        if (last && cell_cmp(last, &s[i]) == 0) {
            mc[m - 1].n += s[i].n;
            mc[m - 1].x += s[i].conversions;
            mc[m - 1].sum += s[i].sum;
            mc[m - 1].sumsq += s[i].sumsq;
            continue;
        }
        mc[m].k = row_cols(d, L, s[i].levels, s[i].stratum, mc[m].cols);
        mc[m].n = s[i].n;
        mc[m].x = s[i].conversions;
        mc[m].sum = s[i].sum;
        mc[m].sumsq = s[i].sumsq;
        last = &s[i];
        m++;
    }
    return m;
}

/* Visitors per column: a column nobody has cannot be estimated. Also
 * catches a design with no visitors at all (the intercept's column). */
static bool every_column_has_visitors(const mcell *mc, size_t m, int p)
{
    double *seen = calloc((size_t)p, sizeof *seen);
    if (!seen)
        return false;
    for (size_t c = 0; c < m; c++)
        for (int j = 0; j < mc[c].k; j++)
            seen[mc[c].cols[j]] += mc[c].n;
    bool ok = true;
    for (int j = 0; j < p; j++)
        if (!(seen[j] > 0.0))
            ok = false;
    free(seen);
    return ok;
}

static double row_dot(const mcell *c, const double *beta)
{
    double e = 0.0;
    for (int j = 0; j < c->k; j++)
        e += beta[c->cols[j]];
    return e;
}

/* x_c' M x_c for a symmetric M. */
static double row_quad(const mcell *c, const gsl_matrix *M)
{
    double q = 0.0;
    for (int i = 0; i < c->k; i++)
        for (int j = 0; j < c->k; j++)
            q += gsl_matrix_get(M, (size_t)c->cols[i], (size_t)c->cols[j]);
    return q;
}

/* A += w x_c x_c', b += v x_c (b may be NULL). */
static void row_accumulate(const mcell *c, double w, double v, gsl_matrix *A, gsl_vector *b)
{
    for (int i = 0; i < c->k; i++) {
        size_t ci = (size_t)c->cols[i];
        for (int j = 0; j < c->k; j++) {
            double *a = gsl_matrix_ptr(A, ci, (size_t)c->cols[j]);
            *a += w;
        }
        if (b)
            *gsl_vector_ptr(b, ci) += v;
    }
}

/* The logit inverse link and its derivative, with R's bounds
 * (family.c: |eta| > 30 gives mu = eps or 1/(1+eps), mu.eta = eps), so a
 * diverging log-odds gives a finite deviance and a positive weight. */
static double logit_mu(double eta)
{
    double t = eta < -30.0 ? DBL_EPSILON : eta > 30.0 ? 1.0 / DBL_EPSILON : exp(eta);
    return t / (1.0 + t);
}

static double logit_mu_eta(double eta)
{
    if (eta > 30.0 || eta < -30.0)
        return DBL_EPSILON;
    double e = exp(eta), o = 1.0 + e;
    return e / (o * o);
}

/* -2 log-likelihood of the per-visitor 0/1 data: R's residual deviance of
 * the expanded fit (its saturated model has log-likelihood 0). */
static double binary_deviance(const mcell *mc, size_t m, const double *mu)
{
    double dev = 0.0;
    for (size_t c = 0; c < m; c++) {
        if (mc[c].x > 0.0)
            dev -= 2.0 * mc[c].x * log(mu[c]);
        if (mc[c].n - mc[c].x > 0.0)
            dev -= 2.0 * (mc[c].n - mc[c].x) * log1p(-mu[c]);
    }
    return dev;
}

/* One IRLS step: forms X'WX and X'Wz, factorises, and writes the new
 * coefficients. With eta == NULL it is the first step from R's start on
 * the per-visitor rows (see fit_logit), otherwise the step at eta.
 * Returns 0, or -1 when X'WX is not positive definite. A holds the
 * Cholesky factor afterwards. */
static int irls_step(const mcell *mc, size_t m, const double *eta, gsl_matrix *A,
                     gsl_vector *b, double *beta)
{
    gsl_matrix_set_zero(A);
    gsl_vector_set_zero(b);
    for (size_t c = 0; c < m; c++) {
        double y = mc[c].x / mc[c].n, w, z;
        if (!eta) {
            /* every visitor starts at mu = 0.75 (converted) or 0.25, where
             * mu (1 - mu) = 3/16 and z = +-(log 3 + 4/3); the cell's mean
             * working response is (2 y - 1)(log 3 + 4/3) */
            w = mc[c].n * 0.1875;
            z = (2.0 * y - 1.0) * (log(3.0) + 4.0 / 3.0);
        } else {
            double mu = logit_mu(eta[c]), me = logit_mu_eta(eta[c]);
            z = eta[c] + (y - mu) / me;
            w = mc[c].n * me * me / (mu * (1.0 - mu));
        }
        row_accumulate(&mc[c], w, w * z, A, b);
    }
    if (gsl_linalg_cholesky_decomp1(A) != GSL_SUCCESS)
        return -1;
    gsl_vector_view bv = gsl_vector_view_array(beta, A->size1);
    if (gsl_linalg_cholesky_solve(A, b, &bv.vector) != GSL_SUCCESS)
        return -1;
    for (size_t j = 0; j < A->size1; j++)
        if (!isfinite(beta[j]))
            return -1;
    return 0;
}

static bool boundary_rate(double mu) { return mu < SEP_MU || mu > 1.0 - SEP_MU; }

/* Separation: a maximum likelihood estimate exists unless some cell sits
 * at 0% or 100% and the likelihood keeps rising as that cell's log-odds
 * runs off to infinity. R stops such a fit once the deviance stalls (a
 * fitted rate around 1e-8 for a thousand-visitor cell), so from the
 * fitted point keep taking Newton steps: with a finite maximum they
 * settle at once; with separation the fitted rate of a boundary cell falls
 * by a factor e per step and crosses SEP_MU. The fitted eta0 and beta0
 * are left as they are (the fit reports them); A and b are scratch. */
static bool separated(const mcell *mc, size_t m, const double *eta0, const double *beta0,
                      gsl_matrix *A, gsl_vector *b)
{
    bool boundary = false;
    for (size_t c = 0; c < m; c++) {
        if (boundary_rate(logit_mu(eta0[c])))
            return true;
        if (mc[c].x == 0.0 || mc[c].x == mc[c].n)
            boundary = true;
    }
    if (!boundary) /* every cell strictly inside (0,1): strictly concave, finite */
        return false;
    size_t p = A->size1;
    double *prev = malloc(p * sizeof *prev), *beta = malloc(p * sizeof *beta);
    double *eta = malloc(m * sizeof *eta);
    bool sep = false;
    if (!prev || !beta || !eta)
        goto done; /* out of memory: cannot tell, report the fit as it is */
    memcpy(prev, beta0, p * sizeof *prev);
    memcpy(eta, eta0, m * sizeof *eta);
    for (int it = 0; it < SEP_STEPS && !sep; it++) {
        if (irls_step(mc, m, eta, A, b, beta) != 0) {
            sep = true; /* the boundary cells' weights vanished */
            break;
        }
        double moved = 0.0;
        for (size_t j = 0; j < p; j++) {
            moved = fmax(moved, fabs(beta[j] - prev[j]) / (1.0 + fabs(beta[j])));
            prev[j] = beta[j];
        }
        for (size_t c = 0; c < m; c++) {
            eta[c] = row_dot(&mc[c], beta);
            if (boundary_rate(logit_mu(eta[c])))
                sep = true;
        }
        if (moved < 1e-12)
            break;
    }
done:
    free(prev);
    free(beta);
    free(eta);
    return sep;
}

/* Term metadata in column order. */
static void terms_describe(const stats_fact_design *d, const layout *L, stats_fact_term *t)
{
    for (int j = 0; j < L->p; j++) {
        t[j].kind = STATS_FACT_TERM_INTERCEPT;
        t[j].factor_a = t[j].level_a = t[j].factor_b = t[j].level_b = -1;
    }
    for (int f = 0; f < d->nfactors; f++)
        for (int l = 1; l < d->nlevels[f]; l++) {
            stats_fact_term *x = &t[L->main_off[f] + l - 1];
            x->kind = STATS_FACT_TERM_MAIN;
            x->factor_a = f;
            x->level_a = l;
        }
    if (d->interactions)
        for (int f = 0; f < d->nfactors; f++)
            for (int g = f + 1; g < d->nfactors; g++)
                for (int l = 1; l < d->nlevels[f]; l++)
                    for (int k = 1; k < d->nlevels[g]; k++) {
                        stats_fact_term *x =
                            &t[L->inter_off[f][g] + (l - 1) * (d->nlevels[g] - 1) + (k - 1)];
                        x->kind = STATS_FACT_TERM_INTERACTION;
                        x->factor_a = f;
                        x->level_a = l;
                        x->factor_b = g;
                        x->level_b = k;
                    }
    for (int s = 1; s < d->nstrata; s++) {
        stats_fact_term *x = &t[L->strata_off + s - 1];
        x->kind = STATS_FACT_TERM_STRATUM;
        x->level_a = s;
    }
}

/* Fills the estimates, standard errors and tests from beta and cov. */
static void terms_fill(stats_fact_term *t, int p, const double *beta, const double *cov,
                       double alpha)
{
    double zc = stats_prop_zcrit(alpha);
    for (int j = 0; j < p; j++) {
        t[j].estimate = beta[j];
        double v = cov[(size_t)j * (size_t)p + (size_t)j];
        if (!(v > 0.0) || !isfinite(v)) {
            const char *w = "zero variance: the data do not vary in this coefficient's cells";
            t[j].se = stats_value_undef(w);
            t[j].stat = NAN;
            t[j].p = stats_pvalue_undef(w);
            t[j].ci = stats_interval_undef(w);
            continue;
        }
        double se = sqrt(v);
        t[j].se = stats_value_of(se);
        t[j].stat = beta[j] / se;
        t[j].p = stats_dist_p_normal(t[j].stat);
        t[j].ci = stats_interval_of(beta[j] - zc * se, beta[j] + zc * se);
    }
}

static void copy_matrix(const gsl_matrix *M, double *out)
{
    for (size_t i = 0; i < M->size1; i++)
        for (size_t j = 0; j < M->size2; j++)
            out[i * M->size2 + j] = gsl_matrix_get(M, i, j);
}

/* Logistic regression. Returns 0 (status in out) or -1 (out of memory).
 * beta and cov are the caller's (p and p*p). */
static int fit_logit(const mcell *mc, size_t m, int p, stats_fact_fit *out, double *beta,
                     double *cov)
{
    int rc = -1;
    size_t P = (size_t)p;
    gsl_matrix *A = gsl_matrix_alloc(P, P);
    gsl_vector *b = gsl_vector_alloc(P);
    double *eta = malloc((m ? m : 1) * sizeof *eta);
    double *mu = malloc((m ? m : 1) * sizeof *mu);
    if (!A || !b || !eta || !mu)
        goto done;

    /* R's start on the per-visitor rows: mustart = (y + 0.5) / 2, 0.75 for
     * a converter and 0.25 otherwise, so the starting deviance is
     * 2 N log(4/3). (R's start for grouped data, (x + 0.5) / (n + 1) per
     * cell, leads to the same maximum, but R stops each path about 1e-5
     * relative short of it at different points: starting as the
     * per-visitor fit does gives R's per-visitor numbers to ~1e-10.) */
    double N = 0.0;
    for (size_t c = 0; c < m; c++)
        N += mc[c].n;
    double devold = 2.0 * N * log(4.0 / 3.0), dev = devold;
    bool converged = false;
    int it;
    for (it = 1; it <= IRLS_MAXIT; it++) {
        if (irls_step(mc, m, it == 1 ? NULL : eta, A, b, beta) != 0) {
            out->iterations = it;
            out->status = STATS_FACT_SINGULAR;
            out->why = "X'WX is not positive definite: the cells do not identify every "
                       "coefficient";
            rc = 0;
            goto done;
        }
        for (size_t c = 0; c < m; c++) {
            eta[c] = row_dot(&mc[c], beta);
            mu[c] = logit_mu(eta[c]);
        }
        dev = binary_deviance(mc, m, mu);
        if (fabs(dev - devold) / (fabs(dev) + 0.1) < IRLS_EPSILON) {
            converged = true;
            break;
        }
        devold = dev;
    }
    out->iterations = converged ? it : IRLS_MAXIT;
    out->deviance = dev;
    /* R's covariance: the inverse of X'WX of the last step (weights at the
     * coefficients before it), which A holds factorised */
    gsl_matrix *Ainv = gsl_matrix_alloc(P, P);
    if (!Ainv)
        goto done;
    gsl_matrix_memcpy(Ainv, A);
    int inv = gsl_linalg_cholesky_invert(Ainv);
    if (inv == GSL_SUCCESS)
        copy_matrix(Ainv, cov);
    gsl_matrix_free(Ainv);
    rc = 0;
    if (separated(mc, m, eta, beta, A, b)) {
        out->status = STATS_FACT_SEPARATED;
        out->why = "a cell with 0% or 100% conversion drives a log-odds to infinity "
                   "(separation): no finite estimate";
    } else if (!converged) {
        out->status = STATS_FACT_NOT_CONVERGED;
        out->why = "IRLS did not converge in 25 iterations";
    } else if (inv != GSL_SUCCESS) {
        out->status = STATS_FACT_SINGULAR;
        out->why = "X'WX could not be inverted";
    } else
        out->status = STATS_FACT_OK;
done:
    gsl_matrix_free(A);
    gsl_vector_free(b);
    free(eta);
    free(mu);
    return rc;
}

/* Least squares with HC3 errors. Returns 0 (status in out) or -1. */
static int fit_ols(const mcell *mc, size_t m, int p, stats_fact_fit *out, double *beta,
                   double *cov)
{
    int rc = -1;
    size_t P = (size_t)p;
    gsl_matrix *A = gsl_matrix_alloc(P, P), *meat = gsl_matrix_calloc(P, P);
    gsl_matrix *tmp = gsl_matrix_alloc(P, P), *V = gsl_matrix_alloc(P, P);
    gsl_vector *b = gsl_vector_calloc(P);
    if (!A || !meat || !tmp || !V || !b)
        goto done;
    gsl_matrix_set_zero(A);
    for (size_t c = 0; c < m; c++)
        row_accumulate(&mc[c], mc[c].n, mc[c].sum, A, b);
    out->iterations = 1;
    rc = 0;
    gsl_vector_view bv = gsl_vector_view_array(beta, P);
    if (gsl_linalg_cholesky_decomp1(A) != GSL_SUCCESS ||
        gsl_linalg_cholesky_solve(A, b, &bv.vector) != GSL_SUCCESS ||
        gsl_linalg_cholesky_invert(A) != GSL_SUCCESS) {
        out->status = STATS_FACT_SINGULAR;
        out->why = "X'X is not positive definite: the cells do not identify every coefficient";
        goto done;
    }
    /* A is now (X'X)^-1 */
    double rss = 0.0;
    for (size_t c = 0; c < m; c++) {
        double n = mc[c].n, ybar = mc[c].sum / n, yhat = row_dot(&mc[c], beta);
        /* within-cell SS, clamped at 0 (rounding of Q - S^2/n; cell_valid
         * rejected anything worse) */
        double within = fmax(fma(-mc[c].sum, ybar, mc[c].sumsq), 0.0);
        double ss = within + n * (ybar - yhat) * (ybar - yhat);
        rss += ss;
        double h = row_quad(&mc[c], A);
        if (!(1.0 - h > LEVERAGE_GUARD)) {
            out->status = STATS_FACT_SINGULAR;
            out->why = "a cell with one visitor has leverage 1: its residual is 0/0 and the "
                       "HC3 variance is undefined";
            out->deviance = NAN;
            goto done;
        }
        row_accumulate(&mc[c], ss / ((1.0 - h) * (1.0 - h)), 0.0, meat, NULL);
    }
    out->deviance = rss;
    /* V = (X'X)^-1 meat (X'X)^-1 */
    gsl_blas_dsymm(CblasLeft, CblasUpper, 1.0, A, meat, 0.0, tmp);
    gsl_blas_dsymm(CblasRight, CblasUpper, 1.0, A, tmp, 0.0, V);
    copy_matrix(V, cov);
    out->status = STATS_FACT_OK;
done:
    gsl_matrix_free(A);
    gsl_matrix_free(meat);
    gsl_matrix_free(tmp);
    gsl_matrix_free(V);
    gsl_vector_free(b);
    return rc;
}

int stats_fact_fit_run(stats_fact_model model, const stats_fact_design *d,
                       const stats_fact_cell *cells, size_t ncells, double alpha,
                       stats_fact_fit *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (model != STATS_FACT_LOGIT && model != STATS_FACT_OLS_HC3)
        return -1;
    if (!design_valid(d) || (ncells > 0 && !cells))
        return -1;
    for (size_t i = 0; i < ncells; i++)
        if (!cell_valid(d, &cells[i], model))
            return -1;

    layout L;
    layout_build(d, &L);
    size_t P = (size_t)L.p;
    stats_fact_cell *sorted = sorted_cells(d, cells, ncells);
    mcell *mc = malloc((ncells ? ncells : 1) * sizeof *mc);
    double *beta = calloc(P, sizeof *beta);
    double *cov = calloc(P * P, sizeof *cov);
    stats_fact_term *terms = calloc(P, sizeof *terms);
    int rc = -1;
    if (!sorted || !mc || !beta || !cov || !terms)
        goto done;
    size_t m = merge_cells(d, &L, sorted, ncells, mc);

    out->model = model;
    out->design = *d;
    for (size_t c = 0; c < m; c++)
        out->n += mc[c].n;
    if (!every_column_has_visitors(mc, m, L.p)) {
        out->status = STATS_FACT_NO_DATA;
        out->why = out->n > 0.0 ? "a level, combination or stratum of the model has no visitors"
                                : "no visitors";
        rc = 0;
        goto done;
    }
    rc = model == STATS_FACT_LOGIT ? fit_logit(mc, m, L.p, out, beta, cov)
                                   : fit_ols(mc, m, L.p, out, beta, cov);
    if (rc != 0 || out->status != STATS_FACT_OK)
        goto done;
    terms_describe(d, &L, terms);
    terms_fill(terms, L.p, beta, cov, alpha);
    out->nterms = P;
    out->terms = terms;
    out->cov = cov;
    terms = NULL;
    cov = NULL;
done:
    free(sorted);
    free(mc);
    free(beta);
    free(cov);
    free(terms);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

void stats_fact_fit_free(stats_fact_fit *f)
{
    if (!f)
        return;
    free(f->terms);
    free(f->cov);
    memset(f, 0, sizeof *f);
}

int stats_fact_term_index(const stats_fact_fit *f, stats_fact_term_kind kind, int a, int la,
                          int b, int lb)
{
    if (!f)
        return -1;
    for (size_t j = 0; j < f->nterms; j++) {
        const stats_fact_term *t = &f->terms[j];
        if (t->kind != kind)
            continue;
        switch (kind) {
        case STATS_FACT_TERM_INTERCEPT:
            return (int)j;
        case STATS_FACT_TERM_MAIN:
            if (t->factor_a == a && t->level_a == la)
                return (int)j;
            break;
        case STATS_FACT_TERM_INTERACTION:
            if (t->factor_a == a && t->level_a == la && t->factor_b == b && t->level_b == lb)
                return (int)j;
            break;
        case STATS_FACT_TERM_STRATUM:
            if (t->level_a == la)
                return (int)j;
            break;
        }
    }
    return -1;
}

stats_fact_joint stats_fact_interaction_test(const stats_fact_fit *f, int a, int b)
{
    stats_fact_joint r = {NAN, 0, stats_pvalue_undef("the model has no estimates")};
    if (!f || f->status != STATS_FACT_OK || !f->terms)
        return r;
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    int idx[(STATS_FACT_MAX_LEVELS - 1) * (STATS_FACT_MAX_LEVELS - 1)];
    int k = 0;
    for (size_t j = 0; j < f->nterms; j++)
        if (f->terms[j].kind == STATS_FACT_TERM_INTERACTION && f->terms[j].factor_a == a &&
            f->terms[j].factor_b == b)
            idx[k++] = (int)j;
    if (k == 0) {
        r.p = stats_pvalue_undef("the model has no interaction of these factors");
        return r;
    }
    size_t K = (size_t)k, P = f->nterms;
    gsl_matrix *V = gsl_matrix_alloc(K, K);
    gsl_vector *beta = gsl_vector_alloc(K), *u = gsl_vector_alloc(K);
    if (!V || !beta || !u) {
        r.p = stats_pvalue_undef("out of memory");
        goto done;
    }
    for (size_t i = 0; i < K; i++) {
        gsl_vector_set(beta, i, f->terms[idx[i]].estimate);
        for (size_t j = 0; j < K; j++)
            gsl_matrix_set(V, i, j, f->cov[(size_t)idx[i] * P + (size_t)idx[j]]);
    }
    /* chi2 = b' V^-1 b through V = LL': solve, never invert */
    if (gsl_linalg_cholesky_decomp1(V) != GSL_SUCCESS ||
        gsl_linalg_cholesky_solve(V, beta, u) != GSL_SUCCESS) {
        r.p = stats_pvalue_undef("the interactions' covariance is not positive definite");
        goto done;
    }
    gsl_blas_ddot(beta, u, &r.chi2);
    r.df = k;
    r.p = stats_dist_p_chisq(r.chi2, (double)k);
done:
    gsl_matrix_free(V);
    gsl_vector_free(beta);
    gsl_vector_free(u);
    return r;
}

/* The design row of a combination as coefficients +1 (or -sign for the
 * base of a contrast) into x. Returns false on out-of-range input. */
static bool row_of(const stats_fact_fit *f, const int *levels, int stratum, double sign,
                   double *x)
{
    const stats_fact_design *d = &f->design;
    for (int g = 0; g < d->nfactors; g++)
        if (levels[g] < 0 || levels[g] >= d->nlevels[g])
            return false;
    if (stratum < 0 || stratum >= d->nstrata)
        return false;
    for (size_t j = 0; j < f->nterms; j++) {
        const stats_fact_term *t = &f->terms[j];
        bool on = false;
        switch (t->kind) {
        case STATS_FACT_TERM_INTERCEPT:
            on = true;
            break;
        case STATS_FACT_TERM_MAIN:
            on = levels[t->factor_a] == t->level_a;
            break;
        case STATS_FACT_TERM_INTERACTION:
            on = levels[t->factor_a] == t->level_a && levels[t->factor_b] == t->level_b;
            break;
        case STATS_FACT_TERM_STRATUM:
            on = stratum == t->level_a;
            break;
        }
        if (on)
            x[j] += sign;
    }
    return true;
}

/* x'b and sqrt(x' V x). */
static stats_value linear(const stats_fact_fit *f, const double *x, double *se)
{
    size_t P = f->nterms;
    double est = 0.0, v = 0.0;
    for (size_t i = 0; i < P; i++) {
        if (x[i] == 0.0)
            continue;
        est += x[i] * f->terms[i].estimate;
        for (size_t j = 0; j < P; j++)
            v += x[i] * f->cov[i * P + j] * x[j];
    }
    if (se)
        *se = v > 0.0 ? sqrt(v) : (v == 0.0 ? 0.0 : NAN);
    return stats_value_of(est);
}

static stats_value predict_or_contrast(const stats_fact_fit *f, const int *levels,
                                       const int *base, int stratum, double *se)
{
    if (se)
        *se = NAN;
    if (!f || f->status != STATS_FACT_OK || !f->terms || !levels)
        return stats_value_undef("the model has no estimates");
    double *x = calloc(f->nterms, sizeof *x);
    if (!x)
        return stats_value_undef("out of memory");
    stats_value r;
    if (!row_of(f, levels, stratum, 1.0, x) || (base && !row_of(f, base, stratum, -1.0, x)))
        r = stats_value_undef("level or stratum out of range");
    else
        r = linear(f, x, se);
    free(x);
    return r;
}

stats_value stats_fact_predict(const stats_fact_fit *f, const int *levels, int stratum,
                               double *se)
{
    return predict_or_contrast(f, levels, NULL, stratum, se);
}

stats_value stats_fact_contrast(const stats_fact_fit *f, const int *levels, const int *base,
                                int stratum, double *se)
{
    if (!base) {
        if (se)
            *se = NAN;
        return stats_value_undef("no base combination");
    }
    return predict_or_contrast(f, levels, base, stratum, se);
}

stats_value stats_fact_interaction_n_per_cell(double p00, double p10, double p01, double p11,
                                              double alpha, double power)
{
    const double p[4] = {p00, p10, p01, p11};
    double v = 0.0;
    for (int i = 0; i < 4; i++) {
        if (!(p[i] > 0.0 && p[i] < 1.0))
            return stats_value_undef("every rate must be strictly between 0 and 1");
        v += p[i] * (1.0 - p[i]);
    }
    double delta = (p11 - p10) - (p01 - p00);
    if (delta == 0.0)
        return stats_value_undef("the interaction contrast is 0");
    if (!(alpha > 0.0 && alpha < 1.0) || !(power > 0.0 && power < 1.0))
        return stats_value_undef("alpha and power must be between 0 and 1");
    double z = stats_dist_normal_quantile(1.0 - alpha / 2.0) + stats_dist_normal_quantile(power);
    double n = z * z * v / (delta * delta);
    /* ceil, but a value within 1e-9 above an integer is that integer, as
     * in stats_power_n_per_arm */
    return stats_value_of(ceil(n - 1e-9 * n));
}

/* stats_factorial.h -- main effects and two-way interactions of a factorial
 * offer experiment, fitted from cell-level sufficient statistics.
 *
 * Why: an offer is a combination (placement x wording x tiers x urgency),
 * and the question is not only which level of each factor is best but
 * whether the factors interact (urgency may help only with benefit-led
 * wording). Upshot never keeps per-visitor rows, but every model here has
 * a design matrix that is constant within a cell, so the cell's visitors,
 * converters and revenue sums (n, sum y, sum y^2) determine the fit of the
 * expanded one-row-per-visitor data exactly: the same coefficients,
 * standard errors and p-values that R's glm/lm give on the expanded data.
 *
 * The model (docs/stats.md, "Factorial experiments"):
 *
 *   eta = b0 + sum_f sum_{l>0} b_{f,l} [level_f = l]
 *            + sum_{f<g} sum_{l>0,m>0} b_{fg,lm} [level_f = l][level_g = m]
 *            + sum_{s>0} c_s [stratum = s]
 *
 * with treatment coding: level 0 of each factor is the control level, so
 * b0 is the control combination (of stratum 0) and b_{f,l} is level l's
 * effect where every other factor is at its control level. Strata (the
 * regions, for the pooled "overall" fit) enter additively.
 *
 *   conversion: logistic regression (eta = log-odds of converting),
 *               fitted by iteratively reweighted least squares on the
 *               binomial cells; standard errors from the Fisher
 *               information, Wald z tests (R: glm(family = binomial)).
 *   revenue per visitor: least squares (eta = mean revenue), standard
 *               errors robust to heteroscedasticity (HC3, from each
 *               cell's residual sum of squares and leverage), Wald tests
 *               against the normal (R: lm + sandwich::vcovHC(type="HC3")).
 *
 * Pure: GSL and libm, no I/O; allocates only the result. stats_init()
 * must have run. */
#ifndef UPSHOT_STATS_FACTORIAL_H
#define UPSHOT_STATS_FACTORIAL_H

#include <stdbool.h>
#include <stddef.h>

#include "stats_core.h"

#define STATS_FACT_MAX_FACTORS 6
#define STATS_FACT_MAX_LEVELS 8
/* Strata of the pooled fit (regions). */
#define STATS_FACT_MAX_STRATA 64

/* One cell of the data: a level combination in one stratum. */
typedef struct stats_fact_cell {
    int levels[STATS_FACT_MAX_FACTORS]; /* level of each factor, 0 = control */
    int stratum;                        /* 0..nstrata-1 (0 when nstrata == 1) */
    double n;                           /* visitors */
    double conversions;                 /* visitors who converted, <= n */
    double sum;                         /* sum over visitors of revenue */
    double sumsq;                       /* sum over visitors of revenue^2 */
} stats_fact_cell;

typedef struct stats_fact_design {
    int nfactors;                           /* 1..STATS_FACT_MAX_FACTORS */
    int nlevels[STATS_FACT_MAX_FACTORS];    /* 2..STATS_FACT_MAX_LEVELS each */
    bool interactions;                      /* include every two-way interaction */
    int nstrata;                            /* 1..STATS_FACT_MAX_STRATA */
} stats_fact_design;

typedef enum {
    STATS_FACT_LOGIT,   /* conversion, logistic regression by IRLS */
    STATS_FACT_OLS_HC3  /* revenue per visitor, least squares with HC3 errors */
} stats_fact_model;

typedef enum {
    STATS_FACT_TERM_INTERCEPT,
    STATS_FACT_TERM_MAIN,        /* factor_a at level_a */
    STATS_FACT_TERM_INTERACTION, /* factor_a at level_a and factor_b at level_b */
    STATS_FACT_TERM_STRATUM      /* stratum level_a (> 0) */
} stats_fact_term_kind;

/* One coefficient, in the column order of the design matrix: intercept,
 * main effects (factor by factor, levels ascending), interactions (pairs
 * f < g in lexicographic order, then levels l, m ascending), strata. */
typedef struct stats_fact_term {
    stats_fact_term_kind kind;
    int factor_a, level_a;      /* -1 when unused */
    int factor_b, level_b;      /* -1 when unused */
    double estimate;            /* log-odds (LOGIT) or revenue (OLS) */
    stats_value se;
    double stat;                /* estimate / se (z) */
    stats_pvalue p;             /* two-sided, normal reference */
    stats_interval ci;          /* estimate -+ z_{1-alpha/2} se */
} stats_fact_term;

typedef enum {
    STATS_FACT_OK,
    STATS_FACT_NO_DATA,     /* some column has no visitors: not identifiable */
    STATS_FACT_SEPARATED,   /* a cell with 0% or 100% conversion drives a
                               log-odds to infinity; estimates not reported */
    STATS_FACT_NOT_CONVERGED,
    STATS_FACT_SINGULAR     /* X'WX not positive definite, or (OLS) a cell of
                               one visitor with leverage 1, where HC3 is 0/0 */
} stats_fact_status;

typedef struct stats_fact_fit {
    stats_fact_model model;
    stats_fact_status status;
    const char *why;            /* static text when status != OK */
    size_t nterms;              /* 0 unless status == OK */
    stats_fact_term *terms;     /* nterms, owned; NULL unless status == OK */
    double *cov;                /* nterms x nterms covariance, row-major, owned;
                                   NULL unless status == OK */
    int iterations;             /* IRLS iterations (1 for OLS) */
    double deviance;            /* residual deviance (LOGIT) or RSS (OLS) */
    double n;                   /* visitors */
    stats_fact_design design;   /* the design fitted (predict and contrast read it) */
} stats_fact_fit;

/* Fits model to ncells cells (any order; several cells with the same levels
 * and stratum are summed; a combination with no cell counts as zero
 * visitors). alpha sets the interval level. Returns 0 with *out filled
 * (status may still say why no estimates are reported), or -1 on invalid
 * design or input (negative counts, conversions > n, levels or stratum out
 * of range) or out of memory; *out is then zeroed. */
int stats_fact_fit_run(stats_fact_model model, const stats_fact_design *d,
                       const stats_fact_cell *cells, size_t ncells, double alpha,
                       stats_fact_fit *out);
void stats_fact_fit_free(stats_fact_fit *f); /* zeroed or NULL: nothing */

/* Index of a term in f->terms, or -1: main (a, la), interaction (a, la,
 * b, lb) with a < b, intercept (kind INTERCEPT, others ignored). */
int stats_fact_term_index(const stats_fact_fit *f, stats_fact_term_kind kind, int a, int la,
                          int b, int lb);

/* The joint Wald test that every interaction coefficient of factors a and
 * b is zero: chi-square statistic, degrees of freedom ((La-1)(Lb-1)) and
 * p-value. Undefined when the fit has no estimates or no interactions. */
typedef struct stats_fact_joint {
    double chi2;
    int df;
    stats_pvalue p;
} stats_fact_joint;
stats_fact_joint stats_fact_interaction_test(const stats_fact_fit *f, int a, int b);

/* The model's linear predictor for a level combination in a stratum, with
 * its standard error; and the difference between two combinations (delta
 * of linear predictors, e.g. a combination against the control) with its
 * standard error from the covariance. On the log-odds scale for LOGIT. */
stats_value stats_fact_predict(const stats_fact_fit *f, const int *levels, int stratum,
                               double *se);
stats_value stats_fact_contrast(const stats_fact_fit *f, const int *levels, const int *base,
                                int stratum, double *se);

/* Visitors per cell to detect an interaction contrast of a 2x2 sub-table:
 * (p11 - p10) - (p01 - p00) = delta on the rate scale, with rates
 * p00 (both control), p10, p01 and p11, two-sided alpha, power:
 *
 *   n = (z_{1-alpha/2} + z_{power})^2 (sum_ij p_ij (1 - p_ij)) / delta^2
 *
 * rounded up. Undefined when a rate is outside (0,1) or delta is 0. */
stats_value stats_fact_interaction_n_per_cell(double p00, double p10, double p01, double p11,
                                              double alpha, double power);

#endif

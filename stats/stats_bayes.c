/* stats_bayes.c -- see stats_bayes.h for the formulas, the quadrature and
 * its accuracy. */
#include "stats_bayes.h"

#include "stats_dist.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BAYES_G 12            /* Gauss-Legendre nodes per panel */
#define BAYES_MAX_PANELS 512  /* after merging both arms' breakpoints */
#define BAYES_LOG_DROP 40.0   /* range: log-density within 40 of the peak */
#define BAYES_MASS_TOL 1e-10  /* |numerical mass - 1| allowed */

struct stats_bayes_workspace {
    double x[BAYES_G], w[BAYES_G];       /* nodes and weights on [-1, 1] */
    double left[BAYES_G][BAYES_G];       /* integral_{-1}^{x_i} of Lagrange basis j */
    double right[BAYES_G][BAYES_G];      /* integral_{x_i}^{1} of Lagrange basis j */
    double brk[BAYES_MAX_PANELS + 1];    /* panel breakpoints */
    double f[2][BAYES_MAX_PANELS * BAYES_G]; /* densities at the nodes */
};

/* Legendre P_0..P_n at x by the three-term recurrence. */
static void legendre(double x, int n, double *p)
{
    p[0] = 1.0;
    if (n >= 1)
        p[1] = x;
    for (int k = 2; k <= n; k++)
        p[k] = ((2.0 * k - 1.0) * x * p[k - 1] - (k - 1.0) * p[k - 2]) / k;
}

stats_bayes_workspace *stats_bayes_workspace_new(void)
{
    stats_bayes_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    gsl_integration_glfixed_table *t = gsl_integration_glfixed_table_alloc(BAYES_G);
    if (!t) {
        free(ws);
        return NULL;
    }
    for (int i = 0; i < BAYES_G; i++)
        gsl_integration_glfixed_point(-1.0, 1.0, (size_t)i, &ws->x[i], &ws->w[i], t);
    gsl_integration_glfixed_table_free(t);
    /* Lagrange basis L_j = sum_k (2k+1)/2 w_j P_k(x_j) P_k (exact by the
     * discrete orthogonality of Gauss nodes), and
     * integral_{-1}^{x} P_k = (P_{k+1}(x) - P_{k-1}(x)) / (2k+1), k >= 1. */
    double pi[BAYES_G + 1], pj[BAYES_G + 1];
    for (int i = 0; i < BAYES_G; i++) {
        legendre(ws->x[i], BAYES_G, pi);
        for (int j = 0; j < BAYES_G; j++) {
            legendre(ws->x[j], BAYES_G, pj);
            double s = (ws->x[i] + 1.0) / 2.0;
            for (int k = 1; k < BAYES_G; k++)
                s += pj[k] * (pi[k + 1] - pi[k - 1]) / 2.0;
            ws->left[i][j] = ws->w[j] * s;
            ws->right[i][j] = ws->w[j] - ws->left[i][j];
        }
    }
    return ws;
}

void stats_bayes_workspace_free(stats_bayes_workspace *w)
{
    free(w);
}

/* One posterior and its effective support [lo, hi]. */
typedef struct beta_arm {
    stats_dist_beta d;
    double mean, sd, lo, hi;
} beta_arm;

/* From the mode, steps of doubling standard deviations until the
 * log-density has dropped by BAYES_LOG_DROP, then a few bisections. */
static double arm_bound(const beta_arm *arm, double mode, double peak, int dir)
{
    double inner = mode, step = arm->sd;
    for (int i = 0; i < 80; i++) {
        double t = mode + dir * step;
        if (t <= 0.0)
            return 0.0;
        if (t >= 1.0)
            return 1.0;
        if (stats_dist_beta_lnpdf(&arm->d, t) < peak - BAYES_LOG_DROP) {
            double outer = t;
            for (int j = 0; j < 8; j++) {
                double mid = 0.5 * (inner + outer);
                if (stats_dist_beta_lnpdf(&arm->d, mid) < peak - BAYES_LOG_DROP)
                    outer = mid;
                else
                    inner = mid;
            }
            return outer;
        }
        inner = t;
        step *= 2.0;
    }
    return dir < 0 ? 0.0 : 1.0;
}

static void arm_init(beta_arm *arm, uint64_t n, uint64_t x)
{
    double a = 1.0 + (double)x, b = 1.0 + (double)(n - x), s = a + b;
    stats_dist_beta_init(&arm->d, a, b);
    arm->mean = a / s;
    arm->sd = sqrt(a * b / (s * s * (s + 1.0)));
    if (a <= 1.0 && b <= 1.0) {  /* the uniform prior itself */
        arm->lo = 0.0;
        arm->hi = 1.0;
        return;
    }
    double mode = (a <= 1.0) ? 0.0 : (b <= 1.0) ? 1.0 : (a - 1.0) / (s - 2.0);
    /* at a boundary mode take the peak just inside, where it is finite */
    double probe = mode <= 0.0 ? arm->sd * 1e-9 : mode >= 1.0 ? 1.0 - arm->sd * 1e-9 : mode;
    double peak = stats_dist_beta_lnpdf(&arm->d, probe);
    arm->lo = mode <= 0.0 ? 0.0 : arm_bound(arm, mode, peak, -1);
    arm->hi = mode >= 1.0 ? 1.0 : arm_bound(arm, mode, peak, +1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Breakpoints: each arm's support cut into pieces of at most width_sd of
 * its own standard deviations; merged, sorted, near-duplicates dropped.
 * Returns the number of panels, or 0 if there would be too many. */
static int make_panels(stats_bayes_workspace *ws, const beta_arm *arms, double width_sd)
{
    int nb = 0;
    double minw = INFINITY;
    for (int i = 0; i < 2; i++) {
        double span = arms[i].hi - arms[i].lo;
        double w = width_sd * arms[i].sd;
        int k = (int)ceil(span / w);
        if (k < 1)
            k = 1;
        if (nb + k + 1 > BAYES_MAX_PANELS + 1)
            return 0;
        for (int j = 0; j <= k; j++)
            ws->brk[nb++] = arms[i].lo + span * j / k;
        minw = fmin(minw, span / k);
    }
    qsort(ws->brk, (size_t)nb, sizeof ws->brk[0], cmp_double);
    int kept = 1;
    for (int i = 1; i < nb; i++) {
        if (ws->brk[i] - ws->brk[kept - 1] >= 0.5 * minw)
            ws->brk[kept++] = ws->brk[i];
        else if (i == nb - 1)
            ws->brk[kept - 1] = ws->brk[i];  /* keep the outer end exact */
    }
    return kept - 1;
}

/* Densities at all nodes; returns each arm's numerical mass. */
static void eval_densities(stats_bayes_workspace *ws, const beta_arm *arms, int np,
                           double mass[2])
{
    mass[0] = mass[1] = 0.0;
    for (int p = 0; p < np; p++) {
        double mid = 0.5 * (ws->brk[p] + ws->brk[p + 1]);
        double half = 0.5 * (ws->brk[p + 1] - ws->brk[p]);
        for (int j = 0; j < BAYES_G; j++) {
            double t = mid + half * ws->x[j];
            for (int i = 0; i < 2; i++) {
                double l = stats_dist_beta_lnpdf(&arms[i].d, t);
                double v = l < -745.0 ? 0.0 : exp(l);
                ws->f[i][p * BAYES_G + j] = v;
                mass[i] += half * ws->w[j] * v;
            }
        }
    }
}

/* The two integrals over all panels. lo is the index of the arm with the
 * lower mean. */
static void integrate(const stats_bayes_workspace *ws, int np, int lo, const double mass[2],
                      double *prob, double *loss)
{
    int hi = 1 - lo;
    /* mass of the low arm right of each panel, and of the high arm left */
    double right_mass[BAYES_MAX_PANELS + 1];
    right_mass[np] = 0.0;
    for (int p = np - 1; p >= 0; p--) {
        double half = 0.5 * (ws->brk[p + 1] - ws->brk[p]), m = 0.0;
        for (int j = 0; j < BAYES_G; j++)
            m += ws->w[j] * ws->f[lo][p * BAYES_G + j];
        right_mass[p] = right_mass[p + 1] + half * m;
    }
    double left_mass = 0.0, sp = 0.0, sl = 0.0;
    for (int p = 0; p < np; p++) {
        double half = 0.5 * (ws->brk[p + 1] - ws->brk[p]);
        const double *flo = &ws->f[lo][p * BAYES_G], *fhi = &ws->f[hi][p * BAYES_G];
        double m_hi = 0.0;
        for (int i = 0; i < BAYES_G; i++) {
            double s_lo = 0.0, c_hi = 0.0;
            for (int j = 0; j < BAYES_G; j++) {
                s_lo += ws->right[i][j] * flo[j];
                c_hi += ws->left[i][j] * fhi[j];
            }
            s_lo = right_mass[p + 1] + half * s_lo;  /* S_low(t_i), unnormalised */
            c_hi = left_mass + half * c_hi;          /* F_high(t_i) */
            if (s_lo < 0.0)
                s_lo = 0.0;
            if (c_hi < 0.0)
                c_hi = 0.0;
            sp += half * ws->w[i] * fhi[i] * s_lo;
            sl += half * ws->w[i] * c_hi * s_lo;
            m_hi += ws->w[i] * fhi[i];
        }
        left_mass += half * m_hi;
    }
    *prob = sp / (mass[0] * mass[1]);
    *loss = sl / (mass[0] * mass[1]);
}

static void set_all_undef(stats_bayes_result *out, const char *why)
{
    out->chance_to_beat = out->chance_to_lose = stats_value_undef(why);
    out->loss_ship = out->loss_keep = stats_value_undef(why);
}

int stats_bayes_compare(uint64_t n0, uint64_t x0, uint64_t n1, uint64_t x1,
                        stats_bayes_workspace *w, stats_bayes_result *out)
{
    if (x0 > n0 || x1 > n1) {
        set_all_undef(out, "conversions exceed visitors");
        return -1;
    }
    stats_bayes_workspace *own = NULL;
    if (!w) {
        own = w = stats_bayes_workspace_new();
        if (!w) {
            set_all_undef(out, "out of memory");
            return -1;
        }
    }
    beta_arm arms[2];
    arm_init(&arms[0], n0, x0);
    arm_init(&arms[1], n1, x1);
    int lo = arms[0].mean <= arms[1].mean ? 0 : 1;

    double prob = 0.0, loss = 0.0, width = 2.5;
    int ok = 0;
    for (int attempt = 0; attempt < 4 && !ok; attempt++, width *= 0.5) {
        int np = make_panels(w, arms, width);
        if (np == 0)
            break;
        double mass[2];
        eval_densities(w, arms, np, mass);
        if (fabs(mass[0] - 1.0) > BAYES_MASS_TOL || fabs(mass[1] - 1.0) > BAYES_MASS_TOL)
            continue;
        integrate(w, np, lo, mass, &prob, &loss);
        ok = isfinite(prob) && isfinite(loss);
    }
    stats_bayes_workspace_free(own);
    if (!ok) {
        set_all_undef(out, "numerical integration did not reach its accuracy target");
        return -1;
    }
    if (prob > 1.0)
        prob = 1.0;
    double big = 1.0 - prob;
    double loss_big = loss + (arms[1 - lo].mean - arms[lo].mean);
    bool control_low = lo == 0;
    out->chance_to_beat = stats_value_of(control_low ? big : prob);
    out->chance_to_lose = stats_value_of(control_low ? prob : big);
    out->loss_ship = stats_value_of(control_low ? loss : loss_big);
    out->loss_keep = stats_value_of(control_low ? loss_big : loss);
    return 0;
}

/* stats_adjust.c -- see stats_adjust.h. */
#include "stats_adjust.h"

#include <gsl/gsl_math.h>
#include <math.h>
#include <stdlib.h>

const char *stats_adjust_name(stats_adjust_method m)
{
    switch (m) {
    case STATS_ADJUST_HOLM:
        return "holm";
    case STATS_ADJUST_BH:
        return "bh";
    default:
        return "none";
    }
}

/* Shell sort of indices by key, ascending (Ciura's gaps); m is at most a
 * few thousand here, so this beats setting up qsort with a context. */
static void sort_indices(size_t *idx, size_t m, const double *key)
{
    static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        size_t gap = gaps[g];
        for (size_t i = gap; i < m; i++) {
            size_t v = idx[i], j = i;
            while (j >= gap && key[idx[j - gap]] > key[v]) {
                idx[j] = idx[j - gap];
                j -= gap;
            }
            idx[j] = v;
        }
    }
}

int stats_adjust_log(stats_adjust_method method, const double *ln_p, size_t m, double *ln_adj,
                     size_t *order)
{
    for (size_t i = 0; i < m; i++)
        if (isnan(ln_p[i]))
            return -1;
    if (method != STATS_ADJUST_HOLM && method != STATS_ADJUST_BH) {
        for (size_t i = 0; i < m; i++)
            ln_adj[i] = ln_p[i];
        return 0;
    }
    if (m == 0)
        return 0;
    size_t *own = NULL;
    if (!order) {
        own = order = malloc(m * sizeof *order);
        if (!order)
            return -1;
    }
    for (size_t i = 0; i < m; i++)
        order[i] = i;
    sort_indices(order, m, ln_p);
    double mm = (double)m;
    if (method == STATS_ADJUST_HOLM) {
        double run = -INFINITY;
        for (size_t r = 0; r < m; r++) {
            size_t i = order[r];
            double v = fmin(0.0, log(mm - (double)r) + ln_p[i]);
            run = fmax(run, v);
            ln_adj[i] = run;
        }
    } else {
        double run = 0.0;
        for (size_t r = m; r-- > 0;) {
            size_t i = order[r];
            double v = fmin(0.0, log(mm / (double)(r + 1)) + ln_p[i]);
            run = fmin(run, v);
            ln_adj[i] = run;
        }
    }
    free(own);
    return 0;
}

int stats_adjust(stats_adjust_method method, const double *p, size_t m, double *adj,
                 size_t *order)
{
    for (size_t i = 0; i < m; i++) {
        if (isnan(p[i]) || p[i] < 0.0 || p[i] > 1.0)
            return -1;
        adj[i] = log(p[i]);
    }
    if (stats_adjust_log(method, adj, m, adj, order) != 0)
        return -1;
    for (size_t i = 0; i < m; i++)
        adj[i] = exp(adj[i]);
    return 0;
}

int stats_adjust_pvalues(stats_adjust_method method, stats_pvalue *p, size_t m)
{
    double buf_ln[64] = {0};
    size_t buf_ord[64], buf_map[64];
    double *ln = buf_ln;
    size_t *ord = buf_ord, *map = buf_map;
    if (m > 64) {
        ln = malloc(m * sizeof *ln);
        ord = malloc(m * sizeof *ord);
        map = malloc(m * sizeof *map);
        if (!ln || !ord || !map) {
            free(ln);
            free(ord);
            free(map);
            return -1;
        }
    }
    size_t used = 0;
    for (size_t i = 0; i < m; i++) {
        if (!p[i].defined)
            continue;
        ln[used] = p[i].log10_p * M_LN10;
        map[used++] = i;
    }
    int rc = stats_adjust_log(method, ln, used, ln, ord);
    if (rc == 0)
        for (size_t j = 0; j < used; j++)
            p[map[j]] = stats_pvalue_from_log(ln[j]);
    if (m > 64) {
        free(ln);
        free(ord);
        free(map);
    }
    return rc;
}

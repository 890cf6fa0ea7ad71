/* cli_view_factorial.c: the factorial sections of `upshot show`
 * (cli_view_factorial.h).
 *
 * Order of the sections: the design (factors and levels); the effects of
 * the chosen scope's model with the joint interaction tests of every
 * scope; one interaction chart per tested pair; per region the cells and
 * the factor levels with the promoted one marked; the power line.
 *
 * Layout budget, as in cli_view_render.c: 100 columns at most, and below
 * 100 (an 80-column terminal, `upshot watch`) the columns the decision
 * does not read go first (the log-odds interval, visitors, the p of a
 * cell). Names are cut by cli_table, numbers never. Two interaction
 * charts stand side by side when both fit the width, else one under the
 * other.
 *
 * Which model: the view's metric when it has one (conversion: logistic
 * regression, shown as log-odds and odds ratios; revenue: least squares
 * in money per visitor), else (aov) the goal's. Which scope: the region
 * of --region, else "overall" (regions as strata) followed by a compact
 * table of every region's estimates, as many regions a block as fit.
 */
#include "cli_view_factorial.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_fmt.h"
#include "cli_plot.h"
#include "cli_table.h"
#include "cli_term.h"

/* Grid of one interaction chart: 8 rows by FACT_CHART_COLS columns; with
 * the axis (12) it is FACT_CHART_W wide. */
#define FACT_CHART_ROWS 8
#define FACT_CHART_COLS 28
#define FACT_CHART_W (12 + FACT_CHART_COLS)
#define FACT_CHART_GAP 4

/* What the renderer reads of the view, looked up once. */
typedef struct fact_ctx {
    const json_t *view, *fact;
    const char *model_key;  /* "conversion" | "revenue" */
    int logit;              /* the model is on the log-odds */
    const char *scope;      /* --region, or "overall" */
    const char *only;       /* --region or NULL */
    double alpha;           /* marks p < alpha */
    int color, width;
} fact_ctx;

/* ---- lookups ------------------------------------------------------------ */

static const json_t *fact_model(const fact_ctx *c, const char *scope)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c->fact, "models"), i, m)
        if (strcmp(cli_fmt_str(m, "scope"), scope) == 0)
            return json_object_get(m, c->model_key);
    return NULL;
}

static int fact_model_ok(const json_t *model)
{
    return json_is_object(model) && strcmp(cli_fmt_str(model, "status"), "ok") == 0;
}

/* The cell (view region's arm or the model's prediction) named variant in
 * an array of objects with a "variant" field. */
static const json_t *fact_by_variant(const json_t *arr, const char *variant)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
        if (strcmp(cli_fmt_str(x, "variant"), variant) == 0) return x;
    return NULL;
}

/* The model's predicted rate (LOGIT) or mean (OLS) of a cell. */
static double fact_predicted(const fact_ctx *c, const json_t *model, const char *variant)
{
    const json_t *p = fact_by_variant(json_object_get(model, "predicted"), variant);
    return cli_fmt_num(p, c->logit ? "rate" : "mean");
}

/* The same on the model's own scale (log-odds for LOGIT), where "no
 * interaction" is exactly parallel lines. */
static double fact_linear(const json_t *model, const char *variant)
{
    return cli_fmt_num(fact_by_variant(json_object_get(model, "predicted"), variant),
                       "estimate");
}

/* A heading cut to the width. */
static void fact_heading(const fact_ctx *c, FILE *f, const char *text)
{
    char cut[256];
    cli_term_fit(text, (size_t)c->width, cut, sizeof cut);
    cli_fmt_heading(f, c->color, cut);
}

/* Index of factor key in factors[], or -1. */
static int fact_factor_index(const json_t *factors, const char *key)
{
    size_t i;
    json_t *x;
    json_array_foreach(factors, i, x)
        if (strcmp(cli_fmt_str(x, "key"), key) == 0) return (int)i;
    return -1;
}

/* The cell whose levels are la of factor a, lb of factor b and the
 * control (first) level of every other factor; NULL when absent. */
static const char *fact_cell_at(const fact_ctx *c, const char *fa, const char *la,
                                const char *fb, const char *lb)
{
    const json_t *factors = json_object_get(c->fact, "factors");
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(c->fact, "cells"), i, cell) {
        const json_t *lv = json_object_get(cell, "levels");
        int match = 1;
        size_t j;
        json_t *fx;
        json_array_foreach(factors, j, fx) {
            const char *fk = cli_fmt_str(fx, "key");
            const char *want = strcmp(fk, fa) == 0   ? la
                               : strcmp(fk, fb) == 0 ? lb
                                                     : json_string_value(json_array_get(
                                                           json_object_get(fx, "levels"), 0));
            if (want == NULL || strcmp(cli_fmt_str(lv, fk), want) != 0) match = 0;
        }
        if (match) return cli_fmt_str(cell, "variant");
    }
    return NULL;
}

/* ---- formatting ----------------------------------------------------------- */

/* A value of the chosen metric: a rate as a percentage, else money. */
static void fact_fmt_value(const fact_ctx *c, double v, char *out, size_t cap)
{
    if (c->logit) cli_fmt_pct(v, 0, out, cap);
    else cli_fmt_money(v, out, cap);
}

/* A signed estimate: log-odds with three decimals, money with two. */
static void fact_fmt_est(const fact_ctx *c, double v, char *out, size_t cap)
{
    if (!isfinite(v)) snprintf(out, cap, "-");
    else snprintf(out, cap, c->logit ? "%+.3f" : "%+.2f", v);
}

/* "[lo, hi]" with dec decimals, signed when sign. */
static void fact_fmt_pair(int sign, int dec, double lo, double hi, char *out, size_t cap)
{
    if (!isfinite(lo) || !isfinite(hi)) snprintf(out, cap, "-");
    else if (sign) snprintf(out, cap, "[%+.*f, %+.*f]", dec, lo, dec, hi);
    else snprintf(out, cap, "[%.*f, %.*f]", dec, lo, dec, hi);
}

/* "placement=checkout:wording=benefit" -> "placement=checkout x wording=benefit" */
static void fact_term_name(const char *term, char *out, size_t cap)
{
    const char *colon = strchr(term, ':');
    if (colon) snprintf(out, cap, "%.*s x %s", (int)(colon - term), term, colon + 1);
    else snprintf(out, cap, "%s", term);
}

static const char *fact_sig(const fact_ctx *c, double p)
{
    return isfinite(p) && p < c->alpha ? "*" : "";
}

/* ---- the design ------------------------------------------------------------- */

static void fact_render_design(const fact_ctx *c, FILE *f)
{
    const json_t *factors = json_object_get(c->fact, "factors");
    char b[256];
    snprintf(b, sizeof b, "Factorial design: %zu factors, %zu cells, two-way interactions %s",
             json_array_size(factors), json_array_size(json_object_get(c->fact, "cells")),
             json_is_true(json_object_get(c->fact, "interactions")) ? "in the model"
                                                                    : "left out");
    fact_heading(c, f, b);
    size_t i;
    json_t *fx;
    json_array_foreach(factors, i, fx) {
        size_t n = (size_t)snprintf(b, sizeof b, "  %-12s", cli_fmt_str(fx, "key"));
        size_t j;
        json_t *lv;
        json_array_foreach(json_object_get(fx, "levels"), j, lv) {
            if (n >= sizeof b) break;
            n += (size_t)snprintf(b + n, sizeof b - n, "%s%s%s", j ? ", " : " ",
                                  json_string_value(lv) ? json_string_value(lv) : "?",
                                  j == 0 ? " (control)" : "");
        }
        char cut[256];
        cli_term_fit(b, (size_t)c->width, cut, sizeof cut);
        fprintf(f, "%s\n", cut);
    }
}

/* ---- effects ------------------------------------------------------------------ */

/* The terms of one model, with intervals, odds ratios for a LOGIT model,
 * and p-values marked below alpha. */
static void fact_render_terms(const fact_ctx *c, FILE *f, const json_t *model)
{
    /* below 100 columns the log-odds interval goes, below 80 the odds
     * ratio's too: the term's name must stay readable */
    int wide_ci = c->logit && c->width >= 100;
    int or_ci = c->logit && c->width >= 80;
    size_t ncols = c->logit ? 5 + (size_t)wide_ci + (size_t)or_ci : 5;
    cli_table *t = cli_table_new(ncols);
    size_t k = 0;
    cli_table_column(t, k++, "term", 0);
    cli_table_column(t, k++, c->logit ? "log-odds" : "per visitor", 1);
    if (wide_ci || !c->logit) cli_table_column(t, k++, c->logit ? "log-odds CI" : "CI", 1);
    if (c->logit) {
        cli_table_column(t, k++, "OR", 1);
        if (or_ci) cli_table_column(t, k++, "OR CI", 1);
    }
    cli_table_column(t, k++, "p", 1);
    cli_table_column(t, k, "", 0);
    size_t i;
    json_t *term;
    json_array_foreach(json_object_get(model, "terms"), i, term) {
        if (strcmp(cli_fmt_str(term, "kind"), "intercept") == 0) continue;
        int r = cli_table_row(t);
        char b[96];
        double est = cli_fmt_num(term, "estimate"), p = cli_fmt_num(term, "p_value");
        const json_t *ci = json_object_get(term, "ci");
        double lo = json_is_number(json_array_get(ci, 0))
                        ? json_number_value(json_array_get(ci, 0)) : NAN;
        double hi = json_is_number(json_array_get(ci, 1))
                        ? json_number_value(json_array_get(ci, 1)) : NAN;
        cli_paint paint = !(isfinite(p) && p < c->alpha) ? CLI_PAINT_NONE
                          : est > 0                        ? CLI_PAINT_GOOD
                                                           : CLI_PAINT_BAD;
        k = 0;
        fact_term_name(cli_fmt_str(term, "term"), b, sizeof b);
        cli_table_cell(t, r, k++, b,
                       strcmp(cli_fmt_str(term, "kind"), "stratum") == 0 ? CLI_PAINT_DIM
                                                                         : CLI_PAINT_NONE);
        fact_fmt_est(c, est, b, sizeof b);
        cli_table_cell(t, r, k++, b, paint);
        if (wide_ci || !c->logit) {
            fact_fmt_pair(1, 2, lo, hi, b, sizeof b);
            cli_table_cell(t, r, k++, b, CLI_PAINT_NONE);
        }
        if (c->logit) {
            if (isfinite(est)) snprintf(b, sizeof b, "%.2f", exp(est));
            else snprintf(b, sizeof b, "-");
            cli_table_cell(t, r, k++, b, paint);
            if (or_ci) {
                fact_fmt_pair(0, 2, exp(lo), exp(hi), b, sizeof b);
                cli_table_cell(t, r, k++, b, CLI_PAINT_NONE);
            }
        }
        cli_fmt_p(p, b, sizeof b);
        cli_table_cell(t, r, k++, b, paint);
        cli_table_cell(t, r, k, fact_sig(c, p), paint);
    }
    cli_table_render(t, f, c->color, (size_t)c->width, 0, 2);
    cli_table_free(t);
    char note[200];
    snprintf(note, sizeof note, "  %s; * p < %.3g (Wald, each term alone)\n",
             c->logit ? "OR: odds ratio = e^log-odds, the multiplier on the odds"
                      : "money per visitor against the control level",
             c->alpha);
    char cut[256];
    cli_term_fit(note, (size_t)c->width, cut, sizeof cut);
    cli_term_paint(f, c->color, CLI_PAINT_DIM, cut);
}

/* Every region's estimates side by side, as many regions as fit. */
static void fact_render_terms_by_region(const fact_ctx *c, FILE *f)
{
    const json_t *models = json_object_get(c->fact, "models");
    const json_t *overall = fact_model(c, "overall");
    size_t nregions = json_array_size(models) > 0 ? json_array_size(models) - 1 : 0;
    if (nregions == 0 || !json_is_object(overall)) return;
    size_t per_block = (size_t)(c->width - 40) / 12;
    if (per_block < 1) per_block = 1;
    if (per_block > CLI_TABLE_MAX_COLS - 1) per_block = CLI_TABLE_MAX_COLS - 1;
    char b[128];
    snprintf(b, sizeof b, "By region: %s (* p < %.3g)",
             c->logit ? "odds ratios" : "differences in revenue per visitor", c->alpha);
    fact_heading(c, f, b);
    for (size_t g0 = 1; g0 <= nregions; g0 += per_block) {
        size_t nc = nregions - g0 + 1 < per_block ? nregions - g0 + 1 : per_block;
        cli_table *t = cli_table_new(nc + 1);
        cli_table_column(t, 0, "term", 0);
        for (size_t j = 0; j < nc; j++)
            cli_table_column(t, j + 1, cli_fmt_str(json_array_get(models, g0 + j), "scope"), 1);
        size_t i;
        json_t *term;
        json_array_foreach(json_object_get(overall, "terms"), i, term) {
            const char *kind = cli_fmt_str(term, "kind");
            if (strcmp(kind, "main") != 0 && strcmp(kind, "interaction") != 0) continue;
            const char *name = cli_fmt_str(term, "term");
            int r = cli_table_row(t);
            fact_term_name(name, b, sizeof b);
            cli_table_cell(t, r, 0, b, CLI_PAINT_NONE);
            for (size_t j = 0; j < nc; j++) {
                const json_t *m = json_object_get(json_array_get(models, g0 + j), c->model_key);
                const json_t *rt = NULL, *x;
                size_t q;
                json_array_foreach(json_object_get(m, "terms"), q, x)
                    if (strcmp(cli_fmt_str(x, "term"), name) == 0) rt = x;
                double est = cli_fmt_num(rt, "estimate"), p = cli_fmt_num(rt, "p_value");
                if (!fact_model_ok(m) || !isfinite(est)) snprintf(b, sizeof b, "-");
                else if (c->logit) snprintf(b, sizeof b, "%.2f%s", exp(est), fact_sig(c, p));
                else snprintf(b, sizeof b, "%+.2f%s", est, fact_sig(c, p));
                cli_table_cell(t, r, j + 1, b, *fact_sig(c, p) ? CLI_PAINT_BOLD : CLI_PAINT_NONE);
            }
        }
        cli_table_render(t, f, c->color, (size_t)c->width, 0, 2);
        cli_table_free(t);
    }
}

/* The joint Wald tests of each pair: chi-square, df and p of the scope,
 * then the p of every region when no region was asked for. */
static void fact_render_tests(const fact_ctx *c, FILE *f, const json_t *model)
{
    const json_t *tests = json_object_get(model, "interaction_tests");
    if (json_array_size(tests) == 0) {
        fputs("  no interaction tests (the model has no interactions)\n", f);
        return;
    }
    const json_t *models = json_object_get(c->fact, "models");
    size_t nextra = c->only ? 0 : (json_array_size(models) > 0 ? json_array_size(models) - 1 : 0);
    size_t room = c->width > 62 ? (size_t)(c->width - 62) / 10 : 0;
    if (nextra > room) nextra = room;
    cli_table *t = cli_table_new(5 + nextra);
    cli_table_column(t, 0, "interaction", 0);
    cli_table_column(t, 1, "chi2", 1);
    cli_table_column(t, 2, "df", 1);
    cli_table_column(t, 3, "p", 1);
    cli_table_column(t, 4, "", 0);
    for (size_t j = 0; j < nextra; j++) {
        char title[40];
        snprintf(title, sizeof title, "p %s", cli_fmt_str(json_array_get(models, j + 1), "scope"));
        cli_table_column(t, 5 + j, title, 1);
    }
    size_t i;
    json_t *x;
    json_array_foreach(tests, i, x) {
        const json_t *fs = json_object_get(x, "factors");
        const char *fa = json_string_value(json_array_get(fs, 0));
        const char *fb = json_string_value(json_array_get(fs, 1));
        int r = cli_table_row(t);
        char b[96];
        snprintf(b, sizeof b, "%s x %s", fa ? fa : "?", fb ? fb : "?");
        cli_table_cell(t, r, 0, b, CLI_PAINT_NONE);
        snprintf(b, sizeof b, "%.2f", cli_fmt_num(x, "chi2"));
        cli_table_cell(t, r, 1, b, CLI_PAINT_NONE);
        snprintf(b, sizeof b, "%.0f", cli_fmt_num(x, "df"));
        cli_table_cell(t, r, 2, b, CLI_PAINT_NONE);
        double p = cli_fmt_num(x, "p_value");
        int sig = isfinite(p) && p < c->alpha;
        cli_fmt_p(p, b, sizeof b);
        cli_table_cell(t, r, 3, b, sig ? CLI_PAINT_WARN : CLI_PAINT_NONE);
        cli_table_cell(t, r, 4, sig ? "interaction" : "none detected",
                       sig ? CLI_PAINT_WARN : CLI_PAINT_DIM);
        for (size_t j = 0; j < nextra; j++) {
            const json_t *m = json_object_get(json_array_get(models, j + 1), c->model_key);
            double rp = NAN;
            size_t q;
            json_t *y;
            json_array_foreach(json_object_get(m, "interaction_tests"), q, y) {
                const json_t *ys = json_object_get(y, "factors");
                const char *ya = json_string_value(json_array_get(ys, 0));
                const char *yb = json_string_value(json_array_get(ys, 1));
                if (fa && fb && ya && yb && strcmp(fa, ya) == 0 && strcmp(fb, yb) == 0)
                    rp = cli_fmt_num(y, "p_value");
            }
            cli_fmt_p(rp, b, sizeof b);
            if (isfinite(rp) && rp < c->alpha) strcat(b, "*");
            cli_table_cell(t, r, 5 + j, b, isfinite(rp) && rp < c->alpha ? CLI_PAINT_WARN
                                                                         : CLI_PAINT_NONE);
        }
    }
    cli_table_render(t, f, c->color, (size_t)c->width, 0, 2);
    cli_table_free(t);
    char note[160];
    snprintf(note, sizeof note, "  joint Wald test of the pair's interaction terms; "
             "interaction: p < %.3g%s\n", c->alpha, nextra ? " (* by region)" : "");
    char cut[200];
    cli_term_fit(note, (size_t)c->width, cut, sizeof cut);
    cli_term_paint(f, c->color, CLI_PAINT_DIM, cut);
}

/* ---- interaction charts ------------------------------------------------------- */

/* One chart into f: the model's prediction at each level of factor a
 * (x axis) for each level of factor b (one line each), every other
 * factor at its control level. Where two lines meet the grid shows 'X'.
 * Returns 0, or -1 when the model has no prediction for these cells. */
static int fact_chart(const fact_ctx *c, FILE *f, const json_t *model, const json_t *test)
{
    const json_t *factors = json_object_get(c->fact, "factors");
    const json_t *fs = json_object_get(test, "factors");
    const char *fa = json_string_value(json_array_get(fs, 0));
    const char *fb = json_string_value(json_array_get(fs, 1));
    int ia = fa ? fact_factor_index(factors, fa) : -1,
        ib = fb ? fact_factor_index(factors, fb) : -1;
    if (ia < 0 || ib < 0) return -1;
    const json_t *la = json_object_get(json_array_get(factors, (size_t)ia), "levels");
    const json_t *lb = json_object_get(json_array_get(factors, (size_t)ib), "levels");
    size_t na = json_array_size(la), nb = json_array_size(lb);
    if (na < 2 || nb < 1 || na > 8 || nb > 8) return -1;
    double y[8][8], lo = INFINITY, hi = -INFINITY;
    for (size_t s = 0; s < nb; s++)
        for (size_t x = 0; x < na; x++) {
            const char *cell = fact_cell_at(c, fa, json_string_value(json_array_get(la, x)), fb,
                                            json_string_value(json_array_get(lb, s)));
            y[s][x] = cell ? c->logit ? fact_linear(model, cell) : fact_predicted(c, model, cell)
                           : NAN;
            if (!isfinite(y[s][x])) return -1;
            if (y[s][x] < lo) lo = y[s][x];
            if (y[s][x] > hi) hi = y[s][x];
        }
    double pad = (hi - lo) * 0.05;
    if (pad <= 0) pad = 0.01;
    cli_plot *p = cli_plot_new(FACT_CHART_ROWS, FACT_CHART_COLS, lo - pad, hi + pad);
    if (p == NULL) return -1;
    /* each line: straight segments between the levels of a, evenly spaced */
    for (size_t s = 0; s < nb; s++)
        for (size_t col = 0; col < FACT_CHART_COLS; col++) {
            double t = (double)col * (double)(na - 1) / (FACT_CHART_COLS - 1);
            size_t x0 = (size_t)t < na - 1 ? (size_t)t : na - 2;
            double v = y[s][x0] + (y[s][x0 + 1] - y[s][x0]) * (t - (double)x0);
            cli_plot_put(p, col, v, CLI_PLOT_GLYPHS[s % CLI_PLOT_NGLYPHS], 'X');
        }
    char b[96];
    double pv = cli_fmt_num(test, "p_value");
    char ps[24];
    cli_fmt_p(pv, ps, sizeof ps);
    snprintf(b, sizeof b, "%s x %s (p %s)", fa, fb, ps);
    char cut[128];
    cli_term_fit(b, FACT_CHART_W - 2, cut, sizeof cut);
    fputs("  ", f);
    cli_term_paint(f, c->color, isfinite(pv) && pv < c->alpha ? CLI_PAINT_WARN : CLI_PAINT_BOLD,
                   cut);
    fputc('\n', f);
    /* the axis is labelled in rates even where it runs on the log-odds */
    double top = hi + pad, bottom = lo - pad;
    fact_fmt_value(c, c->logit ? 1 / (1 + exp(-top)) : top, b, sizeof b);
    cli_plot_label(p, 0, b);
    fact_fmt_value(c, c->logit ? 1 / (1 + exp(-bottom)) : bottom, b, sizeof b);
    cli_plot_label(p, FACT_CHART_ROWS - 1, b);
    cli_plot_render(p, f, c->color);
    cli_plot_free(p);
    /* the levels of a under their columns: first left, last right */
    char axis[FACT_CHART_COLS + 1];
    memset(axis, ' ', FACT_CHART_COLS);
    axis[FACT_CHART_COLS] = '\0';
    for (size_t x = 0; x < na; x++) {
        char name[FACT_CHART_COLS + 1];
        size_t room = FACT_CHART_COLS / na;
        cli_term_fit(json_string_value(json_array_get(la, x)), room > 1 ? room - 1 : 1, name,
                     sizeof name);
        size_t w = strlen(name);
        size_t at = x * (FACT_CHART_COLS - 1) / (na - 1);
        size_t start = x == 0 ? 0 : x + 1 == na ? FACT_CHART_COLS - w : at - w / 2;
        if (start + w <= FACT_CHART_COLS) memcpy(axis + start, name, w);
    }
    size_t end = FACT_CHART_COLS;
    while (end > 0 && axis[end - 1] == ' ') end--;
    axis[end] = '\0';
    fprintf(f, "  %8s  %s\n", fa, axis);
    /* legend: one glyph per level of b, cut to the chart's width */
    size_t n = (size_t)snprintf(b, sizeof b, "%s:", fb);
    for (size_t s = 0; s < nb && n < sizeof b; s++)
        n += (size_t)snprintf(b + n, sizeof b - n, " %c %s", CLI_PLOT_GLYPHS[s % CLI_PLOT_NGLYPHS],
                              json_string_value(json_array_get(lb, s)));
    cli_term_fit(b, FACT_CHART_W - 2, cut, sizeof cut);
    fprintf(f, "  %s\n", cut);
    return 0;
}

/* Writes lines of left and right side by side, left padded to colw. */
static void fact_side_by_side(FILE *f, const char *left, const char *right, size_t colw)
{
    const char *l = left, *r = right;
    while (*l || *r) {
        const char *le = strchr(l, '\n'), *re = strchr(r, '\n');
        size_t ll = le ? (size_t)(le - l) : strlen(l), rl = re ? (size_t)(re - r) : strlen(r);
        char lb[512];
        snprintf(lb, sizeof lb, "%.*s", (int)ll, l);
        fputs(lb, f);
        if (rl) {
            for (size_t w = cli_term_display_width(lb); w < colw; w++) fputc(' ', f);
            fwrite(r, 1, rl, f);
        }
        fputc('\n', f);
        l = le ? le + 1 : l + ll;
        r = re ? re + 1 : r + rl;
    }
}

static void fact_render_charts(const fact_ctx *c, FILE *f, const json_t *model)
{
    const json_t *tests = json_object_get(model, "interaction_tests");
    size_t nt = json_array_size(tests);
    char b[200];
    snprintf(b, sizeof b, "Interactions: predicted %s, %s",
             c->logit ? "conversion rate" : "revenue per visitor", c->scope);
    fact_heading(c, f, b);
    if (nt == 0) {
        fputs("  no interaction charts (the model has no interactions)\n", f);
        return;
    }
    cli_term_paint(f, c->color, CLI_PAINT_DIM,
                   c->logit ? "  other factors at control; y on the log-odds scale, where\n"
                              "  parallel lines mean no interaction, crossing lines mean\n"
                              "  one factor's effect turns on the other (X: lines meet)\n"
                            : "  other factors at control; parallel lines mean no\n"
                              "  interaction, crossing lines mean one factor's effect\n"
                              "  turns on the other (X: lines meet)\n");
    int pair = c->width >= 2 * FACT_CHART_W + FACT_CHART_GAP;
    char *held = NULL;
    for (size_t i = 0; i < nt; i++) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (m == NULL) break;
        int rc = fact_chart(c, m, model, json_array_get(tests, i));
        fclose(m);
        if (rc != 0) {
            free(text);
            continue;
        }
        if (!pair) {
            fputc('\n', f);
            fputs(text, f);
            free(text);
        } else if (held == NULL) {
            held = text;
        } else {
            fputc('\n', f);
            fact_side_by_side(f, held, text, FACT_CHART_W + FACT_CHART_GAP);
            free(held);
            free(text);
            held = NULL;
        }
    }
    if (held) {
        fputc('\n', f);
        fputs(held, f);
        free(held);
    }
}

/* ---- per region: cells and factor levels --------------------------------------- */

static const json_t *fact_view_region(const fact_ctx *c, const char *name)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(c->view, "regions"), i, g)
        if (strcmp(cli_fmt_str(g, "region"), name) == 0) return g;
    return NULL;
}

/* The cells of one region: observed, the model's prediction, the lift
 * against the control cell with its always-valid interval, and W on the
 * cell upshotd promotes. */
static void fact_render_cells(const fact_ctx *c, FILE *f, const json_t *g)
{
    const char *region = cli_fmt_str(g, "region");
    const json_t *model = fact_model(c, region);
    const json_t *dec = json_object_get(g, "factorial_decision");
    int promote = strcmp(cli_fmt_str(dec, "recommendation"), "promote") == 0;
    const char *winner = promote ? cli_fmt_str(dec, "variant") : "";
    int narrow = c->width < 100;
    cli_table *t = cli_table_new(narrow ? 6 : 8);
    size_t k = 0;
    cli_table_column(t, k++, "cell", 0);
    if (!narrow) cli_table_column(t, k++, "visitors", 1);
    cli_table_column(t, k++, c->logit ? "rate" : "rev/vis", 1);
    cli_table_column(t, k++, "model", 1);
    cli_table_column(t, k++, "lift", 1);
    cli_table_column(t, k++, "always-valid CI", 1);
    if (!narrow) cli_table_column(t, k++, "p (a-v)", 1);
    cli_table_column(t, k, "", 0);
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(c->fact, "cells"), i, cell) {
        const char *v = cli_fmt_str(cell, "variant");
        const json_t *a = fact_by_variant(json_object_get(g, "variants"), v);
        int is_ctl = json_is_true(json_object_get(a, "control"));
        int win = *winner && strcmp(v, winner) == 0;
        int r = cli_table_row(t);
        char b[64];
        k = 0;
        cli_paint name_paint = is_ctl ? CLI_PAINT_DIM : win ? CLI_PAINT_GOOD : CLI_PAINT_NONE;
        cli_table_cell(t, r, k++, v, name_paint);
        if (!narrow) {
            cli_fmt_count(cli_fmt_num(a, "visitors"), b, sizeof b);
            cli_table_cell(t, r, k++, b, CLI_PAINT_NONE);
        }
        fact_fmt_value(c, cli_fmt_num(a, c->logit ? "conversion_rate" : "revenue_per_visitor"),
                       b, sizeof b);
        cli_table_cell(t, r, k++, b, CLI_PAINT_NONE);
        fact_fmt_value(c, fact_model_ok(model) ? fact_predicted(c, model, v) : NAN, b, sizeof b);
        cli_table_cell(t, r, k++, b, CLI_PAINT_DIM);
        if (is_ctl) {
            cli_table_cell(t, r, k, "control", CLI_PAINT_DIM);
            continue;
        }
        const char *verdict = cli_fmt_str(a, "verdict");
        cli_paint vp = strcmp(verdict, "winner") == 0 ? CLI_PAINT_GOOD
                       : strcmp(verdict, "worse") == 0 ? CLI_PAINT_BAD
                                                       : CLI_PAINT_NONE;
        cli_fmt_pct(cli_fmt_num(a, "lift"), 1, b, sizeof b);
        cli_table_cell(t, r, k++, b, vp);
        cli_fmt_ci(json_object_get(a, "lift_ci"), 1, b, sizeof b);
        cli_table_cell(t, r, k++, b, CLI_PAINT_NONE);
        if (!narrow) {
            cli_fmt_p(cli_fmt_num(a, "p_adjusted"), b, sizeof b);
            cli_table_cell(t, r, k++, b, vp);
        }
        cli_table_cell(t, r, k, win ? "W" : "", CLI_PAINT_GOOD);
    }
    cli_table_render(t, f, c->color, (size_t)c->width, 0, 2);
    cli_table_free(t);
}

/* The factor-level comparisons of one region (marginal counts: every
 * cell with the level against every cell with the control level), W on
 * the level upshotd promotes. */
static void fact_render_levels(const fact_ctx *c, FILE *f, const json_t *g)
{
    const char *region = cli_fmt_str(g, "region");
    const json_t *dec = json_object_get(g, "factorial_decision");
    int fl = strcmp(cli_fmt_str(dec, "recommendation"), "promote") == 0 &&
             strcmp(cli_fmt_str(dec, "kind"), "factor_level") == 0;
    int narrow = c->width < 100;
    cli_table *t = cli_table_new(narrow ? 6 : 7);
    size_t k = 0;
    cli_table_column(t, k++, "factor level", 0);
    cli_table_column(t, k++, "rate", 1);
    cli_table_column(t, k++, "control", 1);
    cli_table_column(t, k++, "lift", 1);
    cli_table_column(t, k++, "always-valid CI", 1);
    if (!narrow) cli_table_column(t, k++, "p (adj)", 1);
    cli_table_column(t, k, "", 0);
    size_t i, rows = 0;
    json_t *m;
    json_array_foreach(json_object_get(c->fact, "marginals"), i, m) {
        if (strcmp(cli_fmt_str(m, "scope"), region) != 0) continue;
        const char *fk = cli_fmt_str(m, "factor"), *lk = cli_fmt_str(m, "level");
        int win = fl && strcmp(cli_fmt_str(dec, "factor"), fk) == 0 &&
                  strcmp(cli_fmt_str(dec, "level"), lk) == 0;
        int r = cli_table_row(t);
        rows++;
        char b[96];
        k = 0;
        snprintf(b, sizeof b, "%s=%s vs %s", fk, lk, cli_fmt_str(m, "control_level"));
        cli_table_cell(t, r, k++, b, win ? CLI_PAINT_GOOD : CLI_PAINT_NONE);
        cli_fmt_pct(cli_fmt_num(m, "rate"), 0, b, sizeof b);
        cli_table_cell(t, r, k++, b, CLI_PAINT_NONE);
        cli_fmt_pct(cli_fmt_num(m, "control_rate"), 0, b, sizeof b);
        cli_table_cell(t, r, k++, b, CLI_PAINT_DIM);
        cli_fmt_pct(cli_fmt_num(m, "lift"), 1, b, sizeof b);
        cli_table_cell(t, r, k++, b, win ? CLI_PAINT_GOOD : CLI_PAINT_NONE);
        double lo = cli_fmt_num(m, "lift_lo"), hi = cli_fmt_num(m, "lift_hi");
        fact_fmt_pair(1, 1, lo * 100, hi * 100, b, sizeof b);
        cli_table_cell(t, r, k++, b, CLI_PAINT_NONE);
        if (!narrow) {
            cli_fmt_p(cli_fmt_num(m, "p_adjusted"), b, sizeof b);
            cli_table_cell(t, r, k++, b, CLI_PAINT_NONE);
        }
        cli_table_cell(t, r, k, win ? "W" : "", CLI_PAINT_GOOD);
    }
    if (rows) cli_table_render(t, f, c->color, (size_t)c->width, 0, 2);
    cli_table_free(t);
}

/* upshotd's decision for the region in one line. */
static void fact_render_decision(const fact_ctx *c, FILE *f, const json_t *g)
{
    const json_t *dec = json_object_get(g, "factorial_decision");
    char line[400];
    cli_paint p = CLI_PAINT_WARN;
    const char *rec = cli_fmt_str(dec, "recommendation");
    if (!json_is_object(dec)) {
        snprintf(line, sizeof line, "upshotd sent no decision for this region");
    } else if (strcmp(rec, "promote") == 0 &&
               strcmp(cli_fmt_str(dec, "kind"), "factor_level") == 0) {
        p = CLI_PAINT_GOOD;
        snprintf(line, sizeof line, "W promote %s: the level %s=%s (no interaction)",
                 cli_fmt_str(dec, "variant"), cli_fmt_str(dec, "factor"),
                 cli_fmt_str(dec, "level"));
    } else if (strcmp(rec, "promote") == 0) {
        p = CLI_PAINT_GOOD;
        snprintf(line, sizeof line, "W promote %s: the combination wins",
                 cli_fmt_str(dec, "variant"));
    } else {
        snprintf(line, sizeof line, "%s: %s",
                 strcmp(rec, "keep_running") == 0 ? "keep running" : rec,
                 cli_fmt_str(dec, "why"));
    }
    char cut[400];
    cli_term_fit(line, (size_t)c->width - 2, cut, sizeof cut);
    fputs("  ", f);
    cli_term_paint(f, c->color, p, cut);
    fputc('\n', f);
}

static void fact_render_regions(const fact_ctx *c, FILE *f)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c->fact, "models"), i, m) {
        const char *scope = cli_fmt_str(m, "scope");
        if (strcmp(scope, "overall") == 0) continue;
        if (c->only && strcmp(c->only, scope) != 0) continue;
        const json_t *g = fact_view_region(c, scope);
        if (g == NULL) continue;
        char b[200];
        snprintf(b, sizeof b, "Region %s: cells and factor levels vs control", scope);
        fact_heading(c, f, b);
        fact_render_cells(c, f, g);
        fputc('\n', f);
        fact_render_levels(c, f, g);
        fact_render_decision(c, f, g);
    }
}

/* ---- power ---------------------------------------------------------------------- */

static void fact_render_power(const fact_ctx *c, FILE *f)
{
    const json_t *pw = json_object_get(c->fact, "power");
    if (!json_is_object(pw)) return;
    char need[32], per_day[32];
    cli_fmt_count(cli_fmt_num(pw, "per_cell_needed"), need, sizeof need);
    cli_fmt_count(cli_fmt_num(pw, "per_cell_visitors_per_day"), per_day, sizeof per_day);
    fact_heading(c, f, "Power of the interaction tests");
    /* three short lines: they fit the narrowest terminal (60) */
    fprintf(f, "  an interaction of %.2g pp, alpha %.3g, %.0f%% power\n",
            cli_fmt_num(pw, "interaction_effect") * 100, cli_fmt_num(pw, "alpha"),
            cli_fmt_num(pw, "power") * 100);
    fprintf(f, "  needs %s visitors per cell; %s per cell per day now\n", need, per_day);
    double dtg = cli_fmt_num(pw, "days_to_go");
    if (!isfinite(dtg)) fputs("  days to go: unknown\n", f);
    else if (dtg <= 0) cli_term_paint(f, c->color, CLI_PAINT_GOOD, "  reached\n");
    else fprintf(f, "  ~%.0f day%s to go\n", dtg, dtg == 1 ? "" : "s");
}

/* ---- entry ---------------------------------------------------------------------- */

void cli_view_render_factorial(const json_t *view, FILE *f, int color, int width)
{
    const json_t *fact = json_object_get(view, "factorial");
    if (!json_is_object(fact)) return;
    const char *metric = cli_fmt_str(view, "metric");
    if (strcmp(metric, "conversion") != 0 && strcmp(metric, "revenue") != 0)
        metric = cli_fmt_str(view, "goal"); /* aov has no model */
    int revenue = strcmp(metric, "revenue") == 0;
    fact_ctx c = {
        .view = view,
        .fact = fact,
        .model_key = revenue ? "revenue" : "conversion",
        .logit = !revenue,
        .only = json_string_value(json_object_get(view, "region_filter")),
        .alpha = cli_fmt_num(view, "alpha"),
        .color = color,
        .width = width,
    };
    c.scope = c.only ? c.only : "overall";
    if (!isfinite(c.alpha)) c.alpha = 0.05;

    fact_render_design(&c, f);
    const json_t *model = fact_model(&c, c.scope);
    char b[256];
    snprintf(b, sizeof b, "Factorial effects: %s, %s%s", revenue ? "revenue per visitor" :
             "conversion", c.only ? c.only : "all regions",
             revenue ? " (least squares, HC3 errors)"
                     : " (logistic regression on the log-odds)");
    fact_heading(&c, f, b);
    if (!json_is_object(model)) {
        fprintf(f, "  upshotd sent no %s model for %s\n", c.model_key, c.scope);
    } else if (!fact_model_ok(model)) {
        fprintf(f, "  no estimates: %s (%s)\n", cli_fmt_str(model, "status"),
                cli_fmt_str(model, "why"));
    } else {
        const json_t *ctl = json_array_get(json_object_get(fact, "cells"), 0);
        char v[32], n[32];
        fact_fmt_value(&c, fact_predicted(&c, model, cli_fmt_str(ctl, "variant")), v, sizeof v);
        cli_fmt_count(cli_fmt_num(model, "n"), n, sizeof n);
        snprintf(b, sizeof b, "  control cell %s: predicted %s; %s visitors%s",
                 cli_fmt_str(ctl, "variant"), v, n, c.only ? "" : ", regions as strata");
        char cut[256];
        cli_term_fit(b, (size_t)width, cut, sizeof cut);
        fprintf(f, "%s\n", cut);
        fact_render_terms(&c, f, model);
        if (!c.only) fact_render_terms_by_region(&c, f);
        snprintf(b, sizeof b, "Interaction tests: %s, %s", c.model_key, c.scope);
        fact_heading(&c, f, b);
        fact_render_tests(&c, f, model);
        fact_render_charts(&c, f, model);
    }
    fact_render_regions(&c, f);
    fact_render_power(&c, f);
}

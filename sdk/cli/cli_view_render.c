/* cli_view_render.c: the report of cli_view.c for people.
 *
 * Layout budget: every table and the chart are built to fit 100 columns
 * (the widest table, the conversion table, is about 95 with 12-character
 * variant names; longer names are cut with "~"). Nothing here computes a
 * statistic: it formats the fields of the view document.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_bandit.h"
#include "cli_table.h"
#include "cli_term.h"
#include "cli_view.h"

static double rget(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* 1234567 -> "1,234,567" */
static void fmt_count(double v, char *out, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "-");
        return;
    }
    char raw[32];
    snprintf(raw, sizeof raw, "%.0f", v);
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0 && raw[i - 1] != '-') out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
}

static void fmt_pct(double v, int sign, char *out, size_t cap)
{
    if (!isfinite(v)) snprintf(out, cap, "-");
    else if (sign) snprintf(out, cap, "%+.1f%%", v * 100);
    else snprintf(out, cap, "%.2f%%", v * 100);
}

static void fmt_ci(const json_t *pair, int sign, char *out, size_t cap)
{
    if (!json_is_array(pair) || json_array_size(pair) != 2) {
        snprintf(out, cap, "-");
        return;
    }
    double lo = json_number_value(json_array_get(pair, 0));
    double hi = json_number_value(json_array_get(pair, 1));
    if (sign) snprintf(out, cap, "[%+.1f, %+.1f]", lo * 100, hi * 100);
    else snprintf(out, cap, "[%.1f, %.1f]", lo * 100, hi * 100);
}

static void fmt_p(double p, char *out, size_t cap)
{
    if (!isfinite(p)) snprintf(out, cap, "-");
    else if (p < 0.0001) snprintf(out, cap, "<0.0001");
    else snprintf(out, cap, "%.4f", p);
}

static void fmt_money(double v, char *out, size_t cap)
{
    if (!isfinite(v)) snprintf(out, cap, "-");
    else snprintf(out, cap, "%.2f", v);
}

static const char *metric_title(const char *m)
{
    if (strcmp(m, "revenue") == 0) return "revenue per visitor";
    if (strcmp(m, "aov") == 0) return "average order value";
    return "conversion";
}

static cli_paint verdict_paint(const char *v)
{
    if (strcmp(v, "winner") == 0) return CLI_PAINT_GOOD;
    if (strcmp(v, "worse") == 0 || strcmp(v, "guardrail") == 0 || strcmp(v, "srm") == 0)
        return CLI_PAINT_BAD;
    return CLI_PAINT_NONE;
}

static const char *verdict_mark(const char *v)
{
    if (strcmp(v, "winner") == 0) return "W";
    if (strcmp(v, "worse") == 0) return "L";
    if (strcmp(v, "guardrail") == 0) return "G";
    if (strcmp(v, "min_sample") == 0) return "n";
    if (strcmp(v, "srm") == 0) return "S";
    if (strcmp(v, "no_data") == 0) return "-";
    return "?";
}

static void heading(FILE *f, int color, const char *text)
{
    fputc('\n', f);
    cli_term_paint(f, color, CLI_PAINT_BOLD, text);
    fputc('\n', f);
}

/* The two per-variant tables of one slice (total or one region). */
static void render_variant_tables(FILE *f, int color, int width, const json_t *arms,
                                  const char *metric, double alpha)
{
    int conv = strcmp(metric, "conversion") == 0;
    char ci_title[16];
    snprintf(ci_title, sizeof ci_title, "%.4g%% CI", (1 - alpha) * 100);
    /* Below 100 columns (an 80-column terminal, `upshot watch`) the rate's
     * own interval and the Bayesian P(beat) go, so the variant's name and
     * the columns the decision reads (lift, its always-valid interval, p)
     * stay whole. */
    int narrow = width < 100;
    size_t k = narrow ? 1 : 0; /* columns after the rate shift left by k */
    cli_table *t = cli_table_new(narrow ? 7 : 9);
    cli_table_column(t, 0, "variant", 0);
    cli_table_column(t, 1, "visitors", 1);
    cli_table_column(t, 2, "conv", 1);
    cli_table_column(t, 3, conv ? "rate" : strcmp(metric, "revenue") == 0 ? "rev/vis" : "AOV", 1);
    if (!narrow) cli_table_column(t, 4, conv ? ci_title : "", 1);
    cli_table_column(t, 5 - k, "lift", 1);
    cli_table_column(t, 6 - k, "always-valid CI", 1);
    cli_table_column(t, 7 - k, "p (a-v)", 1);
    if (!narrow) cli_table_column(t, 8 - k, "P(beat)", 1);
    size_t i;
    json_t *a;
    char b[64];
    json_array_foreach(arms, i, a) {
        int r = cli_table_row(t);
        int is_ctl = json_is_true(json_object_get(a, "control"));
        const char *verdict = sget(a, "verdict");
        cli_table_cell(t, r, 0, sget(a, "variant"), is_ctl ? CLI_PAINT_DIM : CLI_PAINT_NONE);
        fmt_count(rget(a, "visitors"), b, sizeof b);
        cli_table_cell(t, r, 1, b, CLI_PAINT_NONE);
        fmt_count(rget(a, "conversions"), b, sizeof b);
        cli_table_cell(t, r, 2, b, CLI_PAINT_NONE);
        if (conv) fmt_pct(rget(a, "metric_value"), 0, b, sizeof b);
        else fmt_money(rget(a, "metric_value"), b, sizeof b);
        cli_table_cell(t, r, 3, b, CLI_PAINT_NONE);
        if (conv) fmt_ci(json_object_get(a, "conversion_rate_ci"), 0, b, sizeof b);
        else b[0] = '\0';
        if (!narrow) cli_table_cell(t, r, 4, b, CLI_PAINT_DIM);
        if (is_ctl) {
            cli_table_cell(t, r, 5 - k, "control", CLI_PAINT_DIM);
            continue;
        }
        fmt_pct(rget(a, "lift"), 1, b, sizeof b);
        cli_table_cell(t, r, 5 - k, b, verdict_paint(verdict));
        fmt_ci(json_object_get(a, "lift_ci"), 1, b, sizeof b);
        cli_table_cell(t, r, 6 - k, b, CLI_PAINT_NONE);
        fmt_p(rget(a, "p_adjusted"), b, sizeof b);
        cli_table_cell(t, r, 7 - k, b, verdict_paint(verdict));
        if (narrow) continue;
        double beat = rget(a, "chance_to_beat");
        if (isfinite(beat)) snprintf(b, sizeof b, "%.1f%%", beat * 100);
        else snprintf(b, sizeof b, "-");
        cli_table_cell(t, r, 8, b, CLI_PAINT_NONE);
    }
    cli_table_render(t, f, color, (size_t)width, 0, 2);
    cli_table_free(t);

    fputc('\n', f);
    t = cli_table_new(8);
    cli_table_column(t, 0, "variant", 0);
    cli_table_column(t, 1, "rev/visitor", 1);
    cli_table_column(t, 2, "lift", 1);
    cli_table_column(t, 3, "AOV", 1);
    cli_table_column(t, 4, "lift", 1);
    cli_table_column(t, 5, "orders", 1);
    cli_table_column(t, 6, "decline rate", 1);
    cli_table_column(t, 7, "vs control", 1);
    json_array_foreach(arms, i, a) {
        int r = cli_table_row(t);
        int is_ctl = json_is_true(json_object_get(a, "control"));
        cli_table_cell(t, r, 0, sget(a, "variant"), is_ctl ? CLI_PAINT_DIM : CLI_PAINT_NONE);
        fmt_money(rget(a, "revenue_per_visitor"), b, sizeof b);
        cli_table_cell(t, r, 1, b, CLI_PAINT_NONE);
        fmt_pct(is_ctl ? NAN : rget(a, "revenue_lift"), 1, b, sizeof b);
        cli_table_cell(t, r, 2, is_ctl ? "" : b, CLI_PAINT_NONE);
        fmt_money(rget(a, "aov"), b, sizeof b);
        cli_table_cell(t, r, 3, b, CLI_PAINT_NONE);
        fmt_pct(is_ctl ? NAN : rget(a, "aov_lift"), 1, b, sizeof b);
        cli_table_cell(t, r, 4, is_ctl ? "" : b, CLI_PAINT_NONE);
        fmt_count(rget(a, "orders"), b, sizeof b);
        cli_table_cell(t, r, 5, b, CLI_PAINT_NONE);
        fmt_pct(rget(a, "decline_rate"), 0, b, sizeof b);
        cli_table_cell(t, r, 6, b, CLI_PAINT_NONE);
        if (is_ctl) continue;
        double dd = rget(a, "decline_diff");
        int bad = json_is_true(json_object_get(a, "guardrail_failed"));
        if (isfinite(dd))
            snprintf(b, sizeof b, "%+.2f pp%s", dd * 100, bad ? " !" : "");
        else
            snprintf(b, sizeof b, "-");
        cli_table_cell(t, r, 7, b, bad ? CLI_PAINT_BAD : CLI_PAINT_NONE);
    }
    cli_table_render(t, f, color, (size_t)width, 0, 2);
    cli_table_free(t);

    /* CUPED, only when upshotd computed it (a covariate was recorded) */
    int any = 0;
    json_array_foreach(arms, i, a)
        any = any || isfinite(rget(a, "revenue_lift_cuped"));
    if (!any) return;
    fprintf(f, "\n  rev/visitor lift adjusted for cart value at exposure (CUPED):\n");
    json_array_foreach(arms, i, a) {
        double l = rget(a, "revenue_lift_cuped");
        if (!isfinite(l)) continue;
        char p[32];
        fmt_pct(l, 1, b, sizeof b);
        fmt_p(rget(a, "revenue_cuped_p"), p, sizeof p);
        fprintf(f, "    %-24.24s %8s  p %s\n", sget(a, "variant"), b, p);
    }
}

/* Regions x variants, in blocks of as many variant columns as fit. */
static void render_matrix(FILE *f, int color, int width, const json_t *view,
                          const char *only)
{
    json_t *regs = json_object_get(view, "regions");
    json_t *first = json_array_get(regs, 0);
    json_t *arms = json_object_get(first, "variants");
    size_t nv = json_array_size(arms);
    size_t per_block = (size_t)(width - 22) / 14;
    if (per_block < 1) per_block = 1;
    if (per_block > CLI_TABLE_MAX_COLS - 2) per_block = CLI_TABLE_MAX_COLS - 2;
    size_t v0 = 0;
    while (v0 < nv) {
        size_t cols[CLI_TABLE_MAX_COLS];
        size_t nc = 0, v = v0;
        for (; v < nv && nc < per_block; v++) {
            json_t *a = json_array_get(arms, v);
            if (json_is_true(json_object_get(a, "control"))) continue;
            cols[nc++] = v;
        }
        if (nc == 0) break;
        cli_table *t = cli_table_new(nc + 2);
        cli_table_column(t, 0, "region", 0);
        cli_table_column(t, 1, "min/arm", 1);
        for (size_t c = 0; c < nc; c++) {
            char name[20];
            cli_term_fit(sget(json_array_get(arms, cols[c]), "variant"), 13, name, sizeof name);
            cli_table_column(t, c + 2, name, 1);
        }
        size_t i;
        json_t *g;
        json_array_foreach(regs, i, g) {
            if (only && strcmp(only, sget(g, "region")) != 0) continue;
            int r = cli_table_row(t);
            cli_table_cell(t, r, 0, sget(g, "region"), CLI_PAINT_NONE);
            char b[48];
            fmt_count(rget(g, "min_visitors"), b, sizeof b);
            cli_table_cell(t, r, 1, b, json_is_true(json_object_get(g, "min_sample_met"))
                                           ? CLI_PAINT_NONE : CLI_PAINT_WARN);
            json_t *ga = json_object_get(g, "variants");
            for (size_t c = 0; c < nc; c++) {
                json_t *a = json_array_get(ga, cols[c]);
                const char *vd = sget(a, "goal_verdict");
                char lift[24];
                fmt_pct(rget(a, "goal_lift"), 1, lift, sizeof lift);
                snprintf(b, sizeof b, "%s %s", lift, verdict_mark(vd));
                cli_table_cell(t, r, c + 2, b, verdict_paint(vd));
            }
        }
        cli_table_render(t, f, color, (size_t)width, 0, 2);
        cli_table_free(t);
        v0 = v;
    }
    cli_term_paint(f, color, CLI_PAINT_DIM,
                   "  W winner  L significantly worse  G guardrail (declines)  ? inconclusive\n"
                   "  n below the minimum sample  S sample ratio mismatch\n");
}

/* Cumulative lift by day: one glyph per variant, 0 line marked. */
static void render_chart(FILE *f, int color, int width, const json_t *chart)
{
    static const char glyphs[] = "*+ox#@%&=~";
    json_t *days = json_object_get(chart, "days");
    json_t *series = json_object_get(chart, "series");
    size_t nd = json_array_size(days), ns = json_array_size(series);
    if (nd < 2 || ns == 0) {
        fputs("  (the chart needs at least two days of data)\n", f);
        return;
    }
    double lo = 0, hi = 0;
    for (size_t s = 0; s < ns; s++) {
        json_t *pts = json_object_get(json_array_get(series, s), "lift");
        for (size_t d = 0; d < nd; d++) {
            double y = json_is_number(json_array_get(pts, d))
                           ? json_number_value(json_array_get(pts, d)) : NAN;
            if (!isfinite(y)) continue;
            if (y < lo) lo = y;
            if (y > hi) hi = y;
        }
    }
    if (hi - lo < 0.02) { hi += 0.01; lo -= 0.01; }
    enum { ROWS = 10 };
    size_t plot_w = (size_t)width - 12;
    if (plot_w > 80) plot_w = 80;
    size_t cols = nd <= plot_w ? nd : plot_w;
    size_t step = cols > 1 ? (plot_w - 1) / (cols - 1) : 1;
    if (step < 1) step = 1;
    if (step > 8) step = 8;
    size_t gw = (cols - 1) * step + 1;
    char grid[ROWS][128];
    for (int r = 0; r < ROWS; r++) {
        memset(grid[r], ' ', gw);
        grid[r][gw] = '\0';
    }
    int zero_row = (int)lround((hi - 0) / (hi - lo) * (ROWS - 1));
    if (zero_row >= 0 && zero_row < ROWS) memset(grid[zero_row], '-', gw);
    for (size_t s = 0; s < ns; s++) {
        json_t *pts = json_object_get(json_array_get(series, s), "lift");
        for (size_t c = 0; c < cols; c++) {
            size_t d = cols == nd ? c : c * (nd - 1) / (cols - 1);
            json_t *p = json_array_get(pts, d);
            if (!json_is_number(p)) continue;
            int row = (int)lround((hi - json_number_value(p)) / (hi - lo) * (ROWS - 1));
            if (row < 0) row = 0;
            if (row >= ROWS) row = ROWS - 1;
            grid[row][c * step] = glyphs[s % (sizeof glyphs - 1)];
        }
    }
    for (int r = 0; r < ROWS; r++) {
        char label[16] = "";
        if (r == 0) snprintf(label, sizeof label, "%+.1f%%", hi * 100);
        else if (r == ROWS - 1) snprintf(label, sizeof label, "%+.1f%%", lo * 100);
        else if (r == zero_row) snprintf(label, sizeof label, "0%%");
        fprintf(f, "  %8s |", label);
        size_t end = gw;
        while (end > 0 && grid[r][end - 1] == ' ') end--;
        for (size_t c = 0; c < end; c++) {
            char ch[2] = {grid[r][c], '\0'};
            cli_term_paint(f, color, ch[0] == '-' ? CLI_PAINT_DIM : CLI_PAINT_NONE, ch);
        }
        fputc('\n', f);
    }
    fprintf(f, "  %8s +", "");
    for (size_t c = 0; c < gw; c++) fputc('-', f);
    fputc('\n', f);
    const char *d0 = json_string_value(json_array_get(days, 0));
    const char *d1 = json_string_value(json_array_get(days, nd - 1));
    size_t pad = gw > 10 ? gw - 10 : 1;
    fprintf(f, "  %8s  %s%*s%s\n", "", d0 ? d0 + 5 : "", (int)pad, "", d1 ? d1 + 5 : "");
    size_t col = 2;
    fputs("  ", f);
    for (size_t s = 0; s < ns; s++) {
        char name[48], item[64];
        cli_term_fit(sget(json_array_get(series, s), "variant"), 30, name, sizeof name);
        snprintf(item, sizeof item, "%c %s", glyphs[s % (sizeof glyphs - 1)], name);
        size_t iw = cli_term_display_width(item);
        if (s > 0 && col + 3 + iw > (size_t)width) {
            fputs("\n  ", f);
            col = 2;
        } else if (s > 0) {
            fputs("   ", f);
            col += 3;
        }
        fputs(item, f);
        col += iw;
    }
    fputc('\n', f);
}

static void render_recommendation(FILE *f, int color, const json_t *g, const json_t *view)
{
    const char *rec = sget(g, "recommendation");
    char line[512], b1[32], b2[32];
    cli_paint p = CLI_PAINT_WARN;
    const char *why = sget(g, "why");
    if (strcmp(rec, "promote") == 0) {
        p = CLI_PAINT_GOOD;
        const char *pv = sget(g, "promote_variant");
        json_t *a = NULL, *x;
        size_t i;
        json_array_foreach(json_object_get(g, "variants"), i, x)
            if (strcmp(sget(x, "variant"), pv) == 0) a = x;
        fmt_pct(rget(a, "goal_lift"), 1, b1, sizeof b1);
        fmt_p(rget(a, "goal_p_adjusted"), b2, sizeof b2);
        char name[40];
        cli_term_fit(pv, 28, name, sizeof name);
        snprintf(line, sizeof line, "promote %s: lift %s, adjusted p %s, declines ok", name, b1,
                 b2);
    } else if (strcmp(rec, "check_srm") == 0) {
        p = CLI_PAINT_BAD;
        fmt_p(rget(g, "srm_p_always_valid"), b1, sizeof b1);
        snprintf(line, sizeof line, "check SRM first: visitors do not match the weights "
                 "(p %s); fix assignment before reading", b1);
    } else if (strcmp(rec, "breaker") == 0) {
        p = CLI_PAINT_BAD;
        json_t *br = json_object_get(g, "breaker");
        fmt_p(rget(br, "p"), b1, sizeof b1);
        snprintf(line, sizeof line, "circuit breaker: %s worse than control on the %s "
                 "(always-valid p %s); route to control", sget(br, "variant"),
                 strcmp(sget(br, "metric"), "aov") == 0 ? "AOV" : "decline rate", b1);
    } else if (strcmp(rec, "stop") == 0) {
        p = CLI_PAINT_DIM;
        snprintf(line, sizeof line, "stop, no effect likely: %s", why);
    } else {
        double ms = rget(view, "min_sample"), mv = rget(g, "min_visitors");
        if (!json_is_true(json_object_get(g, "min_sample_met"))) {
            fmt_count(mv, b1, sizeof b1);
            fmt_count(ms, b2, sizeof b2);
            snprintf(line, sizeof line, "keep running: fewest visitors in an arm %s of %s needed",
                     b1, b2);
        } else {
            snprintf(line, sizeof line, "keep running: %s", why);
        }
        double dtg = rget(g, "days_to_go");
        if (isfinite(dtg) && dtg > 0)
            snprintf(line + strlen(line), sizeof line - strlen(line),
                     "; ~%.0f more day%s for the MDE", dtg, dtg == 1 ? "" : "s");
    }
    fprintf(f, "  %-8s ", sget(g, "region"));
    cli_term_paint(f, color, p, line);
    fputc('\n', f);
    const char *srv = json_string_value(json_object_get(g, "server_recommendation"));
    if (srv && strcmp(srv, rec) != 0) {
        snprintf(line, sizeof line, "upshotd's own evaluation says %s (different settings "
                 "were given here?)", srv);
        fprintf(f, "  %-8s ", "");
        cli_term_paint(f, color, CLI_PAINT_WARN, line);
        fputc('\n', f);
    }
    json_t *promo = json_object_get(g, "promotion");
    if (json_is_object(promo)) {
        char v[32];
        fmt_count(rget(promo, "visitors"), v, sizeof v);
        fprintf(f, "  %-8s promoted now: %s since %.10s, holdback %.0f%%, %s visitors served it\n",
                "", sget(promo, "variant"), sget(promo, "since"), rget(promo, "holdback") * 100, v);
    }
}

/* Sample size and days to go per region. */
static void render_sample_size(FILE *f, int color, int width, const json_t *view,
                               const char *only)
{
    cli_table *t = cli_table_new(5);
    cli_table_column(t, 0, "region", 0);
    cli_table_column(t, 1, "control rate", 1);
    cli_table_column(t, 2, "needed/arm", 1);
    cli_table_column(t, 3, "fewest/arm", 1);
    cli_table_column(t, 4, "days to go", 1);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(view, "regions"), i, g) {
        if (only && strcmp(only, sget(g, "region")) != 0) continue;
        int r = cli_table_row(t);
        char b[48];
        cli_table_cell(t, r, 0, sget(g, "region"), CLI_PAINT_NONE);
        json_t *ctl = json_array_get(json_object_get(g, "variants"), 0);
        size_t j;
        json_t *a;
        json_array_foreach(json_object_get(g, "variants"), j, a)
            if (json_is_true(json_object_get(a, "control"))) ctl = a;
        fmt_pct(rget(ctl, "conversion_rate"), 0, b, sizeof b);
        cli_table_cell(t, r, 1, b, CLI_PAINT_NONE);
        fmt_count(rget(g, "needed_per_arm"), b, sizeof b);
        cli_table_cell(t, r, 2, b, CLI_PAINT_NONE);
        fmt_count(rget(g, "min_visitors"), b, sizeof b);
        cli_table_cell(t, r, 3, b, CLI_PAINT_NONE);
        double d = rget(g, "days_to_go");
        if (!isfinite(d)) snprintf(b, sizeof b, "-");
        else if (d <= 0) snprintf(b, sizeof b, "reached");
        else snprintf(b, sizeof b, "%.0f", d);
        cli_table_cell(t, r, 4, b, d <= 0 ? CLI_PAINT_GOOD : CLI_PAINT_NONE);
    }
    cli_table_render(t, f, color, (size_t)width, 0, 2);
    cli_table_free(t);
}

void cli_view_render(const json_t *view, FILE *f, int color, int width)
{
    if (width > 100) width = 100; /* tables are designed for 100 columns */
    const char *only = json_string_value(json_object_get(view, "region_filter"));
    const char *metric = sget(view, "metric");
    char b[256], c1[32];

    snprintf(b, sizeof b, "%s", sget(view, "experiment"));
    cli_term_paint(f, color, CLI_PAINT_BOLD, b);
    const char *name = sget(view, "name");
    if (strcmp(name, sget(view, "experiment")) != 0) fprintf(f, "  %s", name);
    fprintf(f, "  [%s]\n", sget(view, "status"));
    json_t *days = json_object_get(view, "days");
    size_t nd = json_array_size(days);
    fmt_count(rget(view, "min_sample"), c1, sizeof c1);
    fprintf(f, "goal %s  alpha %.3g (%s over %.0f tests)%smin sample %s/arm  guardrail %s\n",
            sget(view, "goal"), rget(view, "alpha"),
            strcmp(sget(view, "correction"), "bh") == 0 ? "Benjamini-Hochberg" : "Holm",
            rget(view, "family_size"), width < 100 ? "\n" : "  ", c1,
            json_array_size(json_object_get(view, "guardrails")) ? "decline rate" : "none");
    {
        json_t *bm = json_object_get(json_object_get(view, "breaker"), "metrics");
        size_t nbm = json_array_size(bm);
        json_t *cap = json_object_get(view, "revenue_cap");
        if (json_is_number(cap))
            fprintf(f, "revenue capped at %.10g per visitor (revenue figures and decisions use "
                    "the capped sums)\n", json_number_value(cap));
        fprintf(f, "circuit breaker %s%s%s\n",
                nbm == 0 ? "off" : strcmp(json_string_value(json_array_get(bm, 0)), "aov") == 0
                                       ? "on AOV" : "on decline rate",
                nbm == 2 ? " and AOV" : "", "");
    }
    if (nd)
        fprintf(f, "data %s .. %s (%zu day%s, UTC)  generated %s\n",
                json_string_value(json_array_get(days, 0)),
                json_string_value(json_array_get(days, nd - 1)), nd, nd == 1 ? "" : "s",
                sget(view, "generated_at"));
    else
        fprintf(f, "no data yet  generated %s\n", sget(view, "generated_at"));

    /* SRM banners */
    json_t *regs = json_object_get(view, "regions");
    size_t i;
    json_t *g;
    json_array_foreach(regs, i, g) {
        if (!json_is_true(json_object_get(g, "srm_failed"))) continue;
        if (only && strcmp(only, sget(g, "region")) != 0) continue;
        fmt_p(rget(g, "srm_p_always_valid"), c1, sizeof c1);
        snprintf(b, sizeof b, "!! SAMPLE RATIO MISMATCH in %s: visitors per variant do not "
                 "match the weights (always-valid p %s)", sget(g, "region"), c1);
        fputc('\n', f);
        cli_term_paint(f, color, CLI_PAINT_BAD, b);
        fputc('\n', f);
        cli_term_paint(f, color, CLI_PAINT_BAD, "   Its results are not trustworthy until "
                       "the cause (assignment, redirects, bot filter) is found.");
        fputc('\n', f);
    }

    /* circuit breaker banners: regions upshotd routes to control */
    json_array_foreach(regs, i, g) {
        json_t *br = json_object_get(g, "breaker");
        json_t *trip = json_object_get(br, "trip");
        if (!json_is_true(json_object_get(br, "active")) || !json_is_object(trip)) continue;
        if (only && strcmp(only, sget(g, "region")) != 0) continue;
        const char *metric_b = sget(trip, "metric");
        bool aov = strcmp(metric_b, "aov") == 0;
        double diff = rget(trip, "diff");
        char d1[32], p1[32];
        if (aov) fmt_money(diff, d1, sizeof d1);
        else fmt_pct(diff, 1, d1, sizeof d1);
        fmt_p(rget(trip, "p"), p1, sizeof p1);
        snprintf(b, sizeof b, "!! CIRCUIT BREAKER tripped in %s since %.16s: %s %s %s vs "
                 "control (always-valid p %s, e-value %.3g)", sget(g, "region"),
                 sget(trip, "since"), sget(trip, "variant"), aov ? "AOV" : "decline rate", d1, p1,
                 rget(trip, "e_value"));
        fputc('\n', f);
        cli_term_paint(f, color, CLI_PAINT_BAD, b);
        fputc('\n', f);
        snprintf(b, sizeof b, "   Its visitors see the control and are not counted; `upshot "
                 "breaker %s --reset --region %s` resumes the test.", sget(view, "experiment"),
                 sget(g, "region"));
        cli_term_paint(f, color, CLI_PAINT_BAD, b);
        fputc('\n', f);
    }

    const json_t *arms = json_object_get(json_object_get(view, "total"), "variants");
    if (only) {
        json_array_foreach(regs, i, g)
            if (strcmp(only, sget(g, "region")) == 0) arms = json_object_get(g, "variants");
        snprintf(b, sizeof b, "Region %s: %s (p adjusted across all regions x variants)", only,
                 metric_title(metric));
    } else {
        snprintf(b, sizeof b, "All regions: %s (pooled, for reading; decisions are per region)",
                 metric_title(metric));
    }
    heading(f, color, b);
    render_variant_tables(f, color, width, arms, metric, rget(view, "alpha"));

    if (json_array_size(regs) > 0) {
        snprintf(b, sizeof b, "Regions x variants: lift on the goal (%s)",
                 metric_title(sget(view, "goal")));
        heading(f, color, b);
        render_matrix(f, color, width, view, only);
    }

    snprintf(b, sizeof b, "Cumulative lift by day: %s, %s", metric_title(metric),
             only ? only : "all regions");
    heading(f, color, b);
    render_chart(f, color, width, json_object_get(view, "chart"));

    json_t *bandit = json_object_get(view, "bandit");
    if (json_is_object(bandit)) cli_bandit_render(bandit, only, f, color, width);

    heading(f, color, "Recommendations");
    if (json_array_size(regs) == 0) fputs("  no region has data yet\n", f);
    json_array_foreach(regs, i, g) {
        if (only && strcmp(only, sget(g, "region")) != 0) continue;
        render_recommendation(f, color, g, view);
    }
    if (json_array_size(regs) > 0) {
        snprintf(b, sizeof b, "Sample size: a %.0f%% relative lift in conversion, 80%% power, "
                 "alpha %.3g", rget(view, "mde") * 100, rget(view, "alpha"));
        heading(f, color, b);
        render_sample_size(f, color, width, view, only);
    }
    json_t *integ = json_object_get(view, "integrity");
    if (rget(integ, "unexposed_conversions") > 0) {
        fmt_count(rget(integ, "unexposed_conversions"), c1, sizeof c1);
        fprintf(f, "\nnote: %s conversions came from visitors never exposed (not attributed)\n",
                c1);
    }
}

void cli_view_render_chart(const json_t *chart, FILE *f, int color, int width)
{
    render_chart(f, color, width > 100 ? 100 : width, chart);
}

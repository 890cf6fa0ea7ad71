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
#include "cli_fmt.h"
#include "cli_plot.h"
#include "cli_table.h"
#include "cli_term.h"
#include "cli_view.h"
#include "cli_view_factorial.h"

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
        const char *verdict = cli_fmt_str(a, "verdict");
        cli_table_cell(t, r, 0, cli_fmt_str(a, "variant"), is_ctl ? CLI_PAINT_DIM : CLI_PAINT_NONE);
        cli_fmt_count(cli_fmt_num(a, "visitors"), b, sizeof b);
        cli_table_cell(t, r, 1, b, CLI_PAINT_NONE);
        cli_fmt_count(cli_fmt_num(a, "conversions"), b, sizeof b);
        cli_table_cell(t, r, 2, b, CLI_PAINT_NONE);
        if (conv) cli_fmt_pct(cli_fmt_num(a, "metric_value"), 0, b, sizeof b);
        else cli_fmt_money(cli_fmt_num(a, "metric_value"), b, sizeof b);
        cli_table_cell(t, r, 3, b, CLI_PAINT_NONE);
        if (conv) cli_fmt_ci(json_object_get(a, "conversion_rate_ci"), 0, b, sizeof b);
        else b[0] = '\0';
        if (!narrow) cli_table_cell(t, r, 4, b, CLI_PAINT_DIM);
        if (is_ctl) {
            cli_table_cell(t, r, 5 - k, "control", CLI_PAINT_DIM);
            continue;
        }
        cli_fmt_pct(cli_fmt_num(a, "lift"), 1, b, sizeof b);
        cli_table_cell(t, r, 5 - k, b, verdict_paint(verdict));
        cli_fmt_ci(json_object_get(a, "lift_ci"), 1, b, sizeof b);
        cli_table_cell(t, r, 6 - k, b, CLI_PAINT_NONE);
        cli_fmt_p(cli_fmt_num(a, "p_adjusted"), b, sizeof b);
        cli_table_cell(t, r, 7 - k, b, verdict_paint(verdict));
        if (narrow) continue;
        double beat = cli_fmt_num(a, "chance_to_beat");
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
        cli_table_cell(t, r, 0, cli_fmt_str(a, "variant"), is_ctl ? CLI_PAINT_DIM : CLI_PAINT_NONE);
        cli_fmt_money(cli_fmt_num(a, "revenue_per_visitor"), b, sizeof b);
        cli_table_cell(t, r, 1, b, CLI_PAINT_NONE);
        cli_fmt_pct(is_ctl ? NAN : cli_fmt_num(a, "revenue_lift"), 1, b, sizeof b);
        cli_table_cell(t, r, 2, is_ctl ? "" : b, CLI_PAINT_NONE);
        cli_fmt_money(cli_fmt_num(a, "aov"), b, sizeof b);
        cli_table_cell(t, r, 3, b, CLI_PAINT_NONE);
        cli_fmt_pct(is_ctl ? NAN : cli_fmt_num(a, "aov_lift"), 1, b, sizeof b);
        cli_table_cell(t, r, 4, is_ctl ? "" : b, CLI_PAINT_NONE);
        cli_fmt_count(cli_fmt_num(a, "orders"), b, sizeof b);
        cli_table_cell(t, r, 5, b, CLI_PAINT_NONE);
        cli_fmt_pct(cli_fmt_num(a, "decline_rate"), 0, b, sizeof b);
        cli_table_cell(t, r, 6, b, CLI_PAINT_NONE);
        if (is_ctl) continue;
        double dd = cli_fmt_num(a, "decline_diff");
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
        any = any || isfinite(cli_fmt_num(a, "revenue_lift_cuped"));
    if (!any) return;
    fprintf(f, "\n  rev/visitor lift adjusted for cart value at exposure (CUPED):\n");
    json_array_foreach(arms, i, a) {
        double l = cli_fmt_num(a, "revenue_lift_cuped");
        if (!isfinite(l)) continue;
        char p[32];
        cli_fmt_pct(l, 1, b, sizeof b);
        cli_fmt_p(cli_fmt_num(a, "revenue_cuped_p"), p, sizeof p);
        fprintf(f, "    %-24.24s %8s  p %s\n", cli_fmt_str(a, "variant"), b, p);
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
            cli_term_fit(cli_fmt_str(json_array_get(arms, cols[c]), "variant"), 13, name,
                         sizeof name);
            cli_table_column(t, c + 2, name, 1);
        }
        size_t i;
        json_t *g;
        json_array_foreach(regs, i, g) {
            if (only && strcmp(only, cli_fmt_str(g, "region")) != 0) continue;
            int r = cli_table_row(t);
            cli_table_cell(t, r, 0, cli_fmt_str(g, "region"), CLI_PAINT_NONE);
            char b[48];
            cli_fmt_count(cli_fmt_num(g, "min_visitors"), b, sizeof b);
            cli_table_cell(t, r, 1, b, json_is_true(json_object_get(g, "min_sample_met"))
                                           ? CLI_PAINT_NONE : CLI_PAINT_WARN);
            json_t *ga = json_object_get(g, "variants");
            for (size_t c = 0; c < nc; c++) {
                json_t *a = json_array_get(ga, cols[c]);
                const char *vd = cli_fmt_str(a, "goal_verdict");
                char lift[24];
                cli_fmt_pct(cli_fmt_num(a, "goal_lift"), 1, lift, sizeof lift);
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
    size_t plot_w = (size_t)width - 12;
    if (plot_w > 80) plot_w = 80;
    size_t cols = nd <= plot_w ? nd : plot_w;
    size_t step = cols > 1 ? (plot_w - 1) / (cols - 1) : 1;
    if (step < 1) step = 1;
    if (step > 8) step = 8;
    size_t gw = (cols - 1) * step + 1;
    cli_plot *p = cli_plot_new(10, gw, lo, hi);
    if (p == NULL) return;
    int zero_row = cli_plot_hline(p, 0);
    for (size_t s = 0; s < ns; s++) {
        json_t *pts = json_object_get(json_array_get(series, s), "lift");
        for (size_t c = 0; c < cols; c++) {
            size_t d = cols == nd ? c : c * (nd - 1) / (cols - 1);
            json_t *pt = json_array_get(pts, d);
            if (!json_is_number(pt)) continue;
            cli_plot_put(p, c * step, json_number_value(pt),
                         CLI_PLOT_GLYPHS[s % CLI_PLOT_NGLYPHS], 0);
        }
    }
    char label[16];
    snprintf(label, sizeof label, "%+.1f%%", hi * 100);
    cli_plot_label(p, 0, label);
    snprintf(label, sizeof label, "%+.1f%%", lo * 100);
    cli_plot_label(p, cli_plot_rows(p) - 1, label);
    if (zero_row > 0 && (size_t)zero_row < cli_plot_rows(p) - 1)
        cli_plot_label(p, (size_t)zero_row, "0%");
    cli_plot_render(p, f, color);
    cli_plot_free(p);
    const char *d0 = json_string_value(json_array_get(days, 0));
    const char *d1 = json_string_value(json_array_get(days, nd - 1));
    size_t pad = gw > 10 ? gw - 10 : 1;
    fprintf(f, "  %8s  %s%*s%s\n", "", d0 ? d0 + 5 : "", (int)pad, "", d1 ? d1 + 5 : "");
    size_t col = 2;
    fputs("  ", f);
    for (size_t s = 0; s < ns; s++) {
        char name[48], item[64];
        cli_term_fit(cli_fmt_str(json_array_get(series, s), "variant"), 30, name, sizeof name);
        snprintf(item, sizeof item, "%c %s", CLI_PLOT_GLYPHS[s % CLI_PLOT_NGLYPHS], name);
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
    const char *rec = cli_fmt_str(g, "recommendation");
    char line[512], b1[32], b2[32];
    cli_paint p = CLI_PAINT_WARN;
    const char *why = cli_fmt_str(g, "why");
    if (strcmp(rec, "promote") == 0) {
        p = CLI_PAINT_GOOD;
        const char *pv = cli_fmt_str(g, "promote_variant");
        json_t *a = NULL, *x;
        size_t i;
        json_array_foreach(json_object_get(g, "variants"), i, x)
            if (strcmp(cli_fmt_str(x, "variant"), pv) == 0) a = x;
        cli_fmt_pct(cli_fmt_num(a, "goal_lift"), 1, b1, sizeof b1);
        cli_fmt_p(cli_fmt_num(a, "goal_p_adjusted"), b2, sizeof b2);
        char name[40];
        cli_term_fit(pv, 28, name, sizeof name);
        snprintf(line, sizeof line, "promote %s: lift %s, adjusted p %s, declines ok", name, b1,
                 b2);
    } else if (strcmp(rec, "check_srm") == 0) {
        p = CLI_PAINT_BAD;
        cli_fmt_p(cli_fmt_num(g, "srm_p_always_valid"), b1, sizeof b1);
        snprintf(line, sizeof line, "check SRM first: visitors do not match the weights "
                 "(p %s); fix assignment before reading", b1);
    } else if (strcmp(rec, "breaker") == 0) {
        p = CLI_PAINT_BAD;
        json_t *br = json_object_get(g, "breaker");
        cli_fmt_p(cli_fmt_num(br, "p"), b1, sizeof b1);
        snprintf(line, sizeof line, "circuit breaker: %s worse than control on the %s "
                 "(always-valid p %s); route to control", cli_fmt_str(br, "variant"),
                 strcmp(cli_fmt_str(br, "metric"), "aov") == 0 ? "AOV" : "decline rate", b1);
    } else if (strcmp(rec, "stop") == 0) {
        p = CLI_PAINT_DIM;
        snprintf(line, sizeof line, "stop, no effect likely: %s", why);
    } else {
        double ms = cli_fmt_num(view, "min_sample"), mv = cli_fmt_num(g, "min_visitors");
        if (!json_is_true(json_object_get(g, "min_sample_met"))) {
            cli_fmt_count(mv, b1, sizeof b1);
            cli_fmt_count(ms, b2, sizeof b2);
            snprintf(line, sizeof line, "keep running: fewest visitors in an arm %s of %s needed",
                     b1, b2);
        } else {
            snprintf(line, sizeof line, "keep running: %s", why);
        }
        double dtg = cli_fmt_num(g, "days_to_go");
        if (isfinite(dtg) && dtg > 0)
            snprintf(line + strlen(line), sizeof line - strlen(line),
                     "; ~%.0f more day%s for the MDE", dtg, dtg == 1 ? "" : "s");
    }
    fprintf(f, "  %-8s ", cli_fmt_str(g, "region"));
    cli_term_paint(f, color, p, line);
    fputc('\n', f);
    const char *srv = json_string_value(json_object_get(g, "server_recommendation"));
    const json_t *fd = json_object_get(g, "factorial_decision");
    if (srv && strcmp(srv, rec) != 0 &&
        strcmp(cli_fmt_str(fd, "kind"), "factor_level") == 0) {
        /* the factor-level step needs upshotd's models: not a disagreement */
        snprintf(line, sizeof line, "upshotd promotes the level %s=%s (factorial, above)",
                 cli_fmt_str(fd, "factor"), cli_fmt_str(fd, "level"));
        fprintf(f, "  %-8s ", "");
        cli_term_paint(f, color, CLI_PAINT_GOOD, line);
        fputc('\n', f);
    } else if (srv && strcmp(srv, rec) != 0) {
        snprintf(line, sizeof line, "upshotd's own evaluation says %s (different settings "
                 "were given here?)", srv);
        fprintf(f, "  %-8s ", "");
        cli_term_paint(f, color, CLI_PAINT_WARN, line);
        fputc('\n', f);
    }
    json_t *promo = json_object_get(g, "promotion");
    if (json_is_object(promo)) {
        char v[32];
        cli_fmt_count(cli_fmt_num(promo, "visitors"), v, sizeof v);
        fprintf(f, "  %-8s promoted now: %s since %.10s, holdback %.0f%%, %s visitors served it\n",
                "", cli_fmt_str(promo, "variant"), cli_fmt_str(promo, "since"),
                cli_fmt_num(promo, "holdback") * 100, v);
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
        if (only && strcmp(only, cli_fmt_str(g, "region")) != 0) continue;
        int r = cli_table_row(t);
        char b[48];
        cli_table_cell(t, r, 0, cli_fmt_str(g, "region"), CLI_PAINT_NONE);
        json_t *ctl = json_array_get(json_object_get(g, "variants"), 0);
        size_t j;
        json_t *a;
        json_array_foreach(json_object_get(g, "variants"), j, a)
            if (json_is_true(json_object_get(a, "control"))) ctl = a;
        cli_fmt_pct(cli_fmt_num(ctl, "conversion_rate"), 0, b, sizeof b);
        cli_table_cell(t, r, 1, b, CLI_PAINT_NONE);
        cli_fmt_count(cli_fmt_num(g, "needed_per_arm"), b, sizeof b);
        cli_table_cell(t, r, 2, b, CLI_PAINT_NONE);
        cli_fmt_count(cli_fmt_num(g, "min_visitors"), b, sizeof b);
        cli_table_cell(t, r, 3, b, CLI_PAINT_NONE);
        double d = cli_fmt_num(g, "days_to_go");
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
    const char *metric = cli_fmt_str(view, "metric");
    char b[256], c1[32];

    snprintf(b, sizeof b, "%s", cli_fmt_str(view, "experiment"));
    cli_term_paint(f, color, CLI_PAINT_BOLD, b);
    const char *name = cli_fmt_str(view, "name");
    if (strcmp(name, cli_fmt_str(view, "experiment")) != 0) fprintf(f, "  %s", name);
    fprintf(f, "  [%s]\n", cli_fmt_str(view, "status"));
    json_t *days = json_object_get(view, "days");
    size_t nd = json_array_size(days);
    cli_fmt_count(cli_fmt_num(view, "min_sample"), c1, sizeof c1);
    fprintf(f, "goal %s  alpha %.3g (%s over %.0f tests)%smin sample %s/arm  guardrail %s\n",
            cli_fmt_str(view, "goal"), cli_fmt_num(view, "alpha"),
            strcmp(cli_fmt_str(view, "correction"), "bh") == 0 ? "Benjamini-Hochberg" : "Holm",
            cli_fmt_num(view, "family_size"), width < 100 ? "\n" : "  ", c1,
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
                cli_fmt_str(view, "generated_at"));
    else
        fprintf(f, "no data yet  generated %s\n", cli_fmt_str(view, "generated_at"));

    /* SRM banners */
    json_t *regs = json_object_get(view, "regions");
    size_t i;
    json_t *g;
    json_array_foreach(regs, i, g) {
        if (!json_is_true(json_object_get(g, "srm_failed"))) continue;
        if (only && strcmp(only, cli_fmt_str(g, "region")) != 0) continue;
        cli_fmt_p(cli_fmt_num(g, "srm_p_always_valid"), c1, sizeof c1);
        snprintf(b, sizeof b, "!! SAMPLE RATIO MISMATCH in %s: visitors per variant do not "
                 "match the weights (always-valid p %s)", cli_fmt_str(g, "region"), c1);
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
        if (only && strcmp(only, cli_fmt_str(g, "region")) != 0) continue;
        const char *metric_b = cli_fmt_str(trip, "metric");
        bool aov = strcmp(metric_b, "aov") == 0;
        double diff = cli_fmt_num(trip, "diff");
        char d1[32], p1[32];
        if (aov) cli_fmt_money(diff, d1, sizeof d1);
        else cli_fmt_pct(diff, 1, d1, sizeof d1);
        cli_fmt_p(cli_fmt_num(trip, "p"), p1, sizeof p1);
        snprintf(b, sizeof b,
                 "!! CIRCUIT BREAKER tripped in %s since %.16s: %s %s %s vs "
                 "control (always-valid p %s, e-value %.3g)",
                 cli_fmt_str(g, "region"), cli_fmt_str(trip, "since"), cli_fmt_str(trip, "variant"),
                 aov ? "AOV" : "decline rate", d1, p1, cli_fmt_num(trip, "e_value"));
        fputc('\n', f);
        cli_term_paint(f, color, CLI_PAINT_BAD, b);
        fputc('\n', f);
        snprintf(b, sizeof b,
                 "   Its visitors see the control and are not counted; `upshot "
                 "breaker %s --reset --region %s` resumes the test.",
                 cli_fmt_str(view, "experiment"), cli_fmt_str(g, "region"));
        cli_term_paint(f, color, CLI_PAINT_BAD, b);
        fputc('\n', f);
    }

    const json_t *arms = json_object_get(json_object_get(view, "total"), "variants");
    if (only) {
        json_array_foreach(regs, i, g)
            if (strcmp(only, cli_fmt_str(g, "region")) == 0) arms = json_object_get(g, "variants");
        snprintf(b, sizeof b, "Region %s: %s (p adjusted across all regions x variants)", only,
                 metric_title(metric));
    } else {
        snprintf(b, sizeof b, "All regions: %s (pooled, for reading; decisions are per region)",
                 metric_title(metric));
    }
    cli_fmt_heading(f, color, b);
    render_variant_tables(f, color, width, arms, metric, cli_fmt_num(view, "alpha"));

    if (json_array_size(regs) > 0) {
        snprintf(b, sizeof b, "Regions x variants: lift on the goal (%s)",
                 metric_title(cli_fmt_str(view, "goal")));
        cli_fmt_heading(f, color, b);
        render_matrix(f, color, width, view, only);
    }

    cli_view_render_factorial(view, f, color, width);

    snprintf(b, sizeof b, "Cumulative lift by day: %s, %s", metric_title(metric),
             only ? only : "all regions");
    cli_fmt_heading(f, color, b);
    render_chart(f, color, width, json_object_get(view, "chart"));

    json_t *bandit = json_object_get(view, "bandit");
    if (json_is_object(bandit)) cli_bandit_render(bandit, only, f, color, width);

    cli_fmt_heading(f, color, "Recommendations");
    if (json_array_size(regs) == 0) fputs("  no region has data yet\n", f);
    json_array_foreach(regs, i, g) {
        if (only && strcmp(only, cli_fmt_str(g, "region")) != 0) continue;
        render_recommendation(f, color, g, view);
    }
    if (json_array_size(regs) > 0) {
        snprintf(b, sizeof b, "Sample size: a %.0f%% relative lift in conversion, 80%% power, "
                 "alpha %.3g", cli_fmt_num(view, "mde") * 100, cli_fmt_num(view, "alpha"));
        cli_fmt_heading(f, color, b);
        render_sample_size(f, color, width, view, only);
    }
    json_t *integ = json_object_get(view, "integrity");
    if (cli_fmt_num(integ, "unexposed_conversions") > 0) {
        cli_fmt_count(cli_fmt_num(integ, "unexposed_conversions"), c1, sizeof c1);
        fprintf(f, "\nnote: %s conversions came from visitors never exposed (not attributed)\n",
                c1);
    }
}

void cli_view_render_chart(const json_t *chart, FILE *f, int color, int width)
{
    render_chart(f, color, width > 100 ? 100 : width, chart);
}

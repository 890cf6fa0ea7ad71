/* cli_report.c: the report's document and its HTML page (cli_report.h).
 *
 * Layout of the page, top to bottom: the experiment and its settings;
 * the decisions per region; the cumulative lift by day with its
 * always-valid band, one chart for all regions and one per region; a
 * forest plot of every region x variant lift with its interval; the
 * exposure split against the configured weights; the audit trail.
 *
 * Charts are drawn at a fixed viewBox and scale with the page (width
 * 100%), so they print and zoom without a script. Colours are the
 * Okabe-Ito palette (told apart by people with colour-blind vision), and
 * no chart relies on colour alone: the tables under each chart carry the
 * same numbers with the variant's name.
 */
#include "cli_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"

/* ---- the document ------------------------------------------------------ */

static json_t *report_num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Lift and its always-valid band at every day of one slice: decide_run on
 * the looks up to that day, so each point is the interval as it stood
 * then (running intersection over the looks so far). ndays runs, each over
 * at most ndays looks: quadratic in days, a few thousand runs for a
 * quarter's experiment, negligible next to the HTTP round trip. */
static json_t *report_band(const cli_results *r, const decide_config *cfg, const char *name,
                           const decide_counts *looks)
{
    json_t *series = json_array();
    json_t *lift[DECIDE_MAX_VARIANTS], *lo[DECIDE_MAX_VARIANTS], *hi[DECIDE_MAX_VARIANTS];
    for (size_t v = 0; v < r->nvariants; v++) {
        lift[v] = json_array();
        lo[v] = json_array();
        hi[v] = json_array();
    }
    for (size_t d = 0; d < r->ndays; d++) {
        decide_region one = {name, d + 1, looks};
        decide_result res;
        int ok = decide_run(cfg, &one, 1, &res) == 0;
        for (size_t v = 0; v < r->nvariants; v++) {
            const decide_arm *a = ok ? &res.regions[0].arms[v] : NULL;
            json_array_append_new(lift[v], report_num(a ? a->lift : NAN));
            json_array_append_new(lo[v], report_num(a ? a->lift_lo : NAN));
            json_array_append_new(hi[v], report_num(a ? a->lift_hi : NAN));
        }
        if (ok) decide_result_free(&res);
    }
    for (size_t v = 0; v < r->nvariants; v++) {
        if (v == r->control) {
            json_decref(lift[v]);
            json_decref(lo[v]);
            json_decref(hi[v]);
            continue;
        }
        json_array_append_new(series, json_pack("{s:s, s:o, s:o, s:o}", "variant",
                                                r->variants[v], "lift", lift[v], "lo", lo[v],
                                                "hi", hi[v]));
    }
    return json_pack("{s:s, s:o}", "region", name, "series", series);
}

json_t *cli_report_model(const json_t *exp, const cli_results *r, const json_t *log,
                         const cli_view_opts *o, char *err, size_t errcap)
{
    json_t *view = cli_view_build(exp, r, o, err, errcap);
    if (view == NULL) return NULL;
    double weights[DECIDE_MAX_VARIANTS];
    decide_config cfg;
    cli_view_config(exp, r, o, weights, &cfg);
    if (o && o->metric >= 0) cfg.goal = (decide_goal)o->metric;
    cfg.breaker_decline = cfg.breaker_aov = false; /* the bands need the goal's numbers only */
    cfg.breaker_from = NULL;

    json_t *w = json_array();
    for (size_t v = 0; v < r->nvariants; v++)
        json_array_append_new(w, json_pack("{s:s, s:f}", "variant", r->variants[v], "weight",
                                           weights[v]));
    json_t *bands = json_array();
    json_array_append_new(bands, report_band(r, &cfg, "all regions", r->total_looks));
    for (size_t g = 0; g < r->nregions; g++)
        json_array_append_new(bands, report_band(r, &cfg, r->regions[g].name,
                                                 r->regions[g].looks));
    json_t *entries = json_object_get(log, "entries");
    return json_pack("{s:o, s:o, s:o, s:O}", "view", view, "weights", w, "bands", bands, "log",
                     json_is_array(entries) ? entries : json_array());
}

/* ---- HTML helpers --------------------------------------------------------- */

void cli_report_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            /* control characters other than tab and newline are not
             * allowed in XML 1.0: dropped */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') break;
            fputc(*s, f);
        }
    }
}

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double rget(const json_t *o, const char *k)
{
    json_t *x = json_object_get(o, k);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

static double aget(const json_t *a, size_t i)
{
    json_t *x = json_array_get(a, i);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

/* Okabe-Ito, without its yellow (too pale on white paper). */
static const char *const report_colors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                            "#E69F00", "#56B4E9", "#000000"};
#define REPORT_NCOLORS (sizeof report_colors / sizeof report_colors[0])

/* The colour of variant index v, by its position among the experiment's
 * variants, so a variant has one colour in every chart. */
static const char *report_color(size_t v) { return report_colors[v % REPORT_NCOLORS]; }

static size_t report_variant_index(const json_t *model, const char *variant)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(model, "weights"), i, w)
        if (strcmp(sget(w, "variant"), variant) == 0) return i;
    return 0;
}

static void report_pct(FILE *f, double v, int sign)
{
    if (!isfinite(v)) fputs("–", f);
    else fprintf(f, sign ? "%+.1f%%" : "%.1f%%", v * 100);
}

/* An interval as "[lo, hi]" in percent, or "–". */
static void report_ci(FILE *f, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        fputs("–", f);
        return;
    }
    fputc('[', f);
    report_pct(f, lo, 1);
    fputs(", ", f);
    report_pct(f, hi, 1);
    fputc(']', f);
}

/* A text element of SVG whose content is isolated for bidi. */
static void svg_text(FILE *f, double x, double y, const char *anchor, const char *cls,
                     const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">", x, y, anchor, cls);
    cli_report_escape(f, s);
    fputs("</text>\n", f);
}

/* Opens an accessible chart: role img, labelled by its title and desc. */
static void svg_open(FILE *f, const char *id, double w, double h, const char *title,
                     const char *desc)
{
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
            "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-labelledby=\"%s-t %s-d\">\n",
            w, h, w, h, id, id);
    fprintf(f, "<title id=\"%s-t\">", id);
    cli_report_escape(f, title);
    fprintf(f, "</title>\n<desc id=\"%s-d\">", id);
    cli_report_escape(f, desc);
    fputs("</desc>\n", f);
}

/* A linear scale: value -> pixel. */
typedef struct report_scale {
    double v0, v1, p0, p1;
} report_scale;

static double scale_at(const report_scale *s, double v)
{
    if (v < s->v0) v = s->v0;
    if (v > s->v1) v = s->v1;
    return s->p0 + (v - s->v0) / (s->v1 - s->v0) * (s->p1 - s->p0);
}

/* Widens [*lo, *hi] to hold v when finite; bounds lifts to [-100%, +500%]
 * so an early interval of a rare event does not flatten the rest. */
static void range_add(double *lo, double *hi, double v)
{
    if (!isfinite(v)) return;
    if (v < -1.0) v = -1.0;
    if (v > 5.0) v = 5.0;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

static void range_pad(double *lo, double *hi)
{
    if (*hi - *lo < 0.02) {
        *lo -= 0.01;
        *hi += 0.01;
    }
    double pad = (*hi - *lo) * 0.06;
    *lo -= pad;
    *hi += pad;
}

/* Horizontal grid lines with labels at 5 even steps of a lift axis. */
static void svg_lift_axis_y(FILE *f, const report_scale *y, double x0, double x1)
{
    for (int i = 0; i <= 4; i++) {
        double v = y->v0 + (y->v1 - y->v0) * i / 4.0;
        double py = scale_at(y, v);
        char lab[32];
        snprintf(lab, sizeof lab, "%+.1f%%", v * 100);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n",
                x0, py, x1, py);
        svg_text(f, x0 - 6, py + 4, "end", "tick", lab);
    }
    if (y->v0 < 0 && y->v1 > 0) {
        double pz = scale_at(y, 0);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"zero\"/>\n",
                x0, pz, x1, pz);
    }
}

/* ---- sections ----------------------------------------------------------- */

static void report_head(FILE *f, const json_t *view)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\" xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n"
          "<meta charset=\"utf-8\"/>\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\"/>\n<title>", f);
    cli_report_escape(f, sget(view, "experiment"));
    fputs(": upshot report</title>\n<style>\n"
          "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
          "sans-serif;color:#1a1a1a;background:#fff;max-width:60rem;margin:1.5rem auto;"
          "padding:0 1rem}\n"
          "h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin:2rem 0 .5rem;"
          "border-bottom:1px solid #ccc;padding-bottom:.2rem}h3{font-size:1rem;margin:1.2rem 0 .3rem}\n"
          ".meta{color:#444;margin:.2rem 0}\n"
          "table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.9rem}\n"
          "caption{text-align:start;color:#444;padding:.2rem 0}\n"
          "th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:start;vertical-align:top}\n"
          "td.n{text-align:end;font-variant-numeric:tabular-nums}th{background:#f3f3f3}\n"
          "svg{width:100%;height:auto;max-width:100%;display:block}\n"
          "svg text{font:12px system-ui,'DejaVu Sans',sans-serif;fill:#1a1a1a;"
          "unicode-bidi:isolate}\n"
          "svg .tick{fill:#555;font-size:11px}svg .grid{stroke:#e3e3e3;stroke-width:1}\n"
          "svg .zero{stroke:#333;stroke-width:1;stroke-dasharray:4 3}\n"
          "svg .axis{stroke:#999;stroke-width:1}\n"
          ".legend{list-style:none;padding:0;margin:.2rem 0;display:flex;flex-wrap:wrap;"
          "gap:1rem}\n"
          ".sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;"
          "margin-inline-end:.35em;vertical-align:-.1em}\n"
          ".rec-promote{color:#006b4f;font-weight:600}.rec-check_srm,.rec-breaker{color:#a33;"
          "font-weight:600}\n"
          "figure{margin:0}figcaption{color:#444;font-size:.9rem}\n"
          "@media print{body{max-width:none;margin:0;font-size:10pt}section,figure,table"
          "{break-inside:avoid}h2{break-after:avoid}a{color:inherit}}\n"
          "</style>\n</head>\n<body>\n", f);
}

static void report_title(FILE *f, const json_t *view)
{
    fputs("<header>\n<h1><bdi>", f);
    cli_report_escape(f, sget(view, "experiment"));
    fputs("</bdi>", f);
    if (strcmp(sget(view, "name"), sget(view, "experiment")) != 0) {
        fputs(": <bdi>", f);
        cli_report_escape(f, sget(view, "name"));
        fputs("</bdi>", f);
    }
    fputs("</h1>\n<p class=\"meta\">status <b>", f);
    cli_report_escape(f, sget(view, "status"));
    fputs("</b>; goal <b>", f);
    cli_report_escape(f, sget(view, "goal"));
    if (strcmp(sget(view, "metric"), sget(view, "goal")) != 0) {
        fputs("</b>; charts and lifts on <b>", f);
        cli_report_escape(f, sget(view, "metric"));
    }
    fprintf(f, "</b>; alpha %.3g, %s correction over %.0f tests; minimum sample %.0f per arm; "
            "control <bdi>", rget(view, "alpha"),
            strcmp(sget(view, "correction"), "bh") == 0 ? "Benjamini-Hochberg" : "Holm",
            rget(view, "family_size"), rget(view, "min_sample"));
    cli_report_escape(f, sget(view, "control"));
    fputs("</bdi></p>\n<p class=\"meta\">", f);
    json_t *days = json_object_get(view, "days");
    size_t nd = json_array_size(days);
    if (nd) {
        fputs("data ", f);
        cli_report_escape(f, json_string_value(json_array_get(days, 0)));
        fputs(" to ", f);
        cli_report_escape(f, json_string_value(json_array_get(days, nd - 1)));
        fprintf(f, " (%zu day%s, UTC); ", nd, nd == 1 ? "" : "s");
    } else {
        fputs("no data yet; ", f);
    }
    fputs("generated ", f);
    cli_report_escape(f, sget(view, "generated_at"));
    fputs(" by upshot report. Intervals are always-valid (mSPRT): they may be read every "
          "day without losing their coverage.</p>\n</header>\n", f);
}

static void report_decisions(FILE *f, const json_t *view)
{
    fputs("<section id=\"decisions\">\n<h2>Decisions</h2>\n<table>\n<caption>The rules of "
          "docs/promotion.md per region, as <code>upshot show</code> and auto-promotion apply "
          "them</caption>\n<thead><tr><th scope=\"col\">region</th><th scope=\"col\">"
          "recommendation</th><th scope=\"col\">variant</th><th scope=\"col\">why</th>"
          "<th scope=\"col\">SRM p (always-valid)</th><th scope=\"col\">promoted now</th>"
          "</tr></thead>\n<tbody>\n", f);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(view, "regions"), i, g) {
        fputs("<tr><th scope=\"row\"><bdi>", f);
        cli_report_escape(f, sget(g, "region"));
        fputs("</bdi></th><td class=\"rec-", f);
        cli_report_escape(f, sget(g, "recommendation"));
        fputs("\">", f);
        cli_report_escape(f, sget(g, "recommendation"));
        fputs("</td><td><bdi>", f);
        cli_report_escape(f, sget(g, "promote_variant"));
        fputs("</bdi></td><td>", f);
        cli_report_escape(f, sget(g, "why"));
        fprintf(f, "</td><td class=\"n\">%.3g</td><td>", rget(g, "srm_p_always_valid"));
        json_t *p = json_object_get(g, "promotion");
        if (json_is_object(p)) {
            fputs("<bdi>", f);
            cli_report_escape(f, sget(p, "variant"));
            fprintf(f, "</bdi>, holdback %.0f%%", rget(p, "holdback") * 100);
        } else {
            fputs("–", f);
        }
        fputs("</td></tr>\n", f);
    }
    if (json_array_size(json_object_get(view, "regions")) == 0)
        fputs("<tr><td colspan=\"6\">no region has data yet</td></tr>\n", f);
    fputs("</tbody>\n</table>\n</section>\n", f);
}

static void report_legend(FILE *f, const json_t *model, const json_t *series)
{
    fputs("<ul class=\"legend\">", f);
    size_t i;
    json_t *s;
    json_array_foreach(series, i, s) {
        size_t v = report_variant_index(model, sget(s, "variant"));
        fprintf(f, "<li><span class=\"sw\" style=\"background:%s\"></span><bdi>",
                report_color(v));
        cli_report_escape(f, sget(s, "variant"));
        fputs("</bdi></li>", f);
    }
    fputs("</ul>\n", f);
}

/* One chart of cumulative lift by day: a band and a line per variant. */
static void report_lift_chart(FILE *f, const json_t *model, const json_t *band, size_t idx)
{
    const json_t *view = json_object_get(model, "view");
    json_t *days = json_object_get(view, "days");
    json_t *series = json_object_get(band, "series");
    size_t nd = json_array_size(days), ns = json_array_size(series);
    const char *region = sget(band, "region");
    enum { W = 720, H = 240, L = 64, R = 16, T = 14, B = 40 };
    double lo = 0, hi = 0;
    size_t i;
    json_t *s;
    json_array_foreach(series, i, s)
        for (size_t d = 0; d < nd; d++) {
            range_add(&lo, &hi, aget(json_object_get(s, "lift"), d));
            range_add(&lo, &hi, aget(json_object_get(s, "lo"), d));
            range_add(&lo, &hi, aget(json_object_get(s, "hi"), d));
        }
    range_pad(&lo, &hi);
    report_scale y = {lo, hi, H - B, T};
    report_scale x = {0, nd > 1 ? (double)(nd - 1) : 1.0, L + 8, W - R - 8};
    char id[32], title[160], desc[400];
    snprintf(id, sizeof id, "lift%zu", idx);
    snprintf(title, sizeof title, "Cumulative lift by day, %s", region);
    snprintf(desc, sizeof desc, "Lift of each variant against control on the %s, cumulative "
             "from the first day to each day, with its always-valid band; %zu day%s; the dashed "
             "line is no effect. The table below gives the numbers.", sget(view, "metric"), nd,
             nd == 1 ? "" : "s");
    fputs("<figure>\n", f);
    svg_open(f, id, W, H, title, desc);
    svg_lift_axis_y(f, &y, L, W - R);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", L, H - B,
            W - R, H - B);
    /* day labels: first, middle, last */
    size_t marks[3] = {0, nd / 2, nd ? nd - 1 : 0};
    for (int m = 0; m < 3 && nd; m++) {
        if (m == 1 && (nd < 3 || marks[1] == 0 || marks[1] == nd - 1)) continue;
        if (m == 2 && nd == 1) continue;
        const char *day = json_string_value(json_array_get(days, marks[m]));
        svg_text(f, scale_at(&x, nd > 1 ? (double)marks[m] : 0.5), H - B + 18,
                 m == 0 && nd > 1 ? "start" : m == 2 ? "end" : "middle", "tick", day ? day : "");
    }
    json_array_foreach(series, i, s) {
        const char *col = report_color(report_variant_index(model, sget(s, "variant")));
        json_t *l = json_object_get(s, "lift"), *blo = json_object_get(s, "lo"),
               *bhi = json_object_get(s, "hi");
        /* the band over the days where it is defined */
        size_t nb = 0;
        for (size_t d = 0; d < nd; d++)
            nb += isfinite(aget(blo, d)) && isfinite(aget(bhi, d));
        if (nb == 1) { /* one day: a narrow box rather than a polygon of no width */
            for (size_t d = 0; d < nd; d++)
                if (isfinite(aget(blo, d)) && isfinite(aget(bhi, d))) {
                    double px = scale_at(&x, nd > 1 ? (double)d : 0.5);
                    double ph = scale_at(&y, aget(bhi, d)), pl = scale_at(&y, aget(blo, d));
                    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"%.1f\" "
                            "fill=\"%s\" fill-opacity=\"0.15\"/>\n", px - 6, ph, pl - ph, col);
                }
        } else if (nb > 1) {
            fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"", col);
            for (size_t d = 0; d < nd; d++)
                if (isfinite(aget(blo, d)) && isfinite(aget(bhi, d)))
                    fprintf(f, "%.1f,%.1f ", scale_at(&x, (double)d), scale_at(&y, aget(bhi, d)));
            for (size_t d = nd; d-- > 0;)
                if (isfinite(aget(blo, d)) && isfinite(aget(bhi, d)))
                    fprintf(f, "%.1f,%.1f ", scale_at(&x, (double)d), scale_at(&y, aget(blo, d)));
            fputs("\"/>\n", f);
        }
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (size_t d = 0; d < nd; d++)
            if (isfinite(aget(l, d)))
                fprintf(f, "%.1f,%.1f ", scale_at(&x, nd > 1 ? (double)d : 0.5),
                        scale_at(&y, aget(l, d)));
        fputs("\"/>\n", f);
        for (size_t d = 0; d < nd; d++)
            if (isfinite(aget(l, d)))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                        scale_at(&x, nd > 1 ? (double)d : 0.5), scale_at(&y, aget(l, d)), col);
    }
    fputs("</svg>\n", f);
    if (ns) report_legend(f, model, series);
    fputs("<figcaption>Shaded: the always-valid band of each variant's lift as it stood on "
          "that day.</figcaption>\n</figure>\n", f);

    /* the same numbers as a table */
    fputs("<table>\n<caption>Cumulative lift by day, <bdi>", f);
    cli_report_escape(f, region);
    fputs("</bdi></caption>\n<thead><tr><th scope=\"col\">day</th>", f);
    json_array_foreach(series, i, s) {
        fputs("<th scope=\"col\"><bdi>", f);
        cli_report_escape(f, sget(s, "variant"));
        fputs("</bdi> lift</th><th scope=\"col\">always-valid band</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (size_t d = 0; d < nd; d++) {
        fputs("<tr><th scope=\"row\">", f);
        cli_report_escape(f, json_string_value(json_array_get(days, d)));
        fputs("</th>", f);
        json_array_foreach(series, i, s) {
            fputs("<td class=\"n\">", f);
            report_pct(f, aget(json_object_get(s, "lift"), d), 1);
            fputs("</td><td class=\"n\">", f);
            report_ci(f, aget(json_object_get(s, "lo"), d), aget(json_object_get(s, "hi"), d));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody>\n</table>\n", f);
}

static void report_lift_section(FILE *f, const json_t *model)
{
    fputs("<section id=\"lift\">\n<h2>Cumulative lift by day</h2>\n", f);
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(model, "bands"), i, b) {
        fputs("<h3><bdi>", f);
        cli_report_escape(f, sget(b, "region"));
        fputs("</bdi></h3>\n", f);
        report_lift_chart(f, model, b, i);
    }
    fputs("</section>\n", f);
}

/* One row of the forest plot. */
typedef struct forest_row {
    const char *region, *variant;
    double lift, lo, hi;
} forest_row;

static void report_forest(FILE *f, const json_t *model)
{
    const json_t *view = json_object_get(model, "view");
    size_t cap = 1, n = 0;
    size_t i, j;
    json_t *g, *a;
    json_array_foreach(json_object_get(view, "regions"), i, g)
        cap += json_array_size(json_object_get(g, "variants"));
    cap += json_array_size(json_object_get(json_object_get(view, "total"), "variants"));
    forest_row *rows = calloc(cap, sizeof *rows);
    if (rows == NULL) return;
    json_array_foreach(json_object_get(json_object_get(view, "total"), "variants"), j, a) {
        if (json_is_true(json_object_get(a, "control"))) continue;
        json_t *ci = json_object_get(a, "lift_ci");
        rows[n++] = (forest_row){"all regions", sget(a, "variant"), rget(a, "lift"),
                                 aget(ci, 0), aget(ci, 1)};
    }
    json_array_foreach(json_object_get(view, "regions"), i, g)
        json_array_foreach(json_object_get(g, "variants"), j, a) {
            if (json_is_true(json_object_get(a, "control"))) continue;
            json_t *ci = json_object_get(a, "lift_ci");
            rows[n++] = (forest_row){sget(g, "region"), sget(a, "variant"), rget(a, "lift"),
                                     aget(ci, 0), aget(ci, 1)};
        }
    enum { W = 720, L = 230, R = 24, T = 10, ROW = 26, B = 34 };
    double H = T + ROW * (double)(n ? n : 1) + B;
    double lo = 0, hi = 0;
    for (size_t k = 0; k < n; k++) {
        range_add(&lo, &hi, rows[k].lift);
        range_add(&lo, &hi, rows[k].lo);
        range_add(&lo, &hi, rows[k].hi);
    }
    range_pad(&lo, &hi);
    report_scale x = {lo, hi, L, W - R};
    char desc[300];
    snprintf(desc, sizeof desc, "Lift on the %s of each non-control variant against control, "
             "for all regions pooled and per region, with its always-valid interval; the dashed "
             "line is no effect. The table below gives the numbers.", sget(view, "metric"));
    fputs("<section id=\"forest\">\n<h2>Lift per region and variant</h2>\n<figure>\n", f);
    svg_open(f, "forest", W, H, "Forest plot of lifts per region and variant", desc);
    for (int t = 0; t <= 4; t++) {
        double v = lo + (hi - lo) * t / 4.0, px = scale_at(&x, v);
        char lab[32];
        snprintf(lab, sizeof lab, "%+.1f%%", v * 100);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", px,
                T, px, H - B);
        svg_text(f, px, H - B + 18, "middle", "tick", lab);
    }
    if (lo < 0 && hi > 0)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" class=\"zero\"/>\n",
                scale_at(&x, 0), T, scale_at(&x, 0), H - B);
    for (size_t k = 0; k < n; k++) {
        double cy = T + ROW * (double)k + ROW / 2.0;
        const char *col = report_color(report_variant_index(model, rows[k].variant));
        char label[160];
        snprintf(label, sizeof label, "%s · %s", rows[k].region, rows[k].variant);
        svg_text(f, L - 10, cy + 4, "end", "lbl", label);
        if (isfinite(rows[k].lo) && isfinite(rows[k].hi))
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    "stroke-width=\"2\"/>\n", scale_at(&x, rows[k].lo), cy,
                    scale_at(&x, rows[k].hi), cy, col);
        if (isfinite(rows[k].lift))
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"%s\"/>\n",
                    scale_at(&x, rows[k].lift) - 4, cy - 4, col);
    }
    fputs("</svg>\n</figure>\n<table>\n<caption>Lift per region and variant (always-valid "
          "interval)</caption>\n<thead><tr><th scope=\"col\">region</th><th scope=\"col\">"
          "variant</th><th scope=\"col\">lift</th><th scope=\"col\">interval</th></tr></thead>\n"
          "<tbody>\n", f);
    for (size_t k = 0; k < n; k++) {
        fputs("<tr><th scope=\"row\"><bdi>", f);
        cli_report_escape(f, rows[k].region);
        fputs("</bdi></th><td><bdi>", f);
        cli_report_escape(f, rows[k].variant);
        fputs("</bdi></td><td class=\"n\">", f);
        report_pct(f, rows[k].lift, 1);
        fputs("</td><td class=\"n\">", f);
        report_ci(f, rows[k].lo, rows[k].hi);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody>\n</table>\n</section>\n", f);
    free(rows);
}

/* A stacked bar of shares (one segment per variant) at row y. */
static void svg_stack(FILE *f, const json_t *model, const double *share, size_t k, double x0,
                      double w, double y, double h, const char *what)
{
    double x = x0;
    for (size_t v = 0; v < k; v++) {
        double sw = share[v] * w;
        if (!(sw > 0)) continue;
        const json_t *wv = json_array_get(json_object_get(model, "weights"), v);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                "<title>", x, y, sw, h, report_color(v));
        cli_report_escape(f, sget(wv, "variant"));
        fprintf(f, " %s %.1f%%</title></rect>\n", what, share[v] * 100);
        x += sw;
    }
}

static void report_exposure(FILE *f, const json_t *model)
{
    const json_t *view = json_object_get(model, "view");
    const json_t *weights = json_object_get(model, "weights");
    size_t k = json_array_size(weights);
    if (k > DECIDE_MAX_VARIANTS) k = DECIDE_MAX_VARIANTS;
    json_t *regions = json_object_get(view, "regions");
    size_t nr = json_array_size(regions);
    enum { W = 720, L = 190, R = 16, T = 8, BAR = 16, GAP = 14 };
    double H = T + (double)(nr + 1) * (2 * BAR + 4 + GAP) + 8;
    double wshare[DECIDE_MAX_VARIANTS];
    for (size_t v = 0; v < k; v++) wshare[v] = rget(json_array_get(weights, v), "weight");
    fputs("<section id=\"exposure\">\n<h2>Exposure split against the configured weights</h2>\n"
          "<figure>\n", f);
    svg_open(f, "exposure", W, H, "Exposure split against the configured weights",
             "For each region, two stacked bars: the share of randomized visitors each variant "
             "received, and the share the weights configure. A sample ratio mismatch shows as "
             "bars that differ. The table below gives the numbers.");
    json_t *slices[1 + 64];
    const char *names[1 + 64];
    size_t ns = 0;
    slices[ns] = json_object_get(json_object_get(view, "total"), "variants");
    names[ns++] = "all regions";
    size_t i;
    json_t *g;
    json_array_foreach(regions, i, g) {
        if (ns >= sizeof slices / sizeof slices[0]) break;
        slices[ns] = json_object_get(g, "variants");
        names[ns++] = sget(g, "region");
    }
    double observed[64 + 1][DECIDE_MAX_VARIANTS];
    for (size_t s = 0; s < ns; s++) {
        double total = 0;
        for (size_t v = 0; v < k; v++) total += rget(json_array_get(slices[s], v), "visitors");
        for (size_t v = 0; v < k; v++) {
            double n = rget(json_array_get(slices[s], v), "visitors");
            observed[s][v] = total > 0 && isfinite(n) ? n / total : 0;
        }
        double y = T + (double)s * (2 * BAR + 4 + GAP);
        char lab[120];
        snprintf(lab, sizeof lab, "%s observed", names[s]);
        svg_text(f, L - 10, y + BAR - 4, "end", "lbl", lab);
        svg_stack(f, model, observed[s], k, L, W - L - R, y, BAR, "observed");
        svg_text(f, L - 10, y + 2 * BAR, "end", "tick", "configured");
        svg_stack(f, model, wshare, k, L, W - L - R, y + BAR + 4, BAR, "configured");
    }
    fputs("</svg>\n", f);
    fputs("<ul class=\"legend\">", f);
    for (size_t v = 0; v < k; v++) {
        fprintf(f, "<li><span class=\"sw\" style=\"background:%s\"></span><bdi>",
                report_color(v));
        cli_report_escape(f, sget(json_array_get(weights, v), "variant"));
        fputs("</bdi></li>", f);
    }
    fputs("</ul>\n</figure>\n<table>\n<caption>Visitors per variant against the weights"
          "</caption>\n<thead><tr><th scope=\"col\">region</th><th scope=\"col\">variant</th>"
          "<th scope=\"col\">visitors</th><th scope=\"col\">share</th><th scope=\"col\">"
          "weight</th></tr></thead>\n<tbody>\n", f);
    for (size_t s = 0; s < ns; s++)
        for (size_t v = 0; v < k; v++) {
            fputs("<tr><th scope=\"row\"><bdi>", f);
            cli_report_escape(f, names[s]);
            fputs("</bdi></th><td><bdi>", f);
            cli_report_escape(f, sget(json_array_get(weights, v), "variant"));
            fprintf(f, "</bdi></td><td class=\"n\">%.0f</td><td class=\"n\">",
                    rget(json_array_get(slices[s], v), "visitors"));
            report_pct(f, observed[s][v], 0);
            fputs("</td><td class=\"n\">", f);
            report_pct(f, wshare[v], 0);
            fputs("</td></tr>\n", f);
        }
    fputs("</tbody>\n</table>\n</section>\n", f);
}

static void report_audit(FILE *f, const json_t *model)
{
    json_t *entries = json_object_get(model, "log");
    fputs("<section id=\"audit\">\n<h2>Audit trail</h2>\n<table>\n<caption>Every change to "
          "the experiment, oldest first (GET /v1/experiments/{key}/log)</caption>\n<thead><tr>"
          "<th scope=\"col\">when (UTC)</th><th scope=\"col\">who</th><th scope=\"col\">action"
          "</th><th scope=\"col\">details</th><th scope=\"col\">reason</th></tr></thead>\n"
          "<tbody>\n", f);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        fputs("<tr><td>", f);
        cli_report_escape(f, sget(e, "ts"));
        fputs("</td><td><bdi>", f);
        cli_report_escape(f, sget(e, "actor"));
        fputs("</bdi></td><td>", f);
        cli_report_escape(f, sget(e, "action"));
        fputs("</td><td>", f);
        json_t *det = json_object_get(e, "details");
        if (json_is_string(det)) {
            cli_report_escape(f, json_string_value(det));
        } else if (det && !json_is_null(det)) {
            char *t = json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
            cli_report_escape(f, t);
            free(t);
        }
        fputs("</td><td><bdi>", f);
        cli_report_escape(f, sget(e, "reason"));
        fputs("</bdi></td></tr>\n", f);
    }
    if (json_array_size(entries) == 0)
        fputs("<tr><td colspan=\"5\">the audit log is empty</td></tr>\n", f);
    fputs("</tbody>\n</table>\n</section>\n", f);
}

int cli_report_html(const json_t *model, FILE *f)
{
    const json_t *view = json_object_get(model, "view");
    report_head(f, view);
    fputs("<main>\n", f);
    report_title(f, view);
    report_decisions(f, view);
    report_lift_section(f, model);
    report_forest(f, model);
    report_exposure(f, model);
    report_audit(f, model);
    fputs("</main>\n</body>\n</html>\n", f);
    return ferror(f) ? -1 : 0;
}

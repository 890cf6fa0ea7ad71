/* cli_bandit.c: the bandit section of `upshot show` (see cli_bandit.h).
 *
 * Layout budget: the per-region table is variant, weight, p(best), the
 * weighted and naive estimates and the weighted difference from control
 * with its interval and p; about 90 columns with 12-character variant
 * names, the name column cut first (cli_table). The weight chart is the
 * lift chart of cli_view_render.c fed with weights by period, so the
 * dashboard has one way of drawing a series.
 */
#include "cli_bandit.h"

#include <math.h>
#include <string.h>

#include "cli_table.h"
#include "cli_term.h"
#include "cli_view.h"

json_t *cli_bandit_view(const json_t *results)
{
    json_t *b = json_object_get(results, "bandit");
    return json_is_object(b) ? json_deep_copy(b) : NULL;
}

static double num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The member of array `arr` whose "variant" is `variant`, or NULL. */
static json_t *by_variant(const json_t *arr, const char *variant)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
        if (strcmp(str(x, "variant"), variant) == 0) return x;
    return NULL;
}

/* A history entry's weight i: its "weights" are numbers in variant order,
 * or {"variant", "weight"} objects like the region's own. */
static double history_weight(const json_t *h, size_t i, const char *variant)
{
    json_t *w = json_object_get(h, "weights");
    json_t *x = json_array_get(w, i);
    if (json_is_number(x)) return json_number_value(x);
    x = by_variant(w, variant);
    return x ? num(x, "weight") : NAN;
}

static void pct(double v, char *out, size_t cap)
{
    if (isfinite(v)) snprintf(out, cap, "%.1f%%", v * 100);
    else snprintf(out, cap, "-");
}

/* An estimate: a conversion rate in %, or a mean in the shop's currency,
 * with its standard error when with_se (the naive one goes without, to
 * keep the table in 80 columns; --json has it). */
static void estimate(const json_t *e, int with_se, char *out, size_t cap)
{
    double rate = num(e, "rate"), mean = num(e, "mean"), se = with_se ? num(e, "se") : NAN;
    if (isfinite(rate) && isfinite(se)) snprintf(out, cap, "%.2f%% ±%.2f", rate * 100, se * 100);
    else if (isfinite(rate)) snprintf(out, cap, "%.2f%%", rate * 100);
    else if (isfinite(mean) && isfinite(se)) snprintf(out, cap, "%.2f ±%.2f", mean, se);
    else if (isfinite(mean)) snprintf(out, cap, "%.2f", mean);
    else snprintf(out, cap, "-");
}

/* The weighted difference from control: percentage points for a rate
 * (the column title says so), currency for a mean. */
static void difference(const json_t *d, int rate, char *out, size_t cap)
{
    double est = num(d, "estimate");
    json_t *ci = json_object_get(d, "ci");
    double lo = json_number_value(json_array_get(ci, 0)), hi = json_number_value(json_array_get(ci, 1));
    double k = rate ? 100 : 1;
    if (!isfinite(est)) snprintf(out, cap, "-");
    else if (json_array_size(ci) == 2)
        snprintf(out, cap, "%+.2f [%+.2f, %+.2f]", est * k, lo * k, hi * k);
    else snprintf(out, cap, "%+.2f", est * k);
}

static void render_region(const json_t *b, const json_t *g, FILE *f, int color, int width)
{
    char line[256], c1[32], c2[32];
    const json_t *weights = json_object_get(g, "weights");
    size_t k = json_array_size(weights);

    fputc('\n', f);
    snprintf(line, sizeof line, "%s", str(g, "region"));
    cli_term_paint(f, color, CLI_PAINT_BOLD, line);
    pct(num(g, "moved_share"), c1, sizeof c1);
    double period = num(g, "period");
    fprintf(f, "  period %.0f since %s  moved buckets %s\n", isfinite(period) ? period : 0,
            *str(g, "since") ? str(g, "since") : "the start", c1);
    int waiting = json_is_true(json_object_get(g, "waiting"));
    if (waiting) {
        double need = num(g, "min_visitors_per_arm");
        if (!isfinite(need)) need = num(b, "min_visitors_per_arm");
        double fewest = num(g, "fewest_visitors");
        if (isfinite(fewest))
            snprintf(line, sizeof line, "  waiting for %.0f visitors per arm (fewest: %.0f)",
                     need, fewest);
        else
            snprintf(line, sizeof line, "  waiting for %.0f visitors per arm", need);
        cli_term_paint(f, color, CLI_PAINT_WARN, line);
        fputc('\n', f);
    }

    const json_t *pbest = json_object_get(g, "p_best");
    const json_t *est = json_object_get(g, "estimates");
    int rate = strcmp(str(b, "metric"), "revenue") != 0;
    cli_table *t = cli_table_new(7);
    if (t == NULL) return;
    cli_table_column(t, 0, "variant", 0);
    cli_table_column(t, 1, "weight", 1);
    cli_table_column(t, 2, "p(best)", 1);
    cli_table_column(t, 3, "weighted", 1);
    cli_table_column(t, 4, "naive", 1);
    cli_table_column(t, 5, rate ? "diff, pp [95% CI]" : "diff [95% CI]", 1);
    cli_table_column(t, 6, "p", 1);
    double top = -1;
    for (size_t i = 0; i < k; i++) {
        double p = num(by_variant(pbest, str(json_array_get(weights, i), "variant")), "p");
        if (p > top) top = p;
    }
    for (size_t i = 0; i < k; i++) {
        const json_t *w = json_array_get(weights, i);
        const char *v = str(w, "variant");
        const json_t *e = by_variant(est, v);
        const json_t *d = json_object_get(e, "diff_weighted");
        int row = cli_table_row(t);
        cli_table_cell(t, row, 0, v, CLI_PAINT_NONE);
        pct(num(w, "weight"), c1, sizeof c1);
        cli_table_cell(t, row, 1, c1, CLI_PAINT_NONE);
        /* while waiting no posterior was drawn: p_best is 0 everywhere */
        double p = waiting ? NAN : num(by_variant(pbest, v), "p");
        if (isfinite(p)) snprintf(c1, sizeof c1, "%.3f", p);
        else snprintf(c1, sizeof c1, "-");
        cli_table_cell(t, row, 2, c1, isfinite(p) && p == top && p > 0 ? CLI_PAINT_GOOD
                                                                       : CLI_PAINT_NONE);
        estimate(json_object_get(e, "weighted"), 1, c1, sizeof c1);
        cli_table_cell(t, row, 3, c1, CLI_PAINT_NONE);
        estimate(json_object_get(e, "naive"), 0, c1, sizeof c1);
        cli_table_cell(t, row, 4, c1, CLI_PAINT_NONE);
        difference(d, rate, line, sizeof line);
        cli_table_cell(t, row, 5, line, CLI_PAINT_NONE);
        double pv = num(d, "p_value");
        if (!isfinite(pv)) snprintf(c2, sizeof c2, "-");
        else if (pv < 0.0001) snprintf(c2, sizeof c2, "<0.0001");
        else snprintf(c2, sizeof c2, "%.4f", pv);
        cli_table_cell(t, row, 6, c2, CLI_PAINT_NONE);
    }
    fprintf(f, "  weighted: the %s of each period, combined by the periods' traffic (± se)\n"
            "  naive: pooled over periods; diff: weighted, vs control\n", rate ? "rate" : "mean");
    cli_table_render(t, f, color, (size_t)width, 0, 2);
    cli_table_free(t);

    const json_t *srm = json_object_get(g, "srm");
    if (json_is_object(srm)) {
        double pav = num(srm, "p_always_valid");
        snprintf(line, sizeof line, "  SRM against the weights in force: chi2 %.2f, p %.4f, "
                 "always-valid p %.4f%s", num(srm, "chi2"), num(srm, "p_value"), pav,
                 pav < 0.001 ? "  !! the split does not match the weights" : "");
        cli_term_paint(f, color, pav < 0.001 ? CLI_PAINT_BAD : CLI_PAINT_NONE, line);
        fputc('\n', f);
    }

    /* The weights by period, as the lift chart draws series: x the
     * periods (labelled by the day they began), y the weight. */
    const json_t *hist = json_object_get(g, "history");
    size_t nh = json_array_size(hist);
    fprintf(f, "  weights by period (%zu period%s; the y axis is the share of traffic)\n", nh,
            nh == 1 ? "" : "s");
    if (nh < 2) {
        fputs("  (the weights have not moved yet)\n", f);
        return;
    }
    json_t *chart = json_object(), *days = json_array(), *series = json_array();
    json_object_set_new(chart, "days", days);
    json_object_set_new(chart, "series", series);
    size_t j;
    json_t *h;
    json_array_foreach(hist, j, h) {
        char day[11];
        snprintf(day, sizeof day, "%.10s", str(h, "since"));
        json_array_append_new(days, json_string(day));
    }
    for (size_t i = 0; i < k; i++) {
        const char *v = str(json_array_get(weights, i), "variant");
        json_t *s = json_object(), *pts = json_array();
        json_object_set_new(s, "variant", json_string(v));
        json_array_foreach(hist, j, h) {
            double w = history_weight(h, i, v);
            json_array_append_new(pts, isfinite(w) ? json_real(w) : json_null());
        }
        json_object_set_new(s, "lift", pts);
        json_array_append_new(series, s);
    }
    cli_view_render_chart(chart, f, color, width);
    json_decref(chart);
}

void cli_bandit_render(const json_t *b, const char *region, FILE *f, int color, int width)
{
    if (width > 100) width = 100;
    char line[256], c1[32], c2[32];
    fputc('\n', f);
    /* "every" is the definition's text ("1d"), or seconds */
    char every[32];
    if (*str(b, "every")) snprintf(every, sizeof every, "%s", str(b, "every"));
    else if (isfinite(num(b, "every"))) snprintf(every, sizeof every, "%.0f s", num(b, "every"));
    else snprintf(every, sizeof every, "-");
    snprintf(line, sizeof line, "Bandit: top-two Thompson sampling on %s, updated every %s",
             *str(b, "metric") ? str(b, "metric") : "the goal", every);
    cli_term_paint(f, color, CLI_PAINT_BOLD, line);
    fputc('\n', f);
    pct(num(b, "control_share"), c1, sizeof c1);
    pct(num(b, "floor"), c2, sizeof c2);
    fprintf(f, "control share %s  floor %s per treatment  min %.0f visitors/arm\n", c1, c2,
            num(b, "min_visitors_per_arm"));
    fprintf(f, "beta %.2g  seed %.0f\n", num(b, "beta"), num(b, "seed"));
    fprintf(f, "next update %s\n", *str(b, "next_update") ? str(b, "next_update") : "-");
    fputs("p(best): the posterior probability of being the best arm if rates stay\n"
          "constant; not a p-value, not a promotion criterion (docs/stats.md)\n", f);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(b, "regions"), i, g) {
        if (region && strcmp(region, str(g, "region")) != 0) continue;
        render_region(b, g, f, color, width);
    }
}

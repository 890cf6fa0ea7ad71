/* test_cli_view_factorial.c: the interaction chart of `upshot show` for a
 * factorial experiment, read back from its characters. A 2x2 design with
 * crossing lines (the effect of A turns around with B) must draw the two
 * lines swapping their order; the same design with parallel lines must
 * keep their order, the same distance apart, and never meet ('X'). The whole
 * view on the realistic fixture is tested in test_cli_commands.c. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_view_factorial.h"

/* A view with a 2x2 factorial whose overall conversion model predicts the
 * log-odds eta[b][a] for A at level a and B at level b. */
static json_t *view_2x2(const double eta[2][2], double p_interaction)
{
    json_t *pred = json_array(), *cells = json_array();
    const char *la[] = {"a0", "a1"}, *lb[] = {"b0", "b1"};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            char key[16];
            snprintf(key, sizeof key, "%s-%s", la[a], lb[b]);
            json_array_append_new(cells, json_pack("{s:s, s:{s:s, s:s}}", "variant", key,
                                                   "levels", "A", la[a], "B", lb[b]));
            json_array_append_new(pred, json_pack("{s:s, s:f, s:f, s:f}", "variant", key,
                                                  "estimate", eta[b][a], "se", 0.05, "rate",
                                                  1 / (1 + exp(-eta[b][a]))));
        }
    json_t *model = json_pack(
        "{s:s, s:s, s:n, s:i, s:[], s:[{s:[s,s], s:f, s:i, s:f}], s:o}", "model", "logit",
        "status", "ok", "why", "n", 40000, "terms", "interaction_tests", "factors", "A", "B",
        "chi2", 10.0, "df", 1, "p_value", p_interaction, "predicted", pred);
    json_t *fact = json_pack(
        "{s:[{s:s, s:[s,s]}, {s:s, s:[s,s]}], s:b, s:o, s:[{s:s, s:o}], s:[]}", "factors",
        "key", "A", "levels", "a0", "a1", "key", "B", "levels", "b0", "b1", "interactions", 1,
        "cells", cells, "models", "scope", "overall", "conversion", model, "marginals");
    return json_pack("{s:s, s:s, s:f, s:n, s:[], s:o}", "metric", "conversion", "goal",
                     "conversion", "alpha", 0.05, "region_filter", "regions", "factorial", fact);
}

static char *render(const json_t *view, int width)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_view_render_factorial(view, f, 0, width);
    fclose(f);
    return text;
}

/* The chart's grid: the lines after "A x B (p" up to the axis rule, each
 * without its 12-column y axis. Fills rows (at most 16) and returns how
 * many. */
static size_t chart_rows(const char *text, char rows[16][64])
{
    const char *p = strstr(text, "A x B (p");
    cr_assert_not_null(p, "no chart in:\n%s", text);
    p = strchr(p, '\n') + 1;
    size_t n = 0;
    while (*p && n < 16) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 11 && p[11] == '+') break; /* the axis rule */
        cr_assert(len >= 12 && p[11] == '|', "a grid line: %.*s", (int)len, p);
        snprintf(rows[n++], 64, "%.*s", (int)(len - 12), p + 12);
        p = nl ? nl + 1 : p + len;
    }
    return n;
}

/* Row of glyph g in grid column col, or -1. */
static int row_of(char rows[16][64], size_t n, size_t col, char g)
{
    for (size_t r = 0; r < n; r++)
        if (strlen(rows[r]) > col && rows[r][col] == g) return (int)r;
    return -1;
}

/* Where the lines stand at both ends of the grid: the rows of '*' (B=b0)
 * and '+' (B=b1) in the first and the last of its 28 columns, and whether
 * the two lines meet anywhere ('X'). */
typedef struct chart_ends {
    int star_left, plus_left, star_right, plus_right;
    int meet;
} chart_ends;

static chart_ends chart_read(const char *text)
{
    char rows[16][64];
    size_t n = chart_rows(text, rows);
    cr_assert_eq(n, 8, "%s", text);
    cr_assert_not_null(strstr(text, "B: * b0 + b1"), "the legend:\n%s", text);
    chart_ends e = {row_of(rows, n, 0, '*'), row_of(rows, n, 0, '+'), row_of(rows, n, 27, '*'),
                    row_of(rows, n, 27, '+'), 0};
    cr_assert(e.star_left >= 0 && e.plus_left >= 0 && e.star_right >= 0 && e.plus_right >= 0,
              "both lines at both ends:\n%s", text);
    for (size_t r = 0; r < n; r++)
        if (strchr(rows[r], 'X')) e.meet = 1;
    return e;
}

Test(cli_view_factorial, crossing_lines_swap_order)
{
    /* B=b0 rises with A, B=b1 falls: a crossing interaction */
    const double eta[2][2] = {{-3.2, -2.6}, {-2.6, -3.2}};
    json_t *v = view_2x2(eta, 0.001);
    char *text = render(v, 100);
    chart_ends e = chart_read(text);
    cr_assert_gt(e.star_left, e.plus_left, "at a0, b1 is above b0:\n%s", text);
    cr_assert_lt(e.star_right, e.plus_right, "at a1, b0 is above b1:\n%s", text);
    cr_assert_not_null(strstr(text, "interaction"), "%s", text);
    free(text);
    json_decref(v);
}

Test(cli_view_factorial, parallel_lines_keep_order_and_never_meet)
{
    /* both rise by the same log-odds: no interaction */
    const double eta[2][2] = {{-3.2, -2.6}, {-2.9, -2.3}};
    json_t *v = view_2x2(eta, 0.9);
    char *text = render(v, 100);
    chart_ends e = chart_read(text);
    cr_assert_gt(e.star_left, e.plus_left, "%s", text);
    cr_assert_gt(e.star_right, e.plus_right, "b1 stays above b0:\n%s", text);
    /* and by the same number of rows: parallel on the log-odds scale */
    cr_assert_eq(e.star_left - e.plus_left, e.star_right - e.plus_right, "%s", text);
    cr_assert_not(e.meet, "the lines never meet:\n%s", text);
    free(text);
    json_decref(v);
}

Test(cli_view_factorial, the_axis_is_labelled_in_rates)
{
    const double eta[2][2] = {{-3.2, -2.6}, {-2.9, -2.3}};
    json_t *v = view_2x2(eta, 0.9);
    char *text = render(v, 100);
    /* the log-odds range [-3.2, -2.3] padded by 5% each side, as rates */
    cr_assert_not_null(strstr(text, "   9.49% |"), "%s", text);
    cr_assert_not_null(strstr(text, "   3.75% |"), "%s", text);
    free(text);
    json_decref(v);
}

Test(cli_view_factorial, nothing_for_a_plain_experiment)
{
    json_t *v = json_pack("{s:s, s:f}", "metric", "conversion", "alpha", 0.05);
    char *text = render(v, 100);
    cr_assert_str_eq(text, "");
    free(text);
    json_decref(v);
}

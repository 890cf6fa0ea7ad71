/* cli_plot.h: small character plots for the terminal dashboard.
 *
 * A plot is a grid of rows x cols characters over a value range [lo, hi]
 * (row 0 holds hi, the last row lo). Series are drawn one glyph a point;
 * a reference line (the 0 of a lift chart) is drawn with '-' and dimmed.
 * It renders as a y axis of labels 8 columns wide, a '|' and the grid,
 * then a '+' and a rule under it: 12 columns plus the grid's width. The
 * caller writes what goes under the axis (days, levels) and the legend.
 *
 * Deliberately plain ASCII: the glyphs survive any terminal, font, pipe
 * and `upshot watch`'s frame cutting, and a test can read them back.
 */
#ifndef UPSHOT_CLI_PLOT_H
#define UPSHOT_CLI_PLOT_H

#include <stddef.h>
#include <stdio.h>

/* Glyphs of series 0, 1, ... (cycled). */
#define CLI_PLOT_GLYPHS "*+ox#@%&=~"
#define CLI_PLOT_NGLYPHS (sizeof CLI_PLOT_GLYPHS - 1)

/* Widest grid a plot takes. */
#define CLI_PLOT_MAX_COLS 120
#define CLI_PLOT_MAX_ROWS 24

typedef struct cli_plot cli_plot;

/* A blank plot of rows x cols (clamped to the maxima, at least 2 x 1)
 * over [lo, hi] (hi > lo), or NULL when out of memory. */
cli_plot *cli_plot_new(size_t rows, size_t cols, double lo, double hi);
void cli_plot_free(cli_plot *p); /* NULL is ignored */

size_t cli_plot_rows(const cli_plot *p);
size_t cli_plot_cols(const cli_plot *p);

/* Row of value y, clamped to the grid. */
size_t cli_plot_row(const cli_plot *p, double y);

/* A reference line at y across the whole grid, drawn with '-'. Returns
 * its row, or -1 when y is outside [lo, hi] (nothing drawn). */
int cli_plot_hline(cli_plot *p, double y);

/* glyph at (col, row of y); a non-finite y draws nothing. When clash is
 * not 0 and the place already holds another series' glyph, clash is
 * written instead (where two lines meet); when clash is 0 the later
 * glyph wins. */
void cli_plot_put(cli_plot *p, size_t col, double y, char glyph, char clash);

/* The label of a row on the y axis (at most 8 columns are shown). */
void cli_plot_label(cli_plot *p, size_t row, const char *label);

/* Writes the axis, the grid (no trailing blanks) and the rule under it,
 * each line indented by two spaces. */
void cli_plot_render(const cli_plot *p, FILE *f, int color);

#endif

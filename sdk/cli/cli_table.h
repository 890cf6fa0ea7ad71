/* cli_table.h: plain text tables that fit a given width.
 *
 * Columns are separated by two spaces and sized to their widest cell.
 * When the table is wider than the limit, one designated column (the name
 * column) is cut first, down to 6 columns, with a "~" marking the cut; the
 * numeric columns are never cut, because a cut number lies. Colour is per
 * cell and does not count toward widths.
 */
#ifndef UPSHOT_CLI_TABLE_H
#define UPSHOT_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "cli_term.h"

#define CLI_TABLE_MAX_COLS 16

typedef struct cli_table cli_table;

/* A table with ncols columns (<= CLI_TABLE_MAX_COLS), or NULL. */
cli_table *cli_table_new(size_t ncols);
void cli_table_free(cli_table *t); /* NULL is ignored */

/* Column title and alignment (right = 1 for numbers). */
void cli_table_column(cli_table *t, size_t col, const char *title, int right);

/* Appends an empty row; returns its index, or -1 when out of memory. */
int cli_table_row(cli_table *t);

/* Sets a cell (text copied). Out-of-range cells are ignored. */
void cli_table_cell(cli_table *t, int row, size_t col, const char *text, cli_paint paint);

/* Writes the table with a header line and a rule below it, every line
 * at most max_width columns wide (see above for how), indented by indent
 * spaces. shrink_col is the column that may be cut. */
void cli_table_render(const cli_table *t, FILE *f, int color, size_t max_width,
                      size_t shrink_col, size_t indent);

#endif

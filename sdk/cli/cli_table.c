/* cli_table.c: see cli_table.h. */
#include "cli_table.h"

#include <stdlib.h>
#include <string.h>

typedef struct table_cell {
    char *text;
    cli_paint paint;
} table_cell;

struct cli_table {
    size_t ncols;
    char *titles[CLI_TABLE_MAX_COLS];
    int right[CLI_TABLE_MAX_COLS];
    table_cell *cells;   /* nrows * ncols */
    size_t nrows, cap;
};

cli_table *cli_table_new(size_t ncols)
{
    if (ncols == 0 || ncols > CLI_TABLE_MAX_COLS) return NULL;
    cli_table *t = calloc(1, sizeof *t);
    if (t) t->ncols = ncols;
    return t;
}

void cli_table_free(cli_table *t)
{
    if (t == NULL) return;
    for (size_t i = 0; i < t->ncols; i++) free(t->titles[i]);
    for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i].text);
    free(t->cells);
    free(t);
}

void cli_table_column(cli_table *t, size_t col, const char *title, int right)
{
    if (t == NULL || col >= t->ncols) return;
    free(t->titles[col]);
    t->titles[col] = strdup(title);
    t->right[col] = right;
}

int cli_table_row(cli_table *t)
{
    if (t == NULL) return -1;
    if (t->nrows == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 8;
        table_cell *n = realloc(t->cells, nc * t->ncols * sizeof *n);
        if (n == NULL) return -1;
        t->cells = n;
        t->cap = nc;
    }
    memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof *t->cells);
    return (int)t->nrows++;
}

void cli_table_cell(cli_table *t, int row, size_t col, const char *text, cli_paint paint)
{
    if (t == NULL || row < 0 || (size_t)row >= t->nrows || col >= t->ncols) return;
    table_cell *c = &t->cells[(size_t)row * t->ncols + col];
    free(c->text);
    c->text = strdup(text ? text : "");
    c->paint = paint;
}

static void table_put(FILE *f, int color, const char *text, cli_paint paint,
                      size_t width, int right, int last)
{
    char buf[512];
    cli_term_fit(text ? text : "", width, buf, sizeof buf);
    size_t w = cli_term_display_width(buf);
    size_t pad = w < width ? width - w : 0;
    if (right)
        for (size_t i = 0; i < pad; i++) fputc(' ', f);
    cli_term_paint(f, color, paint, buf);
    if (!right && !last)
        for (size_t i = 0; i < pad; i++) fputc(' ', f);
}

void cli_table_render(const cli_table *t, FILE *f, int color, size_t max_width,
                      size_t shrink_col, size_t indent)
{
    if (t == NULL) return;
    size_t w[CLI_TABLE_MAX_COLS] = {0};
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = t->titles[c] ? cli_term_display_width(t->titles[c]) : 0;
        for (size_t r = 0; r < t->nrows; r++) {
            const char *s = t->cells[r * t->ncols + c].text;
            size_t dw = s ? cli_term_display_width(s) : 0;
            if (dw > w[c]) w[c] = dw;
        }
    }
    size_t total = indent;
    for (size_t c = 0; c < t->ncols; c++) total += w[c] + (c ? 2 : 0);
    if (total > max_width && shrink_col < t->ncols) {
        size_t over = total - max_width;
        size_t floor_w = 6;
        w[shrink_col] = w[shrink_col] > floor_w + over ? w[shrink_col] - over
                        : (w[shrink_col] > floor_w ? floor_w : w[shrink_col]);
    }
    size_t line = 0, last_title = 0;
    for (size_t c = 0; c < t->ncols; c++)
        if (t->titles[c] && *t->titles[c]) last_title = c;
    for (size_t i = 0; i < indent; i++) fputc(' ', f);
    for (size_t c = 0; c < t->ncols; c++) {
        /* untitled columns at the end (marks) leave no trailing blanks */
        if (c <= last_title) {
            if (c) fputs("  ", f);
            table_put(f, color, t->titles[c], CLI_PAINT_BOLD, w[c], t->right[c],
                      c == last_title);
        }
        line += w[c] + (c ? 2 : 0);
    }
    fputc('\n', f);
    for (size_t i = 0; i < indent; i++) fputc(' ', f);
    for (size_t i = 0; i < line; i++) fputc('-', f);
    fputc('\n', f);
    for (size_t r = 0; r < t->nrows; r++) {
        /* stop after the last non-empty cell: no trailing blanks */
        size_t last = 0;
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c].text;
            if (s && *s) last = c;
        }
        for (size_t i = 0; i < indent; i++) fputc(' ', f);
        for (size_t c = 0; c <= last; c++) {
            const table_cell *cell = &t->cells[r * t->ncols + c];
            if (c) fputs("  ", f);
            table_put(f, color, cell->text, cell->paint, w[c], t->right[c], c == last);
        }
        fputc('\n', f);
    }
}

/* cli_plot.c: see cli_plot.h. */
#include "cli_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_term.h"

struct cli_plot {
    size_t rows, cols;
    double lo, hi;
    char grid[CLI_PLOT_MAX_ROWS][CLI_PLOT_MAX_COLS + 1];
    char labels[CLI_PLOT_MAX_ROWS][16];
};

cli_plot *cli_plot_new(size_t rows, size_t cols, double lo, double hi)
{
    if (!(hi > lo)) return NULL;
    cli_plot *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->rows = rows < 2 ? 2 : rows > CLI_PLOT_MAX_ROWS ? CLI_PLOT_MAX_ROWS : rows;
    p->cols = cols < 1 ? 1 : cols > CLI_PLOT_MAX_COLS ? CLI_PLOT_MAX_COLS : cols;
    p->lo = lo;
    p->hi = hi;
    for (size_t r = 0; r < p->rows; r++) memset(p->grid[r], ' ', p->cols);
    return p;
}

void cli_plot_free(cli_plot *p) { free(p); }

size_t cli_plot_rows(const cli_plot *p) { return p->rows; }

size_t cli_plot_cols(const cli_plot *p) { return p->cols; }

size_t cli_plot_row(const cli_plot *p, double y)
{
    long row = lround((p->hi - y) / (p->hi - p->lo) * (double)(p->rows - 1));
    if (row < 0) row = 0;
    if (row >= (long)p->rows) row = (long)p->rows - 1;
    return (size_t)row;
}

int cli_plot_hline(cli_plot *p, double y)
{
    long row = lround((p->hi - y) / (p->hi - p->lo) * (double)(p->rows - 1));
    if (row < 0 || row >= (long)p->rows) return -1;
    memset(p->grid[row], '-', p->cols);
    return (int)row;
}

void cli_plot_put(cli_plot *p, size_t col, double y, char glyph, char clash)
{
    if (!isfinite(y) || col >= p->cols) return;
    char *c = &p->grid[cli_plot_row(p, y)][col];
    if (clash && *c != ' ' && *c != '-' && *c != glyph) *c = clash;
    else *c = glyph;
}

void cli_plot_label(cli_plot *p, size_t row, const char *label)
{
    if (row < p->rows) snprintf(p->labels[row], sizeof p->labels[row], "%.8s", label);
}

void cli_plot_render(const cli_plot *p, FILE *f, int color)
{
    for (size_t r = 0; r < p->rows; r++) {
        fprintf(f, "  %8s |", p->labels[r]);
        size_t end = p->cols;
        while (end > 0 && p->grid[r][end - 1] == ' ') end--;
        for (size_t c = 0; c < end; c++) {
            char ch[2] = {p->grid[r][c], '\0'};
            cli_term_paint(f, color, ch[0] == '-' ? CLI_PAINT_DIM : CLI_PAINT_NONE, ch);
        }
        fputc('\n', f);
    }
    fprintf(f, "  %8s +", "");
    for (size_t c = 0; c < p->cols; c++) fputc('-', f);
    fputc('\n', f);
}

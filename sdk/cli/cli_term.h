/* cli_term.h: terminal facts and colour for the dashboard.
 *
 * Colour is written only when the mode says ALWAYS, or when it says AUTO,
 * the stream is a terminal and NO_COLOR is unset or empty
 * (https://no-color.org). With colour off, every cli_term_paint call
 * returns the plain text, so output piped to a file or a test is
 * byte-for-byte free of escape sequences.
 */
#ifndef UPSHOT_CLI_TERM_H
#define UPSHOT_CLI_TERM_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"

/* Colours the dashboard uses, by meaning rather than by hue. */
typedef enum {
    CLI_PAINT_NONE = 0,
    CLI_PAINT_GOOD,    /* winner, promote: green */
    CLI_PAINT_BAD,     /* loser, SRM, guardrail: red */
    CLI_PAINT_WARN,    /* keep running, caution: yellow */
    CLI_PAINT_DIM,     /* secondary text: dim */
    CLI_PAINT_BOLD     /* headings */
} cli_paint;

/* Whether to colour stream f under mode. */
int cli_term_use_color(FILE *f, enum cli_color_mode mode);

/* Columns of the terminal behind f: $COLUMNS, else the tty's width, else
 * 100. Clamped to [60, 200]. */
int cli_term_width(FILE *f);

/* Writes s to f wrapped in the colour of p when color is set. */
void cli_term_paint(FILE *f, int color, cli_paint p, const char *s);

/* Width of s on screen: UTF-8 code points, ANSI escape sequences excluded. */
size_t cli_term_display_width(const char *s);

/* Copies s into out (capacity cap), cut to at most width columns. A cut
 * keeps the head and the tail with "~" between them (the tail often tells
 * similar names apart); below 8 columns the head only, ending in "~". */
void cli_term_fit(const char *s, size_t width, char *out, size_t cap);

/* Size of the terminal behind fd from TIOCGWINSZ (never $COLUMNS, which
 * a resize does not update). Returns 0, or -1 when fd is not a terminal
 * or reports 0 x 0. */
int cli_term_size(int fd, int *cols, int *rows);

/* Writes the len bytes of line (no newline in it) to f, cut after width
 * display columns. Escape sequences are copied whole and cost no column;
 * when colour was open at the cut a reset (ESC [0m) is written. */
void cli_term_put_cut(FILE *f, const char *line, size_t len, size_t width);

/* One full-screen frame for `upshot watch`, redrawn in place: cursor home,
 * then at most rows - 1 lines of text, each cut to cols and followed by
 * erase-to-end-of-line, then footer on the last row (cut too), then
 * erase-below. Nothing is ever written past column cols or row rows, so
 * the terminal never wraps or scrolls and no old frame is pushed into the
 * scrollback. When text has more lines than fit, the footer is preceded
 * by the count left out ("+12 lines below; try --region or a taller
 * terminal"). Returns the number of text lines left out. */
size_t cli_term_frame(FILE *f, const char *text, int cols, int rows, const char *footer);

/* The alternate screen (xterm's smcup/rmcup, kept by every terminal
 * emulator and tmux): entered with the cursor hidden, left with it shown;
 * the user's shell screen comes back as it was. */
#define CLI_TERM_ALT_ENTER "\033[?1049h\033[?25l"
#define CLI_TERM_ALT_LEAVE "\033[?25h\033[?1049l"

#endif

/* cli_term.c: TTY detection, NO_COLOR, widths of UTF-8 text. */
#include "cli_term.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int cli_term_use_color(FILE *f, enum cli_color_mode mode)
{
    if (mode == CLI_COLOR_NEVER) return 0;
    if (mode == CLI_COLOR_ALWAYS) return 1;
    const char *nc = getenv("NO_COLOR");
    if (nc != NULL && nc[0] != '\0') return 0;
    const char *term = getenv("TERM");
    if (term != NULL && strcmp(term, "dumb") == 0) return 0;
    return isatty(fileno(f));
}

int cli_term_width(FILE *f)
{
    int w = 0;
    const char *c = getenv("COLUMNS");
    if (c != NULL && *c) w = atoi(c);
    if (w <= 0) {
        struct winsize ws;
        if (isatty(fileno(f)) && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0) w = ws.ws_col;
    }
    if (w <= 0) w = 100;
    if (w < 60) w = 60;
    if (w > 200) w = 200;
    return w;
}

void cli_term_paint(FILE *f, int color, cli_paint p, const char *s)
{
    static const char *const codes[] = {"", "\033[32m", "\033[31m", "\033[33m",
                                        "\033[2m", "\033[1m"};
    if (!color || p == CLI_PAINT_NONE) {
        fputs(s, f);
        return;
    }
    fprintf(f, "%s%s\033[0m", codes[p], s);
}

size_t cli_term_display_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p == 0x1b && p[1] == '[') {     /* skip CSI ... final byte */
            p += 2;
            while (*p && !(*p >= 0x40 && *p <= 0x7e)) p++;
            if (*p) p++;
            continue;
        }
        if ((*p & 0xc0) != 0x80) w++;        /* count lead bytes only */
        p++;
    }
    return w;
}

/* Copies code points [from, to) of s into out at *o (bounded by cap). */
static void term_copy_cols(const char *s, size_t from, size_t to, char *out, size_t cap,
                           size_t *o)
{
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t len = 1;
        while ((p[len] & 0xc0) == 0x80) len++;
        if (col >= from && col < to && *o + len + 1 < cap) {
            memcpy(out + *o, p, len);
            *o += len;
        }
        col++;
        p += len;
    }
}

void cli_term_fit(const char *s, size_t width, char *out, size_t cap)
{
    if (cap == 0) return;
    size_t w = cli_term_display_width(s);
    if (w <= width) {
        snprintf(out, cap, "%s", s);
        return;
    }
    if (width == 0) {
        out[0] = '\0';
        return;
    }
    /* Keep the head and the tail, "~" in the middle: names of variants
     * often differ only at the end ("...-tiers-3"), so the tail is what
     * tells them apart. Very narrow fields keep the head only. */
    size_t o = 0;
    if (width < 8) {
        term_copy_cols(s, 0, width - 1, out, cap, &o);
    } else {
        size_t tail = (width - 1) / 2;
        size_t head = width - 1 - tail;
        term_copy_cols(s, 0, head, out, cap, &o);
        if (o + 2 < cap) out[o++] = '~';
        term_copy_cols(s, w - tail, w, out, cap, &o);
        out[o] = '\0';
        return;
    }
    if (o + 2 < cap) out[o++] = '~';
    out[o] = '\0';
}

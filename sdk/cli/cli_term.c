/* cli_term.c: TTY detection, NO_COLOR, widths of UTF-8 text, and the
 * full-screen frame of `upshot watch`. */
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

int cli_term_size(int fd, int *cols, int *rows)
{
    struct winsize ws;
    if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0)
        return -1;
    *cols = ws.ws_col;
    *rows = ws.ws_row;
    return 0;
}

void cli_term_put_cut(FILE *f, const char *line, size_t len, size_t width)
{
    const unsigned char *p = (const unsigned char *)line, *end = p + len;
    size_t col = 0;
    int painted = 0;
    while (p < end) {
        if (*p == 0x1b && p + 1 < end && p[1] == '[') { /* CSI ... final byte, whole */
            const unsigned char *q = p + 2;
            while (q < end && !(*q >= 0x40 && *q <= 0x7e)) q++;
            if (q < end) q++;
            fwrite(p, 1, (size_t)(q - p), f);
            painted = !(q - p == 4 && p[2] == '0' && p[3] == 'm');
            p = q;
            continue;
        }
        size_t n = 1;
        while (p + n < end && (p[n] & 0xc0) == 0x80) n++;
        if (col >= width) break;
        if (*p >= 0x20 || *p == 0x1b) fwrite(p, 1, n, f); /* no tab or CR moves the cursor */
        else fputc(' ', f);
        col++;
        p += n;
    }
    if (painted && p < end) fputs("\033[0m", f);
}

size_t cli_term_frame(FILE *f, const char *text, int cols, int rows, const char *footer)
{
    if (cols < 1) cols = 1;
    if (rows < 2) rows = 2;
    size_t room = (size_t)rows - 1, total = 0;
    for (const char *p = text; *p; p++) total += *p == '\n';
    if (*text && text[strlen(text) - 1] != '\n') total++;
    /* when cut, the last text row says how much is below */
    size_t shown = total <= room ? total : room - 1;
    fputs("\033[H", f);
    const char *p = text;
    for (size_t i = 0; i < shown; i++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        cli_term_put_cut(f, p, len, (size_t)cols);
        fputs("\033[K\r\n", f);
        p = nl ? nl + 1 : p + len;
    }
    if (shown < total) {
        char more[96];
        snprintf(more, sizeof more, "+%zu lines below; try --region or a taller terminal",
                 total - shown);
        cli_term_put_cut(f, more, strlen(more), (size_t)cols);
        fputs("\033[K\r\n", f);
        shown++;
    }
    for (size_t i = shown; i < room; i++) fputs("\033[K\r\n", f);
    cli_term_put_cut(f, footer, strlen(footer), (size_t)cols);
    fputs("\033[K\033[J", f);
    return total > room ? total - (room - 1) : 0;
}

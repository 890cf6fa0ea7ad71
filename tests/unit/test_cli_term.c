/* test_cli_term.c: cutting text to a width, and the full-screen frame of
 * `upshot watch`: nothing past the last column or row, escapes kept
 * whole, the footer on the last row, the count of lines left out. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cli_term.h"

static char *capture_cut(const char *line, size_t width)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_term_put_cut(f, line, strlen(line), width);
    fclose(f);
    return buf;
}

Test(cli_term, put_cut_counts_columns_not_bytes_or_escapes)
{
    char *s = capture_cut("abcdef", 4);
    cr_assert_str_eq(s, "abcd");
    free(s);
    s = capture_cut("\xce\xb1\xce\xb2\xce\xb3\xce\xb4", 2); /* four Greek letters */
    cr_assert_str_eq(s, "\xce\xb1\xce\xb2");
    free(s);
    s = capture_cut("\033[32mgreen\033[0m tail", 5);
    cr_assert_str_eq(s, "\033[32mgreen\033[0m", "the reset is kept, the rest cut");
    free(s);
    s = capture_cut("\033[31mredder", 3);
    cr_assert_str_eq(s, "\033[31mred\033[0m", "colour open at the cut is reset");
    free(s);
    s = capture_cut("a\tb", 10);
    cr_assert_str_eq(s, "a b", "a tab would move the cursor: a space");
    free(s);
}

/* The visible rows of a frame: the text between the cursor-home and the
 * final erase, split at CR LF, escapes removed. */
static int frame_rows(const char *frame, char rows[][128], int max)
{
    cr_assert(strncmp(frame, "\033[H", 3) == 0, "starts at home");
    int n = 0;
    size_t o = 0;
    for (const char *p = frame + 3; *p && n < max; p++) {
        if (*p == '\033') {
            p++;
            while (*p && !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) p++;
            continue;
        }
        if (*p == '\r' && p[1] == '\n') {
            rows[n][o] = '\0';
            n++;
            o = 0;
            p++;
            continue;
        }
        cr_assert_neq(*p, '\n', "a bare newline would not return to column 0");
        if (o < 127) rows[n][o++] = *p;
    }
    rows[n][o] = '\0';
    return n + 1;
}

static char *frame(const char *text, int cols, int rows, const char *footer, size_t *left)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *left = cli_term_frame(f, text, cols, rows, footer);
    fclose(f);
    return buf;
}

Test(cli_term, a_frame_that_fits_pads_to_the_last_row)
{
    size_t left;
    char *s = frame("title\nline two that is long\n", 10, 5, "status", &left);
    cr_assert_eq(left, 0);
    char rows[16][128];
    int n = frame_rows(s, rows, 16);
    cr_assert_eq(n, 5, "exactly the terminal's rows");
    cr_assert_str_eq(rows[0], "title");
    cr_assert_str_eq(rows[1], "line two t");
    cr_assert_str_eq(rows[2], "");
    cr_assert_str_eq(rows[4], "status", "footer on the last row");
    cr_assert(strstr(s, "\033[J") != NULL, "erases below");
    size_t len = strlen(s);
    cr_assert(len < 2 || !(s[len - 2] == '\r' || s[len - 1] == '\n'), "no newline after the "
              "last row, so the screen never scrolls");
    free(s);
}

Test(cli_term, a_frame_too_tall_says_how_much_is_left_out)
{
    char text[4096] = "";
    for (int i = 0; i < 30; i++) snprintf(text + strlen(text), sizeof text - strlen(text),
                                          "row %d\n", i);
    size_t left;
    char *s = frame(text, 80, 10, "refreshed", &left);
    char rows[16][128];
    int n = frame_rows(s, rows, 16);
    cr_assert_eq(n, 10);
    cr_assert_str_eq(rows[0], "row 0");
    cr_assert_str_eq(rows[7], "row 7");
    cr_assert_eq(left, 22);
    cr_assert(strncmp(rows[8], "+22 lines below", 15) == 0, "%s", rows[8]);
    cr_assert_str_eq(rows[9], "refreshed");
    free(s);
}

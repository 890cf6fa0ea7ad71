/* test_cli_table.c: widths, cutting, colour switches. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_table.h"
#include "cli_term.h"

static size_t widest_line(const char *s)
{
    size_t best = 0;
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)n, s);
        size_t w = cli_term_display_width(line);
        if (w > best) best = w;
        s += n + (e ? 1 : 0);
    }
    return best;
}

Test(cli_term, display_width_counts_code_points_not_escapes)
{
    cr_assert_eq(cli_term_display_width("abc"), 3);
    cr_assert_eq(cli_term_display_width("\033[32mok\033[0m"), 2);
    cr_assert_eq(cli_term_display_width("\xce\xb1\xce\xb2"), 2); /* Greek alpha beta */
}

Test(cli_term, fit_marks_a_cut)
{
    char out[32];
    cli_term_fit("three-tiers-premium", 8, out, sizeof out);
    cr_assert_str_eq(out, "thre~ium");
    cli_term_fit("short", 8, out, sizeof out);
    cr_assert_str_eq(out, "short");
}

Test(cli_term, no_color_env_and_pipes_turn_colour_off)
{
    FILE *f = tmpfile();
    cr_assert_eq(cli_term_use_color(f, CLI_COLOR_AUTO), 0, "a file is not a terminal");
    cr_assert_eq(cli_term_use_color(f, CLI_COLOR_ALWAYS), 1);
    cr_assert_eq(cli_term_use_color(f, CLI_COLOR_NEVER), 0);
    fclose(f);
}

Test(cli_term, a_terminal_gets_colour_unless_no_color)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    cr_assert_geq(m, 0);
    cr_assert_eq(grantpt(m), 0);
    cr_assert_eq(unlockpt(m), 0);
    int sfd = open(ptsname(m), O_RDWR | O_NOCTTY);
    cr_assert_geq(sfd, 0);
    FILE *tty = fdopen(sfd, "w");
    unsetenv("NO_COLOR");
    setenv("TERM", "xterm", 1);
    cr_assert_eq(cli_term_use_color(tty, CLI_COLOR_AUTO), 1, "a terminal: colour");
    setenv("NO_COLOR", "1", 1);
    cr_assert_eq(cli_term_use_color(tty, CLI_COLOR_AUTO), 0, "NO_COLOR wins");
    setenv("NO_COLOR", "", 1);
    cr_assert_eq(cli_term_use_color(tty, CLI_COLOR_AUTO), 1, "an empty NO_COLOR is unset");
    setenv("TERM", "dumb", 1);
    cr_assert_eq(cli_term_use_color(tty, CLI_COLOR_AUTO), 0, "TERM=dumb: none");
    fclose(tty);
    close(m);
}

Test(cli_table, fits_the_width_by_cutting_the_name_column_only)
{
    cli_table *t = cli_table_new(3);
    cli_table_column(t, 0, "variant", 0);
    cli_table_column(t, 1, "visitors", 1);
    cli_table_column(t, 2, "rate", 1);
    int r = cli_table_row(t);
    cli_table_cell(t, r, 0, "a-very-long-variant-name-that-goes-on-and-on-and-on", CLI_PAINT_NONE);
    cli_table_cell(t, r, 1, "123456", CLI_PAINT_NONE);
    cli_table_cell(t, r, 2, "4.12%", CLI_PAINT_GOOD);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_table_render(t, f, 0, 40, 0, 2);
    fclose(f);
    cr_assert_leq(widest_line(buf), 40, "%s", buf);
    cr_assert(strstr(buf, "123456") && strstr(buf, "4.12%"), "numbers are never cut: %s", buf);
    cr_assert(strstr(buf, "~") != NULL);
    cr_assert(strchr(buf, '\033') == NULL, "no colour asked, none written");
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    cli_table_render(t, f, 1, 100, 0, 0);
    fclose(f);
    cr_assert(strstr(buf, "\033[32m4.12%\033[0m") != NULL, "%s", buf);
    free(buf);
    cli_table_free(t);
}

Test(cli_table, untitled_last_columns_leave_no_trailing_blanks)
{
    /* a mark column ("W", "*") has no title: the header line stops at the
     * last title, and rows without the mark stop at their last cell */
    cli_table *t = cli_table_new(3);
    cli_table_column(t, 0, "cell", 0);
    cli_table_column(t, 1, "lift", 1);
    cli_table_column(t, 2, "", 0);
    int r = cli_table_row(t);
    cli_table_cell(t, r, 0, "a", CLI_PAINT_NONE);
    cli_table_cell(t, r, 1, "+1.0%", CLI_PAINT_NONE);
    cli_table_cell(t, r, 2, "W", CLI_PAINT_NONE);
    r = cli_table_row(t);
    cli_table_cell(t, r, 0, "b", CLI_PAINT_NONE);
    cli_table_cell(t, r, 1, "-2.0%", CLI_PAINT_NONE);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_table_render(t, f, 0, 100, 0, 0);
    fclose(f);
    cr_assert_str_eq(buf, "cell   lift\n"
                          "--------------\n"
                          "a     +1.0%  W\n"
                          "b     -2.0%\n");
    free(buf);
    cli_table_free(t);
}

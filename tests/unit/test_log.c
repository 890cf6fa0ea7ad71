/* Tests for log.h and access_log.h's pure parts: a log line is one line
 * that splits into an RFC 3339 UTC timestamp, a level, "upshotd:" and the
 * message, whatever the message holds; an access log target never shows
 * a secret parameter's value. */
#include <criterion/criterion.h>
#include <regex.h>
#include <string.h>

#include "access_log.h"
#include "log.h"

static const char *const LINE_RE =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
    "(debug|info|warn|error) upshotd: [^\n]*\n$";

static void expect_parses(const char *line)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, LINE_RE, REG_EXTENDED | REG_NOSUB), 0);
    cr_expect_eq(regexec(&re, line, 0, NULL, 0), 0, "does not parse: \"%s\"", line);
    regfree(&re);
}

Test(log, a_line_has_time_level_prefix_message)
{
    struct timespec t = {.tv_sec = 1796166503, .tv_nsec = 401999999};
    char out[LOG_LINE_MAX];
    size_t n = log_format_line(out, &t, LOG_WARN, "journal append failed: disk full");
    cr_expect_str_eq(out, "2026-12-01T23:08:23.401Z warn upshotd: journal append failed: disk full\n");
    cr_expect_eq(n, strlen(out));
    expect_parses(out);
}

Test(log, every_level_parses)
{
    static const char *const want[] = {"debug", "info", "warn", "error"};
    struct timespec t = {0};
    char out[LOG_LINE_MAX];
    for (int lv = LOG_DEBUG; lv <= LOG_ERROR; lv++) {
        log_format_line(out, &t, (log_level)lv, "x");
        expect_parses(out);
        cr_expect_str_eq(log_level_name((log_level)lv), want[lv]);
    }
}

Test(log, control_bytes_cannot_split_a_line)
{
    struct timespec t = {0};
    char out[LOG_LINE_MAX];
    log_format_line(out, &t, LOG_ERROR, "a\nb\rc\td\x7f");
    cr_expect_str_eq(out, "1970-01-01T00:00:00.000Z error upshotd: a b c d \n");
    expect_parses(out);
}

Test(log, a_long_message_is_cut_and_stays_one_line)
{
    static char msg[3 * LOG_LINE_MAX];
    memset(msg, 'm', sizeof msg - 1);
    struct timespec t = {0};
    char out[LOG_LINE_MAX];
    size_t n = log_format_line(out, &t, LOG_INFO, msg);
    cr_expect_lt(n, (size_t)LOG_LINE_MAX);
    cr_expect_eq(strlen(out), n);
    cr_expect_eq(memcmp(out + n - 4, "...\n", 4), 0);
    expect_parses(out);
}

static void expect_redacted(const char *target, const char *want)
{
    char out[256];
    access_log_redact(target, out, sizeof out);
    cr_expect_str_eq(out, want, "%s", target);
}

Test(access_log, secret_parameters_lose_their_values)
{
    expect_redacted("/v1/assign?experiment=a&key=pk_live&visitor=v",
                    "/v1/assign?experiment=a&key=-&visitor=v");
    expect_redacted("/x?key=pk", "/x?key=-");
    expect_redacted("/x?access_token=t1&b=2&Admin_Token=t2&api_secret=s&password=p",
                    "/x?access_token=-&b=2&Admin_Token=-&api_secret=-&password=-");
    /* only a parameter named key, not one that merely holds it */
    expect_redacted("/x?monkey=1&keys=2", "/x?monkey=1&keys=2");
    expect_redacted("/v1/experiments/key", "/v1/experiments/key");
}

Test(access_log, unprintable_bytes_are_escaped_and_long_targets_cut)
{
    expect_redacted("/a b\x01", "/a%20b%01");
    char out[16];
    access_log_redact("/a-rather-long-target-indeed", out, sizeof out);
    cr_expect_lt(strlen(out), sizeof out);
}

/* Tests for the pure helpers of http.h: the query string split once and
 * decoded on demand, and the HTTP date upshotd formats itself. The
 * replies themselves are tested over real HTTP in tests/integration. */
#include <criterion/criterion.h>
#include <string.h>

#include "http.h"

TestSuite(http);

static int value(const char *query, const char *name, char *out, size_t cap)
{
    http_query q;
    http_query_parse(&q, query);
    return http_query_value(&q, name, out, cap);
}

Test(http, finds_each_parameter_of_an_assign_query)
{
    const char *query = "experiment=checkout-tiers&expose=1&key=pk_1&visitor=v42&region=gr";
    http_query q;
    http_query_parse(&q, query);
    cr_expect_eq(q.n, 5);
    char out[64];
    cr_expect_eq(http_query_value(&q, "experiment", out, sizeof out), 14);
    cr_expect_str_eq(out, "checkout-tiers");
    cr_expect_eq(http_query_value(&q, "visitor", out, sizeof out), 3);
    cr_expect_str_eq(out, "v42");
    cr_expect_eq(http_query_value(&q, "region", out, sizeof out), 2);
    cr_expect_str_eq(out, "gr");
    cr_expect_eq(http_query_value(&q, "expose", out, sizeof out), 1);
    cr_expect_str_eq(out, "1");
}

Test(http, absent_names_and_prefixes_do_not_match)
{
    char out[32];
    cr_expect_eq(value("visitors=a&xvisitor=b", "visitor", out, sizeof out), -1);
    cr_expect_eq(value("visitor=a", "visit", out, sizeof out), -1);
    cr_expect_eq(value("", "visitor", out, sizeof out), -1);
    cr_expect_eq(value(NULL, "visitor", out, sizeof out), -1);
}

Test(http, first_occurrence_wins)
{
    char out[32];
    cr_expect_eq(value("region=gr&region=pl", "region", out, sizeof out), 2);
    cr_expect_str_eq(out, "gr");
}

Test(http, bare_and_empty_values_are_empty_strings)
{
    char out[32];
    strcpy(out, "junk");
    cr_expect_eq(value("expose&region=gr", "expose", out, sizeof out), 0);
    cr_expect_str_eq(out, "");
    strcpy(out, "junk");
    cr_expect_eq(value("region=&expose=1", "region", out, sizeof out), 0);
    cr_expect_str_eq(out, "");
}

Test(http, empty_pieces_between_ampersands_are_skipped)
{
    char out[32];
    http_query q;
    http_query_parse(&q, "&&visitor=v1&&region=se&");
    cr_expect_eq(q.n, 2);
    cr_expect_eq(http_query_value(&q, "region", out, sizeof out), 2);
    cr_expect_str_eq(out, "se");
}

Test(http, percent_and_plus_are_decoded)
{
    char out[32];
    cr_expect_eq(value("visitor=a%2Fb%3d+c", "visitor", out, sizeof out), 6);
    cr_expect_str_eq(out, "a/b= c");
}

Test(http, bad_encodings_and_nul_bytes_are_errors)
{
    char out[32];
    cr_expect_eq(value("visitor=a%2", "visitor", out, sizeof out), -2);
    cr_expect_eq(value("visitor=a%zz", "visitor", out, sizeof out), -2);
    cr_expect_eq(value("visitor=a%00b", "visitor", out, sizeof out), -2);
    cr_expect_eq(value("visitor=%", "visitor", out, sizeof out), -2);
}

Test(http, a_value_longer_than_the_buffer_is_an_error)
{
    char out[4];
    cr_expect_eq(value("visitor=abc", "visitor", out, sizeof out), 3);
    cr_expect_str_eq(out, "abc");
    cr_expect_eq(value("visitor=abcd", "visitor", out, sizeof out), -2);
    cr_expect_eq(value("visitor=abcd", "visitor", out, 0), -2);
}

Test(http, parameters_past_the_limit_mark_the_query_truncated)
{
    char query[1024] = "";
    for (int i = 0; i < HTTP_QUERY_MAX_PARAMS - 1; i++)
        strcat(query, "pad=1&");
    strcat(query, "visitor=last&&");
    http_query q;
    http_query_parse(&q, query);
    cr_expect_eq(q.n, HTTP_QUERY_MAX_PARAMS);
    cr_expect_not(q.truncated, "exactly the limit, empty pieces not counted");
    char out[32];
    cr_expect_eq(http_query_value(&q, "visitor", out, sizeof out), 4);
    strcat(query, "late=1");
    http_query_parse(&q, query);
    cr_expect(q.truncated);
    cr_expect_eq(http_query_value(&q, "late", out, sizeof out), -1);
}

/* Expected strings from Python 3.11's email.utils.formatdate(t,
 * usegmt=True); 784111777 is the example date of RFC 9110 section 5.6.7. */
Test(http, dates_are_imf_fixdate)
{
    static const struct {
        time_t t;
        const char *want;
    } cases[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {4102444799, "Thu, 31 Dec 2099 23:59:59 GMT"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[30];
        http_format_date(cases[i].t, out);
        cr_expect_str_eq(out, cases[i].want, "t=%lld", (long long)cases[i].t);
    }
}

/* Tests for engine/core/http_query.h: the query string split once per
 * request and each value percent-decoded on demand into a bounded buffer. */
#include <criterion/criterion.h>
#include <string.h>

#include "http_query.h"

TestSuite(http_query);

static int value(const char *query, const char *name, char *out, size_t cap)
{
    http_query q;
    http_query_parse(&q, query);
    return http_query_value(&q, name, out, cap);
}

Test(http_query, finds_each_parameter_of_an_assign_query)
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

Test(http_query, absent_names_and_prefixes_do_not_match)
{
    char out[32];
    cr_expect_eq(value("visitors=a&xvisitor=b", "visitor", out, sizeof out), -1);
    cr_expect_eq(value("visitor=a", "visit", out, sizeof out), -1);
    cr_expect_eq(value("", "visitor", out, sizeof out), -1);
    cr_expect_eq(value(NULL, "visitor", out, sizeof out), -1);
}

Test(http_query, first_occurrence_wins)
{
    char out[32];
    cr_expect_eq(value("region=gr&region=pl", "region", out, sizeof out), 2);
    cr_expect_str_eq(out, "gr");
}

Test(http_query, bare_and_empty_values_are_empty_strings)
{
    char out[32];
    strcpy(out, "junk");
    cr_expect_eq(value("expose&region=gr", "expose", out, sizeof out), 0);
    cr_expect_str_eq(out, "");
    strcpy(out, "junk");
    cr_expect_eq(value("region=&expose=1", "region", out, sizeof out), 0);
    cr_expect_str_eq(out, "");
}

Test(http_query, empty_pieces_between_ampersands_are_skipped)
{
    char out[32];
    http_query q;
    http_query_parse(&q, "&&visitor=v1&&region=se&");
    cr_expect_eq(q.n, 2);
    cr_expect_eq(http_query_value(&q, "region", out, sizeof out), 2);
    cr_expect_str_eq(out, "se");
}

Test(http_query, percent_and_plus_are_decoded)
{
    char out[32];
    cr_expect_eq(value("visitor=a%2Fb%3d+c", "visitor", out, sizeof out), 6);
    cr_expect_str_eq(out, "a/b= c");
}

Test(http_query, bad_encodings_and_nul_bytes_are_errors)
{
    char out[32];
    cr_expect_eq(value("visitor=a%2", "visitor", out, sizeof out), -2);
    cr_expect_eq(value("visitor=a%zz", "visitor", out, sizeof out), -2);
    cr_expect_eq(value("visitor=a%00b", "visitor", out, sizeof out), -2);
    cr_expect_eq(value("visitor=%", "visitor", out, sizeof out), -2);
}

Test(http_query, a_value_longer_than_the_buffer_is_an_error)
{
    char out[4];
    cr_expect_eq(value("visitor=abc", "visitor", out, sizeof out), 3);
    cr_expect_str_eq(out, "abc");
    cr_expect_eq(value("visitor=abcd", "visitor", out, sizeof out), -2);
    cr_expect_eq(value("visitor=abcd", "visitor", out, 0), -2);
}

Test(http_query, parameters_past_the_limit_mark_the_query_truncated)
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

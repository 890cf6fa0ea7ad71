/* Tests for the pure helper of http.h: the HTTP date upshotd formats
 * itself. The query string is tested in test_http_query.c, and the
 * replies themselves over real HTTP in tests/integration. */
#include <criterion/criterion.h>
#include <string.h>

#include "http.h"

TestSuite(http);

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

/* Tests for http_head.h: the framing check of a request head. One table
 * of heads and what the check must say about each (status and error code
 * for a refusal, the body length for an accepted head), then the cases
 * that depend on arriving in pieces: limits crossed before the blank line,
 * and a head that straddles two reads. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http_head.h"

TestSuite(http_head);

static const http_head_limits lim = {.max_line = 100, .max_head = 400, .max_body = 1000};

#define H(s) s, sizeof(s) - 1

static const struct {
    const char *name;
    const char *head;
    size_t len;
    int status;       /* 0: accepted */
    const char *code; /* refused: the error code */
    long body;        /* accepted: the Content-Length */
} cases[] = {
    {"plain GET", H("GET /v1/assign?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"), 0, NULL, 0},
    {"no header at all", H("GET / HTTP/1.0\r\n\r\n"), 0, NULL, 0},
    {"POST with a body", H("POST /v1/events HTTP/1.1\r\nContent-Length: 12\r\n\r\n"), 0, NULL, 12},
    {"Content-Length with spaces around", H("PUT /x HTTP/1.1\r\nContent-Length:  7 \t\r\n\r\n"), 0, NULL, 7},
    {"lower-case header name", H("PATCH /x HTTP/1.1\r\ncontent-length: 3\r\n\r\n"), 0, NULL, 3},
    {"GET with Content-Length 0", H("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 0, NULL, 0},
    {"body at the limit", H("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"), 0, NULL, 1000},
    {"obs-text in a value", H("GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n"), 0, NULL, 0},
    {"empty value", H("GET / HTTP/1.1\r\nX-Empty:\r\n\r\n"), 0, NULL, 0},

    {"body over the limit", H("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n"), 413, "body_too_large", 0},
    {"huge Content-Length", H("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n"), 413, "body_too_large", 0},
    {"Content-Length of 19 digits", H("POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n"), 400, "invalid_content_length", 0},
    {"two Content-Lengths, 0 then N", H("POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n"), 400, "duplicate_content_length", 0},
    {"two equal Content-Lengths", H("POST / HTTP/1.1\r\nContent-Length: 4\r\ncontent-length: 4\r\n\r\n"), 400, "duplicate_content_length", 0},
    {"signed Content-Length", H("POST / HTTP/1.1\r\nContent-Length: +0\r\n\r\n"), 400, "invalid_content_length", 0},
    {"negative Content-Length", H("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400, "invalid_content_length", 0},
    {"Content-Length list", H("POST / HTTP/1.1\r\nContent-Length: 4, 4\r\n\r\n"), 400, "invalid_content_length", 0},
    {"hex Content-Length", H("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n"), 400, "invalid_content_length", 0},
    {"empty Content-Length", H("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n"), 400, "invalid_content_length", 0},
    {"space inside Content-Length", H("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n"), 400, "invalid_content_length", 0},
    {"chunked", H("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 411, "length_required", 0},
    {"chunked and a length", H("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, "conflicting_framing", 0},
    {"a body on GET", H("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"), 400, "unexpected_body", 0},
    {"a body on DELETE", H("DELETE /x HTTP/1.1\r\nContent-Length: 1\r\n\r\n"), 400, "unexpected_body", 0},
    {"space before the colon", H("POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n"), 400, "invalid_header", 0},
    {"no colon", H("GET / HTTP/1.1\r\nHost\r\n\r\n"), 400, "invalid_header", 0},
    {"empty name", H("GET / HTTP/1.1\r\n: x\r\n\r\n"), 400, "invalid_header", 0},
    {"folded line", H("GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n"), 400, "invalid_header", 0},
    {"NUL in a value", H("GET / HTTP/1.1\r\nAuthorization: Bearer t\0junk\r\n\r\n"), 400, "invalid_header", 0},
    {"control byte in a value", H("GET / HTTP/1.1\r\nX-A: a\x01" "b\r\n\r\n"), 400, "invalid_header", 0},
    {"DEL in a value", H("GET / HTTP/1.1\r\nX-A: a\x7f\r\n\r\n"), 400, "invalid_header", 0},
    {"bare LF line end", H("GET / HTTP/1.1\r\nX-A: 1\nContent-Length: 5\r\n\r\n"), 400, "invalid_line_ending", 0},
    {"bare CR", H("GET / HTTP/1.1\r\nX-A: 1\r2\r\n\r\n"), 400, "invalid_line_ending", 0},
    {"unknown method", H("TRACE / HTTP/1.1\r\n\r\n"), 501, "method_not_implemented", 0},
    {"lower-case method", H("get / HTTP/1.1\r\n\r\n"), 501, "method_not_implemented", 0},
    {"HTTP/2 in the request line", H("GET / HTTP/2.0\r\n\r\n"), 400, "invalid_request_line", 0},
    {"no version", H("GET /\r\n\r\n"), 400, "invalid_request_line", 0},
    {"two spaces", H("GET  / HTTP/1.1\r\n\r\n"), 400, "invalid_request_line", 0},
    {"tab in the target", H("GET /a\tb HTTP/1.1\r\n\r\n"), 400, "invalid_request_line", 0},
    {"leading blank line", H("\r\nGET / HTTP/1.1\r\n\r\n"), 400, "invalid_request_line", 0},
};

Test(http_head, each_head_gets_its_verdict)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_head_verdict v;
        memset(&v, 0, sizeof v);
        size_t scan = 0;
        http_head_result r = http_head_check(cases[i].head, cases[i].len, &scan, &lim, &v);
        if (cases[i].status == 0) {
            cr_expect_eq(r, HTTP_HEAD_OK, "%s: refused with %d %s (%s)", cases[i].name, v.status,
                         v.code ? v.code : "-", v.message);
            cr_expect_eq(v.head_len, cases[i].len, "%s: head_len %zu", cases[i].name, v.head_len);
            cr_expect_eq(v.content_length, cases[i].body, "%s: body %ld", cases[i].name,
                         v.content_length);
        } else {
            cr_expect_eq(r, HTTP_HEAD_REFUSED, "%s: not refused", cases[i].name);
            cr_expect_eq(v.status, cases[i].status, "%s: status %d, want %d", cases[i].name,
                         v.status, cases[i].status);
            cr_expect_str_eq(v.code ? v.code : "", cases[i].code, "%s: code %s", cases[i].name,
                             v.code ? v.code : "-");
            cr_expect(strlen(v.message) > 5, "%s: message", cases[i].name);
        }
    }
}

Test(http_head, an_incomplete_head_asks_for_more)
{
    const char h[] = "POST /v1/events HTTP/1.1\r\nContent-Length: 5\r\n";
    http_head_verdict v;
    size_t scan = 0;
    cr_expect_eq(http_head_check(h, sizeof h - 1, &scan, &lim, &v), HTTP_HEAD_INCOMPLETE);
}

Test(http_head, a_head_in_one_byte_pieces_is_found_where_it_ends)
{
    const char h[] = "POST /v1/events HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    size_t head = sizeof h - 1 - 5, scan = 0;
    for (size_t n = 1; n < head; n++) {
        http_head_verdict v;
        cr_assert_eq(http_head_check(h, n, &scan, &lim, &v), HTTP_HEAD_INCOMPLETE, "at %zu", n);
    }
    http_head_verdict v;
    cr_assert_eq(http_head_check(h, head + 2, &scan, &lim, &v), HTTP_HEAD_OK);
    cr_expect_eq(v.head_len, head);
    cr_expect_eq(v.content_length, 5);
}

Test(http_head, the_terminator_split_across_reads_is_found)
{
    const char h[] = "GET / HTTP/1.1\r\nA: b\r\n\r\n";
    size_t scan = 0;
    cr_expect_eq(http_head_end(h, sizeof h - 3, &scan), 0);
    cr_expect_eq(http_head_end(h, sizeof h - 1, &scan), sizeof h - 1);
}

Test(http_head, a_long_request_line_is_refused_before_it_ends)
{
    char h[300];
    memset(h, 'a', sizeof h);
    memcpy(h, "GET /", 5);
    http_head_verdict v;
    size_t scan = 0;
    cr_expect_eq(http_head_check(h, 50, &scan, &lim, &v), HTTP_HEAD_INCOMPLETE);
    cr_expect_eq(http_head_check(h, 200, &scan, &lim, &v), HTTP_HEAD_REFUSED);
    cr_expect_eq(v.status, 414);
    cr_expect_str_eq(v.code, "uri_too_long");
}

Test(http_head, a_head_over_the_limit_is_refused_before_it_ends)
{
    char h[600];
    size_t n = (size_t)snprintf(h, sizeof h, "GET / HTTP/1.1\r\n");
    while (n + 12 < sizeof h)
        n += (size_t)snprintf(h + n, sizeof h - n, "X-Pad: 123\r\n");
    http_head_verdict v;
    size_t scan = 0;
    cr_expect_eq(http_head_check(h, n, &scan, &lim, &v), HTTP_HEAD_REFUSED);
    cr_expect_eq(v.status, 431);
    cr_expect_str_eq(v.code, "header_too_large");
}

Test(http_head, too_many_fields_are_refused)
{
    static const http_head_limits big = {.max_line = 100, .max_head = 100000, .max_body = 10};
    char h[4000];
    size_t n = (size_t)snprintf(h, sizeof h, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP_HEAD_MAX_FIELDS; i++)
        n += (size_t)snprintf(h + n, sizeof h - n, "X: %d\r\n", i);
    n += (size_t)snprintf(h + n, sizeof h - n, "\r\n");
    http_head_verdict v;
    size_t scan = 0;
    cr_expect_eq(http_head_check(h, n, &scan, &big, &v), HTTP_HEAD_REFUSED);
    cr_expect_eq(v.status, 431);
}

Test(http_head, a_nul_byte_is_refused_before_the_head_ends)
{
    const char h[] = "GET / HTTP/1.1\r\nAuthorization: Bearer x\0";
    http_head_verdict v;
    size_t scan = 0;
    cr_expect_eq(http_head_check(h, sizeof h - 1, &scan, &lim, &v), HTTP_HEAD_REFUSED);
    cr_expect_eq(v.status, 400);
}

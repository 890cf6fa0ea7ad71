/* http_head.c: the framing check of a request head (see http_head.h). */
#include "http_head.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

__attribute__((format(printf, 4, 5)))
static http_head_result refuse(http_head_verdict *out, int status, const char *code,
                               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    out->status = status;
    out->code = code;
    return HTTP_HEAD_REFUSED;
}

size_t http_head_end(const char *buf, size_t len, size_t *scan)
{
    /* The terminator may straddle the previous search's end: back up 3. */
    size_t i = *scan > 3 ? *scan - 3 : 0;
    *scan = len;
    while (i + 4 <= len) {
        const char *lf = memchr(buf + i + 3, '\n', len - i - 3);
        if (!lf)
            break;
        size_t p = (size_t)(lf - buf); /* p >= i + 3 */
        if (buf[p - 1] == '\r' && buf[p - 2] == '\n' && buf[p - 3] == '\r')
            return p + 1;
        i = p - 2;
    }
    return 0;
}

/* RFC 9110 tchar: the characters of a method or a header name. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value's byte: HTAB, visible ASCII and space, or obs-text. */
static bool is_value_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
                                      "PATCH", NULL};

/* Checks the request line line[0..n) (CRLF excluded); *has_body says
 * whether its method may carry a body. */
static http_head_result check_request_line(const char *line, size_t n, bool *has_body,
                                           http_head_verdict *out)
{
    size_t m = 0;
    while (m < n && is_tchar((unsigned char)line[m]))
        m++;
    if (m == 0 || m == n || line[m] != ' ')
        return refuse(out, 400, "invalid_request_line",
                      "the request line must be METHOD SP target SP HTTP/1.1");
    size_t t = m + 1, te = t;
    while (te < n && line[te] > 0x20 && line[te] < 0x7f)
        te++;
    if (te == t || te == n || line[te] != ' ')
        return refuse(out, 400, "invalid_request_line",
                      "the request target must be visible ASCII without spaces");
    const char *v = line + te + 1;
    size_t vn = n - te - 1;
    if (vn != 8 || (memcmp(v, "HTTP/1.1", 8) != 0 && memcmp(v, "HTTP/1.0", 8) != 0))
        return refuse(out, 400, "invalid_request_line", "the protocol must be HTTP/1.1 or HTTP/1.0");
    for (const char *const *k = methods; *k; k++)
        if (strlen(*k) == m && memcmp(*k, line, m) == 0) {
            long i = k - methods;
            *has_body = i == 2 || i == 3 || i == 6; /* POST, PUT, PATCH */
            return HTTP_HEAD_OK;
        }
    return refuse(out, 501, "method_not_implemented", "method %.*s is not implemented",
                  (int)(m > 16 ? 16 : m), line);
}

static bool name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Parses a Content-Length value v[0..n) (OWS trimmed): 1-18 digits. */
static bool parse_length(const char *v, size_t n, long *out)
{
    if (n == 0 || n > 18)
        return false;
    long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return true;
}

/* Checks a complete head buf[0..end): every line, then the framing. */
static http_head_result check_complete(const char *buf, size_t end, const http_head_limits *lim,
                                       http_head_verdict *out)
{
    if (memchr(buf, '\0', end))
        return refuse(out, 400, "invalid_header", "the request head holds a NUL byte");
    /* Every CR is followed by LF and every LF follows a CR, so that a
     * line ends at the same byte for evhttp (which also ends one at a
     * bare LF) and for this check. */
    for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + end - p))) != NULL; p++)
        if (p == buf || p[-1] != '\r')
            return refuse(out, 400, "invalid_line_ending", "header lines must end in CRLF");
    for (const char *p = buf; (p = memchr(p, '\r', (size_t)(buf + end - p))) != NULL; p++)
        if (p + 1 >= buf + end || p[1] != '\n')
            return refuse(out, 400, "invalid_line_ending", "a CR not followed by LF");

    const char *eol = memchr(buf, '\r', end); /* exists: the head ends in CRLF CRLF */
    size_t n = (size_t)(eol - buf);
    if (n > lim->max_line)
        return refuse(out, 414, "uri_too_long", "the request line exceeds %zu bytes", lim->max_line);
    bool has_body = false;
    http_head_result r = check_request_line(buf, n, &has_body, out);
    if (r != HTTP_HEAD_OK)
        return r;

    long length = -1;
    bool chunked = false;
    int fields = 0;
    for (const char *line = eol + 2; line < buf + end - 2;) {
        const char *le = memchr(line, '\r', (size_t)(buf + end - line));
        size_t ln = (size_t)(le - line);
        if (++fields > HTTP_HEAD_MAX_FIELDS)
            return refuse(out, 431, "header_too_large", "more than %d header fields",
                          HTTP_HEAD_MAX_FIELDS);
        if (line[0] == ' ' || line[0] == '\t')
            return refuse(out, 400, "invalid_header", "folded header lines are not accepted");
        size_t nn = 0;
        while (nn < ln && is_tchar((unsigned char)line[nn]))
            nn++;
        if (nn == 0 || nn == ln || line[nn] != ':')
            return refuse(out, 400, "invalid_header", "a header line must be name: value");
        const char *v = line + nn + 1, *ve = le;
        for (const char *c = v; c < ve; c++)
            if (!is_value_byte((unsigned char)*c))
                return refuse(out, 400, "invalid_header", "header %.*s holds a control byte",
                              (int)(nn > 64 ? 64 : nn), line);
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (name_is(line, nn, "Content-Length")) {
            if (length >= 0)
                return refuse(out, 400, "duplicate_content_length",
                              "Content-Length appears more than once");
            if (!parse_length(v, (size_t)(ve - v), &length))
                return refuse(out, 400, "invalid_content_length",
                              "Content-Length must be 1 to 18 digits");
        } else if (name_is(line, nn, "Transfer-Encoding")) {
            chunked = true;
        }
        line = le + 2;
    }
    if (chunked && length >= 0)
        return refuse(out, 400, "conflicting_framing",
                      "Content-Length and Transfer-Encoding together are refused");
    if (chunked)
        return refuse(out, 411, "length_required",
                      "bodies need a Content-Length; Transfer-Encoding is not accepted");
    if (length > 0 && !has_body)
        return refuse(out, 400, "unexpected_body", "this method takes no body");
    if (length > lim->max_body)
        return refuse(out, 413, "body_too_large", "the body exceeds %ld bytes", lim->max_body);
    out->head_len = end;
    out->content_length = length > 0 ? length : 0;
    return HTTP_HEAD_OK;
}

http_head_result http_head_check(const char *buf, size_t len, size_t *scan,
                                 const http_head_limits *lim, http_head_verdict *out)
{
    size_t before = *scan < len ? *scan : len;
    size_t end = http_head_end(buf, len, scan);
    if (end) {
        if (end > lim->max_head)
            return refuse(out, 431, "header_too_large", "the request head exceeds %zu bytes",
                          lim->max_head);
        return check_complete(buf, end, lim, out);
    }
    /* Incomplete: refuse as soon as a limit is crossed, each test run once
     * (when the bytes that cross it arrive), so a head sent a byte at a
     * time costs no more than one sent whole. */
    size_t line_cap = lim->max_line + 2;
    if (before < line_cap && len >= line_cap && !memchr(buf, '\n', line_cap))
        return refuse(out, 414, "uri_too_long", "the request line exceeds %zu bytes", lim->max_line);
    if (len > lim->max_head)
        return refuse(out, 431, "header_too_large", "the request head exceeds %zu bytes",
                      lim->max_head);
    if (memchr(buf + before, '\0', len - before))
        return refuse(out, 400, "invalid_header", "the request head holds a NUL byte");
    return HTTP_HEAD_INCOMPLETE;
}

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

/* Byte classes, one table lookup a byte: every head byte is looked at
 * once, on the hot path of every request. */
enum { C_TCHAR = 1, /* RFC 9110 tchar: methods and header names */
       C_VALUE = 2, /* field value: HTAB, SP, visible ASCII, obs-text */
       C_TARGET = 4 /* request target: visible ASCII */ };
static unsigned char byte_class[256];
static bool byte_class_ready;

/* Fills the table on first use; a second caller racing the first writes
 * the same bytes. */
static void byte_class_init(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c && strchr("!#$%&'*+-.^_`|~", c)))
            k |= C_TCHAR;
        if (c == '\t' || (c >= 0x20 && c != 0x7f))
            k |= C_VALUE;
        if (c > 0x20 && c < 0x7f)
            k |= C_TARGET;
        byte_class[c] = k;
    }
    byte_class_ready = true;
}

static size_t span(const char *p, size_t n, unsigned char cls)
{
    size_t i = 0;
    while (i < n && (byte_class[(unsigned char)p[i]] & cls))
        i++;
    return i;
}

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
                                      "PATCH", NULL};

/* Checks the request line line[0..n) (CRLF excluded); *has_body says
 * whether its method may carry a body. */
static http_head_result check_request_line(const char *line, size_t n, bool *has_body,
                                           http_head_verdict *out)
{
    size_t m = span(line, n, C_TCHAR);
    if (m == 0 || m == n || line[m] != ' ')
        return refuse(out, 400, "invalid_request_line",
                      "the request line must be METHOD SP target SP HTTP/1.1");
    size_t t = m + 1, te = t + span(line + t, n - t, C_TARGET);
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

/* Checks a complete head buf[0..end): every line, then the framing. Lines
 * are split at LF, and each must end in CR LF; the checks of their
 * contents refuse any other CR, and NUL, so a line ends at the same byte
 * for evhttp (which also ends one at a bare LF) and for this check. */
static http_head_result check_complete(const char *buf, size_t end, const http_head_limits *lim,
                                       http_head_verdict *out)
{
    const char *stop = buf + end;
    const char *lf = memchr(buf, '\n', end); /* exists: the head ends in CRLF CRLF */
    if (lf == buf || lf[-1] != '\r')
        return refuse(out, 400, "invalid_line_ending", "header lines must end in CRLF");
    size_t n = (size_t)(lf - 1 - buf);
    if (n > lim->max_line)
        return refuse(out, 414, "uri_too_long", "the request line exceeds %zu bytes", lim->max_line);
    bool has_body = false;
    http_head_result r = check_request_line(buf, n, &has_body, out);
    if (r != HTTP_HEAD_OK)
        return r;

    long length = -1;
    bool chunked = false;
    int fields = 0;
    for (const char *line = lf + 1; line < stop;) {
        lf = memchr(line, '\n', (size_t)(stop - line));
        if (lf == line || lf[-1] != '\r')
            return refuse(out, 400, "invalid_line_ending", "header lines must end in CRLF");
        size_t ln = (size_t)(lf - 1 - line);
        if (ln == 0)
            break; /* the blank line: the head's end */
        if (++fields > HTTP_HEAD_MAX_FIELDS)
            return refuse(out, 431, "header_too_large", "more than %d header fields",
                          HTTP_HEAD_MAX_FIELDS);
        if (line[0] == ' ' || line[0] == '\t')
            return refuse(out, 400, "invalid_header", "folded header lines are not accepted");
        size_t nn = span(line, ln, C_TCHAR);
        if (nn == 0 || nn == ln || line[nn] != ':')
            return refuse(out, 400, "invalid_header", "a header line must be name: value");
        const char *v = line + nn + 1, *ve = lf - 1;
        size_t ok = span(v, (size_t)(ve - v), C_VALUE);
        if (v + ok < ve)
            return v[ok] == '\r'
                       ? refuse(out, 400, "invalid_line_ending", "a CR not followed by LF")
                       : refuse(out, 400, "invalid_header", "header %.*s holds a control byte",
                                (int)(nn > 64 ? 64 : nn), line);
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (nn == 14 && name_is(line, nn, "Content-Length")) {
            if (length >= 0)
                return refuse(out, 400, "duplicate_content_length",
                              "Content-Length appears more than once");
            if (!parse_length(v, (size_t)(ve - v), &length))
                return refuse(out, 400, "invalid_content_length",
                              "Content-Length must be 1 to 18 digits");
        } else if (nn == 17 && name_is(line, nn, "Transfer-Encoding")) {
            chunked = true;
        }
        line = lf + 1;
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
    if (!byte_class_ready)
        byte_class_init();
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

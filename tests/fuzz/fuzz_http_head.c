/* fuzz_http_head.c: http_head_check (engine/core/http_head.h), the framing
 * check the connection guard runs on the bytes of every request head a
 * client sends, before evhttp parses them.
 *
 * Byte 0 of an input picks the limits: below 0x80, upshotd's defaults
 * (8 KiB request line, 16 KiB head, 256 KiB body); from 0x80, small ones
 * taken from its bits, so the 414, 431 and 413 edges are reached. Byte 1
 * sets the piece size (1 to 256 bytes) for the incremental feed. The rest
 * is what the client sent.
 *
 * Checks beyond the sanitizers:
 *   - pure: the same bytes checked twice give the same verdict;
 *   - fed in pieces, as the guard reads them (each call sees a longer
 *     prefix of the same bytes), the check ends in the same result as on
 *     the whole input, and an accepted head is accepted at the same length
 *     with the same Content-Length, with no piece refused before it;
 *   - an accepted head, re-read here line by line: ends in CRLF CRLF
 *     within max_head, holds no NUL and no bare CR or LF, has a request
 *     line within max_line with one of the seven methods, at most
 *     HTTP_HEAD_MAX_FIELDS fields, no Transfer-Encoding, at most one
 *     Content-Length, which is 1 to 18 digits and equals the verdict's
 *     length, at most max_body, and non-zero only on POST, PUT or PATCH;
 *   - a refusal has one of the documented statuses, a code and a message. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The CR LF that ends the line at p, in a head known to hold no bare LF;
 * memchr rather than strstr, since the head is not NUL-terminated. */
static const char *line_end(const char *p, const char *stop)
{
    const char *lf = memchr(p, '\n', (size_t)(stop - p));
    if (!lf)
        abort();
    return lf - 1;
}

static bool same_verdict(http_head_result ra, const http_head_verdict *a, http_head_result rb,
                         const http_head_verdict *b)
{
    if (ra != rb)
        return false;
    if (ra == HTTP_HEAD_OK)
        return a->head_len == b->head_len && a->content_length == b->content_length;
    if (ra == HTTP_HEAD_REFUSED)
        return a->status == b->status && strcmp(a->code, b->code) == 0 &&
               strcmp(a->message, b->message) == 0;
    return true;
}

static void check_refusal(const http_head_verdict *v)
{
    static const int statuses[] = {400, 411, 413, 414, 431, 501};
    bool known = false;
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        known |= v->status == statuses[i];
    if (!known || !v->code || !v->code[0] || !memchr(v->message, 0, sizeof v->message) ||
        !v->message[0])
        abort();
}

/* Re-reads an accepted head h[0..n) with plain code and aborts on any
 * breach of what http_head.h promises of it. */
static void check_accepted(const char *h, size_t n, const http_head_limits *lim, long length)
{
    if (n < 4 || n > lim->max_head || memcmp(h + n - 4, "\r\n\r\n", 4) != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (h[i] == '\0')
            abort();
        if (h[i] == '\n' && (i == 0 || h[i - 1] != '\r'))
            abort(); /* bare LF */
        if (h[i] == '\r' && (i + 1 == n || h[i + 1] != '\n'))
            abort(); /* bare CR */
    }
    if (length < 0 || length > lim->max_body)
        abort();
    /* The request line: METHOD SP target SP version. */
    const char *eol = line_end(h, h + n);
    size_t ln = (size_t)(eol - h);
    if (ln > lim->max_line)
        abort();
    static const char *const methods[] = {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ",
                                          "OPTIONS ", "PATCH "};
    int method = -1;
    for (int i = 0; i < 7; i++)
        if (ln > strlen(methods[i]) && memcmp(h, methods[i], strlen(methods[i])) == 0)
            method = i;
    if (method < 0 || ln < 9 || (memcmp(eol - 9, " HTTP/1.1", 9) != 0 &&
                                 memcmp(eol - 9, " HTTP/1.0", 9) != 0))
        abort();
    if (length > 0 && method != 2 && method != 3 && method != 6)
        abort(); /* a body on a method that takes none */
    /* The fields, up to the blank line. */
    int fields = 0, lengths = 0;
    for (const char *line = eol + 2; line < h + n;) {
        const char *end = line_end(line, h + n);
        if (end == line)
            break;
        fields++;
        const char *colon = memchr(line, ':', (size_t)(end - line));
        if (!colon || colon == line)
            abort();
        size_t nn = (size_t)(colon - line);
        for (size_t i = 0; i < nn; i++)
            if (line[i] == ' ' || line[i] == '\t' || (unsigned char)line[i] < 0x21 ||
                (unsigned char)line[i] == 0x7f)
                abort(); /* not a token */
        if (nn == 17 && strncasecmp(line, "Transfer-Encoding", nn) == 0)
            abort();
        if (nn == 14 && strncasecmp(line, "Content-Length", nn) == 0) {
            lengths++;
            const char *v = colon + 1, *ve = end;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (ve - v < 1 || ve - v > 18)
                abort();
            long x = 0;
            for (; v < ve; v++) {
                if (*v < '0' || *v > '9')
                    abort();
                x = x * 10 + (*v - '0');
            }
            if (x != length)
                abort();
        }
        line = end + 2;
    }
    if (fields > HTTP_HEAD_MAX_FIELDS || lengths > 1 || (lengths == 0 && length != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    http_head_limits lim = {8192, 16 * 1024, 256 * 1024};
    if (data[0] & 0x80) {
        lim.max_line = 16 + (size_t)(data[0] & 7) * 16;
        lim.max_head = 64 + (size_t)((data[0] >> 3) & 15) * 64;
        lim.max_body = (long)(data[0] & 15) * 100;
    }
    size_t piece = (size_t)data[1] + 1;
    /* A copy of exactly the client's bytes, so ASan sees any read past them. */
    size_t n = size - 2;
    char *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 2, n);

    size_t scan = 0;
    http_head_verdict whole;
    memset(&whole, 0, sizeof whole);
    http_head_result rw = http_head_check(buf, n, &scan, &lim, &whole);
    size_t scan2 = 0;
    http_head_verdict again;
    memset(&again, 0xa5, sizeof again);
    http_head_result ra = http_head_check(buf, n, &scan2, &lim, &again);
    if (!same_verdict(rw, &whole, ra, &again))
        abort(); /* not a pure function of its input */

    /* In pieces, each call on a longer prefix, as the guard does. */
    http_head_verdict inc;
    memset(&inc, 0, sizeof inc);
    http_head_result ri = HTTP_HEAD_INCOMPLETE;
    size_t seen = 0;
    scan = 0;
    while (seen < n && ri == HTTP_HEAD_INCOMPLETE) {
        seen = seen + piece < n ? seen + piece : n;
        ri = http_head_check(buf, seen, &scan, &lim, &inc);
    }
    if (n == 0)
        ri = http_head_check(buf, 0, &scan, &lim, &inc);
    if (ri != rw)
        abort(); /* read in pieces, the same bytes end differently */
    if (rw == HTTP_HEAD_OK) {
        if (inc.head_len != whole.head_len || inc.content_length != whole.content_length)
            abort();
        if (whole.head_len > n)
            abort();
        check_accepted(buf, whole.head_len, &lim, whole.content_length);
    } else if (rw == HTTP_HEAD_REFUSED) {
        check_refusal(&whole);
        check_refusal(&inc);
    }
    free(buf);
    return 0;
}

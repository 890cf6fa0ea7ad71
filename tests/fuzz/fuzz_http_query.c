/* fuzz_http_query.c: http_query_parse and http_query_value
 * (engine/core/http_query.h), on the query string of any request a
 * client sends (evhttp splits it from the path; it is NUL-terminated).
 *
 * Byte 0 of an input sets the size of the buffer values are decoded into
 * (0 to 255 bytes); the rest, up to its first NUL, is the query string.
 *
 * Checks beyond the sanitizers:
 *   - the split: at most HTTP_QUERY_MAX_PARAMS parameters, `truncated`
 *     exactly when the query holds more non-empty pieces than that, each
 *     kept piece a span of the query with a non-empty name, no '&' in it
 *     and no '=' in the name;
 *   - every parameter's value is decoded into a buffer of exactly the
 *     given size (a heap block, so a write past it is seen): the length
 *     returned is below the size and is the string's length, the text
 *     holds no NUL, and reading it again gives the same bytes;
 *   - decoding agrees with a plain second decoder written here: the same
 *     answer (-1, -2 or the length) and the same text, for the parameter
 *     names present, an absent one, and the first occurrence of each. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The documented rules, read from the raw query: the first non-empty
 * piece named `name`; '+' is a space, %XX a byte other than NUL; more than
 * cap - 1 bytes is -2. Pieces past the first HTTP_QUERY_MAX_PARAMS are
 * not looked at. */
static int model_value(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    int kept = 0;
    for (const char *p = query; *p && kept < HTTP_QUERY_MAX_PARAMS;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            kept++;
            const char *eq = memchr(p, '=', len);
            size_t plen = eq ? (size_t)(eq - p) : len;
            if (plen == nl && memcmp(p, name, nl) == 0) {
                size_t n = 0;
                const char *v = eq ? eq + 1 : p + len, *end = p + len;
                for (; v < end; v++) {
                    int c = (unsigned char)*v;
                    if (c == '+') {
                        c = ' ';
                    } else if (c == '%') {
                        if (end - v < 3 || hex(v[1]) < 0 || hex(v[2]) < 0)
                            return -2;
                        c = hex(v[1]) * 16 + hex(v[2]);
                        v += 2;
                        if (c == 0)
                            return -2;
                    }
                    if (n + 1 >= cap)
                        return -2;
                    out[n++] = (char)c;
                }
                if (cap == 0)
                    return -2;
                out[n] = 0;
                return (int)n;
            }
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return -1;
}

static void check_name(const http_query *q, const char *query, const char *name, size_t cap)
{
    char *a = malloc(cap ? cap : 1), *b = malloc(cap ? cap : 1), *m = malloc(cap ? cap : 1);
    if (!a || !b || !m)
        abort();
    int ra = http_query_value(q, name, a, cap);
    int rb = http_query_value(q, name, b, cap);
    int rm = model_value(query, name, m, cap);
    if (ra != rb || ra != rm || ra < -2)
        abort();
    if (ra >= 0) {
        if ((size_t)ra >= cap || strlen(a) != (size_t)ra)
            abort(); /* longer than its buffer, or a NUL inside */
        if (memcmp(a, b, (size_t)ra + 1) != 0 || memcmp(a, m, (size_t)ra + 1) != 0)
            abort(); /* read twice differently, or not as documented */
    }
    free(a);
    free(b);
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cap = data[0];
    char *query = malloc(size);
    if (!query)
        return 0;
    memcpy(query, data + 1, size - 1);
    query[size - 1] = 0;

    http_query q;
    memset(&q, 0xa5, sizeof q);
    http_query_parse(&q, query);

    size_t qlen = strlen(query);
    int pieces = 0;
    for (const char *p = query; *p;) {
        size_t len = strcspn(p, "&");
        pieces += len > 0;
        p += len;
        if (*p)
            p++;
    }
    if (q.n < 0 || q.n > HTTP_QUERY_MAX_PARAMS)
        abort();
    if (q.truncated != (pieces > HTTP_QUERY_MAX_PARAMS) ||
        q.n != (pieces > HTTP_QUERY_MAX_PARAMS ? HTTP_QUERY_MAX_PARAMS : pieces))
        abort(); /* the 32-parameter bound, counted here independently */
    for (int i = 0; i < q.n; i++) {
        const char *nm = q.params[i].name;
        size_t nl = q.params[i].name_len;
        const char *v = q.params[i].value;
        size_t vl = q.params[i].value_len;
        if (nm < query || nm + nl > query + qlen || (nl == 0 && !v))
            abort();
        if (memchr(nm, '&', nl) || memchr(nm, '=', nl))
            abort();
        if (v && (v != nm + nl + 1 || v[-1] != '=' || v + vl > query + qlen ||
                  memchr(v, '&', vl)))
            abort();
        if (!v && vl != 0)
            abort();
    }

    /* Each parameter's name (the first 64 bytes of it), then an absent one. */
    char name[65];
    for (int i = 0; i < q.n; i++) {
        size_t nl = q.params[i].name_len < 64 ? q.params[i].name_len : 64;
        memcpy(name, q.params[i].name, nl);
        name[nl] = 0;
        check_name(&q, query, name, cap);
    }
    check_name(&q, query, "visitor", cap);
    check_name(&q, query, "\001absent", cap);

    http_query none;
    http_query_parse(&none, NULL);
    if (none.n != 0 || none.truncated)
        abort();
    free(query);
    return 0;
}

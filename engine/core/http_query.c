/* http_query.c: the query string split once, decoded on demand (see
 * http_query.h). */
#include "http_query.h"

#include <string.h>

#include "decimal.h"

void http_query_parse(http_query *q, const char *query)
{
    q->n = 0;
    q->truncated = false;
    for (const char *p = query; p && *p;) {
        size_t len = strcspn(p, "&");
        if (len == 0) { /* "&&" or a trailing "&" */
            p++;
            continue;
        }
        if (q->n == HTTP_QUERY_MAX_PARAMS) {
            q->truncated = true;
            return;
        }
        const char *eq = memchr(p, '=', len);
        q->params[q->n].name = p;
        q->params[q->n].name_len = eq ? (size_t)(eq - p) : len;
        q->params[q->n].value = eq ? eq + 1 : NULL;
        q->params[q->n].value_len = eq ? len - (size_t)(eq - p) - 1 : 0;
        q->n++;
        p += len;
        if (*p == '&')
            p++;
    }
}

int http_query_value(const http_query *q, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (int i = 0; i < q->n; i++) {
        if (q->params[i].name_len != nl || memcmp(q->params[i].name, name, nl) != 0)
            continue;
        const char *v = q->params[i].value ? q->params[i].value : "";
        const char *end = v + q->params[i].value_len;
        size_t n = 0;
        while (v < end) {
            char c = *v++;
            if (c == '+')
                c = ' ';
            else if (c == '%') {
                int hi = v < end ? decimal_hex_digit(v[0]) : -1;
                int lo = v + 1 < end ? decimal_hex_digit(v[1]) : -1;
                if (hi < 0 || lo < 0)
                    return -2;
                c = (char)(hi * 16 + lo);
                v += 2;
                if (c == '\0')
                    return -2;
            }
            if (n + 1 >= cap)
                return -2;
            out[n++] = c;
        }
        if (cap == 0)
            return -2;
        out[n] = '\0';
        return (int)n;
    }
    return -1;
}

/* http_query.h: a request's query string, split once and decoded on demand.
 *
 * The assign path is hot, so the router splits the query string once per
 * request into spans (no allocation, nothing copied) and a handler
 * percent-decodes only the values it reads, into buffers of its own
 * whose sizes are the bounds of what it accepts (a visitor id, a key).
 *
 * Pure: no I/O, no allocation. The strings are the query evhttp hands
 * over, already split from the path and NUL-terminated. */
#ifndef UPSHOT_HTTP_QUERY_H
#define UPSHOT_HTTP_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/* A query string split into name=value spans, still percent-encoded.
 * At most HTTP_QUERY_MAX_PARAMS are kept (no client of ours sends more
 * than eight); `truncated` says there were more, which the router answers
 * with a 400 rather than act on a partial query. */
#define HTTP_QUERY_MAX_PARAMS 32
typedef struct http_query {
    int n;
    bool truncated;
    struct {
        const char *name, *value; /* value NULL for a bare "name" */
        size_t name_len, value_len;
    } params[HTTP_QUERY_MAX_PARAMS];
} http_query;

/* Splits query (NULL: no parameters) into q; q points into query, which
 * must outlive it. Empty pieces ("&&", a trailing "&") are skipped. */
void http_query_parse(http_query *q, const char *query);

/* Percent-decodes the value of the first parameter called `name` into out
 * (cap bytes incl. terminator); '+' decodes to a space. Returns the
 * decoded length, -1 when absent, -2 when too long or badly encoded (or
 * holding a NUL byte). */
int http_query_value(const http_query *q, const char *name, char *out, size_t cap);

#endif

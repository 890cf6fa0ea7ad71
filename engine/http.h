/* http.h: small helpers every handler uses on top of libevent's evhttp.
 *
 * An `http_exchange` is one request being answered: the evhttp request,
 * the route (for metrics), the start time and the CORS origin to echo.
 * Every handler ends in exactly one http_reply_* call on its exchange;
 * that call sends the reply, records the metrics, and makes the request
 * invalid (evhttp frees it), so nothing may touch x->req afterwards.
 *
 * The assign path is hot, so the query string is split once per request
 * into spans (no allocation) and values are decoded on demand into caller
 * buffers (engine/core/http_query.h, pure), and the Date header is
 * formatted once per second rather than by evhttp on every reply. */
#ifndef UPSHOT_HTTP_H
#define UPSHOT_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "http_query.h" /* the query type handlers are given */
#include "metrics.h"

struct evhttp_request;

typedef struct http_exchange {
    struct evhttp_request *req;
    metrics_route route;
    struct timespec t0;
    char cors_origin[256]; /* echoed in Access-Control-Allow-Origin when set */
    char actor[VALIDATE_KEY_MAX + 1]; /* admin routes: the token's name (the
                                         audit log's actor); "" elsewhere */
} http_exchange;

void http_exchange_begin(http_exchange *x, struct evhttp_request *req, metrics_route route);

/* Sends body (a JSON value, stolen) with status. */
void http_reply_json(http_exchange *x, int status, json_t *body);
/* Sends len bytes of pre-serialized JSON (body NULL, len 0: what the
 * handler already wrote into the request's output buffer). */
void http_reply_raw(http_exchange *x, int status, const char *content_type, const char *body,
                    size_t len);
/* Sends {"error": code, "message": formatted}. */
void http_reply_error(http_exchange *x, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats t as an HTTP date, the IMF-fixdate of RFC 9110 section 5.6.7,
 * "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters and a NUL). */
void http_format_date(time_t t, char out[30]);

/* Reads the request body (already fully received by evhttp). Returns 0,
 * or the HTTP status of the problem (413 too large) with nothing read.
 * *out is malloc'ed and NUL-terminated; the caller frees it. */
int http_read_body(struct evhttp_request *req, long max_bytes, char **out, size_t *len);

/* Whether the Content-Type media type is one of the given (NULL-ended). */
bool http_content_type_is(struct evhttp_request *req, const char *const *types);

/* CORS for public endpoints: true when the request may proceed (no Origin
 * header, or an allowed one, which is then recorded in x->cors_origin). */
bool http_cors_allowed(const upshot_config *cfg, struct evhttp_request *req, http_exchange *x);

/* The admin token named by "Authorization: Bearer TOKEN" (config.h's
 * admin_tokens, compared in constant time), or NULL when there is none or
 * it is unknown. Points into cfg: valid until the next reload. */
const token_entry *http_admin_token(const upshot_config *cfg, struct evhttp_request *req);

/* Public SDK key check: true when no keys are configured or the
 * X-Upshot-Key header / key query parameter holds one of them. */
bool http_sdk_key_ok(const upshot_config *cfg, struct evhttp_request *req, const http_query *q);

#endif

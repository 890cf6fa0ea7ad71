/* http.c: reply, body, CORS and auth helpers (see http.h); the query
 * string is split and decoded by engine/core/http_query.c. */
#include "http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access_log.h"
#include "decimal.h"
#include "validate.h"

void http_exchange_begin(http_exchange *x, struct evhttp_request *req, metrics_route route)
{
    x->req = req;
    x->route = route;
    x->cors_origin[0] = '\0';
    x->actor[0] = '\0';
    clock_gettime(CLOCK_MONOTONIC, &x->t0);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "";
    }
}

/* Adds Date and Content-Length before evhttp would: it adds each only
 * when absent, and formats both with printf-style calls on every reply,
 * the date from scratch (together an eighth of a small reply's
 * instructions in callgrind). The date string is formatted once per
 * second. Replies are sent from the event loop's thread only, so the
 * cache needs no lock. Content-Length follows evhttp's rule: none on 1xx,
 * 204 and 304 replies, which have no body. */
static void add_date_and_length(struct evkeyvalq *h, int status, size_t body_len)
{
    static char date[30];
    static time_t date_at = -1;
    time_t now = time(NULL);
    if (now != date_at) {
        http_format_date(now, date);
        date_at = now;
    }
    evhttp_add_header(h, "Date", date);
    if (status < 200 || status == 204 || status == 304)
        return;
    char digits[DECIMAL_U64_BUF];
    decimal_u64(digits, (uint64_t)body_len);
    evhttp_add_header(h, "Content-Length", digits);
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "OTHER";
    }
}

/* The access log's line of this reply (access_log.h). */
static void log_access(struct evhttp_request *req, int status, size_t body_len, double secs)
{
    char *peer = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    if (conn)
        evhttp_connection_get_peer(conn, &peer, &port);
    access_log_write(peer, method_name(evhttp_request_get_command(req)),
                     evhttp_request_get_uri(req), status, body_len, secs);
}

void http_reply_raw(http_exchange *x, int status, const char *content_type, const char *body,
                    size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(x->req);
    if (content_type)
        evhttp_add_header(h, "Content-Type", content_type);
    /* Assign replies carry no validators or expiry, so no cache may keep
     * them; on every other route say so explicitly, unless the handler
     * set a policy of its own (the SDK's routes, which carry ETags).
     * Each header costs a formatted line in evhttp, which shows on the
     * assign hot path. */
    if (x->route != ROUTE_ASSIGN && x->route != ROUTE_ASSIGNMENTS &&
        !evhttp_find_header(h, "Cache-Control")) /* a handler's own policy stands */
        evhttp_add_header(h, "Cache-Control", "no-store");
    if (x->cors_origin[0]) {
        evhttp_add_header(h, "Access-Control-Allow-Origin", x->cors_origin);
        evhttp_add_header(h, "Vary", "Origin");
        if (status == 503) /* so the SDK can read when to come back */
            evhttp_add_header(h, "Access-Control-Expose-Headers", "Retry-After");
    }
    struct evbuffer *out = evhttp_request_get_output_buffer(x->req);
    if (len)
        evbuffer_add(out, body, len);
    size_t body_len = evbuffer_get_length(out);
    add_date_and_length(h, status, body_len);
    /* HEAD answers as GET would, Content-Length included, without the
     * body: evhttp keeps the Content-Length set above for a HEAD and
     * would send whatever the buffer holds. */
    if (evhttp_request_get_command(x->req) == EVHTTP_REQ_HEAD) {
        evbuffer_drain(out, body_len);
        body_len = 0;
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - x->t0.tv_sec) + (double)(t1.tv_nsec - x->t0.tv_nsec) / 1e9;
    metrics_observe_request(x->route, status, secs);
    if (access_log_on())
        log_access(x->req, status, body_len, secs);
    evhttp_send_reply(x->req, status, reason_phrase(status), NULL);
    x->req = NULL;
}

void http_reply_json(http_exchange *x, int status, json_t *body)
{
    /* 15 significant digits: 0.15 prints as 0.15, not 0.14999999999999999;
     * the state file, which must round-trip exactly, keeps 17. */
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(body);
    if (!text) {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";
        http_reply_raw(x, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    http_reply_raw(x, status, "application/json", text, strlen(text));
    free(text);
}

void http_reply_error(http_exchange *x, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_reply_json(x, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

void http_format_date(time_t t, char out[30])
{
    /* By hand rather than strftime: %a and %b follow the locale. */
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
}

int http_read_body(struct evhttp_request *req, long max_bytes, char **out, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if ((long)n > max_bytes)
        return 413;
    char *buf = malloc(n + 1);
    if (!buf)
        return 500;
    evbuffer_copyout(in, buf, n);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

bool http_content_type_is(struct evhttp_request *req, const char *const *types)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    for (; *types; types++)
        if (strlen(*types) == n && strncasecmp(ct, *types, n) == 0)
            return true;
    return false;
}

bool http_cors_allowed(const upshot_config *cfg, struct evhttp_request *req, http_exchange *x)
{
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    if (!origin)
        return true;
    bool ok = cfg->cors_any;
    for (int i = 0; i < cfg->ncors && !ok; i++)
        ok = strcmp(cfg->cors_origins[i], origin) == 0;
    if (ok && strlen(origin) < sizeof x->cors_origin)
        snprintf(x->cors_origin, sizeof x->cors_origin, "%s", origin);
    return ok && x->cors_origin[0];
}

const token_entry *http_admin_token(const upshot_config *cfg, struct evhttp_request *req)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7])
        return NULL;
    return token_table_find(&cfg->admin_tokens, auth + 7, strlen(auth + 7));
}

bool http_sdk_key_ok(const upshot_config *cfg, struct evhttp_request *req, const http_query *q)
{
    if (cfg->nsdk_keys == 0)
        return true;
    char qkey[160];
    const char *key = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Upshot-Key");
    if (!key && http_query_value(q, "key", qkey, sizeof qkey) >= 0)
        key = qkey;
    if (!key)
        return false;
    bool ok = false;
    for (int i = 0; i < cfg->nsdk_keys; i++)
        ok |= validate_equal_const_time(key, strlen(key), cfg->sdk_keys[i], strlen(cfg->sdk_keys[i]));
    return ok;
}

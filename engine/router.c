/* router.c: the route table and the dispatch (see router.h). */
#include "router.h"

#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "bandit.h"

/* Answers a browser's CORS preflight: the page may then send its request
 * with the X-Upshot-Key header. A preflight carries no key itself. */
static void preflight(upshotd *d, http_exchange *x, const http_query *q, const route_params *p)
{
    if (!http_cors_allowed(&d->cfg, x->req, x)) {
        http_reply_error(x, 403, "origin_not_allowed", "this origin is not in cors_origins");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(x->req);
    evhttp_add_header(h, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    evhttp_add_header(h, "Access-Control-Allow-Headers", "Content-Type, X-Upshot-Key");
    evhttp_add_header(h, "Access-Control-Max-Age", "600");
    http_reply_raw(x, 204, NULL, NULL, 0);
}

#define PUBLIC(methods, path, metric, handler) \
    {{methods, path}, ROUTER_AUTH_SDK_KEY, metric, handler}, \
    {{ROUTE_OPTIONS, path}, ROUTER_AUTH_NONE, ROUTE_OTHER, preflight}
#define ADMIN(methods, path, metric, handler) {{methods, path}, ROUTER_AUTH_ADMIN, metric, handler}

/* Rows are tried in order, so the hot path comes first: GET /v1/assign is
 * answered by the first row after about ten character comparisons. Every
 * GET row takes HEAD too: http_reply_raw drops the body and keeps the
 * headers GET would send. */
static const router_row rows[] = {
    PUBLIC(ROUTE_GET | ROUTE_HEAD, "/v1/assign", ROUTE_ASSIGN, api_assign),
    PUBLIC(ROUTE_GET | ROUTE_HEAD, "/v1/assignments", ROUTE_ASSIGNMENTS, api_assignments),
    PUBLIC(ROUTE_POST, "/v1/events", ROUTE_EVENTS, api_events),
    PUBLIC(ROUTE_GET | ROUTE_HEAD, "/v1/sdk/config", ROUTE_SDK_CONFIG, api_sdk_config),
    {{ROUTE_GET | ROUTE_HEAD, "/v1/sdk/upshot.js"}, ROUTER_AUTH_NONE, ROUTE_OTHER, api_sdk_bundle},
    {{ROUTE_GET | ROUTE_HEAD, "/healthz"}, ROUTER_AUTH_NONE, ROUTE_HEALTHZ, upshotd_healthz},
    {{ROUTE_GET | ROUTE_HEAD, "/metrics"}, ROUTER_AUTH_NONE, ROUTE_METRICS, upshotd_metrics},
    ADMIN(ROUTE_GET | ROUTE_HEAD, "/v1/experiments", ROUTE_ADMIN, api_admin_list),
    ADMIN(ROUTE_POST, "/v1/experiments", ROUTE_ADMIN, api_admin_create),
    ADMIN(ROUTE_GET | ROUTE_HEAD, "/v1/experiments/{key}", ROUTE_ADMIN, api_admin_get),
    ADMIN(ROUTE_PUT, "/v1/experiments/{key}", ROUTE_ADMIN, api_admin_replace),
    ADMIN(ROUTE_POST, "/v1/experiments/{key}/start", ROUTE_ADMIN, api_admin_start),
    ADMIN(ROUTE_POST, "/v1/experiments/{key}/stop", ROUTE_ADMIN, api_admin_stop),
    ADMIN(ROUTE_GET | ROUTE_HEAD, "/v1/experiments/{key}/results", ROUTE_RESULTS, api_admin_results),
    ADMIN(ROUTE_GET | ROUTE_HEAD, "/v1/experiments/{key}/log", ROUTE_ADMIN, api_admin_log),
    ADMIN(ROUTE_GET | ROUTE_HEAD, "/v1/experiments/{key}/promotions", ROUTE_ADMIN, api_admin_promotions),
    ADMIN(ROUTE_POST, "/v1/experiments/{key}/promotions", ROUTE_ADMIN, api_admin_promote),
    ADMIN(ROUTE_DELETE, "/v1/experiments/{key}/promotions/{region}", ROUTE_ADMIN,
          api_admin_unpromote),
    ADMIN(ROUTE_GET | ROUTE_HEAD, "/v1/experiments/{key}/breaker", ROUTE_ADMIN, api_admin_breaker),
    ADMIN(ROUTE_POST, "/v1/experiments/{key}/breaker/reset", ROUTE_ADMIN,
          api_admin_breaker_reset),
    ADMIN(ROUTE_GET | ROUTE_HEAD, "/v1/experiments/{key}/bandit", ROUTE_ADMIN, api_bandit_get),
    ADMIN(ROUTE_POST, "/v1/experiments/{key}/bandit/update", ROUTE_ADMIN, api_bandit_update),
    ADMIN(ROUTE_POST, "/v1/admin/reload", ROUTE_ADMIN, api_admin_reload),
};

const router_row *router_rows(size_t *n)
{
    *n = sizeof rows / sizeof *rows;
    return rows;
}

static unsigned method_bit(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return ROUTE_GET;
    case EVHTTP_REQ_HEAD: return ROUTE_HEAD;
    case EVHTTP_REQ_POST: return ROUTE_POST;
    case EVHTTP_REQ_PUT: return ROUTE_PUT;
    case EVHTTP_REQ_DELETE: return ROUTE_DELETE;
    case EVHTTP_REQ_PATCH: return ROUTE_PATCH;
    case EVHTTP_REQ_OPTIONS: return ROUTE_OPTIONS;
    default: return 0; /* evhttp_set_allowed_methods keeps the others out */
    }
}

/* The checks of an authentication class. Replies and returns false when
 * the request may not go on. */
static bool authorized(upshotd *d, const router_row *r, http_exchange *x, const http_query *q)
{
    switch (r->auth) {
    case ROUTER_AUTH_NONE:
        return true;
    case ROUTER_AUTH_SDK_KEY:
        if (!http_cors_allowed(&d->cfg, x->req, x)) {
            http_reply_error(x, 403, "origin_not_allowed", "this origin is not in cors_origins");
            return false;
        }
        if (!http_sdk_key_ok(&d->cfg, x->req, q)) {
            http_reply_error(x, 401, "invalid_sdk_key", "missing or unknown SDK key (X-Upshot-Key)");
            return false;
        }
        return true;
    case ROUTER_AUTH_ADMIN: {
        const token_entry *t = http_admin_token(&d->cfg, x->req);
        if (!t) {
            evhttp_add_header(evhttp_request_get_output_headers(x->req), "WWW-Authenticate",
                              "Bearer");
            http_reply_error(x, 401, "unauthorized",
                             "admin endpoints need Authorization: Bearer <admin token>");
            return false;
        }
        /* A row that only reads (GET, HEAD) needs a read token; any other
         * row changes something and needs a write token. */
        token_role need = (r->spec.methods & ~(unsigned)(ROUTE_GET | ROUTE_HEAD))
                              ? TOKEN_ROLE_WRITE : TOKEN_ROLE_READ;
        if (!token_role_allows(t->role, need)) {
            http_reply_error(x, 403, "forbidden", "this endpoint needs a %s token; token %s has role %s",
                             token_role_name(need), t->name, token_role_name(t->role));
            return false;
        }
        snprintf(x->actor, sizeof x->actor, "%s", t->name);
        return true;
    }
    }
    return false;
}

void router_dispatch(struct evhttp_request *req, void *arg)
{
    upshotd *d = arg;
    http_exchange x;
    http_exchange_begin(&x, req, ROUTE_OTHER); /* until a row is known */
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    if (!path)
        path = "/";
    http_query q; /* split once; handlers decode what they read */
    http_query_parse(&q, evhttp_uri_get_query(uri));
    if (q.truncated) {
        http_reply_error(&x, 400, "too_many_parameters", "at most %d query parameters",
                         HTTP_QUERY_MAX_PARAMS);
        return;
    }
    route_params p;
    route_lookup lk;
    route_find(rows, sizeof rows / sizeof *rows, sizeof *rows,
               method_bit(evhttp_request_get_command(req)), path, &p, &lk);
    if (lk.row >= 0) { /* the common case: a row answers */
        const router_row *r = &rows[lk.row];
        x.route = r->metric;
        if (authorized(d, r, &x, &q))
            r->handler(d, &x, &q, &p);
        return;
    }
    int known = lk.path_row >= 0 ? lk.path_row : lk.bad_row;
    if (known < 0) {
        http_reply_error(&x, 404, "not_found", "no such endpoint: %.200s", path);
        return;
    }
    /* The admin surface answers nothing, not even a 405, without a token. */
    const router_row *r = &rows[known];
    if (r->auth == ROUTER_AUTH_ADMIN) {
        x.route = r->metric;
        if (!authorized(d, r, &x, &q))
            return;
    }
    if (lk.bad_row >= 0) {
        x.route = r->metric;
        if (strcmp(lk.bad_name, "key") == 0)
            http_reply_error(&x, 404, "unknown_experiment",
                             "experiment keys are [a-z0-9][a-z0-9_-]*, at most %d characters",
                             VALIDATE_KEY_MAX);
        else
            http_reply_error(&x, 404, "not_found", "%s: not a valid key", lk.bad_name);
        return;
    }
    char allow[ROUTE_ALLOW_MAX];
    route_allow_format(lk.allow, allow);
    x.route = ROUTE_OTHER;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    http_reply_error(&x, 405, "method_not_allowed", "allowed: %s", allow);
}

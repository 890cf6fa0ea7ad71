/* router.h: upshotd's route table and the evhttp callback that walks it.
 *
 * Every endpoint is one row: the methods it answers, its path pattern
 * (engine/core/route.h: literal segments and {named} parameters that must
 * be valid keys), its authentication class, its metrics route and its
 * handler (api.h). The router answers alone, in this order:
 *
 *   more than HTTP_QUERY_MAX_PARAMS query parameters   400
 *   a path no row's pattern fits                      404 not_found
 *   admin rows: no valid bearer token                 401 (any method)
 *   admin rows that change something: a read token    403 forbidden
 *   a {key} that is not a valid key                   404 unknown_experiment
 *   another parameter that is not a valid key         404 not_found
 *   a known path, a method none of its rows has        405, Allow: its rows' methods
 *   SDK-key rows: Origin not in cors_origins          403
 *   SDK-key rows: no valid SDK key (when configured)   401
 *
 * and then calls the row's handler, which ends in exactly one reply. The
 * CORS preflight (OPTIONS) of each public path is a row of its own. */
#ifndef UPSHOT_ROUTER_H
#define UPSHOT_ROUTER_H

#include <stddef.h>

#include "api.h"
#include "metrics.h"
#include "route.h"

struct evhttp_request;

typedef enum {
    ROUTER_AUTH_NONE,    /* anyone (health, metrics, CORS preflight) */
    ROUTER_AUTH_SDK_KEY, /* the shop's pages: CORS origin, then SDK key */
    ROUTER_AUTH_ADMIN,   /* the growth team: Authorization: Bearer <admin token>;
                            a GET/HEAD row takes a read or write token, any
                            other row a write token (token_table.h) */
} router_auth;

typedef struct router_row {
    route_spec spec;      /* methods and pattern; first, as route_find needs */
    router_auth auth;
    metrics_route metric; /* the route its requests are counted under */
    api_handler *handler;
} router_row;

/* The table (static storage), and its number of rows in *n. */
const router_row *router_rows(size_t *n);

/* The evhttp general callback; arg is the upshotd. */
void router_dispatch(struct evhttp_request *req, void *arg);

#endif

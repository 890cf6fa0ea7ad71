/* route.h: matching request paths against a route table's patterns.
 *
 * A pattern is a path made of literal segments and named parameters,
 * "/v1/experiments/{key}/promotions/{region}". A parameter matches one
 * segment holding a valid key (validate.h: [a-z0-9][a-z0-9_-]*, at most
 * VALIDATE_KEY_MAX bytes), and its value is copied out, so handlers get
 * checked, NUL-terminated strings and never parse a path themselves.
 *
 * The table itself (methods, pattern, and whatever the caller needs per
 * row: handlers, an authentication class) belongs to the caller; it
 * starts each row with a route_spec and route_find walks the rows with
 * the caller's stride. Pure: no I/O, no allocation. A lookup is one pass
 * over the rows, each compared character by character with the path and
 * abandoned at the first difference, so on the hot path, whose row comes
 * first, it costs about as many comparisons as the path has characters.
 * Rows are tried in order and the first one whose pattern and method fit
 * answers. */
#ifndef UPSHOT_ROUTE_H
#define UPSHOT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "validate.h"

/* Methods as bits, in the order an Allow header lists them. */
typedef enum {
    ROUTE_GET = 1u << 0,
    ROUTE_HEAD = 1u << 1,
    ROUTE_POST = 1u << 2,
    ROUTE_PUT = 1u << 3,
    ROUTE_DELETE = 1u << 4,
    ROUTE_PATCH = 1u << 5,
    ROUTE_OPTIONS = 1u << 6,
} route_method;

/* The first fields of every row of a route table. */
typedef struct route_spec {
    unsigned methods;    /* route_method bits this row answers */
    const char *pattern; /* "/literal/{param}/..." (static storage) */
} route_spec;

/* Parameters are few: the deepest pattern has two. */
#define ROUTE_MAX_PARAMS 2

typedef struct route_params {
    int n;
    struct {
        const char *name; /* points into the pattern, name_len bytes, not terminated */
        size_t name_len;
        char value[VALIDATE_KEY_MAX + 1]; /* a valid key, NUL-terminated */
    } p[ROUTE_MAX_PARAMS];
} route_params;

typedef enum {
    ROUTE_NO_MATCH,  /* the path does not have the pattern's shape */
    ROUTE_MATCH,     /* out holds every parameter */
    ROUTE_BAD_PARAM, /* the shape fits but a parameter's segment is not a
                        valid key; out->p[out->n] names it (its value is
                        left empty) */
} route_match_result;

/* Matches path (no query string) against pattern. An empty segment never
 * matches a parameter, so "/v1/experiments/" is not "/v1/experiments/{key}".
 * out is overwritten even when the result is ROUTE_NO_MATCH. */
route_match_result route_match(const char *pattern, const char *path, route_params *out);

/* The value of parameter `name`, or NULL when the pattern has none. */
const char *route_param(const route_params *p, const char *name);

typedef struct route_lookup {
    int row;          /* the row that answers, or -1 */
    int path_row;     /* the first row whose pattern fits the path, any
                         method; -1 when none does (a 404) */
    unsigned allow;   /* methods of every row whose pattern fits the path:
                         with row -1 and path_row >= 0, a 405 */
    int bad_row;      /* with path_row -1: the first row whose shape fits
                         but whose parameter is not a valid key, else -1 */
    char bad_name[24]; /* that parameter's name ("key"), NUL-terminated */
} route_lookup;

/* Finds the row for method (one route_method bit) and path among n rows
 * that start stride bytes apart, each with a route_spec. On a match,
 * params holds the row's parameters (else anything). Stops at the first
 * row that answers; only a miss visits every row (to build `allow`). */
void route_find(const void *rows, size_t n, size_t stride, unsigned method, const char *path,
                route_params *params, route_lookup *out);

/* The Allow header for a method set, in the enum's order:
 * "GET, POST, OPTIONS". out needs ROUTE_ALLOW_MAX bytes. */
#define ROUTE_ALLOW_MAX 64
void route_allow_format(unsigned methods, char out[ROUTE_ALLOW_MAX]);

/* "GET" for ROUTE_GET; NULL for anything but a single known bit. */
const char *route_method_name(unsigned method);

/* The bit of an upper-case method name of len bytes; 0 when unknown. */
unsigned route_method_parse(const char *name, size_t len);

#endif

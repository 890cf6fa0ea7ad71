/* Tests for route.h: path patterns with {named} parameters, the walk of a
 * route table (first row that fits answers; a known path with another
 * method gives the methods for Allow; a parameter that is not a key is
 * reported by name), and the Allow header's format. Cases are tables. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "route.h"

TestSuite(route);

static const struct {
    const char *pattern, *path;
    route_match_result want;
    const char *key, *region; /* expected values, NULL when absent */
} match_cases[] = {
    {"/v1/assign", "/v1/assign", ROUTE_MATCH, NULL, NULL},
    {"/v1/assign", "/v1/assignments", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/assignments", "/v1/assign", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/assign", "/v1/assign/", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/assign", "", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/experiments/{key}", "/v1/experiments/checkout-tiers", ROUTE_MATCH, "checkout-tiers", NULL},
    {"/v1/experiments/{key}", "/v1/experiments", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/experiments/{key}", "/v1/experiments/", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/experiments/{key}", "/v1/experiments/a/start", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/experiments/{key}", "/v1/experiments/Bad!", ROUTE_BAD_PARAM, NULL, NULL},
    {"/v1/experiments/{key}", "/v1/experiments/a%2Fb", ROUTE_BAD_PARAM, NULL, NULL},
    {"/v1/experiments/{key}/start", "/v1/experiments/a/start", ROUTE_MATCH, "a", NULL},
    {"/v1/experiments/{key}/start", "/v1/experiments/a/stop", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/experiments/{key}/start", "/v1/experiments//start", ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/experiments/{key}/start", "/v1/experiments/UP/start", ROUTE_BAD_PARAM, NULL, NULL},
    {"/v1/experiments/{key}/promotions/{region}", "/v1/experiments/x_1/promotions/gr",
     ROUTE_MATCH, "x_1", "gr"},
    {"/v1/experiments/{key}/promotions/{region}", "/v1/experiments/x/promotions/GR",
     ROUTE_BAD_PARAM, "x", NULL},
    {"/v1/experiments/{key}/promotions/{region}", "/v1/experiments/x/promotions/gr/extra",
     ROUTE_NO_MATCH, NULL, NULL},
    {"/v1/experiments/{key}/promotions/{region}", "/v1/experiments/x/promotions",
     ROUTE_NO_MATCH, NULL, NULL},
};

Test(route, matches_literal_segments_and_extracts_parameters_that_are_keys)
{
    for (size_t i = 0; i < sizeof match_cases / sizeof *match_cases; i++) {
        route_params p;
        route_match_result r = route_match(match_cases[i].pattern, match_cases[i].path, &p);
        cr_expect_eq(r, match_cases[i].want, "%s against %s: %d, want %d", match_cases[i].path,
                     match_cases[i].pattern, r, match_cases[i].want);
        if (r != ROUTE_MATCH)
            continue;
        const char *key = route_param(&p, "key"), *region = route_param(&p, "region");
        if (match_cases[i].key)
            cr_expect(key && strcmp(key, match_cases[i].key) == 0, "%s: key %s, want %s",
                      match_cases[i].path, key ? key : "(none)", match_cases[i].key);
        else
            cr_expect_null(key, "%s: no key expected", match_cases[i].path);
        if (match_cases[i].region)
            cr_expect(region && strcmp(region, match_cases[i].region) == 0, "%s: region %s",
                      match_cases[i].path, region ? region : "(none)");
        else
            cr_expect_null(region, "%s: no region expected", match_cases[i].path);
    }
}

Test(route, takes_a_parameter_of_the_longest_key_and_refuses_one_byte_more)
{
    char path[128 + VALIDATE_KEY_MAX], key[VALIDATE_KEY_MAX + 2];
    memset(key, 'k', VALIDATE_KEY_MAX);
    key[VALIDATE_KEY_MAX] = '\0';
    snprintf(path, sizeof path, "/e/%s/x", key);
    route_params p;
    cr_assert_eq(route_match("/e/{key}/x", path, &p), ROUTE_MATCH);
    cr_expect_str_eq(route_param(&p, "key"), key);
    key[VALIDATE_KEY_MAX] = 'k';
    key[VALIDATE_KEY_MAX + 1] = '\0';
    snprintf(path, sizeof path, "/e/%s/x", key);
    cr_expect_eq(route_match("/e/{key}/x", path, &p), ROUTE_BAD_PARAM);
}

Test(route, names_the_parameter_that_is_not_a_key)
{
    route_params p;
    cr_assert_eq(route_match("/e/{key}/p/{region}", "/e/ok/p/NOPE", &p), ROUTE_BAD_PARAM);
    cr_assert_eq(p.n, 1); /* key was fine; p.p[1] names the bad one */
    cr_expect_eq(p.p[1].name_len, strlen("region"));
    cr_expect(memcmp(p.p[1].name, "region", 6) == 0);
}

/* A table as a caller lays one out: route_spec first, then its own fields. */
typedef struct {
    route_spec spec;
    int id;
} row;

static const row table[] = {
    {{ROUTE_GET, "/v1/assign"}, 1},
    {{ROUTE_OPTIONS, "/v1/assign"}, 2},
    {{ROUTE_GET, "/v1/experiments"}, 3},
    {{ROUTE_POST, "/v1/experiments"}, 4},
    {{ROUTE_GET, "/v1/experiments/{key}"}, 5},
    {{ROUTE_PUT, "/v1/experiments/{key}"}, 6},
    {{ROUTE_GET | ROUTE_HEAD, "/healthz"}, 7},
    {{ROUTE_DELETE, "/v1/experiments/{key}/promotions/{region}"}, 8},
};

static route_lookup find(unsigned method, const char *path, route_params *p)
{
    route_lookup lk;
    route_find(table, sizeof table / sizeof *table, sizeof *table, method, path, p, &lk);
    return lk;
}

static const struct {
    unsigned method;
    const char *path;
    int want_id;           /* the answering row's id, 0 for none */
    const char *allow;     /* expected Allow when no row answers a known path */
    const char *bad_param; /* expected bad parameter name */
} find_cases[] = {
    {ROUTE_GET, "/v1/assign", 1, NULL, NULL},
    {ROUTE_OPTIONS, "/v1/assign", 2, NULL, NULL},
    {ROUTE_POST, "/v1/assign", 0, "GET, OPTIONS", NULL},
    {ROUTE_POST, "/v1/experiments", 4, NULL, NULL},
    {ROUTE_DELETE, "/v1/experiments", 0, "GET, POST", NULL},
    {ROUTE_PUT, "/v1/experiments/a", 6, NULL, NULL},
    {ROUTE_DELETE, "/v1/experiments/a", 0, "GET, PUT", NULL},
    {ROUTE_HEAD, "/healthz", 7, NULL, NULL},
    {ROUTE_POST, "/healthz", 0, "GET, HEAD", NULL},
    {ROUTE_GET, "/v1/experiments/a/promotions/gr", 0, "DELETE", NULL},
    {ROUTE_GET, "/v1/experiments/Bad", 0, NULL, "key"},
    {ROUTE_DELETE, "/v1/experiments/a/promotions/GR", 0, NULL, "region"},
    {ROUTE_GET, "/v2/assign", 0, NULL, NULL},
    {0, "/v1/assign", 0, "GET, OPTIONS", NULL}, /* a method the table does not know */
};

Test(route, finds_the_first_row_that_fits_and_else_says_why_not)
{
    for (size_t i = 0; i < sizeof find_cases / sizeof *find_cases; i++) {
        route_params p;
        route_lookup lk = find(find_cases[i].method, find_cases[i].path, &p);
        const char *what = find_cases[i].path;
        int got_id = lk.row >= 0 ? table[lk.row].id : 0;
        cr_expect_eq(got_id, find_cases[i].want_id, "%s: row %d, want %d", what, got_id,
                     find_cases[i].want_id);
        if (find_cases[i].want_id) {
            cr_expect_eq(lk.bad_row, -1, "%s", what);
            continue;
        }
        if (find_cases[i].allow) {
            char allow[ROUTE_ALLOW_MAX];
            route_allow_format(lk.allow, allow);
            cr_expect_geq(lk.path_row, 0, "%s: a known path", what);
            cr_expect_str_eq(allow, find_cases[i].allow, "%s", what);
            cr_expect_eq(lk.bad_row, -1, "%s", what);
        } else if (find_cases[i].bad_param) {
            cr_expect_eq(lk.path_row, -1, "%s", what);
            cr_expect_geq(lk.bad_row, 0, "%s: a bad parameter", what);
            cr_expect_str_eq(lk.bad_name, find_cases[i].bad_param, "%s", what);
        } else {
            cr_expect_eq(lk.path_row, -1, "%s: unknown", what);
            cr_expect_eq(lk.bad_row, -1, "%s: unknown", what);
        }
    }
}

Test(route, hands_the_answering_rows_parameters_to_the_caller)
{
    route_params p;
    /* Rows with parameters are tried before the one that answers: the
     * answering row's parameters are the ones handed over. */
    route_lookup lk = find(ROUTE_DELETE, "/v1/experiments/exp-1/promotions/se", &p);
    cr_assert_eq(table[lk.row].id, 8);
    cr_expect_str_eq(route_param(&p, "key"), "exp-1");
    cr_expect_str_eq(route_param(&p, "region"), "se");
    lk = find(ROUTE_PUT, "/v1/experiments/exp-2", &p);
    cr_assert_eq(table[lk.row].id, 6);
    cr_expect_str_eq(route_param(&p, "key"), "exp-2");
    cr_expect_null(route_param(&p, "region"));
}

Test(route, formats_allow_in_a_fixed_order_and_names_methods)
{
    char allow[ROUTE_ALLOW_MAX];
    route_allow_format(ROUTE_OPTIONS | ROUTE_DELETE | ROUTE_GET, allow);
    cr_expect_str_eq(allow, "GET, DELETE, OPTIONS");
    route_allow_format(0, allow);
    cr_expect_str_eq(allow, "");
    route_allow_format(ROUTE_GET | ROUTE_HEAD | ROUTE_POST | ROUTE_PUT | ROUTE_DELETE |
                           ROUTE_PATCH | ROUTE_OPTIONS,
                       allow);
    cr_expect_str_eq(allow, "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    cr_expect_str_eq(route_method_name(ROUTE_PUT), "PUT");
    cr_expect_null(route_method_name(ROUTE_GET | ROUTE_PUT));
    cr_expect_eq(route_method_parse("DELETE", 6), ROUTE_DELETE);
    cr_expect_eq(route_method_parse("GETX", 3), ROUTE_GET);
    cr_expect_eq(route_method_parse("get", 3), 0u);
}

/* Tests for router.h: the route table against the API's two documents.
 * Every endpoint docs/api.md or docs/openapi.yaml names has a row, every
 * row is named in both, and the table keeps the promises router.h makes
 * (one authentication class per path, a CORS preflight row for each
 * public path, patterns the matcher can take). The requests themselves
 * are tested against a running upshotd (tests/integration). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

TestSuite(router);

#define MAX_DOCUMENTED 128

typedef struct {
    unsigned method;
    char path[160];
} endpoint;

typedef struct {
    const char *file;
    endpoint e[MAX_DOCUMENTED];
    size_t n;
} endpoints;

static void add(endpoints *eps, unsigned method, const char *path, size_t len)
{
    cr_assert_neq(method, 0u, "%s: unknown method before %.*s", eps->file, (int)len, path);
    cr_assert_lt(len, sizeof eps->e[0].path, "%s: path too long", eps->file);
    for (size_t i = 0; i < eps->n; i++)
        if (eps->e[i].method == method && strlen(eps->e[i].path) == len &&
            memcmp(eps->e[i].path, path, len) == 0)
            return;
    cr_assert_lt(eps->n, MAX_DOCUMENTED);
    eps->e[eps->n].method = method;
    memcpy(eps->e[eps->n].path, path, len);
    eps->e[eps->n].path[len] = '\0';
    eps->n++;
}

static FILE *open_doc(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/%s", UPSHOT_SOURCE_DIR, name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot read %s", path);
    return f;
}

/* "METHOD /path" at s (len bytes) into eps; false when s is not one. */
static bool add_method_path(endpoints *eps, const char *s, size_t len)
{
    const char *sp = memchr(s, ' ', len);
    if (!sp || sp + 1 >= s + len || sp[1] != '/')
        return false;
    unsigned m = route_method_parse(s, (size_t)(sp - s));
    if (!m)
        return false;
    const char *path = sp + 1;
    size_t plen = strcspn(path, " `\n");
    if (path + plen > s + len)
        plen = (size_t)(s + len - path);
    add(eps, m, path, plen);
    return true;
}

/* docs/api.md names an endpoint in a heading "### GET /v1/assign" or in a
 * code span "`POST /v1/experiments`" (the admin table). */
static void read_api_md(endpoints *eps)
{
    eps->file = "docs/api.md";
    FILE *f = open_doc("api.md");
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "### ", 4) == 0)
            add_method_path(eps, line + 4, strlen(line + 4));
        for (const char *p = strchr(line, '`'); p; p = strchr(p, '`')) {
            const char *end = strchr(p + 1, '`');
            if (!end)
                break;
            add_method_path(eps, p + 1, (size_t)(end - p - 1));
            p = end + 1;
        }
    }
    fclose(f);
}

/* docs/openapi.yaml: the keys of `paths:` (two spaces in) and their
 * operations (four spaces in: get, post, ...). */
static void read_openapi(endpoints *eps)
{
    eps->file = "docs/openapi.yaml";
    FILE *f = open_doc("openapi.yaml");
    char line[2048], path[160] = "";
    bool in_paths = false;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != ' ' && line[0] != '\n') {
            in_paths = strncmp(line, "paths:", 6) == 0;
            continue;
        }
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0) {
            size_t len = strcspn(line + 2, ":");
            cr_assert_lt(len, sizeof path);
            memcpy(path, line + 2, len);
            path[len] = '\0';
        } else if (path[0] && strncmp(line, "    ", 4) == 0 && line[4] != ' ') {
            size_t len = strcspn(line + 4, ":");
            char upper[16];
            if (len >= sizeof upper)
                continue;
            for (size_t i = 0; i < len; i++)
                upper[i] = (char)(line[4 + i] >= 'a' && line[4 + i] <= 'z' ? line[4 + i] - 32
                                                                          : line[4 + i]);
            unsigned m = route_method_parse(upper, len);
            if (m) /* "parameters:" and the like are not operations */
                add(eps, m, path, strlen(path));
        }
    }
    fclose(f);
}

static bool has_row(unsigned method, const char *path)
{
    size_t n;
    const router_row *rows = router_rows(&n);
    for (size_t i = 0; i < n; i++)
        if ((rows[i].spec.methods & method) && strcmp(rows[i].spec.pattern, path) == 0)
            return true;
    return false;
}

static bool documented(const endpoints *eps, unsigned method, const char *path)
{
    for (size_t i = 0; i < eps->n; i++)
        if (eps->e[i].method == method && strcmp(eps->e[i].path, path) == 0)
            return true;
    return false;
}

/* Both ways: each documented endpoint has a row; each row's methods are
 * documented, except OPTIONS, the CORS preflight of every public path,
 * which api.md describes once for all of them, and, when head_implied
 * (api.md), HEAD of a GET row, which it also describes once. */
static void check_against(const endpoints *eps, bool head_implied)
{
    cr_assert_geq(eps->n, 15u, "%s: only %zu endpoints found: is the parser reading it?",
                  eps->file, eps->n);
    for (size_t i = 0; i < eps->n; i++)
        cr_expect(has_row(eps->e[i].method, eps->e[i].path), "%s documents %s %s: no row",
                  eps->file, route_method_name(eps->e[i].method), eps->e[i].path);
    size_t n;
    const router_row *rows = router_rows(&n);
    for (size_t i = 0; i < n; i++)
        for (unsigned m = 1; m <= ROUTE_OPTIONS; m <<= 1)
            if ((rows[i].spec.methods & m) && m != ROUTE_OPTIONS &&
                !(head_implied && m == ROUTE_HEAD && (rows[i].spec.methods & ROUTE_GET)))
                cr_expect(documented(eps, m, rows[i].spec.pattern), "%s %s: not in %s",
                          route_method_name(m), rows[i].spec.pattern, eps->file);
}

Test(router, every_endpoint_of_api_md_has_a_row_and_every_row_is_in_it)
{
    static endpoints eps;
    read_api_md(&eps);
    check_against(&eps, true);
}

Test(router, every_endpoint_of_openapi_has_a_row_and_every_row_is_in_it)
{
    static endpoints eps;
    read_openapi(&eps);
    check_against(&eps, false);
}

Test(router, keeps_one_auth_class_per_path_and_a_preflight_for_public_paths)
{
    size_t n;
    const router_row *rows = router_rows(&n);
    for (size_t i = 0; i < n; i++) {
        const router_row *r = &rows[i];
        bool is_preflight = r->spec.methods == ROUTE_OPTIONS;
        if (is_preflight) {
            cr_expect_eq(r->auth, ROUTER_AUTH_NONE, "%s: a preflight carries no key",
                         r->spec.pattern);
            continue;
        }
        cr_expect_eq(r->spec.methods & ROUTE_OPTIONS, 0u, "%s: OPTIONS is a row of its own",
                     r->spec.pattern);
        bool has_preflight = false;
        for (size_t k = 0; k < n; k++) {
            const router_row *o = &rows[k];
            if (strcmp(o->spec.pattern, r->spec.pattern) != 0)
                continue;
            if (o->spec.methods == ROUTE_OPTIONS)
                has_preflight = true;
            else
                cr_expect_eq(o->auth, r->auth, "%s: two authentication classes",
                             r->spec.pattern);
            cr_expect(k == i || (o->spec.methods & r->spec.methods) == 0,
                      "%s: two rows answer the same method", r->spec.pattern);
        }
        cr_expect_eq(has_preflight, r->auth == ROUTER_AUTH_SDK_KEY,
                     "%s: public paths, and only they, answer a CORS preflight",
                     r->spec.pattern);
    }
}

Test(router, every_pattern_matches_a_path_of_its_own_shape)
{
    size_t n;
    const router_row *rows = router_rows(&n);
    for (size_t i = 0; i < n; i++) {
        char path[256];
        size_t len = 0;
        for (const char *p = rows[i].spec.pattern; *p && len + 2 < sizeof path; p++) {
            if (*p == '{') {
                path[len++] = 'k';
                p = strchr(p, '}');
                cr_assert_not_null(p, "%s: unclosed {", rows[i].spec.pattern);
            } else {
                path[len++] = *p;
            }
        }
        path[len] = '\0';
        route_params params;
        cr_expect_eq(route_match(rows[i].spec.pattern, path, &params), ROUTE_MATCH,
                     "%s does not match %s", rows[i].spec.pattern, path);
        cr_expect_not_null(rows[i].handler, "%s: no handler", rows[i].spec.pattern);
    }
}

/* route.c: path patterns and the table walk (see route.h). */
#include "route.h"

#include <string.h>

static const char *const method_names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                           "OPTIONS"};
#define NMETHODS (sizeof method_names / sizeof *method_names)

route_match_result route_match(const char *pattern, const char *path, route_params *out)
{
    const char *pa = pattern, *pp = path;
    out->n = 0;
    bool bad = false; /* a parameter did not hold a key; keep going for the shape */
    while (*pa) {
        if (*pa != '{') {
            if (*pa != *pp)
                return ROUTE_NO_MATCH;
            pa++;
            pp++;
            continue;
        }
        const char *name = pa + 1;
        const char *close = strchr(name, '}');
        if (!close || out->n == ROUTE_MAX_PARAMS)
            return ROUTE_NO_MATCH; /* a malformed pattern matches nothing */
        size_t seg = strcspn(pp, "/");
        if (seg == 0)
            return ROUTE_NO_MATCH;
        if (!bad) {
            int i = out->n;
            out->p[i].name = name;
            out->p[i].name_len = (size_t)(close - name);
            out->p[i].value[0] = '\0';
            if (seg <= VALIDATE_KEY_MAX) {
                memcpy(out->p[i].value, pp, seg);
                out->p[i].value[seg] = '\0';
            }
            if (seg > VALIDATE_KEY_MAX || !validate_key(out->p[i].value)) {
                out->p[i].value[0] = '\0';
                bad = true; /* out->p[out->n] names it: n is not advanced */
            } else {
                out->n++;
            }
        }
        pp += seg;
        pa = close + 1;
    }
    if (*pp)
        return ROUTE_NO_MATCH;
    return bad ? ROUTE_BAD_PARAM : ROUTE_MATCH;
}

const char *route_param(const route_params *p, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < p->n; i++)
        if (p->p[i].name_len == len && memcmp(p->p[i].name, name, len) == 0)
            return p->p[i].value;
    return NULL;
}

void route_find(const void *rows, size_t n, size_t stride, unsigned method, const char *path,
                route_params *params, route_lookup *out)
{
    out->row = out->path_row = out->bad_row = -1;
    out->allow = 0;
    out->bad_name[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const route_spec *s = (const route_spec *)(const void *)((const char *)rows + i * stride);
        /* params is overwritten by every try; the lookup stops at the
         * answering row, so what stays there is that row's. */
        route_match_result r = route_match(s->pattern, path, params);
        if (r == ROUTE_MATCH) {
            if (out->path_row < 0)
                out->path_row = (int)i;
            out->allow |= s->methods;
            if (s->methods & method) {
                out->row = (int)i;
                return;
            }
        } else if (r == ROUTE_BAD_PARAM && out->bad_row < 0) {
            out->bad_row = (int)i;
            size_t len = params->p[params->n].name_len;
            if (len >= sizeof out->bad_name)
                len = sizeof out->bad_name - 1;
            memcpy(out->bad_name, params->p[params->n].name, len);
            out->bad_name[len] = '\0';
        }
    }
    if (out->path_row >= 0) { /* a known path: a 405, not a bad parameter */
        out->bad_row = -1;
        out->bad_name[0] = '\0';
    }
}

void route_allow_format(unsigned methods, char out[ROUTE_ALLOW_MAX])
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NMETHODS; i++) {
        if (!(methods & (1u << i)))
            continue;
        size_t l = strlen(method_names[i]);
        if (n + l + 3 > ROUTE_ALLOW_MAX) /* cannot happen: all seven fit */
            break;
        if (n) {
            memcpy(out + n, ", ", 2);
            n += 2;
        }
        memcpy(out + n, method_names[i], l);
        n += l;
        out[n] = '\0';
    }
}

const char *route_method_name(unsigned method)
{
    for (size_t i = 0; i < NMETHODS; i++)
        if (method == 1u << i)
            return method_names[i];
    return NULL;
}

unsigned route_method_parse(const char *name, size_t len)
{
    for (size_t i = 0; i < NMETHODS; i++)
        if (strlen(method_names[i]) == len && memcmp(method_names[i], name, len) == 0)
            return 1u << i;
    return 0;
}

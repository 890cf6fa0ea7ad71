/* analyze_input.c -- the input readers of `upshot analyze`; see
 * analyze_input.h and docs/analyze.md. */
#include "analyze_input.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 2, 3)))
static int fail(analyze_data *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---------- JSON summary ---------- */

static int json_count(analyze_data *d, json_t *v, const char *what, size_t i, const char *key,
                      uint64_t *out)
{
    double x;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return fail(d, "%s %zu: \"%s\" is negative", what, i + 1, key);
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        x = json_real_value(v);
        if (x < 0 || x != floor(x) || x > 9007199254740992.0)
            return fail(d, "%s %zu: \"%s\" must be a whole non-negative number", what, i + 1,
                        key);
        *out = (uint64_t)x;
        return 0;
    }
    return fail(d, "%s %zu: \"%s\" must be a number", what, i + 1, key);
}

static int json_num(analyze_data *d, json_t *v, const char *ctx, const char *key, double *out)
{
    if (!json_is_number(v))
        return fail(d, "%s: \"%s\" must be a number", ctx, key);
    *out = json_number_value(v);
    if (!isfinite(*out))
        return fail(d, "%s: \"%s\" must be finite", ctx, key);
    return 0;
}

static int parse_variant(analyze_data *d, json_t *o, size_t i)
{
    static const char *known[] = {"name",          "weight",   "visitors", "conversions",
                                  "revenue_sum",   "revenue_sumsq", "declines", "orders",
                                  "covariate_sum", "covariate_sumsq", "covariate_cross"};
    char ctx[64];
    snprintf(ctx, sizeof ctx, "variant %zu", i + 1);
    if (!json_is_object(o))
        return fail(d, "%s is not an object", ctx);
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        bool ok = false;
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
            ok = ok || strcmp(key, known[j]) == 0;
        if (!ok)
            return fail(d, "%s: unknown key \"%s\"", ctx, key);
    }
    stats_variant_input *v = &d->v[i];
    json_t *name = json_object_get(o, "name");
    if (!json_is_string(name) || json_string_length(name) == 0)
        return fail(d, "%s: missing field \"name\" (a non-empty string)", ctx);
    snprintf(d->names[i], ANALYZE_NAME, "%s", json_string_value(name));
    for (size_t j = 0; j < i; j++)
        if (strcmp(d->names[j], d->names[i]) == 0)
            return fail(d, "%s: name \"%s\" is used twice", ctx, d->names[i]);
    json_t *w = json_object_get(o, "weight");
    v->weight = 1.0;
    if (w && json_num(d, w, ctx, "weight", &v->weight) != 0)
        return -1;
    if (!(v->weight > 0))
        return fail(d, "%s: \"weight\" must be positive", ctx);
    const char *req[] = {"visitors", "conversions", "revenue_sum", "revenue_sumsq"};
    for (size_t j = 0; j < 4; j++)
        if (!json_object_get(o, req[j]))
            return fail(d, "%s: missing field \"%s\"", ctx, req[j]);
    if (json_count(d, json_object_get(o, "visitors"), "variant", i, "visitors", &v->visitors) ||
        json_count(d, json_object_get(o, "conversions"), "variant", i, "conversions",
                   &v->conversions) ||
        json_num(d, json_object_get(o, "revenue_sum"), ctx, "revenue_sum", &v->revenue_sum) ||
        json_num(d, json_object_get(o, "revenue_sumsq"), ctx, "revenue_sumsq",
                 &v->revenue_sumsq))
        return -1;
    json_t *dec = json_object_get(o, "declines");
    if (dec && json_count(d, dec, "variant", i, "declines", &v->declines) != 0)
        return -1;
    if ((dec != NULL) != d->in.has_declines && i > 0)
        return fail(d, "%s: \"declines\" must be given for every variant or none", ctx);
    d->in.has_declines = dec != NULL;
    json_t *ord = json_object_get(o, "orders");
    if (ord && json_count(d, ord, "variant", i, "orders", &d->orders[i]) != 0)
        return -1;
    if ((ord != NULL) != d->has_orders && i > 0)
        return fail(d, "%s: \"orders\" must be given for every variant or none", ctx);
    d->has_orders = ord != NULL;
    if (ord && d->orders[i] < v->conversions)
        return fail(d, "%s: \"orders\" is below \"conversions\" (every converter ordered)", ctx);
    /* the covariate (CUPED): all three sums, for every variant or none */
    static const char *cov[] = {"covariate_sum", "covariate_sumsq", "covariate_cross"};
    double *dst[] = {&v->cov_sum, &v->cov_sumsq, &v->cov_cross};
    int ncov = 0;
    for (size_t j = 0; j < 3; j++) {
        json_t *c = json_object_get(o, cov[j]);
        if (!c)
            continue;
        if (json_num(d, c, ctx, cov[j], dst[j]) != 0)
            return -1;
        ncov++;
    }
    if (ncov != 0 && ncov != 3)
        return fail(d, "%s: \"covariate_sum\", \"covariate_sumsq\" and \"covariate_cross\" "
                       "go together", ctx);
    if ((ncov == 3) != d->in.has_covariate && i > 0)
        return fail(d, "%s: the covariate sums must be given for every variant or none", ctx);
    d->in.has_covariate = ncov == 3;
    return 0;
}

int analyze_input_json(analyze_data *d, const char *text, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(d, "line %d column %d: %s", je.line, je.column, je.text);
    int rc = -1;
    static const char *known[] = {"experiment", "alpha", "tau2", "adjust", "power",
                                  "visitors_per_day", "variants", "looks"};
    const char *key;
    json_t *val;
    if (!json_is_object(root)) {
        fail(d, "the top level must be an object");
        goto out;
    }
    json_object_foreach(root, key, val) {
        bool ok = false;
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
            ok = ok || strcmp(key, known[j]) == 0;
        if (!ok) {
            fail(d, "unknown key \"%s\" at the top level", key);
            goto out;
        }
    }
    json_t *e = json_object_get(root, "experiment");
    if (e && !json_is_string(e)) {
        fail(d, "\"experiment\" must be a string");
        goto out;
    }
    if (e)
        snprintf(d->experiment, sizeof d->experiment, "%s", json_string_value(e));
    if ((val = json_object_get(root, "alpha")) &&
        (json_num(d, val, "top level", "alpha", &d->in.alpha) ||
         !(d->in.alpha > 0 && d->in.alpha < 1))) {
        if (!d->msg[0])
            fail(d, "\"alpha\" must be between 0 and 1");
        goto out;
    }
    if ((val = json_object_get(root, "tau2")) &&
        (json_num(d, val, "top level", "tau2", &d->in.tau2) || !(d->in.tau2 > 0))) {
        if (!d->msg[0])
            fail(d, "\"tau2\" must be positive");
        goto out;
    }
    if ((val = json_object_get(root, "visitors_per_day")) &&
        json_num(d, val, "top level", "visitors_per_day", &d->in.visitors_per_day))
        goto out;
    if ((val = json_object_get(root, "adjust"))) {
        const char *m = json_string_value(val);
        if (m && strcmp(m, "holm") == 0)
            d->in.adjust = STATS_ADJUST_HOLM;
        else if (m && strcmp(m, "bh") == 0)
            d->in.adjust = STATS_ADJUST_BH;
        else if (m && strcmp(m, "none") == 0)
            d->in.adjust = STATS_ADJUST_NONE;
        else {
            fail(d, "\"adjust\" must be \"holm\", \"bh\" or \"none\"");
            goto out;
        }
    }
    if ((val = json_object_get(root, "power"))) {
        if (!json_is_object(val)) {
            fail(d, "\"power\" must be an object");
            goto out;
        }
        json_object_foreach(val, key, e) {
            double *dst = strcmp(key, "baseline_rate") == 0  ? &d->in.power_baseline
                          : strcmp(key, "relative_mde") == 0 ? &d->in.power_mde_rel
                          : strcmp(key, "power") == 0        ? &d->in.power
                                                             : NULL;
            if (!dst) {
                fail(d, "power: unknown key \"%s\"", key);
                goto out;
            }
            if (json_num(d, e, "power", key, dst))
                goto out;
        }
        if (d->in.power != 0 && !(d->in.power > 0 && d->in.power < 1)) {
            fail(d, "power: \"power\" must be between 0 and 1");
            goto out;
        }
    }
    json_t *vars = json_object_get(root, "variants");
    if (!json_is_array(vars)) {
        fail(d, "missing field \"variants\" (an array)");
        goto out;
    }
    d->k = json_array_size(vars);
    if (d->k < 2 || d->k > STATS_MAX_VARIANTS) {
        fail(d, "\"variants\" must list 2 to %d variants (control first), found %zu",
             STATS_MAX_VARIANTS, d->k);
        goto out;
    }
    for (size_t i = 0; i < d->k; i++)
        if (parse_variant(d, json_array_get(vars, i), i) != 0)
            goto out;
    json_t *looks = json_object_get(root, "looks");
    if (looks) {
        if (!json_is_array(looks) || json_array_size(looks) > ANALYZE_MAX_LOOKS) {
            fail(d, "\"looks\" must be an array of at most %d looks", ANALYZE_MAX_LOOKS);
            goto out;
        }
        d->n_looks = json_array_size(looks);
        for (size_t l = 0; l < d->n_looks; l++) {
            json_t *lk = json_array_get(looks, l);
            json_t *ln = json_object_get(lk, "visitors"), *lx = json_object_get(lk, "conversions");
            if (!json_is_array(ln) || !json_is_array(lx) || json_array_size(ln) != d->k ||
                json_array_size(lx) != d->k) {
                fail(d, "look %zu: \"visitors\" and \"conversions\" must be arrays of %zu "
                        "counts, one per variant",
                     l + 1, d->k);
                goto out;
            }
            json_object_foreach(lk, key, e) {
                if (strcmp(key, "visitors") && strcmp(key, "conversions") && strcmp(key, "day")) {
                    fail(d, "look %zu: unknown key \"%s\"", l + 1, key);
                    goto out;
                }
            }
            for (size_t i = 0; i < d->k; i++)
                if (json_count(d, json_array_get(ln, i), "look", l, "visitors",
                               &d->look_n[l * d->k + i]) ||
                    json_count(d, json_array_get(lx, i), "look", l, "conversions",
                               &d->look_x[l * d->k + i]))
                    goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---------- CSV from `upshot export --csv` ---------- */

/* The export's header before orders and weights were added; still read. */
#define CSV_HEADER_V1 "day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,declines"
#define CSV_HEADER_V2 CSV_HEADER_V1 ",orders,weight"
/* The current export: the capped revenue sums, the cap, and the cart
 * value's sums (the covariate of CUPED) follow. */
#define CSV_HEADER                                                                             \
    CSV_HEADER_V2 ",revenue_sum_capped,revenue_sumsq_capped,cap,cart_visitors,cart_sum,"     \
                  "cart_sumsq,cart_revenue_sum,cart_revenue_sum_capped"
#define CSV_FIELDS_MAX 18
#define CSV_DAY 32 /* longest day label + 1 (exports write YYYY-MM-DD) */

typedef struct csv_row {
    uint32_t day, region, line; /* indexes into csv_state's names; file line */
    uint32_t variant;
    uint64_t key;               /* region rank * n_days + day rank, for sorting */
    uint64_t visitors, conversions, declines, orders;
    double revenue_sum, revenue_sumsq;
    double capped_sum, capped_sumsq;               /* v3 */
    uint64_t cart_visitors;                        /* v3 */
    double cart_sum, cart_sumsq, cart_cross, cart_cross_capped;
} csv_row;

/* Names and rows seen so far; owned by analyze_input_csv, freed there. */
typedef struct csv_state {
    char (*days)[CSV_DAY];
    size_t n_days;
    char (*regions)[ANALYZE_NAME];
    size_t n_regions, cap_regions;
    csv_row *rows;
    size_t n_rows, cap_rows;
    bool weight_seen[STATS_MAX_VARIANTS];
    double cap;        /* v3: the cap every row names (0: none) */
    bool cap_seen;
} csv_state;

/* Index of name in a table of n fixed-size names, trying hint first (an
 * export writes a region's or a day's rows together). -1 if absent. */
static long csv_find(const char *table, size_t width, size_t n, const char *name, size_t hint)
{
    if (hint < n && strcmp(table + hint * width, name) == 0)
        return (long)hint;
    for (size_t i = 0; i < n; i++)
        if (strcmp(table + i * width, name) == 0)
            return (long)i;
    return -1;
}

/* Parses a whole non-negative decimal count. */
static int csv_count(analyze_data *d, const char *s, size_t lineno, const char *what,
                     uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return fail(d, "line %zu: \"%s\" is not a whole non-negative number", lineno, what);
    errno = 0;
    unsigned long long u = strtoull(s, &end, 10);
    if (errno || *end)
        return fail(d, "line %zu: \"%s\" is not a whole non-negative number", lineno, what);
    *out = u;
    return 0;
}

static int csv_number(analyze_data *d, const char *s, size_t lineno, const char *what,
                      double *out)
{
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end || !isfinite(x) || x < 0)
        return fail(d, "line %zu: \"%s\" must be a non-negative number", lineno, what);
    *out = x;
    return 0;
}

/* Reads one data row (fields f[0..nf-1]) into st. */
static int csv_row_add(analyze_data *d, csv_state *st, char **f, int version, size_t lineno)
{
    bool v2 = version >= 2;
    static const char *cname[] = {"visitors", "conversions", "declines", "orders"};
    const int cidx[] = {3, 4, 7, 8};
    csv_row r = {.line = (uint32_t)lineno};
    uint64_t cnt[4] = {0, 0, 0, 0};
    for (int j = 0; j < (v2 ? 4 : 3); j++)
        if (csv_count(d, f[cidx[j]], lineno, cname[j], &cnt[j]) != 0)
            return -1;
    if (csv_number(d, f[5], lineno, "revenue_sum", &r.revenue_sum) != 0 ||
        csv_number(d, f[6], lineno, "revenue_sumsq", &r.revenue_sumsq) != 0)
        return -1;
    r.visitors = cnt[0];
    r.conversions = cnt[1];
    r.declines = cnt[2];
    r.orders = cnt[3];
    if (r.conversions > r.visitors)
        return fail(d, "line %zu: conversions exceed visitors", lineno);
    if (r.declines > r.visitors)
        return fail(d, "line %zu: declines exceed visitors", lineno);
    if (v2 && r.orders < r.conversions)
        return fail(d, "line %zu: orders are fewer than conversions", lineno);
    if (version >= 3) {
        double cap;
        if (csv_number(d, f[10], lineno, "revenue_sum_capped", &r.capped_sum) != 0 ||
            csv_number(d, f[11], lineno, "revenue_sumsq_capped", &r.capped_sumsq) != 0 ||
            csv_number(d, f[12], lineno, "cap", &cap) != 0 ||
            csv_count(d, f[13], lineno, "cart_visitors", &r.cart_visitors) != 0 ||
            csv_number(d, f[14], lineno, "cart_sum", &r.cart_sum) != 0 ||
            csv_number(d, f[15], lineno, "cart_sumsq", &r.cart_sumsq) != 0 ||
            csv_number(d, f[16], lineno, "cart_revenue_sum", &r.cart_cross) != 0 ||
            csv_number(d, f[17], lineno, "cart_revenue_sum_capped", &r.cart_cross_capped) != 0)
            return -1;
        if (r.cart_visitors > r.visitors)
            return fail(d, "line %zu: cart_visitors exceed visitors", lineno);
        if (st->cap_seen && cap != st->cap)
            return fail(d, "line %zu: cap %s differs from the %.17g of the rows before", lineno,
                        f[12], st->cap);
        st->cap = cap;
        st->cap_seen = true;
    }
    if (strlen(f[0]) >= CSV_DAY || !f[0][0])
        return fail(d, "line %zu: \"day\" must be 1 to %d characters", lineno, CSV_DAY - 1);
    if (strlen(f[1]) >= ANALYZE_NAME || strlen(f[2]) >= ANALYZE_NAME)
        return fail(d, "line %zu: region and variant names are at most %d characters", lineno,
                    ANALYZE_NAME - 1);
    if (!f[2][0])
        return fail(d, "line %zu: empty variant name", lineno);

    long vi = csv_find((const char *)d->names, ANALYZE_NAME, d->k, f[2], 0);
    if (vi < 0) {
        if (d->k == STATS_MAX_VARIANTS)
            return fail(d, "line %zu: more than %d variants", lineno, STATS_MAX_VARIANTS);
        vi = (long)d->k++;
        memcpy(d->names[vi], f[2], strlen(f[2]) + 1);
    }
    r.variant = (uint32_t)vi;
    if (v2) {
        double w;
        if (csv_number(d, f[9], lineno, "weight", &w) != 0 || !(w > 0))
            return fail(d, "line %zu: \"weight\" must be a positive number", lineno);
        if (st->weight_seen[vi] && d->v[vi].weight != w)
            return fail(d, "line %zu: variant \"%s\" has weight %s here but %.17g before",
                        lineno, f[2], f[9], d->v[vi].weight);
        st->weight_seen[vi] = true;
        d->v[vi].weight = w;
    }

    size_t hint = st->n_rows ? st->rows[st->n_rows - 1].day : 0;
    long di = csv_find((const char *)st->days, CSV_DAY, st->n_days, f[0], hint);
    if (di < 0) {
        if (st->n_days == ANALYZE_MAX_LOOKS)
            return fail(d, "line %zu: more than %d days", lineno, ANALYZE_MAX_LOOKS);
        di = (long)st->n_days++;
        memcpy(st->days[di], f[0], strlen(f[0]) + 1);
    }
    r.day = (uint32_t)di;
    hint = st->n_rows ? st->rows[st->n_rows - 1].region : 0;
    long ri = csv_find((const char *)st->regions, ANALYZE_NAME, st->n_regions, f[1], hint);
    if (ri < 0) {
        if (st->n_regions == st->cap_regions) {
            size_t cap = st->cap_regions ? st->cap_regions * 2 : 16;
            void *p = realloc(st->regions, cap * sizeof *st->regions);
            if (!p)
                return fail(d, "out of memory");
            st->regions = p;
            st->cap_regions = cap;
        }
        ri = (long)st->n_regions++;
        memcpy(st->regions[ri], f[1], strlen(f[1]) + 1);
    }
    r.region = (uint32_t)ri;

    if (st->n_rows == ANALYZE_MAX_ROWS)
        return fail(d, "line %zu: more than %u data rows", lineno, ANALYZE_MAX_ROWS);
    if (st->n_rows == st->cap_rows) {
        size_t cap = st->cap_rows ? st->cap_rows * 2 : 256;
        void *p = realloc(st->rows, cap * sizeof *st->rows);
        if (!p)
            return fail(d, "out of memory");
        st->rows = p;
        st->cap_rows = cap;
    }
    st->rows[st->n_rows++] = r;
    return 0;
}

/* rank[i]: position of names[i] in strcmp order. */
static int csv_rank(const char *names, size_t width, size_t n, uint32_t *rank)
{
    uint32_t *order = malloc((n + 1) * sizeof *order);
    if (!order)
        return -1;
    for (size_t i = 0; i < n; i++) { /* insertion sort: n is small or already sorted */
        size_t j = i;
        while (j > 0 && strcmp(names + order[j - 1] * width, names + i * width) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint32_t)i;
    }
    for (size_t i = 0; i < n; i++)
        rank[order[i]] = (uint32_t)i;
    free(order);
    return 0;
}

static int csv_row_cmp(const void *a, const void *b)
{
    const csv_row *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->variant != y->variant)
        return x->variant < y->variant ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Totals and cumulative daily looks from the rows, added in upshotd's
 * order: by region (sorted), then day (sorted). */
static int csv_sum(analyze_data *d, csv_state *st, const analyze_csv_options *opt)
{
    uint32_t *day_rank = malloc((st->n_days + 1) * sizeof *day_rank);
    uint32_t *region_rank = malloc((st->n_regions + 1) * sizeof *region_rank);
    uint64_t *inc_n = calloc(st->n_days * STATS_MAX_VARIANTS + 1, sizeof *inc_n);
    uint64_t *inc_x = calloc(st->n_days * STATS_MAX_VARIANTS + 1, sizeof *inc_x);
    int rc = -1;
    if (!day_rank || !region_rank || !inc_n || !inc_x ||
        csv_rank((const char *)st->days, CSV_DAY, st->n_days, day_rank) != 0 ||
        csv_rank((const char *)st->regions, ANALYZE_NAME, st->n_regions, region_rank) != 0) {
        fail(d, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < st->n_rows; i++) {
        csv_row *r = &st->rows[i];
        r->key = (uint64_t)region_rank[r->region] * st->n_days + day_rank[r->day];
    }
    qsort(st->rows, st->n_rows, sizeof *st->rows, csv_row_cmp);
    size_t used = 0;
    for (size_t i = 0; i < st->n_rows; i++) {
        const csv_row *r = &st->rows[i];
        if (i > 0 && r->key == st->rows[i - 1].key && r->variant == st->rows[i - 1].variant) {
            fail(d, "line %u: a second row for day %s, region %s, variant %s (first: line %u)",
                 r->line, st->days[r->day], st->regions[r->region], d->names[r->variant],
                 st->rows[i - 1].line);
            goto out;
        }
        if (opt->region && strcmp(st->regions[r->region], opt->region) != 0)
            continue;
        stats_variant_input *v = &d->v[r->variant];
        v->visitors += r->visitors;
        v->conversions += r->conversions;
        v->declines += r->declines;
        /* With a cap, upshotd's statistics run on the capped sums. */
        bool capped = st->cap > 0;
        v->revenue_sum += capped ? r->capped_sum : r->revenue_sum;
        v->revenue_sumsq += capped ? r->capped_sumsq : r->revenue_sumsq;
        v->cov_sum += r->cart_sum;
        v->cov_sumsq += r->cart_sumsq;
        v->cov_cross += capped ? r->cart_cross_capped : r->cart_cross;
        d->capped = capped;
        d->cap = st->cap;
        d->uncapped_sum[r->variant] += r->revenue_sum;
        d->uncapped_sumsq[r->variant] += r->revenue_sumsq;
        if (r->cart_visitors > 0)
            d->in.has_covariate = true;
        d->orders[r->variant] += r->orders;
        inc_n[day_rank[r->day] * STATS_MAX_VARIANTS + r->variant] += r->visitors;
        inc_x[day_rank[r->day] * STATS_MAX_VARIANTS + r->variant] += r->conversions;
        used++;
    }
    if (used == 0) {
        if (opt->region)
            fail(d, "no rows for region \"%s\"", opt->region);
        else
            fail(d, "no data rows");
        goto out;
    }
    /* every day of the file is a look, as upshotd's looks are the days of
     * all regions, even when --region picks one */
    d->n_looks = st->n_days;
    for (size_t l = 0; l < st->n_days; l++)
        for (size_t i = 0; i < d->k; i++) {
            uint64_t pn = l ? d->look_n[(l - 1) * d->k + i] : 0;
            uint64_t px = l ? d->look_x[(l - 1) * d->k + i] : 0;
            d->look_n[l * d->k + i] = pn + inc_n[l * STATS_MAX_VARIANTS + i];
            d->look_x[l * d->k + i] = px + inc_x[l * STATS_MAX_VARIANTS + i];
        }
    rc = 0;
out:
    free(day_rank);
    free(region_rank);
    free(inc_n);
    free(inc_x);
    return rc;
}

static int csv_read(analyze_data *d, csv_state *st, char *text, const analyze_csv_options *opt)
{
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line)
        return fail(d, "empty file");
    size_t hl = strlen(line);
    if (hl && line[hl - 1] == '\r')
        line[hl - 1] = 0;
    int version = strcmp(line, CSV_HEADER) == 0      ? 3
                  : strcmp(line, CSV_HEADER_V2) == 0 ? 2
                  : strcmp(line, CSV_HEADER_V1) == 0 ? 1
                                                     : 0;
    if (!version)
        return fail(d, "line 1: expected the header \"%s\"", CSV_HEADER);
    bool v2 = version >= 2;
    size_t nfields = version == 3 ? CSV_FIELDS_MAX : v2 ? 10 : 8;
    d->in.has_declines = true;
    d->has_orders = v2;
    size_t lineno = 1;
    while ((line = strtok_r(NULL, "\n", &save))) {
        lineno++;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[--ll] = 0;
        if (ll == 0)
            continue;
        char *f[CSV_FIELDS_MAX];
        size_t nf = 0;
        char *p = line;
        while (nf < nfields) {
            f[nf++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = 0;
            p = c + 1;
        }
        if (nf != nfields || strchr(p, ','))
            return fail(d, "line %zu: expected %zu comma-separated fields", lineno, nfields);
        if (csv_row_add(d, st, f, version, lineno) != 0)
            return -1;
    }
    if (st->n_rows == 0)
        return fail(d, "no data rows");
    if (d->k < 2)
        return fail(d, "only one variant (\"%s\") in the file", d->names[0]);
    if (opt->weights) {
        if (opt->n_weights != d->k)
            return fail(d, "--weights gives %zu weights but the file has %zu variants",
                        opt->n_weights, d->k);
        for (size_t i = 0; i < d->k; i++)
            d->v[i].weight = opt->weights[i];
    } else if (!v2) {
        for (size_t i = 0; i < d->k; i++)
            d->v[i].weight = 1.0;
    }
    return csv_sum(d, st, opt);
}

int analyze_input_csv(analyze_data *d, char *text, const analyze_csv_options *opt)
{
    csv_state st = {0};
    st.days = calloc(ANALYZE_MAX_LOOKS, sizeof *st.days);
    int rc = st.days ? csv_read(d, &st, text, opt) : fail(d, "out of memory");
    free(st.days);
    free(st.regions);
    free(st.rows);
    return rc;
}

void analyze_data_input(analyze_data *d)
{
    d->in.k = d->k;
    d->in.variants = d->v;
    d->in.n_looks = d->n_looks;
    d->in.look_visitors = d->n_looks ? d->look_n : NULL;
    d->in.look_conversions = d->n_looks ? d->look_x : NULL;
}

/* cli_results.c: results JSON -> counts and cumulative daily looks. */
#include "cli_results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t res_u64(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_integer(v)) return json_integer_value(v) < 0 ? 0 : (uint64_t)json_integer_value(v);
    if (json_is_real(v)) return json_real_value(v) < 0 ? 0 : (uint64_t)(json_real_value(v) + 0.5);
    return 0;
}

static double res_num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

static void res_str(json_t *o, const char *k, char *dst, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(dst, cap, "%s", s ? s : "");
}

/* COUNTS object -> decide_counts. "decliners" is the API's name; "declines"
 * is accepted too (the CSV column). */
static decide_counts res_counts_as(json_t *o, bool capped)
{
    decide_counts c;
    c.visitors = res_u64(o, "visitors");
    c.conversions = res_u64(o, "conversions");
    c.orders = res_u64(o, "orders");
    c.decliners = json_object_get(o, "decliners") ? res_u64(o, "decliners")
                                                  : res_u64(o, "declines");
    /* With capping on, upshotd decides on the capped sums: so does the
     * dashboard (the uncapped ones stay in the server's analysis). */
    c.revenue_sum = res_num(o, capped ? "revenue_sum_capped" : "revenue_sum");
    c.revenue_sumsq = res_num(o, capped ? "revenue_sumsq_capped" : "revenue_sumsq");
    return c;
}

/* The capping of the results being parsed: set once per parse, read by
 * res_counts (the CLI is single-threaded). */
static bool res_capped;

static decide_counts res_counts(json_t *o)
{
    return res_counts_as(o, res_capped);
}

/* The optional COUNTS fields are absent where the experiment has no use
 * for them (docs/api.md): uncapped, the capped sums are the plain ones. */
static double res_num_or(json_t *o, const char *k, double fallback)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : fallback;
}

static cli_cell_extra res_extra(json_t *o)
{
    return (cli_cell_extra){
        .uncapped_sum = res_num(o, "revenue_sum"),
        .uncapped_sumsq = res_num(o, "revenue_sumsq"),
        .capped_sum = res_num_or(o, "revenue_sum_capped", res_num(o, "revenue_sum")),
        .capped_sumsq = res_num_or(o, "revenue_sumsq_capped", res_num(o, "revenue_sumsq")),
        .cart_visitors = res_u64(o, "cart_visitors"),
        .cart_sum = res_num(o, "cart_sum"),
        .cart_sumsq = res_num(o, "cart_sumsq"),
        .cart_cross = res_num(o, "cart_revenue_sum"),
        .cart_cross_capped = res_num_or(o, "cart_revenue_sum_capped", res_num(o, "cart_revenue_sum")),
    };
}

static void res_add(decide_counts *a, const decide_counts *b)
{
    a->visitors += b->visitors;
    a->conversions += b->conversions;
    a->orders += b->orders;
    a->decliners += b->decliners;
    a->revenue_sum += b->revenue_sum;
    a->revenue_sumsq += b->revenue_sumsq;
}

int cli_results_variant(const cli_results *r, const char *key)
{
    for (size_t i = 0; i < r->nvariants; i++)
        if (strcmp(r->variants[i], key) == 0) return (int)i;
    return -1;
}

int cli_results_region(const cli_results *r, const char *name)
{
    for (size_t i = 0; i < r->nregions; i++)
        if (strcmp(r->regions[i].name, name) == 0) return (int)i;
    return -1;
}

static int res_day_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static int res_day_index(const cli_results *r, const char *day)
{
    char(*hit)[11] = bsearch(day, r->days, r->ndays, sizeof r->days[0], res_day_cmp);
    return hit ? (int)(hit - r->days) : -1;
}

/* Adds a region found only in `daily` (a region filter can leave
 * `regions` and `daily` consistent, but be lenient). */
static int res_region_add(cli_results *r, const char *name)
{
    cli_region *n = realloc(r->regions, (r->nregions + 1) * sizeof *n);
    if (n == NULL) return -1;
    r->regions = n;
    cli_region *g = &r->regions[r->nregions];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->promotion.variant = -1;
    g->counts = calloc(r->nvariants, sizeof *g->counts);
    if (g->counts == NULL) return -1;
    r->nregions++;
    return (int)r->nregions - 1;
}

int cli_results_parse(json_t *root, cli_results *r, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    r->server_alpha = r->server_tau2 = NAN;
    for (size_t i = 0; i < DECIDE_MAX_VARIANTS; i++)
        r->server_cuped_lift[i] = r->server_cuped_p[i] = NAN;
    r->server_correction = -1;
    r->server_min_sample = -1;
    if (!json_is_object(root)) {
        snprintf(err, errcap, "results: not a JSON object");
        return -1;
    }
    /* The cap counts only where upshotd applies it ("applied"; results
     * from before that field: wherever there is a value). */
    json_t *capping = json_object_get(root, "capping");
    json_t *capv = json_object_get(capping, "value"), *applied = json_object_get(capping, "applied");
    r->cap = json_is_number(capv) && json_number_value(capv) > 0 && !json_is_false(applied)
                 ? json_number_value(capv)
                 : 0;
    res_capped = r->cap > 0;
    res_str(root, "experiment", r->experiment, sizeof r->experiment);
    res_str(root, "status", r->status, sizeof r->status);
    res_str(root, "generated_at", r->generated_at, sizeof r->generated_at);

    json_t *vars = json_object_get(root, "variants");
    if (!json_is_array(vars) || json_array_size(vars) < 2 ||
        json_array_size(vars) > DECIDE_MAX_VARIANTS) {
        snprintf(err, errcap, "results: \"variants\" must list 2-%d variants",
                 DECIDE_MAX_VARIANTS);
        return -1;
    }
    r->nvariants = json_array_size(vars);
    for (size_t i = 0; i < r->nvariants; i++) {
        json_t *v = json_array_get(vars, i);
        const char *k = json_string_value(json_object_get(v, "key"));
        if (k == NULL) {
            snprintf(err, errcap, "results: variants[%zu] has no key", i);
            return -1;
        }
        snprintf(r->variants[i], sizeof r->variants[i], "%s", k);
        r->weights[i] = res_num(v, "weight");
    }
    const char *ctl = json_string_value(json_object_get(root, "control"));
    int ci = ctl ? cli_results_variant(r, ctl) : 0;
    if (ci < 0) {
        snprintf(err, errcap, "results: control \"%s\" is not a variant", ctl);
        return -1;
    }
    r->control = (size_t)ci;

    /* total */
    json_t *tv = json_object_get(json_object_get(root, "total"), "variants");
    size_t i;
    json_t *c;
    json_array_foreach(tv, i, c) {
        const char *k = json_string_value(json_object_get(c, "variant"));
        int vi = k ? cli_results_variant(r, k) : -1;
        if (vi >= 0) r->total[vi] = res_counts(c);
    }

    /* regions */
    json_t *regs = json_object_get(root, "regions");
    json_t *reg;
    json_array_foreach(regs, i, reg) {
        const char *name = json_string_value(json_object_get(reg, "region"));
        if (name == NULL) {
            snprintf(err, errcap, "results: regions[%zu] has no \"region\"", i);
            return -1;
        }
        int gi = res_region_add(r, name);
        if (gi < 0) goto oom;
        cli_region *g = &r->regions[gi];
        size_t j;
        json_array_foreach(json_object_get(reg, "variants"), j, c) {
            const char *k = json_string_value(json_object_get(c, "variant"));
            int vi = k ? cli_results_variant(r, k) : -1;
            if (vi >= 0) g->counts[vi] = res_counts(c);
        }
        json_t *p = json_object_get(reg, "promotion");
        if (json_is_object(p)) {
            g->promotion.active = true;
            res_str(p, "variant", g->promotion.variant_key, sizeof g->promotion.variant_key);
            g->promotion.variant = cli_results_variant(r, g->promotion.variant_key);
            g->promotion.holdback = res_num(p, "holdback");
            res_str(p, "since", g->promotion.since, sizeof g->promotion.since);
            g->promotion.counts = res_counts(json_object_get(p, "counts"));
        }
    }

    /* daily: collect days, then place increments and accumulate */
    json_t *daily = json_object_get(root, "daily");
    size_t nd = json_array_size(daily);
    if (nd > 0) {
        r->days = calloc(nd, sizeof r->days[0]);
        if (r->days == NULL) goto oom;
        json_array_foreach(daily, i, c) {
            const char *d = json_string_value(json_object_get(c, "day"));
            if (d == NULL || strlen(d) != 10) {
                snprintf(err, errcap, "results: daily[%zu] has no YYYY-MM-DD \"day\"", i);
                return -1;
            }
            memcpy(r->days[r->ndays++], d, 11);
        }
        qsort(r->days, r->ndays, sizeof r->days[0], res_day_cmp);
        size_t u = 0;
        for (size_t k = 0; k < r->ndays; k++)
            if (u == 0 || strcmp(r->days[u - 1], r->days[k]) != 0)
                memmove(r->days[u++], r->days[k], 11);
        r->ndays = u;
    }
    size_t nv = r->nvariants;
    for (size_t g = 0; g < r->nregions; g++) {
        r->regions[g].looks = calloc(r->ndays ? r->ndays * nv : 1, sizeof(decide_counts));
        r->regions[g].daily = calloc(r->ndays ? r->ndays * nv : 1, sizeof(decide_counts));
        r->regions[g].daily_extra = calloc(r->ndays ? r->ndays * nv : 1, sizeof(cli_cell_extra));
        if (r->regions[g].looks == NULL || r->regions[g].daily == NULL ||
            r->regions[g].daily_extra == NULL)
            goto oom;
    }
    json_array_foreach(daily, i, c) {
        const char *reg_name = json_string_value(json_object_get(c, "region"));
        const char *k = json_string_value(json_object_get(c, "variant"));
        int vi = k ? cli_results_variant(r, k) : -1;
        int d = res_day_index(r, json_string_value(json_object_get(c, "day")));
        if (reg_name == NULL || vi < 0 || d < 0) continue;
        int gi = cli_results_region(r, reg_name);
        if (gi < 0) {
            gi = res_region_add(r, reg_name);
            if (gi < 0) goto oom;
            r->regions[gi].looks = calloc(r->ndays * nv, sizeof(decide_counts));
            r->regions[gi].daily = calloc(r->ndays * nv, sizeof(decide_counts));
            r->regions[gi].daily_extra = calloc(r->ndays * nv, sizeof(cli_cell_extra));
            if (r->regions[gi].looks == NULL || r->regions[gi].daily == NULL ||
                r->regions[gi].daily_extra == NULL)
                goto oom;
        }
        decide_counts inc = res_counts(c);
        res_add(&r->regions[gi].looks[(size_t)d * nv + (size_t)vi], &inc);
        res_add(&r->regions[gi].daily[(size_t)d * nv + (size_t)vi], &inc);
        /* One row per (day, region, variant): set, not summed. */
        r->regions[gi].daily_extra[(size_t)d * nv + (size_t)vi] = res_extra(c);
    }
    r->total_looks = calloc(r->ndays ? r->ndays * nv : 1, sizeof(decide_counts));
    if (r->total_looks == NULL) goto oom;
    for (size_t g = 0; g < r->nregions; g++) {
        decide_counts *L = r->regions[g].looks;
        for (size_t d = 0; d < r->ndays; d++)
            for (size_t v = 0; v < nv; v++) {
                if (d > 0) res_add(&L[d * nv + v], &L[(d - 1) * nv + v]);
            }
        for (size_t d = 0; d < r->ndays; d++)
            for (size_t v = 0; v < nv; v++)
                res_add(&r->total_looks[d * nv + v], &L[d * nv + v]);
    }
    /* what upshotd decided with, so the dashboard uses the same settings */
    json_t *an = json_object_get(json_array_get(regs, 0), "analysis");
    if (!json_is_object(an)) an = json_object_get(json_object_get(root, "total"), "analysis");
    json_t *x = json_object_get(an, "alpha");
    if (json_is_number(x)) r->server_alpha = json_number_value(x);
    x = json_object_get(an, "tau2");
    if (json_is_number(x)) r->server_tau2 = json_number_value(x);
    json_t *dec = json_object_get(root, "decisions");
    const char *corr = json_string_value(json_object_get(dec, "correction"));
    if (corr == NULL) corr = json_string_value(json_object_get(an, "adjust"));
    decide_correction dc;
    if (corr && decide_parse_correction(corr, &dc) == 0) r->server_correction = (int)dc;
    x = json_object_get(dec, "min_sample");
    if (json_is_integer(x)) r->server_min_sample = (long long)json_integer_value(x);
    if (json_is_object(dec)) r->server_decisions = json_incref(dec);
    json_t *fact = json_object_get(root, "factorial");
    if (json_is_object(fact)) r->server_factorial = json_incref(fact);
    json_t *tvars = json_object_get(json_object_get(json_object_get(root, "total"), "analysis"),
                                    "variants");
    size_t ti;
    json_t *tav;
    json_array_foreach(tvars, ti, tav) {
        const char *name = json_string_value(json_object_get(tav, "name"));
        int vi = name ? cli_results_variant(r, name) : -1;
        json_t *cu = json_object_get(tav, "cuped");
        if (vi < 0 || !json_is_object(cu)) continue;
        x = json_object_get(cu, "lift");
        if (json_is_number(x)) r->server_cuped_lift[vi] = json_number_value(x);
        x = json_object_get(cu, "p_value");
        if (json_is_number(x)) r->server_cuped_p[vi] = json_number_value(x);
    }
    json_t *integ = json_object_get(root, "integrity");
    r->duplicates = res_u64(integ, "duplicates");
    r->unexposed = res_u64(integ, "unexposed_conversions");
    return 0;

oom:
    snprintf(err, errcap, "out of memory");
    return -1;
}

void cli_results_free(cli_results *r)
{
    if (r == NULL) return;
    for (size_t g = 0; g < r->nregions; g++) {
        free(r->regions[g].counts);
        free(r->regions[g].looks);
        free(r->regions[g].daily);
        free(r->regions[g].daily_extra);
    }
    free(r->regions);
    free(r->days);
    free(r->total_looks);
    json_decref(r->server_decisions);
    json_decref(r->server_factorial);
    memset(r, 0, sizeof *r);
}

void cli_results_decide_regions(const cli_results *r, decide_region *out)
{
    for (size_t g = 0; g < r->nregions; g++) {
        out[g].name = r->regions[g].name;
        out[g].nlooks = r->ndays;
        out[g].looks = r->regions[g].looks;
    }
}

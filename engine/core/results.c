/* results.c: counters to result tables (see results.h). */
#include "results.h"

#include <stdlib.h>
#include <string.h>

typedef struct parsed_field {
    const char *metric; /* points into a copy */
    int variant;
    const char *region;
    const char *day;     /* NULL for a period field */
    int period;          /* a period field's number, else -1 */
    bool promoted;
} parsed_field;

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* "#N": N decimal, 1..9 digits, no leading zero (journal_line.h's bound). */
static int period_shaped(const char *s)
{
    if (s[0] != '#')
        return -1;
    size_t n = strlen(s + 1);
    if (n == 0 || n > 9 || strspn(s + 1, "0123456789") != n || (n > 1 && s[1] == '0'))
        return -1;
    return atoi(s + 1);
}

/* The metrics a period's cohort counts (record.lua): no cart value sums. */
static bool period_metric(const char *m)
{
    static const char *const metrics[] = {"e", "c", "o", "d", "dn", "s", "q",
                                          "ks", "kq", "r", "rs", NULL};
    for (const char *const *k = metrics; *k; k++)
        if (strcmp(m, *k) == 0)
            return true;
    return false;
}

static bool known_metric(const char *m)
{
    static const char *const metrics[] = {"e",  "c",  "o",  "d",  "dn", "s", "q",  "xn",
                                          "xs", "xq", "xy", "ks", "kq", "kx", "r", "rs", NULL};
    for (const char *const *k = metrics; *k; k++)
        if (strcmp(m, *k) == 0)
            return true;
    return false;
}

/* "YYYY-MM-DD": digits and dashes in place (the calendar is not checked). */
static bool day_shaped(const char *d)
{
    for (int i = 0; i < 10; i++) {
        bool dash = i == 4 || i == 7;
        if (dash ? d[i] != '-' : (d[i] < '0' || d[i] > '9'))
            return false;
    }
    return d[10] == '\0';
}

/* Splits "metric|variant|region|day" (or "metric|variant|region|#period")
 * in place. Anything else is refused whole, so that a stray field neither
 * counts nor adds a region or day: the metric must be known, the variant
 * plain decimal digits, the region a key and the day shaped like a date
 * (a period: "#" and its number, a metric a cohort counts, not promoted). */
static bool parse_field(char *s, parsed_field *f)
{
    char *parts[4];
    int n = 0;
    parts[n++] = s;
    for (char *p = s; *p; p++)
        if (*p == '|') {
            if (n == 4)
                return false;
            *p = '\0';
            parts[n++] = p + 1;
        }
    f->period = n == 4 ? period_shaped(parts[3]) : -1;
    if (n != 4 || !validate_key(parts[2]) || (f->period < 0 && !day_shaped(parts[3])))
        return false;
    size_t vlen = strlen(parts[1]);
    if (vlen == 0 || vlen > 4 || strspn(parts[1], "0123456789") != vlen)
        return false;
    f->promoted = parts[0][0] == 'p';
    f->metric = parts[0] + (f->promoted ? 1 : 0);
    if (!known_metric(f->metric))
        return false;
    if (f->period >= 0 && (f->promoted || !period_metric(f->metric)))
        return false;
    f->variant = atoi(parts[1]);
    f->region = parts[2];
    f->day = f->period >= 0 ? NULL : parts[3];
    return true;
}

static void add_metric(results_counts *c, const char *metric, const char *value)
{
    if (strcmp(metric, "e") == 0)
        c->visitors += strtoull(value, NULL, 10);
    else if (strcmp(metric, "c") == 0)
        c->conversions += strtoull(value, NULL, 10);
    else if (strcmp(metric, "o") == 0)
        c->orders += strtoull(value, NULL, 10);
    else if (strcmp(metric, "d") == 0)
        c->decliners += strtoull(value, NULL, 10);
    else if (strcmp(metric, "dn") == 0)
        c->decline_events += strtoull(value, NULL, 10);
    else if (strcmp(metric, "s") == 0) {
        double v = strtod(value, NULL);
        c->revenue_sum += v;
        c->capped_sum += v;
    } else if (strcmp(metric, "q") == 0) {
        double v = strtod(value, NULL);
        c->revenue_sumsq += v;
        c->capped_sumsq += v;
    } else if (strcmp(metric, "xy") == 0) {
        double v = strtod(value, NULL);
        c->cross_sum += v;
        c->capped_cross_sum += v;
    } else if (strcmp(metric, "ks") == 0) /* the capped ones differ by these */
        c->capped_sum += strtod(value, NULL);
    else if (strcmp(metric, "kq") == 0)
        c->capped_sumsq += strtod(value, NULL);
    else if (strcmp(metric, "kx") == 0)
        c->capped_cross_sum += strtod(value, NULL);
    else if (strcmp(metric, "xn") == 0)
        c->covariate_visitors += strtoull(value, NULL, 10);
    else if (strcmp(metric, "xs") == 0)
        c->covariate_sum += strtod(value, NULL);
    else if (strcmp(metric, "xq") == 0)
        c->covariate_sumsq += strtod(value, NULL);
    else if (strcmp(metric, "r") == 0)
        c->refunds += strtoull(value, NULL, 10);
    else if (strcmp(metric, "rs") == 0)
        c->refund_sum += strtod(value, NULL);
}

static int find_sorted(char *base, int n, size_t width, const char *key)
{
    char *hit = bsearch(key, base, (size_t)n, width, cmp_str);
    return hit ? (int)((hit - base) / (ptrdiff_t)width) : -1;
}

/* Adds key to a sorted-later list if absent (linear: lists are short). */
static int collect(char *base, int *n, size_t width, const char *key)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(base + (size_t)i * width, key) == 0)
            return 0;
    memcpy(base + (size_t)(*n) * width, key, strlen(key) + 1);
    (*n)++;
    return 0;
}

int results_build(results_table *t, int nvariants, size_t n, const char *const *fields,
                  const char *const *values)
{
    memset(t, 0, sizeof *t);
    t->nvariants = nvariants;
    parsed_field *pf = calloc(n ? n : 1, sizeof *pf);
    char **copies = calloc(n ? n : 1, sizeof *copies);
    t->regions = calloc(n ? n : 1, sizeof *t->regions);
    t->days = calloc(n ? n : 1, sizeof *t->days);
    t->periods = calloc(n ? n : 1, sizeof *t->periods);
    if (!pf || !copies || !t->regions || !t->days || !t->periods)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(fields[i], "dup") == 0) {
            t->duplicates = strtoull(values[i], NULL, 10);
            continue;
        }
        if (strcmp(fields[i], "unexposed|c") == 0) {
            t->unexposed_conversions = strtoull(values[i], NULL, 10);
            continue;
        }
        if (strcmp(fields[i], "unexposed|d") == 0) {
            t->unexposed_declines = strtoull(values[i], NULL, 10);
            continue;
        }
        if (strcmp(fields[i], "unexposed|r") == 0) {
            t->unexposed_refunds = strtoull(values[i], NULL, 10);
            continue;
        }
        if (strcmp(fields[i], "refund|rejected") == 0) {
            t->refused_refunds = strtoull(values[i], NULL, 10);
            continue;
        }
        if (strcmp(fields[i], "cap") == 0) {
            t->cap = strtod(values[i], NULL);
            continue;
        }
        if (!(copies[i] = strdup(fields[i])))
            goto oom;
        if (!parse_field(copies[i], &pf[i]) || pf[i].variant < 0 || pf[i].variant >= nvariants) {
            pf[i].metric = NULL;
            continue;
        }
        collect((char *)t->regions, &t->nregions, sizeof *t->regions, pf[i].region);
        if (pf[i].period >= 0) {
            int k = 0;
            while (k < t->nperiods && t->periods[k] != pf[i].period)
                k++;
            if (k == t->nperiods)
                t->periods[t->nperiods++] = pf[i].period;
        } else if (!pf[i].promoted) {
            collect((char *)t->days, &t->ndays, sizeof *t->days, pf[i].day);
        }
    }
    qsort(t->regions, (size_t)t->nregions, sizeof *t->regions, cmp_str);
    qsort(t->days, (size_t)t->ndays, sizeof *t->days, cmp_str);
    qsort(t->periods, (size_t)t->nperiods, sizeof *t->periods, cmp_int);
    size_t ncells = (size_t)t->nregions * (size_t)(t->ndays ? t->ndays : 1) * (size_t)nvariants;
    t->cells = calloc(ncells ? ncells : 1, sizeof *t->cells);
    t->promoted = calloc((size_t)(t->nregions ? t->nregions : 1) * (size_t)nvariants,
                         sizeof *t->promoted);
    t->period_cells = calloc((size_t)(t->nregions ? t->nregions : 1) *
                                 (size_t)(t->nperiods ? t->nperiods : 1) * (size_t)nvariants,
                             sizeof *t->period_cells);
    if (!t->cells || !t->promoted || !t->period_cells)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (!pf[i].metric)
            continue;
        int r = find_sorted((char *)t->regions, t->nregions, sizeof *t->regions, pf[i].region);
        if (pf[i].period >= 0) {
            int pi = results_period_index(t, pf[i].period);
            add_metric(&t->period_cells[((size_t)r * (size_t)t->nperiods + (size_t)pi) *
                                            (size_t)nvariants + (size_t)pf[i].variant],
                       pf[i].metric, values[i]);
        } else if (pf[i].promoted) {
            add_metric(&t->promoted[(size_t)r * (size_t)nvariants + (size_t)pf[i].variant],
                       pf[i].metric, values[i]);
        } else {
            int d = find_sorted((char *)t->days, t->ndays, sizeof *t->days, pf[i].day);
            size_t idx = ((size_t)r * (size_t)t->ndays + (size_t)d) * (size_t)nvariants +
                         (size_t)pf[i].variant;
            add_metric(&t->cells[idx], pf[i].metric, values[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(copies[i]);
    free(copies);
    free(pf);
    return 0;
oom:
    if (copies)
        for (size_t i = 0; i < n; i++)
            free(copies[i]);
    free(copies);
    free(pf);
    results_free(t);
    return -1;
}

void results_free(results_table *t)
{
    free(t->regions);
    free(t->days);
    free(t->cells);
    free(t->promoted);
    free(t->periods);
    free(t->period_cells);
    memset(t, 0, sizeof *t);
}

int results_period_index(const results_table *t, int period)
{
    const int *hit = bsearch(&period, t->periods, (size_t)t->nperiods, sizeof *t->periods, cmp_int);
    return hit ? (int)(hit - t->periods) : -1;
}

const results_counts *results_period_cell(const results_table *t, int r, int pi, int v)
{
    return &t->period_cells[((size_t)r * (size_t)t->nperiods + (size_t)pi) * (size_t)t->nvariants +
                            (size_t)v];
}

int results_region_index(const results_table *t, const char *region)
{
    return find_sorted((char *)t->regions, t->nregions, sizeof *t->regions, region);
}

static void add_counts(results_counts *a, const results_counts *b)
{
    a->visitors += b->visitors;
    a->conversions += b->conversions;
    a->orders += b->orders;
    a->decliners += b->decliners;
    a->decline_events += b->decline_events;
    a->revenue_sum += b->revenue_sum;
    a->revenue_sumsq += b->revenue_sumsq;
    a->capped_sum += b->capped_sum;
    a->capped_sumsq += b->capped_sumsq;
    a->covariate_visitors += b->covariate_visitors;
    a->covariate_sum += b->covariate_sum;
    a->covariate_sumsq += b->covariate_sumsq;
    a->cross_sum += b->cross_sum;
    a->capped_cross_sum += b->capped_cross_sum;
    a->refunds += b->refunds;
    a->refund_sum += b->refund_sum;
}

void results_sum(const results_table *t, int region, int upto_day, results_counts *out)
{
    memset(out, 0, (size_t)t->nvariants * sizeof *out);
    for (int r = 0; r < t->nregions; r++) {
        if (region >= 0 && r != region)
            continue;
        for (int d = 0; d <= upto_day && d < t->ndays; d++)
            for (int v = 0; v < t->nvariants; v++)
                add_counts(&out[v], &t->cells[((size_t)r * (size_t)t->ndays + (size_t)d) *
                                                  (size_t)t->nvariants + (size_t)v]);
    }
}

bool results_capping_applied(const results_table *t, const experiment *e)
{
    if (e->cap_learn)
        return e->revenue_cap > 0 && e->cap_recapped;
    return t->cap > 0 || e->revenue_cap > 0;
}

json_t *results_counts_json_fields(const char *variant, const results_counts *c, unsigned fields)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:f, s:f, s:I, s:I, s:I}", "variant", variant,
                          "visitors", (json_int_t)c->visitors, "conversions",
                          (json_int_t)c->conversions, "revenue_sum", c->revenue_sum,
                          "revenue_sumsq", c->revenue_sumsq, "orders", (json_int_t)c->orders,
                          "decliners", (json_int_t)c->decliners, "decline_events",
                          (json_int_t)c->decline_events);
    if (fields & RESULTS_JSON_CAPPED)
        json_object_update_new(o, json_pack("{s:f, s:f}", "revenue_sum_capped", c->capped_sum,
                                            "revenue_sumsq_capped", c->capped_sumsq));
    if (fields & RESULTS_JSON_CART)
        json_object_update_new(
            o, json_pack("{s:I, s:f, s:f, s:f, s:f}", "cart_visitors",
                         (json_int_t)c->covariate_visitors, "cart_sum", c->covariate_sum,
                         "cart_sumsq", c->covariate_sumsq, "cart_revenue_sum", c->cross_sum,
                         "cart_revenue_sum_capped", c->capped_cross_sum));
    if (fields & RESULTS_JSON_REFUNDS)
        json_object_update_new(o, json_pack("{s:I, s:f}", "refunds", (json_int_t)c->refunds,
                                            "refund_sum", c->refund_sum));
    return o;
}

json_t *results_counts_json(const char *variant, const results_counts *c)
{
    return results_counts_json_fields(variant, c, RESULTS_JSON_ALL);
}

/* Which optional groups of COUNTS fields an experiment's results carry:
 * each only where it has something to say (a body of many regions x days
 * is mostly these rows, and their size is the cost of the endpoint). */
static unsigned optional_fields(const results_table *t, const experiment *e)
{
    unsigned f = e->revenue_cap > 0 || e->cap_learn || t->cap > 0 ? RESULTS_JSON_CAPPED : 0;
    size_t ncells = (size_t)t->nregions * (size_t)t->ndays * (size_t)t->nvariants;
    size_t nprom = (size_t)t->nregions * (size_t)t->nvariants;
    for (size_t i = 0; i < ncells + nprom; i++) {
        const results_counts *c = i < ncells ? &t->cells[i] : &t->promoted[i - ncells];
        if (c->covariate_visitors > 0)
            f |= RESULTS_JSON_CART;
        if (c->refunds > 0)
            f |= RESULTS_JSON_REFUNDS;
    }
    return f;
}

static json_t *variants_json(const results_table *t, const experiment *e, const results_counts *c,
                             unsigned fields)
{
    json_t *a = json_array();
    for (int v = 0; v < t->nvariants; v++)
        json_array_append_new(a, results_counts_json_fields(e->variants[v].key, &c[v], fields));
    return a;
}

json_t *results_json(const results_table *t, const experiment *e, const char *region_filter)
{
    int k = t->nvariants;
    unsigned fields = optional_fields(t, e); /* once: it reads the whole table */
    results_counts *sum = calloc((size_t)k, sizeof *sum);
    if (!sum)
        return NULL;
    json_t *root = json_object();
    json_t *vs = json_array();
    for (int v = 0; v < k; v++)
        json_array_append_new(vs, json_pack("{s:s, s:f, s:b}", "key", e->variants[v].key, "weight",
                                            e->variants[v].weight, "control", v == e->control));
    json_object_set_new(root, "variants", vs);

    results_sum(t, -1, t->ndays - 1, sum);
    json_object_set_new(root, "total",
                        json_pack("{s:o}", "variants", variants_json(t, e, sum, fields)));

    json_t *regions = json_array();
    /* Every region with data, plus every promoted or targeted region. */
    for (int r = 0; r < t->nregions; r++) {
        if (region_filter && strcmp(region_filter, t->regions[r]) != 0)
            continue;
        results_sum(t, r, t->ndays - 1, sum);
        json_t *reg = json_pack("{s:s, s:o}", "region", t->regions[r], "variants",
                                variants_json(t, e, sum, fields));
        const exp_promotion *p = experiment_promotion(e, t->regions[r]);
        if (p) {
            json_object_set_new(reg, "promotion",
                json_pack("{s:s, s:f, s:s, s:o}", "variant", e->variants[p->variant].key,
                          "holdback", p->holdback, "since", p->since, "counts",
                          variants_json(t, e, &t->promoted[(size_t)r * (size_t)k], fields)));
        } else {
            bool any = false;
            for (int v = 0; v < k; v++)
                any |= t->promoted[(size_t)r * (size_t)k + (size_t)v].visitors > 0;
            json_object_set_new(reg, "promotion", json_null());
            if (any) /* promoted traffic from a promotion since undone */
                json_object_set_new(reg, "formerly_promoted",
                                    variants_json(t, e, &t->promoted[(size_t)r * (size_t)k], fields));
        }
        json_array_append_new(regions, reg);
    }
    for (int i = 0; i < e->npromotions; i++) {
        const exp_promotion *p = &e->promotions[i];
        if (results_region_index(t, p->region) >= 0 ||
            (region_filter && strcmp(region_filter, p->region) != 0))
            continue;
        memset(sum, 0, (size_t)k * sizeof *sum);
        json_array_append_new(regions,
            json_pack("{s:s, s:o, s:{s:s, s:f, s:s, s:o}}", "region", p->region, "variants",
                      variants_json(t, e, sum, fields), "promotion", "variant", e->variants[p->variant].key,
                      "holdback", p->holdback, "since", p->since, "counts", variants_json(t, e, sum, fields)));
    }
    json_object_set_new(root, "regions", regions);

    json_t *daily = json_array();
    for (int r = 0; r < t->nregions; r++) {
        if (region_filter && strcmp(region_filter, t->regions[r]) != 0)
            continue;
        for (int d = 0; d < t->ndays; d++)
            for (int v = 0; v < k; v++) {
                const results_counts *c =
                    &t->cells[((size_t)r * (size_t)t->ndays + (size_t)d) * (size_t)k + (size_t)v];
                json_t *row = results_counts_json_fields(e->variants[v].key, c, fields);
                json_object_set_new(row, "day", json_string(t->days[d]));
                json_object_set_new(row, "region", json_string(t->regions[r]));
                json_array_append_new(daily, row);
            }
    }
    json_object_set_new(root, "daily", daily);
    json_object_set_new(root, "integrity",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "duplicates",
                                  (json_int_t)t->duplicates, "unexposed_conversions",
                                  (json_int_t)t->unexposed_conversions, "unexposed_declines",
                                  (json_int_t)t->unexposed_declines, "unexposed_refunds",
                                  (json_int_t)t->unexposed_refunds, "refused_refunds",
                                  (json_int_t)t->refused_refunds));
    /* The cap the counts were recorded under: the one Redis holds (the
     * configured or learned one before any order was recorded). */
    json_t *cap = json_null();
    if (e->revenue_cap > 0 || t->cap > 0 || e->cap_learn) {
        double v = t->cap > 0 ? t->cap : e->revenue_cap;
        json_t *learned = json_object_get(e->def, "capping_learned");
        cap = json_pack("{s:o, s:s, s:O?, s:b, s:b}", "value", v > 0 ? json_real(v) : json_null(),
                        "mode", e->cap_learn ? "learned" : "fixed", "learned", learned,
                        "recapped", !e->cap_learn || e->cap_recapped, "applied",
                        results_capping_applied(t, e));
    }
    json_object_set_new(root, "capping", cap);
    free(sum);
    return root;
}

/* experiment.c: parsing, validation and compilation of one experiment
 * (see experiment.h and docs/config.md). */
#include "experiment.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "journal_line.h"
#include "stats_bandit.h"

static const char *const read_only_fields[] = {
    "created_at", "started_at", "stopped_at", "updated_at",
    "allocation_version", "origin", "promotions", "revision", "capping_learned", "breaker_trips",
    "breaker_resets", "bandit_state", NULL,
};

static const char *const known_fields[] = {
    "key", "name", "description", "salt", "status", "placement", "pages",
    "regions", "traffic_percent", "control", "variants", "goal", "guardrails",
    "layer", "qa", "stats", "auto_promote", "capping", "breaker", "factors", "interactions",
    "allocation", NULL,
};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* Formats "experiment KEY: message" into err and returns false, so that a
 * validation step reads `return fail(err, key, "...", ...)`. */
__attribute__((format(printf, 3, 4)))
static bool fail(char err[EXP_ERR_MAX], const char *key, const char *fmt, ...)
{
    char msg[EXP_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, EXP_ERR_MAX, "experiment %s: %s", key && *key ? key : "(no key)", msg);
    return false;
}

static uint32_t fraction_to_buckets(double fraction)
{
    double b = floor(fraction * HASH_BUCKETS + 0.5);
    if (b < 0)
        return 0;
    if (b > HASH_BUCKETS)
        return HASH_BUCKETS;
    return (uint32_t)b;
}

/* Reads an optional string field; false (with err) when present but not a
 * string. */
static bool opt_string(json_t *obj, const char *field, const char **out,
                       const char *key, char err[EXP_ERR_MAX])
{
    json_t *v = json_object_get(obj, field);
    if (!v)
        return true;
    if (!json_is_string(v))
        return fail(err, key, "%s: must be a string", field);
    *out = json_string_value(v);
    return true;
}

/* Reads an optional number field of obj; section (NULL at the top level)
 * prefixes the field in messages, so that "stats.alpha" is not reported
 * as a bare "alpha". */
static bool opt_number(json_t *obj, const char *section, const char *field, double lo, double hi,
                       double *out, const char *key, char err[EXP_ERR_MAX])
{
    json_t *v = json_object_get(obj, field);
    const char *dot = section ? "." : "";
    if (!section)
        section = "";
    if (!v)
        return true;
    if (!json_is_number(v))
        return fail(err, key, "%s%s%s: must be a number", section, dot, field);
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi)
        return fail(err, key, "%s%s%s: must be between %g and %g (got %g)", section, dot, field,
                    lo, hi, d);
    *out = d;
    return true;
}

/* Bucket ranges from cumulative weights, exactly as docs/assignment.md:
 * item i owns [floor(cum_i * 10000 + 0.5), start of item i + 1), the last
 * one up to 10,000. A macro, so that variants and factor levels (two
 * structs with the same weight/start/end fields) share this one rule. */
#define SET_RANGES(items, n)                                                \
    do {                                                                    \
        double cum_ = 0;                                                    \
        for (int i_ = 0; i_ < (n); i_++) {                                  \
            (items)[i_].start = fraction_to_buckets(cum_);                  \
            cum_ += (items)[i_].weight;                                     \
        }                                                                   \
        for (int i_ = 0; i_ + 1 < (n); i_++)                                \
            (items)[i_].end = (items)[i_ + 1].start;                        \
        (items)[(n) - 1].end = HASH_BUCKETS;                                \
    } while (0)

static bool parse_variants(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    json_t *vs = json_object_get(def, "variants");
    if (!json_is_array(vs))
        return fail(err, e->key, "variants: required, a list of 2 to %d variants", EXP_MAX_VARIANTS);
    size_t n = json_array_size(vs);
    if (n < 2 || n > EXP_MAX_VARIANTS)
        return fail(err, e->key, "variants: needs 2 to %d variants (got %zu)", EXP_MAX_VARIANTS, n);

    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(vs, i);
        exp_variant *ev = &e->variants[i];
        if (!json_is_object(v))
            return fail(err, e->key, "variants[%zu]: must be an object", i);
        const char *vk = NULL;
        json_t *w = json_object_get(v, "weight");
        json_t *payload = json_object_get(v, "payload");
        const char *f;
        json_t *ignored;
        json_object_foreach(v, f, ignored) {
            if (strcmp(f, "key") && strcmp(f, "weight") && strcmp(f, "payload") &&
                strcmp(f, "name") && strcmp(f, "description"))
                return fail(err, e->key, "variants[%zu]: unknown field \"%s\"", i, f);
        }
        if (!opt_string(v, "key", &vk, e->key, err))
            return false;
        if (!vk || !validate_key(vk))
            return fail(err, e->key, "variants[%zu].key: required, [a-z0-9][a-z0-9_-]*, at most %d characters",
                        i, VALIDATE_KEY_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->variants[j].key, vk) == 0)
                return fail(err, e->key, "variants[%zu].key: \"%s\" is used twice", i, vk);
        if (!json_is_number(w) || !isfinite(json_number_value(w)) || json_number_value(w) < 0)
            return fail(err, e->key, "variant %s: weight must be a number >= 0", vk);
        if (payload && !json_is_object(payload))
            return fail(err, e->key, "variant %s: payload must be an object", vk);
        snprintf(ev->key, sizeof ev->key, "%s", vk);
        ev->weight = json_number_value(w);
        sum += ev->weight;
        if (!payload) { /* normalize: every variant carries an object payload */
            json_object_set_new(v, "payload", json_object());
            payload = json_object_get(v, "payload");
        }
        ev->payload_json = json_dumps(payload, JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (!ev->payload_json)
            return fail(err, e->key, "variant %s: payload cannot be serialized", vk);
        e->nvariants = (int)i + 1;
    }
    if (fabs(sum - 1.0) > 1e-9)
        return fail(err, e->key, "variant weights sum to %.10g, must sum to 1", sum);

    SET_RANGES(e->variants, (int)n);
    return true;
}

/* A level key: [a-z0-9][a-z0-9_]*, a key without '-', because a cell key
 * joins level keys with '-' and must split back into them unambiguously. */
static bool valid_level_key(const char *s)
{
    if (!validate_key(s))
        return false;
    for (; *s; s++)
        if (*s == '-')
            return false;
    return true;
}

/* One factor's levels: keys, weights (all given and summing to 1, or none
 * given: equal), payloads (objects, default {}), and the level ranges. The
 * definition is normalized in place: every level gets its weight and an
 * object payload, so the stored definition says exactly what runs. */
static bool parse_levels(experiment *e, exp_factor *f, size_t fi, json_t *levels,
                         char err[EXP_ERR_MAX])
{
    if (!json_is_array(levels))
        return fail(err, e->key, "factors[%zu].levels: required, a list of 2 to %d levels", fi,
                    EXP_MAX_LEVELS);
    size_t n = json_array_size(levels);
    if (n < 2 || n > EXP_MAX_LEVELS)
        return fail(err, e->key, "factor %s: levels: needs 2 to %d levels (got %zu)", f->key,
                    EXP_MAX_LEVELS, n);
    size_t weighted = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_array_get(levels, i);
        if (!json_is_object(l))
            return fail(err, e->key, "factor %s: levels[%zu]: must be an object", f->key, i);
        const char *fld;
        json_t *ignored;
        json_object_foreach(l, fld, ignored) {
            if (strcmp(fld, "key") && strcmp(fld, "weight") && strcmp(fld, "payload") &&
                strcmp(fld, "name") && strcmp(fld, "description"))
                return fail(err, e->key, "factor %s: levels[%zu]: unknown field \"%s\"", f->key,
                            i, fld);
        }
        const char *lk = json_string_value(json_object_get(l, "key"));
        if (!lk || !valid_level_key(lk))
            return fail(err, e->key, "factor %s: levels[%zu].key: required, [a-z0-9][a-z0-9_]* "
                        "(no '-': cell keys join level keys with '-'), at most %d characters",
                        f->key, i, VALIDATE_KEY_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(f->levels[j].key, lk) == 0)
                return fail(err, e->key, "factor %s: levels[%zu].key: \"%s\" is used twice",
                            f->key, i, lk);
        snprintf(f->levels[i].key, sizeof f->levels[i].key, "%s", lk);
        json_t *w = json_object_get(l, "weight");
        if (w) {
            if (!json_is_number(w) || !isfinite(json_number_value(w)) || json_number_value(w) < 0)
                return fail(err, e->key, "factor %s: level %s: weight must be a number >= 0",
                            f->key, lk);
            f->levels[i].weight = json_number_value(w);
            sum += f->levels[i].weight;
            weighted++;
        }
        json_t *payload = json_object_get(l, "payload");
        if (payload && !json_is_object(payload))
            return fail(err, e->key, "factor %s: level %s: payload must be an object", f->key, lk);
        if (!payload)
            json_object_set_new(l, "payload", json_object());
    }
    if (weighted > 0 && weighted < n)
        return fail(err, e->key, "factor %s: weight: given on %zu of %zu levels; give it on "
                    "every level or on none (equal weights)", f->key, weighted, n);
    if (weighted > 0 && fabs(sum - 1.0) > 1e-9)
        return fail(err, e->key, "factor %s: level weights sum to %.10g, must sum to 1", f->key,
                    sum);
    if (weighted == 0)
        for (size_t i = 0; i < n; i++) {
            f->levels[i].weight = 1.0 / (double)n;
            json_object_set_new(json_array_get(levels, i), "weight",
                                json_real(f->levels[i].weight));
        }
    f->nlevels = (int)n;
    SET_RANGES(f->levels, f->nlevels);
    return true;
}

/* Whether two factors' levels set the same top-level payload key: the
 * merged cell payload would then depend on factor order, silently. */
static const char *shared_payload_key(json_t *levels_a, json_t *levels_b)
{
    size_t i, j;
    json_t *la, *lb;
    json_array_foreach(levels_a, i, la) {
        const char *k;
        json_t *ignored;
        json_object_foreach(json_object_get(la, "payload"), k, ignored) {
            json_array_foreach(levels_b, j, lb) {
                if (json_object_get(json_object_get(lb, "payload"), k))
                    return k;
            }
        }
    }
    return NULL;
}

/* "factors": 2..EXP_MAX_FACTORS factors of 2..EXP_MAX_LEVELS levels, at
 * most EXP_MAX_VARIANTS cells. Compiles the cells into e->variants in cell
 * index order (first factor slowest): key = level keys joined by '-',
 * weight = product of the level weights, payload = the levels' payloads
 * merged in factor order. The control is cell 0: every factor's first
 * level. */
static bool parse_factors(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    json_t *fs = json_object_get(def, "factors");
    if (json_object_get(def, "variants"))
        return fail(err, e->key, "factors: an experiment has either variants or factors, not both");
    if (json_object_get(def, "control"))
        return fail(err, e->key, "control: not accepted with factors (the first level of every "
                                 "factor is its control, and the control cell is all of them)");
    if (!json_is_array(fs))
        return fail(err, e->key, "factors: must be a list of 2 to %d factors", EXP_MAX_FACTORS);
    size_t n = json_array_size(fs);
    if (n < 2 || n > EXP_MAX_FACTORS)
        return fail(err, e->key, "factors: needs 2 to %d factors (got %zu)", EXP_MAX_FACTORS, n);

    long cells = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *jf = json_array_get(fs, i);
        exp_factor *f = &e->factors[i];
        if (!json_is_object(jf))
            return fail(err, e->key, "factors[%zu]: must be an object", i);
        const char *fld;
        json_t *ignored;
        json_object_foreach(jf, fld, ignored) {
            if (strcmp(fld, "key") && strcmp(fld, "levels") && strcmp(fld, "name") &&
                strcmp(fld, "description"))
                return fail(err, e->key, "factors[%zu]: unknown field \"%s\"", i, fld);
        }
        const char *fk = json_string_value(json_object_get(jf, "key"));
        if (!fk || !validate_key(fk))
            return fail(err, e->key, "factors[%zu].key: required, [a-z0-9][a-z0-9_-]*, at most "
                        "%d characters", i, VALIDATE_KEY_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->factors[j].key, fk) == 0)
                return fail(err, e->key, "factors[%zu].key: \"%s\" is used twice", i, fk);
        snprintf(f->key, sizeof f->key, "%s", fk);
        if (!parse_levels(e, f, i, json_object_get(jf, "levels"), err))
            return false;
        cells *= f->nlevels;
        e->nfactors = (int)i + 1;
    }
    if (cells > EXP_MAX_VARIANTS)
        return fail(err, e->key, "factors: %ld cells (the product of the level counts), at most %d",
                    cells, EXP_MAX_VARIANTS);
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            const char *k = shared_payload_key(json_object_get(json_array_get(fs, a), "levels"),
                                               json_object_get(json_array_get(fs, b), "levels"));
            if (k)
                return fail(err, e->key, "factors %s and %s: both set payload key \"%s\" (a cell's "
                            "payload merges its levels' payloads, so each key belongs to one "
                            "factor)", e->factors[a].key, e->factors[b].key, k);
        }
    int stride = 1;
    for (int f = e->nfactors - 1; f >= 0; f--) {
        e->factors[f].stride = stride;
        stride *= e->factors[f].nlevels;
        char purpose[sizeof "factor:" + VALIDATE_KEY_MAX];
        snprintf(purpose, sizeof purpose, "factor:%s", e->factors[f].key);
        hash_prefix_init(&e->factors[f].prefix, e->salt, purpose);
    }

    for (int c = 0; c < (int)cells; c++) {
        exp_variant *v = &e->variants[c];
        int lv[EXP_MAX_FACTORS];
        experiment_cell_levels(e, c, lv);
        char key[EXP_MAX_FACTORS * (VALIDATE_KEY_MAX + 1)];
        size_t kl = 0;
        json_t *payload = json_object();
        if (!payload)
            return fail(err, e->key, "out of memory");
        v->weight = 1;
        for (int f = 0; f < e->nfactors; f++) {
            const exp_level *l = &e->factors[f].levels[lv[f]];
            kl += (size_t)snprintf(key + kl, sizeof key - kl, "%s%s", f ? "-" : "", l->key);
            v->weight *= l->weight;
            json_t *jl = json_array_get(json_object_get(json_array_get(fs, (size_t)f), "levels"),
                                        (size_t)lv[f]);
            json_object_update(payload, json_object_get(jl, "payload"));
        }
        if (kl > VALIDATE_KEY_MAX) {
            json_decref(payload);
            return fail(err, e->key, "factors: cell key \"%.*s...\" is %zu characters, at most %d "
                        "(use shorter level keys)", 48, key, kl, VALIDATE_KEY_MAX);
        }
        memcpy(v->key, key, kl + 1);
        v->payload_json = json_dumps(payload, JSON_COMPACT | JSON_REAL_PRECISION(15));
        json_decref(payload);
        if (!v->payload_json)
            return fail(err, e->key, "cell %s: payload cannot be serialized", v->key);
        e->nvariants = c + 1;
    }
    SET_RANGES(e->variants, e->nvariants);
    e->control = 0;

    json_t *inter = json_object_get(def, "interactions");
    if (inter && !json_is_boolean(inter))
        return fail(err, e->key, "interactions: must be true or false");
    e->interactions = !inter || json_is_true(inter);
    if (!inter)
        json_object_set_new(def, "interactions", json_true());
    return true;
}

static bool parse_string_list(json_t *list, const char *field, const char **out, int max,
                              int *count, const char *key, char err[EXP_ERR_MAX])
{
    if (!json_is_array(list))
        return fail(err, key, "%s: must be a list of keys", field);
    if ((int)json_array_size(list) > max)
        return fail(err, key, "%s: at most %d entries", field, max);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v) || !validate_key(json_string_value(v)))
            return fail(err, key, "%s[%zu]: must be a key ([a-z0-9][a-z0-9_-]*)", field, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(out[j], json_string_value(v)) == 0)
                return fail(err, key, "%s[%zu]: \"%s\" is listed twice", field, i, json_string_value(v));
        out[i] = json_string_value(v);
    }
    *count = (int)json_array_size(list);
    return true;
}

static int cmp_promotion(const void *a, const void *b)
{
    return strcmp(((const exp_promotion *)a)->region, ((const exp_promotion *)b)->region);
}

static bool parse_promotions(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    json_t *ps = json_object_get(def, "promotions");
    if (!ps)
        return true;
    if (!json_is_object(ps))
        return fail(err, e->key, "promotions: must be an object keyed by region");
    size_t n = json_object_size(ps);
    if (n == 0)
        return true;
    e->promotions = calloc(n, sizeof *e->promotions);
    if (!e->promotions)
        return fail(err, e->key, "out of memory");
    const char *region;
    json_t *p;
    json_object_foreach(ps, region, p) {
        exp_promotion *ep = &e->promotions[e->npromotions];
        const char *vk = json_string_value(json_object_get(p, "variant"));
        json_t *h = json_object_get(p, "holdback");
        const char *since = json_string_value(json_object_get(p, "since"));
        if (!validate_key(region))
            return fail(err, e->key, "promotions: \"%s\" is not a region key", region);
        if (!vk || (ep->variant = experiment_variant_index(e, vk)) < 0)
            return fail(err, e->key, "promotions.%s.variant: not a variant", region);
        if (!json_is_number(h) || json_number_value(h) < 0 || json_number_value(h) > 1)
            return fail(err, e->key, "promotions.%s.holdback: must be between 0 and 1", region);
        snprintf(ep->region, sizeof ep->region, "%s", region);
        ep->holdback = json_number_value(h);
        ep->holdback_buckets = fraction_to_buckets(ep->holdback);
        snprintf(ep->since, sizeof ep->since, "%s", since ? since : "");
        e->npromotions++;
    }
    qsort(e->promotions, (size_t)e->npromotions, sizeof *e->promotions, cmp_promotion);
    return true;
}

static int cmp_trip(const void *a, const void *b)
{
    return strcmp(((const exp_breaker_trip *)a)->region, ((const exp_breaker_trip *)b)->region);
}

/* "breaker": {"decline_rate": bool, "aov": bool, "alpha": number}, all
 * optional; and the read-only "breaker_trips" {region: {variant, since,
 * ...evidence}} and "breaker_resets" {region: {at, day}}. */
static bool parse_breaker(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    e->breaker_decline = true;
    e->breaker_aov = false;
    e->breaker_alpha = -1;
    json_t *b = json_object_get(def, "breaker");
    if (b) {
        if (!json_is_object(b))
            return fail(err, e->key, "breaker: must be an object such as "
                                     "{\"decline_rate\": true, \"aov\": false}");
        const char *f;
        json_t *v;
        json_object_foreach(b, f, v) {
            if (strcmp(f, "decline_rate") && strcmp(f, "aov") && strcmp(f, "alpha"))
                return fail(err, e->key, "breaker: unknown field \"%s\" (known: decline_rate, "
                                         "aov, alpha)", f);
            if (strcmp(f, "alpha") && !json_is_boolean(v))
                return fail(err, e->key, "breaker.%s: must be true or false", f);
        }
        json_t *d = json_object_get(b, "decline_rate"), *a = json_object_get(b, "aov");
        if (d)
            e->breaker_decline = json_is_true(d);
        if (a)
            e->breaker_aov = json_is_true(a);
        if (!opt_number(b, "breaker", "alpha", 1e-6, 0.5, &e->breaker_alpha, e->key, err))
            return false;
    }
    json_t *ts = json_object_get(def, "breaker_trips");
    if (ts && !json_is_object(ts))
        return fail(err, e->key, "breaker_trips: must be an object keyed by region");
    size_t n = json_object_size(ts);
    if (n > 0) {
        if (!(e->trips = calloc(n, sizeof *e->trips)))
            return fail(err, e->key, "out of memory");
        const char *region;
        json_t *t;
        json_object_foreach(ts, region, t) {
            exp_breaker_trip *et = &e->trips[e->ntrips];
            const char *vk = json_string_value(json_object_get(t, "variant"));
            const char *since = json_string_value(json_object_get(t, "since"));
            if (!validate_key(region))
                return fail(err, e->key, "breaker_trips: \"%s\" is not a region key", region);
            if (!vk || (et->variant = experiment_variant_index(e, vk)) < 0)
                return fail(err, e->key, "breaker_trips.%s.variant: not a variant", region);
            snprintf(et->region, sizeof et->region, "%s", region);
            snprintf(et->since, sizeof et->since, "%s", since ? since : "");
            e->ntrips++;
        }
        qsort(e->trips, (size_t)e->ntrips, sizeof *e->trips, cmp_trip);
    }
    json_t *rs = json_object_get(def, "breaker_resets");
    if (rs) {
        if (!json_is_object(rs))
            return fail(err, e->key, "breaker_resets: must be an object keyed by region");
        const char *region;
        json_t *r;
        json_object_foreach(rs, region, r) {
            const char *day = json_string_value(json_object_get(r, "day"));
            if (!validate_key(region) || !day || strlen(day) != 10)
                return fail(err, e->key, "breaker_resets.%s: needs a \"day\" YYYY-MM-DD", region);
        }
    }
    return true;
}

static bool parse_layer(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    json_t *layer = json_object_get(def, "layer");
    if (!layer || json_is_null(layer))
        return true;
    if (!json_is_object(layer))
        return fail(err, e->key, "layer: must be an object {\"name\", \"range\"}");
    const char *name = json_string_value(json_object_get(layer, "name"));
    if (!name || !validate_key(name))
        return fail(err, e->key, "layer.name: required, a key ([a-z0-9][a-z0-9_-]*)");
    e->has_layer = true;
    e->layer_name = name;
    e->layer_from = 0;
    e->layer_to = HASH_BUCKETS;
    json_t *range = json_object_get(layer, "range");
    if (range) {
        json_t *a = json_array_get(range, 0), *b = json_array_get(range, 1);
        if (!json_is_array(range) || json_array_size(range) != 2 || !json_is_integer(a) ||
            !json_is_integer(b))
            return fail(err, e->key, "layer.range: must be [from, to], integers of 0..10000");
        json_int_t from = json_integer_value(a), to = json_integer_value(b);
        if (from < 0 || to > HASH_BUCKETS || from >= to)
            return fail(err, e->key, "layer.range: needs 0 <= from < to <= 10000 (got [%lld, %lld])",
                        (long long)from, (long long)to);
        e->layer_from = (uint32_t)from;
        e->layer_to = (uint32_t)to;
    }
    return true;
}

static bool parse_qa(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    json_t *qa = json_object_get(def, "qa");
    if (!qa)
        return true;
    if (!json_is_object(qa))
        return fail(err, e->key, "qa: must be an object");
    json_t *visitors = json_object_get(qa, "visitors");
    json_t *qo = json_object_get(qa, "query_override");
    if (visitors) {
        if (!json_is_object(visitors))
            return fail(err, e->key, "qa.visitors: must map visitor ids to variant keys");
        const char *vid;
        json_t *vk;
        json_object_foreach(visitors, vid, vk) {
            if (!validate_id(vid))
                return fail(err, e->key, "qa.visitors: \"%s\" is not a valid visitor id", vid);
            if (!json_is_string(vk) || experiment_variant_index(e, json_string_value(vk)) < 0)
                return fail(err, e->key, "qa.visitors.%s: not a variant of this experiment", vid);
        }
        e->qa_visitors = visitors;
    }
    if (qo && !json_is_boolean(qo))
        return fail(err, e->key, "qa.query_override: must be true or false");
    e->qa_query_override = json_is_true(qo);
    return true;
}

static bool parse_stats_and_auto(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    e->alpha = e->tau2 = -1;
    e->min_sample = -1;
    e->interaction_effect = -1;
    e->auto_holdback = 0.05;
    json_t *st = json_object_get(def, "stats");
    if (st) {
        if (!json_is_object(st))
            return fail(err, e->key, "stats: must be an object");
        const char *f;
        json_t *v;
        json_object_foreach(st, f, v) {
            if (strcmp(f, "alpha") && strcmp(f, "tau2") && strcmp(f, "min_sample") &&
                strcmp(f, "interaction_effect"))
                return fail(err, e->key, "stats: unknown field \"%s\"", f);
        }
        double ms = -1;
        if (!opt_number(st, "stats", "alpha", 1e-6, 0.5, &e->alpha, e->key, err) ||
            !opt_number(st, "stats", "tau2", 1e-12, 1.0, &e->tau2, e->key, err) ||
            !opt_number(st, "stats", "min_sample", 0, 1e12, &ms, e->key, err) ||
            !opt_number(st, "stats", "interaction_effect", 1e-6, 0.5, &e->interaction_effect,
                        e->key, err))
            return false;
        e->min_sample = ms < 0 ? -1 : (long)ms;
    }
    json_t *ap = json_object_get(def, "auto_promote");
    if (ap) {
        if (!json_is_object(ap))
            return fail(err, e->key, "auto_promote: must be an object");
        json_t *en = json_object_get(ap, "enabled");
        if (en && !json_is_boolean(en))
            return fail(err, e->key, "auto_promote.enabled: must be true or false");
        e->auto_promote = json_is_true(en);
        if (!opt_number(ap, "auto_promote", "holdback", 0, 1, &e->auto_holdback, e->key, err))
            return false;
    }
    return true;
}

/* "capping": {"value": CAP} caps at an absolute value; {"learn":
 * "mean_sd", "k": K, "min_converters": M} learns CAP = mean + K sd of the
 * converting visitors' totals, pooled over variants and regions, once M
 * visitors have converted, and freezes it in the read-only field
 * "capping_learned" (engine/capping.h). Either way each visitor's revenue
 * total counts at most CAP in the capped figures (docs/stats.md). */
static bool parse_capping(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    e->revenue_cap = 0;
    e->cap_learn = false;
    e->cap_k = 3;
    e->cap_min_converters = 200;
    e->cap_recapped = false;
    json_t *c = json_object_get(def, "capping");
    if (!c)
        return true;
    if (!json_is_object(c))
        return fail(err, e->key, "capping: must be an object like {\"value\": 500} or "
                                 "{\"learn\": \"mean_sd\"}");
    const char *f;
    json_t *v;
    json_object_foreach(c, f, v) {
        if (strcmp(f, "value") && strcmp(f, "learn") && strcmp(f, "k") &&
            strcmp(f, "min_converters"))
            return fail(err, e->key, "capping: unknown field \"%s\"", f);
    }
    json_t *val = json_object_get(c, "value"), *learn = json_object_get(c, "learn");
    if (!val == !learn)
        return fail(err, e->key, "capping: give either value (a fixed cap) or learn "
                                 "(\"mean_sd\": learned from the data)");
    if (val) {
        if (json_object_get(c, "k") || json_object_get(c, "min_converters"))
            return fail(err, e->key, "capping: k and min_converters go with learn, not value");
        if (!json_is_number(val) || !(json_number_value(val) > 0) ||
            !(json_number_value(val) <= 1e12))
            return fail(err, e->key,
                        "capping.value: required, the most one visitor's revenue counts for, "
                        "above 0 and at most 1e12");
        e->revenue_cap = json_number_value(val);
        return true;
    }
    if (!json_is_string(learn) || strcmp(json_string_value(learn), "mean_sd") != 0)
        return fail(err, e->key, "capping.learn: must be \"mean_sd\" (mean + k standard "
                                 "deviations of the converting visitors' revenue)");
    double mc = 200;
    if (!opt_number(c, "capping", "k", 1, 10, &e->cap_k, e->key, err) ||
        !opt_number(c, "capping", "min_converters", 30, 1e9, &mc, e->key, err))
        return false;
    e->cap_learn = true;
    e->cap_min_converters = (long)mc;
    json_t *learned = json_object_get(def, "capping_learned");
    if (learned) {
        json_t *lv = json_object_get(learned, "value");
        if (!json_is_number(lv) || !(json_number_value(lv) > 0))
            return fail(err, e->key, "capping_learned.value: must be a number above 0");
        e->revenue_cap = json_number_value(lv);
        e->cap_recapped = json_is_true(json_object_get(learned, "recapped"));
    }
    return true;
}

/* ---- Bandit allocation ------------------------------------------------
 * "allocation": {"mode", "metric", "every", "control_share", "floor",
 * "min_visitors_per_arm", "beta", "seed"} (docs/config.md, "allocation")
 * and the read-only "bandit_state" the updater writes (engine/bandit.c).
 * Kept in one section so that the rest of the parser does not change. */

/* "15m", "6h", "1d": a whole number and a unit m, h or d. Returns seconds,
 * or -1 when malformed or outside 15m..7d. */
static int parse_every(const char *s)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    long n = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        n = n * 10 + (*s - '0');
        if (n > EXP_BANDIT_MAX_EVERY)
            return -1;
    }
    long unit = s[0] == 'm' ? 60 : s[0] == 'h' ? 3600 : s[0] == 'd' ? 86400 : 0;
    if (!unit || s[1] != '\0')
        return -1;
    long secs = n * unit;
    return secs < EXP_BANDIT_MIN_EVERY || secs > EXP_BANDIT_MAX_EVERY ? -1 : (int)secs;
}

static bool parse_allocation(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    exp_bandit *b = &e->bandit;
    b->mode = EXP_ALLOC_FIXED;
    json_t *a = json_object_get(def, "allocation");
    if (!a)
        return true;
    if (!json_is_object(a))
        return fail(err, e->key, "allocation: must be an object such as "
                                 "{\"mode\": \"bandit\", \"every\": \"1d\"}");
    const char *f;
    json_t *v;
    json_object_foreach(a, f, v) {
        if (strcmp(f, "mode") && strcmp(f, "metric") && strcmp(f, "every") &&
            strcmp(f, "control_share") && strcmp(f, "floor") && strcmp(f, "min_visitors_per_arm") &&
            strcmp(f, "beta") && strcmp(f, "seed"))
            return fail(err, e->key, "allocation: unknown field \"%s\" (known: mode, metric, every, "
                                     "control_share, floor, min_visitors_per_arm, beta, seed)", f);
    }
    const char *mode = "fixed";
    if (!opt_string(a, "mode", &mode, e->key, err))
        return false;
    if (strcmp(mode, "fixed") == 0) {
        if (json_object_size(a) > (json_object_get(a, "mode") ? 1u : 0u))
            return fail(err, e->key, "allocation: the bandit settings need \"mode\": \"bandit\"");
        return true;
    }
    if (strcmp(mode, "bandit") != 0)
        return fail(err, e->key, "allocation.mode: must be \"fixed\" or \"bandit\" (got \"%s\")",
                    mode);
    if (json_object_get(def, "factors"))
        return fail(err, e->key, "allocation.mode: a bandit cannot be factorial (\"factors\")");
    if (e->nvariants > STATS_BANDIT_MAX_ARMS)
        return fail(err, e->key, "allocation.mode: a bandit has at most %d variants (got %d)",
                    STATS_BANDIT_MAX_ARMS, e->nvariants);
    b->mode = EXP_ALLOC_BANDIT;

    const char *metric = e->goal == EXP_GOAL_CONVERSION ? "conversion" : "revenue";
    if (!opt_string(a, "metric", &metric, e->key, err))
        return false;
    if (strcmp(metric, "conversion") == 0)
        b->metric = EXP_BANDIT_CONVERSION;
    else if (strcmp(metric, "revenue") == 0)
        b->metric = EXP_BANDIT_REVENUE;
    else
        return fail(err, e->key, "allocation.metric: must be \"conversion\" or \"revenue\" "
                                 "(got \"%s\")", metric);

    const char *every = "1d";
    if (!opt_string(a, "every", &every, e->key, err))
        return false;
    if ((b->every = parse_every(every)) < 0)
        return fail(err, e->key, "allocation.every: a whole number and a unit m, h or d, "
                                 "from 15m to 7d (got \"%s\")", every);

    b->control_share = 1.0 / e->nvariants;
    b->floor = 0.01;
    b->beta = 0.5;
    double mv = 100;
    if (!opt_number(a, "allocation", "control_share", 0, 1, &b->control_share, e->key, err) ||
        !opt_number(a, "allocation", "floor", 0, 1, &b->floor, e->key, err) ||
        !opt_number(a, "allocation", "min_visitors_per_arm", 1, 1e9, &mv, e->key, err) ||
        !opt_number(a, "allocation", "beta", 0, 1, &b->beta, e->key, err))
        return false;
    if (b->control_share >= 1)
        return fail(err, e->key, "allocation.control_share: must be below 1 (the treatments "
                                 "need some traffic)");
    if (b->beta <= 0 || b->beta >= 1)
        return fail(err, e->key, "allocation.beta: must be strictly between 0 and 1 (got %g)",
                    b->beta);
    if (mv != floor(mv))
        return fail(err, e->key, "allocation.min_visitors_per_arm: must be a whole number");
    b->min_visitors_per_arm = (long)mv;
    int m = e->nvariants - 1;
    if (b->floor * m > 1 - b->control_share + 1e-12)
        return fail(err, e->key, "allocation.floor: %d treatments x %g is more than the %g the "
                                 "control leaves", m, b->floor, 1 - b->control_share);

    json_t *seed = json_object_get(a, "seed");
    if (seed) {
        if (!json_is_integer(seed) || json_integer_value(seed) < 0 ||
            json_integer_value(seed) > 4294967295LL)
            return fail(err, e->key, "allocation.seed: must be a whole number from 0 to 4294967295");
        b->seed = (uint64_t)json_integer_value(seed);
    } else {
        b->seed = hash_murmur3_32(e->key, strlen(e->key), 0);
    }
    return true;
}

static int cmp_bandit_region(const void *a, const void *b)
{
    return strcmp(((const exp_bandit_region *)a)->region, ((const exp_bandit_region *)b)->region);
}

/* Reads k weights (a distribution) from an array; false when it is not one. */
static bool read_weights(json_t *ws, int k, double *out)
{
    if (!json_is_array(ws) || (int)json_array_size(ws) != k)
        return false;
    double sum = 0;
    for (int i = 0; i < k; i++) {
        json_t *w = json_array_get(ws, (size_t)i);
        if (!json_is_number(w) || !isfinite(json_number_value(w)) || json_number_value(w) < 0)
            return false;
        out[i] = json_number_value(w);
        sum += out[i];
    }
    return fabs(sum - 1) <= 1e-9;
}

/* "bandit_state": {"regions": {REGION: {"period", "weights", "layout",
 * "since", "waiting", "fewest_visitors", "p_best", "history"}},
 * "next_update"}. Written by the engine only, so anything malformed is a
 * damaged state file and an error, never silently the starting weights
 * (that would move visitors). */
/* Whether a decoded layout can be this region's: every arm owns the
 * buckets its weights give it, and every bucket not marked moved still has
 * its owner under the starting ranges (what lets assignment skip the Redis
 * lookup there: docs/assignment.md, "Bandit stickiness"). */
static bool layout_consistent(const experiment *e, const bandit_layout *l, const double *w)
{
    uint32_t want[EXP_MAX_VARIANTS];
    bandit_layout_targets(w, e->nvariants, want);
    for (int v = 0; v < e->nvariants; v++)
        if (l->count[v] != want[v])
            return false;
    int v = 0;
    for (uint32_t b = 0; b < HASH_BUCKETS; b++) {
        while (v < e->nvariants - 1 && b >= e->variants[v].end)
            v++;
        if (!bandit_layout_bucket_moved(l, b) && l->owner[b] != v)
            return false;
    }
    return true;
}

static bool parse_bandit_state(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    exp_bandit *b = &e->bandit;
    json_t *st = json_object_get(def, "bandit_state");
    if (!st)
        return true;
    if (b->mode != EXP_ALLOC_BANDIT)
        return fail(err, e->key, "bandit_state: present but allocation.mode is not \"bandit\"");
    if (!json_is_object(st))
        return fail(err, e->key, "bandit_state: must be an object");
    json_t *next = json_object_get(st, "next_update");
    if (next && (!json_is_string(next) || json_string_length(next) >= sizeof b->next_update))
        return fail(err, e->key, "bandit_state.next_update: must be an RFC 3339 time");
    if (next)
        snprintf(b->next_update, sizeof b->next_update, "%s", json_string_value(next));
    json_t *regions = json_object_get(st, "regions");
    if (regions && !json_is_object(regions))
        return fail(err, e->key, "bandit_state.regions: must be an object keyed by region");
    size_t n = json_object_size(regions);
    if (n == 0)
        return true;
    if (!(b->regions = calloc(n, sizeof *b->regions)))
        return fail(err, e->key, "out of memory");
    const char *region;
    json_t *r;
    json_object_foreach(regions, region, r) {
        if (!validate_key(region) || !json_is_object(r))
            return fail(err, e->key, "bandit_state.regions: \"%s\" is not a region key with an "
                                     "object", region);
        json_t *period = json_object_get(r, "period");
        if (!json_is_integer(period) || json_integer_value(period) < 0 ||
            json_integer_value(period) > JOURNAL_PERIOD_MAX)
            return fail(err, e->key, "bandit_state.regions.%s.period: must be a whole number >= 0",
                        region);
        double w[EXP_MAX_VARIANTS];
        if (!read_weights(json_object_get(r, "weights"), e->nvariants, w))
            return fail(err, e->key, "bandit_state.regions.%s.weights: must be %d weights "
                                     "summing to 1", region, e->nvariants);
        json_t *since = json_object_get(r, "since");
        if (since && (!json_is_string(since) || json_string_length(since) >= 32))
            return fail(err, e->key, "bandit_state.regions.%s.since: must be an RFC 3339 time",
                        region);
        json_t *hist = json_object_get(r, "history");
        if (hist && (!json_is_array(hist) || json_array_size(hist) > EXP_BANDIT_MAX_HISTORY + 1))
            return fail(err, e->key, "bandit_state.regions.%s.history: must be a list of at most "
                                     "%d periods", region, EXP_BANDIT_MAX_HISTORY + 1);
        const char *text = json_string_value(json_object_get(r, "layout"));
        if (json_integer_value(period) == 0 && !text)
            continue; /* waiting on the starting weights: the fixed ranges */
        exp_bandit_region *br = &b->regions[b->nregions];
        if (!(br->layout = malloc(sizeof *br->layout)))
            return fail(err, e->key, "out of memory");
        b->nregions++;
        if (!text || bandit_layout_decode(br->layout, text, e->nvariants) != 0)
            return fail(err, e->key, "bandit_state.regions.%s.layout: not a bucket layout of %d "
                                     "arms", region, e->nvariants);
        if (json_integer_value(period) == 0) { /* a layout of period 0 is the fixed one */
            free(br->layout);
            br->layout = NULL;
            b->nregions--;
            continue;
        }
        if (!layout_consistent(e, br->layout, w))
            return fail(err, e->key, "bandit_state.regions.%s.layout: does not match its weights "
                                     "and the starting ranges (an unmoved bucket changed owner)",
                        region);
        if (!e->bandit.moved_any && !(e->bandit.moved_any = calloc(1, sizeof br->layout->moved)))
            return fail(err, e->key, "out of memory");
        for (size_t i = 0; i < sizeof br->layout->moved; i++)
            e->bandit.moved_any[i] |= br->layout->moved[i];
        snprintf(br->region, sizeof br->region, "%s", region);
        br->period = (int)json_integer_value(period);
        br->nweights = e->nvariants;
        memcpy(br->weights, w, sizeof(double) * (size_t)e->nvariants);
        snprintf(br->since, sizeof br->since, "%s", since ? json_string_value(since) : "");
    }
    qsort(b->regions, (size_t)b->nregions, sizeof *b->regions, cmp_bandit_region);
    return true;
}

bool experiment_is_bandit(const experiment *e)
{
    return e->bandit.mode == EXP_ALLOC_BANDIT;
}

const exp_bandit_region *experiment_bandit_region(const experiment *e, const char *region)
{
    if (e->bandit.nregions == 0 || !region)
        return NULL;
    exp_bandit_region probe;
    snprintf(probe.region, sizeof probe.region, "%s", region);
    return bsearch(&probe, e->bandit.regions, (size_t)e->bandit.nregions, sizeof probe,
                   cmp_bandit_region);
}

int experiment_bandit_period(const experiment *e, const char *region)
{
    const exp_bandit_region *r = experiment_bandit_region(e, region);
    return r ? r->period : 0;
}

static bool parse_body(experiment *e, json_t *def, char err[EXP_ERR_MAX])
{
    const char *key = json_string_value(json_object_get(def, "key"));
    if (!key || !validate_key(key))
        return fail(err, key, "key: required, [a-z0-9][a-z0-9_-]*, at most %d characters",
                    VALIDATE_KEY_MAX);
    snprintf(e->key, sizeof e->key, "%s", key);

    const char *f;
    json_t *v;
    json_object_foreach(def, f, v) {
        if (!in_list(f, known_fields) && !in_list(f, read_only_fields))
            return fail(err, key, "unknown field \"%s\"", f);
    }

    const char *name = NULL, *description = NULL, *status = "draft", *goal = "conversion";
    e->salt = key;
    if (!opt_string(def, "name", &name, key, err) ||
        !opt_string(def, "description", &description, key, err) ||
        !opt_string(def, "salt", &e->salt, key, err) ||
        !opt_string(def, "status", &status, key, err) ||
        !opt_string(def, "placement", &e->placement, key, err) ||
        !opt_string(def, "goal", &goal, key, err))
        return false;
    if (!*e->salt || strlen(e->salt) > 128)
        return fail(err, key, "salt: must be 1-128 characters");
    if (!e->placement || !validate_key(e->placement))
        return fail(err, key, "placement: required, a key such as \"checkout_popup\"");

    if (strcmp(status, "draft") == 0)
        e->status = EXP_DRAFT;
    else if (strcmp(status, "running") == 0)
        e->status = EXP_RUNNING;
    else if (strcmp(status, "stopped") == 0)
        e->status = EXP_STOPPED;
    else
        return fail(err, key, "status: must be draft, running or stopped (got \"%s\")", status);

    if (strcmp(goal, "conversion") == 0)
        e->goal = EXP_GOAL_CONVERSION;
    else if (strcmp(goal, "revenue") == 0)
        e->goal = EXP_GOAL_REVENUE;
    else if (strcmp(goal, "aov") == 0)
        e->goal = EXP_GOAL_AOV;
    else
        return fail(err, key, "goal: must be conversion, revenue or aov (got \"%s\")", goal);

    if (json_object_get(def, "factors")) {
        if (!parse_factors(e, def, err))
            return false;
    } else {
        if (json_object_get(def, "interactions"))
            return fail(err, key, "interactions: only for an experiment with factors");
        if (!parse_variants(e, def, err))
            return false;
        const char *control = e->variants[0].key;
        if (!opt_string(def, "control", &control, key, err))
            return false;
        if ((e->control = experiment_variant_index(e, control)) < 0)
            return fail(err, key, "control: \"%s\" is not one of the variants", control);
    }

    json_t *pages = json_object_get(def, "pages");
    if (pages) {
        const char *tmp[EXP_MAX_REGIONS];
        int np = 0;
        if (!parse_string_list(pages, "pages", tmp, EXP_MAX_REGIONS, &np, key, err))
            return false;
    }
    json_t *regions = json_object_get(def, "regions");
    if (!regions || (json_is_string(regions) && strcmp(json_string_value(regions), "all") == 0)) {
        e->all_regions = true;
    } else {
        if (!parse_string_list(regions, "regions", e->regions, EXP_MAX_REGIONS, &e->nregions, key, err))
            return false;
        if (e->nregions == 0)
            return fail(err, key, "regions: an empty list targets nobody; use \"all\" or name regions");
    }
    json_t *guard = json_object_get(def, "guardrails");
    if (guard) {
        size_t i;
        json_t *g;
        if (!json_is_array(guard))
            return fail(err, key, "guardrails: must be a list");
        json_array_foreach(guard, i, g) {
            if (!json_is_string(g) || strcmp(json_string_value(g), "decline_rate") != 0)
                return fail(err, key, "guardrails[%zu]: supported guardrails: \"decline_rate\"", i);
        }
    }

    e->traffic_percent = 100;
    if (!opt_number(def, NULL, "traffic_percent", 0, 100, &e->traffic_percent, key, err))
        return false;
    /* docs/assignment.md: floor(traffic_percent * 100 + 0.5), in that order.
     * Dividing by 100 first and scaling to 10,000 rounds some halfway values
     * (0.015, 0.575, 98.085) the other way, so the engine and the browser
     * SDK would disagree about the visitors of the edge bucket. */
    double coverage = floor(e->traffic_percent * 100 + 0.5);
    e->coverage_buckets = coverage >= HASH_BUCKETS ? HASH_BUCKETS : (uint32_t)coverage;

    if (!parse_layer(e, def, err) || !parse_qa(e, def, err) || !parse_stats_and_auto(e, def, err) ||
        !parse_capping(e, def, err))
        return false;
    hash_prefix_init(&e->coverage_prefix, e->salt, "coverage");
    hash_prefix_init(&e->variant_prefix, e->salt, "variant");
    hash_prefix_init(&e->holdback_prefix, e->salt, "holdback");
    if (e->has_layer)
        hash_prefix_init(&e->layer_prefix, e->layer_name, "layer");

    json_t *av = json_object_get(def, "allocation_version");
    e->allocation_version = json_is_integer(av) && json_integer_value(av) > 0
                                ? (int)json_integer_value(av) : 1;
    e->started = json_is_string(json_object_get(def, "started_at"));
    json_t *rev = json_object_get(def, "revision");
    e->revision = json_is_integer(rev) && json_integer_value(rev) > 0 ? json_integer_value(rev) : 0;
    return parse_promotions(e, def, err) && parse_breaker(e, def, err) &&
           parse_allocation(e, def, err) && parse_bandit_state(e, def, err);
}

experiment *experiment_parse(json_t *def, exp_source source, char err[EXP_ERR_MAX])
{
    err[0] = '\0';
    if (!json_is_object(def)) {
        snprintf(err, EXP_ERR_MAX, "experiment: must be a JSON object");
        return NULL;
    }
    experiment *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, EXP_ERR_MAX, "out of memory");
        return NULL;
    }
    e->refs = 1;
    e->def = json_deep_copy(def);
    if (e->def && source == EXP_FROM_USER)
        for (const char *const *f = read_only_fields; *f; f++)
            json_object_del(e->def, *f);
    if (!e->def || !parse_body(e, e->def, err)) {
        if (!err[0])
            snprintf(err, EXP_ERR_MAX, "out of memory");
        experiment_release(e);
        return NULL;
    }
    return e;
}

experiment *experiment_retain(experiment *e)
{
    if (e)
        e->refs++;
    return e;
}

void experiment_release(experiment *e)
{
    if (!e || --e->refs > 0)
        return;
    for (int i = 0; i < EXP_MAX_VARIANTS; i++)
        free(e->variants[i].payload_json);
    free(e->promotions);
    free(e->trips);
    for (int i = 0; i < e->bandit.nregions; i++)
        free(e->bandit.regions[i].layout);
    free(e->bandit.regions);
    free(e->bandit.moved_any);
    json_decref(e->def);
    free(e);
}

/* A started bandit keeps its mode, metric, control share, seed and
 * starting weights: the regions still on the starting weights hand out
 * the fixed ranges without a lookup, the recorded periods and the audit
 * trail assume the same rule throughout, and the control's share is the
 * planned precision of the comparison. every, floor, min_visitors_per_arm
 * and beta steer only future updates, so they may change. */
static bool check_bandit_update(const experiment *prev, const experiment *next,
                                char err[EXP_ERR_MAX])
{
    const exp_bandit *p = &prev->bandit, *n = &next->bandit;
    if (p->mode != n->mode)
        return fail(err, prev->key, "allocation.mode: cannot switch between fixed and bandit once "
                                    "the experiment has started (create a new experiment)");
    if (p->mode != EXP_ALLOC_BANDIT)
        return true;
    if (p->metric != n->metric)
        return fail(err, prev->key, "allocation.metric: cannot change once a bandit has started");
    if (p->control_share != n->control_share)
        return fail(err, prev->key, "allocation.control_share: cannot change once a bandit has "
                                    "started");
    if (p->seed != n->seed)
        return fail(err, prev->key, "allocation.seed: cannot change once a bandit has started");
    for (int i = 0; i < prev->nvariants; i++)
        if (prev->variants[i].start != next->variants[i].start ||
            prev->variants[i].end != next->variants[i].end)
            return fail(err, prev->key, "variants: the starting weights of a bandit cannot change "
                                        "once it has started (the updater moves the weights)");
    return true;
}

bool experiment_check_update(const experiment *prev, const experiment *next,
                             bool *bump_allocation, char err[EXP_ERR_MAX])
{
    *bump_allocation = false;
    if (!prev->started)
        return true;
    if (strcmp(prev->salt, next->salt) != 0)
        return fail(err, prev->key, "salt: cannot change once the experiment has started "
                                    "(it would reshuffle every visitor; create a new experiment)");
    if (prev->nfactors != next->nfactors)
        return fail(err, prev->key, "factors: cannot be added, removed or replaced by variants once "
                                    "the experiment has started (create a new experiment)");
    for (int f = 0; f < prev->nfactors; f++) {
        const exp_factor *pf = &prev->factors[f], *nf = &next->factors[f];
        if (strcmp(pf->key, nf->key) != 0)
            return fail(err, prev->key, "factors: cannot be renamed or reordered once the "
                                        "experiment has started (factor %d was %s, now %s)",
                        f, pf->key, nf->key);
        bool same_levels = pf->nlevels == nf->nlevels;
        for (int l = 0; same_levels && l < pf->nlevels; l++)
            same_levels = strcmp(pf->levels[l].key, nf->levels[l].key) == 0;
        if (!same_levels)
            return fail(err, prev->key, "factor %s: levels cannot be added, removed, renamed or "
                                        "reordered once the experiment has started (level weights "
                                        "may change)", pf->key);
    }
    bool same_variants = prev->nvariants == next->nvariants;
    for (int i = 0; same_variants && i < prev->nvariants; i++)
        same_variants = strcmp(prev->variants[i].key, next->variants[i].key) == 0;
    if (!same_variants)
        return fail(err, prev->key, "variants: cannot be added, removed, renamed or reordered once "
                                    "the experiment has started (create a new experiment)");
    /* The cap is fixed once started; a learned one changes once, from
     * none to the value learned. */
    bool learned_now = prev->cap_learn && next->cap_learn && prev->revenue_cap == 0;
    json_t *pc = json_object_get(prev->def, "capping"), *nc = json_object_get(next->def, "capping");
    if (((pc || nc) && !json_equal(pc, nc)) /* json_equal says no to two NULLs */ ||
        (prev->revenue_cap != next->revenue_cap && !learned_now))
        return fail(err, prev->key, "capping: cannot change once the experiment has started "
                                    "(the capped sums already recorded use the cap; create a new "
                                    "experiment)");
    if (!check_bandit_update(prev, next, err))
        return false;
    for (int i = 0; i < prev->nvariants; i++)
        if (prev->variants[i].start != next->variants[i].start ||
            prev->variants[i].end != next->variants[i].end)
            *bump_allocation = true;
    /* A factorial visitor is placed by its level buckets, not the cell
     * ranges: a level weight change moves visitors even where the cell
     * ranges happen to stay the same. */
    for (int f = 0; f < prev->nfactors; f++)
        for (int l = 0; l < prev->factors[f].nlevels; l++)
            if (prev->factors[f].levels[l].start != next->factors[f].levels[l].start ||
                prev->factors[f].levels[l].end != next->factors[f].levels[l].end)
                *bump_allocation = true;
    return true;
}

bool experiment_is_factorial(const experiment *e)
{
    return e->nfactors > 0;
}

void experiment_cell_levels(const experiment *e, int cell, int levels[EXP_MAX_FACTORS])
{
    for (int f = 0; f < e->nfactors; f++)
        levels[f] = cell / e->factors[f].stride % e->factors[f].nlevels;
}

int experiment_cell_index(const experiment *e, const int *levels)
{
    int cell = 0;
    for (int f = 0; f < e->nfactors; f++)
        cell += levels[f] * e->factors[f].stride;
    return cell;
}

int experiment_factor_index(const experiment *e, const char *key)
{
    for (int f = 0; f < e->nfactors; f++)
        if (strcmp(e->factors[f].key, key) == 0)
            return f;
    return -1;
}

int experiment_level_index(const exp_factor *f, const char *key)
{
    for (int l = 0; l < f->nlevels; l++)
        if (strcmp(f->levels[l].key, key) == 0)
            return l;
    return -1;
}

int experiment_variant_index(const experiment *e, const char *key)
{
    for (int i = 0; i < e->nvariants; i++)
        if (strcmp(e->variants[i].key, key) == 0)
            return i;
    return -1;
}

bool experiment_targets_region(const experiment *e, const char *region)
{
    if (e->all_regions)
        return true;
    for (int i = 0; i < e->nregions; i++)
        if (strcmp(e->regions[i], region) == 0)
            return true;
    return false;
}

const exp_promotion *experiment_promotion(const experiment *e, const char *region)
{
    if (e->npromotions == 0)
        return NULL;
    exp_promotion probe;
    snprintf(probe.region, sizeof probe.region, "%s", region);
    return bsearch(&probe, e->promotions, (size_t)e->npromotions, sizeof probe, cmp_promotion);
}

const exp_breaker_trip *experiment_breaker_trip(const experiment *e, const char *region)
{
    if (e->ntrips == 0)
        return NULL;
    exp_breaker_trip probe;
    snprintf(probe.region, sizeof probe.region, "%s", region);
    return bsearch(&probe, e->trips, (size_t)e->ntrips, sizeof probe, cmp_trip);
}

const char *experiment_breaker_reset_day(const experiment *e, const char *region)
{
    json_t *r = json_object_get(json_object_get(e->def, "breaker_resets"), region);
    return json_string_value(json_object_get(r, "day"));
}

bool experiment_on_page(const experiment *e, const char *page)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(e->def, "pages"), i, p) {
        if (strcmp(json_string_value(p), page) == 0)
            return true;
    }
    return false;
}

const char *experiment_status_name(exp_status s)
{
    switch (s) {
    case EXP_DRAFT: return "draft";
    case EXP_RUNNING: return "running";
    case EXP_STOPPED: return "stopped";
    }
    return "draft";
}

json_t *experiment_def_with(const experiment *e, const char *field, json_t *value)
{
    json_t *def = json_deep_copy(e->def);
    if (!def) {
        json_decref(value);
        return NULL;
    }
    json_object_set_new(def, field, value);
    return def;
}

uint32_t experiment_fingerprint(json_t *user_def)
{
    json_t *copy = json_deep_copy(user_def);
    if (!copy)
        return 0;
    for (const char *const *f = read_only_fields; *f; f++)
        json_object_del(copy, *f);
    char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    if (!s)
        return 0;
    uint32_t h = hash_murmur3_32(s, strlen(s), 0);
    free(s);
    return h;
}

/* Tests for experiment.h: validation errors (one table row per rule),
 * normalization, bucket ranges from weights (docs/assignment.md), update
 * rules for started experiments, read-only fields by source, promotions,
 * fingerprints and reference counting. Leaks and double frees are caught
 * by the ASan build (tests release everything they parse). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "experiment.h"
#include "hash.h"

/* A valid running experiment every table row starts from. */
static const char *const BASE =
    "{\"key\": \"checkout-tiers\", \"placement\": \"checkout_popup\", \"status\": \"running\","
    " \"regions\": [\"gr\", \"pl\"],"
    " \"variants\": [{\"key\": \"control\", \"weight\": 0.5},"
    "              {\"key\": \"three-tiers\", \"weight\": 0.5, \"payload\": {\"tiers\": 3}}]}";

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    cr_assert_not_null(j, "test JSON does not parse at line %d: %s\n%s", jerr.line, jerr.text, text);
    return j;
}

/* Parses JSON text; the experiment (or NULL) is returned, err filled. */
static experiment *parse_text(const char *text, exp_source src, char err[EXP_ERR_MAX])
{
    json_t *def = load(text);
    experiment *e = experiment_parse(def, src, err);
    json_decref(def);
    return e;
}

static experiment *parse_ok(const char *text, exp_source src)
{
    char err[EXP_ERR_MAX];
    experiment *e = parse_text(text, src, err);
    cr_assert_not_null(e, "expected a valid experiment, got error \"%s\" for\n%s", err, text);
    return e;
}

/* BASE with the fields of patch (a JSON object) set on top, and `drop`
 * (may be NULL) removed. */
static json_t *base_with(const char *patch, const char *drop)
{
    json_t *def = load(BASE);
    if (patch) {
        json_t *p = load(patch);
        json_object_update(def, p);
        json_decref(p);
    }
    if (drop)
        json_object_del(def, drop);
    return def;
}

TestSuite(experiment);

/* ---- validation errors ---------------------------------------------- */

typedef struct bad_case {
    const char *patch; /* fields set on BASE (JSON object text), or NULL */
    const char *drop;  /* field removed from BASE, or NULL */
    const char *want;  /* substring the error must contain */
} bad_case;

#define V2 "{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}"

static const bad_case bad_cases[] = {
    /* key */
    {NULL, "key", "experiment (no key): key: required"},
    {"{\"key\": \"Checkout Tiers\"}", NULL, "key: required, [a-z0-9][a-z0-9_-]*"},
    {"{\"key\": \"-checkout\"}", NULL, "key: required"},
    {"{\"key\": 12}", NULL, "key: required"},
    {"{\"key\": \"k2345678901234567890123456789012345678901234567890123456789012345\"}", NULL,
     "key: required"},
    /* unknown top-level field: a typo is an error, not a default */
    {"{\"colour\": \"red\"}", NULL, "experiment checkout-tiers: unknown field \"colour\""},
    {"{\"weights\": [0.5, 0.5]}", NULL, "unknown field \"weights\""},
    /* strings */
    {"{\"name\": 5}", NULL, "name: must be a string"},
    {"{\"description\": []}", NULL, "description: must be a string"},
    {"{\"salt\": \"\"}", NULL, "salt: must be 1-128 characters"},
    {"{\"salt\": \"sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
     "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssss\"}", NULL,
     "salt: must be 1-128 characters"},
    {"{\"salt\": 7}", NULL, "salt: must be a string"},
    {NULL, "placement", "placement: required"},
    {"{\"placement\": \"Checkout Popup\"}", NULL, "placement: required"},
    {"{\"status\": \"paused\"}", NULL, "status: must be draft, running or stopped (got \"paused\")"},
    {"{\"goal\": \"clicks\"}", NULL, "goal: must be conversion, revenue or aov (got \"clicks\")"},
    /* variants */
    {NULL, "variants", "variants: required"},
    {"{\"variants\": {}}", NULL, "variants: required"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 1}]}", NULL, "variants: needs 2 to 64 variants (got 1)"},
    {"{\"variants\": []}", NULL, "variants: needs 2 to 64 variants (got 0)"},
    {"{\"variants\": [" V2 ", \"c\"]}", NULL, "variants[2]: must be an object"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0.5, \"colour\": 1}, {\"key\": \"b\", \"weight\": 0.5}]}",
     NULL, "variants[0]: unknown field \"colour\""},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0.5}, {\"weight\": 0.5}]}", NULL,
     "variants[1].key: required"},
    {"{\"variants\": [{\"key\": \"A\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}]}", NULL,
     "variants[0].key: required"},
    {"{\"variants\": [{\"key\": 3, \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}]}", NULL,
     "key: must be a string"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"a\", \"weight\": 0.5}]}", NULL,
     "variants[1].key: \"a\" is used twice"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"b\"}]}", NULL,
     "variant b: weight must be a number >= 0"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 1.5}, {\"key\": \"b\", \"weight\": -0.5}]}", NULL,
     "variant b: weight must be a number >= 0"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": \"0.5\"}, {\"key\": \"b\", \"weight\": 0.5}]}", NULL,
     "variant a: weight must be a number >= 0"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0.5, \"payload\": \"x\"}, {\"key\": \"b\", \"weight\": 0.5}]}",
     NULL, "variant a: payload must be an object"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0.5, \"payload\": [1]}, {\"key\": \"b\", \"weight\": 0.5}]}",
     NULL, "variant a: payload must be an object"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.8}]}", NULL,
     "experiment checkout-tiers: variant weights sum to 1.3"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.4}]}", NULL,
     "variant weights sum to 0.9"},
    {"{\"variants\": [{\"key\": \"a\", \"weight\": 0}, {\"key\": \"b\", \"weight\": 0}]}", NULL,
     "variant weights sum to 0"},
    /* control */
    {"{\"control\": \"treatment\"}", NULL, "control: \"treatment\" is not one of the variants"},
    {"{\"control\": 1}", NULL, "control: must be a string"},
    /* regions and pages */
    {"{\"regions\": []}", NULL, "regions: an empty list targets nobody"},
    {"{\"regions\": \"everywhere\"}", NULL, "regions: must be a list of keys"},
    {"{\"regions\": [\"GR\"]}", NULL, "regions[0]: must be a key"},
    {"{\"regions\": [\"gr\", 5]}", NULL, "regions[1]: must be a key"},
    {"{\"regions\": [\"gr\", \"gr\"]}", NULL, "regions[1]: \"gr\" is listed twice"},
    {"{\"pages\": \"product_page\"}", NULL, "pages: must be a list of keys"},
    {"{\"pages\": [\"Product Page\"]}", NULL, "pages[0]: must be a key"},
    {"{\"pages\": [\"cart\", \"cart\"]}", NULL, "pages[1]: \"cart\" is listed twice"},
    /* guardrails */
    {"{\"guardrails\": \"decline_rate\"}", NULL, "guardrails: must be a list"},
    {"{\"guardrails\": [\"revenue\"]}", NULL, "guardrails[0]: supported guardrails: \"decline_rate\""},
    /* traffic */
    {"{\"traffic_percent\": 101}", NULL, "traffic_percent: must be between 0 and 100 (got 101)"},
    {"{\"traffic_percent\": -1}", NULL, "traffic_percent: must be between 0 and 100 (got -1)"},
    {"{\"traffic_percent\": \"50\"}", NULL, "traffic_percent: must be a number"},
    /* layer */
    {"{\"layer\": \"checkout\"}", NULL, "layer: must be an object"},
    {"{\"layer\": {\"range\": [0, 5000]}}", NULL, "layer.name: required"},
    {"{\"layer\": {\"name\": \"Checkout\"}}", NULL, "layer.name: required"},
    {"{\"layer\": {\"name\": \"checkout\", \"range\": [5000, 5000]}}", NULL,
     "layer.range: needs 0 <= from < to <= 10000 (got [5000, 5000])"},
    {"{\"layer\": {\"name\": \"checkout\", \"range\": [0, 10001]}}", NULL,
     "layer.range: needs 0 <= from < to <= 10000 (got [0, 10001])"},
    {"{\"layer\": {\"name\": \"checkout\", \"range\": [-1, 10]}}", NULL, "layer.range: needs 0 <= from"},
    {"{\"layer\": {\"name\": \"checkout\", \"range\": [0.5, 10]}}", NULL, "layer.range: must be [from, to]"},
    {"{\"layer\": {\"name\": \"checkout\", \"range\": [0, 10, 20]}}", NULL, "layer.range: must be [from, to]"},
    {"{\"layer\": {\"name\": \"checkout\", \"range\": \"0-10\"}}", NULL, "layer.range: must be [from, to]"},
    /* qa */
    {"{\"qa\": []}", NULL, "qa: must be an object"},
    {"{\"qa\": {\"visitors\": [\"qa-1\"]}}", NULL, "qa.visitors: must map visitor ids to variant keys"},
    {"{\"qa\": {\"visitors\": {\"qa-1\": \"nope\"}}}", NULL,
     "qa.visitors.qa-1: not a variant of this experiment"},
    {"{\"qa\": {\"visitors\": {\"qa-1\": 1}}}", NULL, "qa.visitors.qa-1: not a variant"},
    {"{\"qa\": {\"visitors\": {\"bad id\": \"control\"}}}", NULL,
     "qa.visitors: \"bad id\" is not a valid visitor id"},
    {"{\"qa\": {\"query_override\": \"yes\"}}", NULL, "qa.query_override: must be true or false"},
    /* stats */
    {"{\"stats\": 0.05}", NULL, "stats: must be an object"},
    {"{\"stats\": {\"beta\": 0.2}}", NULL, "stats: unknown field \"beta\""},
    {"{\"stats\": {\"alpha\": 0.9}}", NULL, "stats.alpha: must be between 1e-06 and 0.5 (got 0.9)"},
    {"{\"stats\": {\"alpha\": \"0.05\"}}", NULL, "stats.alpha: must be a number"},
    {"{\"stats\": {\"tau2\": 0}}", NULL, "stats.tau2: must be between"},
    {"{\"stats\": {\"min_sample\": -1}}", NULL, "stats.min_sample: must be between"},
    /* auto_promote */
    {"{\"auto_promote\": true}", NULL, "auto_promote: must be an object"},
    {"{\"auto_promote\": {\"enabled\": \"yes\"}}", NULL, "auto_promote.enabled: must be true or false"},
    {"{\"auto_promote\": {\"holdback\": 1.5}}", NULL, "auto_promote.holdback: must be between 0 and 1"},
    /* capping */
    {"{\"capping\": 500}", NULL, "capping: must be an object"},
    {"{\"capping\": {}}", NULL, "capping: give either value"},
    {"{\"capping\": {\"value\": 5, \"learn\": \"mean_sd\"}}", NULL, "capping: give either value"},
    {"{\"capping\": {\"value\": 0}}", NULL, "capping.value: required"},
    {"{\"capping\": {\"value\": \"5\"}}", NULL, "capping.value: required"},
    {"{\"capping\": {\"value\": 5, \"k\": 3}}", NULL, "k and min_converters go with learn"},
    {"{\"capping\": {\"learn\": \"p99\"}}", NULL, "capping.learn: must be \"mean_sd\""},
    {"{\"capping\": {\"learn\": \"mean_sd\", \"k\": 0.5}}", NULL, "capping.k: must be between 1 and 10"},
    {"{\"capping\": {\"learn\": \"mean_sd\", \"min_converters\": 5}}", NULL,
     "capping.min_converters: must be between 30"},
    {"{\"capping\": {\"cap\": 5}}", NULL, "capping: unknown field \"cap\""},
    /* breaker */
    {"{\"breaker\": true}", NULL, "breaker: must be an object"},
    {"{\"breaker\": {\"declines\": true}}", NULL,
     "breaker: unknown field \"declines\" (known: decline_rate, aov, alpha)"},
    {"{\"breaker\": {\"decline_rate\": \"on\"}}", NULL, "breaker.decline_rate: must be true or false"},
    {"{\"breaker\": {\"aov\": 1}}", NULL, "breaker.aov: must be true or false"},
    {"{\"breaker\": {\"alpha\": 0.9}}", NULL, "breaker.alpha: must be between 1e-06 and 0.5 (got 0.9)"},
};

Test(experiment, validation_errors_name_the_field)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        json_t *def = base_with(c->patch, c->drop);
        char *before = json_dumps(def, JSON_SORT_KEYS);
        char err[EXP_ERR_MAX];
        memset(err, 'x', sizeof err);
        experiment *e = experiment_parse(def, EXP_FROM_USER, err);
        cr_expect_null(e, "case %zu (patch %s, drop %s): parsed, expected error containing \"%s\"", i,
                       c->patch ? c->patch : "-", c->drop ? c->drop : "-", c->want);
        cr_expect(memchr(err, '\0', sizeof err) != NULL, "case %zu: err is not terminated", i);
        cr_expect(strstr(err, c->want) != NULL, "case %zu (patch %s, drop %s):\n  error    \"%s\"\n  expected \"%s\"",
                  i, c->patch ? c->patch : "-", c->drop ? c->drop : "-", err, c->want);
        /* The caller's definition is never modified, even on failure. */
        char *after = json_dumps(def, JSON_SORT_KEYS);
        cr_expect_str_eq(after, before, "case %zu: experiment_parse modified its input", i);
        free(before);
        free(after);
        experiment_release(e);
        json_decref(def);
    }
}

Test(experiment, not_an_object)
{
    const char *texts[] = {"[]", "\"checkout\"", "3", "null"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        json_t *def = json_loads(texts[i], JSON_DECODE_ANY, NULL);
        cr_assert_not_null(def);
        char err[EXP_ERR_MAX];
        experiment *e = experiment_parse(def, EXP_FROM_USER, err);
        cr_expect_null(e, "%s parsed as an experiment", texts[i]);
        cr_expect(strstr(err, "must be a JSON object") != NULL, "%s: error \"%s\"", texts[i], err);
        json_decref(def);
    }
}

Test(experiment, too_many_variants)
{
    /* 64 variants is the limit (accepted), 65 is not. */
    for (int n = EXP_MAX_VARIANTS; n <= EXP_MAX_VARIANTS + 1; n++) {
        json_t *def = base_with(NULL, NULL);
        json_t *vs = json_array();
        for (int i = 0; i < n; i++) {
            char key[16];
            snprintf(key, sizeof key, "v%d", i);
            json_array_append_new(vs, json_pack("{s:s, s:f}", "key", key, "weight",
                                                i == 0 ? 1.0 : 0.0));
        }
        json_object_set_new(def, "variants", vs);
        json_object_del(def, "control");
        char err[EXP_ERR_MAX];
        experiment *e = experiment_parse(def, EXP_FROM_USER, err);
        if (n == EXP_MAX_VARIANTS) {
            cr_expect_not_null(e, "64 variants rejected: %s", err);
            if (e)
                cr_expect_eq(e->nvariants, 64);
        } else {
            cr_expect_null(e, "65 variants accepted");
            cr_expect(strstr(err, "variants: needs 2 to 64 variants (got 65)") != NULL, "error \"%s\"", err);
        }
        experiment_release(e);
        json_decref(def);
    }
}

Test(experiment, key_length_boundary)
{
    char key[VALIDATE_KEY_MAX + 2];
    for (int len = VALIDATE_KEY_MAX; len <= VALIDATE_KEY_MAX + 1; len++) {
        memset(key, 'k', (size_t)len);
        key[len] = '\0';
        json_t *def = base_with(NULL, NULL);
        json_object_set_new(def, "key", json_string(key));
        char err[EXP_ERR_MAX];
        experiment *e = experiment_parse(def, EXP_FROM_USER, err);
        if (len == VALIDATE_KEY_MAX) {
            cr_expect_not_null(e, "a %d-character key was rejected: %s", len, err);
            if (e)
                cr_expect_str_eq(e->key, key);
        } else {
            cr_expect_null(e, "a %d-character key was accepted", len);
        }
        experiment_release(e);
        json_decref(def);
    }
}

/* ---- normalization and compiled fields ------------------------------ */

Test(experiment, defaults)
{
    experiment *e = parse_ok("{\"key\": \"minimal\", \"placement\": \"cart_page\","
                             " \"variants\": [{\"key\": \"control\", \"weight\": 0.5},"
                             "              {\"key\": \"b\", \"weight\": 0.5}]}",
                             EXP_FROM_USER);
    cr_expect_eq(e->refs, 1);
    cr_expect_str_eq(e->key, "minimal");
    cr_expect_str_eq(e->salt, "minimal", "salt defaults to the key, got \"%s\"", e->salt);
    cr_expect_str_eq(e->placement, "cart_page");
    cr_expect_eq(e->status, EXP_DRAFT, "status %d, expected draft", e->status);
    cr_expect_eq(e->goal, EXP_GOAL_CONVERSION, "goal %d, expected conversion", e->goal);
    cr_expect_eq(e->control, 0, "control defaults to the first variant, got %d", e->control);
    cr_expect(e->all_regions, "regions default to all");
    cr_expect_eq(e->nregions, 0);
    cr_expect_float_eq(e->traffic_percent, 100.0, 1e-12);
    cr_expect_eq(e->coverage_buckets, HASH_BUCKETS, "coverage %u", e->coverage_buckets);
    cr_expect(!e->has_layer);
    cr_expect_null(e->qa_visitors);
    cr_expect(!e->qa_query_override);
    cr_expect_lt(e->alpha, 0.0, "alpha defaults to the server's (< 0), got %g", e->alpha);
    cr_expect_lt(e->tau2, 0.0, "tau2 defaults to the server's (< 0), got %g", e->tau2);
    cr_expect_lt(e->min_sample, 0L, "min_sample defaults to the server's (< 0), got %ld", e->min_sample);
    cr_expect(!e->auto_promote);
    cr_expect_float_eq(e->auto_holdback, 0.05, 1e-12, "auto holdback %g", e->auto_holdback);
    cr_expect_eq(e->allocation_version, 1);
    cr_expect(!e->started);
    cr_expect_eq(e->npromotions, 0);
    cr_expect_null(experiment_promotion(e, "gr"));
    cr_expect(experiment_targets_region(e, "gr"));
    cr_expect(experiment_targets_region(e, "anywhere"));
    cr_expect(!experiment_on_page(e, "product_page"), "no pages by default");
    experiment_release(e);
}

Test(experiment, explicit_fields_compile)
{
    experiment *e = parse_ok(
        "{\"key\": \"cart-bundle\", \"salt\": \"cart-bundle-v2\", \"placement\": \"cart_page\","
        " \"status\": \"stopped\", \"goal\": \"aov\", \"regions\": [\"pl\", \"gr\"],"
        " \"pages\": [\"cart\", \"product_page\"], \"traffic_percent\": 25, \"control\": \"none\","
        " \"guardrails\": [\"decline_rate\"],"
        " \"variants\": [{\"key\": \"bundle\", \"weight\": 0.5}, {\"key\": \"none\", \"weight\": 0.5}],"
        " \"layer\": {\"name\": \"cart\", \"range\": [2000, 7000]},"
        " \"qa\": {\"visitors\": {\"qa-1\": \"bundle\"}, \"query_override\": true},"
        " \"stats\": {\"alpha\": 0.01, \"tau2\": 0.001, \"min_sample\": 500},"
        " \"auto_promote\": {\"enabled\": true, \"holdback\": 0.1}}",
        EXP_FROM_USER);
    cr_expect_str_eq(e->salt, "cart-bundle-v2");
    cr_expect_eq(e->status, EXP_STOPPED);
    cr_expect_str_eq(experiment_status_name(e->status), "stopped");
    cr_expect_eq(e->goal, EXP_GOAL_AOV);
    cr_expect_eq(e->control, 1, "control \"none\" is index 1, got %d", e->control);
    cr_expect(!e->all_regions);
    cr_expect_eq(e->nregions, 2);
    cr_expect(experiment_targets_region(e, "gr"));
    cr_expect(experiment_targets_region(e, "pl"));
    cr_expect(!experiment_targets_region(e, "se"));
    cr_expect(experiment_on_page(e, "cart"));
    cr_expect(experiment_on_page(e, "product_page"));
    cr_expect(!experiment_on_page(e, "checkout"));
    cr_expect_eq(e->coverage_buckets, 2500u, "coverage %u", e->coverage_buckets);
    cr_expect(e->has_layer);
    cr_expect_str_eq(e->layer_name, "cart");
    cr_expect_eq(e->layer_from, 2000u);
    cr_expect_eq(e->layer_to, 7000u);
    cr_assert_not_null(e->qa_visitors);
    cr_expect_str_eq(json_string_value(json_object_get(e->qa_visitors, "qa-1")), "bundle");
    cr_expect(e->qa_query_override);
    cr_expect_float_eq(e->alpha, 0.01, 1e-15);
    cr_expect_float_eq(e->tau2, 0.001, 1e-15);
    cr_expect_eq(e->min_sample, 500L);
    cr_expect(e->auto_promote);
    cr_expect_float_eq(e->auto_holdback, 0.1, 1e-15);
    cr_expect_eq(experiment_variant_index(e, "bundle"), 0);
    cr_expect_eq(experiment_variant_index(e, "none"), 1);
    cr_expect_eq(experiment_variant_index(e, "other"), -1);
    experiment_release(e);
}

Test(experiment, layer_without_range_owns_the_whole_layer)
{
    json_t *def = base_with("{\"layer\": {\"name\": \"checkout\"}}", NULL);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect(e->has_layer);
    cr_expect_eq(e->layer_from, 0u);
    cr_expect_eq(e->layer_to, HASH_BUCKETS);
    experiment_release(e);
    json_decref(def);
}

Test(experiment, status_names)
{
    cr_expect_str_eq(experiment_status_name(EXP_DRAFT), "draft");
    cr_expect_str_eq(experiment_status_name(EXP_RUNNING), "running");
    cr_expect_str_eq(experiment_status_name(EXP_STOPPED), "stopped");
}

Test(experiment, payloads_are_serialized_and_defaulted)
{
    json_t *def = load(
        "{\"key\": \"offer\", \"placement\": \"product_page\","
        " \"variants\": [{\"key\": \"plain\", \"weight\": 0.5},"
        "              {\"key\": \"urgency\", \"weight\": 0.5, \"name\": \"Urgency\","
        "               \"payload\": {\"wording\": \"Only 3 left\", \"tiers\": [1, 2.5], \"show\": true}}]}");
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);

    /* A variant without payload gets {} both compiled and in the def. */
    cr_expect_str_eq(e->variants[0].payload_json, "{}", "got %s", e->variants[0].payload_json);
    json_t *v0 = json_array_get(json_object_get(e->def, "variants"), 0);
    cr_expect(json_is_object(json_object_get(v0, "payload")), "normalized def has no payload {}");
    cr_expect_eq(json_object_size(json_object_get(v0, "payload")), 0u);

    /* A payload is compact JSON that parses back to the same value. */
    const char *pj = e->variants[1].payload_json;
    cr_assert_not_null(pj);
    cr_expect(strchr(pj, '\n') == NULL && strstr(pj, ", ") == NULL && strstr(pj, ": ") == NULL,
              "payload not compact: %s", pj);
    json_t *back = json_loads(pj, 0, NULL);
    cr_assert_not_null(back, "payload_json does not parse: %s", pj);
    json_t *orig = json_object_get(json_array_get(json_object_get(def, "variants"), 1), "payload");
    cr_expect(json_equal(back, orig), "payload changed on the way: %s", pj);
    json_decref(back);

    /* The caller's definition is untouched (no payload added there). */
    json_t *in0 = json_array_get(json_object_get(def, "variants"), 0);
    cr_expect_null(json_object_get(in0, "payload"), "experiment_parse added a payload to its input");
    /* and the normalized copy is a different object */
    cr_expect_neq(e->def, def);
    experiment_release(e);
    json_decref(def);
}

/* ---- bucket ranges -------------------------------------------------- */

static experiment *with_weights(const double *w, int n)
{
    json_t *def = base_with(NULL, NULL);
    json_t *vs = json_array();
    for (int i = 0; i < n; i++) {
        char key[8];
        snprintf(key, sizeof key, "v%d", i);
        json_array_append_new(vs, json_pack("{s:s, s:f}", "key", key, "weight", w[i]));
    }
    json_object_set_new(def, "variants", vs);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    json_decref(def);
    cr_assert_not_null(e, "weights rejected: %s", err);
    return e;
}

static void expect_ranges(const experiment *e, const uint32_t (*want)[2], int n)
{
    cr_assert_eq(e->nvariants, n);
    for (int i = 0; i < n; i++)
        cr_expect(e->variants[i].start == want[i][0] && e->variants[i].end == want[i][1],
                  "variant %d owns [%u, %u), expected [%u, %u)", i, e->variants[i].start,
                  e->variants[i].end, want[i][0], want[i][1]);
}

Test(experiment, bucket_ranges_thirds)
{
    const double third = 1.0 / 3.0;
    double w[3] = {third, third, third};
    experiment *e = with_weights(w, 3);
    const uint32_t want[3][2] = {{0, 3333}, {3333, 6667}, {6667, 10000}};
    expect_ranges(e, want, 3);
    experiment_release(e);
}

Test(experiment, bucket_ranges_uneven_and_zero)
{
    double w1[3] = {0.34, 0.33, 0.33};
    experiment *e = with_weights(w1, 3);
    const uint32_t want1[3][2] = {{0, 3400}, {3400, 6700}, {6700, 10000}};
    expect_ranges(e, want1, 3);
    experiment_release(e);

    /* A weight-0 variant owns an empty range. */
    double w2[3] = {0.5, 0.0, 0.5};
    e = with_weights(w2, 3);
    const uint32_t want2[3][2] = {{0, 5000}, {5000, 5000}, {5000, 10000}};
    expect_ranges(e, want2, 3);
    experiment_release(e);

    double w3[2] = {1.0, 0.0};
    e = with_weights(w3, 2);
    const uint32_t want3[2][2] = {{0, 10000}, {10000, 10000}};
    expect_ranges(e, want3, 2);
    experiment_release(e);
}

Test(experiment, bucket_ranges_tenths_despite_rounding)
{
    /* 0.1 + 0.2 = 0.30000000000000004 in doubles; rounding at half a
     * bucket keeps every boundary exact. */
    double w[10];
    for (int i = 0; i < 10; i++)
        w[i] = 0.1;
    experiment *e = with_weights(w, 10);
    uint32_t want[10][2];
    for (uint32_t i = 0; i < 10; i++) {
        want[i][0] = 1000 * i;
        want[i][1] = 1000 * (i + 1);
    }
    expect_ranges(e, (const uint32_t (*)[2])want, 10);
    experiment_release(e);
}

Test(experiment, bucket_ranges_follow_the_spec_formula)
{
    /* docs/assignment.md: start_i = floor(c_i * 10000 + 0.5) with c_i the
     * left-to-right cumulative sum; ranges tile [0, 10000). */
    double w[5] = {0.123456, 0.2, 0.076544, 0.35, 0.25};
    experiment *e = with_weights(w, 5);
    double cum = 0;
    for (int i = 0; i < 5; i++) {
        uint32_t start = (uint32_t)floor(cum * 10000 + 0.5);
        cr_expect_eq(e->variants[i].start, start, "variant %d start %u, expected %u", i,
                     e->variants[i].start, start);
        cum += w[i];
        if (i > 0)
            cr_expect_eq(e->variants[i].start, e->variants[i - 1].end, "gap before variant %d", i);
    }
    cr_expect_eq(e->variants[0].start, 0u);
    cr_expect_eq(e->variants[4].end, HASH_BUCKETS);
    experiment_release(e);
}

static uint32_t coverage_of(double traffic_percent)
{
    json_t *def = base_with(NULL, NULL);
    json_object_set_new(def, "traffic_percent", json_real(traffic_percent));
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    json_decref(def);
    cr_assert_not_null(e, "traffic_percent %g rejected: %s", traffic_percent, err);
    uint32_t c = e->coverage_buckets;
    experiment_release(e);
    return c;
}

Test(experiment, coverage_follows_the_spec_formula)
{
    /* docs/assignment.md (and the browser SDK): a visitor is in when
     * coverage_bucket < floor(traffic_percent * 100 + 0.5). Halfway values
     * such as 0.015 or 0.575 are where a differently written formula
     * (traffic_percent / 100 * 10000) rounds the other way. */
    cr_expect_eq(coverage_of(0), 0u);
    cr_expect_eq(coverage_of(100), 10000u);
    cr_expect_eq(coverage_of(20), 2000u);
    cr_expect_eq(coverage_of(33.33), 3333u);
    const double halfway[] = {0.015, 0.175, 0.575, 0.585, 12.345, 57.575, 98.085, 99.695};
    for (size_t i = 0; i < sizeof halfway / sizeof *halfway; i++) {
        double tp = halfway[i];
        uint32_t want = (uint32_t)floor(tp * 100 + 0.5);
        uint32_t got = coverage_of(tp);
        cr_expect_eq(got, want, "traffic_percent %.17g: coverage %u buckets, spec says %u", tp, got, want);
    }
    for (int k = 0; k <= 100000; k += 37) {
        double tp = k / 1000.0;
        uint32_t want = (uint32_t)floor(tp * 100 + 0.5);
        uint32_t got = coverage_of(tp);
        cr_expect_eq(got, want, "traffic_percent %.17g: coverage %u buckets, spec says %u", tp, got, want);
    }
}

/* ---- updates of started experiments --------------------------------- */

static const char *const STARTED =
    "{\"key\": \"checkout-tiers\", \"placement\": \"checkout_popup\", \"status\": \"running\","
    " \"started_at\": \"2026-11-18T00:00:00Z\", \"allocation_version\": 1,"
    " \"variants\": [{\"key\": \"control\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}]}";

/* Parses STARTED (as the state file) with patch applied on top. */
static experiment *started_with(const char *patch)
{
    json_t *def = load(STARTED);
    if (patch) {
        json_t *p = load(patch);
        json_object_update(def, p);
        json_decref(p);
    }
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    json_decref(def);
    cr_assert_not_null(e, "%s", err);
    return e;
}

Test(experiment, update_of_a_draft_may_change_anything)
{
    json_t *def = load(STARTED);
    json_object_del(def, "started_at");
    char err[EXP_ERR_MAX];
    experiment *prev = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(prev, "%s", err);
    cr_expect(!prev->started);
    experiment *next = started_with("{\"salt\": \"new-salt\", \"variants\": ["
                                    "{\"key\": \"b\", \"weight\": 0.2}, {\"key\": \"control\", \"weight\": 0.8}]}");
    bool bump = true;
    cr_expect(experiment_check_update(prev, next, &bump, err), "draft update rejected: %s", err);
    cr_expect(!bump, "a draft never bumps the allocation");
    experiment_release(prev);
    experiment_release(next);
    json_decref(def);
}

Test(experiment, update_rejects_salt_change_when_started)
{
    experiment *prev = started_with(NULL);
    cr_expect(prev->started);
    experiment *next = started_with("{\"salt\": \"checkout-tiers-2\"}");
    char err[EXP_ERR_MAX] = "";
    bool bump = false;
    cr_expect(!experiment_check_update(prev, next, &bump, err), "salt change accepted");
    cr_expect(strstr(err, "experiment checkout-tiers: salt: cannot change") != NULL, "error \"%s\"", err);
    experiment_release(prev);
    experiment_release(next);
}

Test(experiment, capping_is_fixed_once_started_but_a_learned_cap_may_arrive_once)
{
    char err[EXP_ERR_MAX] = "";
    bool bump = false;
    experiment *fixed = started_with("{\"capping\": {\"value\": 500}}");
    cr_expect_eq(fixed->revenue_cap, 500);
    experiment *other = started_with("{\"capping\": {\"value\": 900}}");
    experiment *none = started_with(NULL);
    cr_expect(!experiment_check_update(fixed, other, &bump, err), "cap changed");
    cr_expect(strstr(err, "capping: cannot change") != NULL, "error \"%s\"", err);
    cr_expect(!experiment_check_update(fixed, none, &bump, err), "cap removed");
    cr_expect(!experiment_check_update(none, fixed, &bump, err), "cap added");
    experiment *learn = started_with("{\"capping\": {\"learn\": \"mean_sd\"}}");
    cr_expect(learn->cap_learn && learn->revenue_cap == 0 && learn->cap_k == 3 &&
              learn->cap_min_converters == 200);
    experiment *learned = started_with("{\"capping\": {\"learn\": \"mean_sd\"}, "
                                       "\"capping_learned\": {\"value\": 321.5, \"recapped\": true}}");
    cr_expect_eq(learned->revenue_cap, 321.5);
    cr_expect(learned->cap_recapped);
    experiment *relearned = started_with("{\"capping\": {\"learn\": \"mean_sd\"}, "
                                         "\"capping_learned\": {\"value\": 400}}");
    cr_expect(experiment_check_update(learn, learned, &bump, err), "learning refused: %s", err);
    cr_expect(!experiment_check_update(learned, relearned, &bump, err), "a second cap accepted");
    cr_expect(!experiment_check_update(learned, learn, &bump, err), "the learned cap dropped");
    experiment_release(fixed);
    experiment_release(other);
    experiment_release(none);
    experiment_release(learn);
    experiment_release(learned);
    experiment_release(relearned);
}

Test(experiment, update_salt_written_out_equal_to_default_is_no_change)
{
    /* Salt defaults to the key: spelling the same salt out is not a change. */
    experiment *prev = started_with(NULL);
    experiment *next = started_with("{\"salt\": \"checkout-tiers\"}");
    char err[EXP_ERR_MAX] = "";
    bool bump = true;
    cr_expect(experiment_check_update(prev, next, &bump, err), "rejected: %s", err);
    cr_expect(!bump);
    experiment_release(prev);
    experiment_release(next);
}

Test(experiment, update_rejects_variant_changes_when_started)
{
    const char *patches[] = {
        /* reordered */
        "{\"variants\": [{\"key\": \"b\", \"weight\": 0.5}, {\"key\": \"control\", \"weight\": 0.5}]}",
        /* renamed */
        "{\"variants\": [{\"key\": \"control\", \"weight\": 0.5}, {\"key\": \"c\", \"weight\": 0.5}]}",
        /* added */
        "{\"variants\": [{\"key\": \"control\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.25},"
        " {\"key\": \"c\", \"weight\": 0.25}]}",
    };
    experiment *prev = started_with(NULL);
    for (size_t i = 0; i < sizeof patches / sizeof *patches; i++) {
        experiment *next = started_with(patches[i]);
        char err[EXP_ERR_MAX] = "";
        bool bump = false;
        cr_expect(!experiment_check_update(prev, next, &bump, err), "accepted: %s", patches[i]);
        cr_expect(strstr(err, "variants: cannot be added, removed, renamed or reordered") != NULL,
                  "patch %s: error \"%s\"", patches[i], err);
        /* The other way round (e.g. removing the added one) is refused too. */
        cr_expect(!experiment_check_update(next, prev, &bump, err), "reverse accepted: %s", patches[i]);
        experiment_release(next);
    }
    experiment_release(prev);
}

Test(experiment, update_weight_change_bumps_allocation)
{
    experiment *prev = started_with(NULL);
    experiment *next = started_with(
        "{\"variants\": [{\"key\": \"control\", \"weight\": 0.2}, {\"key\": \"b\", \"weight\": 0.8}]}");
    char err[EXP_ERR_MAX] = "";
    bool bump = false;
    cr_expect(experiment_check_update(prev, next, &bump, err), "weight change rejected: %s", err);
    cr_expect(bump, "a weight change of a started experiment must bump the allocation");
    experiment_release(next);

    /* Other changes (traffic, regions, payloads, status) do not. */
    next = started_with("{\"traffic_percent\": 50, \"regions\": [\"gr\"], \"status\": \"stopped\","
                        " \"variants\": [{\"key\": \"control\", \"weight\": 0.5},"
                        "  {\"key\": \"b\", \"weight\": 0.5, \"payload\": {\"x\": 1}}]}");
    bump = true;
    cr_expect(experiment_check_update(prev, next, &bump, err), "rejected: %s", err);
    cr_expect(!bump, "no weight change, yet the allocation was bumped");
    experiment_release(next);
    experiment_release(prev);
}

/* ---- read-only fields by source ------------------------------------- */

static const char *const WITH_READ_ONLY =
    "{\"key\": \"checkout-tiers\", \"placement\": \"checkout_popup\", \"status\": \"running\","
    " \"variants\": [{\"key\": \"control\", \"weight\": 0.5}, {\"key\": \"b\", \"weight\": 0.5}],"
    " \"created_at\": \"2026-11-17T09:00:00Z\", \"started_at\": \"2026-11-18T00:00:00Z\","
    " \"stopped_at\": \"2026-11-25T00:00:00Z\", \"updated_at\": \"2026-11-19T10:00:00Z\","
    " \"allocation_version\": 3, \"origin\": \"api\","
    " \"promotions\": {\"pl\": {\"variant\": \"b\", \"holdback\": 0.1, \"since\": \"2026-11-21T08:00:00Z\"},"
    "                \"gr\": {\"variant\": \"control\", \"holdback\": 0.05, \"since\": \"2026-11-20T12:00:00Z\"}}}";

Test(experiment, read_only_fields_stripped_from_user)
{
    experiment *e = parse_ok(WITH_READ_ONLY, EXP_FROM_USER);
    const char *ro[] = {"created_at", "started_at", "stopped_at", "updated_at",
                        "allocation_version", "origin", "promotions"};
    for (size_t i = 0; i < sizeof ro / sizeof *ro; i++)
        cr_expect_null(json_object_get(e->def, ro[i]), "read-only field %s kept from a user definition", ro[i]);
    cr_expect(!e->started, "a user cannot mark an experiment started");
    cr_expect_eq(e->allocation_version, 1, "allocation_version %d taken from a user", e->allocation_version);
    cr_expect_eq(e->npromotions, 0, "promotions taken from a user");
    cr_expect_null(experiment_promotion(e, "gr"));
    /* Everything else is kept. */
    cr_expect_str_eq(json_string_value(json_object_get(e->def, "status")), "running");
    experiment_release(e);
}

Test(experiment, read_only_fields_and_promotions_kept_from_state)
{
    experiment *e = parse_ok(WITH_READ_ONLY, EXP_FROM_STATE);
    cr_expect(e->started);
    cr_expect_eq(e->allocation_version, 3);
    cr_expect_str_eq(json_string_value(json_object_get(e->def, "origin")), "api");
    cr_assert_eq(e->npromotions, 2);
    /* sorted by region */
    cr_expect_str_eq(e->promotions[0].region, "gr");
    cr_expect_str_eq(e->promotions[1].region, "pl");

    const exp_promotion *gr = experiment_promotion(e, "gr");
    cr_assert_not_null(gr);
    cr_expect_eq(gr->variant, 0);
    cr_expect_float_eq(gr->holdback, 0.05, 1e-15);
    cr_expect_eq(gr->holdback_buckets, 500u, "holdback buckets %u", gr->holdback_buckets);
    cr_expect_str_eq(gr->since, "2026-11-20T12:00:00Z");

    const exp_promotion *pl = experiment_promotion(e, "pl");
    cr_assert_not_null(pl);
    cr_expect_eq(pl->variant, 1);
    cr_expect_eq(pl->holdback_buckets, 1000u);
    cr_expect_str_eq(pl->since, "2026-11-21T08:00:00Z");

    cr_expect_null(experiment_promotion(e, "se"));
    cr_expect_null(experiment_promotion(e, "a"));
    cr_expect_null(experiment_promotion(e, "zz"));
    experiment_release(e);
}

Test(experiment, promotion_errors_from_state)
{
    static const bad_case cases[] = {
        {"{\"promotions\": []}", NULL, "promotions: must be an object keyed by region"},
        {"{\"promotions\": {\"gr\": {\"variant\": \"nope\", \"holdback\": 0.05}}}", NULL,
         "promotions.gr.variant: not a variant"},
        {"{\"promotions\": {\"gr\": {\"holdback\": 0.05}}}", NULL, "promotions.gr.variant: not a variant"},
        {"{\"promotions\": {\"gr\": {\"variant\": \"control\", \"holdback\": 1.5}}}", NULL,
         "promotions.gr.holdback: must be between 0 and 1"},
        {"{\"promotions\": {\"gr\": {\"variant\": \"control\"}}}", NULL, "promotions.gr.holdback"},
        {"{\"promotions\": {\"GR\": {\"variant\": \"control\", \"holdback\": 0.05}}}", NULL,
         "promotions: \"GR\" is not a region key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *def = base_with(cases[i].patch, NULL);
        char err[EXP_ERR_MAX];
        experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
        cr_expect_null(e, "case %zu accepted: %s", i, cases[i].patch);
        cr_expect(strstr(err, cases[i].want) != NULL, "case %zu:\n  error    \"%s\"\n  expected \"%s\"", i,
                  err, cases[i].want);
        experiment_release(e);
        json_decref(def);
    }
}

Test(experiment, empty_promotions_object)
{
    json_t *def = base_with("{\"promotions\": {}}", NULL);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect_eq(e->npromotions, 0);
    cr_expect_null(experiment_promotion(e, "gr"));
    experiment_release(e);
    json_decref(def);
}

Test(experiment, def_with_builds_a_changed_copy)
{
    experiment *e = parse_ok(BASE, EXP_FROM_USER);
    json_t *def = experiment_def_with(e, "started_at", json_string("2026-11-18T00:00:00Z"));
    cr_assert_not_null(def);
    cr_expect_null(json_object_get(e->def, "started_at"), "experiment_def_with changed the original");
    char err[EXP_ERR_MAX];
    experiment *started = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(started, "%s", err);
    cr_expect(started->started);
    cr_expect(!e->started);
    json_decref(def);
    experiment_release(started);
    experiment_release(e);
}

/* ---- fingerprint ---------------------------------------------------- */

static uint32_t fingerprint_of(const char *text)
{
    json_t *def = load(text);
    uint32_t h = experiment_fingerprint(def);
    json_decref(def);
    return h;
}

Test(experiment, fingerprint_ignores_key_order)
{
    uint32_t a = fingerprint_of(
        "{\"key\": \"k\", \"placement\": \"p\", \"variants\": [{\"key\": \"a\", \"weight\": 0.5,"
        " \"payload\": {\"x\": 1, \"y\": 2}}, {\"key\": \"b\", \"weight\": 0.5}]}");
    uint32_t b = fingerprint_of(
        "{\"variants\": [{\"payload\": {\"y\": 2, \"x\": 1}, \"weight\": 0.5, \"key\": \"a\"},"
        " {\"weight\": 0.5, \"key\": \"b\"}], \"placement\": \"p\", \"key\": \"k\"}");
    cr_expect_eq(a, b, "fingerprints differ under key order: %08x vs %08x", a, b);
}

Test(experiment, fingerprint_ignores_read_only_fields)
{
    uint32_t user = fingerprint_of(BASE);
    json_t *def = base_with("{\"created_at\": \"2026-11-17T09:00:00Z\", \"started_at\": \"2026-11-18T00:00:00Z\","
                            " \"allocation_version\": 4, \"origin\": \"file\","
                            " \"promotions\": {\"gr\": {\"variant\": \"control\", \"holdback\": 0.05}}}",
                            NULL);
    uint32_t with_ro = experiment_fingerprint(def);
    cr_expect_eq(user, with_ro, "read-only fields changed the fingerprint: %08x vs %08x", user, with_ro);
    /* The input is not modified. */
    cr_expect_not_null(json_object_get(def, "started_at"), "experiment_fingerprint modified its input");
    json_decref(def);
}

Test(experiment, fingerprint_sees_real_changes)
{
    uint32_t base = fingerprint_of(BASE);
    const char *patches[] = {
        "{\"traffic_percent\": 50}",
        "{\"status\": \"stopped\"}",
        "{\"variants\": [{\"key\": \"control\", \"weight\": 0.4},"
        " {\"key\": \"three-tiers\", \"weight\": 0.6, \"payload\": {\"tiers\": 3}}]}",
        "{\"variants\": [{\"key\": \"control\", \"weight\": 0.5},"
        " {\"key\": \"three-tiers\", \"weight\": 0.5, \"payload\": {\"tiers\": 4}}]}",
    };
    for (size_t i = 0; i < sizeof patches / sizeof *patches; i++) {
        json_t *def = base_with(patches[i], NULL);
        uint32_t h = experiment_fingerprint(def);
        cr_expect_neq(h, base, "fingerprint unchanged by %s", patches[i]);
        json_decref(def);
    }
    /* Deterministic. */
    cr_expect_eq(fingerprint_of(BASE), base);
}

/* ---- reference counting --------------------------------------------- */

Test(experiment, retain_and_release)
{
    experiment *e = parse_ok(BASE, EXP_FROM_USER);
    cr_expect_eq(e->refs, 1);
    experiment *r = experiment_retain(e);
    cr_expect_eq(r, e, "retain returns its argument");
    cr_expect_eq(e->refs, 2);
    experiment_retain(e);
    cr_expect_eq(e->refs, 3);
    experiment_release(e);
    experiment_release(e);
    cr_expect_eq(e->refs, 1, "still alive with one reference");
    /* Still usable: an in-flight lookup holding the last reference. */
    cr_expect_str_eq(e->key, "checkout-tiers");
    cr_expect_str_eq(e->variants[1].payload_json, "{\"tiers\":3}");
    experiment_release(e); /* frees; ASan reports a leak or double free */
    experiment_release(NULL);
    cr_expect_null(experiment_retain(NULL));
}

Test(experiment, borrowed_strings_live_as_long_as_the_experiment)
{
    /* salt, placement, regions and layer name point into the normalized
     * copy, so freeing the caller's definition must not dangle them. */
    json_t *def = base_with("{\"salt\": \"s1\", \"layer\": {\"name\": \"lay\"}}", NULL);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);
    json_decref(def);
    cr_expect_str_eq(e->salt, "s1");
    cr_expect_str_eq(e->placement, "checkout_popup");
    cr_expect_str_eq(e->regions[0], "gr");
    cr_expect_str_eq(e->regions[1], "pl");
    cr_expect_str_eq(e->layer_name, "lay");
    experiment_release(e);
}

Test(experiment, breaker_defaults_and_trips)
{
    json_t *def = base_with(NULL, NULL);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect(e->breaker_decline, "on for the decline rate by default");
    cr_expect(!e->breaker_aov);
    cr_expect_lt(e->breaker_alpha, 0);
    cr_expect_null(experiment_breaker_trip(e, "gr"));
    experiment_release(e);

    json_object_set_new(def, "breaker", json_pack("{s:b, s:b, s:f}", "decline_rate", 0, "aov", 1,
                                                  "alpha", 0.01));
    json_object_set_new(def, "breaker_trips",
                        json_pack("{s:{s:s, s:s, s:s}}", "gr", "variant",
                                  json_string_value(json_object_get(
                                      json_array_get(json_object_get(def, "variants"), 1), "key")),
                                  "metric", "aov", "since", "2026-11-30T10:00:00Z"));
    json_object_set_new(def, "breaker_resets",
                        json_pack("{s:{s:s, s:s}}", "pl", "at", "2026-11-29T08:00:00Z", "day",
                                  "2026-11-29"));
    /* read-only: a user's definition cannot trip a region */
    e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect(!e->breaker_decline && e->breaker_aov);
    cr_expect_float_eq(e->breaker_alpha, 0.01, 1e-12);
    cr_expect_null(experiment_breaker_trip(e, "gr"));
    experiment_release(e);
    e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(e, "%s", err);
    const exp_breaker_trip *t = experiment_breaker_trip(e, "gr");
    cr_assert_not_null(t);
    cr_expect_eq(t->variant, 1);
    cr_expect_str_eq(t->since, "2026-11-30T10:00:00Z");
    cr_expect_null(experiment_breaker_trip(e, "pl"));
    cr_expect_str_eq(experiment_breaker_reset_day(e, "pl"), "2026-11-29");
    cr_expect_null(experiment_breaker_reset_day(e, "gr"));
    experiment_release(e);

    json_object_set_new(def, "breaker_trips", json_pack("{s:{s:s}}", "gr", "variant", "nope"));
    e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_expect_null(e);
    cr_expect(strstr(err, "breaker_trips.gr.variant: not a variant") != NULL, "%s", err);
    json_decref(def);
}

/* ---- factorial experiments ------------------------------------------- */

/* Three factors: 2 x 3 x 2 = 12 cells; wording has explicit weights,
 * the others default to equal ones. */
static const char *const FACT =
    "{\"key\": \"offer-strategy\", \"placement\": \"offer_slot\", \"status\": \"running\","
    " \"factors\": ["
    "  {\"key\": \"placement\", \"levels\": ["
    "    {\"key\": \"cart\", \"payload\": {\"placement\": \"cart_page\"}},"
    "    {\"key\": \"checkout\", \"payload\": {\"placement\": \"checkout_popup\"}}]},"
    "  {\"key\": \"wording\", \"levels\": ["
    "    {\"key\": \"plain\", \"weight\": 0.5, \"payload\": {\"wording\": \"plain\"}},"
    "    {\"key\": \"benefit\", \"weight\": 0.3, \"payload\": {\"wording\": \"benefit\", \"bold\": true}},"
    "    {\"key\": \"social_proof\", \"weight\": 0.2}]},"
    "  {\"key\": \"urgency\", \"levels\": [{\"key\": \"none\"}, {\"key\": \"timer\","
    "    \"payload\": {\"timer_s\": 600}}]}]}";

/* FACT with the fields of patch set on top (drop removed, may be NULL). */
static json_t *fact_with(const char *patch, const char *drop)
{
    json_t *def = load(FACT);
    if (patch) {
        json_t *p = load(patch);
        json_object_update(def, p);
        json_decref(p);
    }
    if (drop)
        json_object_del(def, drop);
    return def;
}

Test(experiment, factorial_compiles_cells_in_order)
{
    experiment *e = parse_ok(FACT, EXP_FROM_USER);
    cr_assert(experiment_is_factorial(e));
    cr_expect_eq(e->nfactors, 3);
    cr_assert_eq(e->nvariants, 12);
    cr_expect_eq(e->control, 0);
    cr_expect(e->interactions, "interactions default to true");
    cr_expect_eq(e->factors[0].stride, 6);
    cr_expect_eq(e->factors[1].stride, 2);
    cr_expect_eq(e->factors[2].stride, 1);
    /* first factor slowest, key = level keys joined by '-' */
    cr_expect_str_eq(e->variants[0].key, "cart-plain-none");
    cr_expect_str_eq(e->variants[1].key, "cart-plain-timer");
    cr_expect_str_eq(e->variants[2].key, "cart-benefit-none");
    cr_expect_str_eq(e->variants[5].key, "cart-social_proof-timer");
    cr_expect_str_eq(e->variants[6].key, "checkout-plain-none");
    cr_expect_str_eq(e->variants[11].key, "checkout-social_proof-timer");
    /* weight = product of the level weights */
    cr_expect_float_eq(e->variants[0].weight, 0.5 * 0.5 * 0.5, 1e-12);
    cr_expect_float_eq(e->variants[3].weight, 0.5 * 0.3 * 0.5, 1e-12);
    cr_expect_float_eq(e->variants[11].weight, 0.5 * 0.2 * 0.5, 1e-12);
    double sum = 0;
    for (int i = 0; i < e->nvariants; i++)
        sum += e->variants[i].weight;
    cr_expect_float_eq(sum, 1.0, 1e-12);
    /* cell ranges are contiguous and cover the 10,000 buckets */
    cr_expect_eq(e->variants[0].start, 0);
    for (int i = 0; i + 1 < e->nvariants; i++)
        cr_expect_eq(e->variants[i].end, e->variants[i + 1].start);
    cr_expect_eq(e->variants[11].end, HASH_BUCKETS);
    /* level ranges from cumulative level weights */
    const exp_factor *w = &e->factors[1];
    cr_expect_eq(w->levels[0].start, 0);
    cr_expect_eq(w->levels[0].end, 5000);
    cr_expect_eq(w->levels[1].end, 8000);
    cr_expect_eq(w->levels[2].end, HASH_BUCKETS);
    cr_expect_float_eq(e->factors[0].levels[1].weight, 0.5, 1e-15);
    cr_expect_eq(e->factors[0].levels[1].start, 5000);
    /* merged payloads, in factor order */
    cr_expect_str_eq(e->variants[0].payload_json, "{\"placement\":\"cart_page\",\"wording\":\"plain\"}");
    cr_expect_str_eq(e->variants[9].payload_json,
                     "{\"placement\":\"checkout_popup\",\"wording\":\"benefit\",\"bold\":true,"
                     "\"timer_s\":600}");
    cr_expect_str_eq(e->variants[10].payload_json, "{\"placement\":\"checkout_popup\"}");
    /* the normalized definition keeps factors, with weights and payloads
     * filled in, and gets no variants list */
    cr_expect_null(json_object_get(e->def, "variants"));
    json_t *lv = json_object_get(json_array_get(json_object_get(e->def, "factors"), 2), "levels");
    cr_expect_float_eq(json_number_value(json_object_get(json_array_get(lv, 0), "weight")), 0.5, 1e-15);
    cr_expect(json_is_object(json_object_get(json_array_get(lv, 0), "payload")));
    cr_expect(json_is_true(json_object_get(e->def, "interactions")));
    /* the definition as stored loads back the same */
    char err[EXP_ERR_MAX];
    experiment *again = experiment_parse(e->def, EXP_FROM_STATE, err);
    cr_assert_not_null(again, "%s", err);
    for (int i = 0; i < e->nvariants; i++) {
        cr_expect_str_eq(again->variants[i].key, e->variants[i].key);
        cr_expect_str_eq(again->variants[i].payload_json, e->variants[i].payload_json);
        cr_expect_eq(again->variants[i].start, e->variants[i].start);
    }
    experiment_release(again);
    experiment_release(e);
}

Test(experiment, factorial_cell_helpers_invert_each_other)
{
    experiment *e = parse_ok(FACT, EXP_FROM_USER);
    for (int c = 0; c < e->nvariants; c++) {
        int lv[EXP_MAX_FACTORS];
        experiment_cell_levels(e, c, lv);
        cr_expect_eq(experiment_cell_index(e, lv), c, "cell %d", c);
        char key[256] = "";
        for (int f = 0; f < e->nfactors; f++) {
            cr_expect(lv[f] >= 0 && lv[f] < e->factors[f].nlevels);
            strcat(key, f ? "-" : "");
            strcat(key, e->factors[f].levels[lv[f]].key);
        }
        cr_expect_str_eq(e->variants[c].key, key);
    }
    cr_expect_eq(experiment_factor_index(e, "wording"), 1);
    cr_expect_eq(experiment_factor_index(e, "colour"), -1);
    cr_expect_eq(experiment_level_index(&e->factors[1], "social_proof"), 2);
    cr_expect_eq(experiment_level_index(&e->factors[1], "none"), -1);
    cr_expect_eq(experiment_variant_index(e, "checkout-benefit-timer"), 9);
    experiment *plain = parse_ok(BASE, EXP_FROM_USER);
    cr_expect(!experiment_is_factorial(plain));
    cr_expect(!plain->interactions);
    experiment_release(plain);
    experiment_release(e);
}

Test(experiment, factorial_hashes_each_factor_under_its_own_purpose)
{
    experiment *e = parse_ok("{\"key\": \"f\", \"salt\": \"s-1\", \"placement\": \"p\","
                             " \"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]},"
                             "  {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}",
                             EXP_FROM_USER);
    const char *visitors[] = {"v1", "visitor-42", "Ωmega", ""};
    for (size_t i = 0; i < sizeof visitors / sizeof *visitors; i++) {
        cr_expect_eq(hash_prefix_bucket(&e->factors[0].prefix, visitors[i]),
                     hash_bucket("s-1", "factor:a", visitors[i]));
        cr_expect_eq(hash_prefix_bucket(&e->factors[1].prefix, visitors[i]),
                     hash_bucket("s-1", "factor:b", visitors[i]));
    }
    experiment_release(e);
}

static const bad_case fact_bad_cases[] = {
    {"{\"variants\": [" V2 "]}", NULL, "factors: an experiment has either variants or factors, not both"},
    {"{\"control\": \"cart-plain-none\"}", NULL, "control: not accepted with factors"},
    {"{\"factors\": {}}", NULL, "factors: must be a list of 2 to 6 factors"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factors: needs 2 to 6 factors (got 1)"},
    {"{\"factors\": [1, 2]}", NULL, "factors[0]: must be an object"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}], \"weight\": 1},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factors[0]: unknown field \"weight\""},
    {"{\"factors\": [{\"key\": \"A\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL, "factors[0].key: required"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]},"
     " {\"key\": \"a\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factors[1].key: \"a\" is used twice"},
    {"{\"factors\": [{\"key\": \"a\"}, {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}",
     NULL, "factors[0].levels: required"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factor a: levels: needs 2 to 8 levels (got 1)"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x-1\"}, {\"key\": \"y\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factor a: levels[0].key: required, [a-z0-9][a-z0-9_]* (no '-'"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"x\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factor a: levels[1].key: \"x\" is used twice"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\", \"colour\": 1}, {\"key\": \"y\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factor a: levels[0]: unknown field \"colour\""},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\", \"weight\": 0.5}, {\"key\": \"y\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factor a: weight: given on 1 of 2 levels"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\", \"weight\": 0.5}, {\"key\": \"y\", \"weight\": 0.6}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factor a: level weights sum to 1.1, must sum to 1"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\", \"weight\": -0.5}, {\"key\": \"y\", \"weight\": 1.5}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factor a: level x: weight must be a number >= 0"},
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\", \"payload\": 3}, {\"key\": \"y\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\"}]}]}", NULL,
     "factor a: level x: payload must be an object"},
    /* two factors writing the same payload key: the merge would hide one */
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"x\"}, {\"key\": \"y\", \"payload\": {\"tiers\": 1}}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"x\", \"payload\": {\"tiers\": 3}}, {\"key\": \"y\"}]}]}",
     NULL, "factors a and b: both set payload key \"tiers\""},
    /* 4 x 4 x 5 = 80 cells */
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"a1\"}, {\"key\": \"a2\"}, {\"key\": \"a3\"}, {\"key\": \"a4\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"b1\"}, {\"key\": \"b2\"}, {\"key\": \"b3\"}, {\"key\": \"b4\"}]},"
     " {\"key\": \"c\", \"levels\": [{\"key\": \"c1\"}, {\"key\": \"c2\"}, {\"key\": \"c3\"}, {\"key\": \"c4\"}, {\"key\": \"c5\"}]}]}",
     NULL, "factors: 80 cells (the product of the level counts), at most 64"},
    /* 3 x 33-byte level keys + 2 dashes = 101 bytes */
    {"{\"factors\": [{\"key\": \"a\", \"levels\": [{\"key\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}, {\"key\": \"y\"}]},"
     " {\"key\": \"b\", \"levels\": [{\"key\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}, {\"key\": \"y\"}]},"
     " {\"key\": \"c\", \"levels\": [{\"key\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}, {\"key\": \"y\"}]}]}",
     NULL, "is 101 characters, at most 64"},
    {"{\"interactions\": \"yes\"}", NULL, "interactions: must be true or false"},
    {"{\"qa\": {\"visitors\": {\"qa-1\": \"cart\"}}}", NULL, "qa.visitors.qa-1: not a variant"},
};

Test(experiment, factorial_validation_errors_name_the_field)
{
    for (size_t i = 0; i < sizeof fact_bad_cases / sizeof *fact_bad_cases; i++) {
        const bad_case *c = &fact_bad_cases[i];
        json_t *def = fact_with(c->patch, c->drop);
        char err[EXP_ERR_MAX];
        experiment *e = experiment_parse(def, EXP_FROM_USER, err);
        cr_expect_null(e, "case %zu (%s): parsed, expected \"%s\"", i, c->patch, c->want);
        cr_expect(strstr(err, c->want) != NULL, "case %zu:\n  error    \"%s\"\n  expected \"%s\"", i,
                  err, c->want);
        experiment_release(e);
        json_decref(def);
    }
    /* interactions belongs to factorial experiments only */
    char err[EXP_ERR_MAX];
    json_t *def = base_with("{\"interactions\": true}", NULL);
    cr_expect_null(experiment_parse(def, EXP_FROM_USER, err));
    cr_expect(strstr(err, "interactions: only for an experiment with factors") != NULL, "%s", err);
    json_decref(def);
}

Test(experiment, factorial_limits)
{
    /* 6 factors of 2 levels = 64 cells: the most there may be */
    json_t *def = load("{\"key\": \"six\", \"placement\": \"p\", \"interactions\": false}");
    json_t *fs = json_array();
    for (int f = 0; f < 6; f++)
        json_array_append_new(fs, json_pack("{s:s#, s:[{s:s}, {s:s}]}", "key", "abcdef" + f, (size_t)1,
                                            "levels", "key", "lo", "key", "hi"));
    json_object_set_new(def, "factors", fs);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect_eq(e->nvariants, 64);
    cr_expect(!e->interactions);
    cr_expect_str_eq(e->variants[63].key, "hi-hi-hi-hi-hi-hi");
    cr_expect_float_eq(e->variants[17].weight, 1.0 / 64, 1e-15);
    experiment_release(e);
    /* a seventh factor is one too many */
    json_array_append_new(fs, json_pack("{s:s, s:[{s:s}, {s:s}]}", "key", "g", "levels", "key", "lo",
                                        "key", "hi"));
    cr_expect_null(experiment_parse(def, EXP_FROM_USER, err));
    cr_expect(strstr(err, "factors: needs 2 to 6 factors (got 7)") != NULL, "%s", err);
    json_decref(def);
    /* a cell key of exactly 64 bytes is fine: 2 x 31 + 1 dash = 63, 32 + 31 + 1 = 64 */
    e = parse_ok("{\"key\": \"long\", \"placement\": \"p\", \"factors\": ["
                 " {\"key\": \"a\", \"levels\": [{\"key\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}, {\"key\": \"b\"}]},"
                 " {\"key\": \"b\", \"levels\": [{\"key\": \"ccccccccccccccccccccccccccccccc\"}, {\"key\": \"d\"}]}]}",
                 EXP_FROM_USER);
    cr_expect_eq(strlen(e->variants[0].key), 64);
    experiment_release(e);
}

Test(experiment, factorial_cells_name_qa_and_promotions)
{
    json_t *def = fact_with("{\"qa\": {\"visitors\": {\"qa-1\": \"checkout-benefit-timer\"}},"
                            " \"promotions\": {\"gr\": {\"variant\": \"cart-benefit-none\", \"holdback\": 0.1}},"
                            " \"started_at\": \"2026-11-18T00:00:00Z\"}", NULL);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect_eq(experiment_promotion(e, "gr")->variant, 2);
    json_object_set_new(def, "promotions", json_pack("{s:{s:s, s:f}}", "gr", "variant", "benefit",
                                                     "holdback", 0.1));
    cr_expect_null(experiment_parse(def, EXP_FROM_STATE, err));
    cr_expect(strstr(err, "promotions.gr.variant: not a variant") != NULL, "%s", err);
    experiment_release(e);
    json_decref(def);
}

/* A started FACT with patch on top. */
static experiment *fact_started(const char *patch)
{
    json_t *def = fact_with(patch, NULL);
    json_object_set_new(def, "started_at", json_string("2026-11-18T00:00:00Z"));
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(e, "%s", err);
    json_decref(def);
    return e;
}

Test(experiment, factorial_update_rules_once_started)
{
    experiment *prev = fact_started(NULL);
    struct {
        const char *patch, *want;
    } bad[] = {
        /* factor reordered */
        {"{\"factors\": [{\"key\": \"wording\", \"levels\": [{\"key\": \"plain\"}, {\"key\": \"benefit\"},"
         " {\"key\": \"social_proof\"}]}, {\"key\": \"placement\", \"levels\": [{\"key\": \"cart\"},"
         " {\"key\": \"checkout\"}]}, {\"key\": \"urgency\", \"levels\": [{\"key\": \"none\"}, {\"key\": \"timer\"}]}]}",
         "factors: cannot be renamed or reordered"},
        /* factor removed */
        {"{\"factors\": [{\"key\": \"placement\", \"levels\": [{\"key\": \"cart\"}, {\"key\": \"checkout\"}]},"
         " {\"key\": \"urgency\", \"levels\": [{\"key\": \"none\"}, {\"key\": \"timer\"}]}]}",
         "factors: cannot be added, removed"},
        /* level renamed */
        {"{\"factors\": [{\"key\": \"placement\", \"levels\": [{\"key\": \"cart\"}, {\"key\": \"popup\"}]},"
         " {\"key\": \"wording\", \"levels\": [{\"key\": \"plain\"}, {\"key\": \"benefit\"}, {\"key\": \"social_proof\"}]},"
         " {\"key\": \"urgency\", \"levels\": [{\"key\": \"none\"}, {\"key\": \"timer\"}]}]}",
         "factor placement: levels cannot be added, removed, renamed or reordered"},
        /* level added */
        {"{\"factors\": [{\"key\": \"placement\", \"levels\": [{\"key\": \"cart\"}, {\"key\": \"checkout\"}]},"
         " {\"key\": \"wording\", \"levels\": [{\"key\": \"plain\"}, {\"key\": \"benefit\"}, {\"key\": \"social_proof\"}]},"
         " {\"key\": \"urgency\", \"levels\": [{\"key\": \"none\"}, {\"key\": \"timer\"}, {\"key\": \"few_left\"}]}]}",
         "factor urgency: levels cannot be added"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        experiment *next = fact_started(bad[i].patch);
        char err[EXP_ERR_MAX] = "";
        bool bump = false;
        cr_expect(!experiment_check_update(prev, next, &bump, err), "accepted: %s", bad[i].patch);
        cr_expect(strstr(err, bad[i].want) != NULL, "case %zu: \"%s\"", i, err);
        experiment_release(next);
    }
    /* a plain experiment cannot become a factorial one, nor the reverse */
    experiment *plain = started_with("{\"salt\": \"offer-strategy\"}");
    char err[EXP_ERR_MAX] = "";
    bool bump = false;
    cr_expect(!experiment_check_update(plain, prev, &bump, err));
    cr_expect(strstr(err, "factors: cannot be added, removed or replaced") != NULL, "%s", err);
    cr_expect(!experiment_check_update(prev, plain, &bump, err));
    experiment_release(plain);

    /* level weights may change, and that bumps the allocation */
    experiment *next = fact_started(
        "{\"factors\": [{\"key\": \"placement\", \"levels\": [{\"key\": \"cart\", \"weight\": 0.2},"
        " {\"key\": \"checkout\", \"weight\": 0.8}]},"
        " {\"key\": \"wording\", \"levels\": [{\"key\": \"plain\"}, {\"key\": \"benefit\"}, {\"key\": \"social_proof\"}]},"
        " {\"key\": \"urgency\", \"levels\": [{\"key\": \"none\"}, {\"key\": \"timer\"}]}]}");
    cr_expect(experiment_check_update(prev, next, &bump, err), "weight change refused: %s", err);
    cr_expect(bump, "a level weight change must bump the allocation");
    experiment_release(next);
    /* payloads and interactions may change without a bump */
    next = fact_started("{\"interactions\": false}");
    bump = true;
    cr_expect(experiment_check_update(prev, next, &bump, err), "%s", err);
    cr_expect(!bump);
    experiment_release(next);
    experiment_release(prev);
}

/* ---- bandit allocation and state --------------------------------------- */

#define BANDIT3 \
    "{\"key\": \"wording\", \"placement\": \"checkout_popup\", \"status\": \"running\"," \
    " \"started_at\": \"2026-11-18T00:00:00Z\", \"goal\": \"aov\"," \
    " \"variants\": [{\"key\": \"control\", \"weight\": 0.4}, {\"key\": \"b\", \"weight\": 0.3}," \
    "              {\"key\": \"c\", \"weight\": 0.3}]," \
    " \"allocation\": {\"mode\": \"bandit\", \"every\": \"15m\", \"min_visitors_per_arm\": 20}}"

static json_t *bandit_with(const char *alloc_patch)
{
    json_t *def = load(BANDIT3);
    if (alloc_patch) {
        json_t *p = load(alloc_patch);
        json_object_update(json_object_get(def, "allocation"), p);
        json_decref(p);
    }
    return def;
}

Test(experiment, bandit_allocation_defaults)
{
    char err[EXP_ERR_MAX];
    experiment *fixed = parse_ok(BASE, EXP_FROM_USER);
    cr_expect(!experiment_is_bandit(fixed));
    cr_expect_null(experiment_bandit_region(fixed, "gr"));
    cr_expect_eq(experiment_bandit_period(fixed, "gr"), 0);
    experiment_release(fixed);

    json_t *def = bandit_with(NULL);
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect(experiment_is_bandit(e));
    cr_expect_eq(e->bandit.metric, EXP_BANDIT_REVENUE, "an aov goal defaults to revenue");
    cr_expect_eq(e->bandit.every, 900);
    cr_expect_float_eq(e->bandit.control_share, 1.0 / 3, 1e-15);
    cr_expect_float_eq(e->bandit.floor, 0.01, 1e-15);
    cr_expect_float_eq(e->bandit.beta, 0.5, 1e-15);
    cr_expect_eq(e->bandit.min_visitors_per_arm, 20);
    cr_expect_eq(e->bandit.seed, hash_murmur3_32("wording", 7, 0));
    cr_expect_null(experiment_bandit_region(e, "gr"));
    experiment_release(e);
    json_decref(def);

    def = bandit_with("{\"metric\": \"conversion\", \"every\": \"7d\", \"control_share\": 0.2,"
                      " \"floor\": 0.05, \"beta\": 0.6, \"seed\": 42}");
    e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect_eq(e->bandit.metric, EXP_BANDIT_CONVERSION);
    cr_expect_eq(e->bandit.every, 7 * 86400);
    cr_expect_float_eq(e->bandit.control_share, 0.2, 1e-15);
    cr_expect_eq(e->bandit.seed, 42);
    experiment_release(e);
    json_decref(def);
}

Test(experiment, bandit_allocation_errors_name_the_field)
{
    static const struct { const char *patch, *want; } cases[] = {
        {"{\"mode\": \"adaptive\"}", "allocation.mode: must be \"fixed\" or \"bandit\""},
        {"{\"mode\": 1}", "mode: must be a string"},
        {"{\"metric\": \"aov\"}", "allocation.metric: must be \"conversion\" or \"revenue\""},
        {"{\"every\": \"10m\"}", "allocation.every: a whole number and a unit m, h or d, from 15m to 7d (got \"10m\")"},
        {"{\"every\": \"8d\"}", "allocation.every"},
        {"{\"every\": \"1w\"}", "allocation.every"},
        {"{\"every\": \"1.5h\"}", "allocation.every"},
        {"{\"every\": \"h\"}", "allocation.every"},
        {"{\"every\": 3600}", "every: must be a string"},
        {"{\"control_share\": 1}", "allocation.control_share: must be below 1"},
        {"{\"control_share\": -0.1}", "allocation.control_share: must be between 0 and 1"},
        {"{\"floor\": 0.5}", "allocation.floor: 2 treatments x 0.5 is more than"},
        {"{\"beta\": 0}", "allocation.beta: must be strictly between 0 and 1"},
        {"{\"beta\": 1}", "allocation.beta: must be strictly between 0 and 1"},
        {"{\"min_visitors_per_arm\": 0}", "allocation.min_visitors_per_arm: must be between 1"},
        {"{\"min_visitors_per_arm\": 10.5}", "allocation.min_visitors_per_arm: must be a whole number"},
        {"{\"seed\": -1}", "allocation.seed: must be a whole number from 0 to 4294967295"},
        {"{\"seed\": 4294967296}", "allocation.seed: must be a whole number from 0 to 4294967295"},
        {"{\"seed\": \"x\"}", "allocation.seed: must be a whole number"},
        {"{\"colour\": 1}", "allocation: unknown field \"colour\""},
        {"{\"mode\": \"fixed\"}", "allocation: the bandit settings need \"mode\": \"bandit\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *def = bandit_with(cases[i].patch);
        char err[EXP_ERR_MAX] = "";
        experiment *e = experiment_parse(def, EXP_FROM_USER, err);
        cr_expect_null(e, "case %zu (%s) parsed", i, cases[i].patch);
        cr_expect(strstr(err, cases[i].want) != NULL, "case %zu: error \"%s\", expected \"%s\"", i,
                  err, cases[i].want);
        experiment_release(e);
        json_decref(def);
    }
    char err[EXP_ERR_MAX] = "";
    experiment *e = parse_text("{\"key\": \"x\", \"placement\": \"p\", \"allocation\": [],"
                               " \"variants\": [" V2 "]}", EXP_FROM_USER, err);
    cr_expect_null(e);
    cr_expect(strstr(err, "allocation: must be an object") != NULL, "%s", err);
}

/* A state with region gr moved once (period 1) and pl waiting (period 0). */
static json_t *bandit_state_def(const char *gr_layout)
{
    double w0[3] = {0.4, 0.3, 0.3}, w1[3] = {0.4, 0.5, 0.1};
    bandit_layout l;
    cr_assert_eq(bandit_layout_init(&l, w0, 3), 0);
    cr_assert_eq(bandit_layout_apply(&l, w1, 3), 2000);
    char text[4096];
    cr_assert(bandit_layout_encode(&l, text, sizeof text) > 0);
    json_t *def = bandit_with(NULL);
    json_object_set_new(def, "bandit_state", json_pack(
        "{s:{s:{s:i, s:[f,f,f], s:s, s:s, s:b}, s:{s:i, s:[f,f,f], s:b, s:i}}, s:s}",
        "regions", "gr", "period", 1, "weights", 0.4, 0.5, 0.1, "layout",
        gr_layout ? gr_layout : text, "since", "2026-11-19T00:00:00Z", "waiting", 0,
        "pl", "period", 0, "weights", 0.4, 0.3, 0.3, "waiting", 1, "fewest_visitors", 7,
        "next_update", "2026-11-19T00:15:00Z"));
    return def;
}

Test(experiment, bandit_state_is_decoded_from_the_state_file_only)
{
    json_t *def = bandit_state_def(NULL);
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_assert_not_null(e, "%s", err);
    cr_expect_null(experiment_bandit_region(e, "gr"), "a user cannot write bandit_state");
    experiment_release(e);

    e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(e, "%s", err);
    const exp_bandit_region *r = experiment_bandit_region(e, "gr");
    cr_assert_not_null(r);
    cr_expect_eq(r->period, 1);
    cr_expect_eq(r->nweights, 3);
    cr_expect_float_eq(r->weights[1], 0.5, 1e-15);
    cr_expect_str_eq(r->since, "2026-11-19T00:00:00Z");
    cr_assert_not_null(r->layout);
    cr_expect_eq(r->layout->count[0], 4000);
    cr_expect_eq(r->layout->count[1], 5000);
    cr_expect_eq(r->layout->nmoved, 2000);
    cr_expect_eq(experiment_bandit_period(e, "gr"), 1);
    cr_expect_null(experiment_bandit_region(e, "pl"), "a waiting region on period 0 is NULL");
    cr_expect_eq(experiment_bandit_period(e, "pl"), 0);
    cr_expect_null(experiment_bandit_region(e, "de"));
    cr_expect_str_eq(e->bandit.next_update, "2026-11-19T00:15:00Z");
    experiment_release(e);
    json_decref(def);
}

Test(experiment, malformed_bandit_state_is_an_error)
{
    char err[EXP_ERR_MAX];
    json_t *def = bandit_state_def("0*4000,1*5000,2*999/10000");
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_expect_null(e);
    cr_expect(strstr(err, "bandit_state.regions.gr.layout: not a bucket layout of 3 arms") != NULL,
              "%s", err);
    json_decref(def);

    def = bandit_state_def(NULL);
    json_t *gr = json_object_get(json_object_get(json_object_get(def, "bandit_state"), "regions"), "gr");
    json_object_set_new(gr, "weights", json_pack("[f,f]", 0.5, 0.5));
    e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_expect_null(e);
    cr_expect(strstr(err, "bandit_state.regions.gr.weights: must be 3 weights summing to 1") != NULL,
              "%s", err);
    json_object_set_new(gr, "weights", json_pack("[f,f,f]", 0.4, 0.5, 0.1));
    json_object_set_new(gr, "period", json_string("1"));
    e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_expect_null(e);
    cr_expect(strstr(err, "bandit_state.regions.gr.period") != NULL, "%s", err);
    json_object_set_new(gr, "period", json_integer(2));
    json_object_del(gr, "layout");
    e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_expect_null(e, "a moved region needs its layout");
    cr_expect(strstr(err, "bandit_state.regions.gr.layout") != NULL, "%s", err);
    json_decref(def);

    /* a bandit_state on a fixed experiment */
    def = bandit_state_def(NULL);
    json_object_del(def, "allocation");
    e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_expect_null(e);
    cr_expect(strstr(err, "bandit_state: present but allocation.mode is not \"bandit\"") != NULL,
              "%s", err);
    json_decref(def);
}

static experiment *parse_state_def(json_t *def)
{
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(e, "%s", err);
    json_decref(def);
    return e;
}

Test(experiment, started_bandit_may_change_only_the_steering_settings)
{
    experiment *prev = parse_state_def(bandit_with(NULL));
    char err[EXP_ERR_MAX];
    bool bump = true;
    experiment *next = parse_state_def(bandit_with("{\"every\": \"1h\", \"floor\": 0.05,"
                                                   " \"min_visitors_per_arm\": 500, \"beta\": 0.7}"));
    cr_expect(experiment_check_update(prev, next, &bump, err), "%s", err);
    cr_expect(!bump, "a bandit's settings never bump the allocation version");
    experiment_release(next);

    static const struct { const char *patch, *want; } locked[] = {
        {"{\"metric\": \"conversion\"}", "allocation.metric: cannot change"},
        {"{\"control_share\": 0.2}", "allocation.control_share: cannot change"},
        {"{\"seed\": 7}", "allocation.seed: cannot change"},
    };
    for (size_t i = 0; i < sizeof locked / sizeof *locked; i++) {
        json_t *def = bandit_with(locked[i].patch);
        next = parse_state_def(def);
        cr_expect(!experiment_check_update(prev, next, &bump, err), "case %zu accepted", i);
        cr_expect(strstr(err, locked[i].want) != NULL, "case %zu: %s", i, err);
        experiment_release(next);
    }
    /* mode, either way */
    json_t *fixed_def = bandit_with(NULL);
    json_object_del(fixed_def, "allocation");
    experiment *fixed = parse_state_def(fixed_def);
    cr_expect(!experiment_check_update(prev, fixed, &bump, err));
    cr_expect(strstr(err, "allocation.mode: cannot switch between fixed and bandit") != NULL, "%s", err);
    cr_expect(!experiment_check_update(fixed, prev, &bump, err));
    cr_expect(strstr(err, "allocation.mode: cannot switch between fixed and bandit") != NULL, "%s", err);
    experiment_release(fixed);
    json_t *def = bandit_with(NULL);
    json_object_set_new(def, "variants", json_pack("[{s:s,s:f},{s:s,s:f},{s:s,s:f}]", "key",
                                                   "control", "weight", 0.2, "key", "b", "weight",
                                                   0.4, "key", "c", "weight", 0.4));
    next = parse_state_def(def);
    cr_expect(!experiment_check_update(prev, next, &bump, err));
    cr_expect(strstr(err, "starting weights of a bandit cannot change") != NULL, "%s", err);
    experiment_release(next);
    experiment_release(prev);
}

Test(experiment, bandit_state_layout_must_fit_its_weights_and_the_starting_ranges)
{
    char err[EXP_ERR_MAX];
    /* Counts right for 0.4/0.5/0.1, but bucket 0 (unmoved, arm 0 at the
     * start) handed to arm 1 without its moved mark: a visitor there would
     * be answered without a lookup and switch variant. */
    json_t *def = bandit_state_def("1*1,0*4000,1*4999,2*1000/10000");
    cr_expect_null(experiment_parse(def, EXP_FROM_STATE, err));
    cr_expect(strstr(err, "bandit_state.regions.gr.layout: does not match") != NULL, "%s", err);
    json_decref(def);
    /* Owners that do not add up to the weights. */
    def = bandit_state_def("0*4000,1*3000,2*3000/10000");
    cr_expect_null(experiment_parse(def, EXP_FROM_STATE, err));
    cr_expect(strstr(err, "does not match its weights") != NULL, "%s", err);
    json_decref(def);
    /* A period past what a journal line can carry. */
    def = bandit_state_def(NULL);
    json_object_set_new(json_object_get(json_object_get(json_object_get(def, "bandit_state"),
                                                        "regions"), "gr"),
                        "period", json_integer(1000000000));
    cr_expect_null(experiment_parse(def, EXP_FROM_STATE, err));
    cr_expect(strstr(err, "bandit_state.regions.gr.period") != NULL, "%s", err);
    json_decref(def);
}

Test(experiment, a_bandit_has_at_most_sixteen_arms)
{
    /* The weight update works on at most 16 arms (stats_bandit.h); a
     * plain experiment may have 64 variants, a bandit may not. */
    json_t *def = bandit_with(NULL);
    json_t *vs = json_array();
    for (int i = 0; i < 17; i++) {
        char k[8];
        snprintf(k, sizeof k, "v%d", i);
        json_array_append_new(vs, json_pack("{s:s, s:f}", "key", k, "weight",
                                            i < 16 ? 1.0 / 17 : 1 - 16.0 / 17));
    }
    json_object_set_new(def, "variants", vs);
    char err[EXP_ERR_MAX];
    cr_expect_null(experiment_parse(def, EXP_FROM_USER, err));
    cr_expect(strstr(err, "a bandit has at most 16 variants (got 17)") != NULL, "%s", err);
    json_object_del(def, "allocation");
    experiment *e = experiment_parse(def, EXP_FROM_USER, err);
    cr_expect_not_null(e, "a fixed experiment may: %s", err);
    experiment_release(e);
    json_decref(def);
}

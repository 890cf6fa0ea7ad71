/* test_assign: the assignment decision against the shared vectors, plus
 * the properties docs/assignment.md promises (coverage only adds or drops
 * visitors, the split follows the weights). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "assign.h"

static json_t *vectors;

static void load(void)
{
    json_error_t err;
    vectors = json_load_file(UPSHOT_SOURCE_DIR "/tests/vectors/assignment.json", 0, &err);
    cr_assert_not_null(vectors, "cannot read vectors: %s", err.text);
}

static void unload(void) { json_decref(vectors); }

TestSuite(assign, .init = load, .fini = unload);

static experiment *parse(json_t *def)
{
    char err[EXP_ERR_MAX];
    experiment *e = experiment_parse(def, EXP_FROM_STATE, err);
    cr_assert_not_null(e, "vector experiment rejected: %s", err);
    return e;
}

Test(assign, shared_vectors)
{
    size_t i, n = 0, nfact = 0;
    json_t *c;
    json_array_foreach(json_object_get(vectors, "assign"), i, c) {
        experiment *e = parse(json_object_get(c, "experiment"));
        const char *visitor = json_string_value(json_object_get(c, "visitor"));
        const char *region = json_string_value(json_object_get(c, "region"));
        const char *force = json_string_value(json_object_get(c, "force"));
        assign_result r = assign_visitor(e, visitor, region, force);
        const char *want_v = json_string_value(json_object_get(c, "variant"));
        const char *want_r = json_string_value(json_object_get(c, "reason"));
        cr_expect_str_eq(e->variants[r.variant].key, want_v, "case %zu (%s, %s, %s): variant", i,
                         e->key, visitor, region);
        cr_expect_str_eq(assign_reason_name(r.reason), want_r, "case %zu (%s, %s): reason", i,
                         e->key, visitor);
        cr_expect_eq(r.in_experiment, json_is_true(json_object_get(c, "in_experiment")),
                     "case %zu: in_experiment", i);
        json_t *want_f = json_object_get(c, "factors");
        cr_expect_eq(experiment_is_factorial(e), want_f != NULL, "case %zu: factorial", i);
        if (want_f) {
            int lv[EXP_MAX_FACTORS];
            experiment_cell_levels(e, r.variant, lv);
            cr_expect_eq(json_object_size(want_f), (size_t)e->nfactors, "case %zu: factors", i);
            for (int f = 0; f < e->nfactors; f++)
                cr_expect_str_eq(e->factors[f].levels[lv[f]].key,
                                 json_string_value(json_object_get(want_f, e->factors[f].key)),
                                 "case %zu (%s, %s): level of %s", i, e->key, visitor,
                                 e->factors[f].key);
            nfact++;
        }
        experiment_release(e);
        n++;
    }
    cr_assert_gt(n, 500);
    cr_assert_gt(nfact, 100, "the vectors have factorial cases");
}

/* Four 2-level factors, the first one uneven: every factor's level share
 * follows its weights, and the split of one factor is the same within each
 * level of another (the factors are drawn independently). Deterministic:
 * the visitors are fixed, so are their hashes. */
Test(assign, factorial_levels_follow_weights_independently)
{
    json_t *j = json_loads(
        "{\"key\":\"f\",\"status\":\"running\",\"placement\":\"p\",\"factors\":["
        "{\"key\":\"a\",\"levels\":[{\"key\":\"x\",\"weight\":0.3},{\"key\":\"y\",\"weight\":0.7}]},"
        "{\"key\":\"b\",\"levels\":[{\"key\":\"x\"},{\"key\":\"y\"}]},"
        "{\"key\":\"c\",\"levels\":[{\"key\":\"x\"},{\"key\":\"y\"}]},"
        "{\"key\":\"d\",\"levels\":[{\"key\":\"x\"},{\"key\":\"y\"}]}]}", 0, NULL);
    experiment *e = parse(j);
    json_decref(j);
    enum { N = 40000 };
    long level1[4] = {0}, ab[2][2] = {{0}};
    for (int i = 0; i < N; i++) {
        char v[32];
        snprintf(v, sizeof v, "visitor-%d", i);
        assign_result r = assign_visitor(e, v, "gr", NULL);
        cr_assert_eq(r.reason, ASSIGN_ASSIGNED);
        int lv[EXP_MAX_FACTORS];
        experiment_cell_levels(e, r.variant, lv);
        for (int f = 0; f < 4; f++) {
            /* the level is the one its own bucket falls in */
            char purpose[16];
            snprintf(purpose, sizeof purpose, "factor:%c", 'a' + f);
            uint32_t b = hash_bucket("f", purpose, v);
            cr_assert_eq(lv[f], b >= e->factors[f].levels[0].end, "%s factor %d", v, f);
            level1[f] += lv[f];
        }
        ab[lv[0]][lv[1]]++;
    }
    const double w1[4] = {0.7, 0.5, 0.5, 0.5};
    for (int f = 0; f < 4; f++) {
        double sd = sqrt(N * w1[f] * (1 - w1[f]));
        cr_expect(fabs(level1[f] - N * w1[f]) < 5 * sd, "factor %d: %ld of %d", f, level1[f], N);
    }
    /* b's split within each level of a: both near one half */
    for (int a = 0; a < 2; a++) {
        double n = (double)(ab[a][0] + ab[a][1]);
        cr_expect(fabs(ab[a][1] - n / 2) < 5 * sqrt(n / 4), "a=%d: b split %ld/%ld", a, ab[a][0],
                  ab[a][1]);
    }
    /* out of the experiment: the control cell */
    e->status = EXP_STOPPED;
    assign_result r = assign_visitor(e, "visitor-1", "gr", NULL);
    cr_expect_eq(r.variant, 0);
    cr_expect(!r.in_experiment);
    experiment_release(e);
}

static experiment *two_arm(double traffic_percent, double w0)
{
    char def[512];
    snprintf(def, sizeof def,
             "{\"key\":\"t\",\"status\":\"running\",\"placement\":\"cart_page\","
             "\"traffic_percent\":%g,\"variants\":[{\"key\":\"a\",\"weight\":%.17g},"
             "{\"key\":\"b\",\"weight\":%.17g}]}",
             traffic_percent, w0, 1 - w0);
    json_t *j = json_loads(def, 0, NULL);
    experiment *e = parse(j);
    json_decref(j);
    return e;
}

Test(assign, raising_coverage_never_moves_a_visitor)
{
    experiment *low = two_arm(20, 0.5), *high = two_arm(50, 0.5);
    int kept = 0, added = 0;
    for (int i = 0; i < 20000; i++) {
        char v[32];
        snprintf(v, sizeof v, "visitor-%d", i);
        assign_result a = assign_visitor(low, v, "gr", NULL);
        assign_result b = assign_visitor(high, v, "gr", NULL);
        if (a.in_experiment) {
            cr_assert(b.in_experiment, "%s dropped when coverage rose", v);
            cr_assert_eq(a.variant, b.variant, "%s moved from %d to %d", v, a.variant, b.variant);
            kept++;
        } else if (b.in_experiment) {
            added++;
        }
    }
    /* 20% and 50% of 20,000 visitors: binomial sd ~57; 6 sd bounds. */
    cr_assert(kept > 4000 - 350 && kept < 4000 + 350, "kept %d", kept);
    cr_assert(added > 6000 - 400 && added < 6000 + 400, "added %d", added);
    experiment_release(low);
    experiment_release(high);
}

Test(assign, split_follows_weights)
{
    experiment *e = two_arm(100, 0.2);
    int n = 100000, a = 0;
    for (int i = 0; i < n; i++) {
        char v[32];
        snprintf(v, sizeof v, "u%d", i);
        a += assign_visitor(e, v, "pl", NULL).variant == 0;
    }
    /* Expected 20,000, sd = sqrt(n p q) ~ 126.5; allow 5 sd. */
    cr_assert(fabs(a - 20000.0) < 5 * 126.5, "variant a got %d of %d", a, n);
    experiment_release(e);
}

Test(assign, not_running_gives_control_and_counts_nothing)
{
    json_t *j = json_loads("{\"key\":\"d\",\"placement\":\"cart_page\",\"control\":\"b\","
                           "\"variants\":[{\"key\":\"a\",\"weight\":0.5},{\"key\":\"b\",\"weight\":0.5}]}",
                           0, NULL);
    experiment *e = parse(j);
    assign_result r = assign_visitor(e, "v1", "gr", NULL);
    cr_assert_eq(r.variant, 1);
    cr_assert_eq(r.reason, ASSIGN_NOT_RUNNING);
    cr_assert(!r.in_experiment && !r.counted);
    experiment_release(e);
    json_decref(j);
}

Test(assign, forced_is_never_counted)
{
    json_t *j = json_loads("{\"key\":\"q\",\"status\":\"running\",\"placement\":\"cart_page\","
                           "\"qa\":{\"visitors\":{\"qa-1\":\"b\"},\"query_override\":false},"
                           "\"variants\":[{\"key\":\"a\",\"weight\":1},{\"key\":\"b\",\"weight\":0}]}",
                           0, NULL);
    experiment *e = parse(j);
    assign_result r = assign_visitor(e, "qa-1", "gr", NULL);
    cr_assert_eq(r.variant, 1);
    cr_assert_eq(r.reason, ASSIGN_FORCED);
    cr_assert(r.in_experiment && !r.counted);
    /* query override disabled: force= is ignored */
    r = assign_visitor(e, "someone", "gr", "b");
    cr_assert_eq(r.variant, 0);
    cr_assert_eq(r.reason, ASSIGN_ASSIGNED);
    experiment_release(e);
    json_decref(j);
}

Test(assign, coverage_threshold_vectors)
{
    /* floor(traffic_percent * 100 + 0.5) in that order: 0.015 -> 2 buckets. */
    size_t i, n = 0;
    json_t *c;
    json_array_foreach(json_object_get(vectors, "coverage_threshold"), i, c) {
        double t = json_number_value(json_object_get(c, "traffic_percent"));
        experiment *e = two_arm(t, 0.5);
        cr_expect_eq(e->coverage_buckets, (uint32_t)json_integer_value(json_object_get(c, "buckets")),
                     "traffic_percent %g: %u buckets", t, e->coverage_buckets);
        experiment_release(e);
        n++;
    }
    cr_assert_geq(n, 10);
}

/* A tripped circuit breaker: the region gets the control, promotion and
 * holdback included, and nothing is counted; other regions randomize. */
Test(assign, breaker_sends_a_tripped_region_to_control)
{
    json_t *j = json_loads("{\"key\":\"t\",\"status\":\"running\",\"placement\":\"cart_page\","
                           "\"variants\":[{\"key\":\"a\",\"weight\":0.5},{\"key\":\"b\",\"weight\":0.5}],"
                           "\"promotions\":{\"gr\":{\"variant\":\"b\",\"holdback\":0.05}},"
                           "\"breaker_trips\":{\"gr\":{\"variant\":\"b\",\"metric\":\"decline_rate\"}}}",
                           0, NULL);
    experiment *e = parse(j);
    int other[2] = {0, 0};
    for (int i = 0; i < 2000; i++) {
        char v[32];
        snprintf(v, sizeof v, "u%d", i);
        assign_result r = assign_visitor(e, v, "gr", NULL);
        cr_assert_eq(r.variant, 0);
        cr_assert_eq(r.reason, ASSIGN_BREAKER);
        cr_assert(!r.in_experiment && !r.counted && !r.promoted);
        other[assign_visitor(e, v, "pl", NULL).variant]++;
    }
    cr_assert_gt(other[0], 0);
    cr_assert_gt(other[1], 0);
    cr_assert_str_eq(assign_reason_name(ASSIGN_BREAKER), "breaker");
    /* QA overrides still reach every variant for testing the page */
    json_object_set_new(j, "qa", json_pack("{s:{s:s}}", "visitors", "qa-1", "b"));
    experiment_release(e);
    e = parse(j);
    cr_assert_eq(assign_visitor(e, "qa-1", "gr", NULL).reason, ASSIGN_FORCED);
    experiment_release(e);
    json_decref(j);
}

/* ---- bandit: step 7 from the region's layout, and the lookup decision --- */

Test(assign, bandit_vectors)
{
    size_t i, n = 0, lookups = 0;
    json_t *c;
    json_array_foreach(json_object_get(vectors, "bandit"), i, c) {
        experiment *e = parse(json_object_get(c, "experiment"));
        cr_assert(experiment_is_bandit(e));
        const char *visitor = json_string_value(json_object_get(c, "visitor"));
        const char *region = json_string_value(json_object_get(c, "region"));
        assign_result r = assign_visitor(e, visitor, region, NULL);
        cr_expect_str_eq(e->variants[r.variant].key,
                         json_string_value(json_object_get(c, "variant")),
                         "case %zu (%s, %s, %s): variant", i, e->key, visitor, region);
        cr_expect_str_eq(assign_reason_name(r.reason),
                         json_string_value(json_object_get(c, "reason")), "case %zu: reason", i);
        bool lookup = assign_needs_lookup(e, visitor, region, &r);
        cr_expect_eq(lookup, json_is_true(json_object_get(c, "lookup")),
                     "case %zu (%s, %s, %s): lookup", i, e->key, visitor, region);
        lookups += lookup;
        /* The layout text is what this implementation's own updates give
         * for the region's weight history. */
        const exp_bandit_region *br = experiment_bandit_region(e, region);
        json_t *hist = json_object_get(json_object_get(c, "history"), region);
        cr_expect_eq(br != NULL, hist != NULL, "case %zu: region state", i);
        if (br && hist) {
            double w[EXP_MAX_VARIANTS];
            for (int v = 0; v < e->nvariants; v++)
                w[v] = e->variants[v].weight;
            bandit_layout l;
            cr_assert_eq(bandit_layout_init(&l, w, e->nvariants), 0);
            size_t p;
            json_t *ws;
            json_array_foreach(hist, p, ws) {
                for (int v = 0; v < e->nvariants; v++)
                    w[v] = json_number_value(json_array_get(ws, (size_t)v));
                cr_assert_geq(bandit_layout_apply(&l, w, e->nvariants), 0);
            }
            char text[4096];
            cr_assert_gt(bandit_layout_encode(&l, text, sizeof text), 0);
            const char *want = json_string_value(json_object_get(json_object_get(json_object_get(
                json_object_get(json_object_get(c, "experiment"), "bandit_state"), "regions"),
                region), "layout"));
            cr_expect_str_eq(text, want, "case %zu: layout of %s after its history", i, region);
        }
        experiment_release(e);
        n++;
    }
    cr_assert_gt(n, 100);
    cr_assert_gt(lookups, 5, "the vectors exercise moved buckets");
    cr_assert_lt(lookups, n / 2, "and unmoved ones");
}

/* The argument of docs/assignment.md, "Bandit stickiness", checked over a
 * long run of updates: a visitor whose bucket is not marked moved gets,
 * under every later state, the variant they got when the experiment
 * started; only those in moved buckets are sent to the lookup. */
Test(assign, bandit_unmoved_bucket_keeps_the_first_variant)
{
    const char *start =
        "{\"key\": \"w\", \"placement\": \"p\", \"status\": \"running\", \"started_at\": \"x\","
        " \"allocation\": {\"mode\": \"bandit\"}, \"variants\": [{\"key\": \"a\", \"weight\": 0.25},"
        " {\"key\": \"b\", \"weight\": 0.25}, {\"key\": \"c\", \"weight\": 0.25},"
        " {\"key\": \"d\", \"weight\": 0.25}]}";
    json_t *def = json_loads(start, 0, NULL);
    experiment *e0 = parse(def);
    int first[4000];
    char v[32];
    for (int i = 0; i < 4000; i++) {
        snprintf(v, sizeof v, "visitor-%d", i);
        assign_result r = assign_visitor(e0, v, "gr", NULL);
        first[i] = r.variant;
        cr_expect_not(assign_needs_lookup(e0, v, "gr", &r), "no state: nobody is looked up");
    }
    bandit_layout l;
    double w[4] = {0.25, 0.25, 0.25, 0.25};
    bandit_layout_init(&l, w, 4);
    unsigned seed = 11;
    int moved_seen = 0;
    for (int step = 1; step <= 30; step++) {
        double sum = 0;
        for (int a = 0; a < 4; a++) {
            seed = seed * 1103515245u + 12345u;
            w[a] = 0.01 + (seed >> 16) % 1000;
            sum += w[a];
        }
        for (int a = 0; a < 4; a++)
            w[a] /= sum;
        w[3] = 1 - w[0] - w[1] - w[2];
        cr_assert_geq(bandit_layout_apply(&l, w, 4), 0);
        char text[8192];
        cr_assert_gt(bandit_layout_encode(&l, text, sizeof text), 0);
        json_t *d = json_deep_copy(def);
        json_object_set_new(d, "bandit_state",
                            json_pack("{s:{s:{s:i, s:[f,f,f,f], s:s}}}", "regions", "gr", "period",
                                      step, "weights", w[0], w[1], w[2], w[3], "layout", text));
        experiment *e = parse(d);
        json_decref(d);
        for (int i = 0; i < 4000; i++) {
            snprintf(v, sizeof v, "visitor-%d", i);
            assign_result r = assign_visitor(e, v, "gr", NULL);
            bool lookup = assign_needs_lookup(e, v, "gr", &r);
            moved_seen += lookup;
            if (!lookup)
                cr_assert_eq(r.variant, first[i], "step %d, %s: unmoved bucket changed variant",
                             step, v);
            /* another region has no state: the starting ranges, and the
             * same lookup as in gr, since this visitor may have been
             * first exposed in gr under another owner */
            assign_result o = assign_visitor(e, v, "pl", NULL);
            cr_assert_eq(o.variant, first[i]);
            cr_assert_eq(assign_needs_lookup(e, v, "pl", &o), lookup,
                         "%s: a bucket moved in gr must be looked up from pl too", v);
        }
        experiment_release(e);
    }
    cr_expect_gt(moved_seen, 0);
    experiment_release(e0);
    json_decref(def);
}

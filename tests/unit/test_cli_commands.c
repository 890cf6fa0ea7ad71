/* test_cli_commands.c: `upshot` commands run in-process against a fake
 * upshotd (test_cli_fake.h) serving canned answers from fixtures/: what
 * they print, what they send, and their exit codes. The real server is
 * exercised by tests/integration/test_cli.py. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "stats_core.h"
#include "test_cli_fake.h"

static fake_server *srv;

typedef struct run_out {
    int rc;
    char *out, *err;
} run_out;

static run_out run(const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "upshot";
    for (; *args; args++) argv[argc++] = (char *)*args;
    argv[argc++] = "--url";
    argv[argc++] = srv->url;
    argv[argc++] = "--token";
    argv[argc++] = "tok-0123456789abcdef";
    argv[argc] = NULL;
    run_out r = {0, NULL, NULL};
    size_t lo, le;
    FILE *o = open_memstream(&r.out, &lo), *e = open_memstream(&r.err, &le);
    r.rc = cli_run(argc, argv, o, e);
    fclose(o);
    fclose(e);
    return r;
}

static void run_free(run_out *r)
{
    free(r->out);
    free(r->err);
}

static void add_fixture(const char *method, const char *path, const char *file)
{
    char *b = fake_fixture(file);
    cr_assert_not_null(b, "fixture %s", file);
    fake_route_add(srv, method, path, 200, b);
    free(b);
}

static void setup(void)
{
    stats_init();
    setenv("UPSHOT_CONFIG", "/dev/null", 1);
    setenv("NO_COLOR", "1", 1);
    setenv("COLUMNS", "100", 1);
    setenv("USER", "tester", 1);
    srv = fake_new();
    cr_assert_not_null(srv);
    srv->required_token = "tok-0123456789abcdef";
    add_fixture("GET", "/v1/experiments", "experiments.json");
    add_fixture("GET", "/v1/experiments/checkout-tiers", "experiment_checkout_tiers.json");
    add_fixture("GET", "/v1/experiments/checkout-tiers/results", "results_checkout_tiers.json");
    add_fixture("GET", "/v1/experiments/cart-bundle/results", "results_cart_bundle.json");
    add_fixture("GET", "/v1/experiments/checkout-tiers/log", "log_checkout_tiers.json");
    add_fixture("GET", "/v1/experiments/offer-strategy", "experiment_offer_strategy.json");
    add_fixture("GET", "/v1/experiments/offer-strategy/results", "results_offer_strategy.json");
    add_fixture("GET", "/v1/experiments/checkout-wording", "experiment_checkout_wording.json");
    add_fixture("GET", "/v1/experiments/checkout-wording/results",
                "results_checkout_wording.json");
    fake_route_add(srv, "POST", "/v1/experiments/checkout-tiers/promotions", 200,
                   "{\"key\":\"checkout-tiers\"}");
    fake_route_add(srv, "POST", "/v1/experiments/checkout-tiers/stop", 200,
                   "{\"key\":\"checkout-tiers\",\"status\":\"stopped\"}");
    fake_route_add(srv, "POST", "/v1/experiments", 409,
                   "{\"error\":\"exists\",\"message\":\"experiment checkout-tiers exists\"}");
    cr_assert_eq(fake_start(srv), 0);
}

static void teardown(void) { fake_stop(srv); }

TestSuite(cli_commands, .init = setup, .fini = teardown);

static size_t widest(const char *s)
{
    size_t best = 0, cur = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') {
            if (cur > best) best = cur;
            cur = 0;
        } else if ((*p & 0xc0) != 0x80) {
            cur++;
        }
    }
    return cur > best ? cur : best;
}

Test(cli_commands, show_renders_every_section_within_100_columns)
{
    run_out r = run((const char *[]){"show", "checkout-tiers", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_leq(widest(r.out), 100, "%s", r.out);
    cr_assert_null(strchr(r.out, '\033'), "NO_COLOR: no escapes");
    const char *want[] = {"All regions: conversion", "Regions x variants", "Cumulative lift",
                          "Recommendations", "Sample size", "promote three-tiers",
                          "promoted now: urgency", "5,891", "W winner", NULL};
    for (int i = 0; want[i]; i++)
        cr_assert(strstr(r.out, want[i]) != NULL, "missing \"%s\" in:\n%s", want[i], r.out);
    cr_assert_str_eq(srv->last_auth, "Bearer tok-0123456789abcdef");
    cr_assert_str_eq(srv->last_actor, "tester");
    run_free(&r);
}

Test(cli_commands, show_json_is_one_document_with_the_counts)
{
    run_out r = run((const char *[]){"show", "checkout-tiers", "--json", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_error_t je;
    json_t *v = json_loads(r.out, 0, &je);
    cr_assert_not_null(v, "%s", je.text);
    cr_assert_str_eq(json_string_value(json_object_get(v, "experiment")), "checkout-tiers");
    json_t *regs = json_object_get(v, "regions");
    cr_assert_eq(json_array_size(regs), 2);
    json_t *gr = json_array_get(regs, 0);
    cr_assert_str_eq(json_string_value(json_object_get(gr, "region")), "gr");
    json_t *tt = json_array_get(json_object_get(gr, "variants"), 1);
    cr_assert_eq(json_integer_value(json_object_get(tt, "visitors")), 3080);
    cr_assert_eq(json_integer_value(json_object_get(tt, "conversions")), 240);
    cr_assert_eq(json_integer_value(json_object_get(tt, "decliners")), 615);
    json_t *pl = json_array_get(regs, 1);
    json_t *promo = json_object_get(pl, "promotion");
    cr_assert_str_eq(json_string_value(json_object_get(promo, "variant")), "urgency");
    cr_assert_eq(json_integer_value(json_object_get(promo, "visitors")), 500);
    cr_assert_eq(json_array_size(json_object_get(v, "days")), 3);
    json_decref(v);
    run_free(&r);
}

Test(cli_commands, show_region_and_metric_filters)
{
    run_out r = run((const char *[]){"show", "checkout-tiers", "--region", "pl", "--metric",
                                     "revenue", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert(strstr(r.out, "Region pl: revenue per visitor") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "  gr ") == NULL, "only pl in the matrix:\n%s", r.out);
    run_free(&r);
    r = run((const char *[]){"show", "checkout-tiers", "--region", "se", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_NOT_FOUND, "%s", r.err);
    run_free(&r);
    r = run((const char *[]){"show", "checkout-tiers", "--metric", "clicks", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_USAGE);
    run_free(&r);
}

Test(cli_commands, colour_only_when_asked_and_never_with_no_color)
{
    run_out r = run((const char *[]){"show", "checkout-tiers", "--color", "always", NULL});
    cr_assert_eq(r.rc, 0);
    cr_assert_not_null(strstr(r.out, "\033["), "--color always colours");
    run_free(&r);
    r = run((const char *[]){"show", "checkout-tiers", "--color", "always", "--no-color", NULL});
    cr_assert_null(strchr(r.out, '\033'));
    run_free(&r);
    r = run((const char *[]){"show", "checkout-tiers", NULL});
    cr_assert_null(strchr(r.out, '\033'), "auto on a non-terminal: none");
    run_free(&r);
}

/* ---- a factorial experiment (fixtures/make_offer_strategy.py) ---------- */

/* The text of out from the first line starting with `from` up to (not
 * including) the first line after it starting with `to`; owned by the
 * caller. */
static char *section(const char *out, const char *from, const char *to)
{
    const char *a = strstr(out, from);
    cr_assert_not_null(a, "no \"%s\" in:\n%s", from, out);
    const char *b = strstr(a + 1, to);
    size_t n = b ? (size_t)(b - a) : strlen(a);
    char *s = malloc(n + 1);
    memcpy(s, a, n);
    s[n] = '\0';
    return s;
}

/* The line of text starting with prefix (after any indentation). */
static char *line_of(const char *text, const char *prefix)
{
    for (const char *p = text; p && *p;) {
        const char *q = p;
        while (*q == ' ') q++;
        const char *nl = strchr(p, '\n');
        if (strncmp(q, prefix, strlen(prefix)) == 0) {
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            char *l = malloc(n + 1);
            memcpy(l, p, n);
            l[n] = '\0';
            return l;
        }
        p = nl ? nl + 1 : NULL;
    }
    cr_assert_fail("no line starting \"%s\" in:\n%s", prefix, text);
    return NULL;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

static json_t *offer_results(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/fixtures/results_offer_strategy.json",
             UPSHOT_SOURCE_DIR);
    json_t *j = json_load_file(path, 0, NULL);
    cr_assert_not_null(j);
    return j;
}

/* The fixture's term of a model ("overall"/region, "conversion"/"revenue"). */
static json_t *offer_term(json_t *res, const char *scope, const char *model, const char *term)
{
    size_t i, k;
    json_t *m, *t;
    json_array_foreach(json_object_get(json_object_get(res, "factorial"), "models"), i, m) {
        if (strcmp(json_string_value(json_object_get(m, "scope")), scope) != 0) continue;
        json_array_foreach(json_object_get(json_object_get(m, model), "terms"), k, t)
            if (strcmp(json_string_value(json_object_get(t, "term")), term) == 0) return t;
    }
    cr_assert_fail("no term %s in %s/%s", term, scope, model);
    return NULL;
}

Test(cli_commands, show_factorial_prints_effects_tests_charts_cells_and_power)
{
    run_out r = run((const char *[]){"show", "offer-strategy", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_leq(widest(r.out), 100, "%s", r.out);
    cr_assert_null(strchr(r.out, '\033'), "NO_COLOR: no escapes");
    const char *want[] = {"Factorial design: 4 factors, 16 cells",
                          "placement    cart (control), checkout",
                          "Factorial effects: conversion, all regions",
                          "By region: odds ratios", "Interaction tests: conversion, overall",
                          "Interactions: predicted conversion rate, overall",
                          "Region gr: cells and factor levels", "Region pl:", "Region se:",
                          "Power of the interaction tests", "needs 14,104 visitors per cell",
                          "801 per cell per day", "~13 days to go", NULL};
    for (int i = 0; want[i]; i++)
        cr_assert(strstr(r.out, want[i]) != NULL, "missing \"%s\" in:\n%s", want[i], r.out);

    /* the effects table prints the fixture's numbers: log-odds and e^them */
    json_t *res = offer_results();
    char *eff = section(r.out, "Factorial effects", "By region");
    char *l = line_of(eff, "placement=checkout ");
    json_t *t = offer_term(res, "overall", "conversion", "placement=checkout");
    char want_est[32], want_or[32];
    snprintf(want_est, sizeof want_est, "%+.3f", json_real_value(json_object_get(t, "estimate")));
    snprintf(want_or, sizeof want_or, "%.2f", exp(json_real_value(json_object_get(t, "estimate"))));
    cr_assert(strstr(l, want_est) && strstr(l, want_or), "%s / %s not in: %s", want_est, want_or,
              l);
    cr_assert(ends_with(l, "*"), "significant at 0.05: %s", l);
    free(l);
    /* interactions are named with both factors; the stratum terms are listed */
    l = line_of(eff, "wording=benefit x urgency=timer");
    cr_assert(ends_with(l, "*"), "%s", l);
    free(l);
    l = line_of(eff, "region=pl");
    free(l);
    free(eff);

    /* the joint tests: the crossing pair is an interaction, in every region */
    char *tests = section(r.out, "Interaction tests", "Interactions:");
    l = line_of(tests, "wording x urgency");
    cr_assert(strstr(l, "interaction") && strstr(l, "0.0023*"), "%s", l);
    free(l);
    l = line_of(tests, "placement x tiers");
    cr_assert(strstr(l, "none detected"), "%s", l);
    free(l);
    free(tests);

    /* gr: the combination upshotd promotes is marked W, and only it */
    char *gr = section(r.out, "Region gr:", "Region pl:");
    l = line_of(gr, "checkout-benefit-one-timer ");
    cr_assert(ends_with(l, "  W"), "%s", l);
    free(l);
    size_t marks = 0;
    for (const char *p = gr; (p = strstr(p, "  W\n")) != NULL; p++) marks++;
    cr_assert_eq(marks, 1, "one W in gr (a combination: no level marked):\n%s", gr);
    cr_assert(strstr(gr, "W promote checkout-benefit-one-timer: the combination wins") != NULL,
              "%s", gr);
    free(gr);
    /* pl: a factor level; its cell and its level are marked */
    char *pl = section(r.out, "Region pl:", "Region se:");
    l = line_of(pl, "checkout-plain-one-none ");
    cr_assert(ends_with(l, "  W"), "%s", l);
    free(l);
    l = line_of(pl, "placement=checkout vs cart");
    cr_assert(ends_with(l, "  W"), "%s", l);
    free(l);
    l = line_of(pl, "wording=benefit vs plain");
    cr_assert_not(ends_with(l, "W"), "%s", l);
    free(l);
    cr_assert(strstr(pl, "the level placement=checkout") != NULL, "%s", pl);
    free(pl);
    /* the general recommendations know it is upshotd's factor-level step */
    cr_assert(strstr(r.out, "upshotd promotes the level placement=checkout") != NULL, "%s", r.out);
    json_decref(res);
    run_free(&r);
}

Test(cli_commands, show_factorial_two_charts_a_row_when_they_fit)
{
    run_out r = run((const char *[]){"show", "offer-strategy", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    char *ch = section(r.out, "Interactions:", "Region gr:");
    char *l = line_of(ch, "placement x wording (p");
    cr_assert(strstr(l, "placement x tiers (p") != NULL, "side by side at 100: %s", l);
    free(l);
    free(ch);
    run_free(&r);
}

Test(cli_commands, show_factorial_fits_a_narrow_terminal)
{
    const char *widths[] = {"80", "60"};
    for (int i = 0; i < 2; i++) {
        setenv("COLUMNS", widths[i], 1);
        run_out r = run((const char *[]){"show", "offer-strategy", NULL});
        cr_assert_eq(r.rc, 0, "%s", r.err);
        char *fact = section(r.out, "Factorial design", "Cumulative lift");
        cr_assert_leq(widest(fact), (size_t)atoi(widths[i]), "%s", fact);
        /* one chart a row: the second pair starts its own line */
        char *l = line_of(fact, "placement x wording (p");
        cr_assert_null(strstr(l, "placement x tiers"), "%s", l);
        free(l);
        l = line_of(fact, "placement x tiers (p");
        free(l);
        /* the decision's columns stay: lift, its interval, the mark (the
         * cell's name may be cut in the middle) */
        char *gr = section(fact, "Region gr:", "Region pl:");
        l = strstr(gr, "+89.4%");
        cr_assert_not_null(l, "%s", gr);
        cr_assert(strncmp(strchr(l, '\n') - 3, "  W", 3) == 0, "%s", gr);
        free(gr);
        free(fact);
        run_free(&r);
    }
    setenv("COLUMNS", "100", 1);
}

Test(cli_commands, show_factorial_colour_only_when_asked)
{
    run_out r = run((const char *[]){"show", "offer-strategy", "--color", "always", NULL});
    cr_assert_eq(r.rc, 0);
    char *fact = section(r.out, "Factorial design", "Cumulative lift");
    cr_assert_not_null(strstr(fact, "\033[32mW\033[0m"), "the winner mark is green");
    free(fact);
    run_free(&r);
    r = run((const char *[]){"show", "offer-strategy", NULL});
    cr_assert_null(strchr(r.out, '\033'), "NO_COLOR");
    run_free(&r);
}

Test(cli_commands, show_factorial_region_metric_and_alpha)
{
    /* --region: that region's model, its tests, its cells only */
    run_out r = run((const char *[]){"show", "offer-strategy", "--region", "pl", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert(strstr(r.out, "Factorial effects: conversion, pl") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "Interaction tests: conversion, pl") != NULL, "%s", r.out);
    cr_assert_null(strstr(r.out, "By region"));
    cr_assert_null(strstr(r.out, "Region gr:"));
    cr_assert_not_null(strstr(r.out, "Region pl:"));
    json_t *res = offer_results();
    char *eff = section(r.out, "Factorial effects", "Interaction tests");
    char *l = line_of(eff, "placement=checkout ");
    char want[32];
    snprintf(want, sizeof want, "%+.3f", json_real_value(json_object_get(
        offer_term(res, "pl", "conversion", "placement=checkout"), "estimate")));
    cr_assert(strstr(l, want) != NULL, "pl's estimate %s in: %s", want, l);
    free(l);
    free(eff);
    run_free(&r);

    /* --metric revenue: the least-squares model, money per visitor */
    r = run((const char *[]){"show", "offer-strategy", "--metric", "revenue", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    eff = section(r.out, "Factorial effects: revenue per visitor", "By region");
    cr_assert(strstr(eff, "per visitor") && !strstr(eff, "odds ratio") && !strstr(eff, " OR "),
              "%s", eff);
    l = line_of(eff, "tiers=three ");
    snprintf(want, sizeof want, "%+.2f", json_real_value(json_object_get(
        offer_term(res, "overall", "revenue", "tiers=three"), "estimate")));
    cr_assert(strstr(l, want) && ends_with(l, "*"), "three tiers raise revenue %s: %s", want, l);
    free(l);
    free(eff);
    cr_assert_not_null(strstr(r.out, "Interactions: predicted revenue per visitor"));
    run_free(&r);

    /* --alpha: which p-values are marked (wording=benefit has p 0.0393) */
    r = run((const char *[]){"show", "offer-strategy", "--alpha", "0.01", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    eff = section(r.out, "Factorial effects", "By region");
    l = line_of(eff, "wording=benefit ");
    cr_assert(strstr(l, "0.0393") && !ends_with(l, "*"), "not marked at 0.01: %s", l);
    free(l);
    l = line_of(eff, "placement=checkout ");
    cr_assert(ends_with(l, "*"), "%s", l);
    free(l);
    free(eff);
    json_decref(res);
    run_free(&r);
}

Test(cli_commands, show_factorial_json_passes_the_server_object_through)
{
    run_out r = run((const char *[]){"show", "offer-strategy", "--json", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_error_t je;
    json_t *v = json_loads(r.out, 0, &je);
    cr_assert_not_null(v, "%s", je.text);
    json_t *res = offer_results();
    cr_assert(json_equal(json_object_get(v, "factorial"), json_object_get(res, "factorial")),
              "every number of the server's factorial object");
    json_t *regs = json_object_get(v, "regions");
    cr_assert_eq(json_array_size(regs), 3);
    json_t *pl = json_object_get(json_array_get(regs, 1), "factorial_decision");
    cr_assert_str_eq(json_string_value(json_object_get(pl, "kind")), "factor_level");
    cr_assert_str_eq(json_string_value(json_object_get(pl, "factor")), "placement");
    cr_assert_str_eq(json_string_value(json_object_get(pl, "level")), "checkout");
    cr_assert_str_eq(json_string_value(json_object_get(pl, "variant")), "checkout-plain-one-none");
    json_decref(res);
    json_decref(v);
    run_free(&r);
    /* a plain experiment's document has no factorial fields */
    r = run((const char *[]){"show", "checkout-tiers", "--json", NULL});
    v = json_loads(r.out, 0, &je);
    cr_assert_null(json_object_get(v, "factorial"));
    cr_assert_null(json_object_get(json_array_get(json_object_get(v, "regions"), 0),
                                   "factorial_decision"));
    json_decref(v);
    run_free(&r);
}

Test(cli_commands, ls_lists_with_leader_and_conclusiveness)
{
    run_out r = run((const char *[]){"ls", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert(strstr(r.out, "checkout-tiers") && strstr(r.out, "cart-bundle"), "%s", r.out);
    cr_assert(strstr(r.out, "2 of 2 regions") && strstr(r.out, "pl:urgency"), "%s", r.out);
    cr_assert_leq(widest(r.out), 100);
    run_free(&r);
    r = run((const char *[]){"ls", "--json", "--status", "running", NULL});
    cr_assert_eq(r.rc, 0);
    json_t *v = json_loads(r.out, 0, NULL);
    json_t *rows = json_object_get(v, "experiments");
    cr_assert_eq(json_array_size(rows), 1);
    json_t *row = json_array_get(rows, 0);
    cr_assert_eq(json_integer_value(json_object_get(row, "visitors")), 17887);
    cr_assert_str_eq(json_string_value(json_object_get(row, "leading")), "three-tiers");
    json_decref(v);
    run_free(&r);
}

Test(cli_commands, export_writes_the_agreed_csv)
{
    run_out r = run((const char *[]){"export", "checkout-tiers", "--csv", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    const char *hdr = "day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,declines,"
                      "orders,weight,revenue_sum_capped,revenue_sumsq_capped,cap,cart_visitors,"
                      "cart_sum,cart_sumsq,cart_revenue_sum,cart_revenue_sum_capped\n";
    cr_assert_eq(strncmp(r.out, hdr, strlen(hdr)), 0, "%s", r.out);
    int lines = 0, commas = 0;
    for (const char *p = r.out; *p; p++) {
        lines += *p == '\n';
        commas += *p == ',';
    }
    cr_assert_eq(lines, 1 + 3 * 2 * 3, "3 days x 2 regions x 3 variants");
    cr_assert_eq(commas, lines * 17, "18 fields on every line");
    /* the control's row comes first: analyze takes the first variant as control */
    cr_assert_eq(strncmp(r.out + strlen(hdr), "2026-11-18,gr,control,", 22), 0, "%s", r.out);
    run_free(&r);
}

Test(cli_commands, log_table_and_json)
{
    run_out r = run((const char *[]){"log", "checkout-tiers", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert(strstr(r.out, "auto-promote") && strstr(r.out, "maria"), "%s", r.out);
    cr_assert(strstr(r.out, "2026-11-19 10:00:00") != NULL, "%s", r.out);
    run_free(&r);
    r = run((const char *[]){"log", "checkout-tiers", "--json", "-n", "1", NULL});
    json_t *v = json_loads(r.out, 0, NULL);
    cr_assert_eq(json_array_size(json_object_get(v, "entries")), 1);
    json_decref(v);
    run_free(&r);
}

Test(cli_commands, promote_follows_the_rules_unless_forced)
{
    /* pl: the rules back three-tiers, not urgency */
    run_out r = run((const char *[]){"promote", "checkout-tiers", "--region", "pl", "--variant",
                                     "urgency", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_NOT_ADVISED, "%s", r.err);
    cr_assert(strstr(r.err, "do not recommend") != NULL, "%s", r.err);
    cr_assert_neq(strcmp(srv->last_method, "POST"), 0, "nothing was sent");
    run_free(&r);

    r = run((const char *[]){"promote", "checkout-tiers", "--region", "gr", "--variant",
                             "three-tiers", "--holdback", "10%", "--actor", "maria", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_str_eq(srv->last_method, "POST");
    cr_assert_str_eq(srv->last_uri, "/v1/experiments/checkout-tiers/promotions");
    cr_assert_str_eq(srv->last_actor, "maria");
    json_t *b = json_loads(srv->last_body, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(b, "region")), "gr");
    cr_assert_str_eq(json_string_value(json_object_get(b, "variant")), "three-tiers");
    cr_assert_float_eq(json_number_value(json_object_get(b, "holdback")), 0.10, 1e-12);
    cr_assert(strstr(json_string_value(json_object_get(b, "reason")), "recommended by upshot"));
    json_decref(b);
    run_free(&r);

    r = run((const char *[]){"promote", "checkout-tiers", "--region", "pl", "--variant",
                             "urgency", "--force", "--reason", "brand decision", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    b = json_loads(srv->last_body, 0, NULL);
    const char *reason = json_string_value(json_object_get(b, "reason"));
    cr_assert(strstr(reason, "brand decision") && strstr(reason, "against the rules"), "%s",
              reason);
    json_decref(b);
    run_free(&r);

    r = run((const char *[]){"promote", "checkout-tiers", "--region", "gr", "--variant", "gold",
                             NULL});
    cr_assert_eq(r.rc, CLI_EXIT_NOT_FOUND);
    run_free(&r);
    r = run((const char *[]){"promote", "checkout-tiers", "--region", "gr", "--variant",
                             "three-tiers", "--holdback", "100%", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_USAGE);
    run_free(&r);
}

Test(cli_commands, errors_map_to_exit_codes)
{
    run_out r = run((const char *[]){"show", "nope", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_NOT_FOUND);
    cr_assert(strstr(r.err, "no experiment \"nope\"") && strstr(r.err, "404"), "%s", r.err);
    run_free(&r);

    r = run((const char *[]){"create", "-f", "/nonexistent/exp.json", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_BAD_INPUT, "%s", r.err);
    run_free(&r);

    char path[] = "/tmp/upshot-exp-XXXXXX";
    int fd = mkstemp(path);
    const char *def = "{\"key\":\"checkout-tiers\"}";
    cr_assert_eq(write(fd, def, strlen(def)), (ssize_t)strlen(def));
    close(fd);
    r = run((const char *[]){"create", "-f", path, NULL});
    cr_assert_eq(r.rc, CLI_EXIT_REJECTED, "%s", r.err);
    cr_assert(strstr(r.err, "409") && strstr(r.err, "exists"), "%s", r.err);
    run_free(&r);
    unlink(path);

    srv->required_token = "another-token-entirely";
    r = run((const char *[]){"ls", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_AUTH);
    cr_assert(strstr(r.err, "401") && strstr(r.err, "--token"), "%s", r.err);
    run_free(&r);

    r = run((const char *[]){"frobnicate", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_USAGE);
    run_free(&r);
    r = run((const char *[]){"show", "--bogus", NULL});
    cr_assert_eq(r.rc, CLI_EXIT_USAGE);
    run_free(&r);
}

Test(cli_commands, unreachable_server_is_exit_3)
{
    char *argv[] = {"upshot", "ls", "--url", "http://127.0.0.1:1", "--timeout", "2", NULL};
    char *out = NULL, *err = NULL;
    size_t lo, le;
    FILE *o = open_memstream(&out, &lo), *e = open_memstream(&err, &le);
    int rc = cli_run(6, argv, o, e);
    fclose(o);
    fclose(e);
    cr_assert_eq(rc, CLI_EXIT_UNREACHABLE);
    cr_assert(strstr(err, "cannot reach upshotd at http://127.0.0.1:1") != NULL, "%s", err);
    free(out);
    free(err);
}

/* One table for every command: `upshot analyze` with a bad file gives the
 * bad-input code, never 3, which scripts read as "upshotd is down". */
Test(cli_commands, analyze_bad_file_is_not_the_unreachable_code)
{
    char *argv[] = {"upshot", "analyze", "/nonexistent/export.csv", NULL};
    char *out = NULL, *err = NULL;
    size_t lo, le;
    FILE *o = open_memstream(&out, &lo), *e = open_memstream(&err, &le);
    int rc = cli_run(3, argv, o, e);
    fclose(o);
    fclose(e);
    cr_assert_neq(rc, CLI_EXIT_UNREACHABLE, "%s", err);
    cr_assert_eq(rc, CLI_EXIT_BAD_INPUT, "%s", err);
    cr_assert(strstr(err, "cannot open") != NULL, "%s", err);
    free(out);
    free(err);
}

Test(cli_commands, help_everywhere)
{
    const char *cmds[] = {"ls", "show", "watch", "promote", "unpromote", "start", "stop",
                          "create", "log", "export", "breaker", "report", NULL};
    for (int i = 0; cmds[i]; i++) {
        run_out r = run((const char *[]){cmds[i], "--help", NULL});
        cr_assert_eq(r.rc, 0);
        char want[64];
        snprintf(want, sizeof want, "usage: upshot %s", cmds[i]);
        cr_assert(strstr(r.out, want) != NULL, "%s", r.out);
        cr_assert_leq(widest(r.out), 100, "%s --help too wide", cmds[i]);
        run_free(&r);
    }
}

Test(cli_commands, watch_refreshes_count_times)
{
    run_out r = run((const char *[]){"watch", "checkout-tiers", "--json", "--count", "2",
                                     "--interval", "0.2", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    int lines = 0;
    for (const char *p = r.out; *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 2, "one JSON line per refresh");
    run_free(&r);
}

Test(cli_commands, writes_print_the_server_answer_with_json)
{
    run_out r = run((const char *[]){"stop", "checkout-tiers", "--json", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_t *v = json_loads(r.out, 0, NULL);
    cr_assert_not_null(v, "one JSON document: %s", r.out);
    cr_assert_str_eq(json_string_value(json_object_get(v, "status")), "stopped");
    json_decref(v);
    run_free(&r);

    r = run((const char *[]){"promote", "checkout-tiers", "--region", "gr", "--variant",
                             "three-tiers", "--json", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    v = json_loads(r.out, 0, NULL);
    cr_assert_not_null(v, "%s", r.out);
    cr_assert_str_eq(json_string_value(json_object_get(v, "key")), "checkout-tiers");
    json_decref(v);
    run_free(&r);
}

/* The error document of --json: one JSON object on err, nothing on out. */
static json_t *json_error_of(const run_out *r)
{
    cr_assert_str_eq(r->out, "", "nothing on stdout after a failure: %s", r->out);
    json_error_t je;
    json_t *v = json_loads(r->err, 0, &je);
    cr_assert_not_null(v, "stderr is one JSON document: %s (%s)", r->err, je.text);
    json_t *e = json_object_get(v, "error");
    cr_assert(json_is_object(e), "%s", r->err);
    cr_assert_eq(json_integer_value(json_object_get(e, "exit_code")), r->rc);
    return v;
}

Test(cli_commands, json_errors_are_one_object_on_stderr_with_the_exit_code)
{
    run_out r = run((const char *[]){"create", "-f", "/nonexistent/x.json", "--json", NULL});
    cr_assert_eq(r.rc, 8);
    json_t *v = json_error_of(&r);
    json_t *e = json_object_get(v, "error");
    cr_assert_str_eq(json_string_value(json_object_get(e, "kind")), "bad_input");
    cr_assert(strstr(json_string_value(json_object_get(e, "message")), "x.json") != NULL);
    json_decref(v);
    run_free(&r);

    r = run((const char *[]){"promote", "checkout-tiers", "--region", "pl", "--variant",
                             "urgency", "--json", NULL});
    cr_assert_eq(r.rc, 7, "%s", r.err);
    v = json_error_of(&r);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "error"), "kind")),
                     "not_advised");
    json_decref(v);
    run_free(&r);

    r = run((const char *[]){"create", "-f", "-", "--jsn", NULL});
    cr_assert_eq(r.rc, 2);
    cr_assert_eq(r.err[0] != '{', 1, "without --json the error stays text");
    run_free(&r);
}

Test(cli_commands, a_mistyped_command_gets_did_you_mean)
{
    run_out r = run((const char *[]){"shwo", "checkout-tiers", NULL});
    cr_assert_eq(r.rc, 2);
    cr_assert(strstr(r.err, "did you mean \"show\"") != NULL, "%s", r.err);
    run_free(&r);
    r = run((const char *[]){"shwo", "--json", NULL});
    json_t *v = json_error_of(&r);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(v, "error"),
                                                       "did_you_mean")), "show");
    json_decref(v);
    run_free(&r);
    r = run((const char *[]){"deploy", NULL});
    cr_assert(strstr(r.err, "did you mean") == NULL, "no wild guess: %s", r.err);
    run_free(&r);
}

Test(cli_commands, an_unknown_experiment_gets_did_you_mean_from_the_list)
{
    run_out r = run((const char *[]){"show", "chekout-tiers", NULL});
    cr_assert_eq(r.rc, 5, "%s", r.err);
    cr_assert(strstr(r.err, "(404)") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "did you mean \"checkout-tiers\"") != NULL, "%s", r.err);
    run_free(&r);
    r = run((const char *[]){"log", "chekout-tiers", "--json", NULL});
    cr_assert_eq(r.rc, 5, "%s", r.err);
    json_t *v = json_error_of(&r);
    json_t *e = json_object_get(v, "error");
    cr_assert_str_eq(json_string_value(json_object_get(e, "kind")), "not_found");
    cr_assert_str_eq(json_string_value(json_object_get(e, "did_you_mean")), "checkout-tiers");
    json_decref(v);
    run_free(&r);
}

/* A bandit experiment (the results carry a `bandit` object): show adds the
 * bandit section between the lift chart and the recommendations, and
 * --json carries the object exactly as upshotd sent it. */
Test(cli_commands, show_bandit_section_and_json_pass_through)
{
    run_out r = run((const char *[]){"show", "checkout-wording", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_leq(widest(r.out), 100, "%s", r.out);
    const char *chart = strstr(r.out, "Cumulative lift"), *band = strstr(r.out, "Bandit: "),
               *recs = strstr(r.out, "Recommendations");
    cr_assert(chart && band && recs && chart < band && band < recs, "%s", r.out);
    const char *want[] = {"next update 2026-11-21T00:00:00Z", "moved buckets 17.2%",
                          "waiting for 100 visitors per arm (fewest: 63)", "0.973",
                          "weights by period", NULL};
    for (int i = 0; want[i]; i++)
        cr_assert(strstr(r.out, want[i]) != NULL, "missing \"%s\" in:\n%s", want[i], r.out);
    run_free(&r);

    /* the fixed experiment has no bandit section */
    r = run((const char *[]){"show", "checkout-tiers", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_null(strstr(r.out, "Bandit: "), "%s", r.out);
    run_free(&r);

    r = run((const char *[]){"show", "checkout-wording", "--json", NULL});
    cr_assert_eq(r.rc, 0, "%s", r.err);
    json_error_t je;
    json_t *v = json_loads(r.out, 0, &je);
    cr_assert_not_null(v, "%s", je.text);
    char *raw = fake_fixture("results_checkout_wording.json");
    json_t *res = json_loads(raw, 0, &je);
    free(raw);
    cr_assert_not_null(res, "%s", je.text);
    cr_assert(json_equal(json_object_get(v, "bandit"), json_object_get(res, "bandit")),
              "the view's bandit differs from the results':\n%s", r.out);
    json_decref(res);
    json_decref(v);
    run_free(&r);
}

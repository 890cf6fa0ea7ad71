/* test_cli_commands.c: `upshot` commands run in-process against a fake
 * upshotd (test_cli_fake.h) serving canned answers from fixtures/: what
 * they print, what they send, and their exit codes. The real server is
 * exercised by tests/integration/test_cli.py. */
#include <criterion/criterion.h>
#include <jansson.h>
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

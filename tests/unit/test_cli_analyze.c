/* Tests for `upshot analyze` (sdk/cli/analyze.c) run in-process: the
 * example file, CSV exports, and the error message for each kind of bad
 * input. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "analyze_input.h"
#include "cli.h"

static char out_buf[65536], err_buf[4096];

/* Runs analyze with argv, capturing out and err. */
static int run(int argc, char **argv)
{
    FILE *o = fmemopen(out_buf, sizeof out_buf, "w");
    FILE *e = fmemopen(err_buf, sizeof err_buf, "w");
    int rc = analyze_command(argc, argv, o, e);
    fclose(o);
    fclose(e);
    return rc;
}

static const char *write_tmp(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/upshot-analyze-%d-%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return path;
}

Test(stats_cli_analyze, example_text_fits_100_columns)
{
    char *argv[] = {"analyze", UPSHOT_SOURCE_DIR "/docs/examples/analyze-example.json"};
    cr_assert_eq(run(2, argv), 0, "err: %s", err_buf);
    cr_expect(strstr(out_buf, "benefits-headline"));
    cr_expect(strstr(out_buf, "Sample ratio"));
    char *line = out_buf;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        cr_expect(len <= 100, "line longer than 100 columns (%zu): %.*s", len, (int)len, line);
        line = nl ? nl + 1 : NULL;
    }
}

Test(stats_cli_analyze, example_json_has_every_quantity)
{
    char *argv[] = {"analyze", UPSHOT_SOURCE_DIR "/docs/examples/analyze-example.json", "--json"};
    cr_assert_eq(run(3, argv), 0, "err: %s", err_buf);
    json_error_t je;
    json_t *j = json_loads(out_buf, 0, &je);
    cr_assert(j, "not JSON: %s", je.text);
    json_t *v1 = json_array_get(json_object_get(j, "variants"), 1);
    cr_expect(json_is_number(json_object_get(json_object_get(v1, "conversion"), "p_value")));
    cr_expect(json_is_number(json_object_get(json_object_get(v1, "bayes"), "chance_to_beat")));
    cr_expect(json_is_integer(json_object_get(json_object_get(v1, "always_valid"), "looks_used")));
    cr_expect(json_is_number(json_object_get(json_object_get(j, "power"), "n_per_arm")));
    /* control: null with a reason */
    json_t *v0 = json_array_get(json_object_get(j, "variants"), 0);
    cr_expect(json_object_get(v0, "conversion") == NULL);
    cr_expect(json_is_boolean(json_object_get(json_object_get(j, "srm"), "flagged")));
    json_decref(j);
}

Test(stats_cli_analyze, csv_export_is_summed_over_regions)
{
    const char *csv =
        "day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,declines\n"
        "2024-05-02,gr,control,100,10,300,9500,20\n"
        "2024-05-01,gr,control,100,8,240,7600,25\n"
        "2024-05-01,gr,bundle,100,12,360,11000,22\n"
        "2024-05-01,pl,control,50,5,150,4600,10\n"
        "2024-05-01,pl,bundle,50,6,180,5500,9\n"
        "2024-05-02,gr,bundle,100,15,450,14000,18\n";
    const char *path = write_tmp("export.csv", csv);
    char *argv[] = {"analyze", (char *)path, "--json"};
    cr_assert_eq(run(3, argv), 0, "err: %s", err_buf);
    json_t *j = json_loads(out_buf, 0, NULL);
    cr_assert(j);
    json_t *v1 = json_array_get(json_object_get(j, "variants"), 1);
    cr_expect_str_eq(json_string_value(json_object_get(v1, "name")), "bundle");
    /* rate = (12+6+15)/250 */
    cr_expect_float_eq(json_real_value(json_object_get(v1, "conversion_rate")), 33.0 / 250.0,
                       1e-15);
    json_t *av = json_object_get(v1, "always_valid");
    cr_expect_eq(json_integer_value(json_object_get(av, "looks")), 2);
    json_decref(j);
    /* one region */
    char *argv2[] = {"analyze", (char *)path, "--json", "--region", "pl"};
    cr_assert_eq(run(5, argv2), 0, "err: %s", err_buf);
    j = json_loads(out_buf, 0, NULL);
    v1 = json_array_get(json_object_get(j, "variants"), 1);
    cr_expect_float_eq(json_real_value(json_object_get(v1, "conversion_rate")), 6.0 / 50.0, 1e-15);
    json_decref(j);
    unlink(path);
}

#define CSV2_HEADER                                                                          \
    "day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,declines,orders,weight\n"

Test(stats_cli_analyze, csv_export_carries_orders_and_weights)
{
    const char *csv = CSV2_HEADER
        "2024-05-01,gr,control,100,10,300,9500,20,14,0.6\n"
        "2024-05-01,gr,bundle,100,12,360,11000,22,30,0.4\n";
    const char *path = write_tmp("export2.csv", csv);
    char *argv[] = {"analyze", (char *)path, "--json"};
    cr_assert_eq(run(3, argv), CLI_EXIT_OK, "err: %s", err_buf);
    json_t *j = json_loads(out_buf, 0, NULL);
    cr_assert(j);
    /* SRM against 60/40 finds nothing odd in a 100/100 split? it does: the
     * statistic is the one for the file's weights, not equal weights */
    double chi2 = json_real_value(json_object_get(json_object_get(j, "srm"), "statistic"));
    cr_expect_float_eq(chi2, (100 - 120.0) * (100 - 120.0) / 120 + (100 - 80.0) * (100 - 80.0) / 80,
                       1e-12);
    json_decref(j);
    /* --weights still overrides the file */
    char *argv2[] = {"analyze", (char *)path, "--json", "--weights", "1,1"};
    cr_assert_eq(run(5, argv2), CLI_EXIT_OK, "err: %s", err_buf);
    j = json_loads(out_buf, 0, NULL);
    cr_expect_float_eq(json_real_value(json_object_get(json_object_get(j, "srm"), "statistic")),
                       0.0, 1e-15);
    json_decref(j);
    /* the report shows orders next to converters */
    char *argv3[] = {"analyze", (char *)path};
    cr_assert_eq(run(2, argv3), CLI_EXIT_OK, "err: %s", err_buf);
    cr_expect(strstr(out_buf, "orders"), "%s", out_buf);
    char *row = strstr(out_buf, "\nbundle ");
    cr_assert(row, "%s", out_buf);
    cr_expect(strstr(row, " 30 "), "orders missing from: %.100s", row + 1);
    unlink(path);
}

/* upshotd adds a variant's counts region by region (sorted), then day by
 * day; summing in the file's order instead can give another double. Here
 * 1e16 + 1 + 1 is 1e16 in upshotd's order (a, b, c) but 1e16 + 2 in the
 * file's (b, c, a): the ulp of 1e16 is 2. */
Test(stats_cli_analyze, csv_sums_in_the_results_endpoint_order)
{
    const char *csv = CSV2_HEADER
        "2024-05-01,b,control,10,1,1,1e33,0,1,1\n"
        "2024-05-01,b,bundle,10,1,1,1,0,1,1\n"
        "2024-05-01,c,control,10,1,1,1e33,0,1,1\n"
        "2024-05-01,c,bundle,10,1,1,1,0,1,1\n"
        "2024-05-01,a,control,10,1,1e16,1e33,0,1,1\n"
        "2024-05-01,a,bundle,10,1,1,1,0,1,1\n";
    char *text = strdup(csv);
    analyze_data *d = calloc(1, sizeof *d);
    analyze_csv_options opt = {NULL, NULL, 0};
    cr_assert_eq(analyze_input_csv(d, text, &opt), 0, "%s", d->msg);
    cr_expect_str_eq(d->names[0], "control");
    cr_expect_eq(d->v[0].revenue_sum, (1e16 + 1.0) + 1.0, "%.17g", d->v[0].revenue_sum);
    cr_expect_neq(d->v[0].revenue_sum, 1e16 + (1.0 + 1.0));
    cr_expect_eq(d->v[0].visitors, 30);
    free(d);
    free(text);
}

Test(stats_cli_analyze, csv_older_export_without_orders_still_reads)
{
    const char *csv =
        "day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,declines\n"
        "2024-05-01,gr,control,100,10,300,9500,20\n"
        "2024-05-01,gr,bundle,100,12,360,11000,22\n";
    const char *path = write_tmp("export1.csv", csv);
    char *argv[] = {"analyze", (char *)path};
    cr_assert_eq(run(2, argv), CLI_EXIT_OK, "err: %s", err_buf);
    char *row = strstr(out_buf, "\nbundle ");
    cr_assert(row, "%s", out_buf);
    cr_expect(strstr(row, " - "), "orders shown as -: %.100s", row + 1);
    unlink(path);
}

static void expect_error(const char *name, const char *text, const char *needle)
{
    const char *path = write_tmp(name, text);
    char *argv[] = {"analyze", (char *)path};
    cr_expect_eq(run(2, argv), CLI_EXIT_BAD_INPUT, "%s: expected exit %d (bad input)", name,
                 CLI_EXIT_BAD_INPUT);
    cr_expect(strstr(err_buf, needle), "%s: error \"%s\" does not mention \"%s\"", name, err_buf,
              needle);
    unlink(path);
}

#define V(extra)                                                                               \
    "{\"name\":\"a\",\"visitors\":100,\"conversions\":10,\"revenue_sum\":100,"                \
    "\"revenue_sumsq\":2000" extra "}"

Test(stats_cli_analyze, bad_files_name_the_problem)
{
    expect_error("missing.json",
                 "{\"variants\":[" V("") ",{\"name\":\"b\",\"conversions\":1,\"revenue_sum\":0,"
                 "\"revenue_sumsq\":0}]}",
                 "variant 2: missing field \"visitors\"");
    expect_error("conv.json",
                 "{\"variants\":[" V("") ",{\"name\":\"b\",\"visitors\":5,\"conversions\":6,"
                 "\"revenue_sum\":0,\"revenue_sumsq\":0}]}",
                 "variant 2 (\"b\"): conversions exceed visitors");
    expect_error("neg.json",
                 "{\"variants\":[" V("") ",{\"name\":\"b\",\"visitors\":5,\"conversions\":1,"
                 "\"revenue_sum\":1,\"revenue_sumsq\":-1}]}",
                 "revenue_sumsq must be a non-negative number");
    expect_error("sumsq.json",
                 "{\"variants\":[" V("") ",{\"name\":\"b\",\"visitors\":50,\"conversions\":2,"
                 "\"revenue_sum\":100,\"revenue_sumsq\":10}]}",
                 "revenue_sumsq is smaller than revenue_sum^2/conversions");
    expect_error("unknown.json", "{\"variants\":[" V(",\"visits\":3") "," V("") "]}",
                 "variant 1: unknown key \"visits\"");
    expect_error("top.json", "{\"alpha\":0.05,\"colour\":1,\"variants\":[]}",
                 "unknown key \"colour\"");
    expect_error("syntax.json", "{\"variants\": [", "line 1");
    expect_error("one.json", "{\"variants\":[" V("") "]}", "2 to 64 variants");
    expect_error("looks.json",
                 "{\"variants\":[" V("") ",{\"name\":\"b\",\"visitors\":100,\"conversions\":9,"
                 "\"revenue_sum\":90,\"revenue_sumsq\":1000}],"
                 "\"looks\":[{\"visitors\":[50,50],\"conversions\":[5,5]},"
                 "{\"visitors\":[40,100],\"conversions\":[10,9]}]}",
                 "cumulative");
    expect_error("bad.csv", "day,region,variant,visitors\n", "expected the header");
    expect_error("row.csv",
                 "day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,declines\n"
                 "2024-05-01,gr,a,10,11,0,0,0\n",
                 "line 2: conversions exceed visitors");
    expect_error("orders.csv", CSV2_HEADER "2024-05-01,gr,a,10,3,0,0,0,2,1\n",
                 "line 2: orders are fewer than conversions");
    expect_error("weight.csv",
                 CSV2_HEADER "2024-05-01,gr,a,10,3,0,0,0,3,1\n2024-05-01,pl,a,10,3,0,0,0,3,2\n",
                 "line 3: variant \"a\" has weight 2 here but 1 before");
    expect_error("twice.csv",
                 CSV2_HEADER "2024-05-01,gr,a,10,3,0,0,0,3,1\n2024-05-01,gr,b,10,3,0,0,0,3,1\n"
                             "2024-05-01,gr,a,10,3,0,0,0,3,1\n",
                 "line 4: a second row for day 2024-05-01, region gr, variant a (first: line 2)");
    expect_error("long.csv",
                 CSV2_HEADER "2024-05-01,gr,a-variant-name-much-longer-than-sixty-four-characters-"
                             "which-is-the-limit,10,3,0,0,0,3,1\n",
                 "line 2: region and variant names are at most 63 characters");
    char *argv[] = {"analyze", "/nonexistent/file.json"};
    cr_expect_eq(run(2, argv), CLI_EXIT_BAD_INPUT);
    cr_expect(strstr(err_buf, "cannot open"));
}

/* 3 means "upshotd unreachable" for every command; analyze never talks to
 * the network, so a bad file must not be mistaken for a down server. */
Test(stats_cli_analyze, bad_input_is_its_own_exit_code)
{
    cr_assert_neq(CLI_EXIT_BAD_INPUT, CLI_EXIT_UNREACHABLE);
    cr_assert_neq(CLI_EXIT_BAD_INPUT, CLI_EXIT_USAGE);
    const char *path = write_tmp("garbage.csv", "this is not an export\n");
    char *argv[] = {"analyze", (char *)path};
    int rc = run(2, argv);
    cr_expect_neq(rc, CLI_EXIT_UNREACHABLE, "a bad file exits like an unreachable server");
    cr_expect_eq(rc, CLI_EXIT_BAD_INPUT, "exit %d: %s", rc, err_buf);
    unlink(path);
}

Test(stats_cli_analyze, usage_errors)
{
    char *a1[] = {"analyze"};
    cr_expect_eq(run(1, a1), CLI_EXIT_USAGE);
    char *a2[] = {"analyze", "x.json", "--colour"};
    cr_expect_eq(run(3, a2), CLI_EXIT_USAGE);
    cr_expect(strstr(err_buf, "unknown option \"--colour\""));
    char *a3[] = {"analyze", "--help"};
    cr_expect_eq(run(2, a3), 0);
}

Test(stats_cli_analyze, empty_arm_shows_the_reason_not_a_number)
{
    /* A treatment nobody has seen yet: its P(beat) would be the prior's
     * (0.9691 against this 3% control), so the report prints "-" in the
     * table and says why underneath. */
    const char *path = write_tmp(
        "empty-arm.json",
        "{\"variants\":[{\"name\":\"control\",\"visitors\":1000,\"conversions\":30,"
        "\"revenue_sum\":0,\"revenue_sumsq\":0},"
        "{\"name\":\"unseen\",\"visitors\":0,\"conversions\":0,\"revenue_sum\":0,"
        "\"revenue_sumsq\":0}]}");
    char *argv[] = {"analyze", (char *)path};
    cr_assert_eq(run(2, argv), 0, "err: %s", err_buf);
    cr_expect(strstr(out_buf, "unseen: comparison undefined: treatment has no visitors"),
              "no reason in:\n%s", out_buf);
    cr_expect(!strstr(out_buf, "0.969"), "a prior-only P(beat) is printed:\n%s", out_buf);
    char *argv2[] = {"analyze", (char *)path, "--json"};
    cr_assert_eq(run(3, argv2), 0, "err: %s", err_buf);
    cr_expect(!strstr(out_buf, "0.969"), "a prior-only P(beat) is in the JSON:\n%s", out_buf);
    cr_expect(strstr(out_buf, "treatment has no visitors"));
    unlink(path);
}

/* the simulated arms of tests/vectors/stats/cuped.R (cuped-R.txt) */
static const char cuped_json[] =
    "{\"variants\": ["
    "{\"name\": \"control\", \"visitors\": 4000, \"conversions\": 777,"
    " \"revenue_sum\": 29867.470000000001, \"revenue_sumsq\": 1420058.152299999958,"
    " \"covariate_sum\": 95853.830000000002, \"covariate_sumsq\": 5507886.655899999663,"
    " \"covariate_cross\": 1347736.632299999939},"
    "{\"name\": \"bundle\", \"visitors\": 4000, \"conversions\": 837,"
    " \"revenue_sum\": 33810.32, \"revenue_sumsq\": 1589610.570000000065,"
    " \"covariate_sum\": 92170.759999999995, \"covariate_sumsq\": 5007029.712600000203,"
    " \"covariate_cross\": 1356414.089500000002}]}";

Test(stats_cli_analyze, covariate_sums_give_cuped)
{
    const char *path = write_tmp("cuped.json", cuped_json);
    char *argv[] = {"analyze", (char *)path, "--json"};
    cr_assert_eq(run(3, argv), 0, "err: %s", err_buf);
    json_error_t je;
    json_t *j = json_loads(out_buf, 0, &je);
    cr_assert(j, "not JSON: %s", je.text);
    json_t *c = json_object_get(json_array_get(json_object_get(j, "variants"), 1), "cuped");
    /* lm(y ~ arm + x): arm estimate 1.1684350276910316, std error
     * 0.37602828353306694 (cuped-R.txt) */
    cr_expect_float_eq(json_number_value(json_object_get(c, "diff")), 1.1684350276910316, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(c, "ancova_se")), 0.37602828353306694,
                       1e-9);
    cr_expect(json_is_null(json_object_get(c, "theta_note")));
    json_decref(j);
    /* text: a CUPED table with the variance reduction (9.6%) */
    char *argv2[] = {"analyze", (char *)path};
    cr_assert_eq(run(2, argv2), 0, "err: %s", err_buf);
    cr_expect(strstr(out_buf, "CUPED"), "%s", out_buf);
    cr_expect(strstr(out_buf, "9.6%"), "%s", out_buf);
    cr_expect(strstr(out_buf, "+1.1684"), "%s", out_buf);
    unlink(path);
}

Test(stats_cli_analyze, covariate_sums_all_or_none)
{
    /* without the covariate the CUPED object says why it is empty */
    char *argv[] = {"analyze", UPSHOT_SOURCE_DIR "/docs/examples/analyze-example.json", "--json"};
    cr_assert_eq(run(3, argv), 0, "err: %s", err_buf);
    json_t *j = json_loads(out_buf, 0, NULL);
    json_t *c = json_object_get(json_array_get(json_object_get(j, "variants"), 1), "cuped");
    cr_expect(json_is_null(json_object_get(c, "diff")));
    cr_expect_str_eq(json_string_value(json_object_get(c, "diff_reason")), "no covariate");
    json_decref(j);
    /* one of three sums */
    const char *p1 = write_tmp("cov1.json",
                               "{\"variants\": [{\"name\": \"a\", \"visitors\": 10, \"conversions\": 1,"
                               " \"revenue_sum\": 1, \"revenue_sumsq\": 1, \"covariate_sum\": 3},"
                               "{\"name\": \"b\", \"visitors\": 10, \"conversions\": 1,"
                               " \"revenue_sum\": 1, \"revenue_sumsq\": 1}]}");
    char *argv2[] = {"analyze", (char *)p1};
    cr_expect_neq(run(2, argv2), 0);
    cr_expect(strstr(err_buf, "go together"), "%s", err_buf);
    unlink(p1);
    /* one variant with, one without */
    const char *p2 = write_tmp("cov2.json",
                               "{\"variants\": [{\"name\": \"a\", \"visitors\": 10, \"conversions\": 1,"
                               " \"revenue_sum\": 1, \"revenue_sumsq\": 1, \"covariate_sum\": 3,"
                               " \"covariate_sumsq\": 9, \"covariate_cross\": 3},"
                               "{\"name\": \"b\", \"visitors\": 10, \"conversions\": 1,"
                               " \"revenue_sum\": 1, \"revenue_sumsq\": 1}]}");
    char *argv3[] = {"analyze", (char *)p2};
    cr_expect_neq(run(2, argv3), 0);
    cr_expect(strstr(err_buf, "every variant or none"), "%s", err_buf);
    unlink(p2);
}

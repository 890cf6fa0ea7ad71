/* cli_cmd_report.c: `upshot report EXP --html FILE`, the page of
 * cli_report.h from the experiment, its results and its audit log. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_cmd.h"
#include "cli_report.h"
#include "cli_results.h"

static const cli_optspec report_opts[] = {
    {"html", 0, 1, "FILE", "write the page to FILE (required; - for standard output)"},
    {"metric", 0, 1, "METRIC", "conversion, revenue or aov (default: the goal)"},
    {"alpha", 0, 1, "A", "as in show"},
    {"min-sample", 0, 1, "N", "as in show"},
    {"correction", 0, 1, "holm|bh", "as in show"},
};

/* GETs path into *doc; what names the experiment for a 404. */
static int report_get(cli_ctx *ctx, const char *key, const char *suffix, json_t **doc)
{
    char path[200], what[120];
    cli_cmd_exp_path(key, suffix, path, sizeof path);
    snprintf(what, sizeof what, "experiment \"%s\"", key);
    return cli_api_call(ctx, "GET", path, NULL, what, doc);
}

static int report_run(cli_ctx *ctx, const cli_args *a)
{
    const char *key = a->pos[0];
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc) return rc;
    const char *out = cli_args_get(a, "html");
    if (out == NULL || out[0] == '\0') {
        cli_errorf(ctx, "report needs --html FILE (the page to write; - for standard output)");
        return CLI_EXIT_USAGE;
    }
    cli_view_opts vo; /* --metric, --alpha, --min-sample, --correction, as show reads them */
    if ((rc = cli_cmd_view_opts(ctx, a, &vo)) != 0) return rc;

    json_t *exp = NULL, *res = NULL, *log = NULL;
    if ((rc = report_get(ctx, key, "", &exp)) != 0) return rc;
    if ((rc = report_get(ctx, key, "/results", &res)) != 0 ||
        (rc = report_get(ctx, key, "/log", &log)) != 0) {
        json_decref(exp);
        json_decref(res);
        return rc;
    }
    cli_results r;
    char msg[256];
    json_t *model = NULL;
    if (cli_results_parse(res, &r, msg, sizeof msg) != 0)
        cli_errorf(ctx, "unexpected results from upshotd: %s", msg);
    else if ((model = cli_report_model(exp, &r, log, &vo, msg, sizeof msg)) == NULL)
        cli_errorf(ctx, "%s", msg);
    cli_results_free(&r);
    json_decref(res);
    json_decref(exp);
    json_decref(log);
    if (model == NULL) return CLI_EXIT_FAILURE;

    int to_stdout = strcmp(out, "-") == 0;
    FILE *f = to_stdout ? ctx->out : fopen(out, "w");
    if (f == NULL) {
        cli_errorf(ctx, "cannot write %s: %s", out, strerror(errno));
        json_decref(model);
        return CLI_EXIT_FAILURE;
    }
    int werr = cli_report_html(model, f) != 0;
    if (!to_stdout && fclose(f) != 0) werr = 1;
    json_decref(model);
    if (werr) {
        cli_errorf(ctx, "writing %s failed", to_stdout ? "the report" : out);
        return CLI_EXIT_FAILURE;
    }
    if (to_stdout) return CLI_EXIT_OK;
    struct stat st;
    long long bytes = stat(out, &st) == 0 ? (long long)st.st_size : -1;
    if (cli_args_has(a, "json")) {
        json_t *doc = json_pack("{s:s, s:s, s:I}", "experiment", key, "html", out, "bytes",
                                (json_int_t)bytes);
        cli_cmd_print_json(ctx, doc);
        json_decref(doc);
    } else {
        fprintf(ctx->out, "%s: report written to %s (%lld bytes)\n", key, out, bytes);
    }
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_report = {
    "report", "EXP", "one self-contained HTML page with charts, for sharing",
    "Writes one HTML file (inline CSS and SVG, no script, nothing fetched) with the\n"
    "decisions per region, the cumulative lift by day with its always-valid band (all\n"
    "regions and each region), a forest plot of every region x variant lift with its\n"
    "interval, the exposure split against the configured weights, and the audit log.\n"
    "Every chart has a table with the same numbers. It prints well.",
    CLI_OPTS(report_opts), 1, 1, report_run};

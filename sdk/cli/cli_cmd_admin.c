/* cli_cmd_admin.c: the commands that change or read an experiment's
 * lifecycle: start, stop, unpromote, breaker, create, log, export. (promote lives
 * with show in cli_cmd_show.c because it consults the decision rules.) */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_cmd.h"
#include "cli_results.h"
#include "cli_table.h"

/* ---- start / stop ---------------------------------------------------- */

static const cli_optspec admin_reason_opts[] = {
    {"reason", 'm', 1, "TEXT", "why, for the audit log"},
};

static int admin_lifecycle(cli_ctx *ctx, const cli_args *a, const char *verb)
{
    const char *key = a->pos[0];
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc) return rc;
    char path[160], what[120];
    cli_cmd_exp_path(key, verb[2] == 'a' ? "/start" : "/stop", path, sizeof path);
    snprintf(what, sizeof what, "experiment \"%s\"", key);
    json_t *body = json_object();
    const char *reason = cli_args_get(a, "reason");
    if (reason) json_object_set_new(body, "reason", json_string(reason));
    json_t *resp = NULL;
    rc = cli_api_call(ctx, "POST", path, body, what, &resp);
    json_decref(body);
    if (rc == CLI_EXIT_OK && cli_args_has(a, "json")) {
        cli_cmd_print_answer(ctx, resp, key);
    } else if (rc == CLI_EXIT_OK) {
        const char *st = json_string_value(json_object_get(resp, "status"));
        fprintf(ctx->out, "%s: %s\n", key, st ? st : (verb[2] == 'a' ? "running" : "stopped"));
    }
    json_decref(resp);
    return rc;
}

static int admin_start(cli_ctx *ctx, const cli_args *a) { return admin_lifecycle(ctx, a, "start"); }
static int admin_stop(cli_ctx *ctx, const cli_args *a) { return admin_lifecycle(ctx, a, "stop"); }

const cli_command cli_cmd_start = {
    "start", "EXP", "start an experiment (status running)",
    "Sets the experiment's status to running: visitors are assigned and counted from\n"
    "now on. The audit log records who started it and --reason.",
    CLI_OPTS(admin_reason_opts), 1, 1, admin_start};

const cli_command cli_cmd_stop = {
    "stop", "EXP", "stop an experiment (every visitor gets the control)",
    "Sets the experiment's status to stopped: every visitor gets the control offer and\n"
    "nothing more is counted. Results stay readable. Promotions stop applying too.",
    CLI_OPTS(admin_reason_opts), 1, 1, admin_stop};

/* ---- unpromote ------------------------------------------------------- */

static const cli_optspec admin_unpromote_opts[] = {
    {"region", 'r', 1, "REGION", "the region whose promotion is undone (required)"},
    {"reason", 'm', 1, "TEXT", "why, for the audit log"},
};

static int admin_unpromote(cli_ctx *ctx, const cli_args *a)
{
    const char *key = a->pos[0];
    const char *region = cli_args_get(a, "region");
    if (region == NULL) {
        cli_errorf(ctx, "unpromote needs --region REGION");
        return CLI_EXIT_USAGE;
    }
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc == CLI_EXIT_OK) rc = cli_cmd_check_key(ctx, "region", region);
    if (rc) return rc;
    char suffix[100], path[200], what[200];
    snprintf(suffix, sizeof suffix, "/promotions/%s", region);
    cli_cmd_exp_path(key, suffix, path, sizeof path);
    snprintf(what, sizeof what, "promotion of experiment \"%s\" in region \"%s\"", key,
             region);
    /* A DELETE has no body: upshotd takes its reason from X-Upshot-Reason. */
    ctx->target.reason = cli_args_get(a, "reason");
    json_t *resp = NULL;
    rc = cli_api_call(ctx, "DELETE", path, NULL, what, &resp);
    ctx->target.reason = NULL;
    if (rc == CLI_EXIT_OK && cli_args_has(a, "json"))
        cli_cmd_print_answer(ctx, resp, key);
    else if (rc == CLI_EXIT_OK)
        fprintf(ctx->out, "%s: promotion in %s undone; the region is randomized again\n", key,
                region);
    json_decref(resp);
    return rc;
}

const cli_command cli_cmd_unpromote = {
    "unpromote", "EXP", "undo the promotion of a region",
    "Removes the promoted variant of a region: its visitors are randomized across all\n"
    "variants again (each visitor's variant is the one the hash gives, as before).",
    CLI_OPTS(admin_unpromote_opts), 1, 1, admin_unpromote};

/* ---- breaker --------------------------------------------------------- */

static const cli_optspec admin_breaker_opts[] = {
    {"reset", 0, 0, NULL, "let --region randomize again (a new test starts after today)"},
    {"region", 'r', 1, "REGION", "the region to reset"},
    {"reason", 'm', 1, "TEXT", "why, for the audit log"},
};

static int admin_breaker(cli_ctx *ctx, const cli_args *a)
{
    const char *key = a->pos[0];
    const char *region = cli_args_get(a, "region");
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc) return rc;
    char path[200], what[200];
    if (cli_args_has(a, "reset")) {
        if (region == NULL) {
            cli_errorf(ctx, "breaker --reset needs --region REGION");
            return CLI_EXIT_USAGE;
        }
        if ((rc = cli_cmd_check_key(ctx, "region", region))) return rc;
        cli_cmd_exp_path(key, "/breaker/reset", path, sizeof path);
        snprintf(what, sizeof what, "circuit breaker of experiment \"%s\" in region \"%s\"",
                 key, region);
        json_t *body = json_pack("{s:s}", "region", region);
        const char *reason = cli_args_get(a, "reason");
        if (reason) json_object_set_new(body, "reason", json_string(reason));
        json_t *resp = NULL;
        rc = cli_api_call(ctx, "POST", path, body, what, &resp);
        json_decref(body);
        if (rc == CLI_EXIT_OK && cli_args_has(a, "json"))
            cli_cmd_print_answer(ctx, resp, key);
        else if (rc == CLI_EXIT_OK)
            fprintf(ctx->out, "%s: circuit breaker reset in %s; the region is randomized again "
                    "and tested on the days after today\n", key, region);
        json_decref(resp);
        return rc;
    }
    cli_cmd_exp_path(key, "/breaker", path, sizeof path);
    snprintf(what, sizeof what, "experiment \"%s\"", key);
    json_t *resp = NULL;
    rc = cli_api_call(ctx, "GET", path, NULL, what, &resp);
    if (rc != CLI_EXIT_OK) return rc;
    if (cli_args_has(a, "json")) {
        cli_cmd_print_json(ctx, resp);
        json_decref(resp);
        return rc;
    }
    json_t *b = json_object_get(resp, "breaker");
    json_t *dr = json_object_get(b, "decline_rate"), *aov = json_object_get(b, "aov");
    fprintf(ctx->out, "%s: circuit breaker %s%s%s (alpha %.3g over the family)\n", key,
            json_is_true(dr) || json_is_true(aov) ? "on " : "off",
            json_is_true(dr) ? "decline rate" : "",
            json_is_true(aov) ? (json_is_true(dr) ? " and AOV" : "AOV") : "",
            json_number_value(json_object_get(b, "alpha")));
    const char *r;
    json_t *t;
    int n = 0;
    json_object_foreach(json_object_get(b, "trips"), r, t) {
        const char *m = json_string_value(json_object_get(t, "metric"));
        fprintf(ctx->out, "  %s: tripped since %s by %s on the %s (diff %+.4g, always-valid p %.3g, "
                "e-value %.3g); its visitors get the control\n", r,
                json_string_value(json_object_get(t, "since")),
                json_string_value(json_object_get(t, "variant")),
                m && strcmp(m, "aov") == 0 ? "AOV" : "decline rate",
                json_number_value(json_object_get(t, "diff")),
                json_number_value(json_object_get(t, "p")),
                json_number_value(json_object_get(t, "e_value")));
        n++;
    }
    if (n == 0) fprintf(ctx->out, "  no region has tripped\n");
    json_decref(resp);
    return rc;
}

const cli_command cli_cmd_breaker = {
    "breaker", "EXP", "the circuit breaker: tripped regions, or --reset one",
    "Lists the regions where the circuit breaker tripped (a variant significantly\n"
    "worse than control on the decline rate, or the AOV if configured, by an\n"
    "always-valid test; docs/promotion.md), with when and the evidence. Those regions\n"
    "get the control. --reset --region R lets R randomize again; the breaker then tests\n"
    "only the days after today.",
    CLI_OPTS(admin_breaker_opts), 1, 1, admin_breaker};

/* ---- create ---------------------------------------------------------- */

static const cli_optspec admin_create_opts[] = {
    {"file", 'f', 1, "FILE", "experiment definition (JSON, docs/config.md); - for stdin"},
};

static int admin_create(cli_ctx *ctx, const cli_args *a)
{
    const char *file = cli_args_get(a, "file");
    if (file == NULL) {
        cli_errorf(ctx, "create needs -f FILE (an experiment as JSON, see docs/config.md)");
        return CLI_EXIT_USAGE;
    }
    json_error_t jerr;
    json_t *def = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &jerr)
                                         : json_load_file(file, 0, &jerr);
    if (def == NULL) {
        cli_errorf(ctx, "%s: line %d: %s", file, jerr.line, jerr.text);
        return CLI_EXIT_BAD_INPUT;
    }
    if (!json_is_object(def) || !json_is_string(json_object_get(def, "key"))) {
        cli_errorf(ctx, "%s: expected one experiment object with a \"key\"", file);
        json_decref(def);
        return CLI_EXIT_BAD_INPUT;
    }
    char key[80];
    snprintf(key, sizeof key, "%s", json_string_value(json_object_get(def, "key")));
    json_t *resp = NULL;
    int rc = cli_api_call(ctx, "POST", "/v1/experiments", def, NULL, &resp);
    json_decref(def);
    if (rc == CLI_EXIT_OK && cli_args_has(a, "json")) {
        cli_cmd_print_answer(ctx, resp, key);
    } else if (rc == CLI_EXIT_OK) {
        const char *st = json_string_value(json_object_get(resp, "status"));
        fprintf(ctx->out, "%s: created (status %s)%s\n", key, st ? st : "draft",
                st && strcmp(st, "running") == 0 ? "" : "; `upshot start` runs it");
    }
    json_decref(resp);
    return rc;
}

const cli_command cli_cmd_create = {
    "create", "", "create an experiment from a JSON file",
    "Sends the definition to upshotd (POST /v1/experiments). It is validated there:\n"
    "an invalid definition is refused with a message naming the field (exit 6), an\n"
    "existing key is refused (409, exit 6). A file that cannot be read or is not\n"
    "JSON exits 8 before anything is sent. The new experiment is a draft unless the\n"
    "file says \"status\": \"running\".",
    CLI_OPTS(admin_create_opts), 0, 0, admin_create};

/* ---- log ------------------------------------------------------------- */

static const cli_optspec admin_log_opts[] = {
    {"limit", 'n', 1, "N", "only the last N entries"},
};

static int admin_log(cli_ctx *ctx, const cli_args *a)
{
    const char *key = a->pos[0];
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc) return rc;
    long limit = -1;
    const char *ls = cli_args_get(a, "limit");
    if (ls) {
        char *end;
        limit = strtol(ls, &end, 10);
        if (*end || limit < 0) {
            cli_errorf(ctx, "--limit must be a whole number >= 0");
            return CLI_EXIT_USAGE;
        }
    }
    char path[160], what[120];
    cli_cmd_exp_path(key, "/log", path, sizeof path);
    snprintf(what, sizeof what, "experiment \"%s\"", key);
    json_t *resp = NULL;
    rc = cli_api_call(ctx, "GET", path, NULL, what, &resp);
    if (rc) return rc;
    json_t *entries = json_object_get(resp, "entries");
    size_t n = json_array_size(entries);
    size_t from = (limit >= 0 && (size_t)limit < n) ? n - (size_t)limit : 0;
    if (cli_args_has(a, "json")) {
        json_t *slice = json_array();
        for (size_t i = from; i < n; i++) json_array_append(slice, json_array_get(entries, i));
        json_t *doc = json_pack("{s:s, s:o}", "experiment", key, "entries", slice);
        cli_cmd_print_json(ctx, doc);
        json_decref(doc);
        json_decref(resp);
        return CLI_EXIT_OK;
    }
    if (n == 0) {
        fprintf(ctx->out, "%s: the audit log is empty\n", key);
        json_decref(resp);
        return CLI_EXIT_OK;
    }
    cli_table *t = cli_table_new(5);
    cli_table_column(t, 0, "when (UTC)", 0);
    cli_table_column(t, 1, "who", 0);
    cli_table_column(t, 2, "action", 0);
    cli_table_column(t, 3, "details", 0);
    cli_table_column(t, 4, "reason", 0);
    for (size_t i = from; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        int r = cli_table_row(t);
        const char *ts = json_string_value(json_object_get(e, "ts"));
        char tsb[32] = "";
        if (ts) { /* 2026-11-22T12:00:00Z -> 2026-11-22 12:00:00 */
            snprintf(tsb, sizeof tsb, "%.19s", ts);
            if (strlen(tsb) > 10 && tsb[10] == 'T') tsb[10] = ' ';
        }
        cli_table_cell(t, r, 0, tsb, CLI_PAINT_NONE);
        /* The token's name, and who the client said it acted for. */
        const char *actor = json_string_value(json_object_get(e, "actor"));
        const char *behalf = json_string_value(
            json_object_get(json_object_get(e, "details"), "on_behalf_of"));
        char who[160];
        snprintf(who, sizeof who, "%s%s%s", actor ? actor : "-", behalf ? " for " : "",
                 behalf ? behalf : "");
        cli_table_cell(t, r, 1, who, CLI_PAINT_NONE);
        const char *act = json_string_value(json_object_get(e, "action"));
        cli_table_cell(t, r, 2, act ? act : "?",
                       act && strstr(act, "promot") ? CLI_PAINT_GOOD : CLI_PAINT_NONE);
        json_t *det = json_object_get(e, "details");
        char *dt = NULL;
        if (json_is_string(det)) dt = strdup(json_string_value(det));
        else if (det && !json_is_null(det)) dt = json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
        char cut[48];
        cli_term_fit(dt ? dt : "", 34, cut, sizeof cut);
        cli_table_cell(t, r, 3, cut, CLI_PAINT_DIM);
        free(dt);
        const char *why = json_string_value(json_object_get(e, "reason"));
        cli_table_cell(t, r, 4, why ? why : "", CLI_PAINT_NONE);
    }
    cli_table_render(t, ctx->out, ctx->color, (size_t)ctx->width, 4, 0);
    cli_table_free(t);
    json_decref(resp);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_log = {
    "log", "EXP", "the audit log: starts, stops, promotions, changes",
    "Every change to the experiment, oldest first: when, who (the name of the admin\n"
    "token used, \"for\" the --actor the CLI sent, or \"auto-promote\" for upshotd's own\n"
    "decisions), what, and why.",
    CLI_OPTS(admin_log_opts), 1, 1, admin_log};

/* ---- export ---------------------------------------------------------- */

static const cli_optspec admin_export_opts[] = {
    {"csv", 0, 0, NULL, "CSV (the default format)"},
    {"region", 'r', 1, "REGION", "only this region"},
    {"output", 'o', 1, "FILE", "write to FILE instead of standard output"},
};

/* The CSV export's header; `upshot analyze` reads it (analyze_input.c),
 * and also the headers of older exports, without the columns after
 * weight or without the last two before them. */
#define ADMIN_EXPORT_HEADER                                                                \
    "day,region,variant,visitors,conversions,revenue_sum,revenue_sumsq,declines,orders,weight," \
    "revenue_sum_capped,revenue_sumsq_capped,cap,cart_visitors,cart_sum,cart_sumsq,"          \
    "cart_revenue_sum,cart_revenue_sum_capped"

/* Shortest decimal that reads back as the same double. */
static void admin_fmt_num(double v, char *out, size_t cap)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

static int admin_export(cli_ctx *ctx, const cli_args *a)
{
    const char *key = a->pos[0];
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc) return rc;
    const char *region = cli_args_get(a, "region");
    if (region && (rc = cli_cmd_check_key(ctx, "region", region)) != 0) return rc;
    if (cli_args_has(a, "csv") && cli_args_has(a, "json")) {
        cli_errorf(ctx, "choose one of --csv and --json");
        return CLI_EXIT_USAGE;
    }
    char path[200], what[120];
    char suffix[100];
    snprintf(suffix, sizeof suffix, "/results%s%s", region ? "?region=" : "", region ? region : "");
    cli_cmd_exp_path(key, suffix, path, sizeof path);
    snprintf(what, sizeof what, "experiment \"%s\"", key);
    json_t *doc = NULL;
    rc = cli_api_call(ctx, "GET", path, NULL, what, &doc);
    if (rc) return rc;
    cli_results r;
    char msg[256];
    if (cli_results_parse(doc, &r, msg, sizeof msg) != 0) {
        cli_errorf(ctx, "%s", msg);
        cli_results_free(&r);
        json_decref(doc);
        return CLI_EXIT_FAILURE;
    }
    json_decref(doc);
    FILE *f = ctx->out;
    const char *outp = cli_args_get(a, "output");
    if (outp && (f = fopen(outp, "w")) == NULL) {
        cli_errorf(ctx, "cannot write %s: %s", outp, strerror(errno));
        cli_results_free(&r);
        return CLI_EXIT_USAGE;
    }
    int as_json = cli_args_has(a, "json");
    json_t *rows = as_json ? json_array() : NULL;
    if (!as_json)
        fputs(ADMIN_EXPORT_HEADER "\n", f);
    /* the control first: `upshot analyze` takes the first variant as control */
    size_t order[DECIDE_MAX_VARIANTS];
    order[0] = r.control;
    for (size_t v = 0, j = 1; v < r.nvariants; v++)
        if (v != r.control) order[j++] = v;
    for (size_t d = 0; d < r.ndays; d++)
        for (size_t g = 0; g < r.nregions; g++) {
            if (region && strcmp(region, r.regions[g].name) != 0) continue;
            for (size_t j = 0; j < r.nvariants; j++) {
                size_t v = order[j];
                const decide_counts *c = &r.regions[g].daily[d * r.nvariants + v];
                const cli_cell_extra *x = &r.regions[g].daily_extra[d * r.nvariants + v];
                /* revenue_sum is the uncapped sum whatever decides: the
                 * capped sums have their own columns (cli_results.h). */
                double rs = x->uncapped_sum, rq = x->uncapped_sumsq;
                if (as_json) {
                    json_array_append_new(rows, json_pack(
                        "{s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:I, s:I, s:f, s:f, s:f, s:f, s:I, "
                        "s:f, s:f, s:f, s:f}",
                        "day", r.days[d], "region", r.regions[g].name, "variant", r.variants[v],
                        "visitors", (json_int_t)c->visitors, "conversions",
                        (json_int_t)c->conversions, "revenue_sum", rs, "revenue_sumsq", rq,
                        "declines", (json_int_t)c->decliners, "orders", (json_int_t)c->orders,
                        "weight", r.weights[v], "revenue_sum_capped", x->capped_sum,
                        "revenue_sumsq_capped", x->capped_sumsq, "cap", r.cap, "cart_visitors",
                        (json_int_t)x->cart_visitors, "cart_sum", x->cart_sum, "cart_sumsq",
                        x->cart_sumsq, "cart_revenue_sum", x->cart_cross,
                        "cart_revenue_sum_capped", x->cart_cross_capped));
                    continue;
                }
                char n[10][40];
                const double nums[10] = {rs, rq, r.weights[v], x->capped_sum, x->capped_sumsq,
                                         r.cap, x->cart_sum, x->cart_sumsq, x->cart_cross,
                                         x->cart_cross_capped};
                for (int i = 0; i < 10; i++)
                    admin_fmt_num(nums[i], n[i], sizeof n[i]);
                fprintf(f, "%s,%s,%s,%llu,%llu,%s,%s,%llu,%llu,%s,%s,%s,%s,%llu,%s,%s,%s,%s\n",
                        r.days[d], r.regions[g].name, r.variants[v],
                        (unsigned long long)c->visitors, (unsigned long long)c->conversions, n[0],
                        n[1], (unsigned long long)c->decliners, (unsigned long long)c->orders,
                        n[2], n[3], n[4], n[5], (unsigned long long)x->cart_visitors, n[6], n[7],
                        n[8], n[9]);
            }
        }
    if (as_json) {
        json_dumpf(rows, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        fputc('\n', f);
        json_decref(rows);
    }
    int werr = ferror(f);
    if (f != ctx->out && fclose(f) != 0) werr = 1;
    if (werr) {
        cli_errorf(ctx, "writing the export failed");
        rc = CLI_EXIT_FAILURE;
    } else if (outp) {
        fprintf(ctx->err, "upshot: wrote %zu days x %zu regions x %zu variants to %s\n", r.ndays,
                region ? (size_t)1 : r.nregions, r.nvariants, outp);
    }
    cli_results_free(&r);
    return rc;
}

const cli_command cli_cmd_export = {
    "export", "EXP", "daily counts per region x variant as CSV",
    "One row per day x region x variant, randomized traffic only (promoted traffic is\n"
    "left out, as in the statistics), days in UTC as YYYY-MM-DD, the control first.\n"
    "Columns: day, region, variant, visitors, conversions, revenue_sum, revenue_sumsq,\n"
    "declines, orders, weight, then the capped revenue sums and the cap, and the cart\n"
    "value's sums (docs/cli.md has the header). Counts are that day's, not cumulative;\n"
    "declines counts decliners; weight is the variant's configured weight.\n"
    "`upshot export EXP | upshot analyze -` gives the numbers of the results endpoint.",
    CLI_OPTS(admin_export_opts), 1, 1, admin_export};

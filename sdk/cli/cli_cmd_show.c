/* cli_cmd_show.c: the reading commands built on the decision rules:
 * ls, show, watch, and promote (which consults them before acting). */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_bandit.h"
#include "cli_cmd.h"
#include "cli_results.h"
#include "cli_table.h"
#include "cli_term.h"
#include "cli_view.h"

/* ---- loading ---------------------------------------------------------- */

/* GETs the experiment and its results and builds the view. */
static int show_load(cli_ctx *ctx, const char *key, const cli_view_opts *vo, json_t **exp_out,
                     json_t **view_out)
{
    char path[200], what[120];
    snprintf(what, sizeof what, "experiment \"%s\"", key);
    cli_cmd_exp_path(key, "", path, sizeof path);
    json_t *exp = NULL, *res = NULL;
    int rc = cli_api_call(ctx, "GET", path, NULL, what, &exp);
    if (rc) return rc;
    cli_cmd_exp_path(key, "/results", path, sizeof path);
    rc = cli_api_call(ctx, "GET", path, NULL, what, &res);
    if (rc) {
        json_decref(exp);
        return rc;
    }
    cli_results r;
    char msg[256];
    if (cli_results_parse(res, &r, msg, sizeof msg) != 0) {
        cli_errorf(ctx, "unexpected results from upshotd: %s", msg);
        cli_results_free(&r);
        json_decref(res);
        json_decref(exp);
        return CLI_EXIT_FAILURE;
    }
    json_t *bandit = cli_bandit_view(res); /* NULL unless a bandit experiment */
    json_decref(res);
    json_t *view = cli_view_build(exp, &r, vo, msg, sizeof msg);
    cli_results_free(&r);
    if (view && bandit) json_object_set(view, "bandit", bandit);
    json_decref(bandit);
    if (view == NULL) {
        cli_errorf(ctx, "%s", msg);
        json_decref(exp);
        return strstr(msg, "no results for region") ? CLI_EXIT_NOT_FOUND : CLI_EXIT_FAILURE;
    }
    *view_out = view;
    if (exp_out) *exp_out = exp;
    else json_decref(exp);
    return CLI_EXIT_OK;
}

/* Reads --metric, --alpha, --min-sample, --correction, --mde, --region
 * (those a command does not take read as absent). */
int cli_cmd_view_opts(cli_ctx *ctx, const cli_args *a, cli_view_opts *vo)
{
    memset(vo, 0, sizeof *vo);
    vo->metric = -1;
    vo->min_sample = -1;
    vo->correction = -1;
    vo->region = cli_args_get(a, "region");
    if (vo->region && cli_cmd_check_key(ctx, "region", vo->region)) return CLI_EXIT_USAGE;
    const char *m = cli_args_get(a, "metric");
    if (m) {
        decide_goal g;
        if (decide_parse_goal(m, &g) != 0) {
            cli_errorf(ctx, "--metric must be conversion, revenue or aov");
            return CLI_EXIT_USAGE;
        }
        vo->metric = (int)g;
    }
    const char *c = cli_args_get(a, "correction");
    if (c) {
        decide_correction dc;
        if (decide_parse_correction(c, &dc) != 0) {
            cli_errorf(ctx, "--correction must be holm or bh");
            return CLI_EXIT_USAGE;
        }
        vo->correction = (int)dc;
    }
    const char *al = cli_args_get(a, "alpha");
    if (al) {
        char *end;
        vo->alpha = strtod(al, &end);
        if (*end || !(vo->alpha > 0 && vo->alpha < 0.5)) {
            cli_errorf(ctx, "--alpha must be a number in (0, 0.5)");
            return CLI_EXIT_USAGE;
        }
    }
    const char *ms = cli_args_get(a, "min-sample");
    if (ms) {
        char *end;
        vo->min_sample = strtoll(ms, &end, 10);
        if (*end || vo->min_sample < 0) {
            cli_errorf(ctx, "--min-sample must be a whole number >= 0");
            return CLI_EXIT_USAGE;
        }
    }
    const char *mde = cli_args_get(a, "mde");
    if (mde && (cli_cmd_parse_share(mde, &vo->mde) != 0 || vo->mde <= 0)) {
        cli_errorf(ctx, "--mde must be a relative effect such as 10%% or 0.1");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

#define SHOW_OPTS                                                                       \
    {"region", 'r', 1, "REGION", "tables for this region only"},                        \
    {"metric", 0, 1, "METRIC", "conversion, revenue or aov (default: the goal)"},       \
    {"alpha", 0, 1, "A", "significance level (default: the experiment's, else 0.05)"},  \
    {"min-sample", 0, 1, "N", "visitors per arm before promotion (default 1000)"},      \
    {"correction", 0, 1, "holm|bh", "multiplicity across regions x variants"},          \
    {"mde", 0, 1, "PCT", "relative effect for sample size and \"stop\" (default 10%)"}

/* ---- show ------------------------------------------------------------- */

static const cli_optspec show_opts[] = {
    SHOW_OPTS,
};

static int show_run(cli_ctx *ctx, const cli_args *a)
{
    const char *key = a->pos[0];
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc) return rc;
    cli_view_opts vo;
    if ((rc = cli_cmd_view_opts(ctx, a, &vo)) != 0) return rc;
    json_t *view = NULL;
    if ((rc = show_load(ctx, key, &vo, NULL, &view)) != 0) return rc;
    if (cli_args_has(a, "json")) cli_cmd_print_json(ctx, view);
    else cli_view_render(view, ctx->out, ctx->color, ctx->width);
    json_decref(view);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_show = {
    "show", "EXP", "results per variant and region, with recommendations",
    "Per-variant tables (visitors, converters, rate with its interval, lift with its\n"
    "always-valid interval, always-valid p adjusted for multiplicity, chance to beat\n"
    "control, revenue per visitor, AOV, decline rate), an SRM banner when the split\n"
    "does not match the weights, a regions x variants matrix, the cumulative lift by\n"
    "day, and per region: promote V, keep running, stop (no effect likely) or check\n"
    "SRM first. The rules are in docs/promotion.md; upshotd's auto-promotion uses the\n"
    "same function. A factorial experiment adds its main effects and interactions,\n"
    "the interaction tests, a chart per pair of factors, the cells and factor levels\n"
    "of each region with what upshotd promotes marked W, and the power line.",
    show_opts, sizeof show_opts / sizeof show_opts[0], 1, 1, show_run};

/* ---- watch ------------------------------------------------------------ */

static const cli_optspec watch_opts[] = {
    SHOW_OPTS,
    {"interval", 'i', 1, "SECONDS", "refresh every SECONDS (default 10)"},
    {"count", 'n', 1, "N", "stop after N refreshes (default: until interrupted)"},
};

static volatile sig_atomic_t watch_stop, watch_resized;
static void watch_on_signal(int sig)
{
    if (sig == SIGWINCH) watch_resized = 1;
    else watch_stop = 1;
}

/* One load for the full screen: what show_load prints on failure is kept
 * in *msg (owned by the caller, may be NULL) instead of landing on the
 * alternate screen, where the next frame would erase it unread. */
static int watch_load_quiet(cli_ctx *ctx, const char *key, const cli_view_opts *vo,
                            json_t **view, char **msg)
{
    size_t len = 0;
    free(*msg);
    *msg = NULL;
    FILE *cap = open_memstream(msg, &len);
    if (cap == NULL) return show_load(ctx, key, vo, NULL, view);
    cli_ctx quiet = *ctx;
    quiet.err = cap;
    quiet.color_err = 0;
    int rc = show_load(&quiet, key, vo, NULL, view);
    fclose(cap);
    return rc;
}

/* Draws the last view on the screen of cols x rows. */
static void watch_draw(cli_ctx *ctx, const json_t *view, const char *status, int cols, int rows)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m == NULL) return;
    if (view) cli_view_render(view, m, ctx->color, cols);
    fclose(m);
    cli_term_frame(ctx->out, text ? text : "", cols, rows, status);
    free(text);
    fflush(ctx->out);
}

static int watch_run(cli_ctx *ctx, const cli_args *a)
{
    const char *key = a->pos[0];
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc) return rc;
    cli_view_opts vo;
    if ((rc = cli_cmd_view_opts(ctx, a, &vo)) != 0) return rc;
    double interval = 10;
    const char *is = cli_args_get(a, "interval");
    if (is) {
        char *end;
        interval = strtod(is, &end);
        if (*end || !(interval >= 0.2 && interval <= 86400)) {
            cli_errorf(ctx, "--interval must be seconds in [0.2, 86400]");
            return CLI_EXIT_USAGE;
        }
    }
    long count = -1;
    const char *cs = cli_args_get(a, "count");
    if (cs) {
        char *end;
        count = strtol(cs, &end, 10);
        if (*end || count < 1) {
            cli_errorf(ctx, "--count must be a whole number >= 1");
            return CLI_EXIT_USAGE;
        }
    }
    int json = cli_args_has(a, "json");
    /* Full screen only on a terminal: a pipe or a file gets one report
     * after another, as before. */
    int cols = 0, rows = 0;
    int screen = !json && cli_term_size(fileno(ctx->out), &cols, &rows) == 0;
    watch_stop = 0;
    watch_resized = 0;
    struct sigaction sa, old_int, old_term, old_winch;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = watch_on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (screen) {
        sigaction(SIGWINCH, &sa, &old_winch);
        fputs(CLI_TERM_ALT_ENTER, ctx->out);
        fflush(ctx->out);
    }
    int last_rc = CLI_EXIT_OK;
    char *msg = NULL;
    json_t *shown = NULL;
    char status[300] = "";
    for (long i = 0; !watch_stop && (count < 0 || i < count); i++) {
        json_t *view = NULL;
        last_rc = screen ? watch_load_quiet(ctx, key, &vo, &view, &msg)
                         : show_load(ctx, key, &vo, NULL, &view);
        if (last_rc == CLI_EXIT_AUTH || last_rc == CLI_EXIT_NOT_FOUND ||
            last_rc == CLI_EXIT_USAGE)
            break; /* these do not heal by waiting */
        time_t now = time(NULL);
        char ts[32];
        strftime(ts, sizeof ts, "%H:%M:%S", localtime(&now));
        if (json && view) {
            json_dumpf(view, ctx->out, JSON_COMPACT | JSON_REAL_PRECISION(17));
            fputc('\n', ctx->out);
        } else if (screen) {
            if (view) {
                json_decref(shown);
                shown = json_incref(view);
                snprintf(status, sizeof status, "refreshed %s, every %gs; ^C to quit", ts,
                         interval);
            } else {
                /* keep the last good frame; say why it is not fresh */
                char *nl = msg ? strchr(msg, '\n') : NULL;
                if (nl) *nl = '\0';
                snprintf(status, sizeof status, "%s: retrying every %gs; %s", ts, interval,
                         msg && strncmp(msg, "upshot: ", 8) == 0 ? msg + 8 : msg ? msg : "");
            }
            watch_draw(ctx, shown, status, cols, rows);
        } else if (view) {
            cli_view_render(view, ctx->out, ctx->color, ctx->width);
            fprintf(ctx->out, "\nrefreshed %s, every %gs; ^C to quit\n", ts, interval);
        }
        fflush(ctx->out);
        json_decref(view);
        if (count >= 0 && i + 1 >= count) break;
        /* sleep in small steps so ^C ends the wait promptly and a resize
         * is redrawn at once */
        for (double slept = 0; slept < interval && !watch_stop; slept += 0.1) {
            struct timespec tsl = {0, 100000000L};
            nanosleep(&tsl, NULL);
            if (screen && watch_resized) {
                watch_resized = 0;
                if (cli_term_size(fileno(ctx->out), &cols, &rows) == 0)
                    watch_draw(ctx, shown, status, cols, rows);
            }
        }
    }
    if (screen) {
        fputs(CLI_TERM_ALT_LEAVE, ctx->out);
        fflush(ctx->out);
        sigaction(SIGWINCH, &old_winch, NULL);
        /* the error that ended the watch, now on the user's own screen */
        if (last_rc != CLI_EXIT_OK && msg) fputs(msg, ctx->err);
    }
    free(msg);
    json_decref(shown);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return last_rc;
}

const cli_command cli_cmd_watch = {
    "watch", "EXP", "show, refreshed live",
    "Redraws `upshot show` every --interval seconds until ^C (or --count times).\n"
    "On a terminal it uses the alternate screen and redraws in place, cut to the\n"
    "terminal's size (resizes are followed); ^C gives the shell screen back as it was.\n"
    "A server that is briefly unreachable is retried at the next refresh; a refused\n"
    "token or an unknown experiment ends the watch with its exit code. Watching is\n"
    "safe: the p-values are always-valid, so looking often does not inflate false\n"
    "positives.",
    watch_opts, sizeof watch_opts / sizeof watch_opts[0], 1, 1, watch_run};

/* ---- ls --------------------------------------------------------------- */

static const cli_optspec ls_opts[] = {
    {"status", 's', 1, "STATUS", "only draft, running or stopped experiments"},
};

/* Whole days since an RFC 3339 UTC time, or -1. */
static long ls_days_since(const char *ts)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (ts == NULL || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                             &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    time_t now = time(NULL);
    return now >= t ? (long)((now - t) / 86400) : 0;
}

/* 1234567 -> "1,234,567" */
static void ls_count(long long v, char *out, size_t cap)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", v);
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
}

static int ls_run(cli_ctx *ctx, const cli_args *a)
{
    const char *only = cli_args_get(a, "status");
    if (only && strcmp(only, "draft") && strcmp(only, "running") && strcmp(only, "stopped")) {
        cli_errorf(ctx, "--status must be draft, running or stopped");
        return CLI_EXIT_USAGE;
    }
    json_t *doc = NULL;
    int rc = cli_api_call(ctx, "GET", "/v1/experiments", NULL, NULL, &doc);
    if (rc) return rc;
    json_t *list = json_object_get(doc, "experiments");
    json_t *rows = json_array();
    size_t i;
    json_t *e;
    cli_view_opts vo;
    memset(&vo, 0, sizeof vo);
    vo.metric = -1;
    vo.min_sample = -1;
    vo.correction = -1;
    json_array_foreach(list, i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *status = json_string_value(json_object_get(e, "status"));
        if (key == NULL) continue;
        if (only && (status == NULL || strcmp(status, only) != 0)) continue;
        json_t *row = json_object();
        json_object_set_new(row, "key", json_string(key));
        json_object_set_new(row, "status", json_string(status ? status : "draft"));
        json_t *tp = json_object_get(e, "traffic_percent");
        json_object_set_new(row, "traffic_percent",
                            json_real(json_is_number(tp) ? json_number_value(tp) : 100.0));
        const char *started = json_string_value(json_object_get(e, "started_at"));
        long days = started ? ls_days_since(started) : -1;
        json_object_set_new(row, "days_running", days >= 0 ? json_integer(days) : json_null());
        const char *goal = json_string_value(json_object_get(e, "goal"));
        json_object_set_new(row, "goal", json_string(goal ? goal : "conversion"));
        json_t *view = NULL;
        char path[200];
        cli_cmd_exp_path(key, "/results", path, sizeof path);
        json_t *res = NULL;
        /* a results failure of one experiment must not hide the others */
        cli_ctx quiet = *ctx;
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) quiet.err = devnull;
        int rrc = cli_api_call(&quiet, "GET", path, NULL, NULL, &res);
        if (devnull) fclose(devnull);
        if (rrc == CLI_EXIT_AUTH || rrc == CLI_EXIT_UNREACHABLE) {
            /* say it once, properly: ask again with the real error stream */
            json_t *again = NULL;
            cli_api_call(ctx, "GET", path, NULL, NULL, &again);
            json_decref(again);
            json_decref(rows);
            json_decref(doc);
            return rrc;
        }
        if (rrc == CLI_EXIT_OK) {
            cli_results r;
            char msg[256];
            if (cli_results_parse(res, &r, msg, sizeof msg) == 0)
                view = cli_view_build(e, &r, &vo, msg, sizeof msg);
            cli_results_free(&r);
        }
        json_decref(res);
        if (view) {
            unsigned long long visitors;
            const char *leading;
            int conclusive, nreg;
            cli_view_summary(view, &visitors, &leading, &conclusive, &nreg);
            json_object_set_new(row, "visitors", json_integer((json_int_t)visitors));
            json_object_set_new(row, "leading", leading && visitors ? json_string(leading)
                                                                    : json_null());
            json_object_set_new(row, "regions", json_integer(nreg));
            json_object_set_new(row, "conclusive_regions", json_integer(conclusive));
            json_t *promos = json_array(), *recs = json_object();
            size_t j;
            json_t *g;
            json_array_foreach(json_object_get(view, "regions"), j, g) {
                const char *rn = json_string_value(json_object_get(g, "region"));
                json_object_set(recs, rn, json_object_get(g, "recommendation"));
                json_t *p = json_object_get(g, "promotion");
                if (json_is_object(p))
                    json_array_append_new(promos, json_pack("{s:s, s:O}", "region", rn,
                                                            "variant",
                                                            json_object_get(p, "variant")));
            }
            json_object_set_new(row, "recommendations", recs);
            json_object_set_new(row, "promotions", promos);
            json_decref(view);
        } else {
            json_object_set_new(row, "visitors", json_null());
            json_object_set_new(row, "leading", json_null());
            json_object_set_new(row, "regions", json_null());
            json_object_set_new(row, "conclusive_regions", json_null());
            json_object_set_new(row, "recommendations", json_object());
            json_object_set_new(row, "promotions", json_array());
        }
        /* regions the circuit breaker sends to control, from the definition */
        json_t *trips = json_array();
        const char *tr;
        json_t *tv;
        json_object_foreach(json_object_get(e, "breaker_trips"), tr, tv)
            json_array_append_new(trips, json_pack("{s:s, s:O?, s:O?, s:O?}", "region", tr,
                                                   "variant", json_object_get(tv, "variant"),
                                                   "metric", json_object_get(tv, "metric"),
                                                   "since", json_object_get(tv, "since")));
        json_object_set_new(row, "breaker_trips", trips);
        json_array_append_new(rows, row);
    }
    json_decref(doc);
    if (cli_args_has(a, "json")) {
        json_t *out = json_pack("{s:o}", "experiments", rows);
        cli_cmd_print_json(ctx, out);
        json_decref(out);
        return CLI_EXIT_OK;
    }
    if (json_array_size(rows) == 0) {
        fprintf(ctx->out, only ? "no %s experiments\n" : "no experiments%s\n", only ? only : "");
        json_decref(rows);
        return CLI_EXIT_OK;
    }
    cli_table *t = cli_table_new(9);
    const char *titles[] = {"experiment", "status", "traffic", "days", "visitors", "leading",
                            "conclusive", "promoted", "breaker"};
    for (size_t c = 0; c < 9; c++) cli_table_column(t, c, titles[c], c >= 2 && c <= 4);
    json_t *row;
    json_array_foreach(rows, i, row) {
        int r = cli_table_row(t);
        char b[128];
        cli_table_cell(t, r, 0, json_string_value(json_object_get(row, "key")), CLI_PAINT_BOLD);
        const char *st = json_string_value(json_object_get(row, "status"));
        cli_table_cell(t, r, 1, st, strcmp(st, "running") == 0 ? CLI_PAINT_GOOD : CLI_PAINT_DIM);
        snprintf(b, sizeof b, "%g%%", json_number_value(json_object_get(row, "traffic_percent")));
        cli_table_cell(t, r, 2, b, CLI_PAINT_NONE);
        json_t *d = json_object_get(row, "days_running");
        if (json_is_integer(d)) snprintf(b, sizeof b, "%lld", (long long)json_integer_value(d));
        else snprintf(b, sizeof b, "-");
        cli_table_cell(t, r, 3, b, CLI_PAINT_NONE);
        json_t *v = json_object_get(row, "visitors");
        if (json_is_integer(v)) ls_count((long long)json_integer_value(v), b, sizeof b);
        else snprintf(b, sizeof b, "-");
        cli_table_cell(t, r, 4, b, CLI_PAINT_NONE);
        const char *lead = json_string_value(json_object_get(row, "leading"));
        cli_table_cell(t, r, 5, lead ? lead : "-", CLI_PAINT_NONE);
        json_t *nr = json_object_get(row, "regions");
        json_t *nc = json_object_get(row, "conclusive_regions");
        if (json_is_integer(nr) && json_integer_value(nr) > 0)
            snprintf(b, sizeof b, "%lld of %lld regions", (long long)json_integer_value(nc),
                     (long long)json_integer_value(nr));
        else
            snprintf(b, sizeof b, "no data");
        cli_table_cell(t, r, 6, b, json_is_integer(nc) && json_integer_value(nc) > 0
                                       ? CLI_PAINT_GOOD : CLI_PAINT_NONE);
        json_t *promos = json_object_get(row, "promotions");
        b[0] = '\0';
        size_t j;
        json_t *p;
        json_array_foreach(promos, j, p) {
            size_t n = strlen(b);
            snprintf(b + n, sizeof b - n, "%s%s:%s", j ? " " : "",
                     json_string_value(json_object_get(p, "region")),
                     json_string_value(json_object_get(p, "variant")));
        }
        cli_table_cell(t, r, 7, b[0] ? b : "-", CLI_PAINT_NONE);
        b[0] = '\0';
        json_array_foreach(json_object_get(row, "breaker_trips"), j, p) {
            size_t n = strlen(b);
            const char *m = json_string_value(json_object_get(p, "metric"));
            snprintf(b + n, sizeof b - n, "%s%s:tripped(%s)", j ? " " : "",
                     json_string_value(json_object_get(p, "region")),
                     m && strcmp(m, "aov") == 0 ? "aov" : "declines");
        }
        cli_table_cell(t, r, 8, b[0] ? b : "-", b[0] ? CLI_PAINT_BAD : CLI_PAINT_NONE);
    }
    cli_table_render(t, ctx->out, ctx->color, (size_t)ctx->width, 7, 0);
    cli_table_free(t);
    json_decref(rows);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_ls = {
    "ls", "", "every experiment: status, traffic, visitors, leader, conclusive",
    "One line per experiment: status, traffic share, days since start, visitors\n"
    "(randomized, all regions), the variant leading on the goal metric, how many\n"
    "regions have a conclusive recommendation (promote or stop) under the rules of\n"
    "docs/promotion.md, the current promotions (region:variant) and the regions\n"
    "whose circuit breaker tripped (region:tripped(metric); they see the control).",
    ls_opts, sizeof ls_opts / sizeof ls_opts[0], 0, 0, ls_run};

/* ---- promote ---------------------------------------------------------- */

static const cli_optspec promote_opts[] = {
    {"region", 'r', 1, "REGION", "the region (required)"},
    {"variant", 'v', 1, "VARIANT", "the variant to serve there (required)"},
    {"holdback", 0, 1, "PCT", "share kept randomized (default auto_promote.holdback, or 5%)"},
    {"reason", 'm', 1, "TEXT", "why, for the audit log (default: the evidence)"},
    {"force", 0, 0, NULL, "promote even when the rules do not recommend it"},
    {"min-sample", 0, 1, "N", "as in show"},
    {"alpha", 0, 1, "A", "as in show"},
    {"correction", 0, 1, "holm|bh", "as in show"},
};

static int promote_run(cli_ctx *ctx, const cli_args *a)
{
    const char *key = a->pos[0];
    const char *region = cli_args_get(a, "region");
    const char *variant = cli_args_get(a, "variant");
    if (region == NULL || variant == NULL) {
        cli_errorf(ctx, "promote needs --region REGION and --variant VARIANT");
        return CLI_EXIT_USAGE;
    }
    int rc = cli_cmd_check_key(ctx, "experiment", key);
    if (rc == 0) rc = cli_cmd_check_key(ctx, "region", region);
    if (rc == 0) rc = cli_cmd_check_key(ctx, "variant", variant);
    if (rc) return rc;
    cli_view_opts vo;
    if ((rc = cli_cmd_view_opts(ctx, a, &vo)) != 0) return rc;
    vo.region = NULL; /* the decision needs every region of the family */
    json_t *exp = NULL, *view = NULL;
    if ((rc = show_load(ctx, key, &vo, &exp, &view)) != 0) return rc;

    /* the variant must exist and must not be the control */
    int found = 0, is_control = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(exp, "variants"), i, v) {
        const char *k = json_string_value(json_object_get(v, "key"));
        if (k && strcmp(k, variant) == 0) found = 1;
    }
    /* A factorial definition lists factors, not variants: its variants are
     * the cells the results name. */
    json_array_foreach(json_object_get(json_object_get(view, "total"), "variants"), i, v) {
        const char *k = json_string_value(json_object_get(v, "variant"));
        if (json_object_get(exp, "factors") && k && strcmp(k, variant) == 0) found = 1;
    }
    const char *ctl = json_string_value(json_object_get(view, "control"));
    if (ctl && strcmp(ctl, variant) == 0) is_control = 1;
    if (!found) {
        cli_errorf(ctx, "experiment \"%s\" has no variant \"%s\"", key, variant);
        json_decref(exp);
        json_decref(view);
        return CLI_EXIT_NOT_FOUND;
    }

    double holdback = 0.05;
    json_t *hb = json_object_get(json_object_get(exp, "auto_promote"), "holdback");
    if (json_is_number(hb)) holdback = json_number_value(hb);
    const char *hs = cli_args_get(a, "holdback");
    if (hs && cli_cmd_parse_share(hs, &holdback) != 0) {
        cli_errorf(ctx, "--holdback must be a share below 100%%, e.g. 5%% or 0.05");
        json_decref(exp);
        json_decref(view);
        return CLI_EXIT_USAGE;
    }

    /* what do the rules say for this region? */
    json_t *g = NULL, *x;
    json_array_foreach(json_object_get(view, "regions"), i, x) {
        const char *rn = json_string_value(json_object_get(x, "region"));
        if (rn && strcmp(rn, region) == 0) g = x;
    }
    const char *rec = g ? json_string_value(json_object_get(g, "recommendation")) : NULL;
    const char *pv = g ? json_string_value(json_object_get(g, "promote_variant")) : NULL;
    /* A factorial's rule has a second step (a factor's level, when the
     * factor has no interaction worth keeping) that needs the cell tables
     * only upshotd holds: the region's decision is the server's run of
     * the same pure function (docs/promotion.md). */
    const json_t *fd = g ? json_object_get(g, "factorial_decision") : NULL;
    if (json_is_object(fd)) {
        rec = json_string_value(json_object_get(fd, "recommendation"));
        pv = json_string_value(json_object_get(fd, "variant"));
    }
    int advised = rec && strcmp(rec, "promote") == 0 && pv && strcmp(pv, variant) == 0;
    char evidence[300];
    if (advised && json_is_object(fd)) {
        const char *kind = json_string_value(json_object_get(fd, "kind"));
        const char *fk = json_string_value(json_object_get(fd, "factor"));
        const char *lk = json_string_value(json_object_get(fd, "level"));
        if (kind && strcmp(kind, "factor_level") == 0 && fk && lk)
            snprintf(evidence, sizeof evidence,
                     "recommended by upshot: factor %s at level %s (no interaction worth "
                     "keeping), %s", fk, lk, json_string_value(json_object_get(fd, "why")));
        else
            snprintf(evidence, sizeof evidence, "recommended by upshot: combination, %s",
                     json_string_value(json_object_get(fd, "why")));
    } else if (advised) {
        json_t *arm = NULL;
        json_array_foreach(json_object_get(g, "variants"), i, x)
            if (strcmp(json_string_value(json_object_get(x, "variant")), variant) == 0) arm = x;
        snprintf(evidence, sizeof evidence,
                 "recommended by upshot: lift %+.1f%%, adjusted always-valid p %.2g (%s over %lld "
                 "tests), declines not worse",
                 json_number_value(json_object_get(arm, "goal_lift")) * 100,
                 json_number_value(json_object_get(arm, "goal_p_adjusted")),
                 json_string_value(json_object_get(view, "correction")),
                 (long long)json_integer_value(json_object_get(view, "family_size")));
    } else {
        const json_t *why_from = json_is_object(fd) ? fd : g;
        snprintf(evidence, sizeof evidence, "manual promotion against the rules' advice (%s: %s)",
                 rec ? rec : "no data", why_from ? json_string_value(json_object_get(why_from, "why"))
                                                 : "the region has no results");
    }
    if (is_control && !cli_args_has(a, "force")) {
        /* promoting the control is a legitimate "ship nothing" decision, but
         * it should be deliberate */
        cli_errorf(ctx, "\"%s\" is the control; to serve it to everyone in %s use --force "
                   "(or stop the experiment)", variant, region);
        json_decref(exp);
        json_decref(view);
        return CLI_EXIT_NOT_ADVISED;
    }
    if (!advised && !is_control && !cli_args_has(a, "force")) {
        cli_errorf(ctx, "the rules do not recommend promoting %s in %s: %s; %s", variant,
                   region, rec ? rec : "no data",
                   json_is_object(fd) ? json_string_value(json_object_get(fd, "why"))
                   : g ? json_string_value(json_object_get(g, "why")) : "the region has no results");
        fprintf(ctx->err, "        (see `upshot show %s --region %s`; --force promotes anyway "
                "and the audit log records that)\n", key, region);
        json_decref(exp);
        json_decref(view);
        return CLI_EXIT_NOT_ADVISED;
    }
    const char *reason = cli_args_get(a, "reason");
    char full_reason[700];
    if (reason) snprintf(full_reason, sizeof full_reason, "%s (%s)", reason, evidence);
    else snprintf(full_reason, sizeof full_reason, "%s", evidence);
    json_t *body = json_pack("{s:s, s:s, s:f, s:s}", "region", region, "variant", variant,
                             "holdback", holdback, "reason", full_reason);
    char path[200], what[160];
    cli_cmd_exp_path(key, "/promotions", path, sizeof path);
    snprintf(what, sizeof what, "experiment \"%s\"", key);
    json_t *resp = NULL;
    rc = cli_api_call(ctx, "POST", path, body, what, &resp);
    json_decref(body);
    if (rc == CLI_EXIT_OK && cli_args_has(a, "json"))
        cli_cmd_print_answer(ctx, resp, key);
    else if (rc == CLI_EXIT_OK)
        fprintf(ctx->out, "%s: %s promoted in %s; %.0f%% of its visitors stay randomized "
                "(holdback)\n", key, variant, region, holdback * 100);
    json_decref(resp);
    json_decref(exp);
    json_decref(view);
    return rc;
}

const cli_command cli_cmd_promote = {
    "promote", "EXP", "serve a variant to a region (with a holdback)",
    "Visitors of the region get VARIANT, except a holdback share that stays randomized\n"
    "so the region keeps being measured. Before promoting, upshot runs the decision\n"
    "rules (docs/promotion.md); when they do not recommend this variant in this region\n"
    "it refuses with exit code 7 and says why, unless --force. The audit log records\n"
    "who, the evidence, and --reason.",
    promote_opts, sizeof promote_opts / sizeof promote_opts[0], 1, 1, promote_run};

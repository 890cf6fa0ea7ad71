/* cli_dispatch.c: `upshot COMMAND ...` -> the command's run function,
 * plus the help texts (docs/cli.md holds the same facts for reading).
 *
 * Two things happen here so that no command has to repeat them:
 *   - "did you mean": an unknown command, or an experiment key upshotd
 *     does not know (404), is compared with the commands or with the
 *     server's experiment keys (cli_suggest.h);
 *   - --json errors: with --json anywhere on the line, what the command
 *     writes to err is collected and, when it fails, printed as one JSON
 *     object on err instead ({"error": {...}}, docs/cli.md "JSON output"),
 *     so a script reads stdout as data and stderr as one error document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_cmd.h"
#include "validate.h"

#include "analyze.h"
#include "cli_suggest.h"

static const cli_command *const dispatch_commands[] = {
    &cli_cmd_ls, &cli_cmd_show, &cli_cmd_watch, &cli_cmd_promote, &cli_cmd_unpromote,
    &cli_cmd_breaker, &cli_cmd_start, &cli_cmd_stop, &cli_cmd_create, &cli_cmd_log,
    &cli_cmd_export, &cli_cmd_report,
};
#define DISPATCH_N (sizeof dispatch_commands / sizeof dispatch_commands[0])

int cli_cmd_check_key(cli_ctx *ctx, const char *what, const char *key)
{
    if (validate_key(key)) return CLI_EXIT_OK;
    cli_errorf(ctx, "\"%s\" is not a valid %s key (lowercase letters, digits, - and _, "
               "at most 64 characters)", key, what);
    return CLI_EXIT_USAGE;
}

void cli_cmd_exp_path(const char *key, const char *suffix, char *out, size_t cap)
{
    /* keys are validated before, so they need no escaping */
    snprintf(out, cap, "/v1/experiments/%s%s", key, suffix ? suffix : "");
}

void cli_cmd_print_answer(cli_ctx *ctx, json_t *resp, const char *key)
{
    if (json_is_object(resp) || json_is_array(resp)) {
        cli_cmd_print_json(ctx, resp);
        return;
    }
    json_t *doc = json_pack("{s:s, s:b}", "experiment", key, "ok", 1);
    cli_cmd_print_json(ctx, doc);
    json_decref(doc);
}

void cli_cmd_print_json(cli_ctx *ctx, json_t *j)
{
    json_dumpf(j, ctx->out, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    fputc('\n', ctx->out);
}

int cli_cmd_parse_share(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s) return -1;
    while (*end == ' ') end++;
    if (*end == '%') {
        v /= 100.0;
        end++;
    }
    if (*end != '\0' || !(v >= 0.0) || !(v < 1.0)) return -1;
    *out = v;
    return 0;
}

static void dispatch_print_opts(FILE *f, const cli_optspec *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char left[64];
        if (o[i].short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o[i].short_name, o[i].name,
                     o[i].arg ? " " : "", o[i].arg ? o[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o[i].name, o[i].arg ? " " : "",
                     o[i].arg ? o[i].arg : "");
        fprintf(f, "  %-26s %s\n", left, o[i].help);
    }
}

static void dispatch_main_help(FILE *f)
{
    fputs("upshot: the command-line dashboard of upshotd (A/B tests of upsell and "
          "cross-sell offers)\n\n"
          "usage: upshot COMMAND [ARGS] [OPTIONS]\n\ncommands:\n", f);
    for (size_t i = 0; i < DISPATCH_N; i++)
        fprintf(f, "  %-10s %s\n", dispatch_commands[i]->name, dispatch_commands[i]->summary);
    fprintf(f, "  %-10s %s\n", "analyze", "offline analysis of an exported CSV "
            "(upshot analyze --help)");
    fputs("\noptions of every command:\n", f);
    dispatch_print_opts(f, cli_global_opts, cli_global_nopts);
    fputs("\nThe server and token come from --url/--token, then UPSHOT_URL/UPSHOT_TOKEN,\n"
          "then the config file ($UPSHOT_CONFIG or ~/.config/upshot/config).\n"
          "Exit codes (every command, analyze included): 0 ok, 1 failure, 2 usage,\n"
          "3 server unreachable, 4 bad token, 5 not found, 6 rejected by the server,\n"
          "7 promotion not advised, 8 input file unreadable or invalid.\n"
          "Run `upshot COMMAND --help` for a command; docs/cli.md has the details.\n", f);
}

static void dispatch_cmd_help(FILE *f, const cli_command *c)
{
    fprintf(f, "usage: upshot %s%s%s [OPTIONS]\n\n%s\n\n%s\n", c->name, c->args[0] ? " " : "",
            c->args, c->summary, c->details);
    if (c->nopts) {
        fputs("\noptions:\n", f);
        dispatch_print_opts(f, c->opts, c->nopts);
    }
    fputs("\nglobal options:\n", f);
    dispatch_print_opts(f, cli_global_opts, cli_global_nopts);
}

/* What a failed run leaves for the JSON error: a suggestion, if any. */
typedef struct dispatch_hint {
    char did_you_mean[80]; /* a command name or an experiment key */
} dispatch_hint;

/* Every name `upshot NAME` accepts, for "did you mean". */
static const char *dispatch_suggest_command(const char *word)
{
    const char *names[DISPATCH_N + 3];
    size_t n = 0;
    for (size_t i = 0; i < DISPATCH_N; i++) names[n++] = dispatch_commands[i]->name;
    names[n++] = "analyze";
    names[n++] = "help";
    names[n++] = "version";
    return cli_suggest_best(word, names, n);
}

/* After a 404 on a command whose first argument is an experiment key:
 * when upshotd has no such experiment but one close to it, say so. The
 * list is fetched with errors silenced: a suggestion is a courtesy, and
 * the 404 has already been reported. */
static void dispatch_suggest_key(cli_ctx *ctx, const char *key, dispatch_hint *hint)
{
    cli_ctx quiet = *ctx;
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull == NULL) return;
    quiet.err = devnull;
    json_t *doc = NULL;
    int rc = cli_api_call(&quiet, "GET", "/v1/experiments", NULL, NULL, &doc);
    fclose(devnull);
    if (rc != CLI_EXIT_OK) return;
    json_t *list = json_object_get(doc, "experiments");
    size_t n = json_array_size(list), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    if (keys == NULL) {
        json_decref(doc);
        return;
    }
    int known = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_object_get(json_array_get(list, i), "key"));
        if (s == NULL) continue;
        if (strcmp(s, key) == 0) known = 1; /* the 404 was about something else */
        keys[k++] = s;
    }
    const char *best = known ? NULL : cli_suggest_best(key, keys, k);
    if (best) {
        snprintf(hint->did_you_mean, sizeof hint->did_you_mean, "%s", best);
        cli_errorf(ctx, "did you mean \"%s\"? (`upshot ls` lists the experiments)", best);
    }
    free(keys);
    json_decref(doc);
}

static int dispatch_run(int argc, char **argv, FILE *out, FILE *err, dispatch_hint *hint)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc >= 3 && strcmp(argv[1], "help") == 0) {
            for (size_t i = 0; i < DISPATCH_N; i++)
                if (strcmp(argv[2], dispatch_commands[i]->name) == 0) {
                    dispatch_cmd_help(out, dispatch_commands[i]);
                    return CLI_EXIT_OK;
                }
        }
        dispatch_main_help(argc < 2 ? err : out);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        fputs("upshot 0.1.0\n", out);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "analyze") == 0) {
        return analyze_command(argc - 1, argv + 1, out, err);
    }
    const cli_command *c = NULL;
    for (size_t i = 0; i < DISPATCH_N; i++)
        if (strcmp(argv[1], dispatch_commands[i]->name) == 0) c = dispatch_commands[i];
    if (c == NULL) {
        const char *best = dispatch_suggest_command(argv[1]);
        if (best) {
            snprintf(hint->did_you_mean, sizeof hint->did_you_mean, "%s", best);
            fprintf(err, "upshot: unknown command \"%s\"; did you mean \"%s\"? (run `upshot "
                    "--help` for the list)\n", argv[1], best);
        } else {
            fprintf(err, "upshot: unknown command \"%s\" (run `upshot --help` for the list)\n",
                    argv[1]);
        }
        return CLI_EXIT_USAGE;
    }
    cli_args a;
    char msg[256];
    if (cli_args_parse(&a, argc - 2, argv + 2, c->opts, c->nopts, msg, sizeof msg) != 0) {
        fprintf(err, "upshot %s: %s (see `upshot %s --help`)\n", c->name, msg, c->name);
        return CLI_EXIT_USAGE;
    }
    if (cli_args_has(&a, "help")) {
        dispatch_cmd_help(out, c);
        return CLI_EXIT_OK;
    }
    if (a.npos < c->npos_min || a.npos > c->npos_max) {
        fprintf(err, "upshot %s: expected %s%s (see `upshot %s --help`)\n", c->name,
                c->args[0] ? c->args : "no arguments",
                a.npos > c->npos_max ? ", got extra arguments" : "", c->name);
        return CLI_EXIT_USAGE;
    }
    cli_ctx ctx;
    int rc = cli_ctx_init(&ctx, &a, out, err);
    if (rc != CLI_EXIT_OK) return rc;
    rc = c->run(&ctx, &a);
    if (rc == CLI_EXIT_NOT_FOUND && strncmp(c->args, "EXP", 3) == 0 && a.npos >= 1)
        dispatch_suggest_key(&ctx, a.pos[0], hint);
    fflush(out);
    return rc;
}

/* Whether --json is on the line (before any "--"), known before parsing
 * so that a usage error is already reported as JSON. */
static int dispatch_wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return 0;
        if (strcmp(argv[i], "--json") == 0) return 1;
    }
    return 0;
}

static const char *dispatch_exit_kind(int rc)
{
    static const char *const kinds[] = {"ok", "failure", "usage", "unreachable", "auth",
                                        "not_found", "rejected", "not_advised", "bad_input"};
    return rc >= 0 && (size_t)rc < sizeof kinds / sizeof kinds[0] ? kinds[rc] : "failure";
}

/* The collected diagnostics as one message: "upshot: " prefixes dropped,
 * lines joined with a space, surrounding blanks trimmed. */
static json_t *dispatch_message(const char *text)
{
    size_t n = strlen(text);
    char *m = malloc(n + 1);
    if (m == NULL) return json_string("");
    size_t o = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) { p++; len--; }
        if (len >= 8 && strncmp(p, "upshot: ", 8) == 0) { p += 8; len -= 8; }
        if (len) {
            if (o) m[o++] = ' ';
            memcpy(m + o, p, len);
            o += len;
        }
        p += len;
        if (*p == '\n') p++;
    }
    m[o] = '\0';
    json_t *s = json_stringn_nocheck(m, o);
    free(m);
    return s ? s : json_string("");
}

int cli_run(int argc, char **argv, FILE *out, FILE *err)
{
    dispatch_hint hint = {{0}};
    if (!dispatch_wants_json(argc, argv)) return dispatch_run(argc, argv, out, err, &hint);
    char *buf = NULL;
    size_t len = 0;
    FILE *cap = open_memstream(&buf, &len);
    if (cap == NULL) return dispatch_run(argc, argv, out, err, &hint);
    int rc = dispatch_run(argc, argv, out, cap, &hint);
    fclose(cap);
    if (rc == CLI_EXIT_OK) {
        fwrite(buf, 1, len, err); /* notices of a success pass through as text */
    } else {
        json_t *e = json_pack("{s:i, s:s, s:o}", "exit_code", rc, "kind",
                              dispatch_exit_kind(rc), "message", dispatch_message(buf));
        if (hint.did_you_mean[0])
            json_object_set_new(e, "did_you_mean", json_string(hint.did_you_mean));
        json_t *doc = json_pack("{s:o}", "error", e);
        json_dumpf(doc, err, JSON_COMPACT);
        fputc('\n', err);
        json_decref(doc);
    }
    free(buf);
    fflush(err);
    return rc;
}

/* cli_dispatch.c: `upshot COMMAND ...` -> the command's run function,
 * plus the help texts (docs/cli.md holds the same facts for reading). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_cmd.h"
#include "validate.h"

#include "analyze.h"

static const cli_command *const dispatch_commands[] = {
    &cli_cmd_ls, &cli_cmd_show, &cli_cmd_watch, &cli_cmd_promote, &cli_cmd_unpromote,
    &cli_cmd_breaker, &cli_cmd_start, &cli_cmd_stop, &cli_cmd_create, &cli_cmd_log,
    &cli_cmd_export,
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

int cli_run(int argc, char **argv, FILE *out, FILE *err)
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
        fprintf(err, "upshot: unknown command \"%s\" (run `upshot --help` for the list)\n",
                argv[1]);
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
    fflush(out);
    return rc;
}

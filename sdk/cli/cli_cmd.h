/* cli_cmd.h: the table of `upshot` commands and what they share.
 *
 * A command is a name, its own options, a help text and a run function
 * that gets a ready context (server, token, colour, width) and the parsed
 * arguments. cli_run (cli_dispatch.c) finds the command, parses, prints
 * --help, builds the context and calls run; run returns an exit code of
 * cli.h. Every command accepts --json (a global option) and then prints
 * exactly one JSON document on out and nothing else: reads their report,
 * writes upshotd's answer (cli_cmd_print_answer); cli_run turns a failure
 * into one JSON object on err (docs/cli.md, "JSON output").
 */
#ifndef UPSHOT_CLI_CMD_H
#define UPSHOT_CLI_CMD_H

#include <jansson.h>
#include <stdbool.h>

#include "cli_api.h"
#include "cli_args.h"

typedef struct cli_command {
    const char *name;
    const char *args;        /* positional synopsis, e.g. "EXP" */
    const char *summary;     /* one line for `upshot --help` */
    const char *details;     /* paragraph(s) for `upshot CMD --help` */
    const cli_optspec *opts; /* the command's own options */
    size_t nopts;
    int npos_min, npos_max;  /* positional arguments accepted */
    int (*run)(cli_ctx *ctx, const cli_args *a);
} cli_command;

/* A command's option table and its length, for cli_command's opts, nopts. */
#define CLI_OPTS(table) (table), (sizeof (table) / sizeof (table)[0])

extern const cli_command cli_cmd_ls, cli_cmd_show, cli_cmd_watch, cli_cmd_promote,
    cli_cmd_unpromote, cli_cmd_start, cli_cmd_stop, cli_cmd_create, cli_cmd_log,
    cli_cmd_export, cli_cmd_breaker, cli_cmd_report;

/* Checks an experiment (or region, variant) key the way upshotd does and
 * prints a usage error when it is not one. Returns CLI_EXIT_OK or
 * CLI_EXIT_USAGE. */
int cli_cmd_check_key(cli_ctx *ctx, const char *what, const char *key);

/* "/v1/experiments/KEY" + suffix into out. */
void cli_cmd_exp_path(const char *key, const char *suffix, char *out, size_t cap);

/* Prints j to ctx->out, indented, followed by a newline. */
void cli_cmd_print_json(cli_ctx *ctx, json_t *j);

/* What a write command prints under --json: upshotd's answer resp
 * (borrowed) as it came, or, when the answer had no body,
 * {"experiment": key, "ok": true}. */
void cli_cmd_print_answer(cli_ctx *ctx, json_t *resp, const char *key);

/* The view settings of show, watch and report from their options
 * (--metric, --alpha, --min-sample, --correction, --mde, --region; one a
 * command does not take reads as absent). CLI_EXIT_OK, or
 * CLI_EXIT_USAGE with the error printed. */
struct cli_view_opts;
int cli_cmd_view_opts(cli_ctx *ctx, const cli_args *a, struct cli_view_opts *vo);

/* Parses "5%", "5 %", "0.05" into a share in [0, 1). Returns 0 or -1. */
int cli_cmd_parse_share(const char *s, double *out);

#endif

/* cli.h: what every module of the `upshot` dashboard shares.
 *
 * `upshot` is a thin client of upshotd's admin API (docs/api.md). Commands
 * are functions of (argc, argv, out, err) so tests can run them in-process
 * and read what they print; nothing here writes to stdout or stderr
 * directly. docs/cli.md is the user's page for every command and exit code.
 */
#ifndef UPSHOT_CLI_H
#define UPSHOT_CLI_H

#include <stdio.h>

/* Exit codes: the one table of every command, `analyze` included.
 * Scripts branch on these, so a code never changes meaning and a meaning
 * has one code (docs/cli.md, "Exit codes"; `upshot --help` lists them). */
enum cli_exit {
    CLI_EXIT_OK = 0,          /* done */
    CLI_EXIT_FAILURE = 1,     /* anything not listed below: a 5xx, an answer
                                 of the wrong shape, a failed write, no memory */
    CLI_EXIT_USAGE = 2,       /* bad command line: unknown command or option,
                                 bad option value, bad settings (config file) */
    CLI_EXIT_UNREACHABLE = 3, /* no HTTP answer: refused, timeout, DNS */
    CLI_EXIT_AUTH = 4,        /* 401/403: missing or wrong admin token */
    CLI_EXIT_NOT_FOUND = 5,   /* 404: unknown experiment (or region) */
    CLI_EXIT_REJECTED = 6,    /* 400/409/413/422: the server refused the change */
    CLI_EXIT_NOT_ADVISED = 7, /* promote refused: the decision rules do not
                                 recommend it (override with --force) */
    CLI_EXIT_BAD_INPUT = 8    /* an input file (analyze FILE, create -f FILE)
                                 cannot be read or is not valid; the message
                                 names the field, variant or line */
};

/* When to write ANSI colour. AUTO means: only when the stream is a
 * terminal and NO_COLOR is unset or empty. */
enum cli_color_mode { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

/* Runs the whole command line (argv[0] is the program name) and returns
 * the exit code. Everything printed goes to out (results) or err
 * (diagnostics). The dispatcher of main.c is this function. */
int cli_run(int argc, char **argv, FILE *out, FILE *err);

#endif

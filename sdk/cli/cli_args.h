/* cli_args.h: the command-line parser every `upshot` command uses.
 *
 * Options may come before or after positional arguments, as --name value,
 * --name=value, or -x value for those with a short letter; `--` ends
 * options. A command lists its own options; the global ones (--url,
 * --token, --actor, --timeout, --color, --no-color, --json, --help) are accepted by
 * every command. Reentrant: no getopt state, so tests can call commands
 * repeatedly in one process.
 */
#ifndef UPSHOT_CLI_ARGS_H
#define UPSHOT_CLI_ARGS_H

#include <stddef.h>

#define CLI_ARGS_MAX_OPTS 32
#define CLI_ARGS_MAX_POS 8

typedef struct cli_optspec {
    const char *name;   /* long name without "--" */
    char short_name;    /* 0 when none */
    int has_arg;        /* 1: takes a value; 0: a flag */
    const char *arg;    /* value placeholder for --help ("REGION"), or NULL */
    const char *help;   /* one line for --help */
} cli_optspec;

typedef struct cli_args {
    const cli_optspec *specs[CLI_ARGS_MAX_OPTS]; /* global then command */
    const char *values[CLI_ARGS_MAX_OPTS];       /* last value given */
    int seen[CLI_ARGS_MAX_OPTS];                 /* times given */
    size_t nspecs;
    const char *pos[CLI_ARGS_MAX_POS];           /* positional arguments */
    int npos;
} cli_args;

/* The options every command accepts. */
extern const cli_optspec cli_global_opts[];
extern const size_t cli_global_nopts;

/* Parses argv[0..argc) (argv[0] is the first argument after the command
 * name). Returns 0, or -1 with a sentence in err. */
int cli_args_parse(cli_args *a, int argc, char **argv,
                   const cli_optspec *cmd, size_t ncmd, char *err, size_t errcap);

/* The value of --name, or NULL when not given. */
const char *cli_args_get(const cli_args *a, const char *name);

/* Whether --name was given. */
int cli_args_has(const cli_args *a, const char *name);

#endif

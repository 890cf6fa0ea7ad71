/* cli_args.c: a small reentrant option parser (see cli_args.h). */
#include "cli_args.h"

#include <stdio.h>
#include <string.h>

const cli_optspec cli_global_opts[] = {
    {"url", 0, 1, "URL", "upshotd base URL (env UPSHOT_URL)"},
    {"token", 0, 1, "TOKEN", "admin bearer token (env UPSHOT_TOKEN)"},
    {"actor", 0, 1, "NAME", "who acts, for the audit log (env UPSHOT_ACTOR)"},
    {"timeout", 0, 1, "SECONDS", "request timeout (default 10)"},
    {"cacert", 0, 1, "FILE", "https: trust the CAs in FILE (env UPSHOT_CACERT)"},
    {"insecure", 0, 0, NULL, "https: do not verify the certificate (unsafe)"},
    {"color", 0, 1, "WHEN", "auto (default), always or never"},
    {"no-color", 0, 0, NULL, "never write colour (also: NO_COLOR=1)"},
    {"json", 0, 0, NULL, "print JSON: the answer on stdout, an error as JSON on stderr"},
    {"help", 'h', 0, NULL, "show this help"},
};
const size_t cli_global_nopts = sizeof cli_global_opts / sizeof cli_global_opts[0];

static int args_add_specs(cli_args *a, const cli_optspec *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a->nspecs >= CLI_ARGS_MAX_OPTS) return -1;
        a->specs[a->nspecs++] = &s[i];
    }
    return 0;
}

static int args_find_long(const cli_args *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->nspecs; i++)
        if (strlen(a->specs[i]->name) == len && strncmp(a->specs[i]->name, name, len) == 0)
            return (int)i;
    return -1;
}

static int args_find_short(const cli_args *a, char c)
{
    for (size_t i = 0; i < a->nspecs; i++)
        if (a->specs[i]->short_name == c) return (int)i;
    return -1;
}

int cli_args_parse(cli_args *a, int argc, char **argv,
                   const cli_optspec *cmd, size_t ncmd, char *err, size_t errcap)
{
    memset(a, 0, sizeof *a);
    if (args_add_specs(a, cli_global_opts, cli_global_nopts) != 0 ||
        args_add_specs(a, cmd, ncmd) != 0) {
        snprintf(err, errcap, "too many options defined");
        return -1;
    }
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int idx = -1;
        const char *inline_val = NULL;
        if (!only_pos && strcmp(s, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && s[0] == '-' && s[1] == '-' && s[2] != '\0') {
            const char *name = s + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            idx = args_find_long(a, name, len);
            if (idx < 0) {
                snprintf(err, errcap, "unknown option --%.*s", (int)len, name);
                return -1;
            }
            if (eq) inline_val = eq + 1;
        } else if (!only_pos && s[0] == '-' && s[1] != '\0' && s[2] == '\0' &&
                   !(s[1] >= '0' && s[1] <= '9')) {
            idx = args_find_short(a, s[1]);
            if (idx < 0) {
                snprintf(err, errcap, "unknown option %s", s);
                return -1;
            }
        } else {
            if (a->npos >= CLI_ARGS_MAX_POS) {
                snprintf(err, errcap, "too many arguments");
                return -1;
            }
            a->pos[a->npos++] = s;
            continue;
        }
        const cli_optspec *sp = a->specs[idx];
        if (sp->has_arg) {
            if (inline_val == NULL) {
                if (i + 1 >= argc) {
                    snprintf(err, errcap, "option --%s needs a value (%s)", sp->name,
                             sp->arg ? sp->arg : "VALUE");
                    return -1;
                }
                inline_val = argv[++i];
            }
            a->values[idx] = inline_val;
        } else if (inline_val != NULL) {
            snprintf(err, errcap, "option --%s takes no value", sp->name);
            return -1;
        }
        a->seen[idx]++;
    }
    return 0;
}

const char *cli_args_get(const cli_args *a, const char *name)
{
    int i = args_find_long(a, name, strlen(name));
    return i >= 0 ? a->values[i] : NULL;
}

int cli_args_has(const cli_args *a, const char *name)
{
    int i = args_find_long(a, name, strlen(name));
    return i >= 0 && a->seen[i] > 0;
}

/* cli_config.h: where `upshot` finds its server, token and name.
 *
 * Each setting is taken from the first place that has it:
 *
 *   1. a flag          --url, --token, --actor, --timeout
 *   2. the environment UPSHOT_URL, UPSHOT_TOKEN, UPSHOT_ACTOR, UPSHOT_TIMEOUT
 *   3. the config file $UPSHOT_CONFIG, else $XDG_CONFIG_HOME/upshot/config,
 *                      else ~/.config/upshot/config
 *   4. the default     url http://127.0.0.1:8080, no token, actor = $USER,
 *                      timeout 10 s
 *
 * The file is lines of `key = value` (keys url, token, actor, timeout);
 * blank lines and lines starting with # are ignored; a value may be quoted
 * with "..."; `token = env:NAME` reads the token from variable NAME (as
 * upshotd's admin_token does). A file named by $UPSHOT_CONFIG must exist;
 * the default file may be absent. docs/cli.md shows an example.
 */
#ifndef UPSHOT_CLI_CONFIG_H
#define UPSHOT_CLI_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CLI_CONFIG_DEFAULT_URL "http://127.0.0.1:8080"
#define CLI_CONFIG_DEFAULT_TIMEOUT 10.0

typedef struct cli_settings {
    char url[512];
    char token[512];
    char actor[128];
    double timeout_s;
    char config_path[1024];  /* the file consulted (may not exist) */
    char url_from[64];       /* where url came from: "--url", "UPSHOT_URL", ... */
    char token_from[64];     /* where token came from, "" when none */
} cli_settings;

/* Parses the text of a config file into s, overwriting only the keys the
 * text sets. Pure: `env:NAME` tokens are resolved through getenv.
 * Returns 0, or -1 with "line N: ..." in err. */
int cli_config_parse(const char *text, cli_settings *s, char *err, size_t errcap);

/* Fills s from flags (NULL = not given), environment, file and defaults in
 * that order. Warnings (a token in a file others can read) go to warn.
 * Returns 0, or -1 with a sentence in err. */
int cli_config_resolve(const char *flag_url, const char *flag_token,
                       const char *flag_actor, const char *flag_timeout,
                       cli_settings *s, FILE *warn, char *err, size_t errcap);

#endif

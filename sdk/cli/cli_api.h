/* cli_api.h: the admin API as the commands use it.
 *
 * One call = one HTTP request + JSON decoding + a readable error. Every
 * failure is printed once, here, to ctx->err in the form
 *
 *   upshot: cannot reach upshotd at http://127.0.0.1:8080 (connection refused ...)
 *   upshot: the admin token was refused (401) ...
 *   upshot: no experiment "x" on http://... (404)
 *
 * and mapped to the exit codes of cli.h, so commands only pass the code on.
 */
#ifndef UPSHOT_CLI_API_H
#define UPSHOT_CLI_API_H

#include <jansson.h>
#include <stdio.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_config.h"
#include "cli_http.h"

/* Everything a command needs besides its own arguments. */
typedef struct cli_ctx {
    FILE *out, *err;
    cli_settings settings;
    cli_http_target target;   /* points into settings and cacert */
    char cacert[1024];        /* --cacert or UPSHOT_CACERT; "" for the system's CAs */
    int color;                /* colour on out */
    int color_err;            /* colour on err */
    int width;                /* columns available on out */
} cli_ctx;

/* Fills ctx from the global options in a (flags, env, config file).
 * Returns CLI_EXIT_OK, or CLI_EXIT_USAGE after printing why. */
int cli_ctx_init(cli_ctx *ctx, const cli_args *a, FILE *out, FILE *err);

/* Sends the request and decodes a JSON answer into *json (owned by the
 * caller; may be NULL on return when the body is empty). what names the
 * object for a 404 ("experiment \"checkout-tiers\""), or NULL.
 * Returns CLI_EXIT_OK for 2xx, otherwise the exit code after printing. */
int cli_api_call(cli_ctx *ctx, const char *method, const char *path,
                 json_t *body, const char *what, json_t **json);

/* Maps an HTTP status to an exit code (2xx -> CLI_EXIT_OK). */
int cli_api_exit_for_status(int status);

/* Prints "upshot: <message>" to ctx->err, red on a terminal. */
void cli_errorf(cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

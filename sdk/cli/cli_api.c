/* cli_api.c: admin API calls with one readable error each (cli_api.h). */
#include "cli_api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_term.h"

void cli_errorf(cli_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_term_paint(ctx->err, ctx->color_err, CLI_PAINT_BAD, "upshot:");
    fprintf(ctx->err, " %s\n", msg);
}

int cli_ctx_init(cli_ctx *ctx, const cli_args *a, FILE *out, FILE *err)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->out = out;
    ctx->err = err;
    enum cli_color_mode mode = CLI_COLOR_AUTO;
    const char *c = cli_args_get(a, "color");
    if (c != NULL) {
        if (strcmp(c, "always") == 0) mode = CLI_COLOR_ALWAYS;
        else if (strcmp(c, "never") == 0) mode = CLI_COLOR_NEVER;
        else if (strcmp(c, "auto") != 0) {
            fprintf(err, "upshot: --color must be auto, always or never\n");
            return CLI_EXIT_USAGE;
        }
    }
    if (cli_args_has(a, "no-color")) mode = CLI_COLOR_NEVER;
    ctx->color = cli_term_use_color(out, mode);
    ctx->color_err = cli_term_use_color(err, mode);
    ctx->width = cli_term_width(out);

    char msg[512];
    if (cli_config_resolve(cli_args_get(a, "url"), cli_args_get(a, "token"),
                           cli_args_get(a, "actor"), cli_args_get(a, "timeout"),
                           &ctx->settings, err, msg, sizeof msg) != 0) {
        cli_errorf(ctx, "%s", msg);
        return CLI_EXIT_USAGE;
    }
    ctx->target.url = ctx->settings.url;
    ctx->target.token = ctx->settings.token;
    ctx->target.actor = ctx->settings.actor;
    ctx->target.timeout_s = ctx->settings.timeout_s;

    /* https: the CA to trust (a private one, as upshotd's certificates
     * often are), checked here so a typo is a usage error, not an
     * "unreachable" server. */
    const char *ca = cli_args_get(a, "cacert");
    if (ca == NULL) ca = getenv("UPSHOT_CACERT");
    if (ca != NULL && ca[0] != '\0') {
        FILE *f = fopen(ca, "r");
        if (f == NULL) {
            cli_errorf(ctx, "cannot read the CA file %s (--cacert or UPSHOT_CACERT): %s", ca,
                       strerror(errno));
            return CLI_EXIT_USAGE;
        }
        fclose(f);
        snprintf(ctx->cacert, sizeof ctx->cacert, "%s", ca);
        ctx->target.cacert = ctx->cacert;
    }
    if (cli_args_has(a, "insecure")) {
        ctx->target.insecure = 1;
        cli_errorf(ctx, "WARNING: --insecure: upshotd's certificate is not verified, so anyone "
                   "between here and %s can read the admin token and change experiments",
                   ctx->settings.url);
    }
    return CLI_EXIT_OK;
}

int cli_api_exit_for_status(int status)
{
    if (status >= 200 && status < 300) return CLI_EXIT_OK;
    switch (status) {
    case 401:
    case 403: return CLI_EXIT_AUTH;
    case 404: return CLI_EXIT_NOT_FOUND;
    case 400:
    case 409:
    case 413:
    case 415:
    case 422: return CLI_EXIT_REJECTED;
    default: return CLI_EXIT_FAILURE;
    }
}

int cli_api_call(cli_ctx *ctx, const char *method, const char *path,
                 json_t *body, const char *what, json_t **json)
{
    if (json) *json = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    cli_http_response resp;
    int rc = cli_http_request(&ctx->target, method, path, text, &resp);
    free(text);
    if (rc != 0) {
        cli_errorf(ctx, "cannot reach upshotd at %s (%s); set the server with --url, "
                   "UPSHOT_URL or url = in %s", ctx->settings.url, resp.error,
                   ctx->settings.config_path);
        cli_http_response_free(&resp);
        return CLI_EXIT_UNREACHABLE;
    }
    json_error_t jerr;
    json_t *doc = resp.body_len ? json_loads(resp.body, 0, &jerr) : NULL;
    int code = cli_api_exit_for_status(resp.status);
    if (code == CLI_EXIT_OK) {
        if (resp.body_len && doc == NULL) {
            cli_errorf(ctx, "upshotd answered %d with a body that is not JSON (%s)",
                       resp.status, jerr.text);
            cli_http_response_free(&resp);
            return CLI_EXIT_FAILURE;
        }
        if (json) *json = doc;
        else json_decref(doc);
        cli_http_response_free(&resp);
        return CLI_EXIT_OK;
    }
    const char *smsg = json_string_value(json_object_get(doc, "message"));
    const char *scode = json_string_value(json_object_get(doc, "error"));
    char detail[600];
    if (smsg) snprintf(detail, sizeof detail, ": %s", smsg);
    else detail[0] = '\0';
    switch (resp.status) {
    case 401:
        if (ctx->settings.token[0] == '\0')
            cli_errorf(ctx, "no admin token configured (401); pass --token, set "
                       "UPSHOT_TOKEN, or put token = in %s", ctx->settings.config_path);
        else
            cli_errorf(ctx, "the admin token (from %s) was refused by %s (401); check it "
                       "against upshotd's admin_token", ctx->settings.token_from,
                       ctx->settings.url);
        break;
    case 403:
        cli_errorf(ctx, "forbidden by %s (403)%s", ctx->settings.url, detail);
        break;
    case 404:
        if (what)
            cli_errorf(ctx, "no %s on %s (404)%s", what, ctx->settings.url, detail);
        else
            cli_errorf(ctx, "not found on %s: %s %s (404)%s", ctx->settings.url, method,
                       path, detail);
        break;
    default:
        cli_errorf(ctx, "upshotd refused %s %s with %d%s%s%s", method, path, resp.status,
                   scode ? " " : "", scode ? scode : "", detail);
        break;
    }
    json_decref(doc);
    cli_http_response_free(&resp);
    return code;
}

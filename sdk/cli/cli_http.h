/* cli_http.h: one blocking HTTP/1.1 request to upshotd, on libcurl.
 *
 * The dashboard makes a handful of requests per command, so each request
 * gets its own easy handle, runs to completion and is torn down: no state
 * survives between calls. http:// and https:// are spoken; https verifies
 * the server's certificate against the system's CAs, or only against the
 * file given as cacert, and skips verification only when insecure is set
 * (the caller warns). libcurl's own environment handling applies as
 * usual: http_proxy, https_proxy and no_proxy are honoured. Redirects are
 * not followed (upshotd sends none). Response bodies are capped at
 * CLI_HTTP_MAX_BODY bytes.
 */
#ifndef UPSHOT_CLI_HTTP_H
#define UPSHOT_CLI_HTTP_H

#include <stddef.h>

#define CLI_HTTP_MAX_BODY (64u * 1024u * 1024u)

/* Where and as whom to connect. Strings are borrowed. */
typedef struct cli_http_target {
    const char *url;      /* base URL, e.g. "http://127.0.0.1:8080" */
    const char *token;    /* admin bearer token, or NULL */
    const char *actor;    /* sent as X-Upshot-Actor, or NULL */
    const char *reason;   /* sent as X-Upshot-Reason (for DELETE, which has
                             no body to carry it), or NULL */
    double timeout_s;     /* whole-request timeout in seconds (>0) */
    const char *cacert;   /* https: PEM file of the CAs to trust instead of
                             the system's, or NULL */
    int insecure;         /* https: do not verify the certificate at all */
} cli_http_target;

/* What came back. status is 0 when no HTTP answer arrived; then error
 * says why ("connection refused", "timed out", ...). */
typedef struct cli_http_response {
    int status;           /* HTTP status, 0 = no answer */
    char *body;           /* NUL-terminated body (owned), never NULL on 0 */
    size_t body_len;      /* bytes in body, without the NUL */
    char error[256];      /* transport error when status == 0 */
} cli_http_response;

/* Sends method ("GET", "POST", "PUT", "DELETE") to base URL + path (path
 * starts with "/", query included). body may be NULL; when set it goes out
 * as application/json. Returns 0 when an HTTP answer (any status) arrived,
 * -1 otherwise (resp->error explains). resp must be released with
 * cli_http_response_free in both cases. */
int cli_http_request(const cli_http_target *t, const char *method,
                     const char *path, const char *body,
                     cli_http_response *resp);

/* Frees what cli_http_request allocated; safe on a zeroed struct. */
void cli_http_response_free(cli_http_response *resp);

/* Percent-encodes s for use inside a URL path segment or query value into
 * out (capacity cap). Returns 0, or -1 if it does not fit. */
int cli_http_escape(const char *s, char *out, size_t cap);

#endif

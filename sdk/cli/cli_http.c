/* cli_http.c: blocking request/response over libevent's evhttp client.
 *
 * A request is: parse the base URL, create an event_base and an
 * evhttp_connection, queue one request whose completion callback copies
 * the status and body, dispatch until the callback breaks the loop, free
 * in reverse order. Transport failures arrive through the error callback
 * (libevent 2.1) and are turned into a sentence for the user.
 */
#include "cli_http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* State shared with the callbacks of one request. */
struct http_call {
    struct event_base *base;   /* loop to break when done */
    cli_http_response *resp;   /* where the answer goes */
    int done;                  /* completion callback ran */
    int failed;                /* error callback ran */
};

static const char *http_error_text(enum evhttp_request_error e)
{
    switch (e) {
    case EVREQ_HTTP_TIMEOUT: return "timed out";
    case EVREQ_HTTP_EOF: return "connection refused or closed before an answer";
    case EVREQ_HTTP_INVALID_HEADER: return "invalid HTTP answer";
    case EVREQ_HTTP_BUFFER_ERROR: return "I/O error";
    case EVREQ_HTTP_REQUEST_CANCEL: return "request cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG: return "answer too large";
    }
    return "unknown transport error";
}

static void http_on_error(enum evhttp_request_error e, void *arg)
{
    struct http_call *c = arg;
    c->failed = 1;
    snprintf(c->resp->error, sizeof c->resp->error, "%s", http_error_text(e));
}

/* Completion callback: req is NULL or has code 0 when nothing came back. */
static void http_on_done(struct evhttp_request *req, void *arg)
{
    struct http_call *c = arg;
    c->done = 1;
    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        if (c->resp->error[0] == '\0')
            snprintf(c->resp->error, sizeof c->resp->error, "no answer");
        event_base_loopbreak(c->base);
        return;
    }
    c->resp->status = evhttp_request_get_response_code(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > CLI_HTTP_MAX_BODY) n = CLI_HTTP_MAX_BODY;
    char *b = malloc(n + 1);
    if (b != NULL) {
        evbuffer_remove(in, b, n);
        b[n] = '\0';
        free(c->resp->body);
        c->resp->body = b;
        c->resp->body_len = n;
    }
    event_base_loopbreak(c->base);
}

void cli_http_response_free(cli_http_response *resp)
{
    if (resp == NULL) return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

int cli_http_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
                    *p == '.' || *p == '~';
        size_t need = plain ? 1 : 3;
        if (o + need >= cap) return -1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (o >= cap) return -1;
    out[o] = '\0';
    return 0;
}

static enum evhttp_cmd_type http_method(const char *m)
{
    if (strcmp(m, "POST") == 0) return EVHTTP_REQ_POST;
    if (strcmp(m, "PUT") == 0) return EVHTTP_REQ_PUT;
    if (strcmp(m, "DELETE") == 0) return EVHTTP_REQ_DELETE;
    return EVHTTP_REQ_GET;
}

int cli_http_request(const cli_http_target *t, const char *method,
                     const char *path, const char *body,
                     cli_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->body = calloc(1, 1);
    if (resp->body == NULL) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        return -1;
    }
    if (strncmp(t->url, "https://", 8) == 0) {
        snprintf(resp->error, sizeof resp->error,
                 "https:// is not supported; reach upshotd over http:// "
                 "(loopback, an SSH tunnel, or a TLS-terminating proxy)");
        return -1;
    }
    struct evhttp_uri *uri = evhttp_uri_parse(t->url);
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
    if (uri == NULL || host == NULL || host[0] == '\0' ||
        (scheme != NULL && strcmp(scheme, "http") != 0)) {
        snprintf(resp->error, sizeof resp->error,
                 "invalid server URL \"%s\" (expected http://HOST:PORT)", t->url);
        if (uri) evhttp_uri_free(uri);
        return -1;
    }
    int port = evhttp_uri_get_port(uri);
    if (port < 0) port = 80;

    /* The base URL may carry a path prefix (a proxy mount point). */
    const char *prefix = evhttp_uri_get_path(uri);
    if (prefix == NULL) prefix = "";
    size_t plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/') plen--;
    size_t full_cap = plen + strlen(path) + 1;
    char *full = malloc(full_cap);
    struct event_base *base = event_base_new();
    struct evhttp_connection *conn =
        base ? evhttp_connection_base_new(base, NULL, host, (uint16_t)port) : NULL;
    struct http_call call = {base, resp, 0, 0};
    struct evhttp_request *req = NULL;
    int rc = -1;

    if (full == NULL || base == NULL || conn == NULL) {
        snprintf(resp->error, sizeof resp->error, "cannot set up a connection to %s:%d",
                 host, port);
        goto done;
    }
    memcpy(full, prefix, plen);
    strcpy(full + plen, path);

    struct timeval tv;
    tv.tv_sec = (time_t)t->timeout_s;
    tv.tv_usec = (suseconds_t)((t->timeout_s - (double)tv.tv_sec) * 1e6);
    evhttp_connection_set_timeout_tv(conn, &tv);
    evhttp_connection_set_retries(conn, 0);

    req = evhttp_request_new(http_on_done, &call);
    if (req == NULL) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        goto done;
    }
    evhttp_request_set_error_cb(req, http_on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%d", host, port);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "Accept", "application/json");
    evhttp_add_header(h, "User-Agent", "upshot-cli/0.1");
    evhttp_add_header(h, "Connection", "close");
    if (t->token != NULL && t->token[0] != '\0') {
        size_t n = strlen(t->token) + 8;
        char *auth = malloc(n);
        if (auth == NULL) {
            evhttp_request_free(req);
            snprintf(resp->error, sizeof resp->error, "out of memory");
            goto done;
        }
        snprintf(auth, n, "Bearer %s", t->token);
        evhttp_add_header(h, "Authorization", auth);
        free(auth);
    }
    if (t->actor != NULL && t->actor[0] != '\0')
        evhttp_add_header(h, "X-Upshot-Actor", t->actor);
    if (t->reason != NULL && t->reason[0] != '\0')
        evhttp_add_header(h, "X-Upshot-Reason", t->reason); /* refused if it holds CR/LF */
    if (body != NULL) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    }
    /* evhttp_make_request owns req from here on, even when it fails. */
    if (evhttp_make_request(conn, req, http_method(method), full) != 0) {
        snprintf(resp->error, sizeof resp->error, "cannot send the request to %s:%d",
                 host, port);
        goto done;
    }
    event_base_dispatch(base);
    if (resp->status > 0) {
        rc = 0;
    } else if (resp->error[0] == '\0') {
        snprintf(resp->error, sizeof resp->error, "no answer");
    }

done:
    if (conn) evhttp_connection_free(conn);
    if (base) event_base_free(base);
    free(full);
    evhttp_uri_free(uri);
    return rc;
}

/* baseline_server.c: the ceiling that upshotd's assign throughput is
 * measured against.
 *
 * A bare libevent evhttp server, single-threaded like upshotd, that answers
 * every request with the same fixed JSON body. It parses nothing, hashes
 * nothing and talks to no Redis, so its requests/s is what one evhttp event
 * loop can do on this machine; bench/run divides upshotd's requests/s by it.
 *
 * The body has the size of upshotd's real assign response: either the exact
 * bytes of a saved response (--body-file, which bench/run fills from a live
 * upshotd) or a JSON object padded to --body-bytes.
 *
 * Deliberately left out: routing, TLS, logging, any per-request allocation
 * beyond what evhttp itself does.
 *
 * --changelist turns on libevent's epoll changelist, which upshotd uses
 * (engine/main.c). The bare server, the ceiling, runs without it;
 * bench/run also measures this variant so that the report can say how much
 * of upshotd's figure the event-loop setting alone buys. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

/* Bodies larger than this are refused at start-up (an assign response is a
 * few hundred bytes). */
#define BASELINE_MAX_BODY (1u << 20)

struct baseline {
    char *body;  /* the fixed response body, owned */
    size_t len;  /* its length in bytes */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: baseline_server [--host H] --port N "
                 "[--body-file F | --body-bytes N] [--changelist]\n");
}

/* Reads the whole file at path into *out (malloc'd, caller frees). 0/-1. */
static int read_body_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "baseline_server: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(BASELINE_MAX_BODY);
    size_t n = buf ? fread(buf, 1, BASELINE_MAX_BODY, f) : 0;
    int too_big = buf && n == BASELINE_MAX_BODY && fgetc(f) != EOF;
    fclose(f);
    if (!buf || n == 0 || too_big) {
        fprintf(stderr, "baseline_server: %s: empty or over %u bytes\n", path,
                BASELINE_MAX_BODY);
        free(buf);
        return -1;
    }
    /* Strip one trailing newline so a file written by `echo` has the size of
     * the response it was copied from. */
    if (buf[n - 1] == '\n')
        n--;
    *out = buf;
    *len = n;
    return 0;
}

/* Builds a JSON object shaped like an assign response, padded with spaces
 * inside the reason string to exactly n bytes. */
static int make_padded_body(size_t n, char **out, size_t *len)
{
    static const char head[] = "{\"experiment\":\"bench-exp\",\"variant\":\"control\","
                               "\"payload\":{},\"in_experiment\":true,\"reason\":\"";
    static const char tail[] = "\"}";
    size_t fixed = sizeof head - 1 + sizeof tail - 1;
    if (n < fixed || n > BASELINE_MAX_BODY) {
        fprintf(stderr, "baseline_server: --body-bytes must be in [%zu, %u]\n", fixed,
                BASELINE_MAX_BODY);
        return -1;
    }
    char *buf = malloc(n);
    if (!buf)
        return -1;
    memcpy(buf, head, sizeof head - 1);
    memset(buf + sizeof head - 1, 'x', n - fixed);
    memcpy(buf + n - (sizeof tail - 1), tail, sizeof tail - 1);
    *out = buf;
    *len = n;
    return 0;
}

/* Every request: the fixed body with a JSON content type. Ends in exactly one
 * evhttp_send_reply. The body is added by reference, so nothing is copied. */
static void on_request(struct evhttp_request *req, void *arg)
{
    struct baseline *b = arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evbuffer_add_reference(out, b->body, b->len, NULL, NULL);
    evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *body_file = NULL;
    long port = -1, body_bytes = 0;
    int changelist = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--changelist")) {
            changelist = 1;
            continue;
        } else if (v && !strcmp(a, "--host")) {
            host = v;
        } else if (v && !strcmp(a, "--port")) {
            port = strtol(v, NULL, 10);
        } else if (v && !strcmp(a, "--body-file")) {
            body_file = v;
        } else if (v && !strcmp(a, "--body-bytes")) {
            body_bytes = strtol(v, NULL, 10);
        } else {
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (port <= 0 || port > 65535 || (!body_file && body_bytes <= 0)) {
        usage(stderr);
        return 2;
    }

    struct baseline b = {0};
    if (body_file ? read_body_file(body_file, &b.body, &b.len)
                  : make_padded_body((size_t)body_bytes, &b.body, &b.len))
        return 1;

    int rc = 1;
    struct event_config *ecfg = event_config_new();
    if (ecfg && changelist)
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    if (ecfg)
        event_config_free(ecfg);
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    if (!http)
        goto out;
    evhttp_set_gencb(http, on_request, &b);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_max_headers_size(http, 8192);
    evhttp_set_max_body_size(http, 1 << 20);
    evhttp_set_timeout(http, 30);
    if (evhttp_bind_socket(http, host, (ev_uint16_t)port) != 0) {
        fprintf(stderr, "baseline_server: cannot bind %s:%ld\n", host, port);
        goto out;
    }
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    if (!sigint || !sigterm || event_add(sigint, NULL) || event_add(sigterm, NULL))
        goto out;
    fprintf(stderr, "baseline_server: listening on %s:%ld, body %zu bytes%s\n", host, port,
            b.len, changelist ? ", epoll changelist" : "");
    event_base_dispatch(base);
    rc = 0;
out:
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (http)
        evhttp_free(http);
    if (base)
        event_base_free(base);
    free(b.body);
    return rc;
}

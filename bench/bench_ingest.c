/* bench_ingest.c: the load generator of the event-ingestion benchmark.
 *
 * Posts batches of events to upshotd's POST /v1/events over a few keep-alive
 * connections, as fast as upshotd acknowledges them, and prints one JSON
 * object with what was sent and what came back. bench/run times how long the
 * events take to be visible in Redis; this program only drives the load.
 *
 * Phases (--phase):
 *   expose   one exposure per visitor v1..vN (a conversion only counts for a
 *            visitor exposed before, so this runs first; the memory benchmark
 *            also uses it to put a million visitors in Redis)
 *   convert  one conversion per visitor with an order value (deterministic,
 *            10.00 to 209.99), every event with its own id; a share of the
 *            batches (--dup-share) is posted a second time, unchanged, the way
 *            a browser retries, so deduplication by event id is exercised
 *   mix      what a shop sends: one exposure per visitor, and right after it
 *            (same batch) a conversion with an order value for every 20th
 *            visitor (5%) and a decline for every 50th (2%); retries as above
 *
 * All bodies are built before the clock starts, so the driver spends its
 * time on the wire, not in snprintf. Event ids carry --tag, so several runs
 * against one Redis never collide.
 *
 * Bounds: at most --seconds (default 60) of sending, then the loop exits
 * whatever is outstanding; each request has a 10 s timeout. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#define INGEST_MAX_CONNS 64
#define INGEST_MAX_BATCH 10000
#define INGEST_MAX_KEYS 16 /* distinct integer fields summed from responses */

static const char *const REGIONS[] = {"gr", "pl", "mena", "ee", "se"};

struct opts {
    const char *host;       /* upshotd address */
    int port;
    const char *key;        /* SDK key, or NULL */
    const char *experiment; /* experiment key */
    const char *phase;      /* "expose" or "convert" */
    const char *tag;        /* made part of every event id */
    const char *prefix;     /* visitor ids are PREFIX1..PREFIXN */
    long visitors;          /* visitors v1..vN */
    long first;             /* first visitor number */
    int batch;              /* events per request */
    int conns;              /* concurrent connections */
    double dup_share;       /* share of batches posted twice */
    double seconds;         /* hard bound on the sending time */
};

struct body {
    char *data;  /* JSON request body, owned */
    size_t len;
    int events;  /* events in it */
    int retry;   /* 1 when this is a resend of an earlier body */
};

struct tally {
    char name[32];
    long long sum;
};

struct run {
    struct opts o;
    struct event_base *base;
    struct evhttp_connection *conn[INGEST_MAX_CONNS];
    struct body *bodies;
    size_t n_bodies, next;   /* bodies to send; index of the next one */
    size_t in_flight;
    long long sent_events, acked_events, retried_events;
    long long ok, non2xx, failed;
    struct tally tally[INGEST_MAX_KEYS];
    int n_tally;
    char first_error[256];
    double t_start, t_last_ack;
};

static double now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_ingest --port N --phase expose|convert|mix [--host H] [--key K]\n"
            "       [--experiment E] [--visitors N] [--first N] [--batch B]\n"
            "       [--connections C] [--dup-share F] [--tag T] [--visitor-prefix P]\n"
            "       [--seconds S]\n");
}

/* Appends to a growing buffer; aborts on out-of-memory (a benchmark tool). */
static void buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        *cap *= 2;
        *buf = realloc(*buf, *cap);
        if (!*buf) {
            fprintf(stderr, "bench_ingest: out of memory\n");
            exit(1);
        }
    }
}

/* Builds every request body of the phase, retries included (a retry is a
 * copy of the batch before it, so it reaches upshotd after the original). */
static int build_bodies(struct run *r)
{
    const struct opts *o = &r->o;
    int convert = !strcmp(o->phase, "convert"), mix = !strcmp(o->phase, "mix");
    /* A mix batch holds about 7% fewer visitors (their conversions and
     * declines share it): room for 20% more batches, ended by the visitors. */
    size_t n_batches = (size_t)((o->visitors + o->batch - 1) / o->batch);
    if (mix)
        n_batches = n_batches + n_batches / 5 + 2;
    r->bodies = calloc(n_batches * 2, sizeof *r->bodies);
    if (!r->bodies)
        return -1;
    /* Deterministic choice of retried batches: every k-th, k = 1/share. */
    long every = o->dup_share > 0 ? (long)(1.0 / o->dup_share + 0.5) : 0;
    long v = o->first;
    long last = o->first + o->visitors - 1;
    for (size_t b = 0; b < n_batches && v <= last; b++) {
        size_t cap = (size_t)o->batch * 160 + 64, len = 0;
        char *buf = malloc(cap);
        if (!buf)
            return -1;
        int events = 0, extra = 0; /* visitors; mix's conversions and declines */
        buf_printf(&buf, &len, &cap, "{\"events\":[");
        /* a mix visitor brings up to two more events: keep the batch within --batch */
        for (; events + extra + (mix ? 2 : 0) < o->batch && v <= last; events++, v++) {
            const char *region = REGIONS[v % 5];
            if (mix) {
                /* events counts visitors here; a batch holds up to 7% more events */
                buf_printf(&buf, &len, &cap,
                           "%s{\"id\":\"x-%s-%ld\",\"type\":\"exposure\",\"experiment\":"
                           "\"%s\",\"visitor\":\"%s%ld\",\"region\":\"%s\"}",
                           events ? "," : "", o->tag, v, o->experiment, o->prefix, v, region);
                if (v % 20 == 0) {
                    double value = 10.0 + (double)((v * 2654435761u) % 20000u) / 100.0;
                    buf_printf(&buf, &len, &cap,
                               ",{\"id\":\"c-%s-%ld\",\"type\":\"conversion\",\"experiment\":"
                               "\"%s\",\"visitor\":\"%s%ld\",\"region\":\"%s\",\"value\":%.2f}",
                               o->tag, v, o->experiment, o->prefix, v, region, value);
                    extra++;
                }
                if (v % 50 == 7) {
                    buf_printf(&buf, &len, &cap,
                               ",{\"id\":\"d-%s-%ld\",\"type\":\"decline\",\"experiment\":"
                               "\"%s\",\"visitor\":\"%s%ld\",\"region\":\"%s\"}",
                               o->tag, v, o->experiment, o->prefix, v, region);
                    extra++;
                }
            } else if (convert) {
                /* Order value: 10.00 .. 209.99, spread by the visitor number. */
                double value = 10.0 + (double)((v * 2654435761u) % 20000u) / 100.0;
                buf_printf(&buf, &len, &cap,
                           "%s{\"id\":\"c-%s-%ld\",\"type\":\"conversion\",\"experiment\":"
                           "\"%s\",\"visitor\":\"%s%ld\",\"region\":\"%s\",\"value\":%.2f}",
                           events ? "," : "", o->tag, v, o->experiment, o->prefix, v, region,
                           value);
            } else {
                buf_printf(&buf, &len, &cap,
                           "%s{\"id\":\"x-%s-%ld\",\"type\":\"exposure\",\"experiment\":"
                           "\"%s\",\"visitor\":\"%s%ld\",\"region\":\"%s\"}",
                           events ? "," : "", o->tag, v, o->experiment, o->prefix, v, region);
            }
        }
        buf_printf(&buf, &len, &cap, "]}");
        events += extra;
        r->bodies[r->n_bodies++] = (struct body){buf, len, events, 0};
        if (every && (long)(b % (size_t)every) == every - 1) {
            char *copy = malloc(len);
            if (!copy)
                return -1;
            memcpy(copy, buf, len);
            r->bodies[r->n_bodies++] = (struct body){copy, len, events, 1};
        }
    }
    return 0;
}

/* Sums every integer field of a JSON object (nested one level, e.g.
 * {"counts":{"accepted":..}}) into the run's tally, by field name. */
static void tally_json(struct run *r, json_t *obj, int depth)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (json_is_object(v) && depth == 0) {
            tally_json(r, v, 1);
            continue;
        }
        if (!json_is_integer(v))
            continue;
        int i;
        for (i = 0; i < r->n_tally; i++)
            if (!strcmp(r->tally[i].name, k))
                break;
        if (i == r->n_tally) {
            if (r->n_tally == INGEST_MAX_KEYS)
                continue;
            snprintf(r->tally[i].name, sizeof r->tally[i].name, "%s", k);
            r->n_tally++;
        }
        r->tally[i].sum += json_integer_value(v);
    }
}

static void send_next(struct run *r, int c);

struct req_ctx {
    struct run *r;
    int conn;
    size_t body;
};

/* Completion of one POST: tallies the reply, then sends the next batch on the
 * same connection. req is NULL when the connection failed or timed out. */
static void on_done(struct evhttp_request *req, void *arg)
{
    struct req_ctx *ctx = arg;
    struct run *r = ctx->r;
    const struct body *b = &r->bodies[ctx->body];
    r->in_flight--;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    if (status >= 200 && status < 300) {
        r->ok++;
        r->acked_events += b->events;
        r->t_last_ack = now_unix();
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        json_t *j = json_loadb((const char *)evbuffer_pullup(in, -1), n, 0, NULL);
        if (json_is_object(j))
            tally_json(r, j, 0);
        json_decref(j);
    } else {
        if (status)
            r->non2xx++;
        else
            r->failed++;
        if (!r->first_error[0]) {
            char snippet[160] = "";
            if (req) {
                struct evbuffer *in = evhttp_request_get_input_buffer(req);
                size_t n = evbuffer_copyout(in, snippet, sizeof snippet - 1);
                snippet[n] = '\0';
            }
            snprintf(r->first_error, sizeof r->first_error, "status %d: %s", status,
                     snippet);
        }
    }
    int c = ctx->conn;
    free(ctx);
    send_next(r, c);
}

static void send_next(struct run *r, int c)
{
    if (r->next >= r->n_bodies) {
        if (r->in_flight == 0)
            event_base_loopexit(r->base, NULL);
        return;
    }
    size_t i = r->next++;
    struct req_ctx *ctx = malloc(sizeof *ctx);
    if (!ctx)
        exit(1);
    *ctx = (struct req_ctx){r, c, i};
    struct evhttp_request *req = evhttp_request_new(on_done, ctx);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%d", r->o.host, r->o.port);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "Content-Type", "application/json");
    if (r->o.key)
        evhttp_add_header(h, "X-Upshot-Key", r->o.key);
    evbuffer_add_reference(evhttp_request_get_output_buffer(req), r->bodies[i].data,
                           r->bodies[i].len, NULL, NULL);
    r->sent_events += r->bodies[i].events;
    if (r->bodies[i].retry)
        r->retried_events += r->bodies[i].events;
    r->in_flight++;
    if (evhttp_make_request(r->conn[c], req, EVHTTP_REQ_POST, "/v1/events") != 0) {
        /* evhttp frees the request on failure; count it and stop this lane. */
        r->in_flight--;
        r->failed++;
        free(ctx);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct run *r = arg;
    fprintf(stderr, "bench_ingest: time bound reached with %zu batches unsent\n",
            r->n_bodies - r->next);
    event_base_loopbreak(r->base);
}

int main(int argc, char **argv)
{
    struct run r = {0};
    struct opts *o = &r.o;
    *o = (struct opts){.host = "127.0.0.1", .experiment = "bench-exp", .phase = NULL,
                       .tag = "run", .prefix = "v", .visitors = 100000, .first = 1, .batch = 1000,
                       .conns = 4, .dup_share = 0.05, .seconds = 60};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (!strcmp(a, "--host")) o->host = v;
        else if (!strcmp(a, "--port")) o->port = atoi(v);
        else if (!strcmp(a, "--key")) o->key = *v ? v : NULL;
        else if (!strcmp(a, "--experiment")) o->experiment = v;
        else if (!strcmp(a, "--phase")) o->phase = v;
        else if (!strcmp(a, "--tag")) o->tag = v;
        else if (!strcmp(a, "--visitor-prefix")) o->prefix = v;
        else if (!strcmp(a, "--visitors")) o->visitors = atol(v);
        else if (!strcmp(a, "--first")) o->first = atol(v);
        else if (!strcmp(a, "--batch")) o->batch = atoi(v);
        else if (!strcmp(a, "--connections")) o->conns = atoi(v);
        else if (!strcmp(a, "--dup-share")) o->dup_share = atof(v);
        else if (!strcmp(a, "--seconds")) o->seconds = atof(v);
        else {
            usage();
            return 2;
        }
    }
    if (!o->phase ||
        (strcmp(o->phase, "expose") && strcmp(o->phase, "convert") && strcmp(o->phase, "mix")) ||
        o->port <= 0 || o->visitors < 1 || o->visitors > 100000000 || o->batch < 1 ||
        o->batch > INGEST_MAX_BATCH || o->conns < 1 || o->conns > INGEST_MAX_CONNS ||
        o->dup_share < 0 || o->dup_share > 0.5 || o->seconds <= 0 || o->seconds > 600) {
        usage();
        return 2;
    }
    if (build_bodies(&r)) {
        fprintf(stderr, "bench_ingest: out of memory building bodies\n");
        return 1;
    }

    r.base = event_base_new();
    for (int c = 0; c < o->conns; c++) {
        r.conn[c] = evhttp_connection_base_new(r.base, NULL, o->host, (ev_uint16_t)o->port);
        if (!r.conn[c])
            return 1;
        evhttp_connection_set_timeout(r.conn[c], 10);
    }
    struct timeval bound = {(time_t)o->seconds,
                            (suseconds_t)((o->seconds - (double)(time_t)o->seconds) * 1e6)};
    struct event *deadline = evtimer_new(r.base, on_deadline, &r);
    evtimer_add(deadline, &bound);

    r.t_start = now_unix();
    for (int c = 0; c < o->conns; c++)
        send_next(&r, c);
    event_base_dispatch(r.base);
    double t_end = now_unix();

    double span = (r.t_last_ack > r.t_start ? r.t_last_ack : t_end) - r.t_start;
    printf("{\"phase\":\"%s\",\"visitors\":%ld,\"batch\":%d,\"connections\":%d,"
           "\"batches\":%zu,\"batches_sent\":%zu,\"events_sent\":%lld,"
           "\"events_retried\":%lld,\"events_acked\":%lld,\"requests_ok\":%lld,"
           "\"requests_non2xx\":%lld,\"requests_failed\":%lld,\"t_start\":%.6f,"
           "\"t_last_ack\":%.6f,\"seconds_to_last_ack\":%.6f,\"acked_events_per_s\":%.1f,"
           "\"complete\":%s,\"response_totals\":{",
           o->phase, o->visitors, o->batch, o->conns, r.n_bodies, r.next, r.sent_events,
           r.retried_events, r.acked_events, r.ok, r.non2xx, r.failed, r.t_start,
           r.t_last_ack, span, span > 0 ? (double)r.acked_events / span : 0.0,
           (r.next == r.n_bodies && r.in_flight == 0 && !r.non2xx && !r.failed) ? "true"
                                                                                : "false");
    for (int i = 0; i < r.n_tally; i++)
        printf("%s\"%s\":%lld", i ? "," : "", r.tally[i].name, r.tally[i].sum);
    printf("}");
    if (r.first_error[0]) {
        json_t *s = json_string(r.first_error);
        char *enc = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        printf(",\"first_error\":%s", enc ? enc : "\"?\"");
        free(enc);
        json_decref(s);
    }
    printf("}\n");

    event_free(deadline);
    for (int c = 0; c < o->conns; c++)
        evhttp_connection_free(r.conn[c]);
    event_base_free(r.base);
    for (size_t i = 0; i < r.n_bodies; i++)
        free(r.bodies[i].data);
    free(r.bodies);
    return r.next == r.n_bodies && !r.failed ? 0 : 1;
}

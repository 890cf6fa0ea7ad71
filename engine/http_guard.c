/* http_guard.c: the connection guard in front of evhttp (see http_guard.h).
 *
 * Life of a connection:
 *
 *   accept ── evhttp calls on_new_bev ── we create the socket bufferevent,
 *             a guard_conn, and hook the input buffer (on_input)
 *   next loop turn ── on_attach: evhttp has taken the bufferevent; we learn
 *             its evhttp_connection and ask to be told when it closes
 *   bytes ── on_input classifies every byte once, in order, before
 *             evhttp's read callback sees it: HEAD bytes (checked), then
 *             BODY bytes (counted against Content-Length), then the next
 *             HEAD (keep-alive and pipelining frame the same way for both)
 *   refusal ── the reply goes straight to the socket, the write side is
 *             shut, further input is discarded, and after LINGER_MS the
 *             read side is shut too; evhttp then reads the end of the
 *             stream (or a reset) and frees the connection itself
 *   close ── on_close (evhttp's close callback) frees the guard_conn
 *
 * The guard never frees an evhttp_connection: a handler may hold a request
 * of it (a pipelined request waiting on Redis), and only evhttp knows.
 *
 * Connections sit on one list in order of their last activity, oldest
 * first, so the longest-idle keep-alive connection is found from the front
 * when the cap is reached. */
#include "http_guard.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http_head.h"
#include "log_limit.h"

/* How long a refused client has to read its answer before the socket is
 * shut down under it. */
#define LINGER_MS 1000
/* How long accepting pauses after accept failed for lack of descriptors. */
#define ACCEPT_PAUSE_MS 200
/* Longest request line; a head is also bounded by max_head. */
#define MAX_REQUEST_LINE 8192
/* Head bytes copied for the check per step: one step for a typical head. */
#define HEAD_STEP 1024
/* At the cap, how many of the least recently active connections are looked
 * at for an idle one (a bound on the work per accept). */
#define SHED_SCAN 64

typedef enum { PHASE_HEAD, PHASE_BODY, PHASE_CLOSING } conn_phase;

typedef struct guard_conn {
    http_guard *g;
    struct bufferevent *bev;            /* ours; evhttp owns it once attached */
    struct evhttp_connection *evcon;    /* NULL until on_attach */
    struct event *timer;                /* attach, then head deadline, then linger */
    struct guard_conn *prev, *next;     /* g's list, least recently active first */
    conn_phase phase;
    size_t pos;       /* bytes at the front of the input buffer already classified */
    long body_left;   /* PHASE_BODY: body bytes still to come */
    char *head;       /* PHASE_HEAD: the head so far (copied) */
    size_t head_len, head_cap, scan;
    bool awaiting;    /* a request was handed on and no reply byte seen since */
    struct evbuffer_cb_entry *out_cb; /* on_output, enabled only while awaiting */
    bool deadline_set;
    bool over_cap;    /* accepted beyond the cap with nothing idle to close */
} guard_conn;

struct http_guard {
    struct event_base *base;
    struct evhttp *http;
    http_guard_limits lim;
    guard_conn *first, *last; /* least recently active first */
    size_t nconns;
    unsigned long refused;
    struct evconnlistener *listener;
    struct event *resume; /* re-enables accepting after a failure */
    http_guard_bev_fn *make_bev; /* NULL: plain socket bufferevents */
    void *make_arg;
};

static log_limit refusal_log, cap_log, accept_log;

/* The guard whose listener's accept errors are handled: libevent hands the
 * error callback evhttp's argument, not ours, and a process runs one. */
static http_guard *listener_guard;

/* ---- the activity list ---------------------------------------------------- */

static void list_unlink(http_guard *g, guard_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        g->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        g->last = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(http_guard *g, guard_conn *c)
{
    c->prev = g->last;
    c->next = NULL;
    if (g->last)
        g->last->next = c;
    else
        g->first = c;
    g->last = c;
}

static void touch(guard_conn *c)
{
    if (c->g->last != c) {
        list_unlink(c->g, c);
        list_append(c->g, c);
    }
}

static void conn_free(guard_conn *c)
{
    list_unlink(c->g, c);
    c->g->nconns--;
    if (c->timer)
        event_free(c->timer);
    free(c->head);
    free(c);
}

/* Idle: between requests, nothing buffered either way, no request with a
 * handler. Closing it loses nothing a client was promised. (A connection
 * evhttp has not been attached to yet has had no request.) */
static bool conn_idle(guard_conn *c)
{
    return c->phase == PHASE_HEAD && c->head_len == 0 && !c->awaiting &&
           evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
           evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

/* ---- refusing ------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* Answers status with {"error": code, "message": message} straight on the
 * socket, shuts its write side, and discards the rest of what the client
 * sends until the linger ends. The message holds no quote or backslash
 * (http_head.c's messages and ours), so it is valid JSON as it is. */
static void refuse(guard_conn *c, int status, const char *code, const char *message)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    c->phase = PHASE_CLOSING;
    c->g->refused++;
    evbuffer_drain(in, evbuffer_get_length(in));
    c->pos = 0;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    /* An answer of evhttp's still queued would be interleaved with ours:
     * then the client gets that answer and the end of the stream. */
    if (fd >= 0 && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        char body[HTTP_HEAD_MSG_MAX + 96], reply[sizeof body + 256];
        int bn = snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"%s\"}", code, message);
        int n = snprintf(reply, sizeof reply,
                         "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: %d\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n%s",
                         status, reason_phrase(status), bn, body);
        /* A fresh socket's send buffer takes a few hundred bytes; if it
         * does not, the client is not reading and loses the answer. Over
         * TLS the reply must go through the bufferevent to be encrypted;
         * the socket is then shut only when the linger ends, as a TLS
         * stream cannot be half-closed under OpenSSL's feet. */
        if (c->g->make_bev) {
            /* evhttp keeps writing disabled while it reads a request, and
             * its write callback would take our reply's end for the end of
             * its own last reply (and finish a request it never read): it
             * is unhooked, the connection being closed after the linger. */
            bufferevent_data_cb rcb;
            bufferevent_event_cb ecb;
            void *cbarg;
            bufferevent_getcb(c->bev, &rcb, NULL, &ecb, &cbarg);
            bufferevent_setcb(c->bev, rcb, NULL, ecb, cbarg);
            bufferevent_write(c->bev, reply, n > 0 ? (size_t)n : 0);
            bufferevent_enable(c->bev, EV_WRITE);
        }
        else if (n > 0 && send(fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            (void)0;
    }
    if (fd >= 0 && !c->g->make_bev)
        shutdown(fd, SHUT_WR);
    log_limited(&refusal_log, "refused a request with %d %s: %s", status, code, message);
    struct timeval tv = {LINGER_MS / 1000, (LINGER_MS % 1000) * 1000};
    event_del(c->timer);
    event_add(c->timer, &tv);
}

/* Ends the linger: evhttp reads the end of the stream (or, if the client
 * still sends, the kernel resets the connection) and frees it. */
static void shut_read(guard_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

/* ---- reading -------------------------------------------------------------- */

static void start_deadline(guard_conn *c)
{
    int ms = c->g->lim.head_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(c->timer, &tv);
    c->deadline_set = true;
}

/* Copies up to HEAD_STEP head bytes from the input at offset off. */
static size_t copy_head_step(guard_conn *c, struct evbuffer *in, size_t off, size_t avail)
{
    size_t room = c->g->lim.max_head + 1 - c->head_len; /* one over: the limit shows */
    size_t n = avail < HEAD_STEP ? avail : HEAD_STEP;
    if (n > room)
        n = room;
    if (c->head_len + n > c->head_cap) {
        size_t cap = c->head_cap ? c->head_cap : HEAD_STEP;
        while (cap < c->head_len + n)
            cap *= 2;
        char *h = realloc(c->head, cap);
        if (!h)
            return 0;
        c->head = h;
        c->head_cap = cap;
    }
    struct evbuffer_ptr p;
    if (evbuffer_ptr_set(in, &p, off, EVBUFFER_PTR_SET) != 0)
        return 0;
    ev_ssize_t got = evbuffer_copyout_from(in, &p, c->head + c->head_len, n);
    if (got <= 0)
        return 0;
    c->head_len += (size_t)got;
    return (size_t)got;
}

/* Classifies the input bytes from c->pos on. Returns false after a refusal. */
static bool classify(guard_conn *c, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    while (c->pos < len) {
        if (c->phase == PHASE_BODY) {
            size_t n = len - c->pos;
            if ((long)n > c->body_left)
                n = (size_t)c->body_left;
            c->pos += n;
            c->body_left -= (long)n;
            if (c->body_left == 0)
                c->phase = PHASE_HEAD;
            continue;
        }
        /* PHASE_HEAD */
        if (c->head_len == 0 && !c->deadline_set)
            start_deadline(c);
        size_t before = c->head_len;
        size_t got = copy_head_step(c, in, c->pos, len - c->pos);
        if (got == 0) {
            refuse(c, 503, "out_of_memory", "the server is out of memory");
            return false;
        }
        http_head_limits hl = {MAX_REQUEST_LINE, c->g->lim.max_head, c->g->lim.max_body};
        http_head_verdict v;
        http_head_result r = http_head_check(c->head, c->head_len, &c->scan, &hl, &v);
        if (r == HTTP_HEAD_REFUSED) {
            refuse(c, v.status, v.code, v.message);
            return false;
        }
        if (r == HTTP_HEAD_INCOMPLETE) {
            c->pos += got;
            continue;
        }
        /* The head ends inside this step: the rest is body or the next head. */
        c->pos += v.head_len - before;
        c->head_len = 0;
        c->scan = 0;
        if (c->head_cap > 4 * HEAD_STEP) { /* a large head once: do not keep its buffer */
            free(c->head);
            c->head = NULL;
            c->head_cap = 0;
        }
        event_del(c->timer);
        c->deadline_set = false;
        if (!c->awaiting) {
            c->awaiting = true;
            evbuffer_cb_set_flags(bufferevent_get_output(c->bev), c->out_cb, EVBUFFER_CB_ENABLED);
        }
        c->body_left = v.content_length;
        c->phase = v.content_length ? PHASE_BODY : PHASE_HEAD;
    }
    return true;
}

static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    guard_conn *c = arg;
    if (c->phase == PHASE_CLOSING) {
        if (info->n_added)
            evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    /* evhttp consumes from the front what it parsed: all of it classified. */
    c->pos = info->n_deleted < c->pos ? c->pos - info->n_deleted : 0;
    if (info->n_added == 0)
        return;
    touch(c);
    classify(c, in);
}

/* Enabled while a request awaits its reply: evhttp writes a reply in a
 * dozen pieces, and only the first matters here. */
static void on_output(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
    guard_conn *c = arg;
    if (info->n_added) {
        c->awaiting = false; /* a reply has begun */
        evbuffer_cb_clear_flags(out, c->out_cb, EVBUFFER_CB_ENABLED);
        touch(c);
    }
}

/* ---- connections ---------------------------------------------------------- */

/* evhttp frees the connection right after: unhook from its buffers first. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    guard_conn *c = arg;
    evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input, c);
    evbuffer_remove_cb(bufferevent_get_output(c->bev), on_output, c);
    conn_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    guard_conn *c = arg;
    if (!c->evcon) { /* the first run: attach */
        struct bufferevent *bev = c->bev;
        bufferevent_data_cb rcb;
        void *evcon = NULL;
        bufferevent_getcb(bev, &rcb, NULL, NULL, &evcon);
        if (!rcb || !evcon) { /* evhttp failed to set the connection up, and freed it */
            conn_free(c);
            bufferevent_decref(bev);
            return;
        }
        c->evcon = evcon;
        evhttp_connection_set_closecb(c->evcon, on_close, c);
        bufferevent_decref(bev); /* evhttp's reference keeps it now */
        if (c->over_cap)
            refuse(c, 503, "too_many_connections", "the server is at its connection limit");
        return;
    }
    if (c->phase == PHASE_CLOSING) {
        shut_read(c);
        return;
    }
    c->deadline_set = false;
    refuse(c, 408, "request_timeout", "the request head did not arrive in time");
}

/* Closes the least recently active idle connection among the first
 * SHED_SCAN. Returns whether one was closed. */
static bool shed_idle(http_guard *g)
{
    int n = 0;
    for (guard_conn *c = g->first; c && n < SHED_SCAN; c = c->next, n++)
        if (conn_idle(c)) {
            /* evhttp reads the end of the stream and frees it. */
            c->phase = PHASE_CLOSING;
            shut_read(c);
            return true;
        }
    return false;
}

static struct bufferevent *on_new_bev(struct event_base *base, void *arg)
{
    http_guard *g = arg;
    bool over = false;
    if (g->nconns >= (size_t)g->lim.max_connections && !shed_idle(g)) {
        over = true;
        log_limited(&cap_log, "at the connection limit (%d) with no idle connection to close",
                    g->lim.max_connections);
    }
    struct bufferevent *bev = g->make_bev ? g->make_bev(base, g->make_arg)
                                          : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    guard_conn *c = bev ? calloc(1, sizeof *c) : NULL;
    if (c)
        c->timer = event_new(base, -1, 0, on_timer, c);
    if (!c || !c->timer || !evbuffer_add_cb(bufferevent_get_input(bev), on_input, c) ||
        !(c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output, c))) {
        /* Out of memory: evhttp makes its own bufferevent, unguarded. */
        if (c && c->timer)
            event_free(c->timer);
        free(c);
        if (bev)
            bufferevent_free(bev);
        return NULL;
    }
    evbuffer_cb_clear_flags(bufferevent_get_output(bev), c->out_cb, EVBUFFER_CB_ENABLED);
    c->g = g;
    c->bev = bev;
    c->over_cap = over;
    list_append(g, c);
    g->nconns++;
    /* evhttp sets the connection up when we return; attach on the next
     * loop turn. Our reference keeps bev valid if evhttp frees it first. */
    bufferevent_incref(bev);
    event_active(c->timer, EV_TIMEOUT, 1);
    return bev;
}

/* ---- the listener --------------------------------------------------------- */

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    http_guard *g = arg;
    if (g->listener)
        evconnlistener_enable(g->listener);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    http_guard *g = listener_guard;
    (void)arg; /* evhttp's */
    if (!g)
        return;
    log_limited(&accept_log, "accept failed: %s; pausing accepts for %d ms", strerror(err),
                ACCEPT_PAUSE_MS);
    shed_idle(g);
    evconnlistener_disable(l);
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    event_add(g->resume, &tv);
}

/* ---- the guard ------------------------------------------------------------ */

http_guard *http_guard_new(struct event_base *base, struct evhttp *http,
                           const http_guard_limits *lim)
{
    http_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->base = base;
    g->http = http;
    g->lim = *lim;
    if (!(g->resume = evtimer_new(base, on_resume, g))) {
        free(g);
        return NULL;
    }
    evhttp_set_bevcb(http, on_new_bev, g);
    return g;
}

void http_guard_set_bev_factory(http_guard *g, http_guard_bev_fn *make, void *arg)
{
    g->make_bev = make;
    g->make_arg = arg;
}

void http_guard_set_limits(http_guard *g, const http_guard_limits *lim)
{
    g->lim = *lim;
}

void http_guard_watch_listener(http_guard *g, struct evconnlistener *l)
{
    g->listener = l;
    listener_guard = g;
    evconnlistener_set_error_cb(l, on_accept_error);
}

size_t http_guard_connections(const http_guard *g)
{
    return g->nconns;
}

unsigned long http_guard_refused(const http_guard *g)
{
    return g->refused;
}

void http_guard_free(http_guard *g)
{
    if (!g)
        return;
    /* evhttp_free closed every connection it had; what is left here are
     * connections it never attached (their timers would run no more). */
    while (g->first) {
        guard_conn *c = g->first;
        struct bufferevent *bev = c->evcon ? NULL : c->bev;
        conn_free(c);
        if (bev)
            bufferevent_decref(bev);
    }
    if (listener_guard == g)
        listener_guard = NULL;
    event_free(g->resume);
    free(g);
}

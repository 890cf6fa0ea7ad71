/* http_guard.h: what a client may cost upshotd, enforced on the
 * connection's byte stream before evhttp parses it.
 *
 * libevent 2.1's evhttp reads a whole body (up to its own cap) before any
 * callback runs, restarts its timeout on every byte, takes the first of
 * two Content-Length headers, and has no connection cap. The guard sits
 * in evhttp's bufferevent callback (evhttp_set_bevcb): it creates the
 * socket bufferevent of every new connection and watches its input
 * buffer (an evbuffer callback, so nothing is copied but the head bytes,
 * which http_head_check reads). Per connection it
 *
 *   - checks each request head's framing (engine/core/http_head.h) and
 *     the body limit from Content-Length, before evhttp sees the head;
 *   - gives a head a total deadline from its first byte (408 when missed);
 *   - counts the connections; at the cap it closes the longest-idle
 *     keep-alive connection, or answers the new one 503 when none is idle;
 *   - answers a refusal itself (JSON, like http.c's errors, and
 *     Connection: close), discards whatever else the client sends, and
 *     lets the client read the answer for a second before the socket is
 *     shut down, after which evhttp sees the end of the stream and frees
 *     the connection through its own path (so a request already handed to
 *     a handler is never freed under it).
 *
 * It also watches the listener: when accept fails (EMFILE, ENFILE) it
 * pauses accepting for a moment and closes an idle connection, instead
 * of letting the loop spin on a listening socket that stays readable.
 * Everything runs on the event loop's thread. */
#ifndef UPSHOT_HTTP_GUARD_H
#define UPSHOT_HTTP_GUARD_H

#include <stddef.h>

struct event_base;
struct evhttp;
struct evconnlistener;

typedef struct http_guard http_guard;

typedef struct http_guard_limits {
    long max_body;       /* Content-Length allowed on routes with a body */
    size_t max_head;     /* request line and header fields, bytes */
    int head_timeout_ms; /* a head's deadline from its first byte */
    int max_connections; /* open connections at once */
} http_guard_limits;

/* Creates the guard and installs it as http's bufferevent callback.
 * Returns NULL when out of memory. */
http_guard *http_guard_new(struct event_base *base, struct evhttp *http,
                           const http_guard_limits *lim);

/* New limits (a config reload); connections already open keep the head
 * they are reading under the old ones. */
void http_guard_set_limits(http_guard *g, const http_guard_limits *lim);

/* Makes each new connection's bufferevent: the default is a plain socket
 * one; tls.h's makes an OpenSSL one (HTTPS). make returns NULL when out of
 * memory; it must leave the socket unset (evhttp sets it). The guard reads
 * the bufferevent's input as evhttp does, so on HTTPS it checks the
 * decrypted bytes, and it writes its refusals through the bufferevent. */
typedef struct bufferevent *http_guard_bev_fn(struct event_base *base, void *arg);
void http_guard_set_bev_factory(http_guard *g, http_guard_bev_fn *make, void *arg);

/* Watches accept errors on l (evhttp's listener). */
void http_guard_watch_listener(http_guard *g, struct evconnlistener *l);

/* Open connections and the refusals so far, for /metrics. */
size_t http_guard_connections(const http_guard *g);
unsigned long http_guard_refused(const http_guard *g);

/* Frees the guard. Call after evhttp_free (which closes every connection
 * the guard still tracks). NULL does nothing. */
void http_guard_free(http_guard *g);

#endif

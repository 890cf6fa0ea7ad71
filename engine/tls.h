/* tls.h: upshotd's HTTPS, on libevent's OpenSSL bufferevents.
 *
 * When the config names a certificate and key (docs/config.md, "tls"),
 * every accepted connection gets an OpenSSL bufferevent in the accepting
 * state instead of a plain socket one: http_guard.c makes it (through the
 * factory below), evhttp reads and writes it as any other, and the guard
 * sees the decrypted bytes, so every limit holds the same on HTTPS.
 *
 * The settings are fixed here rather than configurable: TLS 1.2 and
 * later, no compression (CRIME), no renegotiation, the server's cipher
 * order, OpenSSL's default cipher list otherwise.
 *
 * A reload (SIGHUP, POST /v1/admin/reload) builds a new context from the
 * files; connections already open keep the context they started with (an
 * SSL holds a reference to its SSL_CTX), new ones get the new context.
 * When the new files do not load, the running context stays and the
 * caller logs why. Everything here runs on the event loop's thread. */
#ifndef UPSHOT_TLS_H
#define UPSHOT_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;

typedef struct upshot_tls upshot_tls;

/* A context from a PEM certificate chain and its PEM private key. NULL
 * with err (capacity errlen) when a file is missing, does not parse, or
 * the key is not the certificate's. */
upshot_tls *tls_new(const char *cert_path, const char *key_path, char *err, size_t errlen);

/* Replaces the context with one built from the files. 0; or -1 with err,
 * the running context kept. */
int tls_reload(upshot_tls *t, const char *cert_path, const char *key_path, char *err,
               size_t errlen);

/* A new server-side OpenSSL bufferevent with no socket yet (evhttp sets
 * it), closing its socket and SSL when freed; NULL out of memory. The
 * signature of http_guard's bufferevent factory; arg is the upshot_tls. */
struct bufferevent *tls_bufferevent_new(struct event_base *base, void *arg);

/* The served certificate's SHA-256 fingerprint, as hex (65 bytes). */
void tls_fingerprint(const upshot_tls *t, char out[65]);

/* NULL is fine. Connections still open keep their own reference. */
void tls_free(upshot_tls *t);

#endif

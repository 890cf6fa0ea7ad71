/* tls.c: server contexts and their bufferevents (tls.h). */
#include "tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct upshot_tls {
    SSL_CTX *ctx; /* new connections' context; open ones hold their own reference */
};

/* OpenSSL's oldest queued error as text, after what (then clears them). */
static void ssl_fail(char *err, size_t errlen, const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(err, errlen, "tls: %s %s: %s", what, path, buf);
    ERR_clear_error();
}

static SSL_CTX *ctx_new(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_fail(err, errlen, "cannot create a context for", cert_path);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_RENEGOTIATION);
    /* Idle keep-alive connections give their buffers back. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
        ssl_fail(err, errlen, "cannot load the certificate", cert_path);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
        ssl_fail(err, errlen, "cannot load the key", key_path);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_fail(err, errlen, "the key does not match the certificate", key_path);
    } else {
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}

upshot_tls *tls_new(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
    upshot_tls *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "tls: out of memory");
        return NULL;
    }
    if (!(t->ctx = ctx_new(cert_path, key_path, err, errlen))) {
        free(t);
        return NULL;
    }
    return t;
}

int tls_reload(upshot_tls *t, const char *cert_path, const char *key_path, char *err,
               size_t errlen)
{
    SSL_CTX *next = ctx_new(cert_path, key_path, err, errlen);
    if (!next)
        return -1;
    SSL_CTX_free(t->ctx); /* open connections' SSLs keep it alive as long as they need it */
    t->ctx = next;
    return 0;
}

struct bufferevent *tls_bufferevent_new(struct event_base *base, void *arg)
{
    upshot_tls *t = arg;
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl)
        return NULL;
    /* With BEV_OPT_CLOSE_ON_FREE the bufferevent frees ssl with itself (and
     * libevent frees it when creating the bufferevent fails). */
    struct bufferevent *bev = bufferevent_openssl_socket_new(base, -1, ssl,
                                                             BUFFEREVENT_SSL_ACCEPTING,
                                                             BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    /* A client that closes without close_notify (most do, after their
     * reply) is an end of stream, not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void tls_fingerprint(const upshot_tls *t, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509 *cert = SSL_CTX_get0_certificate(t->ctx);
    out[0] = '\0';
    if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
        return;
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void tls_free(upshot_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

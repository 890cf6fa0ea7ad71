/* cli_http.c: blocking request/response over libcurl's easy interface.
 *
 * A request is: check the base URL's scheme, build the full URL and the
 * header list, set the options (method, body, timeouts, TLS checks), run
 * curl_easy_perform, read the status, free in reverse order. The body is
 * gathered by a write callback that stops the transfer past
 * CLI_HTTP_MAX_BODY. Transport failures are curl's own sentence (its
 * error buffer), with a hint when it is the certificate that failed.
 */
#include "cli_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The body being received. */
struct http_sink {
    char *buf;        /* NUL-terminated so far */
    size_t len, cap;
    int too_large;    /* stopped at CLI_HTTP_MAX_BODY */
};

static size_t http_on_data(char *data, size_t size, size_t n, void *arg)
{
    struct http_sink *s = arg;
    size_t add = size * n;
    if (add > CLI_HTTP_MAX_BODY - s->len) {
        s->too_large = 1;
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    if (s->len + add + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + add + 1) cap *= 2;
        char *b = realloc(s->buf, cap);
        if (b == NULL) return 0;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
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

/* Whether url is http:// or https:// followed by a host. */
static int http_url_ok(const char *url)
{
    const char *rest = strncmp(url, "http://", 7) == 0    ? url + 7
                       : strncmp(url, "https://", 8) == 0 ? url + 8
                                                          : NULL;
    return rest != NULL && *rest != '\0' && *rest != '/' && *rest != ':';
}

/* Appends "name: value" to *list; an empty value removes a header curl
 * would add itself; a value with a line break is not sent (it would end
 * the header). 0, or -1 out of memory. */
static int http_header(struct curl_slist **list, const char *name, const char *value)
{
    if (strpbrk(value, "\r\n") != NULL) return 0;
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (line == NULL) return -1;
    snprintf(line, n, value[0] ? "%s: %s" : "%s:%s", name, value);
    struct curl_slist *next = curl_slist_append(*list, line);
    free(line);
    if (next == NULL) return -1;
    *list = next;
    return 0;
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
    if (!http_url_ok(t->url)) {
        snprintf(resp->error, sizeof resp->error,
                 "invalid server URL \"%s\" (expected http://HOST:PORT or https://HOST:PORT)",
                 t->url);
        return -1;
    }
    /* The base URL may carry a path prefix (a proxy mount point). */
    size_t blen = strlen(t->url);
    while (blen > 0 && t->url[blen - 1] == '/') blen--;
    size_t full_cap = blen + strlen(path) + 1;
    char *full = malloc(full_cap);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct http_sink sink = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    int rc = -1;
    if (full == NULL || h == NULL) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        goto done;
    }
    memcpy(full, t->url, blen);
    strcpy(full + blen, path);

    int bad = http_header(&hdrs, "Accept", "application/json") ||
              http_header(&hdrs, "User-Agent", "upshot-cli/0.1") ||
              /* curl would add its own for POST; a JSON body says so itself */
              http_header(&hdrs, "Content-Type", body ? "application/json" : "") ||
              http_header(&hdrs, "Expect", ""); /* no 100-continue round trip */
    if (!bad && t->token != NULL && t->token[0] != '\0') {
        size_t n = strlen(t->token) + 8;
        char *auth = malloc(n);
        bad = auth == NULL;
        if (auth) {
            snprintf(auth, n, "Bearer %s", t->token);
            bad = http_header(&hdrs, "Authorization", auth);
            memset(auth, 0, n);
            free(auth);
        }
    }
    if (!bad && t->actor != NULL && t->actor[0] != '\0')
        bad = http_header(&hdrs, "X-Upshot-Actor", t->actor);
    if (!bad && t->reason != NULL && t->reason[0] != '\0')
        bad = http_header(&hdrs, "X-Upshot-Reason", t->reason);
    if (bad) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        goto done;
    }

    long ms = (long)(t->timeout_s * 1000.0);
    if (ms < 1) ms = 1;
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (t->cacert != NULL && t->cacert[0] != '\0') {
        curl_easy_setopt(h, CURLOPT_CAINFO, t->cacert);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* only this file's CAs */
    }
    if (t->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
        if (strcmp(method, "PUT") == 0) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    } else if (strcmp(method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }

    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OK && status > 0) {
        resp->status = (int)status;
        if (sink.buf != NULL) {
            free(resp->body);
            resp->body = sink.buf;
            resp->body_len = sink.len;
            sink.buf = NULL;
        }
        rc = 0;
    } else if (sink.too_large) {
        snprintf(resp->error, sizeof resp->error, "answer too large (over %u bytes)",
                 CLI_HTTP_MAX_BODY);
    } else {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
        int cert = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE;
        snprintf(resp->error, sizeof resp->error, "%s%s", why,
                 cert ? "; if upshotd's certificate is from a private CA, pass it with "
                        "--cacert FILE or UPSHOT_CACERT" : "");
    }

done:
    free(sink.buf);
    curl_slist_free_all(hdrs);
    if (h) curl_easy_cleanup(h);
    free(full);
    return rc;
}

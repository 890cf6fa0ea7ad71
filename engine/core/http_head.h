/* http_head.h: the framing check of one HTTP/1.x request head.
 *
 * upshotd's connection guard (engine/http_guard.h) shows every request
 * head to http_head_check before evhttp parses it, and answers the ones it
 * refuses itself. The check is about framing only, the places where two
 * HTTP parsers can disagree on where a request ends (request smuggling),
 * or where a client can make the server hold memory:
 *
 *   - the request line: METHOD SP target SP HTTP/1.0|1.1, one of the seven
 *     methods evhttp is allowed to answer, at most max_line bytes (414);
 *   - every line ends in CRLF (a bare LF or CR is refused: evhttp would
 *     end a line there); no obsolete line folding;
 *   - header names are tokens followed directly by ':'; values hold no
 *     control byte but HTAB (so no NUL: "Bearer TOKEN\0junk" is refused);
 *   - Content-Length: one header, digits only (no sign, no list, no
 *     spaces inside), at most 18 of them; a second one is refused even
 *     when equal; only POST, PUT and PATCH may carry a body, at most
 *     max_body bytes (413, before any of it is read);
 *   - Transfer-Encoding is refused: with Content-Length as a smuggling
 *     attempt (400), alone with 411, since no client of upshotd streams
 *     a body and a counted length is what lets the limit apply up front;
 *   - the whole head is at most max_head bytes (431), at most
 *     HTTP_HEAD_MAX_FIELDS header lines.
 *
 * Deliberately left out: anything about routes, query strings, header
 * meanings other than the two framing headers, or the body itself.
 * evhttp still parses the head it is given; this check only guarantees
 * that what it is given frames the same way for both.
 *
 * Pure: no I/O, no allocation. */
#ifndef UPSHOT_HTTP_HEAD_H
#define UPSHOT_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEAD_MAX_FIELDS 100
#define HTTP_HEAD_MSG_MAX 160

typedef struct http_head_limits {
    size_t max_line; /* request line, CRLF excluded (414 beyond) */
    size_t max_head; /* request line, fields and the blank line (431 beyond) */
    long max_body;   /* Content-Length allowed on POST, PUT, PATCH (413 beyond) */
} http_head_limits;

typedef enum {
    HTTP_HEAD_INCOMPLETE, /* no blank line yet and no limit crossed: read more */
    HTTP_HEAD_OK,         /* head_len and content_length are set */
    HTTP_HEAD_REFUSED,    /* status, code and message are set */
} http_head_result;

typedef struct http_head_verdict {
    size_t head_len;     /* OK: bytes of the head, the final CRLF CRLF included */
    long content_length; /* OK: body bytes that follow the head (0: none) */
    int status;          /* REFUSED: 400, 411, 413, 414, 431 or 501 */
    const char *code;    /* REFUSED: the JSON error code, static storage */
    char message[HTTP_HEAD_MSG_MAX]; /* REFUSED: for the client */
} http_head_verdict;

/* Looks for the end of a head in buf[0..len), starting the search at
 * *scan (a caller's cursor, updated so that bytes are searched once when
 * a head arrives in pieces; start it at 0 for a new head). Returns the
 * length of the head (through CRLF CRLF), or 0 when it is not complete. */
size_t http_head_end(const char *buf, size_t len, size_t *scan);

/* Checks buf[0..len), the start of a request. When the head is not
 * complete yet, returns INCOMPLETE, or REFUSED when what has arrived can
 * already never make a valid head (request line or head over the limit, a
 * NUL byte). *scan is as for http_head_end. */
http_head_result http_head_check(const char *buf, size_t len, size_t *scan,
                                 const http_head_limits *lim, http_head_verdict *out);

#endif

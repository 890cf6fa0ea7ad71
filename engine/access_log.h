/* access_log.h: one line per HTTP reply, when the config asks for it.
 *
 *   2026-12-01T22:59:40.123Z 127.0.0.1 GET /v1/assign?experiment=a&key=- 200 151 0.000412
 *   └ time of the reply ─────┘ └client─┘ └method, target, secrets cut─┘ └status, body bytes,
 *                                                                         seconds to reply ┘
 *
 * Fields are separated by one space and none holds one: the target is
 * the request line's, whose bytes are printable (the request guard
 * refuses others), and a byte that is not is written as %XX anyway. The
 * values of query parameters that carry secrets (`key`, the SDK key, and
 * any parameter whose name holds "token", "secret" or "password") are
 * written as "-". Bytes are the body bytes sent (0 for HEAD).
 *
 * Off unless the config's `access_log` names a file (appended to, created
 * 0640) or "-" (stderr). Replies the request guard sends before a request
 * reaches a route (408, 411, 414, 431, 501, framing 400s) are not in it;
 * the log of upshotd has those, rate-limited. Event loop thread only. */
#ifndef UPSHOT_ACCESS_LOG_H
#define UPSHOT_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Opens path ("-": stderr; NULL or "": off), closing any open before.
 * Returns 0, or -1 with err set (the log is then off). */
int access_log_open(const char *path, char *err, size_t errlen);

/* Opens the same path again: after logrotate moved the file (SIGHUP). */
int access_log_reopen(char *err, size_t errlen);

void access_log_close(void);

/* Whether lines are written: the one test on the hot path. */
bool access_log_on(void);

/* Writes the line of one reply: peer the client's address (NULL: "-"),
 * method its name, target the request line's (secrets are cut here). No
 * libevent type crosses this header; http.c reads them off the request. */
void access_log_write(const char *peer, const char *method, const char *target, int status,
                      size_t body_bytes, double seconds);

/* Copies target into out (cap bytes) with the secret parameters' values
 * replaced by "-" and non-printable bytes as %XX; cut when too long.
 * Apart so it can be tested without a socket. */
void access_log_redact(const char *target, char *out, size_t cap);

#endif

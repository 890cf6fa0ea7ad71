/* log.h: upshotd's log, one parseable line per entry on stderr.
 *
 *   2026-12-01T22:59:40.123Z warn upshotd: journal append failed: ENOSPC
 *   └ RFC 3339, UTC, ms ┘    └level┘ └prefix┘ └ the message ───────────┘
 *
 * Every line upshotd logs goes through log_msg (or log_limited,
 * log_limit.h, for lines a client can repeat at will), so a collector
 * splits every line the same way: the timestamp up to the first space,
 * the level up to the second, then "upshotd: " and the message. A message
 * never spans lines: a newline or other control byte in it is written as
 * a space. Lines longer than LOG_LINE_MAX are cut (with "...").
 *
 * Each line is one write(2) of fewer than PIPE_BUF bytes, so lines of
 * the worker threads and the event loop never interleave. Nothing is
 * buffered: a line is on stderr when log_msg returns.
 *
 * Left out on purpose: log files and rotation (stderr goes to the
 * journal of systemd or a file of the supervisor's), structured
 * key=value fields, and per-module levels. */
#ifndef UPSHOT_LOG_H
#define UPSHOT_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* The longest line, newline included (below PIPE_BUF, 4096 on Linux). */
#define LOG_LINE_MAX 2048

/* Writes one line at level lv. Any thread. Every level is written:
 * upshotd logs transitions and failures, not traffic (that is the access
 * log's, access_log.h), so there is nothing to filter yet; debug is kept
 * for lines that would be. */
void log_msg(log_level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(log_level lv, const char *fmt, va_list ap);

/* "debug", "info", "warn", "error". */
const char *log_level_name(log_level lv);

/* Formats one line of msg at time t into out (LOG_LINE_MAX bytes),
 * newline included, and returns its length. What log_msg writes; apart
 * so it can be tested without a clock or a descriptor. */
size_t log_format_line(char out[LOG_LINE_MAX], const struct timespec *t, log_level lv,
                       const char *msg);

/* Formats t as "2026-12-01T22:59:40.123Z" (24 characters and a NUL). */
void log_format_time(const struct timespec *t, char out[25]);

#endif

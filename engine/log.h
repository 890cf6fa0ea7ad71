/* log.h: a rate limit for log lines that traffic can provoke.
 *
 * upshotd logs to stderr. Most lines are rare (start, reload, a lost
 * Redis), but some repeat once per request while a condition lasts (a full
 * backlog, a failing journal disk): thousands of identical lines a second
 * would fill the operator's disk and bury the first one. A log_limiter
 * lets one such line through per second and counts the rest, which the
 * next line that gets through reports. One limiter per kind of message;
 * zero-initialised is ready to use. Single-threaded (the event loop). */
#ifndef UPSHOT_LOG_H
#define UPSHOT_LOG_H

#include <stdint.h>

typedef struct log_limiter {
    int64_t last_ms;      /* CLOCK_MONOTONIC of the last line let through; 0: none yet */
    unsigned long dropped; /* lines held back since then */
} log_limiter;

/* Prints fmt (a complete line, ending in '\n') unless a line went through
 * this limiter less than a second ago. */
__attribute__((format(printf, 2, 3)))
void log_limited(log_limiter *l, const char *fmt, ...);

#endif

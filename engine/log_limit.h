/* log_limit.h: at most one line a second from one place in the code.
 *
 * A client that makes upshotd fail the same way in a loop (accept
 * failing on EMFILE, thousands of refused requests) must not turn into
 * megabytes of log. Each call site keeps a `log_limit` (static storage,
 * zeroed); log_limited prints the line when a second has passed since the
 * last one it printed there, with the count of lines suppressed in
 * between, and otherwise only counts. Lines go through log_msg (log.h)
 * at level warn, like the rest of upshotd's log. Event loop thread only
 * (no lock). */
#ifndef UPSHOT_LOG_LIMIT_H
#define UPSHOT_LOG_LIMIT_H

#include <time.h>

typedef struct log_limit {
    time_t last;           /* monotonic second of the last printed line */
    unsigned long dropped; /* lines suppressed since */
} log_limit;

/* Logs <formatted> at level warn (and " (N similar lines suppressed)")
 * unless l printed one less than a second ago. */
void log_limited(log_limit *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* log_limit.c: rate-limited log lines (see log_limit.h). */
#include "log_limit.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void log_limited(log_limit *l, const char *fmt, ...)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* +1 so that a zeroed limiter prints its first line at any uptime. */
    time_t sec = now.tv_sec + 1;
    if (l->last == sec) {
        l->dropped++;
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->dropped)
        log_msg(LOG_WARN, "%s (%lu similar lines suppressed)", msg, l->dropped);
    else
        log_msg(LOG_WARN, "%s", msg);
    l->last = sec;
    l->dropped = 0;
}

/* log.c: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define LOG_LIMIT_MS 1000

void log_limited(log_limiter *l, const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (l->last_ms && now - l->last_ms < LOG_LIMIT_MS) {
        l->dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (l->dropped)
        fprintf(stderr, "upshotd: (%lu similar lines held back in the last %.1f s)\n", l->dropped,
                (double)(now - l->last_ms) / 1000.0);
    l->last_ms = now;
    l->dropped = 0;
}

/* log.c: one parseable line per log entry on stderr (see log.h). */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const names[] = {"debug", "info", "warn", "error"};

const char *log_level_name(log_level lv)
{
    return lv >= LOG_DEBUG && lv <= LOG_ERROR ? names[lv] : "error";
}

void log_format_time(const struct timespec *t, char out[25])
{
    struct tm tm;
    gmtime_r(&t->tv_sec, &tm);
    size_t n = strftime(out, 25, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 25 - n, ".%03ldZ", (long)(t->tv_nsec / 1000000) % 1000);
}

size_t log_format_line(char out[LOG_LINE_MAX], const struct timespec *t, log_level lv,
                       const char *msg)
{
    char ts[25];
    log_format_time(t, ts);
    int head = snprintf(out, LOG_LINE_MAX, "%s %s upshotd: ", ts, log_level_name(lv));
    size_t n = (size_t)head;
    /* Room for "...\n" at the end of a line that is cut. */
    const size_t room = LOG_LINE_MAX - 5;
    for (const char *p = msg; *p; p++) {
        if (n == room) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        unsigned char c = (unsigned char)*p;
        out[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n++] = '\n';
    out[n] = '\0';
    return n;
}

void log_vmsg(log_level lv, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char line[LOG_LINE_MAX];
    size_t len = log_format_line(line, &now, lv, msg);
    /* One write: stdio's stderr is unbuffered and might split it. A
     * failed or short write of a log line has nowhere to be reported. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_msg(log_level lv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(lv, fmt, ap);
    va_end(ap);
}

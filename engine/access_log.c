/* access_log.c: the optional access log (see access_log.h). */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_fd = -1;      /* -1: off */
static char log_path[1024];  /* what access_log_reopen opens */

static bool secret_name(const char *name, size_t len)
{
    static const char *const parts[] = {"token", "secret", "password", NULL};
    if (len == 3 && strncasecmp(name, "key", 3) == 0)
        return true;
    for (const char *const *p = parts; *p; p++) {
        size_t pl = strlen(*p);
        for (size_t i = 0; i + pl <= len; i++)
            if (strncasecmp(name + i, *p, pl) == 0)
                return true;
    }
    return false;
}

void access_log_redact(const char *target, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    const char *q = strchr(target, '?');
    const char *name = NULL; /* start of the current parameter's name */
    bool hide = false;       /* inside a secret parameter's value */
    for (const char *p = target; *p && n + 4 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (q && p > q) {
            if (p == q + 1 || p[-1] == '&') {
                name = p;
                hide = false;
            }
            if (c == '&') {
                hide = false;
            } else if (hide) {
                continue;
            } else if (c == '=' && name) {
                out[n++] = '=';
                if (secret_name(name, (size_t)(p - name))) {
                    out[n++] = '-';
                    hide = true;
                }
                name = NULL;
                continue;
            }
        }
        if (c <= 0x20 || c >= 0x7f) {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

int access_log_open(const char *path, char *err, size_t errlen)
{
    access_log_close();
    if (!path || !path[0])
        return 0;
    snprintf(log_path, sizeof log_path, "%s", path);
    return access_log_reopen(err, errlen);
}

int access_log_reopen(char *err, size_t errlen)
{
    if (!log_path[0])
        return 0;
    if (strcmp(log_path, "-") == 0) {
        log_fd = STDERR_FILENO;
        return 0;
    }
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "access_log %s: %s", log_path, strerror(errno));
        return -1;
    }
    if (log_fd > STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void access_log_close(void)
{
    if (log_fd > STDERR_FILENO)
        close(log_fd);
    log_fd = -1;
}

bool access_log_on(void)
{
    return log_fd >= 0;
}

void access_log_write(const char *peer, const char *method, const char *target, int status,
                      size_t body_bytes, double seconds)
{
    if (log_fd < 0)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char ts[25];
    log_format_time(&now, ts);
    char cut[1024];
    access_log_redact(target ? target : "-", cut, sizeof cut);
    char line[1400];
    int n = snprintf(line, sizeof line, "%s %s %s %s %d %zu %.6f\n", ts, peer && *peer ? peer : "-",
                     method, cut, status, body_bytes, seconds);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) { /* cut, but still one line */
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    /* One write per line, so lines never interleave with the log's. A
     * full disk loses lines, not replies. */
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
}

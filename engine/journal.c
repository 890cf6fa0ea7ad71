/* journal.c: the append-only event journal (see journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Compact (truncate) an applied log once it exceeds this many bytes, so
 * that in the steady state it stays small and in the page cache. */
#define JOURNAL_COMPACT_BYTES (4u << 20)

/* Age marks: "the lines from offset `from` on were appended at `ms` or
 * later". journal_apply_lag_ms() reads the mark at or before the
 * checkpoint, so the lag it reports is never less than the true age of the
 * oldest unapplied line, and more by at most the spacing of the marks
 * (JOURNAL_MARK_MS, doubled each time the ring fills up while a backlog
 * lasts). */
#define JOURNAL_MARKS 1024
#define JOURNAL_MARK_MS 100

typedef struct age_mark {
    uint64_t from;
    int64_t ms;        /* CLOCK_MONOTONIC */
} age_mark;

struct journal {
    int log_fd;
    int ckpt_fd;
    uint64_t end;      /* log size */
    uint64_t applied;  /* checkpoint */
    uint64_t pending;  /* lines between applied and end */
    age_mark marks[JOURNAL_MARKS]; /* oldest first, from ascending */
    size_t nmarks;
    int64_t mark_every_ms;         /* current spacing of the marks */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Notes that lines from offset `from` on are being appended now. */
static void mark_age(journal *j, uint64_t from)
{
    int64_t now = now_ms();
    if (j->nmarks > 0 && now - j->marks[j->nmarks - 1].ms < j->mark_every_ms)
        return;
    if (j->nmarks == JOURNAL_MARKS) { /* keep every other mark, space them wider */
        for (size_t i = 0; i < JOURNAL_MARKS / 2; i++)
            j->marks[i] = j->marks[2 * i];
        j->nmarks = JOURNAL_MARKS / 2;
        j->mark_every_ms *= 2;
    }
    j->marks[j->nmarks++] = (age_mark){from, now};
}

/* Drops marks wholly before the checkpoint (keeping the one it falls in). */
static void forget_marks(journal *j)
{
    size_t keep = 0;
    while (keep + 1 < j->nmarks && j->marks[keep + 1].from <= j->applied)
        keep++;
    if (keep) {
        memmove(j->marks, j->marks + keep, (j->nmarks - keep) * sizeof *j->marks);
        j->nmarks -= keep;
    }
    if (j->applied == j->end) {
        j->nmarks = 0;
        j->mark_every_ms = JOURNAL_MARK_MS;
    }
}

static int write_checkpoint(journal *j, uint64_t offset)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%020" PRIu64 "\n", offset);
    if (pwrite(j->ckpt_fd, buf, (size_t)n, 0) != n)
        return -1;
    j->applied = offset;
    return 0;
}

static uint64_t count_lines(int fd, uint64_t from, uint64_t to)
{
    char buf[1 << 16];
    uint64_t lines = 0;
    while (from < to) {
        size_t want = to - from < sizeof buf ? (size_t)(to - from) : sizeof buf;
        ssize_t n = pread(fd, buf, want, (off_t)from);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
        from += (uint64_t)n;
    }
    return lines;
}

/* Cuts a torn last line: finds the last '\n' and truncates after it. */
static int drop_torn_tail(journal *j)
{
    uint64_t pos = j->end;
    char c;
    while (pos > 0) {
        if (pread(j->log_fd, &c, 1, (off_t)(pos - 1)) != 1)
            return -1;
        if (c == '\n')
            break;
        pos--;
    }
    if (pos != j->end) {
        if (ftruncate(j->log_fd, (off_t)pos) != 0)
            return -1;
        log_msg(LOG_WARN, "journal: dropped a torn tail of %" PRIu64 " bytes (never acknowledged)",
                j->end - pos);
        j->end = pos;
    }
    return 0;
}

journal *journal_open(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    journal *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->log_fd = j->ckpt_fd = -1;
    snprintf(path, sizeof path, "%s/journal.log", dir);
    j->log_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (j->log_fd < 0)
        goto fail;
    snprintf(path, sizeof path, "%s/journal.ckpt", dir);
    j->ckpt_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->ckpt_fd < 0)
        goto fail;

    struct stat st;
    if (fstat(j->log_fd, &st) != 0)
        goto fail;
    j->end = (uint64_t)st.st_size;
    if (drop_torn_tail(j) != 0)
        goto fail;

    char buf[32] = {0};
    ssize_t n = pread(j->ckpt_fd, buf, sizeof buf - 1, 0);
    j->applied = n > 0 ? strtoull(buf, NULL, 10) : 0;
    if (j->applied > j->end) /* compacted between checkpoint and truncate */
        j->applied = 0;
    j->pending = count_lines(j->log_fd, j->applied, j->end);
    /* Lines left from an earlier run count as appended at start: their
     * real age is unknown, and this is the later of the two bounds. */
    j->mark_every_ms = JOURNAL_MARK_MS;
    if (j->pending)
        mark_age(j, j->applied);
    return j;

fail:
    snprintf(err, errlen, "journal in %s: %s", dir, strerror(errno));
    journal_close(j);
    return NULL;
}

void journal_close(journal *j)
{
    if (!j)
        return;
    if (j->log_fd >= 0) {
        fdatasync(j->log_fd);
        close(j->log_fd);
    }
    if (j->ckpt_fd >= 0) {
        fdatasync(j->ckpt_fd);
        close(j->ckpt_fd);
    }
    free(j);
}

uint64_t journal_count_lines(const char *buf, size_t len)
{
    uint64_t n = 0;
    for (const char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        n++;
    return n;
}

int journal_append(journal *j, const char *buf, size_t len, uint64_t nlines, bool sync)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(j->log_fd, buf + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* Roll a partial append back so no torn line stays behind. */
            if (done && ftruncate(j->log_fd, (off_t)j->end) != 0)
                return -1;
            return -1;
        }
        done += (size_t)n;
    }
    mark_age(j, j->end);
    j->end += len;
    j->pending += nlines;
    return sync ? journal_sync(j) : 0;
}

int journal_sync(journal *j)
{
    return fdatasync(j->log_fd);
}

ssize_t journal_read(journal *j, uint64_t from, char *buf, size_t cap)
{
    if (from >= j->end)
        return 0;
    size_t want = j->end - from < cap ? (size_t)(j->end - from) : cap;
    ssize_t n = pread(j->log_fd, buf, want, (off_t)from);
    if (n <= 0)
        return n;
    while (n > 0 && buf[n - 1] != '\n')
        n--;
    return n;
}

int journal_mark_applied(journal *j, uint64_t offset, uint64_t lines)
{
    j->pending = lines > j->pending ? 0 : j->pending - lines;
    if (offset == j->end && j->end >= JOURNAL_COMPACT_BYTES) {
        /* The zero checkpoint must be on disk before the log shrinks: after
         * a power loss an old checkpoint next to a truncated and regrown
         * log would skip acknowledged lines. Compaction is rare (every
         * 4 MiB), so this fsync costs nothing in the steady state. */
        if (write_checkpoint(j, 0) != 0 || fdatasync(j->ckpt_fd) != 0 ||
            ftruncate(j->log_fd, 0) != 0)
            return -1;
        j->end = 0;
        j->pending = 0;
        forget_marks(j);
        return 0;
    }
    int rc = write_checkpoint(j, offset);
    forget_marks(j);
    return rc;
}

uint64_t journal_end(const journal *j) { return j->end; }
uint64_t journal_applied(const journal *j) { return j->applied; }
uint64_t journal_pending_lines(const journal *j) { return j->pending; }
uint64_t journal_pending_bytes(const journal *j) { return j->end - j->applied; }

int64_t journal_apply_lag_ms(const journal *j)
{
    if (j->applied >= j->end || j->nmarks == 0)
        return 0;
    int64_t lag = now_ms() - j->marks[0].ms;
    return lag > 0 ? lag : 0;
}

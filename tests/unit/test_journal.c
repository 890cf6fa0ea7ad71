/* Tests for journal.h, each in its own directory under /tmp: complete-line
 * reads, the checkpoint across close/open, pending line counts, a torn
 * tail cut on open, compaction past the threshold, and a checkpoint left
 * beyond the end of the log by a crash. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"

/* The compaction threshold of journal.c (4 MiB). */
#define COMPACT_BYTES (4u << 20)

static char g_dir[64];

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/upshot-journal-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static void remove_dir(void)
{
    char p[128];
    path_of(p, sizeof p, "journal.log");
    unlink(p);
    path_of(p, sizeof p, "journal.ckpt");
    unlink(p);
    rmdir(g_dir);
}

TestSuite(journal, .init = make_dir, .fini = remove_dir);

static journal *open_ok(void)
{
    char err[256] = "";
    journal *j = journal_open(g_dir, err, sizeof err);
    cr_assert_not_null(j, "journal_open(%s): %s", g_dir, err);
    return j;
}

static off_t file_size(const char *name)
{
    char p[128];
    struct stat st;
    path_of(p, sizeof p, name);
    cr_assert_eq(stat(p, &st), 0, "stat %s: %s", p, strerror(errno));
    return st.st_size;
}

/* Writes bytes to a journal file behind the journal's back (a crash). */
static void write_raw(const char *name, const char *bytes, bool append)
{
    char p[128];
    path_of(p, sizeof p, name);
    int fd = open(p, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
    size_t n = strlen(bytes);
    cr_assert_eq(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

static void read_raw(const char *name, char *buf, size_t cap)
{
    char p[128];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "fopen %s", p);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void append_ok(journal *j, const char *s)
{
    cr_assert_eq(journal_append(j, s, strlen(s), journal_count_lines(s, strlen(s)), false), 0,
                 "journal_append: %s", strerror(errno));
}

#define L1 "X\tcheckout-tiers\tv-1\t0\tgr\t2026-11-20\n"
#define L2 "C\tcheckout-tiers\tv-1\tord-1\t49.5\t2026-11-20\n"
#define L3 "D\tcheckout-tiers\tv-2\tdec-9\t-\t2026-11-21\n"

#define EXPECT_U64(act, want) \
    cr_expect_eq((act), (uint64_t)(want), "%s = %llu, expected %llu", #act, \
                 (unsigned long long)(act), (unsigned long long)(want))

Test(journal, lines_are_counted_by_their_newlines)
{
    cr_expect_eq(journal_count_lines("", 0), 0u);
    cr_expect_eq(journal_count_lines(L1, strlen(L1)), 1u);
    cr_expect_eq(journal_count_lines(L1 L2 L3, strlen(L1 L2 L3)), 3u);
    cr_expect_eq(journal_count_lines("a\nb", 3), 1u, "a torn tail is no line");
}

Test(journal, new_journal_is_empty)
{
    journal *j = open_ok();
    EXPECT_U64(journal_end(j), 0);
    EXPECT_U64(journal_applied(j), 0);
    EXPECT_U64(journal_pending_lines(j), 0);
    char buf[64];
    cr_expect_eq(journal_read(j, 0, buf, sizeof buf), 0);
    journal_close(j);
    cr_expect_eq(file_size("journal.log"), 0);
    journal_close(NULL);
}

Test(journal, open_fails_with_a_message)
{
    char err[256] = "";
    journal *j = journal_open("/nonexistent/upshot-journal-dir", err, sizeof err);
    cr_expect_null(j);
    cr_expect(strstr(err, "/nonexistent/upshot-journal-dir") != NULL, "error \"%s\" does not name the dir", err);
}

Test(journal, append_and_read_complete_lines)
{
    journal *j = open_ok();
    append_ok(j, L1);
    cr_assert_eq(journal_append(j, L2 L3, strlen(L2 L3), 2, true), 0, "synced append failed");
    EXPECT_U64(journal_end(j), strlen(L1 L2 L3));
    EXPECT_U64(journal_pending_lines(j), 3);
    cr_expect_eq(journal_sync(j), 0);

    char buf[256];
    ssize_t n = journal_read(j, 0, buf, sizeof buf);
    cr_assert_eq(n, (ssize_t)strlen(L1 L2 L3), "read %zd bytes", n);
    cr_expect_eq(memcmp(buf, L1 L2 L3, (size_t)n), 0, "read back different bytes");

    /* A buffer that ends inside the third line gets the first two only. */
    n = journal_read(j, 0, buf, strlen(L1 L2) + 5);
    cr_expect_eq(n, (ssize_t)strlen(L1 L2), "read %zd bytes, expected the first two lines", n);
    /* Exactly two lines of room. */
    n = journal_read(j, 0, buf, strlen(L1 L2));
    cr_expect_eq(n, (ssize_t)strlen(L1 L2));
    /* Less than one line of room: nothing complete. */
    n = journal_read(j, 0, buf, strlen(L1) - 1);
    cr_expect_eq(n, 0, "a partial line was returned (%zd bytes)", n);
    /* From the middle (a line boundary) onwards. */
    n = journal_read(j, strlen(L1), buf, sizeof buf);
    cr_assert_eq(n, (ssize_t)strlen(L2 L3));
    cr_expect_eq(memcmp(buf, L2 L3, (size_t)n), 0);
    /* At and past the end. */
    cr_expect_eq(journal_read(j, journal_end(j), buf, sizeof buf), 0);
    cr_expect_eq(journal_read(j, journal_end(j) + 100, buf, sizeof buf), 0);
    journal_close(j);

    char raw[256];
    read_raw("journal.log", raw, sizeof raw);
    cr_expect_str_eq(raw, L1 L2 L3, "journal.log holds \"%s\"", raw);
}

Test(journal, checkpoint_survives_close_and_open)
{
    journal *j = open_ok();
    append_ok(j, L1 L2 L3);
    cr_assert_eq(journal_mark_applied(j, strlen(L1), 1), 0);
    EXPECT_U64(journal_applied(j), strlen(L1));
    EXPECT_U64(journal_pending_lines(j), 2);
    journal_close(j);

    char raw[64];
    read_raw("journal.ckpt", raw, sizeof raw);
    char want[64];
    snprintf(want, sizeof want, "%020zu\n", strlen(L1));
    cr_expect_str_eq(raw, want, "journal.ckpt holds \"%s\", expected 20 digits and a newline", raw);

    j = open_ok();
    EXPECT_U64(journal_applied(j), strlen(L1));
    EXPECT_U64(journal_end(j), strlen(L1 L2 L3));
    EXPECT_U64(journal_pending_lines(j), 2);
    char buf[256];
    ssize_t n = journal_read(j, journal_applied(j), buf, sizeof buf);
    cr_assert_eq(n, (ssize_t)strlen(L2 L3));
    cr_expect_eq(memcmp(buf, L2 L3, (size_t)n), 0, "replay does not start after the checkpoint");
    journal_close(j);
}

Test(journal, pending_lines_follow_appends_and_marks)
{
    journal *j = open_ok();
    EXPECT_U64(journal_pending_lines(j), 0);
    append_ok(j, L1);
    EXPECT_U64(journal_pending_lines(j), 1);
    append_ok(j, L2 L3 L1);
    EXPECT_U64(journal_pending_lines(j), 4);
    cr_assert_eq(journal_mark_applied(j, strlen(L1 L2), 2), 0);
    EXPECT_U64(journal_pending_lines(j), 2);
    append_ok(j, L2);
    EXPECT_U64(journal_pending_lines(j), 3);
    cr_assert_eq(journal_mark_applied(j, journal_end(j), 3), 0);
    EXPECT_U64(journal_pending_lines(j), 0);
    /* Counting more than is pending does not wrap around. */
    cr_assert_eq(journal_mark_applied(j, journal_end(j), 5), 0);
    EXPECT_U64(journal_pending_lines(j), 0);
    journal_close(j);

    j = open_ok();
    EXPECT_U64(journal_pending_lines(j), 0);
    EXPECT_U64(journal_applied(j), journal_end(j));
    journal_close(j);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

Test(journal, pending_bytes_and_the_lag_of_the_oldest_unapplied_line)
{
    journal *j = open_ok();
    EXPECT_U64(journal_pending_bytes(j), 0);
    cr_assert_eq(journal_apply_lag_ms(j), 0, "nothing pending, no lag");
    append_ok(j, L1);
    sleep_ms(250);
    append_ok(j, L2 L3);
    EXPECT_U64(journal_pending_bytes(j), strlen(L1 L2 L3));
    /* The lag is the age of the oldest unapplied line, L1: never less. */
    int64_t lag = journal_apply_lag_ms(j);
    cr_assert_geq(lag, 250, "lag %lld ms, L1 waited at least 250", (long long)lag);
    /* Once L1 is applied, the oldest is L2, appended after the pause (its
     * mark is at most one mark spacing, 100 ms, older than it). */
    cr_assert_eq(journal_mark_applied(j, strlen(L1), 1), 0);
    EXPECT_U64(journal_pending_bytes(j), strlen(L2 L3));
    int64_t later = journal_apply_lag_ms(j);
    cr_assert_lt(later, lag, "lag %lld ms after L1 was applied, %lld before", (long long)later,
                 (long long)lag);
    cr_assert_eq(journal_mark_applied(j, journal_end(j), 2), 0);
    cr_assert_eq(journal_apply_lag_ms(j), 0);
    EXPECT_U64(journal_pending_bytes(j), 0);
    journal_close(j);
}

Test(journal, pending_recounted_on_open)
{
    journal *j = open_ok();
    append_ok(j, L1 L2 L3 L1 L2);
    cr_assert_eq(journal_mark_applied(j, strlen(L1 L2), 2), 0);
    journal_close(j);
    j = open_ok();
    EXPECT_U64(journal_pending_lines(j), 3);
    journal_close(j);
}

Test(journal, torn_tail_is_cut_on_open)
{
    journal *j = open_ok();
    append_ok(j, L1 L2);
    journal_close(j);
    /* The process died inside write(): half a line, never acknowledged. */
    write_raw("journal.log", "C\tcheckout-tiers\tv-1\tord-2\t12", true);

    j = open_ok();
    EXPECT_U64(journal_end(j), strlen(L1 L2));
    EXPECT_U64(journal_pending_lines(j), 2);
    cr_expect_eq(file_size("journal.log"), (off_t)strlen(L1 L2), "the torn tail is still in the file");
    char buf[256];
    ssize_t n = journal_read(j, 0, buf, sizeof buf);
    cr_expect_eq(n, (ssize_t)strlen(L1 L2));
    /* New appends start cleanly after the cut. */
    append_ok(j, L3);
    journal_close(j);
    char raw[256];
    read_raw("journal.log", raw, sizeof raw);
    cr_expect_str_eq(raw, L1 L2 L3, "journal.log holds \"%s\"", raw);
}

Test(journal, torn_only_line_leaves_an_empty_log)
{
    write_raw("journal.log", "X\tcheckout-tiers\tv-1", false);
    journal *j = open_ok();
    EXPECT_U64(journal_end(j), 0);
    EXPECT_U64(journal_pending_lines(j), 0);
    journal_close(j);
    cr_expect_eq(file_size("journal.log"), 0);
}

Test(journal, checkpoint_beyond_the_log_is_zero)
{
    /* A crash between setting the checkpoint and truncating the log (or a
     * truncation that reached the disk while the checkpoint did not) can
     * leave a checkpoint past the end: everything is replayed. */
    write_raw("journal.log", L1 L2, false);
    write_raw("journal.ckpt", "00000000000000099999\n", false);
    journal *j = open_ok();
    EXPECT_U64(journal_applied(j), 0);
    EXPECT_U64(journal_end(j), strlen(L1 L2));
    EXPECT_U64(journal_pending_lines(j), 2);
    journal_close(j);
}

Test(journal, checkpoint_at_the_end_is_kept)
{
    write_raw("journal.log", L1 L2, false);
    char ck[32];
    snprintf(ck, sizeof ck, "%020zu\n", strlen(L1 L2));
    write_raw("journal.ckpt", ck, false);
    journal *j = open_ok();
    EXPECT_U64(journal_applied(j), strlen(L1 L2));
    EXPECT_U64(journal_pending_lines(j), 0);
    journal_close(j);
}

/* Appends lines until the log is past the compaction threshold; returns
 * the number of lines written. */
static uint64_t fill_past_threshold(journal *j)
{
    static char chunk[64 * 1024];
    const char *line = L1;
    size_t ll = strlen(line), per = sizeof chunk / ll;
    for (size_t i = 0; i < per; i++)
        memcpy(chunk + i * ll, line, ll);
    uint64_t lines = 0;
    while (journal_end(j) <= COMPACT_BYTES) {
        cr_assert_eq(journal_append(j, chunk, per * ll, per, false), 0);
        lines += per;
    }
    return lines;
}

Test(journal, compaction_when_fully_applied_past_threshold)
{
    journal *j = open_ok();
    uint64_t lines = fill_past_threshold(j);
    uint64_t end = journal_end(j);
    cr_assert_gt(end, (uint64_t)COMPACT_BYTES);
    EXPECT_U64(journal_pending_lines(j), lines);

    /* Applied up to just before the end: no compaction yet. */
    uint64_t almost = end - strlen(L1);
    cr_assert_eq(journal_mark_applied(j, almost, lines - 1), 0);
    EXPECT_U64(journal_applied(j), almost);
    EXPECT_U64(journal_end(j), end);
    EXPECT_U64(journal_pending_lines(j), 1);

    /* Everything applied: the log is truncated and offsets restart at 0. */
    cr_assert_eq(journal_mark_applied(j, end, 1), 0);
    EXPECT_U64(journal_applied(j), 0);
    EXPECT_U64(journal_end(j), 0);
    EXPECT_U64(journal_pending_lines(j), 0);
    cr_expect_eq(file_size("journal.log"), 0);
    char raw[64];
    read_raw("journal.ckpt", raw, sizeof raw);
    cr_expect_str_eq(raw, "00000000000000000000\n", "checkpoint after compaction \"%s\"", raw);

    /* The journal carries on from offset 0. */
    append_ok(j, L2);
    EXPECT_U64(journal_end(j), strlen(L2));
    EXPECT_U64(journal_pending_lines(j), 1);
    char buf[256];
    ssize_t n = journal_read(j, 0, buf, sizeof buf);
    cr_assert_eq(n, (ssize_t)strlen(L2));
    cr_expect_eq(memcmp(buf, L2, (size_t)n), 0);
    journal_close(j);

    j = open_ok();
    EXPECT_U64(journal_applied(j), 0);
    EXPECT_U64(journal_end(j), strlen(L2));
    EXPECT_U64(journal_pending_lines(j), 1);
    journal_close(j);
}

Test(journal, no_compaction_below_threshold)
{
    journal *j = open_ok();
    append_ok(j, L1 L2);
    uint64_t end = journal_end(j);
    cr_assert_eq(journal_mark_applied(j, end, 2), 0);
    EXPECT_U64(journal_applied(j), end);
    EXPECT_U64(journal_end(j), end);
    cr_expect_eq(file_size("journal.log"), (off_t)end, "a small applied log was truncated");
    journal_close(j);
}

/* journal.h: the append-only event journal, upshotd's promise that an
 * acknowledged event is never lost.
 *
 * Every event upshotd acknowledges (an exposure recorded by an assign call,
 * an accepted event of a batch) is first appended here as one text line;
 * only then does the client get its 2xx. The Redis writer (store.c) reads
 * the journal from the checkpoint onwards, applies it with an idempotent
 * script, and advances the checkpoint after Redis confirms. So:
 *   - Redis down or slow: lines accumulate (the "spool") and are applied
 *     when Redis is back;
 *   - upshotd killed: on restart everything after the checkpoint is applied
 *     again; the script's idempotency (first exposure wins, event ids are
 *     remembered) makes that replay count each event exactly once.
 *
 * Files in the data directory:
 *   journal.log   the lines, appended with O_APPEND
 *   journal.ckpt  the applied offset, 20 decimal digits and a newline
 * When everything is applied and the log has grown past a threshold, the
 * checkpoint is set to 0 first and the log truncated second: a crash
 * between the two replays an applied tail, which is harmless.
 *
 * This module keeps the file and knows only that it holds lines; what a
 * line says (X, P, C, D: exposures, conversions, declines) is defined,
 * written and read by journal_line.h alone. */
#ifndef UPSHOT_JOURNAL_H
#define UPSHOT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct journal journal;

/* Opens (creating if needed) the journal in dir. A torn last line (the
 * process died inside write) was never acknowledged and is cut off.
 * Returns NULL with err filled. */
journal *journal_open(const char *dir, char *err, size_t errlen);
void journal_close(journal *j); /* syncs; NULL is ignored */

/* Appends complete lines (buf must end in '\n'), nlines of them: the
 * caller has counted them already, to check the backlog bound, so they
 * are not counted twice. With sync, fdatasync before returning. 0 on
 * success, -1 with errno. */
int journal_append(journal *j, const char *buf, size_t len, uint64_t nlines, bool sync);

/* The '\n's in buf: the lines an append of it adds. */
uint64_t journal_count_lines(const char *buf, size_t len);
int journal_sync(journal *j);

/* Reads complete lines starting at offset `from` into buf (at most cap
 * bytes). Returns the number of bytes (ending at a '\n'), 0 when nothing
 * complete is there, -1 on error. */
ssize_t journal_read(journal *j, uint64_t from, char *buf, size_t cap);

/* Records that everything before `offset` is applied, holding `lines`
 * events. May compact the log (then offsets restart at 0: read
 * journal_applied() again). 0 or -1. */
int journal_mark_applied(journal *j, uint64_t offset, uint64_t lines);

uint64_t journal_end(const journal *j);     /* bytes in the log */
uint64_t journal_applied(const journal *j); /* the checkpoint */
uint64_t journal_pending_lines(const journal *j); /* events not yet applied */
uint64_t journal_pending_bytes(const journal *j); /* their bytes */
/* How long the oldest event not yet applied has waited, in ms (0 when
 * everything is applied): never less than the truth, and more by at most
 * the spacing of the age marks (0.1 s, growing while a backlog outlasts
 * about 100 s). Lines left from before a restart count from the start. */
int64_t journal_apply_lag_ms(const journal *j);

#endif

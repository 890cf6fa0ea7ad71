/* audit.h: the entries of the audit log of everything that changed an
 * experiment.
 *
 * The log lives in Redis, in the list {upshot}:audit (docs/redis.md),
 * shared by every instance: an entry is appended by the same script that
 * makes the change it records (shared_state.h), so a change and its entry
 * are both there or neither is. An entry is one JSON object: who or what
 * acted (the X-Upshot-Actor header, "config" for the file's seeding,
 * "auto-promote" for the engine), when, what (create, update, start, stop,
 * promote, unpromote, reload, import, decision), why (the request's
 * reason), and details. `upshot log EXP` reads it back through the admin
 * API. This module only builds and filters entries; it does no I/O but
 * the one-time read of a data_dir/audit.jsonl that older versions wrote. */
#ifndef UPSHOT_AUDIT_H
#define UPSHOT_AUDIT_H

#include <jansson.h>
#include <stddef.h>

/* A new entry, stamped now; details is stolen (may be NULL). The entry as
 * compact JSON text (malloc'ed), or NULL out of memory. */
char *audit_entry(const char *actor, const char *action, const char *exp_key, const char *reason,
                  json_t *details);

/* The entries of one experiment (all when exp_key is NULL) among n lines
 * of JSON text, oldest first, at most limit of the newest. A new
 * reference, or NULL out of memory. Lines that do not parse are skipped. */
json_t *audit_filter(const char *const *lines, size_t n, const char *exp_key, size_t limit);

/* The lines of data_dir/audit.jsonl, which versions that kept the log in a
 * file wrote: a new array of JSON strings (empty when there is no file),
 * or NULL out of memory. */
json_t *audit_read_legacy(const char *data_dir);

#endif

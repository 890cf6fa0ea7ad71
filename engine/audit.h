/* audit.h: the audit log of everything that changed an experiment.
 *
 * One JSON object per line in data_dir/audit.jsonl, appended and synced
 * before the change is acknowledged: who or what acted (the X-Upshot-Actor
 * header, "config" for reloads, "auto-promote" for the engine), when, what
 * (create, update, start, stop, promote, unpromote, reload,
 * auto_promote_decision), why (the request's reason), and details.
 * `upshot log EXP` reads it back through the admin API. */
#ifndef UPSHOT_AUDIT_H
#define UPSHOT_AUDIT_H

#include <jansson.h>

/* Appends an entry; details is stolen (may be NULL). 0 or -1. */
int audit_append(const char *data_dir, const char *actor, const char *action,
                 const char *exp_key, const char *reason, json_t *details);

/* The entries of one experiment (all when experiment is NULL), oldest
 * first, at most limit of the newest. A new reference, or NULL. */
json_t *audit_read(const char *data_dir, const char *exp_key, size_t limit);

#endif

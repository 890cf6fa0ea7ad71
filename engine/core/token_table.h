/* token_table.h: the admin API's bearer tokens, each with a name and a role.
 *
 * The config file lists tokens by the SHA-256 of their text, never the
 * text itself (docs/config.md, "admin_tokens"):
 *
 *   | field  | what                                                     |
 *   | ------ | -------------------------------------------------------- |
 *   | name   | a key (validate.h); the audit log's actor for its calls  |
 *   | role   | "read": GET routes; "write": every admin route           |
 *   | sha256 | 64 hex digits: SHA-256 of the token (sha256.h)           |
 *
 * A presented token is hashed once and its digest compared with every
 * entry's in constant time, without stopping at a match, so the time
 * taken says neither which entry matched nor where digests differ. The
 * older single `admin_token` becomes one entry named "admin" with role
 * write (config.c adds it). Pure: no I/O, no allocation. */
#ifndef UPSHOT_TOKEN_TABLE_H
#define UPSHOT_TOKEN_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"
#include "validate.h"

/* Bounds the table (and so the work per admin request: one digest
 * comparison per entry). */
#define TOKEN_TABLE_MAX 64

typedef enum {
    TOKEN_ROLE_READ = 1,  /* list, show, results, export, log: GET routes */
    TOKEN_ROLE_WRITE = 2, /* also every change: POST, PUT, DELETE routes */
} token_role;

typedef struct token_entry {
    char name[VALIDATE_KEY_MAX + 1];
    token_role role;
    uint8_t digest[SHA256_DIGEST_LEN]; /* SHA-256 of the token's text */
} token_entry;

typedef struct token_table {
    int n;                          /* entries in e */
    token_entry e[TOKEN_TABLE_MAX];
} token_table;

/* "read" or "write" into *out; false for anything else. */
bool token_role_parse(const char *s, token_role *out);
const char *token_role_name(token_role r);

/* Whether a token of role have may call a route that needs role need. */
bool token_role_allows(token_role have, token_role need);

/* Appends one entry whose digest is given as 64 hex digits (either case).
 * False with a sentence in err (capacity errcap) when the name is not a
 * key or is already in the table, the digest is not 64 hex digits, or
 * the table is full; the table is then unchanged. */
bool token_table_add_hex(token_table *t, const char *name, token_role role, const char *hex,
                         char *err, size_t errcap);

/* Appends one entry for a token given as text (the older admin_token):
 * the text is hashed and only its digest kept. Fails as above. */
bool token_table_add_plain(token_table *t, const char *name, token_role role, const char *token,
                           size_t len, char *err, size_t errcap);

/* Appends the entries of the config's "admin_tokens" list: objects of
 * exactly the fields name, role, sha256. False with err naming the entry
 * ("admin_tokens[2].role: ...") on the first bad one; entries before it
 * stay appended, so a caller that fails discards the table. */
bool token_table_parse(const json_t *list, token_table *t, char *err, size_t errcap);

/* The entry whose digest is the SHA-256 of the len bytes at token, or NULL.
 * Every entry is compared, in constant time each (see the top). */
const token_entry *token_table_find(const token_table *t, const char *token, size_t len);

#endif

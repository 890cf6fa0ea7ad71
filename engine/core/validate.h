/* validate.h: the identifier rules every input path shares.
 *
 * Keys (experiment, variant, region, layer) are short lowercase identifiers
 * because they appear inside Redis field names and URL paths: a key is
 * [a-z0-9][a-z0-9_-]* and at most VALIDATE_KEY_MAX bytes. Visitor and event
 * ids come from shops and browsers, so they are looser: 1..VALIDATE_ID_MAX
 * printable ASCII bytes (0x21-0x7E). Excluding spaces and control characters
 * keeps them safe as journal fields (tab-separated lines) and log text.
 * Pure functions, no allocation. */
#ifndef UPSHOT_VALIDATE_H
#define UPSHOT_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#define VALIDATE_KEY_MAX 64
#define VALIDATE_ID_MAX 128

/* true when s is a valid key (experiment, variant, region, layer name). */
bool validate_key(const char *s);

/* true when s is a valid visitor or event id. */
bool validate_id(const char *s);

/* Compares two byte strings in time that depends only on their lengths,
 * not on where they differ (used for bearer tokens). */
bool validate_equal_const_time(const char *a, size_t alen, const char *b, size_t blen);

#endif

/* etag.h: entity tags, made and compared (RFC 9110 sections 8.8.3 and
 * 13.1.2), for the routes a cache may keep: the SDK bundle and the
 * /v1/sdk/config snapshot (engine/api_public.c).
 *
 * A tag here is always the quoted form with an optional W/ prefix,
 * `"0123abcd"` or `W/"0123abcd"`, as it goes into the ETag header.
 * If-None-Match is compared weakly, as RFC 9110 requires for it: W/ is
 * ignored on both sides, so a cache that kept `W/"x"` and one that kept
 * `"x"` both get their 304.
 *
 * Pure: no I/O, no allocation. */
#ifndef UPSHOT_ETAG_H
#define UPSHOT_ETAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A weak tag for a 64-bit fingerprint: `W/"` + 16 hex digits + `"`. */
#define ETAG_FINGERPRINT_LEN 20

/* The 64-bit FNV-1a fingerprint of len bytes. Not a cryptographic hash:
 * it tells versions of one document apart, and a collision between two of
 * them (about 2^-64 per pair) would cost one stale snapshot until the
 * next change, nothing worse. */
uint64_t etag_fnv1a64(const void *data, size_t len);

/* Writes the weak tag of fingerprint h into out (ETAG_FINGERPRINT_LEN + 1
 * bytes, NUL-terminated). */
void etag_format_weak(uint64_t h, char out[ETAG_FINGERPRINT_LEN + 1]);

/* Whether an If-None-Match header value (NULL: absent) matches etag:
 * `*`, or a comma-separated list holding etag's opaque part with or
 * without W/. A malformed member ends the list: what was read before it
 * still counts, nothing after it does (a garbled header can cost a 200,
 * never a wrong 304). */
bool etag_none_match(const char *if_none_match, const char *etag);

#endif

/* sha256.h: SHA-256 (FIPS 180-4) of a byte string, in memory.
 *
 * Used to keep admin tokens out of the config file: the file holds the
 * SHA-256 of each token, and a presented token is hashed and its digest
 * compared (token_table.h). One-shot only (tokens are short); no
 * streaming interface, no allocation. The core has no OpenSSL, so this is
 * a plain implementation checked against the FIPS 180-4 example vectors
 * (tests/unit/test_token_table.c). */
#ifndef UPSHOT_SHA256_H
#define UPSHOT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN 64

/* The digest of len bytes at data into out. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

/* The digest as 64 lowercase hex characters and a NUL. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

#endif

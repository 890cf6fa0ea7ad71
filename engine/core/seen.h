/* seen.h: a bounded, lossy set of (experiment, visitor) pairs that Redis is
 * known to hold a visitor record for.
 *
 * Shops expose a visitor again on every page view that shows the offer.
 * Each repeat is a no-op in record.lua (HSETNX finds the record), yet it
 * costs Redis the full per-exposure work: ~6 us of CPU per exposure on the
 * reference machine, as much as the rest of an assign. The Redis writer
 * (store.c) looks an exposure up here before sending it and drops known
 * repeats; Redis's replies fill the set.
 *
 * Lossy in the safe direction only. A pair is remembered only after Redis
 * answered for its record (counted or already there), so a dropped
 * exposure is always one Redis would have ignored. A pair may be forgotten
 * (the set is a fixed 4-way associative table; a full set overwrites a
 * way), and is then simply sent again. Pairs are 64-bit fingerprints: two
 * pairs share one with probability about n / 2^64 per lookup, negligible
 * at millions of visitors. The writer clears the set whenever its Redis
 * connection is re-established, because a restarted Redis may have lost
 * records (docs/redis.md).
 *
 * Pure: no I/O; one thread (the event loop) uses it. */
#ifndef UPSHOT_SEEN_H
#define UPSHOT_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct seen seen;

/* A set of about `slots` pairs (rounded down to a power of two, at least
 * 4): 8 bytes each. NULL when slots is 0 (the set is then off) or when
 * out of memory; every function below accepts NULL and does nothing.
 * Clearing touches the whole table, so keep it to what memory holds
 * comfortably (the config caps it at 2^24 pairs, 128 MiB). */
seen *seen_new(size_t slots);
void seen_free(seen *s);

/* The fingerprint of (experiment, visitor), never 0, in two steps so that
 * a batch of one experiment hashes its name once: the experiment's seed,
 * then the key of each visitor under it. */
uint32_t seen_experiment_seed(const char *experiment, size_t experiment_len);
uint64_t seen_key(uint32_t experiment_seed, const char *visitor, size_t visitor_len);

bool seen_has(const seen *s, uint64_t key);
void seen_add(seen *s, uint64_t key);
void seen_clear(seen *s);
/* Pairs held now (for /metrics). */
size_t seen_count(const seen *s);

#endif

/* recent.h: a bounded memory of recently seen event ids.
 *
 * Lets POST /v1/events tell a client at once that an event is a duplicate
 * (a browser retrying a beacon), without a Redis round trip. It is only a
 * fast path: Redis's id set stays the authority, so an id forgotten here
 * (evicted, or seen before a restart) is still counted once. Stores 64-bit
 * hashes of (experiment, id) in an open-addressing table with FIFO
 * eviction; a false "duplicate" needs a 64-bit collision (about 1e-8 at a
 * million ids), which we accept. */
#ifndef UPSHOT_RECENT_H
#define UPSHOT_RECENT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct recent recent;

recent *recent_new(size_t capacity); /* ids remembered, rounded up to a power of two */
void recent_free(recent *r);

/* true when (experiment, id) was seen before; otherwise remembers it. */
bool recent_check_and_add(recent *r, const char *experiment, const char *id);

/* Forgets (experiment, id): used when a journal write failed after the
 * check, so a retry is not wrongly called a duplicate. */
void recent_forget(recent *r, const char *experiment, const char *id);

#endif

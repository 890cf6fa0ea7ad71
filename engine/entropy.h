/* entropy.h: random bytes for identifiers that must differ between
 * processes (the Redis data set marker, acknowledgment tokens). Not for
 * anything secret: when the kernel's source cannot be read, the clock and
 * the process id stand in, which still tells two processes apart. */
#ifndef UPSHOT_ENTROPY_H
#define UPSHOT_ENTROPY_H

#include <stddef.h>

/* Fills out with n bytes from /dev/urandom, or from the fallback. */
void entropy_bytes(void *out, size_t n);

#endif

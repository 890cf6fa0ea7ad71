/* entropy.c: see entropy.h. */
#include "entropy.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void entropy_bytes(void *out, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, out, n) : -1;
    if (fd >= 0)
        close(fd);
    if (got == (ssize_t)n)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t mix = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
    unsigned char *p = out;
    for (size_t i = 0; i < n; i++, mix = mix * 6364136223846793005u + 1442695040888963407u)
        p[i] = (unsigned char)(mix >> 56);
}

/* keyslot.c: CRC16-XMODEM and hash tags (see keyslot.h). */
#include "keyslot.h"

#include <string.h>

/* The table of CRC16-XMODEM for each byte value, built on first use: a
 * key's slot is computed once per script call and per read, so the table
 * is for the tag searches of keys.c, which hash a few hundred short
 * strings per experiment. Building it is idempotent, so two threads racing
 * on the first call write the same values. */
static uint16_t crc_table[256];
static int crc_table_ready;

static void build_table(void)
{
    for (unsigned b = 0; b < 256; b++) {
        uint16_t crc = (uint16_t)(b << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        crc_table[b] = crc;
    }
    crc_table_ready = 1;
}

uint16_t keyslot_crc16(const void *data, size_t n)
{
    if (!crc_table_ready)
        build_table();
    const unsigned char *p = data;
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++)
        crc = (uint16_t)((crc << 8) ^ crc_table[((crc >> 8) ^ p[i]) & 0xff]);
    return crc;
}

unsigned keyslot_of(const char *key, size_t n)
{
    const char *open = memchr(key, '{', n);
    if (open) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(open + 1, '}', n - from);
        /* "{}" (an empty tag) does not count as a tag: the whole key is hashed */
        if (close && close > open + 1)
            return keyslot_crc16(open + 1, (size_t)(close - open - 1)) & (KEYSLOT_COUNT - 1);
    }
    return keyslot_crc16(key, n) & (KEYSLOT_COUNT - 1);
}

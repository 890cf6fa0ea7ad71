/* keyslot.h: the Redis Cluster slot of a key.
 *
 * Redis Cluster splits keys over 16,384 slots: a key's slot is the CRC16
 * (XMODEM: polynomial 0x1021, initial value 0) of the key, modulo 16,384.
 * When the key holds a hash tag, a '{' followed later by a '}' with at
 * least one byte between them, only the bytes between the first '{' and
 * the first '}' after it are hashed, so keys sharing a tag share a slot and
 * one script call may touch them all. The cluster specification defines
 * both rules; `CLUSTER KEYSLOT` on a real server is the test oracle
 * (tests/unit/test_keyslot.c holds values it answered).
 *
 * The router (redis_link.h) sends each command to the master owning its
 * slot; keys.h picks hash tags so that one experiment's data spreads
 * evenly over the slot space. Pure. */
#ifndef UPSHOT_KEYSLOT_H
#define UPSHOT_KEYSLOT_H

#include <stddef.h>
#include <stdint.h>

#define KEYSLOT_COUNT 16384u

/* CRC16-XMODEM of n bytes. */
uint16_t keyslot_crc16(const void *data, size_t n);

/* The slot of a key of n bytes (binary-safe), hash tags honoured. */
unsigned keyslot_of(const char *key, size_t n);

#endif

"""Upshot's Redis key names, written again in Python from docs/redis.md for
the tests and benchmarks (engine/core/keys.h is the C original; the tests
that use both check each against Redis itself).

One experiment's data is split into GROUPS shard groups; group g's hash
tag is "x:EXP:g:n" with n the smallest integer whose tag's key slot lies in
[slot_lo(g), slot_lo(g + 1)). A visitor's shard is the top 16 bits of
murmur3_32(visitor, 0), its group the shard modulo GROUPS.
"""
import functools
import struct

GROUPS = 12
SHARDS = 65536
SLOTS = 16384


def crc16(data):
    """CRC16-XMODEM, as Redis Cluster computes key slots."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def key_slot(key):
    """The Redis Cluster slot of key (str or bytes), hash tags honoured."""
    b = key.encode() if isinstance(key, str) else key
    o = b.find(b"{")
    if o >= 0:
        c = b.find(b"}", o + 1)
        if c > o + 1:
            b = b[o + 1:c]
    return crc16(b) % SLOTS


def murmur3_32(data, seed=0):
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h, n = seed, len(data)
    whole = n - n % 4
    for i in range(0, whole, 4):
        k = struct.unpack_from("<I", data, i)[0]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    k = 0
    tail = n % 4
    if tail >= 3:
        k ^= data[whole + 2] << 16
    if tail >= 2:
        k ^= data[whole + 1] << 8
    if tail >= 1:
        k ^= data[whole]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def slot_lo(g):
    """First slot of group g's range: round(g * 16384 / 12)."""
    return (2 * g * SLOTS + GROUPS) // (2 * GROUPS)


@functools.lru_cache(maxsize=None)
def tags(exp):
    """The GROUPS hash tags of experiment exp (without braces)."""
    out = []
    for g in range(GROUPS):
        n = 0
        while not slot_lo(g) <= crc16(b"x:%s:%d:%d" % (exp.encode(), g, n)) % SLOTS < slot_lo(g + 1):
            n += 1
        out.append("x:%s:%d:%d" % (exp, g, n))
    return tuple(out)


def shard_of(visitor):
    return murmur3_32(visitor.encode()) >> 16


def group_of(visitor):
    return shard_of(visitor) % GROUPS


def counters_key(exp, g):
    return "{%s}:cnt" % tags(exp)[g]


def event_tokens_key(exp, g):
    return "{%s}:ev" % tags(exp)[g]


def visitor_key(exp, visitor):
    """The key of the hash holding visitor's record in experiment exp."""
    s = shard_of(visitor)
    return "{%s}:v:%d" % (tags(exp)[s % GROUPS], s)


def visitor_pattern(exp):
    """A KEYS/SCAN pattern matching every visitor shard of exp."""
    return "{x:%s:*}:v:*" % exp


FLOAT_METRICS = tuple(p + m for p in ("", "p") for m in ("s", "q", "xs", "xq", "xy", "ks", "kq", "kx", "rs"))


def merge_counters(hashes):
    """Sums (field -> value string) dicts of several groups into one dict of
    numbers: floats for the revenue metrics, ints for the others."""
    out = {}
    for h in hashes:
        for f, v in h.items():
            f = f.decode() if isinstance(f, bytes) else f
            v = v.decode() if isinstance(v, bytes) else v
            if f == "cap":  # the revenue cap: the same in every group, not a sum
                out[f] = float(v)
                continue
            num = float(v) if f.split("|", 1)[0] in FLOAT_METRICS else int(v)
            out[f] = out.get(f, 0) + num
    return out

// hash.js: the bucketing hash shared with upshotd (docs/assignment.md).
//
// MurmurHash3, x86 32-bit variant, over the UTF-8 bytes of a string, and the
// map of a 32-bit hash onto 10,000 buckets. engine/core/hash.c is the C twin; both
// run tests/vectors/assignment.json so they cannot drift apart.

/** Number of buckets every decision is made in (0.01% resolution). */
export const BUCKETS = 10000

const utf8 = /* @__PURE__ */ new TextEncoder()

/**
 * MurmurHash3 x86 32 of a string (hashed as UTF-8) or of raw bytes.
 * Returns an unsigned 32-bit integer.
 */
export function murmur3 (input, seed = 0) {
  const b = typeof input === 'string' ? utf8.encode(input) : input
  const n = b.length
  const tail = n & ~3
  let h = seed >>> 0
  let k
  for (let i = 0; i < tail; i += 4) {
    k = b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24
    k = Math.imul(k, 0xcc9e2d51)
    k = Math.imul(k << 15 | k >>> 17, 0x1b873593)
    h ^= k
    h = h << 13 | h >>> 19
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  k = 0
  switch (n & 3) {
    case 3: k ^= b[tail + 2] << 16 // falls through
    case 2: k ^= b[tail + 1] << 8 // falls through
    case 1:
      k ^= b[tail]
      k = Math.imul(k, 0xcc9e2d51)
      h ^= Math.imul(k << 15 | k >>> 17, 0x1b873593)
  }
  h ^= n
  h = Math.imul(h ^ h >>> 16, 0x85ebca6b)
  h = Math.imul(h ^ h >>> 13, 0xc2b2ae35)
  return (h ^ h >>> 16) >>> 0
}

/** floor(h * 10000 / 2^32): exact in doubles, since h * 10000 < 2^46. */
export function toBucket (h) {
  return Math.floor(h * BUCKETS / 4294967296)
}

/**
 * The bucket of one decision: purpose is "layer", "holdback", "coverage" or
 * "variant"; distinct purposes make the decisions independent.
 */
export function bucket (salt, purpose, visitor) {
  return toBucket(murmur3(salt + '|' + purpose + '|' + visitor, 0))
}

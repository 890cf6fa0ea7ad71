/** Number of buckets every decision is made in (0.01% resolution). */
export declare const BUCKETS: 10000
/** MurmurHash3 x86 32 of a string (as UTF-8) or raw bytes; an unsigned 32-bit integer. */
export declare function murmur3(input: string | Uint8Array, seed?: number): number
/** floor(h * 10000 / 2^32). */
export declare function toBucket(h: number): number
/** bucket(murmur3(salt + "|" + purpose + "|" + visitor, 0)). */
export declare function bucket(salt: string, purpose: 'layer' | 'holdback' | 'coverage' | 'variant' | string, visitor: string): number

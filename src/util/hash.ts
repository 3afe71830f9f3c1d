/** Non-cryptographic hashing shared by the modules that spread things by hash (RRL buckets, rendezvous). */

/** murmur3's finaliser: every input bit flips about half of the output bits. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

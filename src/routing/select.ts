/** Weighted choices, either from an injected rng or from a seed derived from the client subnet (stable). */
import type { Rng } from '../util/rng.js';
import { fnv1aString, FNV_OFFSET, FNV_PRIME } from '../util/hash.js';

/** FNV-1a over the first `bits` bits of an address, so every client in that block hashes alike. */
export function subnetHash(addr: Buffer, bits: number, salt: string): number {
  let h = FNV_OFFSET;
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) h = Math.imul(h ^ addr[i]!, FNV_PRIME);
  const rest = bits & 7;
  if (rest) h = Math.imul(h ^ (addr[whole]! & ((0xff << (8 - rest)) & 0xff)), FNV_PRIME);
  return fnv1aString(salt, h);
}

/** One item, chosen with probability proportional to weight (all-zero weights: uniform). */
export function weightedPick<T>(items: readonly T[], weight: (t: T) => number, rng: Rng): T | undefined {
  if (items.length <= 1) return items[0];
  let total = 0;
  for (const i of items) total += Math.max(0, weight(i));
  if (total <= 0) return items[Math.floor(rng() * items.length)];
  let r = rng() * total;
  for (const i of items) {
    r -= Math.max(0, weight(i));
    if (r < 0) return i;
  }
  return items[items.length - 1];
}

/** Weighted order without replacement (Efraimidis-Spirakis keys u^(1/w)); zero weights never come first. */
export function weightedOrder<T>(items: readonly T[], weight: (t: T) => number, rng: Rng): T[] {
  if (items.length <= 1) return [...items];
  return items
    .map((item) => {
      const w = weight(item);
      return { item, key: w > 0 ? Math.pow(rng(), 1 / w) : -1 };
    })
    .sort((a, b) => b.key - a.key)
    .map((x) => x.item);
}

/** Weighted choices, either from an injected rng or from a seed derived from the client subnet (stable). */
import type { Rng } from '../util/rng.js';

/** FNV-1a over the first `bits` bits of an address, so every client in that block hashes alike. */
export function subnetHash(addr: Buffer, bits: number, salt: string): number {
  let h = 0x811c9dc5;
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) h = Math.imul(h ^ addr[i]!, 0x01000193);
  const rest = bits & 7;
  if (rest) h = Math.imul(h ^ (addr[whole]! & ((0xff << (8 - rest)) & 0xff)), 0x01000193);
  for (let i = 0; i < salt.length; i++) h = Math.imul(h ^ salt.charCodeAt(i), 0x01000193);
  return h >>> 0;
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

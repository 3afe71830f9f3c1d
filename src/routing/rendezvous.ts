/**
 * Weighted rendezvous (highest random weight) hashing: every (client block, item) pair gets a score, and a
 * client block takes the items in the order of their scores. Removing an item moves only the blocks it was
 * first for; adding one takes only the blocks it now wins. Weighted by score = -w / ln(h), h in (0, 1) from a
 * 53-bit hash of the pair, so an item wins a share of blocks proportional to its weight.
 */
import { fmix32, fnv1aString } from '../util/hash.js';

/** FNV-1a of a string: the item's half of the pair (an endpoint address, a region name), made at snapshot build. */
export function keyHash(key: string): number {
  return fnv1aString(key);
}

const TWO_32 = 2 ** 32;
const TWO_53 = 2 ** 53;

/**
 * A uniform number in (0, 1), the same for the same (block seed, item hash): 53 bits from two mixes of the
 * pair. FNV alone is not enough here: nearby client blocks would give nearby values.
 */
export function pairUniform(seed: number, item: number): number {
  const a = fmix32((seed ^ Math.imul(item, 0x9e3779b1)) >>> 0);
  const b = fmix32((a ^ item ^ 0x5bd1e995) >>> 0);
  return ((a >>> 11) * TWO_32 + b + 0.5) / TWO_53;
}

/**
 * The pair's score: higher wins. Zero weights score below every positive weight (never first while one is
 * there) and, among themselves, as if of weight 1: all-zero items are still spread evenly.
 */
export function rendezvousScore(seed: number, item: number, weight: number): number {
  const ln = Math.log(pairUniform(seed, item));
  return weight > 0 ? -weight / ln : 1 / ln;
}

/** `items` in the order a client block (its seed) takes them: highest score first. `hash`: the item's keyHash. */
export function rendezvousOrder<T>(items: readonly T[], hash: (t: T) => number, weight: (t: T) => number, seed: number): T[] {
  if (items.length <= 1) return [...items];
  return items
    .map((item) => ({ item, score: rendezvousScore(seed, hash(item), weight(item)) }))
    .sort((a, b) => b.score - a.score)
    .map((x) => x.item);
}

/** The item a client block takes first (undefined for none). */
export function rendezvousPick<T>(items: readonly T[], hash: (t: T) => number, weight: (t: T) => number, seed: number): T | undefined {
  let best: T | undefined;
  let bestScore = -Infinity;
  for (const item of items) {
    const s = rendezvousScore(seed, hash(item), weight(item));
    if (s > bestScore) {
      best = item;
      bestScore = s;
    }
  }
  return best;
}

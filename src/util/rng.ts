/**
 * The one seeded pseudo-random generator. Steering derives stable per-subnet choices from it, and the tests,
 * the fuzzer and the bench draw reproducible sequences from it, so one seed means one sequence everywhere.
 * Not for secrets (cookie secrets and RRL seeds come from node:crypto / Math.random).
 */

/** A source of numbers in [0, 1): `Math.random`, or `seededRng(seed)` where behaviour must be reproducible. */
export type Rng = () => number;

/** mulberry32: 32 bits of state, fast, and evenly spread enough for weighted choices and test data. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

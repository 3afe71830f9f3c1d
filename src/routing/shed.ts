/**
 * Load shedding (a service's `shed: { from, to }`): as a region's reported utilization goes from `from` to `to`,
 * a share of its clients growing linearly from 0 to 1 is moved to their next best region. Which clients: those
 * whose client block (/24, /56) hashes below the share for that region (rendezvous.ts pairUniform), so a
 * growing share moves the same clients plus more, and a falling one brings the same clients back.
 */
import type { RegionIndex } from '../model/indexes.js';
import { pairUniform } from './rendezvous.js';

/** The share of a region's clients shed at `utilization` (none without a fresh report). */
export function shedShare(utilization: number | undefined, shed: { from: number; to: number }): number {
  if (utilization === undefined || utilization <= shed.from) return 0;
  if (utilization >= shed.to) return 1;
  return (utilization - shed.from) / (shed.to - shed.from);
}

/** Is the client block `seed` among the first `share` of the region's clients to be shed? (`regionHash`: RegionIndex.hash) */
export function isShed(seed: number, regionHash: number, share: number): boolean {
  return share > 0 && pairUniform(seed, regionHash) < share;
}

export interface Shedding {
  /** The regions left to choose from: the eligible ones minus those shedding this client, unless all are. */
  kept: RegionIndex[];
  /** Per eligible region that sheds at all: its share, and whether this client is shed from it. */
  shares: Map<string, { share: number; shed: boolean }>;
  /** The outcome depends on the client block (some share is strictly between 0 and 1): scope it so. */
  perBlock: boolean;
}

export function applyShedding(eligible: RegionIndex[], shed: { from: number; to: number }, utilization: ReadonlyMap<string, number>, seed: number): Shedding {
  const shares = new Map<string, { share: number; shed: boolean }>();
  let perBlock = false;
  const kept: RegionIndex[] = [];
  for (const r of eligible) {
    const name = r.region.name;
    const share = shedShare(utilization.get(name), shed);
    if (share === 0) {
      kept.push(r);
      continue;
    }
    if (share < 1) perBlock = true;
    const out = isShed(seed, r.hash, share);
    shares.set(name, { share, shed: out });
    if (!out) kept.push(r);
  }
  // Shed by every region: nowhere better to go, so the client stays where it would have been.
  if (kept.length === 0) {
    for (const s of shares.values()) s.shed = false;
    return { kept: eligible, shares, perBlock };
  }
  return { kept, shares, perBlock };
}

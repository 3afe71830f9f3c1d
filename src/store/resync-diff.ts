/**
 * What a full re-read of the store changes in this node's copy of the state, as far as snapshots are concerned.
 * With Redis every node re-reads everything every 10 s (the safety net for lost notifications), and nearly
 * always finds what the change feed already delivered: reporting that as a change rebuilt every node's
 * snapshot, and emptied its decision cache, every 10 s for nothing.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ProberState } from '../health/probe-state.js';
import type { StateData } from './types.js';

/** The shortest freshness window (30 s): a report after longer silence may bring a prober back into the vote. */
export const MIN_FRESHNESS_MS = 30_000;

/**
 * Whether replacing probe state `prev` by `next` (null: deleted) can change a routing decision. A report that
 * only refreshes a state (same up/down, same last transition, its prober still fresh) cannot: with thousands
 * of checks a second, rebuilding for each would cost the query path its latency.
 */
export function probeChangeMatters(prev: ProberState | undefined, next: ProberState | null, now: number): boolean {
  // `rising` ending (the first `rise` successes) changes what `unverified: wait` answers.
  return !next || !prev || prev.up !== next.up || prev.since !== next.since || prev.rising !== next.rising || now - prev.at > MIN_FRESHNESS_MS;
}

function sameMaps<V>(a: ReadonlyMap<string, V>, b: ReadonlyMap<string, V>, same: (x: V, y: V) => boolean): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !same(v, w)) return false;
  }
  return true;
}

export interface ResyncDiff {
  /** API registrations differ (the regions must be indexed again). */
  regions: boolean;
  /** Anything differs that snapshots are built from: rebuild. */
  changed: boolean;
}

/**
 * Compare the state this node had with a re-read one. Values are compared by content (a registration read back
 * from Redis is a new object equal to the one the change feed delivered); probe states also by probeChangeMatters.
 */
export function resyncDiff(prev: StateData, next: StateData, now: number): ResyncDiff {
  const regions = !sameMaps(prev.regions, next.regions, isDeepStrictEqual);
  const changed =
    regions ||
    !sameMaps(prev.drains, next.drains, isDeepStrictEqual) ||
    !sameMaps(prev.latency, next.latency, isDeepStrictEqual) ||
    !sameMaps(prev.load, next.load, isDeepStrictEqual) ||
    // An identical state is no news even when stale (a prober gone quiet stays in the store until pruned, and
    // the freshness rule alone would then rebuild at every resync); a newer report of it is judged by the rule.
    !sameMaps(prev.probes, next.probes, (p, n) => isDeepStrictEqual(p, n) || !probeChangeMatters(p, n, now));
  return { regions, changed };
}

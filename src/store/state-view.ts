/**
 * What a DNS worker process needs of this node's shared state to build the same snapshots: the registered
 * regions, drains and learned latency as the cache holds them, and the probe states as the cache's view
 * counts them (with the store unreachable, only this node's own results for what it checks). A worker puts
 * it in its own StateCache with a resync, so its snapshots are computed exactly as the primary's are.
 */
import type { StateCache } from './state-cache.js';
import { probeKey } from './keys.js';
import type { StateData } from './types.js';
import type { ProberState } from '../health/probe-state.js';

export function effectiveState(cache: StateCache): StateData {
  const probes = new Map<string, ProberState>();
  for (const [endpointKey, byProber] of cache.probeIndex()) {
    const sep = endpointKey.indexOf('|');
    const region = endpointKey.slice(0, sep);
    const endpoint = endpointKey.slice(sep + 1);
    for (const [prober, state] of byProber) probes.set(probeKey(region, endpoint, prober), state);
  }
  const { regions, drains, latency, load } = cache.state;
  return { regions, drains, probes, latency, load };
}

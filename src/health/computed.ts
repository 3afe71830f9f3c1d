/** Probe states + drains + regions -> the HealthView a snapshot carries, and the verdicts the API shows. */
import type { RegionIndex } from '../snapshot/types.js';
import { splitProbeKey, type DrainRecord, type ProberState } from '../store/types.js';
import { endpointVerdict, freshnessFor, type EndpointVerdict } from './machine.js';
import type { HealthView, RegionHealth } from './view.js';

export interface RegionVerdict extends RegionHealth {
  drain?: DrainRecord;
  endpoints: Map<string, EndpointVerdict>;
  upCount: number;
}

export class ComputedHealth implements HealthView {
  readonly regions = new Map<string, RegionVerdict>();
  /** When the view changes by itself (a report going stale, instability ending): rebuild then. */
  nextChangeAt: number | undefined;

  region(name: string): RegionHealth {
    return this.regions.get(name) ?? UNKNOWN;
  }

  endpointUp(region: string, address: string): boolean {
    return this.regions.get(region)?.endpoints.get(address)?.up ?? true;
  }
}

const UNKNOWN: RegionHealth = { up: true, drained: false, reason: 'no health data: up', unstable: false };

/** Group probe states by `${region}|${endpoint}` once per build. */
export function indexProbes(probes: Map<string, ProberState>): Map<string, [string, ProberState][]> {
  const byEndpoint = new Map<string, [string, ProberState][]>();
  for (const [key, state] of probes) {
    const [region, endpoint, prober] = splitProbeKey(key);
    const k = `${region}|${endpoint}`;
    let list = byEndpoint.get(k);
    if (!list) byEndpoint.set(k, (list = []));
    list.push([prober, state]);
  }
  return byEndpoint;
}

export function computeHealth(
  regions: Map<string, RegionIndex>,
  probes: Map<string, [string, ProberState][]>,
  drains: Map<string, DrainRecord>,
  now: number,
): ComputedHealth {
  const view = new ComputedHealth();
  const note = (t: number) => {
    if (t > now && (view.nextChangeAt === undefined || t < view.nextChangeAt)) view.nextChangeAt = t;
  };
  for (const [name, r] of regions) {
    const freshness = freshnessFor(r.region.check?.intervalMs);
    const endpoints = new Map<string, EndpointVerdict>();
    let upCount = 0;
    let recentChange = false;
    for (const ep of [...r.v4, ...r.v6, ...r.hosts]) {
      const states = probes.get(`${name}|${ep.address}`) ?? [];
      const v = endpointVerdict(states, now, freshness);
      endpoints.set(ep.address, v);
      if (v.up) upCount++;
      for (const [, s] of states) {
        note(s.at + freshness + 1);
        // A state change within the freshness window counts as flapping (shorter TTLs until it settles).
        if (s.transitions > 0 && now - s.since < freshness) {
          recentChange = true;
          note(s.since + freshness + 1);
        }
      }
    }
    const drain = drains.get(name);
    const up = upCount >= r.region.minHealthy;
    const total = endpoints.size;
    let reason = up ? `up: ${upCount}/${total} endpoints up (min-healthy ${r.region.minHealthy})` : `down: ${upCount}/${total} endpoints up, min-healthy ${r.region.minHealthy}`;
    if (drain) reason = `drained since ${new Date(drain.since).toISOString()}${drain.reason ? `: ${drain.reason}` : ''}; ${reason}`;
    view.regions.set(name, {
      up,
      drained: drain !== undefined,
      reason,
      unstable: !up || recentChange,
      ...(drain ? { drain } : {}),
      endpoints,
      upCount,
    });
  }
  return view;
}


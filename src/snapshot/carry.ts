/**
 * Which cached decisions a state rebuild keeps. A decision depends on the client's location data, the
 * candidate regions' health (per family: eligible, drained, unstable, which endpoints are up or waiting) and, for the
 * latency policy, the latency table. So a health change drops the decisions of the services that use a region
 * whose health changed, and keeps the rest (a load change: those of the services with `shed` over a region whose
 * utilization changed); a latency change drops the decisions of latency services whose
 * client block meets a changed CIDR entry or whose client is in a changed country or continent. New location
 * data or re-indexed regions and services (an API registration) start a fresh cache.
 */
import { placeId, DecisionCache, type CarryPlan } from '../routing/decision-cache.js';
import type { LatencyTable, MeasuredLatency } from '../geo/latency-table.js';
import type { Locator } from '../geo/locator.js';
import type { HealthView } from '../health/view.js';
import type { RegionIndex, ServiceIndex } from '../model/indexes.js';
import type { Cidr } from '../util/cidr.js';

/** What the next snapshot is made of, as far as decisions go. */
export interface DecisionInputs {
  locator: Locator;
  regions: Map<string, RegionIndex>;
  services: Map<string, ServiceIndex>;
  health: HealthView;
  latency: LatencyTable;
  utilization: ReadonlyMap<string, number>;
  passiveDown: ReadonlyMap<string, string>;
  decisions: DecisionCache;
}

/** The decision cache for a snapshot made of `next`, from the one of `prev`. */
export function carryDecisions(prev: DecisionInputs, next: Omit<DecisionInputs, 'decisions'>, generation: number): DecisionCache {
  if (next.locator !== prev.locator || next.services !== prev.services || next.regions !== prev.regions) return new DecisionCache(generation);
  const unhealthy = prev.health === next.health ? new Set<string>() : healthChanges(prev.health, next.health, next.regions);
  const latency = prev.latency === next.latency ? [] : latencyChanges(prev.latency, next.latency);
  const loaded = loadChanges(prev.utilization, next.utilization);
  // Any CIDR entry also narrows every latency service's ECS scopes, whichever region it is for.
  const cidrs: Cidr[] = [];
  for (const m of latency) if (m.client.kind === 'cidr') cidrs.push(m.client);
  const byOrdinal: ServiceIndex[] = [];
  for (const s of next.services.values()) byOrdinal[s.ordinal] = s;
  return prev.decisions.carry((ordinal): CarryPlan => {
    const svc = byOrdinal[ordinal];
    if (!svc || svc.regions.some((r) => unhealthy.has(r.region.name))) return 'drop';
    if (svc.service.shed && svc.regions.some((r) => loaded.has(r.region.name))) return 'drop';
    if (svc.service.maxErrorRatio !== undefined && svc.regions.some((r) => prev.passiveDown.has(`${svc.service.name}|${r.region.name}`) !== next.passiveDown.has(`${svc.service.name}|${r.region.name}`))) return 'drop';
    if (svc.service.policy !== 'latency' || latency.length === 0) return 'keep';
    const places = new Set<number>();
    for (const { client: c, region } of latency) {
      if (c.kind !== 'cidr' && svc.regions.some((r) => r.region.name === region)) places.add(placeId(c.kind === 'country' ? c.country : c.continent));
    }
    return cidrs.length === 0 && places.size === 0 ? 'keep' : { cidrs, places };
  });
}

/**
 * Regions whose health, as steering reads it, differs between two views: the per-family verdicts, the drain,
 * instability (it halves TTLs) and each answering endpoint's up/down. Reasons in words do not count.
 */
function healthChanges(before: HealthView, after: HealthView, regions: Map<string, RegionIndex>): Set<string> {
  const changed = new Set<string>();
  for (const [name, r] of regions) if (healthKey(before, name, r) !== healthKey(after, name, r)) changed.add(name);
  return changed;
}

function healthKey(view: HealthView, name: string, r: RegionIndex): string {
  const h = view.region(name);
  // With `unverified: wait`, endpoints and families still waiting for their first checks answer differently.
  const family = (f: 'ipv4' | 'ipv6') => `${(h.families?.[f].up ?? h.up) ? '1' : '0'}${h.families?.[f].settled === false ? 'w' : ''}`;
  const endpoint = (e: { address: string }) => (!view.endpointUp(name, e.address) ? '0' : view.endpointWaiting(name, e.address) ? 'w' : '1');
  let key = `${h.drained ? 1 : 0}${h.unstable ? 1 : 0}${family('ipv4')}/${family('ipv6')}:`;
  for (const e of r.answering.ipv4) key += endpoint(e);
  key += ':';
  for (const e of r.answering.ipv6) key += endpoint(e);
  return key;
}

/** Regions whose utilization (as shedding reads it) was reported anew, changed or went stale. */
function loadChanges(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Set<string> {
  const out = new Set<string>();
  if (before === after) return out;
  for (const [name, u] of after) if (before.get(name) !== u) out.add(name);
  for (const name of before.keys()) if (!after.has(name)) out.add(name);
  return out;
}

/** Measured values added, removed or with another RTT. */
function latencyChanges(before: LatencyTable, after: LatencyTable): MeasuredLatency[] {
  const out: MeasuredLatency[] = [];
  for (const [k, m] of after.measured) if (before.measured.get(k)?.rttMs !== m.rttMs) out.push(m);
  for (const [k, m] of before.measured) if (!after.measured.has(k)) out.push(m);
  return out;
}

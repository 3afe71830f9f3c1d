/**
 * Steering: which region and endpoints answer a service query for a client. A pure function of the snapshot,
 * the service, the query type, the client and an injected rng, so that DNS answers and `explain` (which shows
 * the very Decision the responder used) can never disagree, and so that every policy is table-testable.
 */
import { RRType } from '../dns/constants.js';
import { greatCircleKm, rttFromDistanceMs } from '../geo/distance.js';
import type { ClientLocation } from '../geo/locator.js';
import type { EndpointIndex, RegionIndex, ServiceIndex, Snapshot } from '../snapshot/types.js';
import type { Policy } from '../zone/types.js';
import { seededRng, subnetHash, weightedOrder, weightedPick, type Rng } from './select.js';

export interface Client {
  /** 4 or 16 bytes; only the first `sourcePrefix` bits are the client's (the rest are zero). */
  address: Buffer;
  family: 4 | 6;
  /** ECS source prefix length, or the full address length for a resolver address. */
  sourcePrefix: number;
  /** True when located by EDNS Client Subnet rather than by the resolver's own address. */
  viaEcs: boolean;
}

export interface Candidate {
  region: string;
  /** Up and not drained. */
  healthy: boolean;
  drained: boolean;
  health: string;
  /** Down or recently changed: the service answers with half its TTL meanwhile. */
  unstable: boolean;
  weight: number;
  bias: number;
  /** Estimated RTT before bias, when one could be made. */
  rttMs?: number;
  /** Where the RTT came from: `cidr 198.51.100.0/24 (zone)`, `country DE (measured)`, `distance 5432 km`. */
  rttSource?: string;
  distanceKm?: number;
  chosen: boolean;
}

export interface Decision {
  service: string;
  policy: Policy;
  region?: RegionIndex;
  /** Address records to answer with (same family as the query). */
  endpoints: EndpointIndex[];
  /** Set when the chosen region is reached through a hostname: answer a CNAME to it. */
  cname?: EndpointIndex;
  ttl: number;
  /** ECS scope prefix length: how much of the client address the decision depended on. */
  scope: number;
  location?: ClientLocation;
  candidates: Candidate[];
  /** Every candidate was down and `when-all-down: all` answered as if all were up. */
  failOpen: boolean;
  reason: string;
}

/** Clients in one /24 (IPv4) or /56 (IPv6) share tie-breaks and endpoint rotation, so caches do not flap. */
export const STICKY_PREFIX = { 4: 24, 6: 56 } as const;

/** Decision cache effectiveness, read by /metrics (process-wide counters: the cache itself is per snapshot). */
export const decisionCacheStats = { hits: 0, misses: 0 };

export function decide(snap: Snapshot, svc: ServiceIndex, qtype: number, client: Client, rng: Rng = Math.random): Decision {
  const { service } = svc;
  const located = service.policy === 'latency' || service.policy === 'geo';
  const wantV6 = qtype === RRType.AAAA;
  let key: string | undefined;
  if (located) {
    const bytes = (client.sourcePrefix + 7) >> 3;
    // Short keys hash fast: service ordinal, answer family, client family and prefix, then the address bytes.
    key = String.fromCharCode(svc.ordinal, wantV6 ? 6 : 4, client.family, client.sourcePrefix) + client.address.toString('latin1', 0, bytes);
    const hit = snap.decisions.get(key);
    if (hit) {
      decisionCacheStats.hits++;
      return hit;
    }
    decisionCacheStats.misses++;
  }
  const d = compute(snap, svc, wantV6, client, rng);
  if (key !== undefined) snap.decisions.set(key, d);
  return d;
}

function compute(snap: Snapshot, svc: ServiceIndex, wantV6: boolean, client: Client, rng: Rng): Decision {
  const { service } = svc;
  const policy = service.policy;
  const located = policy === 'latency' || policy === 'geo';
  const stickyBits = Math.min(client.sourcePrefix, STICKY_PREFIX[client.family]);
  // Separate streams for the region draw and the endpoint order: with one seed, the endpoint order reused the
  // value that picked the region, so within a tolerance group each region's subnets favoured one endpoint
  // (e.g. 12% / 38% instead of 25% / 25% for two equal endpoints in each of two equal regions).
  const stickyRng = (purpose: 'region' | 'endpoints') =>
    seededRng(subnetHash(client.address, stickyBits, purpose === 'region' ? service.name : service.name + '\u0000endpoints'));

  const candidates: Candidate[] = svc.regions.map((r) => {
    const h = snap.health.region(r.region.name);
    return { region: r.region.name, healthy: h.up && !h.drained, drained: h.drained, health: h.reason, unstable: h.unstable, weight: r.region.weight, bias: r.region.bias, chosen: false };
  });
  // gdnsd's idea: while any candidate is down or flapping, resolvers should come back sooner.
  const shortTtl = candidates.some((c) => c.unstable);
  const ttl = shortTtl ? Math.max(1, Math.floor(service.ttl / 2)) : service.ttl;

  // Scope: the longest prefix of any client-dependent data consulted.
  let scope = 0;
  let location: ClientLocation | undefined;
  if (located) {
    location = snap.locator.locate(client.address, client.family, client.sourcePrefix);
    svc.regions.forEach((r, i) => {
      const c = candidates[i]!;
      if (policy === 'latency') {
        const m = snap.latency.lookup(r.region.name, client.address, client.family, client.sourcePrefix, location!.country, location!.continent);
        if (m) {
          c.rttMs = m.entry.rttMs;
          c.rttSource = `${m.kind === 'continent' ? '' : m.kind + ' '}${m.entry.client} (${m.entry.origin})`;
          scope = Math.max(scope, m.kind === 'cidr' ? m.prefix! : location!.prefixLength);
          return;
        }
      }
      scope = Math.max(scope, location!.prefixLength);
      if (location!.lat !== undefined && location!.lon !== undefined) {
        const km = greatCircleKm(location!.lat, location!.lon, r.region.location.lat, r.region.location.lon);
        c.distanceKm = Math.round(km);
        c.rttMs = Math.round(rttFromDistanceMs(km) * 10) / 10;
        c.rttSource = `distance ${c.distanceKm} km`;
      }
    });
  }

  let eligible = svc.regions.filter((_, i) => candidates[i]!.healthy);
  let failOpen = false;
  const base = { service: service.name, policy, ttl, candidates, ...(location ? { location } : {}) };
  if (eligible.length === 0) {
    if (service.whenAllDown === 'none' || svc.regions.length === 0) {
      const reason = svc.regions.length === 0 ? 'the service has no regions' : 'every region is down or drained (when-all-down: none)';
      return { ...base, endpoints: [], scope: 0, failOpen: false, reason };
    }
    failOpen = true;
    eligible = svc.regions;
  }

  let region: RegionIndex;
  let reason: string;
  let sticky = false;
  const indexOf = (r: RegionIndex) => svc.regions.indexOf(r);
  const score = (r: RegionIndex): number | undefined => {
    const c = candidates[indexOf(r)]!;
    return c.rttMs === undefined ? undefined : c.rttMs - c.bias;
  };
  switch (policy) {
    case 'failover':
      region = eligible[0]!;
      reason = `first ${failOpen ? '' : 'healthy '}region in list order`;
      break;
    case 'weighted':
      region = weightedPick(eligible, (r) => r.region.weight, rng)!;
      reason = `weighted random choice among ${eligible.length} region(s)`;
      break;
    default: {
      const scored = eligible.filter((r) => score(r) !== undefined);
      if (scored.length === 0) {
        region = eligible[0]!;
        reason = 'client location unknown: first region in list order';
        break;
      }
      const best = Math.min(...scored.map((r) => score(r)!));
      const close = scored.filter((r) => score(r)! <= best + service.toleranceMs);
      if (close.length === 1) {
        region = close[0]!;
        reason = `lowest estimated RTT (${policy === 'geo' ? 'nearest' : 'latency'})`;
      } else {
        sticky = true;
        region = weightedPick(close, (r) => r.region.weight, stickyRng('region'))!;
        reason = `${close.length} regions within ${service.toleranceMs} ms of the best share by weight; this client subnet's share`;
      }
    }
  }
  candidates[indexOf(region)]!.chosen = true;

  const family = wantV6 ? region.v6 : region.v4;
  const name = region.region.name;
  const usable = family.filter((e) => e.weight > 0 && (failOpen || snap.health.endpointUp(name, e.address)));
  let endpoints: EndpointIndex[] = [];
  let cname: EndpointIndex | undefined;
  if (usable.length > 0) {
    if (usable.length > service.answers && located) sticky = true;
    endpoints = weightedOrder(usable, (e) => e.weight, located ? stickyRng('endpoints') : rng).slice(0, service.answers);
  } else if (region.v4.length === 0 && region.v6.length === 0) {
    const hosts = region.hosts.filter((e) => e.weight > 0 && (failOpen || snap.health.endpointUp(name, e.address)));
    cname = weightedOrder(hosts, (e) => e.weight, located ? stickyRng('endpoints') : rng)[0];
    if (cname && hosts.length > 1 && located) sticky = true;
  }

  if (located) {
    if (sticky) scope = Math.max(scope, stickyBits);
    if (policy === 'latency') scope = snap.latency.allCidr.narrowScope(client.address, client.family, scope);
    scope = Math.min(scope, client.sourcePrefix);
  }
  if (failOpen) reason = `every region is down: answering as if all were up (when-all-down: all); ${reason}`;
  if (shortTtl) reason += `; TTL halved to ${ttl} s while a candidate region is down or flapping`;
  return { ...base, region, endpoints, ...(cname ? { cname } : {}), scope, failOpen, reason };
}

/**
 * Steering: which region and endpoints answer a service query for a client. A pure function of the routing view (the snapshot),
 * the service, the query type, the client and an injected rng, so that DNS answers and `explain` (which shows
 * the very Decision the responder used) can never disagree, and so that every policy is table-testable.
 */
import { RRType } from '../wire/constants.js';
import { greatCircleKm, rttFromDistanceMs } from '../geo/distance.js';
import type { ClientLocation } from '../geo/locator.js';
import type { RegionHealth } from '../health/view.js';
import type { RoutingView } from './view.js';
import type { DecisionCache } from './decision-cache.js';
import type { Candidate, Client, Decision, DecisionWhy, FamilyEligibility } from './decision.js';
import type { EndpointIndex, RegionIndex, ServiceIndex } from '../model/indexes.js';
import { FAMILY_LABEL, type AddressFamily } from '../model/families.js';
import { subnetHash, weightedOrder, weightedPick } from './select.js';
import type { Rng } from '../util/rng.js';
import { fenced, fencedPool, fenceRegions, type Fence } from './geofence.js';
import { settledFirst, waitsForRise } from './cold-start.js';
import { rendezvousOrder, rendezvousPick } from './rendezvous.js';
import { applyShedding } from './shed.js';

/** Clients in one /24 (IPv4) or /56 (IPv6) share tie-breaks and endpoint rotation, so caches do not flap. */
export const STICKY_PREFIX = { 4: 24, 6: 56 } as const;

/** Decision cache effectiveness, read by /metrics (process-wide counters: the cache itself is per snapshot). */
export const decisionCacheStats = { hits: 0, misses: 0 };

/**
 * The decision for one query. Located policies (latency, geo) are served from the view's decision cache when
 * it holds the client's block; a decision made here is cached for its block (its ECS scope), without `why`.
 * `cache`: another cache than the view's (the warm-up's scratch one), so that the view is the real snapshot.
 */
export function decide(snap: RoutingView, svc: ServiceIndex, qtype: number, client: Client, rng: Rng = Math.random, cache: DecisionCache = snap.decisions): Decision {
  const policy = svc.service.policy;
  const wantV6 = qtype === RRType.AAAA;
  if (policy !== 'latency' && policy !== 'geo') return compute(snap, svc, wantV6, client, rng);
  if (!cache.enabled) return compute(snap, svc, wantV6, client, rng);
  const hit = cache.get(svc.ordinal, wantV6, client);
  if (hit) {
    decisionCacheStats.hits++;
    return hit;
  }
  decisionCacheStats.misses++;
  const d = compute(snap, svc, wantV6, client, rng);
  cache.set(svc.ordinal, wantV6, client, d);
  return d;
}

function compute(snap: RoutingView, svc: ServiceIndex, wantV6: boolean, client: Client, rng: Rng): Decision {
  const { service } = svc;
  const policy = service.policy;
  const located = policy === 'latency' || policy === 'geo';
  const stickyBits = Math.min(client.sourcePrefix, STICKY_PREFIX[client.family]);

  // Route 53 latency records choose only among record sets of the asked type: so do we. A region without (up)
  // endpoints of the asked family is no candidate for it, so a service never answers one client with records
  // and another with NODATA for the same type; resolvers cache NODATA without regard to the ECS scope
  // (RFC 7871 7.4), and one client's NODATA would take the family away from every client of the resolver.
  const family: AddressFamily = wantV6 ? 'ipv6' : 'ipv4';
  const candidates = candidatesFor(snap, svc, family);
  // gdnsd's idea: while any candidate is down or flapping, resolvers should come back sooner.
  const shortTtl = candidates.some((c) => c.unstable);
  const ttl = shortTtl ? Math.max(1, Math.floor(service.ttl / 2)) : service.ttl;

  // Objects here are built by assignment, not spread: a spread clone given more properties cost microseconds
  // (a new hidden class each time), on the path every decision the cache does not hold takes.
  const why: DecisionWhy = { service: service.name, policy, candidates, failOpen: false, reason: '' };
  let withFamily = svc.regions.filter((_, i) => candidates[i]!.hasFamily);
  if (withFamily.length === 0) {
    // The same NODATA for every client: scope 0, so no resolver mistakes it for one subnet's answer.
    const reason = svc.regions.length === 0 ? 'the service has no regions' : `no region of the service has ${FAMILY_LABEL[family]} endpoints: NODATA for every client`;
    why.reason = reason;
    return { endpoints: [], ttl, scope: 0, why };
  }

  // Scope: the longest prefix of any client-dependent data consulted (about the regions that can answer).
  let scope = 0;
  let location: ClientLocation | undefined;
  let fence: Fence | undefined;
  if (fenced(svc.regions)) {
    location = snap.locator.locate(client.address, client.family, client.sourcePrefix);
    fence = fenceRegions(svc.regions, location);
    fence.reasons.forEach((f, i) => {
      if (f !== undefined) candidates[i]!.fenced = f;
    });
    // Every client of the located block is in the same place, so within it the fence is the same.
    scope = location.prefixLength;
  }
  if (located) {
    location ??= snap.locator.locate(client.address, client.family, client.sourcePrefix);
    scope = Math.max(scope, estimateRtts(snap, svc, candidates, client, location, policy === 'latency'));
  }

  const strict = service.geofence === 'strict';
  const ready = (i: number) => candidates[i]!.healthy;
  const pick = (ok: (i: number) => boolean) => {
    if (fence) return fencedPool(fence, ok, strict);
    const all: number[] = [];
    for (let i = 0; i < candidates.length; i++) if (ok(i)) all.push(i);
    return { pool: all, fellBack: false };
  };
  let pool = pick(ready);
  let coldNote = '';
  // unverified: wait: regions whose up endpoints all still wait for their first checks, when nothing else is up.
  if (pool.pool.length === 0 && candidates.some((c) => c.waiting)) {
    pool = pick((i) => ready(i) || candidates[i]!.waiting === true);
    if (pool.pool.length > 0) coldNote = 'no region is up with endpoints through their first checks: answering endpoints still waiting (unverified: wait)';
  }
  let eligible = pool.pool.map((i) => svc.regions[i]!);
  let failOpen = false;
  let fenceNote = '';
  if (location) why.location = location;
  if (fence) {
    if (pool.fellBack) fenceNote = `no region serving ${fence.place} is up: answered from regions without serves`;
    const open = fencedPool(fence, (i) => candidates[i]!.hasFamily, strict).pool;
    if (eligible.length === 0 && (open.length === 0 || (fence.inArea && strict))) {
      why.reason =
        open.length === 0
          ? `no region may answer clients in ${fence.place} (geofence): NODATA`
          : `no region serving ${fence.place} is up (geofence: strict): NODATA, whatever when-all-down says`;
      return { endpoints: [], ttl, scope: Math.min(scope, client.sourcePrefix), why };
    }
    // Fail open (below) only among the regions the fence lets answer this client.
    withFamily = open.map((i) => svc.regions[i]!);
  }
  if (eligible.length === 0) {
    if (service.whenAllDown === 'none') {
      const reason = `every region with ${FAMILY_LABEL[family]} endpoints is down or drained (when-all-down: none)`;
      why.reason = reason;
      return { endpoints: [], ttl, scope: 0, why };
    }
    // Fail open among the regions that have the family: one without it could only answer NODATA.
    failOpen = true;
    eligible = withFamily;
  }

  let sticky = false;
  const indexOf = (r: RegionIndex) => svc.regions.indexOf(r);
  const shedFrom: string[] = [];
  // Regions shed from are passed over for load, not for health: passedOverFor must not call them down.
  const healthy = eligible;
  if (service.shed) {
    const shed = applyShedding(eligible, service.shed, snap.utilization, subnetHash(client.address, stickyBits, svc.salts.shed));
    for (const r of svc.regions) {
      const u = snap.utilization.get(r.region.name);
      if (u !== undefined) candidates[indexOf(r)]!.utilization = u;
    }
    for (const [name, s] of shed.shares) {
      const c = candidates.find((x) => x.region === name)!;
      c.shedShare = Math.round(s.share * 1000) / 1000;
      c.shedThisClient = s.shed;
      if (s.shed) shedFrom.push(`${name} (utilization ${c.utilization}, ${Math.round(s.share * 100)}% of its clients shed)`);
    }
    eligible = shed.kept;
    if (shed.perBlock) sticky = true;
  }
  const score = (r: RegionIndex): number | undefined => {
    const c = candidates[indexOf(r)]!;
    return c.rttMs === undefined ? undefined : c.rttMs - c.bias;
  };
  const choice = chooseRegion(svc, eligible, score, client, stickyBits, failOpen, rng);
  const region = choice.region;
  let reason = choice.reason;
  if (choice.sticky) sticky = true;
  candidates[indexOf(region)]!.chosen = true;
  const passedOver = passedOverFor(family, region, healthy, failOpen, svc.regions, candidates, policy === 'failover' ? undefined : score);

  const name = region.region.name;
  const answer = endpointsOf(snap, svc, region, family, client, { failOpen, located, sticky, scope, stickyBits }, rng);

  if (passedOver) reason = `${passedOver}, answered from ${name}; ${reason}`;
  if (shedFrom.length > 0) reason = `this client subnet is shed from ${shedFrom.join(', ')}; ${reason}`;
  if (fenceNote) reason = `${fenceNote}; ${reason}`;
  if (coldNote) reason = `${coldNote}; ${reason}`;
  if (failOpen) reason = `every region with ${FAMILY_LABEL[family]} endpoints is down: answering as if all were up (when-all-down: all); ${reason}`;
  if (shortTtl) reason += `; TTL halved to ${ttl} s while a candidate region is down or flapping`;
  why.failOpen = failOpen;
  why.reason = reason;
  return { region, endpoints: answer.endpoints, cname: answer.cname, ttl, scope: answer.scope, why };
}

/**
 * The chosen region's endpoints for the client (or the one CNAME target of a hostname-only region), and the
 * ECS scope the decision then holds for (`how.scope` widened to the client block when the choice is per block).
 */
function endpointsOf(
  snap: RoutingView,
  svc: ServiceIndex,
  region: RegionIndex,
  family: AddressFamily,
  client: Client,
  how: { failOpen: boolean; located: boolean; sticky: boolean; scope: number; stickyBits: number },
  rng: Rng,
): { endpoints: EndpointIndex[]; cname: EndpointIndex | undefined; scope: number } {
  const name = region.region.name;
  const { failOpen, located, stickyBits } = how;
  let { sticky, scope } = how;
  const policy = svc.service.policy;
  const { service } = svc;
  const hostsOnly = region.v4.length === 0 && region.v6.length === 0;
  const up = region.answering[family].filter((e) => failOpen || snap.health.endpointUp(name, e.address));
  const usable = failOpen ? up : settledFirst(snap.health, name, up, waitsForRise(region, service));
  // Choosing some of the endpoints (or one CNAME target) is per client /24 or /56 whatever the policy (the
  // contract: an endpoint leaving moves only its own clients), so such an answer's scope is that block.
  const choosing = usable.length > (hostsOnly ? 1 : service.answers);
  if (choosing) sticky = true;
  // A shed decision depends on the client block even when the policy is not located.
  if (located || sticky) {
    if (sticky) scope = Math.max(scope, stickyBits);
    if (policy === 'latency') scope = snap.latency.allCidr.narrowScope(client.address, client.family, scope);
    scope = Math.min(scope, client.sourcePrefix);
  }
  // Endpoints by weighted rendezvous hashing of the client block (rendezvous.ts), salted apart from the region
  // choice so that within a tolerance group each region's subnets spread over all of its endpoints. When every
  // usable endpoint is answered the order is that of the whole block the decision holds for, as every client in
  // it gets this decision from the cache; a /24's own order would depend on who asked first. When an unlocated
  // policy answers every usable endpoint the set is the same for all, so only the order rotates, per query
  // (scope 0), as a round robin of the records.
  const byBlock = located || choosing;
  const seed = byBlock ? subnetHash(client.address, sticky ? stickyBits : Math.min(stickyBits, scope), svc.salts.endpoints) : 0;
  const order = (list: readonly EndpointIndex[]) => (byBlock ? rendezvousOrder(list, endpointHash, endpointWeight, seed) : weightedOrder(list, endpointWeight, rng));
  let endpoints: EndpointIndex[] = [];
  let cname: EndpointIndex | undefined;
  if (usable.length > 0 && !hostsOnly) endpoints = order(usable).slice(0, service.answers);
  else if (usable.length > 0) cname = order(usable)[0];
  return { endpoints, cname, scope };
}

/** The region that answers among `eligible`, by the service's policy, and why; `sticky`: chosen per client block. */
function chooseRegion(
  svc: ServiceIndex,
  eligible: readonly RegionIndex[],
  score: (r: RegionIndex) => number | undefined,
  client: Client,
  stickyBits: number,
  failOpen: boolean,
  rng: Rng,
): { region: RegionIndex; reason: string; sticky: boolean } {
  const { service } = svc;
  switch (service.policy) {
    case 'failover':
      return { region: eligible[0]!, reason: `first ${failOpen ? '' : 'healthy '}region in list order`, sticky: false };
    case 'weighted':
      return { region: weightedPick(eligible, (r) => r.region.weight, rng)!, reason: `weighted random choice among ${eligible.length} region(s)`, sticky: false };
    default: {
      const scored = eligible.filter((r) => score(r) !== undefined);
      if (scored.length === 0) return { region: eligible[0]!, reason: 'client location unknown: first region in list order', sticky: false };
      const best = Math.min(...scored.map((r) => score(r)!));
      const close = scored.filter((r) => score(r)! <= best + service.toleranceMs);
      if (close.length === 1) return { region: close[0]!, reason: `lowest estimated RTT (${service.policy === 'geo' ? 'nearest' : 'latency'})`, sticky: false };
      // Rendezvous: a region leaving the group moves only the subnets it had, the others keep theirs.
      return {
        region: rendezvousPick(close, (r) => r.hash, (r) => r.region.weight, subnetHash(client.address, stickyBits, service.name))!,
        reason: `${close.length} regions within ${service.toleranceMs} ms of the best share by weight; this client subnet's share`,
        sticky: true,
      };
    }
  }
}

/** Every region of the service as a candidate for `family`: its health, drain and passive health. */
function candidatesFor(snap: RoutingView, svc: ServiceIndex, family: AddressFamily): Candidate[] {
  const { service } = svc;
  return svc.regions.map((r) => {
    const h = snap.health.region(r.region.name);
    const wait = waitsForRise(r, service);
    const families = { ipv4: eligibility(r, 'ipv4', h, wait), ipv6: eligibility(r, 'ipv6', h, wait) };
    const own = families[family];
    // Passive health (max-error-ratio): the region's own error ratio fails it for this service.
    const passive = service.maxErrorRatio === undefined ? undefined : snap.passiveDown.get(`${service.name}|${r.region.name}`);
    const c: Candidate = {
      region: r.region.name,
      healthy: own.eligible && passive === undefined,
      hasFamily: own.endpoints > 0,
      families,
      drained: h.drained,
      health: passive === undefined ? h.reason : `${passive}; ${h.reason}`,
      passive,
      unstable: h.unstable || passive !== undefined,
      weight: r.region.weight,
      bias: r.region.bias,
      rttMs: undefined,
      rttSource: undefined,
      distanceKm: undefined,
      waiting: own.waiting,
      fenced: undefined,
      utilization: undefined,
      shedShare: undefined,
      shedThisClient: undefined,
      chosen: false,
    };
    return c;
  });
}

/**
 * Each candidate's estimated RTT for the client (measured latency first when `measured`, else distance) and
 * where it came from; returns the longest prefix of client data consulted about regions that can answer.
 */
function estimateRtts(snap: RoutingView, svc: ServiceIndex, candidates: Candidate[], client: Client, location: ClientLocation, measured: boolean): number {
  let scope = 0;
  svc.regions.forEach((r, i) => {
    const c = candidates[i]!;
    if (measured) {
      const m = snap.latency.lookup(r.region.name, client.address, client.family, client.sourcePrefix, location.country, location.continent);
      if (m) {
        c.rttMs = m.entry.rttMs;
        c.rttSource = `${m.kind === 'continent' ? '' : m.kind + ' '}${m.entry.client} (${m.entry.origin})`;
        if (c.hasFamily) scope = Math.max(scope, m.kind === 'cidr' ? m.prefix! : location.prefixLength);
        return;
      }
    }
    if (c.hasFamily) scope = Math.max(scope, location.prefixLength);
    if (location.lat !== undefined && location.lon !== undefined) {
      const km = greatCircleKm(location.lat, location.lon, r.region.location.lat, r.region.location.lon);
      c.distanceKm = Math.round(km);
      c.rttMs = Math.round(rttFromDistanceMs(km) * 10) / 10;
      c.rttSource = `distance ${c.distanceKm} km`;
    }
  });
  return scope;
}

const endpointHash = (e: EndpointIndex) => e.hash;
const endpointWeight = (e: EndpointIndex) => e.weight;

/** One family of a region as a candidate: its answering endpoints, their health, the drain. */
function eligibility(r: RegionIndex, family: AddressFamily, h: RegionHealth, wait: boolean): FamilyEligibility {
  const endpoints = r.answering[family].length;
  // Every return has `waiting`, so all are one hidden class (see Candidate).
  if (endpoints === 0) return { endpoints, eligible: false, waiting: undefined, reason: `no ${FAMILY_LABEL[family]} endpoints` };
  // A region without per-family data (no health computed for it yet) is judged as a whole.
  const fh = h.families?.[family] ?? { up: h.up, reason: h.reason };
  if (h.drained) return { endpoints, eligible: false, waiting: undefined, reason: `drained; ${fh.reason}` };
  if (wait && fh.up && fh.settled === false) {
    return { endpoints, eligible: false, waiting: true, reason: `waiting: ${fh.waiting ?? 0} endpoint(s) not yet through their first checks (unverified: wait); ${fh.reason}` };
  }
  return { endpoints, eligible: fh.up, waiting: undefined, reason: fh.reason };
}

/**
 * The regions that would have been chosen before `chosen` had they been able to answer this family (a better
 * score, or earlier in failover order), in words: `no IPv6 endpoints in ap-southeast`, `IPv4 down in ny
 * (0/2 endpoints up, min-healthy 1)`. Empty when nothing better was passed over for a family reason.
 */
function passedOverFor(
  family: AddressFamily,
  chosen: RegionIndex,
  eligible: readonly RegionIndex[],
  failOpen: boolean,
  regions: readonly RegionIndex[],
  candidates: readonly Candidate[],
  score: ((r: RegionIndex) => number | undefined) | undefined,
): string {
  const label = FAMILY_LABEL[family];
  const chosenScore = score?.(chosen);
  const out: string[] = [];
  regions.forEach((r, i) => {
    if (r === chosen || eligible.includes(r)) return;
    const c = candidates[i]!;
    if (c.fenced !== undefined) return; // not the client's region at all
    if (c.drained && c.hasFamily) return; // drained is an operator's choice, not a family problem
    const better = score === undefined ? i < regions.indexOf(chosen) : chosenScore !== undefined && (score(r) ?? Infinity) < chosenScore;
    if (!better) return;
    if (!c.hasFamily) out.push(`no ${label} endpoints in ${c.region}`);
    else if (failOpen) return;
    // Able to answer the family and still not eligible: failed by passive health, or (no passive reason) kept
    // out by the geofence's preference for the regions serving the client, which is no fault of the region.
    else if (c.families[family].eligible) {
      if (c.passive !== undefined) out.push(`${c.region} ${c.passive}`);
    } else out.push(`${label} down in ${c.region} (${c.families[family].reason.replace(/^down: /, '')})`);
  });
  return out.join(', ');
}

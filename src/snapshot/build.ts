/** ZoneSet (+ later: store state) -> Snapshot. Everything expensive happens here, never per query. */
import { RRType } from '../wire/constants.js';
import { nameToWire, parentName, wireLength } from '../wire/name.js';
import { addressBytes } from '../util/cidr.js';
import { DecisionCache } from '../routing/decision-cache.js';
import { keyHash } from '../routing/rendezvous.js';
import { Locator } from '../geo/locator.js';
import { ALL_UP, type HealthView } from '../health/view.js';
import { LatencyTable, type MeasuredLatency } from '../geo/latency-table.js';
import { familyEndpoints } from '../model/families.js';
import type { Region, ZoneSet } from '../model/types.js';
import { buildAnswerPlan, buildNxdomainPlan, buildReferralPlan, staticLookup, type ZoneView } from './plans.js';
import { PlanCache, type NameNode, type Snapshot, type ZoneIndex } from './types.js';
import { carryDecisions } from './carry.js';
import type { EndpointIndex, RegionIndex, ServiceIndex } from '../model/indexes.js';
import type { ZoneKeys } from '../dnssec/rollover.js';
import { zoneSigning } from './signing.js';

/** What changes without the zone files changing: rebuilt cheaply by `withState`. */
export interface SnapshotState {
  locator: Locator;
  measured: readonly MeasuredLatency[];
  /** Regions registered through the API (a zone-file region of the same name wins). */
  apiRegions: readonly Region[];
  /** Health, or how to compute it for the regions the snapshot will hold. */
  health: HealthView | ((regions: Map<string, RegionIndex>) => HealthView);
  /** Regions' utilization from fresh load reports. */
  utilization: ReadonlyMap<string, number>;
  /** Passive health failures by `${service}|${region}`. */
  passiveDown: ReadonlyMap<string, string>;
}

export interface BuildOptions {
  version: number;
  nodeId: string;
  /** The keys of a signed zone (store/dnssec-keys.ts); a zone without keys is served unsigned. */
  keys?: (apex: string) => ZoneKeys | undefined;
  now?: number;
  state?: Partial<SnapshotState>;
}

/** Decisions per cache generation (at most twice this many are kept): a flood of distinct client subnets costs
 * bounded memory, and up to this many active client blocks stay cached. */
export const DECISION_CACHE_SIZE = 65_536;

function indexRegion(region: Region): RegionIndex {
  const v4: EndpointIndex[] = [];
  const v6: EndpointIndex[] = [];
  const hosts: EndpointIndex[] = [];
  for (const ep of region.endpoints) {
    const rdata = ep.family === 0 ? nameToWire(ep.address) : addressBytes(ep.address, ep.family);
    const entry: EndpointIndex = { address: ep.address, family: ep.family, weight: ep.weight, rdata, hash: keyHash(ep.address) };
    (ep.family === 4 ? v4 : ep.family === 6 ? v6 : hosts).push(entry);
  }
  const lists = { v4, v6, hosts };
  return { region, hash: keyHash(region.name), ...lists, answering: { ipv4: familyEndpoints(lists, 'ipv4'), ipv6: familyEndpoints(lists, 'ipv6') } };
}

function newNode(name: string): NameNode {
  return { name, rrsets: new Map(), plans: new Map(), other: NO_PLAN };
}
const NO_PLAN = new PlanCache(() => {
  throw new Error('plan cache used before the snapshot finished building');
});

function indexZone(zoneSet: ZoneSet, zoneIdx: number, keys: BuildOptions['keys']): ZoneIndex {
  const zone = zoneSet.zones[zoneIdx]!;
  const nodes = new Map<string, NameNode>();
  const ensure = (name: string): NameNode => {
    let node = nodes.get(name);
    if (node) return node;
    node = newNode(name);
    nodes.set(name, node);
    // Empty non-terminals exist (NODATA, not NXDOMAIN): RFC 8020.
    if (name !== zone.apex) {
      const parent = parentName(name);
      if (parent !== undefined) ensure(parent);
    }
    return node;
  };
  ensure(zone.apex);
  for (const rr of zone.records) {
    const node = ensure(rr.name);
    let set = node.rrsets.get(rr.data.type);
    if (!set) node.rrsets.set(rr.data.type, (set = []));
    set.push(rr);
  }
  for (const svc of zone.services) ensure(svc.name).service = svc;

  // Delegations: any non-apex name with NS. Everything at or below it answers with a referral.
  const cuts = [...nodes.values()].filter((n) => n.name !== zone.apex && n.rrsets.has(RRType.NS));
  for (const node of nodes.values()) {
    const cut = cuts.find((c) => node.name === c.name || node.name.endsWith('.' + c.name));
    if (cut) node.cut = cut;
  }

  const view: ZoneView = { zone, nodes };
  const referrals = new Map<string, PlanCache>();
  for (const cut of cuts) referrals.set(cut.name, new PlanCache((len) => buildReferralPlan(view, cut, len)));

  for (const node of nodes.values()) {
    const wildcard = node.name.startsWith('*.');
    const anchor = wildcard ? parentName(node.name)! : node.name;
    const exactLength = wireLength(node.name);
    const planFor = (qtype: number): PlanCache => {
      const cache = new PlanCache((len) => buildAnswerPlan(view, node, qtype, len, anchor));
      if (!wildcard) cache.get(exactLength);
      return cache;
    };
    if (node.cut) {
      // Only DS at the delegation point itself is answered from this (parent) side: NODATA.
      node.other = planFor(RRType.DS);
      continue;
    }
    for (const qtype of relevantTypes(view, node)) node.plans.set(qtype, planFor(qtype));
    // Any other type: NODATA, or a CNAME chain that ends in NODATA. Built for a type no node can hold.
    node.other = planFor(0);
  }
  const signingKeys = zone.dnssec ? keys?.(zone.apex) : undefined;
  const signing = signingKeys && signingKeys.keys.length > 0 ? zoneSigning(zone, signingKeys) : undefined;
  return { apex: zone.apex, file: zone.file, nodes, nxdomain: new PlanCache((len) => buildNxdomainPlan(zone, len)), referrals, ...(signing ? { signing } : {}) };
}

/** Types whose answer differs from NODATA at this node: its own, its CNAME chain's end's, a service's. */
function relevantTypes(view: ZoneView, node: NameNode): Set<number> {
  const types = new Set<number>([RRType.ANY, RRType.CNAME]);
  let at: NameNode | undefined = node;
  for (let hops = 0; at && hops < 9; hops++) {
    for (const t of at.rrsets.keys()) types.add(t);
    if (at.service) {
      types.add(RRType.A);
      types.add(RRType.AAAA);
    }
    const cname = at.rrsets.get(RRType.CNAME)?.[0];
    if (!cname || cname.data.type !== RRType.CNAME) break;
    // The same lookup the plan builder follows (exact name, else the wildcard that covers it): with only an exact
    // lookup a chain into a wildcard got no plan for the wildcard's types and answered NODATA.
    at = staticLookup(view, cname.data.target);
  }
  return types;
}

function indexServices(zoneSet: ZoneSet, apiRegions: readonly Region[]): { regions: Map<string, RegionIndex>; services: Map<string, ServiceIndex> } {
  const regions = new Map<string, RegionIndex>();
  for (const [name, region] of zoneSet.regions) regions.set(name, indexRegion(region));
  for (const region of apiRegions) if (!regions.has(region.name)) regions.set(region.name, indexRegion(region));
  const services = new Map<string, ServiceIndex>();
  for (const zone of zoneSet.zones) {
    for (const service of zone.services) {
      const candidates = service.regions.map((r) => regions.get(r)).filter((r): r is RegionIndex => r !== undefined);
      for (const r of regions.values()) {
        if (r.region.services.includes(service.name) && !candidates.includes(r)) candidates.push(r);
      }
      services.set(service.name, { service, regions: candidates, ordinal: services.size, salts: { endpoints: `${service.name}\u0000endpoints`, shed: `${service.name}\u0000shed` } });
    }
  }
  return { regions, services };
}

const allUp = () => ALL_UP;
const NO_LOAD: ReadonlyMap<string, number> = new Map();
const NO_FAILURES: ReadonlyMap<string, string> = new Map();

function stateParts(state: Partial<SnapshotState>, zoneSet: ZoneSet, prev?: Snapshot) {
  const apiRegions = state.apiRegions ?? prev?.apiRegions ?? [];
  // Unchanged registrations keep the region indexes (and the checker its targets).
  const { regions, services } = prev && prev.zoneSet === zoneSet && prev.apiRegions === apiRegions ? prev : indexServices(zoneSet, apiRegions);
  const locator = state.locator ?? prev?.locator ?? new Locator([]);
  const given = state.health ?? (prev ? () => prev.health : allUp);
  const health = typeof given === 'function' ? given(regions) : given;
  const latency = state.measured || !prev ? new LatencyTable(zoneSet.latency, state.measured ?? []) : prev.latency;
  const utilization = state.utilization ?? prev?.utilization ?? NO_LOAD;
  const passiveDown = state.passiveDown ?? prev?.passiveDown ?? NO_FAILURES;
  const parts = { locator, regions, services, health, latency, utilization, passiveDown };
  // Same zones: the decisions this change cannot affect stay cached (carry.ts).
  const decisions = prev && prev.zoneSet === zoneSet ? carryDecisions(prev, parts, DECISION_CACHE_SIZE) : new DecisionCache(DECISION_CACHE_SIZE);
  return { apiRegions, ...parts, decisions };
}

export function buildSnapshot(zoneSet: ZoneSet, opts: BuildOptions): Snapshot {
  const zones = new Map<string, ZoneIndex>();
  zoneSet.zones.forEach((zone, i) => zones.set(zone.apex, indexZone(zoneSet, i, opts.keys)));
  return {
    version: opts.version,
    builtAt: opts.now ?? Date.now(),
    nodeId: opts.nodeId,
    nodeIdBytes: Buffer.from(opts.nodeId, 'utf8').subarray(0, 255),
    zoneSet,
    zones,
    ...stateParts(opts.state ?? {}, zoneSet),
  };
}

/** A new snapshot with the same zones (precomputed answers reused) and new state. */
export function withState(prev: Snapshot, version: number, state: Partial<SnapshotState>, now = Date.now()): Snapshot {
  return { ...prev, version, builtAt: now, ...stateParts(state, prev.zoneSet, prev) };
}

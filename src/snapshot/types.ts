/**
 * The immutable snapshot the query path reads: everything a DNS answer needs, precomputed, behind one
 * reference that is swapped atomically when configuration or state changes.
 */
import type { ResourceRecord } from '../wire/records.js';
import type { Locator } from '../geo/locator.js';
import type { HealthView } from '../health/view.js';
import type { DecisionCache } from '../routing/decision-cache.js';
import type { LatencyTable } from '../geo/latency-table.js';
import type { RegionIndex, ServiceIndex } from '../model/indexes.js';
import type { Region, Service, Zone, ZoneSet } from '../model/types.js';
import type { KeyPhase } from '../dnssec/rollover.js';
import type { OpaqueData, RecordData } from '../wire/records.js';

/** Bytes after the question, valid for one question length. */
export interface AnswerPlan {
  rcode: number;
  /** False only for referrals (we are not authoritative below a delegation). */
  aa: boolean;
  an: number;
  ns: number;
  ar: number;
  body: Buffer;
  /**
   * Where the additional section may be cut when the whole body does not fit (RFC 2181 9: additional records go
   * first, whole RRsets at a time), shortest first. Absent when there is nothing to drop.
   */
  cuts?: readonly AdditionalCut[];
  /** Set when the answer ends at a service name: the responder appends the steering decision's records. */
  service?: ServiceTail;
}

/** The first `length` bytes of a plan's body: the answer and authority sections plus `ar` additional records. */
export interface AdditionalCut {
  length: number;
  ar: number;
}

/** The longest of `cuts` (shortest first) that leaves at most `room` bytes of body, if any. */
export function longestFittingCut(cuts: readonly AdditionalCut[], room: number): AdditionalCut | undefined {
  let best: AdditionalCut | undefined;
  for (const cut of cuts) {
    if (cut.length > room) break;
    best = cut;
  }
  return best;
}

export interface ServiceTail {
  /** Looked up in the snapshot per query, so services and regions can change without rebuilding zones. */
  serviceName: string;
  /** Absolute offset of the service name in the message, for the owner of appended records. */
  ownerOffset: number;
  /** `body` followed by the SOA in authority: what to send when the decision has no records (NODATA). */
  nodataBody: Buffer;
  /** Where in `nodataBody` the SOA's TTL is: the responder caps it at the decision's TTL per answer. */
  nodataSoaTtlAt: number;
  /** The zone's negative TTL, min(zone TTL, SOA minimum), written there when the service TTL is longer. */
  negativeTtl: number;
}

/** Plans per question length, built on first use (exact names are built at snapshot time). */
export class PlanCache {
  private readonly byLength: (AnswerPlan | undefined)[] = [];
  constructor(private readonly build: (questionNameLength: number) => AnswerPlan) {}
  get(questionNameLength: number): AnswerPlan {
    let plan = this.byLength[questionNameLength];
    if (plan === undefined) {
      plan = this.build(questionNameLength);
      this.byLength[questionNameLength] = plan;
    }
    return plan;
  }
}

export interface NameNode {
  name: string;
  /** RRsets at this name by type (empty for empty non-terminals and services). */
  rrsets: Map<number, ResourceRecord[]>;
  service?: Service;
  /** The delegation this name is at or below, if any. */
  cut?: NameNode;
  /** Plans by query type for types present here, plus `other` for every other type (NODATA, CNAME, ...). */
  plans: Map<number, PlanCache>;
  other: PlanCache;
}

export interface ZoneIndex {
  apex: string;
  file: string;
  nodes: Map<string, NameNode>;
  nxdomain: PlanCache;
  /** Referral plans by delegation name. */
  referrals: Map<string, PlanCache>;
  /** Present when the zone is signed and its keys were read: DO=1 queries are answered signed (answer/signed.ts). */
  signing?: ZoneSigning;
}

/** One phase of the zone's keys (dnssec/rollover.ts), with the apex's DNSSEC RRsets as they are in it. */
export interface SigningPhase extends KeyPhase {
  /** Every published key's DNSKEY, and its CDS / CDNSKEY copies for the parent (RFC 7344). */
  dnskey: OpaqueData[];
  cds: OpaqueData[];
  cdnskey: OpaqueData[];
}

/**
 * What signing a zone needs, made once per snapshot: the key phases (a rollover moves through them by time,
 * without a rebuild), the apex's DNSSEC RRsets per phase (each a stable array, so the signature cache finds
 * their signatures by identity) and the zone they belong to.
 */
export interface ZoneSigning {
  zone: Zone;
  /** In time order; signing.ts `phaseOf` picks the one of a moment. */
  phases: SigningPhase[];
  validitySeconds: number;
  /** The apex SOA as one RRset, for negative answers (TTL: the negative TTL). */
  soa: RecordData[];
  negativeTtl: number;
}

export interface Snapshot {
  version: number;
  builtAt: number;
  nodeId: string;
  /** The node id as NSID / CHAOS TXT bytes (at most 255), encoded once per snapshot. */
  nodeIdBytes: Buffer;
  zoneSet: ZoneSet;
  zones: Map<string, ZoneIndex>;
  regions: Map<string, RegionIndex>;
  /** Regions registered through the API, as the store had them when this snapshot was built. */
  apiRegions: readonly Region[];
  services: Map<string, ServiceIndex>;
  locator: Locator;
  latency: LatencyTable;
  health: HealthView;
  /** Regions' utilization from fresh load reports (`POST /v1/load`). */
  utilization: ReadonlyMap<string, number>;
  /** Passive health failures (`max-error-ratio`) by `${service}|${region}`, with the reason. */
  passiveDown: ReadonlyMap<string, string>;
  /**
   * Decisions per (service, family, client block). A state rebuild hands it on to the next snapshot minus what
   * its change can affect (carry.ts); this snapshot's then holds nothing more.
   */
  decisions: DecisionCache;
}

/**
 * Signed answers, for DO=1 queries to a signed zone (DO=0 queries never come here, so their bytes do not change).
 * The same lookup as the unsigned path (responder.ts `lookup`, plans.ts), written per query with a BlockWriter
 * because every RRset gets its RRSIG and negative answers get an NSEC made for the query name:
 *
 * - answers: each RRset (static, the CNAME chain, the steering decision's A/AAAA or CNAME) + its RRSIG; an
 *   answer from a wildcard is signed with the query name as owner (RFC 9824 3.3), so no wildcard proof is needed;
 * - the apex also has DNSKEY, CDS and CDNSKEY (RFC 7344), from the snapshot's ZoneSigning;
 * - compact denial (RFC 9824): a missing name is NOERROR with the signed SOA and an NSEC at the name whose
 *   bitmap is NXNAME + RRSIG + NSEC; NODATA has the NSEC of what exists there;
 * - referrals: the NS (unsigned: the child's data) + an NSEC proving there is no DS, glue unsigned.
 *
 * Signatures come from one SignatureCache per validity, shared by every snapshot: the records arrays passed in
 * are the snapshot's own (static RRsets) or kept per decision, so a warm answer finds its signature by identity.
 * NS/MX/SRV answers get their in-zone targets' A/AAAA in the additional section, signed, as unsigned ones do.
 */
import type { SigningKey } from '../dnssec/algorithms.js';
import { SignatureCache } from '../dnssec/cache.js';
import type { SignableData } from '../dnssec/canonical.js';
import { nodataNsec, nxnameNsec, referralNsec } from '../dnssec/denial.js';
import type { Decision } from '../routing/decision.js';
import type { EndpointIndex } from '../model/indexes.js';
import { additionalTargets, writeAdditional, staticLookup, type ZoneView } from '../snapshot/plans.js';
import type { AdditionalCut, AnswerPlan, NameNode, SigningPhase, ZoneIndex, ZoneSigning } from '../snapshot/types.js';
import { phaseOf } from '../snapshot/signing.js';
import { HEADER_SIZE, Rcode, RRType } from '../wire/constants.js';
import { isInZone, wireLength } from '../wire/name.js';
import type { RecordData, ResourceRecord } from '../wire/records.js';
import { BlockWriter } from '../wire/writer.js';
import { covering } from './covering.js';
import { TwoGenerationMap } from '../util/two-generations.js';

/** What the response builder writes after the question: a plan's header fields and bytes, made per query. */
export interface SignedBody extends Pick<AnswerPlan, 'rcode' | 'aa' | 'an' | 'ns' | 'ar' | 'body' | 'cuts'> {
  /** The steering decision behind the answer, when a service answered. */
  decision: Decision | undefined;
}

/** Steers a service name for the query's client (the responder knows the client). */
export type Steer = (serviceName: string) => Decision;

const MAX_CHAIN = 8;
const RFC8482_HINFO: RecordData[] = [{ type: RRType.HINFO, cpu: 'RFC8482', os: '' }];
/** A cached signature is made again when less than this share of its validity is left. */
const REFRESH_SHARE = 0.25;
/** NSEC RRsets kept per generation (at most twice this many). */
const NSEC_GENERATION = 4096;

/** One signed response in the making: the writer, the section counts, the key and the time. */
interface Pass {
  w: BlockWriter;
  signing: ZoneSigning;
  /** The keys' phase at `now`: which key signs, which are published (and sign the apex's key RRsets). */
  phase: SigningPhase;
  cache: SignatureCache;
  /** False for a DO=0 query for the apex's keys: the records without RRSIGs. */
  signatures: boolean;
  now: number;
  an: number;
  ns: number;
}

export class Signer {
  private readonly caches = new Map<number, SignatureCache>();
  /** Static RRsets' data, one array per snapshot RRset (its identity is what the signature cache keys on first). */
  private readonly staticData = new WeakMap<readonly ResourceRecord[], RecordData[]>();
  /**
   * Negative answers' NSEC RRsets by owner and bitmap, so a repeated question finds its signature by identity
   * instead of rebuilding the NSEC and the cache key (bounded like the signature cache).
   */
  private readonly nsecs = new TwoGenerationMap<SignableData[]>(NSEC_GENERATION);
  /** A decision's records, kept per (cached) decision's endpoint list. */
  private readonly endpointData = new WeakMap<readonly EndpointIndex[] | EndpointIndex, SignableData[]>();

  constructor(
    private readonly capacity?: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The signature cache for one validity (zones may differ); exposed for metrics and the bench. */
  cacheFor(validitySeconds: number): SignatureCache {
    let cache = this.caches.get(validitySeconds);
    if (!cache) {
      const refreshSeconds = Math.floor(validitySeconds * REFRESH_SHARE);
      cache = new SignatureCache({ validitySeconds, refreshSeconds, ...(this.capacity !== undefined ? { capacity: this.capacity } : {}) });
      this.caches.set(validitySeconds, cache);
    }
    return cache;
  }

  /** The signed answer to `qname`/`qtype` (`qnameLength`: its wire length) in the signed zone `zone`. */
  answer(zone: ZoneIndex, signing: ZoneSigning, qname: string, qtype: number, qnameLength: number, steer: Steer, signatures = true): SignedBody {
    const w = new BlockWriter(HEADER_SIZE + qnameLength + 4);
    w.knowName(zone.apex, HEADER_SIZE + qnameLength - wireLength(zone.apex));
    const nowMs = this.clock();
    const phase = phaseOf(signing, nowMs);
    const p: Pass = { w, signing, phase, cache: this.cacheFor(signing.validitySeconds), signatures, now: nowMs / 1000, an: 0, ns: 0 };
    const view: ZoneView = { zone: signing.zone, nodes: zone.nodes };
    const exact = zone.nodes.get(qname);
    let node = exact;
    if (!exact) {
      const found = covering(zone, qname);
      if (found?.cut) return this.referral(p, view, found.cut);
      node = found?.wildcard;
    } else if (exact.cut) {
      if (exact.cut === exact && qtype === RRType.DS) return this.negative(p, exact.name, HEADER_SIZE, referralTypes(exact), undefined, true);
      return this.referral(p, view, exact.cut);
    }
    if (!node) return this.negative(p, qname, HEADER_SIZE, undefined, undefined);
    return this.fromNode(p, view, node, qname, qtype, steer);
  }

  /** The answer at `start` (the query name's node, or the wildcard that covers it), following CNAMEs in the zone. */
  private fromNode(p: Pass, view: ZoneView, start: NameNode, qname: string, qtype: number, steer: Steer): SignedBody {
    let owner: string | number = HEADER_SIZE;
    let ownerName = qname;
    let node = start;
    const follow = qtype !== RRType.CNAME && qtype !== RRType.ANY;
    for (let hops = 0; follow && hops < MAX_CHAIN; hops++) {
      const cname = node.rrsets.get(RRType.CNAME);
      if (!cname || cname[0]!.data.type !== RRType.CNAME) break;
      p.an += this.rrset(p, owner, ownerName, RRType.CNAME, cname[0]!.ttl, this.dataOf(cname));
      const target = cname[0]!.data.target;
      if (!isInZone(target, view.zone.apex)) return this.done(p, undefined);
      const next = staticLookup(view, target);
      if (!next) return this.negative(p, target, target, undefined, undefined);
      if (next.cut) return this.done(p, undefined);
      owner = ownerName = target;
      node = next;
    }
    if (node.service && (qtype === RRType.A || qtype === RRType.AAAA)) {
      const d = steer(node.service.name);
      if (d.cname) p.an += this.rrset(p, owner, ownerName, RRType.CNAME, d.ttl, this.cnameData(d.cname));
      else if (d.endpoints.length > 0) p.an += this.rrset(p, owner, ownerName, qtype, d.ttl, this.endpointsData(d.endpoints));
      else return this.negative(p, ownerName, owner, typesAt(view, node, qtype), d);
      return this.done(p, d);
    }
    if (qtype === RRType.ANY) {
      const cname = node.rrsets.get(RRType.CNAME);
      if (cname) p.an += this.rrset(p, owner, ownerName, RRType.CNAME, cname[0]!.ttl, this.dataOf(cname));
      else p.an += this.rrset(p, owner, ownerName, RRType.HINFO, view.zone.ttl, RFC8482_HINFO);
      return this.done(p, undefined);
    }
    const apexSet = node.name === view.zone.apex ? apexRRset(p.phase, qtype) : undefined;
    if (apexSet) {
      // Signed by every published key: during a rollover a resolver whose parent DS names either key validates it.
      p.an += this.rrset(p, owner, ownerName, qtype, view.zone.ttl, apexSet, p.phase.published);
      return this.done(p, undefined);
    }
    const rrset = node.rrsets.get(qtype);
    if (rrset && rrset.length > 0) {
      p.an += this.rrset(p, owner, ownerName, qtype, rrset[0]!.ttl, this.dataOf(rrset));
      return this.withAdditional(p, view, rrset);
    }
    return this.negative(p, ownerName, owner, typesAt(view, node, qtype), undefined);
  }

  /**
   * NODATA (or, compactly, a name that does not exist: `types` undefined): the signed SOA and the signed NSEC
   * at `name`. A service's NODATA is cached no longer than its records would be (as on the unsigned path).
   */
  private negative(p: Pass, name: string, owner: string | number, types: readonly number[] | undefined, d: Decision | undefined, atCut = false): SignedBody {
    const { signing } = p;
    const ttl = d ? Math.min(signing.negativeTtl, d.ttl) : signing.negativeTtl;
    p.ns += this.rrset(p, signing.zone.apex, signing.zone.apex, RRType.SOA, ttl, signing.soa);
    p.ns += this.rrset(p, owner, name, RRType.NSEC, ttl, this.nsecOf(name, types, atCut));
    return this.done(p, d);
  }

  /** A referral: the delegation's NS, the signed NSEC that proves it has no DS, the glue; AA clear. */
  private referral(p: Pass, view: ZoneView, cut: NameNode): SignedBody {
    const nsSet = cut.rrsets.get(RRType.NS) ?? [];
    for (const rr of nsSet) p.w.recordOf(rr);
    const nsec = this.nsecOf(cut.name, referralTypes(cut), true);
    const ns = nsSet.length + this.rrset(p, cut.name, cut.name, RRType.NSEC, p.signing.negativeTtl, nsec);
    const { count: ar } = writeAdditional(p.w, view, nsSet, (target) => isInZone(target, cut.name));
    return { rcode: Rcode.NOERROR, aa: false, an: 0, ns, ar, body: p.w.finish(), decision: undefined };
  }

  /**
   * The answer with the signed A/AAAA of its NS/MX/SRV records' in-zone targets in the additional section, as
   * the unsigned path has them; each RRset with its RRSIG, and a cut after each, so a response too big for the
   * client drops whole signed RRsets from the end (RFC 2181 9) rather than being truncated.
   */
  private withAdditional(p: Pass, view: ZoneView, rrset: readonly ResourceRecord[]): SignedBody {
    const targets = additionalTargets(view, rrset);
    if (targets.length === 0) return this.done(p, undefined);
    const cuts: AdditionalCut[] = [{ length: p.w.length, ar: 0 }];
    let ar = 0;
    for (const { target, sets } of targets) {
      for (const set of sets) {
        ar += this.rrset(p, target, target, set[0]!.data.type, set[0]!.ttl, this.dataOf(set));
        cuts.push({ length: p.w.length, ar });
      }
    }
    // The last cut is the whole body: nothing to gain from it.
    cuts.pop();
    return { ...this.done(p, undefined), ar, cuts };
  }

  /** With compact denial every signed answer is NOERROR (RFC 9824 3.1: a missing name too). */
  private done(p: Pass, decision: Decision | undefined): SignedBody {
    return { rcode: Rcode.NOERROR, aa: true, an: p.an, ns: p.ns, ar: 0, body: p.w.finish(), decision };
  }

  /** Writes the RRset and its RRSIGs (one per key); returns how many records that is, for the section being written. */
  private rrset(p: Pass, owner: string | number, ownerName: string, type: number, ttl: number, records: readonly SignableData[], keys?: readonly SigningKey[]): number {
    for (const data of records) p.w.record(owner, ttl, data);
    if (!p.signatures) return records.length;
    const signers = keys ?? [p.phase.signer];
    for (const key of signers) {
      const rrsig = p.cache.sign({ owner: ownerName, type, ttl, records }, key, p.signing.zone.apex, p.now);
      p.w.record(owner, ttl, { type: RRType.RRSIG, raw: rrsig.rdata });
    }
    return records.length + signers.length;
  }

  /** The NSEC at `name`: NXNAME without `types`; at a delegation (`atCut`) the one pointing beside the child. */
  private nsecOf(name: string, types: readonly number[] | undefined, atCut = false): SignableData[] {
    const key = types === undefined ? name : `${name}\n${atCut ? 'cut:' : ''}${types.join(',')}`;
    let data = this.nsecs.get(key);
    if (!data) {
      const raw = types === undefined ? nxnameNsec(name) : atCut ? referralNsec(name, types) : nodataNsec(name, types);
      data = [{ type: RRType.NSEC, raw }];
      this.nsecs.set(key, data);
    }
    return data;
  }

  private dataOf(rrset: readonly ResourceRecord[]): RecordData[] {
    let data = this.staticData.get(rrset);
    if (!data) this.staticData.set(rrset, (data = rrset.map((rr) => rr.data)));
    return data;
  }

  private endpointsData(endpoints: readonly EndpointIndex[]): SignableData[] {
    let data = this.endpointData.get(endpoints);
    if (!data) {
      data = endpoints.map((e) => (e.family === 6 ? { type: RRType.AAAA, address: e.address } : { type: RRType.A, address: e.address }));
      this.endpointData.set(endpoints, data);
    }
    return data;
  }

  private cnameData(target: EndpointIndex): SignableData[] {
    let data = this.endpointData.get(target);
    if (!data) this.endpointData.set(target, (data = [{ type: RRType.CNAME, raw: target.rdata }]));
    return data;
  }
}

/** The apex's DNSSEC RRsets in the keys' current phase, made from the keys rather than the zone file. */
function apexRRset(phase: SigningPhase, qtype: number): SignableData[] | undefined {
  if (qtype === RRType.DNSKEY) return phase.dnskey;
  if (qtype === RRType.CDS) return phase.cds;
  if (qtype === RRType.CDNSKEY) return phase.cdnskey;
  return undefined;
}

/** The types that exist at `node` for its NSEC bitmap, without `missing` (the type the answer has none of). */
function typesAt(view: ZoneView, node: NameNode, missing: number): number[] {
  const types = new Set(node.rrsets.keys());
  if (node.service) {
    types.add(RRType.A);
    types.add(RRType.AAAA);
  }
  if (node.name === view.zone.apex) for (const t of [RRType.DNSKEY, RRType.CDS, RRType.CDNSKEY]) types.add(t);
  types.delete(missing);
  return [...types];
}

/** What a delegation point has on the parent side: NS (and its other records), never DS. */
function referralTypes(cut: NameNode): number[] {
  return [...cut.rrsets.keys()];
}

/**
 * Signed answers, for DO=1 queries to a signed zone (DO=0 queries never come here, so their bytes do not change).
 * The same lookup as the unsigned path (responder.ts `lookup`, plans.ts), written with a BlockWriter when the
 * body cache (below) does not have it, because every RRset gets its RRSIG and negative answers get an NSEC made
 * for the query name:
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
 *
 * The finished bodies are kept too (the body cache), so a warm signed answer is a lookup plus what the unsigned
 * path does anyway (steering, the response around the body):
 *
 * - per zone index (a WeakMap: a zone change makes new indexes, and the old bodies go with them), by query
 *   name, type and whether signatures are wanted, in a TwoGenerationMap of BODY_GENERATION;
 * - an entry holds while the keys' phase is the same object (a rollover moving on by time gives the new
 *   signer's RRSIGs at once) and for BODY_MAX_AGE_MS, so a signature the SignatureCache makes again near its
 *   expiry reaches the answers within a minute (signatures are valid for days);
 * - a static answer's entry is its body. A steered one's names its service: a lookup steers (once per query,
 *   as without the cache) and then finds the body for the decision's records: by the decision's identity when it
 *   came from the decision cache (the same object for every query of its block), else by its records' content
 *   (failover and weighted decisions are made per query), both checked against the decision's TTL. State
 *   rebuilds keep the zone indexes, so the bodies depend on nothing but what these keys name; the ECS scope is
 *   not in the body, the responder takes it from this query's decision.
 *
 * Memory: at most 2 x BODY_GENERATION = 8192 entries per signed zone, plus the bodies that decision-cache
 * entries still lead to (deduplicated by content, so about one per distinct endpoint set and TTL, and gone with
 * the entry or decision that holds them). A body's bytes are ~130-400 B (an A RRset with its ECDSA RRSIG ~130 B,
 * a NODATA with signed SOA and NSEC ~350 B), kept in slabs of the signer's own (`own`), plus ~400 B of objects
 * and key around them: bench:dnssec measures ~530-610 B per entry, ~4.5 MiB for one zone's full body cache
 * (where the signature cache's 10 000 entries are ~12-14 MiB).
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
import { isCachedDecision } from '../routing/decision-cache.js';

/**
 * What the response builder writes after the question: a plan's header fields and bytes, made once and kept
 * (the body cache). Never the steering decision: one body serves many decisions (and ECS scopes).
 */
export type SignedBody = Pick<AnswerPlan, 'rcode' | 'aa' | 'an' | 'ns' | 'ar' | 'body' | 'cuts'>;

/** Steers a service name for the query's client (the responder knows the client). */
export type Steer = (serviceName: string) => Decision;

const MAX_CHAIN = 8;
const RFC8482_HINFO: RecordData[] = [{ type: RRType.HINFO, cpu: 'RFC8482', os: '' }];
/** A cached signature is made again when less than this share of its validity is left. */
const REFRESH_SHARE = 0.25;
/** NSEC RRsets kept per generation (at most twice this many). */
const NSEC_GENERATION = 4096;
/** Finished bodies kept per zone index and generation (at most twice this many). */
const BODY_GENERATION = 4096;
/** A kept body is made again after this long, so refreshed signatures reach it (they are valid for days). */
export const BODY_MAX_AGE_MS = 60_000;
/** Kept bodies' bytes are copied into slabs of this size (see `own`). */
const SLAB_SIZE = 64 * 1024;

/** One kept body (or, for a steered name, where its bodies are), valid for one key phase and a while. */
interface Kept {
  phase: SigningPhase;
  /** The signer's clock when it was made (ms). */
  madeAt: number;
  /** The answer; undefined for a steered name's entry. */
  body: SignedBody | undefined;
  /** A steered name's service: what to steer before looking the body up. */
  service: string | undefined;
  /** A steered name's bodies by their cached decision's records (`cname ?? endpoints`). */
  byDecision: WeakMap<object, Kept> | undefined;
  /** A steered body's decision TTL (its records' and its negative answer's TTL). */
  ttl: number;
}

/** What one build made: the body and, when a service answered, the service and the decision. */
interface Built {
  body: SignedBody;
  service: string | undefined;
  decision: Decision | undefined;
}

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
  /** Set when a service answered: its name and the decision steer gave. */
  service: string | undefined;
  decision: Decision | undefined;
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
  /** The body cache (see the top of the file), per zone index. */
  private readonly bodies = new WeakMap<ZoneIndex, TwoGenerationMap<Kept>>();
  private slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  private slabUsed = 0;

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

  /**
   * The signed answer to `qname`/`qtype` (`qnameLength`: its wire length) in the signed zone `zone`: the kept
   * body when there is one for this phase (and, for a service, this decision's records), else a new one. Calls
   * `steer` once when a service answers, never otherwise.
   */
  answer(zone: ZoneIndex, signing: ZoneSigning, qname: string, qtype: number, qnameLength: number, steer: Steer, signatures = true): SignedBody {
    const nowMs = this.clock();
    const phase = phaseOf(signing, nowMs);
    let bodies = this.bodies.get(zone);
    if (bodies === undefined) this.bodies.set(zone, (bodies = new TwoGenerationMap<Kept>(BODY_GENERATION)));
    const key = `${qtype}${signatures ? '+' : '-'}${qname}`;
    const kept = bodies.get(key);
    let d: Decision | undefined;
    if (kept !== undefined && fresh(kept, phase, nowMs)) {
      if (kept.service === undefined) return kept.body!;
      d = steer(kept.service);
      const hit = keptFor(bodies, key, kept, d, phase, nowMs);
      if (hit !== undefined) return hit;
    }
    // Steered already (a kept name whose body for this decision is not kept): the build gets this decision.
    const decided = d;
    const built = this.build(zone, signing, phase, nowMs, qname, qtype, qnameLength, decided ? () => decided : steer, signatures);
    if (built.service === undefined) {
      bodies.set(key, { phase, madeAt: nowMs, body: built.body, service: undefined, byDecision: undefined, ttl: 0 });
      return built.body;
    }
    // A new (or stale) name gets a new entry: what the old one kept by decision goes with it.
    let entry = kept;
    if (entry === undefined || decided === undefined) {
      entry = { phase, madeAt: nowMs, body: undefined, service: built.service, byDecision: new WeakMap(), ttl: 0 };
      bodies.set(key, entry);
    }
    keepSteered(bodies, key, entry, built.decision!, built.body, phase, nowMs);
    return built.body;
  }

  /** Writes the signed answer (the lookup of the unsigned path, each RRset with its RRSIGs). */
  private build(
    zone: ZoneIndex,
    signing: ZoneSigning,
    phase: SigningPhase,
    nowMs: number,
    qname: string,
    qtype: number,
    qnameLength: number,
    steer: Steer,
    signatures: boolean,
  ): Built {
    const w = new BlockWriter(HEADER_SIZE + qnameLength + 4);
    w.knowName(zone.apex, HEADER_SIZE + qnameLength - wireLength(zone.apex));
    const p: Pass = {
      w,
      signing,
      phase,
      cache: this.cacheFor(signing.validitySeconds),
      signatures,
      now: nowMs / 1000,
      an: 0,
      ns: 0,
      service: undefined,
      decision: undefined,
    };
    const body = this.lookup(p, zone, qname, qtype, steer);
    body.body = this.own(body.body);
    return { body, service: p.service, decision: p.decision };
  }

  /**
   * `bytes` copied into a slab of the signer's own. A small Buffer is a slice of Node's shared 8 KiB pool, which
   * stays whole while any slice of it lives: a kept body held its pool slab and every response and query
   * written beside it (~800 B more per body, measured); a slab here holds kept bodies only.
   */
  private own(bytes: Buffer): Buffer {
    const n = bytes.length;
    if (n > SLAB_SIZE >> 3) return Buffer.from(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n));
    if (this.slabUsed + n > SLAB_SIZE) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + n);
    bytes.copy(out);
    this.slabUsed += n;
    return out;
  }

  private lookup(p: Pass, zone: ZoneIndex, qname: string, qtype: number, steer: Steer): SignedBody {
    const view: ZoneView = { zone: p.signing.zone, nodes: zone.nodes };
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
      if (!isInZone(target, view.zone.apex)) return this.done(p);
      const next = staticLookup(view, target);
      if (!next) return this.negative(p, target, target, undefined, undefined);
      if (next.cut) return this.done(p);
      owner = ownerName = target;
      node = next;
    }
    if (node.service && (qtype === RRType.A || qtype === RRType.AAAA)) {
      p.service = node.service.name;
      const d = (p.decision = steer(p.service));
      if (d.cname) p.an += this.rrset(p, owner, ownerName, RRType.CNAME, d.ttl, this.cnameData(d.cname));
      else if (d.endpoints.length > 0) p.an += this.rrset(p, owner, ownerName, qtype, d.ttl, this.endpointsData(d.endpoints));
      else return this.negative(p, ownerName, owner, typesAt(view, node, qtype), d);
      return this.done(p);
    }
    if (qtype === RRType.ANY) {
      const cname = node.rrsets.get(RRType.CNAME);
      if (cname) p.an += this.rrset(p, owner, ownerName, RRType.CNAME, cname[0]!.ttl, this.dataOf(cname));
      else p.an += this.rrset(p, owner, ownerName, RRType.HINFO, view.zone.ttl, RFC8482_HINFO);
      return this.done(p);
    }
    const apexSet = node.name === view.zone.apex ? apexRRset(p.phase, qtype) : undefined;
    if (apexSet) {
      // Signed by every published key: during a rollover a resolver whose parent DS names either key validates it.
      p.an += this.rrset(p, owner, ownerName, qtype, view.zone.ttl, apexSet, p.phase.published);
      return this.done(p);
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
    return this.done(p);
  }

  /** A referral: the delegation's NS, the signed NSEC that proves it has no DS, the glue; AA clear. */
  private referral(p: Pass, view: ZoneView, cut: NameNode): SignedBody {
    const nsSet = cut.rrsets.get(RRType.NS) ?? [];
    for (const rr of nsSet) p.w.recordOf(rr);
    const nsec = this.nsecOf(cut.name, referralTypes(cut), true);
    const ns = nsSet.length + this.rrset(p, cut.name, cut.name, RRType.NSEC, p.signing.negativeTtl, nsec);
    const { count: ar } = writeAdditional(p.w, view, nsSet, (target) => isInZone(target, cut.name));
    return { rcode: Rcode.NOERROR, aa: false, an: 0, ns, ar, body: p.w.finish() };
  }

  /**
   * The answer with the signed A/AAAA of its NS/MX/SRV records' in-zone targets in the additional section, as
   * the unsigned path has them; each RRset with its RRSIG, and a cut after each, so a response too big for the
   * client drops whole signed RRsets from the end (RFC 2181 9) rather than being truncated.
   */
  private withAdditional(p: Pass, view: ZoneView, rrset: readonly ResourceRecord[]): SignedBody {
    const targets = additionalTargets(view, rrset);
    if (targets.length === 0) return this.done(p);
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
    return { ...this.done(p), ar, cuts };
  }

  /** With compact denial every signed answer is NOERROR (RFC 9824 3.1: a missing name too). */
  private done(p: Pass): SignedBody {
    return { rcode: Rcode.NOERROR, aa: true, an: p.an, ns: p.ns, ar: 0, body: p.w.finish() };
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

/**
 * A steered name's kept body for the decision `d` (made for this query): by its identity, else by its records.
 * The identity lookup is not a shortcut to drop: building the content key per query (a string of the records'
 * addresses) took the warm signed answer from 1.05x to 1.20-1.33x the unsigned one (bench:dnssec).
 */
function keptFor(bodies: TwoGenerationMap<Kept>, key: string, entry: Kept, d: Decision, phase: SigningPhase, nowMs: number): SignedBody | undefined {
  const cached = isCachedDecision(d);
  if (cached) {
    const hit = entry.byDecision!.get(d.cname ?? d.endpoints);
    if (hit !== undefined && hit.ttl === d.ttl && fresh(hit, phase, nowMs)) return hit.body!;
  }
  const byContent = bodies.get(contentKey(key, d));
  if (byContent === undefined || !fresh(byContent, phase, nowMs)) return undefined;
  if (cached) entry.byDecision!.set(d.cname ?? d.endpoints, byContent);
  return byContent.body!;
}

/** Keeps a steered body by its records' content, and by the decision's identity when it is a cached one. */
function keepSteered(bodies: TwoGenerationMap<Kept>, key: string, entry: Kept, d: Decision, body: SignedBody, phase: SigningPhase, nowMs: number): void {
  const kept: Kept = { phase, madeAt: nowMs, body, service: undefined, byDecision: undefined, ttl: d.ttl };
  bodies.set(contentKey(key, d), kept);
  if (isCachedDecision(d)) entry.byDecision!.set(d.cname ?? d.endpoints, kept);
}

/** A kept body holds in the phase it was made in, for BODY_MAX_AGE_MS (a clock set back makes it again too). */
function fresh(kept: Kept, phase: SigningPhase, nowMs: number): boolean {
  return kept.phase === phase && nowMs >= kept.madeAt && nowMs - kept.madeAt < BODY_MAX_AGE_MS;
}

/**
 * The body cache key of a steered answer by what its body is made of: the decision's records in order (a CNAME
 * target, or the addresses) and its TTL. A line apart from the name's key: names have no newline.
 */
function contentKey(key: string, d: Decision): string {
  let out = `${key}\n${d.ttl}`;
  if (d.cname) return `${out}>${d.cname.address}`;
  for (const e of d.endpoints) out += ` ${e.address}`;
  return out;
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

/**
 * Which answer a query gets: parsed query + current snapshot -> response bytes. Synchronous, no I/O, no
 * logging. Top to bottom: cookies and rate limiting (`respond`), the kind of answer (`answer`: errors, CHAOS,
 * zone lookup), steering for service names (`serviceAnswer`), then the zone lookup itself. The bytes are
 * written by response.ts: the snapshot holds precomputed answer bodies, so a static answer is a header, the
 * question copied from the query and one memcpy.
 */
import type { AnswerPlan, Snapshot, ZoneIndex, ZoneSigning } from '../snapshot/types.js';
import { decide } from '../routing/decide.js';
import type { DecisionCache } from '../routing/decision-cache.js';
import type { Client, Decision } from '../routing/decision.js';
import type { Rng } from '../util/rng.js';
import { EDNS_DO, HEADER_SIZE, Rcode, RRClass, RRType } from '../wire/constants.js';
import { CookieVerdict } from '../protect/cookies.js';
import type { QueryGuard } from '../protect/guard.js';
import { ipv4ToBytes, ipv6ToBytes } from '../wire/ip.js';
import { ParseOutcome, type ParsedQuery } from '../wire/query.js';
import { questionHash, ResponseKind, RrlAction } from '../protect/rrl.js';
import { ResponseBuilder, type Transport } from './response.js';
import { Signer } from './signed.js';
import { covering } from './covering.js';

export type { Transport } from './response.js';

/** The source of a query as the listener saw it. */
export interface Peer {
  address: string;
  family: 4 | 6;
}

/** Per-answer facts for metrics and query logs, overwritten on every call. */
export interface AnswerInfo {
  rcode: number;
  truncated: boolean;
  service: string | undefined;
  region: string | undefined;
  /** The steering decision behind a service answer (what explain shows). */
  decision: Decision | undefined;
  /** What response rate limiting did (RrlOutcome). */
  rrl: RrlOutcome;
  /** What the query's COOKIE option proved (CookieVerdict.NONE without one). */
  cookie: CookieVerdict;
}

/** RRL's effect on one response: NOT_LIMITED for TCP, exempt networks, valid cookies and RRL off. */
export const RrlOutcome = { NOT_LIMITED: 0, ANSWERED: 1, SLIPPED: 2, DROPPED: 3 } as const;
export type RrlOutcome = (typeof RrlOutcome)[keyof typeof RrlOutcome];

const CHAOS_NAMES = new Set(['id.server', 'hostname.bind']);

export class Responder {
  readonly info: AnswerInfo = { rcode: 0, truncated: false, service: undefined, region: undefined, decision: undefined, rrl: 0, cookie: 0 };
  private readonly client: Client = { address: Buffer.alloc(16), family: 4, sourcePrefix: 32, viaEcs: false };
  /** Writes every response of this responder; knows the layout of the last one (for slipping it). */
  private readonly res: ResponseBuilder;

  /** `guard`: cookies and rate limiting; without it COOKIE options are ignored and nothing is limited. */
  constructor(
    private readonly current: () => Snapshot,
    private readonly rng: Rng = Math.random,
    private readonly guard?: QueryGuard,
    /** Signs answers of signed zones to DO=1 queries; share one between responders so they share signatures. */
    private readonly signer: Signer = new Signer(),
    /**
     * The decision cache to use instead of the snapshot's (explain: DecisionCache.NONE, for decisions with their
     * reasons). An override, not a copy of the snapshot with another cache: the copy would be an object of
     * another hidden class, and steering's optimized code would deoptimize on it (and again on the real one).
     */
    private readonly decisions?: DecisionCache,
  ) {
    this.res = new ResponseBuilder(() => current().nodeIdBytes, guard);
  }

  /**
   * The response to `msg` (already parsed into `q` with outcome `outcome`), or undefined when the packet must
   * be dropped.
   */
  respond(q: ParsedQuery, outcome: ParseOutcome, msg: Buffer, peer: Peer, transport: Transport): Buffer | undefined {
    const info = this.info;
    info.truncated = false;
    info.service = undefined;
    info.region = undefined;
    info.decision = undefined;
    info.rrl = RrlOutcome.NOT_LIMITED;
    info.cookie = CookieVerdict.NONE;
    if (outcome === ParseOutcome.DROP) return undefined;
    const guard = this.guard;
    if (guard) {
      guard.setPeer(peer.address, peer.family);
      if (q.cookieMalformed) info.cookie = CookieVerdict.MALFORMED;
      // Options of an EDNS version we do not speak are not interpreted (RFC 6891 6.1.3): no cookie check for BADVERS.
      else if (q.hasCookie && q.ednsVersion === 0 && (outcome === ParseOutcome.OK || outcome === ParseOutcome.NO_QUESTION))
        info.cookie = guard.verifyCookie(msg, q.cookie);
    }
    let out: Buffer | undefined = this.answer(q, outcome, msg, peer, transport);
    // A valid server cookie proves the source address; TCP proves it too (RFC 7873 5.2.3, BIND, Knot).
    if (guard && transport === 'udp' && info.cookie !== CookieVerdict.VALID) out = this.rateLimited(q, out, guard);
    info.rcode = this.res.rcode;
    info.truncated = this.res.truncated;
    return out;
  }

  /** RRL for one UDP response: the response, a slipped reply (TC=1 or BADCOOKIE, no records), or nothing. */
  private rateLimited(q: ParsedQuery, out: Buffer, guard: QueryGuard): Buffer | undefined {
    const rcode = this.res.rcode;
    let kind: ResponseKind = ResponseKind.ERROR;
    if (rcode === Rcode.NOERROR && q.qdcount === 1) kind = out[2]! & 0x04 ? ResponseKind.ANSWER : ResponseKind.REFERRAL;
    else if (rcode === Rcode.NXDOMAIN) kind = ResponseKind.NXDOMAIN;
    const action = guard.limit(kind, kind === ResponseKind.ANSWER ? questionHash(q.qname, q.qtype) : 0);
    if (action === undefined) return out;
    if (action === RrlAction.PASS) {
      this.info.rrl = RrlOutcome.ANSWERED;
      return out;
    }
    if (action === RrlAction.DROP) {
      this.info.rrl = RrlOutcome.DROPPED;
      return undefined;
    }
    this.info.rrl = RrlOutcome.SLIPPED;
    // A query with a cookie we answer retries with the server cookie it gets (BADCOOKIE), which lifts the limit.
    return this.res.slip(q, out, q.hasCookie && q.ednsVersion === 0);
  }

  private answer(q: ParsedQuery, outcome: ParseOutcome, msg: Buffer, peer: Peer, transport: Transport): Buffer {
    const res = this.res;
    // Without cookie support a question-less query stays what it was: FORMERR.
    if (outcome === ParseOutcome.NO_QUESTION) return this.guard ? this.cookieOnly(q, msg, transport) : res.headerOnly(msg, Rcode.FORMERR);
    if (outcome !== ParseOutcome.OK) return res.headerOnly(msg, outcome);
    if (q.hasEdns && q.ednsVersion > 0) return res.badVersion(q, msg);

    const snap = this.current();
    const qtype = q.qtype;
    if (qtype === RRType.OPT || qtype === RRType.TKEY || qtype === RRType.TSIG) return res.start(Rcode.FORMERR).build(q, msg, transport);
    if (qtype === RRType.MAILA || qtype === RRType.MAILB) return res.start(Rcode.NOTIMP).build(q, msg, transport);
    if (q.qclass !== RRClass.IN) {
      if (q.qclass === RRClass.CH && qtype === RRType.TXT && CHAOS_NAMES.has(q.qname)) return this.chaosIdentity(q, msg, snap, transport);
      return res.start(Rcode.REFUSED).build(q, msg, transport);
    }
    // We never transfer zones; the API is the way to read configuration.
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) return res.start(Rcode.REFUSED).build(q, msg, transport);

    const zone = findZone(snap, q.qname);
    if (!zone) return res.start(Rcode.REFUSED).build(q, msg, transport);
    if (zone.signing) {
      // DO=1: signed. DO=0 asking for the apex's keys gets them, without signatures (RFC 4035 3.1.1).
      const signatures = (q.ednsFlags & EDNS_DO) !== 0;
      if (signatures || (q.qname === zone.apex && isKeyType(qtype))) return this.signedAnswer(q, msg, peer, zone, zone.signing, snap, transport, signatures);
    }
    const plan = lookup(zone, q.qname, qtype, q.qnameEnd - HEADER_SIZE);
    if (!plan.service) return res.fromPlan(plan).build(q, msg, transport);
    return this.serviceAnswer(q, msg, peer, plan, snap, transport);
  }

  /**
   * DO=1 to a signed zone: the signer's body (records and their signatures, signed.ts), kept across queries. The
   * ECS scope is this query's decision's (`info.decision`, which `steer` sets), never one kept with the body:
   * clients in blocks of different lengths may share one body.
   */
  private signedAnswer(q: ParsedQuery, msg: Buffer, peer: Peer, zone: ZoneIndex, signing: ZoneSigning, snap: Snapshot, transport: Transport, signatures: boolean): Buffer {
    const steer = (serviceName: string): Decision => {
      const d = decide(snap, snap.services.get(serviceName)!, q.qtype, this.clientOf(q, peer), this.rng, this.decisions ?? snap.decisions);
      this.info.decision = d;
      this.info.service = serviceName;
      this.info.region = d.region?.region.name;
      return d;
    };
    const a = this.signer.answer(zone, signing, q.qname, q.qtype, q.qnameEnd - HEADER_SIZE, steer, signatures);
    const res = this.res.start(a.rcode).records(a.body, a.an, a.ns, a.ar);
    if (a.cuts) res.cutAt(a.cuts);
    if (a.aa) res.authoritative();
    const d = this.info.decision;
    if (d) res.scope(Math.min(d.scope, q.hasEcs ? q.ecs.sourcePrefix : 0));
    return res.build(q, msg, transport);
  }

  /** The client steering locates: the ECS subnet when the query has one, else the resolver's address. */
  private clientOf(q: ParsedQuery, peer: Peer): Client {
    const client = this.client;
    if (q.hasEcs) {
      q.ecs.address.copy(client.address, 0, 0, 16);
      client.family = q.ecs.family === 1 ? 4 : 6;
      client.sourcePrefix = q.ecs.sourcePrefix;
      client.viaEcs = true;
    } else {
      client.address.fill(0);
      if (peer.family === 4) ipv4ToBytes(peer.address, client.address, 0);
      else ipv6ToBytes(peer.address).copy(client.address);
      client.family = peer.family;
      client.sourcePrefix = peer.family === 4 ? 32 : 128;
      client.viaEcs = false;
    }
    return client;
  }

  /** A service name: the plan's records (a CNAME chain to it, if any), then the steering decision's records. */
  private serviceAnswer(q: ParsedQuery, msg: Buffer, peer: Peer, plan: AnswerPlan, snap: Snapshot, transport: Transport): Buffer {
    const tail = plan.service!;
    const client = this.clientOf(q, peer);
    const svc = snap.services.get(tail.serviceName)!;
    const d = decide(snap, svc, q.qtype, client, this.rng, this.decisions ?? snap.decisions);
    this.info.decision = d;
    this.info.service = tail.serviceName;
    this.info.region = d.region?.region.name;
    const scope = Math.min(d.scope, q.hasEcs ? q.ecs.sourcePrefix : 0);
    const res = this.res.start(plan.rcode).authoritative().scope(scope);
    if (d.cname || d.endpoints.length > 0) return res.records(plan.body, plan.an, 0, 0).steered(d, tail.ownerOffset).build(q, msg, transport);
    const out = res.records(tail.nodataBody, plan.an, 1, 0).build(q, msg, transport);
    // A service's NODATA is cached no longer than its records would be (RFC 2308: the SOA's TTL bounds the
    // negative TTL): it depends on health, and the zone's 60 s negative TTL outlived the service TTL 2-4x.
    if (!res.truncated) out.writeUInt32BE(Math.min(tail.negativeTtl, d.ttl), q.questionEnd + tail.nodataSoaTtlAt);
    return out;
  }

  /**
   * RFC 7873 5.4: a query with no question and a COOKIE option asks for a server cookie. NOERROR with the
   * cookie, or BADCOOKIE when it carried a server cookie that is not valid.
   */
  private cookieOnly(q: ParsedQuery, msg: Buffer, transport: Transport): Buffer {
    if (q.ednsVersion > 0) return this.res.badVersion(q, msg);
    const rcode = this.info.cookie === CookieVerdict.INVALID ? Rcode.BADCOOKIE : Rcode.NOERROR;
    return this.res.start(rcode).build(q, msg, transport);
  }

  /** CHAOS TXT id.server / hostname.bind: the node id. */
  private chaosIdentity(q: ParsedQuery, msg: Buffer, snap: Snapshot, transport: Transport): Buffer {
    const id = snap.nodeIdBytes;
    const body = Buffer.allocUnsafe(12 + 1 + id.length);
    body.writeUInt16BE(0xc000 | HEADER_SIZE, 0);
    body.writeUInt16BE(RRType.TXT, 2);
    body.writeUInt16BE(RRClass.CH, 4);
    body.writeUInt32BE(0, 6);
    body.writeUInt16BE(1 + id.length, 10);
    body[12] = id.length;
    id.copy(body, 13);
    return this.res.start(Rcode.NOERROR).authoritative().records(body, 1, 0, 0).build(q, msg, transport);
  }
}

/** The apex's key RRsets, which a signed zone has whatever the DO bit says. */
function isKeyType(qtype: number): boolean {
  return qtype === RRType.DNSKEY || qtype === RRType.CDS || qtype === RRType.CDNSKEY;
}

/** The zone with the longest apex that `qname` falls under. */
export function findZone(snap: Snapshot, qname: string): ZoneIndex | undefined {
  let name = qname;
  for (;;) {
    const zone = snap.zones.get(name);
    if (zone) return zone;
    const dot = name.indexOf('.');
    if (dot < 0) return undefined;
    name = name.slice(dot + 1);
  }
}

/** Exact node, else delegation, else wildcard at the closest encloser, else NXDOMAIN (RFC 1034 4.3.2, RFC 4592). */
export function lookup(zone: ZoneIndex, qname: string, qtype: number, qnameLength: number): AnswerPlan {
  const exact = zone.nodes.get(qname);
  if (exact) {
    if (exact.cut && !(exact.cut === exact && qtype === RRType.DS)) return zone.referrals.get(exact.cut.name)!.get(qnameLength);
    return (exact.plans.get(qtype) ?? exact.other).get(qnameLength);
  }
  const found = covering(zone, qname);
  if (!found) return zone.nxdomain.get(qnameLength);
  if (found.cut) return zone.referrals.get(found.cut.name)!.get(qnameLength);
  return (found.wildcard.plans.get(qtype) ?? found.wildcard.other).get(qnameLength);
}

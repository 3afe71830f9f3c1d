/**
 * The answer path: parsed query + current snapshot -> response bytes. Synchronous, no I/O, no logging: the
 * snapshot holds precomputed answer bodies, so a static answer is a header, the question copied from the
 * query (keeping its case) and one memcpy.
 */
import { longestFittingCut, type AdditionalCut, type AnswerPlan, type Snapshot, type ZoneIndex } from '../snapshot/types.js';
import { decide } from '../routing/decide.js';
import type { Client, Decision } from '../routing/decision.js';
import type { Rng } from '../util/rng.js';
import {
  CLASSIC_UDP_PAYLOAD,
  EDNS_DO,
  EdnsOption,
  Flag,
  HEADER_SIZE,
  OUR_UDP_PAYLOAD,
  Rcode,
  RRClass,
  RRType,
} from '../wire/constants.js';
import { badVersionReply } from '../wire/badvers.js';
import { COOKIE_REPLY_LEN, CookieVerdict } from '../protect/cookies.js';
import type { QueryGuard } from '../protect/guard.js';
import { ipv4ToBytes, ipv6ToBytes } from '../wire/ip.js';
import { ParseOutcome, type ParsedQuery } from '../wire/query.js';
import { questionHash, ResponseKind, RrlAction } from '../protect/rrl.js';

export type Transport = 'udp' | 'tcp';

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

const BADCOOKIE = Rcode.BADCOOKIE;

const CHAOS_NAMES = new Set(['id.server', 'hostname.bind']);

export class Responder {
  readonly info: AnswerInfo = { rcode: 0, truncated: false, service: undefined, region: undefined, decision: undefined, rrl: 0, cookie: 0 };
  private readonly client: Client = { address: Buffer.alloc(16), family: 4, sourcePrefix: 32, viaEcs: false };
  /** Records appended after the precomputed body (a service's endpoints); reused, valid for one call. */
  private readonly append: Appended = { decision: undefined, ownerOffset: 0, size: 0 };
  /** Where the OPT record starts in the last assembled response (its length when there is none). */
  private optAt = 0;

  /** `guard`: cookies and rate limiting; without it COOKIE options are ignored and nothing is limited. */
  constructor(
    private readonly current: () => Snapshot,
    private readonly rng: Rng = Math.random,
    private readonly guard?: QueryGuard,
  ) {}

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
    if (!guard) return this.answer(q, outcome, msg, peer, transport);
    guard.setPeer(peer.address, peer.family);
    if (q.cookieMalformed) info.cookie = CookieVerdict.MALFORMED;
    // Options of an EDNS version we do not speak are not interpreted (RFC 6891 6.1.3): no cookie check for BADVERS.
    else if (q.hasCookie && q.ednsVersion === 0 && (outcome === ParseOutcome.OK || outcome === ParseOutcome.NO_QUESTION))
      info.cookie = guard.verifyCookie(msg, q.cookie);
    const out = this.answer(q, outcome, msg, peer, transport);
    // A valid server cookie proves the source address; TCP proves it too (RFC 7873 5.2.3, BIND, Knot).
    if (!out || transport !== 'udp' || info.cookie === CookieVerdict.VALID) return out;
    return this.rateLimited(q, out, guard);
  }

  /** RRL for one UDP response: the response, a slipped reply (TC=1 or BADCOOKIE, no records), or nothing. */
  private rateLimited(q: ParsedQuery, out: Buffer, guard: QueryGuard): Buffer | undefined {
    const rcode = this.info.rcode;
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
    return this.slipped(q, out);
  }

  /**
   * The slipped form of `out`: header, question and OPT (with the fresh cookie), no records. TC=1 so the
   * resolver retries over TCP; or, when the query carried a cookie, BADCOOKIE so it retries over UDP with
   * the server cookie it just got, which lifts the limit for it.
   */
  private slipped(q: ParsedQuery, out: Buffer): Buffer {
    const questionEnd = out.length > HEADER_SIZE ? q.questionEnd : HEADER_SIZE;
    const optAt = this.optAt;
    const hasOpt = optAt < out.length;
    const slip = Buffer.allocUnsafe(questionEnd + (out.length - optAt));
    out.copy(slip, 0, 0, questionEnd);
    out.copy(slip, questionEnd, optAt);
    slip.writeUInt16BE(0, 6);
    slip.writeUInt16BE(0, 8);
    slip.writeUInt16BE(hasOpt ? 1 : 0, 10);
    let flags = slip.readUInt16BE(2);
    if (hasOpt && q.hasCookie && q.ednsVersion === 0 && this.guard) {
      flags = (flags & ~(Flag.AA | Flag.TC | 0xf)) | (BADCOOKIE & 0xf);
      slip[questionEnd + 5] = BADCOOKIE >> 4;
      this.info.rcode = BADCOOKIE;
      // The answer it replaces may have been truncated; this reply is not (TC cleared above).
      this.info.truncated = false;
    } else {
      flags |= Flag.TC;
      this.info.truncated = true;
    }
    slip.writeUInt16BE(flags, 2);
    return slip;
  }

  private answer(q: ParsedQuery, outcome: ParseOutcome, msg: Buffer, peer: Peer, transport: Transport): Buffer | undefined {
    this.optAt = HEADER_SIZE;
    // Without cookie support a question-less query stays what it was: FORMERR.
    if (outcome === ParseOutcome.NO_QUESTION) return this.guard ? this.cookieOnly(q, msg, transport) : this.bare(msg, Rcode.FORMERR);
    if (outcome !== ParseOutcome.OK) return this.bare(msg, outcome);
    if (q.hasEdns && q.ednsVersion > 0) return this.badVersion(q, msg);

    const snap = this.current();
    const L = q.qnameEnd - HEADER_SIZE;
    const qtype = q.qtype;
    if (qtype === RRType.OPT || qtype === RRType.TKEY || qtype === RRType.TSIG) return this.assemble(q, msg, Rcode.FORMERR, false, 0, 0, 0, undefined, transport, 0);
    if (qtype === RRType.MAILA || qtype === RRType.MAILB) return this.assemble(q, msg, Rcode.NOTIMP, false, 0, 0, 0, undefined, transport, 0);
    if (q.qclass !== RRClass.IN) {
      if (q.qclass === RRClass.CH && qtype === RRType.TXT && CHAOS_NAMES.has(q.qname)) return this.chaosIdentity(q, msg, snap, transport);
      return this.assemble(q, msg, Rcode.REFUSED, false, 0, 0, 0, undefined, transport, 0);
    }
    // We never transfer zones; the API is the way to read configuration.
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) return this.assemble(q, msg, Rcode.REFUSED, false, 0, 0, 0, undefined, transport, 0);

    const zone = findZone(snap, q.qname);
    if (!zone) return this.assemble(q, msg, Rcode.REFUSED, false, 0, 0, 0, undefined, transport, 0);
    const plan = lookup(zone, q.qname, qtype, L);
    if (!plan.service) return this.assemble(q, msg, plan.rcode, plan.aa, plan.an, plan.ns, plan.ar, plan.body, transport, 0, undefined, plan.cuts);
    return this.serviceAnswer(q, msg, peer, plan, snap, transport);
  }

  private serviceAnswer(q: ParsedQuery, msg: Buffer, peer: Peer, plan: AnswerPlan, snap: Snapshot, transport: Transport): Buffer {
    const tail = plan.service!;
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
    const svc = snap.services.get(tail.serviceName)!;
    const d = decide(snap, svc, q.qtype, client, this.rng);
    this.info.decision = d;
    this.info.service = tail.serviceName;
    this.info.region = d.region?.region.name;
    const scope = Math.min(d.scope, q.hasEcs ? q.ecs.sourcePrefix : 0);
    const count = d.cname ? 1 : d.endpoints.length;
    if (count === 0) {
      const out = this.assemble(q, msg, plan.rcode, true, plan.an, 1, 0, tail.nodataBody, transport, scope);
      // A service's NODATA is cached no longer than its records would be (RFC 2308: the SOA's TTL bounds the
      // negative TTL): it depends on health, and the zone's 60 s negative TTL outlived the service TTL 2-4x.
      if (!this.info.truncated) out.writeUInt32BE(Math.min(tail.negativeTtl, d.ttl), q.questionEnd + tail.nodataSoaTtlAt);
      return out;
    }
    const append = this.append;
    append.decision = d;
    append.ownerOffset = tail.ownerOffset;
    let size = 0;
    if (d.cname) size = 12 + d.cname.rdata.length;
    else for (const e of d.endpoints) size += 12 + e.rdata.length;
    append.size = size;
    return this.assemble(q, msg, plan.rcode, true, plan.an + count, 0, 0, plan.body, transport, scope, append);
  }

  /**
   * RFC 7873 5.4: a query with no question and a COOKIE option asks for a server cookie. NOERROR with the
   * cookie, or BADCOOKIE when it carried a server cookie that is not valid.
   */
  private cookieOnly(q: ParsedQuery, msg: Buffer, transport: Transport): Buffer {
    if (q.ednsVersion > 0) return this.badVersion(q, msg);
    const rcode = this.info.cookie === CookieVerdict.INVALID ? BADCOOKIE : Rcode.NOERROR;
    return this.assemble(q, msg, rcode, false, 0, 0, 0, undefined, transport, 0);
  }

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
    return this.assemble(q, msg, Rcode.NOERROR, true, 1, 0, 0, body, transport, 0);
  }

  /** BADVERS with a bare OPT (badvers.ts). */
  private badVersion(q: ParsedQuery, msg: Buffer): Buffer {
    this.optAt = q.questionEnd;
    this.info.rcode = Rcode.BADVERS;
    this.info.truncated = false;
    return badVersionReply(q, msg);
  }

  /** FORMERR / NOTIMP when the question may be unreadable: header only. */
  private bare(msg: Buffer, rcode: number): Buffer {
    this.info.rcode = rcode;
    const out = Buffer.alloc(HEADER_SIZE);
    msg.copy(out, 0, 0, 2);
    const flags = msg.readUInt16BE(2);
    out.writeUInt16BE(Flag.QR | (flags & 0x7800) | (flags & Flag.RD) | rcode, 2);
    return out;
  }

  /**
   * header + echoed question + body [+ extra] + OPT. When it does not fit the client's limit, additional records
   * are dropped first, whole RRsets at a time, at one of the plan's `cuts` (RFC 2181 9: TC is not set merely
   * because additional data did not fit). When even the answer and authority sections do not fit, the answer
   * goes out empty with TC=1 (never a partial RRset), so the resolver retries over TCP.
   */
  private assemble(
    q: ParsedQuery,
    msg: Buffer,
    rcode: number,
    aa: boolean,
    an: number,
    ns: number,
    ar: number,
    body: Buffer | undefined,
    transport: Transport,
    scope: number,
    extra?: Appended,
    cuts?: readonly AdditionalCut[],
  ): Buffer {
    const questionEnd = q.questionEnd;
    let nsid = q.wantsNsid;
    const nodeId = nsid ? this.current().nodeIdBytes : undefined;
    const nsidLen = nodeId ? nodeId.length : 0;
    const ecsAddrLen = q.hasEcs ? (q.ecs.sourcePrefix + 7) >> 3 : 0;
    const cookie = q.hasCookie && this.guard !== undefined;
    let optLen = q.hasEdns ? 11 + (q.hasEcs ? 8 + ecsAddrLen : 0) + (nsid ? 4 + nsidLen : 0) + (cookie ? 4 + COOKIE_REPLY_LEN : 0) : 0;
    let bodyBytes = body?.length ?? 0;
    let bodyLen = bodyBytes + (extra?.size ?? 0);
    const limit =
      transport === 'tcp' ? 65535 : q.hasEdns ? Math.min(Math.max(q.udpSize, CLASSIC_UDP_PAYLOAD), OUR_UDP_PAYLOAD) : CLASSIC_UDP_PAYLOAD;
    let truncated = false;
    const cut = questionEnd + bodyLen + optLen > limit && cuts ? longestFittingCut(cuts, limit - questionEnd - optLen) : undefined;
    if (cut) {
      bodyBytes = bodyLen = cut.length;
      ar = cut.ar;
    } else if (questionEnd + bodyLen + optLen > limit) {
      truncated = true;
      an = ns = ar = 0;
      // Found by fuzzing: a 255-byte question name + IPv6 ECS + a 255-byte node id as NSID is 546+ bytes even
      // with TC=1 and no records, more than a 512-byte client accepts. NSID is optional (RFC 5001), ECS must
      // be echoed (RFC 7871 7.2.1): leave NSID out when even the empty answer would not fit.
      if (nsid && questionEnd + optLen > limit) {
        nsid = false;
        optLen -= 4 + nsidLen;
      }
    }
    const size = questionEnd + (truncated ? 0 : bodyLen) + optLen;
    const out = Buffer.allocUnsafe(size);
    msg.copy(out, 0, 0, questionEnd);
    const qflags = q.flags;
    let flags = Flag.QR | (qflags & Flag.RD) | (qflags & Flag.CD) | (rcode & 0xf);
    if (aa) flags |= Flag.AA;
    if (truncated) flags |= Flag.TC;
    out.writeUInt16BE(flags, 2);
    out.writeUInt16BE(q.qdcount, 4);
    out.writeUInt16BE(an, 6);
    out.writeUInt16BE(ns, 8);
    out.writeUInt16BE(ar + (q.hasEdns ? 1 : 0), 10);
    let o = questionEnd;
    if (!truncated) {
      if (body) o += body.copy(out, o, 0, bodyBytes);
      if (extra) o = writeAppended(out, o, extra);
    }
    this.optAt = o;
    if (q.hasEdns) {
      out[o] = 0; // root owner
      out.writeUInt16BE(RRType.OPT, o + 1);
      out.writeUInt16BE(OUR_UDP_PAYLOAD, o + 3);
      out[o + 5] = rcode >> 4; // extended rcode bits
      out[o + 6] = 0; // version 0
      out.writeUInt16BE(q.ednsFlags & EDNS_DO, o + 7);
      out.writeUInt16BE(optLen - 11, o + 9);
      o += 11;
      if (q.hasEcs) {
        out.writeUInt16BE(EdnsOption.ECS, o);
        out.writeUInt16BE(4 + ecsAddrLen, o + 2);
        out.writeUInt16BE(q.ecs.family, o + 4);
        out[o + 6] = q.ecs.sourcePrefix;
        out[o + 7] = scope;
        q.ecs.address.copy(out, o + 8, 0, ecsAddrLen);
        o += 8 + ecsAddrLen;
      }
      if (nsid) {
        out.writeUInt16BE(EdnsOption.NSID, o);
        out.writeUInt16BE(nsidLen, o + 2);
        nodeId!.copy(out, o + 4);
        o += 4 + nsidLen;
      }
      if (cookie) {
        out.writeUInt16BE(EdnsOption.COOKIE, o);
        out.writeUInt16BE(COOKIE_REPLY_LEN, o + 2);
        o = this.guard!.writeCookie(out, o + 4, msg, q.cookie);
      }
    }
    this.info.rcode = rcode;
    this.info.truncated = truncated;
    return out;
  }
}

interface Appended {
  decision: Decision | undefined;
  /** Absolute offset of the owner name (the service name) for compression pointers. */
  ownerOffset: number;
  size: number;
}

/** The decision's endpoint records (or its CNAME), owned by a pointer to the service name. */
function writeAppended(out: Buffer, at: number, a: Appended): number {
  const d = a.decision!;
  let o = at;
  const one = (type: number, rdata: Buffer) => {
    out.writeUInt16BE(0xc000 | a.ownerOffset, o);
    out.writeUInt16BE(type, o + 2);
    out.writeUInt16BE(RRClass.IN, o + 4);
    out.writeUInt32BE(d.ttl, o + 6);
    out.writeUInt16BE(rdata.length, o + 10);
    rdata.copy(out, o + 12);
    o += 12 + rdata.length;
  };
  if (d.cname) one(RRType.CNAME, d.cname.rdata);
  else for (const e of d.endpoints) one(e.family === 6 ? RRType.AAAA : RRType.A, e.rdata);
  return o;
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
  let ce = qname;
  for (;;) {
    const dot = ce.indexOf('.');
    ce = dot < 0 ? '' : ce.slice(dot + 1);
    const encloser = zone.nodes.get(ce);
    if (!encloser) {
      if (ce === '') return zone.nxdomain.get(qnameLength);
      continue;
    }
    if (encloser.cut) return zone.referrals.get(encloser.cut.name)!.get(qnameLength);
    const wildcard = zone.nodes.get(`*.${ce}`);
    if (wildcard) return (wildcard.plans.get(qtype) ?? wildcard.other).get(qnameLength);
    return zone.nxdomain.get(qnameLength);
  }
}

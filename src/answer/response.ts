/**
 * The bytes of one response. The responder says what goes in (rcode, AA, precomputed records, a steering
 * decision's records, the ECS scope) through a ResponseBuilder; `build` writes header + the question copied
 * from the query (keeping its case) + records + OPT, fitted to what the client accepts. Also here: the shapes
 * not built from records (a header alone, BADVERS) and the slipped form of a rate-limited response.
 *
 * A Responder owns one builder and reuses it for every query: no objects per query besides the response.
 */
import { longestFittingCut, type AdditionalCut, type AnswerPlan } from '../snapshot/types.js';
import type { Decision } from '../routing/decision.js';
import { CLASSIC_UDP_PAYLOAD, EDNS_DO, EdnsOption, Flag, HEADER_SIZE, OUR_UDP_PAYLOAD, Rcode, RRClass, RRType } from '../wire/constants.js';
import { badVersionReply } from '../wire/badvers.js';
import { put16, put32 } from '../wire/bytes.js';
import type { ParsedQuery } from '../wire/query.js';
import { COOKIE_REPLY_LEN } from '../protect/cookies.js';
import type { QueryGuard } from '../protect/guard.js';

export type Transport = 'udp' | 'tcp';

export class ResponseBuilder {
  /** The rcode of the last response made (build, headerOnly, badVersion, slip). */
  rcode = 0;
  /** Whether the last response went out empty with TC=1. */
  truncated = false;
  /** Where the last response's OPT record starts (its length when it has none): `slip` keeps it. */
  optAt = HEADER_SIZE;

  // What the next `build` writes; `start` resets all of it.
  private aa = false;
  private an = 0;
  private ns = 0;
  private ar = 0;
  private body: Buffer | undefined = undefined;
  private cuts: readonly AdditionalCut[] | undefined = undefined;
  private ecsScope = 0;
  /** Records appended after `body` (a service's endpoints or CNAME), owned by a pointer to `ownerOffset`. */
  private decision: Decision | undefined = undefined;
  private ownerOffset = 0;
  private decisionSize = 0;

  /**
   * `nodeId`: the NSID bytes, asked for only when a query wants NSID. `cookies`: writes server cookies; without
   * it COOKIE options get no answer.
   */
  constructor(
    private readonly nodeId: () => Buffer,
    private readonly cookies?: QueryGuard,
  ) {}

  /** A new response with `rcode`: no records, not authoritative, ECS scope 0. */
  start(rcode: number): this {
    this.rcode = rcode;
    this.aa = false;
    this.an = this.ns = this.ar = 0;
    this.body = undefined;
    this.cuts = undefined;
    this.ecsScope = 0;
    this.decision = undefined;
    return this;
  }

  /** A new response that is a precomputed plan: its rcode, AA, records and where its additional section may be cut. */
  fromPlan(plan: AnswerPlan): this {
    this.start(plan.rcode);
    this.aa = plan.aa;
    this.cuts = plan.cuts;
    return this.records(plan.body, plan.an, plan.ns, plan.ar);
  }

  /** Where the additional section of the records may be cut when the response is too big (a plan's `cuts`). */
  cutAt(cuts: readonly AdditionalCut[]): this {
    this.cuts = cuts;
    return this;
  }

  /** AA: we are the authority for the name. */
  authoritative(): this {
    this.aa = true;
    return this;
  }

  /** Precomputed records after the question: `an` answer, `ns` authority, then `ar` additional records. */
  records(body: Buffer, an: number, ns: number, ar: number): this {
    this.body = body;
    this.an = an;
    this.ns = ns;
    this.ar = ar;
    return this;
  }

  /** The decision's endpoint records (or its CNAME) added to the answer section after the records. */
  steered(d: Decision, ownerOffset: number): this {
    this.decision = d;
    this.ownerOffset = ownerOffset;
    let size = 0;
    if (d.cname) size = 12 + d.cname.rdata.length;
    else for (const e of d.endpoints) size += 12 + e.rdata.length;
    this.decisionSize = size;
    return this;
  }

  /** The ECS scope prefix length to answer with (RFC 7871 7.2.1). */
  scope(bits: number): this {
    this.ecsScope = bits;
    return this;
  }

  /**
   * header + echoed question + records + OPT. When it does not fit the client's limit, additional records
   * are dropped first, whole RRsets at a time, at one of the plan's `cuts` (RFC 2181 9: TC is not set merely
   * because additional data did not fit). When even the answer and authority sections do not fit, the answer
   * goes out empty with TC=1 (never a partial RRset), so the resolver retries over TCP.
   */
  build(q: ParsedQuery, msg: Buffer, transport: Transport): Buffer {
    const { body, decision, rcode } = this;
    let { ns, ar } = this;
    let an = this.an + (decision ? (decision.cname ? 1 : decision.endpoints.length) : 0);
    const questionEnd = q.questionEnd;
    let nsid = q.wantsNsid;
    const nodeId = nsid ? this.nodeId() : undefined;
    const nsidLen = nodeId ? nodeId.length : 0;
    const ecsAddrLen = q.hasEcs ? (q.ecs.sourcePrefix + 7) >> 3 : 0;
    const cookie = q.hasCookie && this.cookies !== undefined;
    let optLen = q.hasEdns ? 11 + (q.hasEcs ? 8 + ecsAddrLen : 0) + (nsid ? 4 + nsidLen : 0) + (cookie ? 4 + COOKIE_REPLY_LEN : 0) : 0;
    let bodyBytes = body?.length ?? 0;
    let bodyLen = bodyBytes + (decision ? this.decisionSize : 0);
    const limit = payloadLimit(q, transport);
    let truncated = false;
    const cut = questionEnd + bodyLen + optLen > limit && this.cuts ? longestFittingCut(this.cuts, limit - questionEnd - optLen) : undefined;
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
    const out = Buffer.allocUnsafe(questionEnd + (truncated ? 0 : bodyLen) + optLen);
    msg.copy(out, 0, 0, questionEnd);
    const qflags = q.flags;
    let flags = Flag.QR | (qflags & Flag.RD) | (qflags & Flag.CD) | (rcode & 0xf);
    if (this.aa) flags |= Flag.AA;
    if (truncated) flags |= Flag.TC;
    put16(out, 2, flags);
    put16(out, 4, q.qdcount);
    put16(out, 6, an);
    put16(out, 8, ns);
    put16(out, 10, ar + (q.hasEdns ? 1 : 0));
    let o = questionEnd;
    if (!truncated) {
      if (body) o += body.copy(out, o, 0, bodyBytes);
      if (decision) o = writeDecision(out, o, decision, this.ownerOffset);
    }
    this.optAt = o;
    this.truncated = truncated;
    if (!q.hasEdns) return out;
    out[o] = 0; // root owner
    put16(out, o + 1, RRType.OPT);
    put16(out, o + 3, OUR_UDP_PAYLOAD);
    out[o + 5] = rcode >> 4; // extended rcode bits
    out[o + 6] = 0; // version 0
    put16(out, o + 7, q.ednsFlags & EDNS_DO);
    put16(out, o + 9, optLen - 11);
    o += 11;
    if (q.hasEcs) {
      put16(out, o, EdnsOption.ECS);
      put16(out, o + 2, 4 + ecsAddrLen);
      put16(out, o + 4, q.ecs.family);
      out[o + 6] = q.ecs.sourcePrefix;
      out[o + 7] = this.ecsScope;
      q.ecs.address.copy(out, o + 8, 0, ecsAddrLen);
      o += 8 + ecsAddrLen;
    }
    if (nsid) {
      put16(out, o, EdnsOption.NSID);
      put16(out, o + 2, nsidLen);
      nodeId!.copy(out, o + 4);
      o += 4 + nsidLen;
    }
    if (cookie) {
      put16(out, o, EdnsOption.COOKIE);
      put16(out, o + 2, COOKIE_REPLY_LEN);
      this.cookies.writeCookie(out, o + 4, msg, q.cookie);
    }
    return out;
  }

  /** FORMERR / NOTIMP when the question may be unreadable: the query's header alone, with `rcode`. */
  headerOnly(msg: Buffer, rcode: number): Buffer {
    this.rcode = rcode;
    this.truncated = false;
    this.optAt = HEADER_SIZE;
    const out = Buffer.alloc(HEADER_SIZE);
    msg.copy(out, 0, 0, 2);
    const flags = msg.readUInt16BE(2);
    out.writeUInt16BE(Flag.QR | (flags & 0x7800) | (flags & Flag.RD) | rcode, 2);
    return out;
  }

  /** BADVERS with a bare OPT (wire/badvers.ts). */
  badVersion(q: ParsedQuery, msg: Buffer): Buffer {
    this.rcode = Rcode.BADVERS;
    this.truncated = false;
    this.optAt = q.questionEnd;
    return badVersionReply(q, msg);
  }

  /**
   * The slipped form of `out`, the last response built: header, question and OPT (with the fresh cookie), no
   * records. TC=1 so the resolver retries over TCP; or, with `badCookie` (the query carried a cookie we
   * answer) and an OPT to carry it, BADCOOKIE so it retries over UDP with the server cookie it just got.
   */
  slip(q: ParsedQuery, out: Buffer, badCookie: boolean): Buffer {
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
    if (hasOpt && badCookie) {
      flags = (flags & ~(Flag.AA | Flag.TC | 0xf)) | (Rcode.BADCOOKIE & 0xf);
      slip[questionEnd + 5] = Rcode.BADCOOKIE >> 4;
      this.rcode = Rcode.BADCOOKIE;
      // The answer it replaces may have been truncated; this reply is not (TC cleared above).
      this.truncated = false;
    } else {
      flags |= Flag.TC;
      this.truncated = true;
    }
    slip.writeUInt16BE(flags, 2);
    return slip;
  }
}

/** The most bytes the client takes: 64 KiB over TCP, else its EDNS payload size within our bounds, else 512. */
function payloadLimit(q: ParsedQuery, transport: Transport): number {
  if (transport === 'tcp') return 65535;
  return q.hasEdns ? Math.min(Math.max(q.udpSize, CLASSIC_UDP_PAYLOAD), OUR_UDP_PAYLOAD) : CLASSIC_UDP_PAYLOAD;
}

/** The decision's endpoint records (or its CNAME), owned by a pointer to the service name at `ownerOffset`. */
function writeDecision(out: Buffer, at: number, d: Decision, ownerOffset: number): number {
  let o = at;
  const one = (type: number, rdata: Buffer) => {
    put16(out, o, 0xc000 | ownerOffset);
    put16(out, o + 2, type);
    put16(out, o + 4, RRClass.IN);
    put32(out, o + 6, d.ttl);
    put16(out, o + 10, rdata.length);
    rdata.copy(out, o + 12);
    o += 12 + rdata.length;
  };
  if (d.cname) one(RRType.CNAME, d.cname.rdata);
  else for (const e of d.endpoints) one(e.family === 6 ? RRType.AAAA : RRType.A, e.rdata);
  return o;
}

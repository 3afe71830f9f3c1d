/**
 * The reply to a query whose EDNS version we do not implement (RFC 6891 6.1.3): header, question, and a bare
 * OPT of version 0 (the highest we speak) with BADVERS in its extended rcode bits, no DO and no options.
 *
 * The query's options belong to a version we do not implement, so none is echoed: not ECS, not NSID, and not
 * a server cookie either (RFC 7873 defines COOKIE for version 0; the client falls back to version 0 and gets
 * one then).
 */
import { Flag, OUR_UDP_PAYLOAD, Rcode, RRType } from './constants.js';
import type { ParsedQuery } from './query.js';

/** Bytes of an OPT record without options. */
export const BARE_OPT_SIZE = 11;

export function badVersionReply(q: ParsedQuery, msg: Buffer): Buffer {
  const questionEnd = q.questionEnd;
  const out = Buffer.allocUnsafe(questionEnd + BARE_OPT_SIZE);
  msg.copy(out, 0, 0, questionEnd);
  out.writeUInt16BE(Flag.QR | (q.flags & Flag.RD) | (q.flags & Flag.CD) | (Rcode.BADVERS & 0xf), 2);
  out.writeUInt16BE(q.qdcount, 4);
  out.writeUInt32BE(0, 6); // ANCOUNT, NSCOUNT
  out.writeUInt16BE(1, 10); // ARCOUNT: the OPT
  const o = questionEnd;
  out[o] = 0; // root owner
  out.writeUInt16BE(RRType.OPT, o + 1);
  out.writeUInt16BE(OUR_UDP_PAYLOAD, o + 3);
  out[o + 5] = Rcode.BADVERS >> 4;
  out[o + 6] = 0; // version
  out.writeUInt16BE(0, o + 7); // flags
  out.writeUInt16BE(0, o + 9); // RDLENGTH: no options
  return out;
}

/**
 * The query-path parser. dns2's decoder costs 13-90 µs a packet, allocates a tree of objects per query and
 * mis-decodes some ECS options, which alone would eat the whole per-query budget; this reads only what an
 * authoritative answer needs (header, the one question, OPT with ECS and NSID) by byte offset into a reused
 * object, validating as it goes so that every malformed body maps to FORMERR instead of an exception.
 */
import { EdnsOption, HEADER_SIZE, RRType } from './constants.js';
import { cookieLengthOk, type CookieSpan } from './cookie-option.js';
import { u16 } from './bytes.js';

/** What the parser concluded about a packet. */
export const ParseOutcome = {
  OK: 0,
  /** Readable header, broken body: answer FORMERR. */
  FORMERR: 1,
  /** Opcode other than QUERY: answer NOTIMP. */
  NOTIMP: 4,
  /** QDCOUNT=0 with a COOKIE option: a request for a server cookie (RFC 7873 5.4), answered NOERROR/BADCOOKIE. */
  NO_QUESTION: 2,
  /** Runt or a response (QR=1): never answer (prevents reflection loops). */
  DROP: -1,
} as const;
export type ParseOutcome = (typeof ParseOutcome)[keyof typeof ParseOutcome];

export interface ClientSubnet {
  /** 1 = IPv4, 2 = IPv6 (IANA address family numbers). */
  family: 1 | 2;
  sourcePrefix: number;
  /** The address zero-padded to 4 or 16 bytes. */
  address: Buffer;
}

/** Where a question name's text is assembled: at most 255 wire bytes, each at most 4 characters (\DDD). */
const NAME_TEXT = Buffer.alloc(255 * 4);

/** Parsed query. One instance is reused per listener: valid only until the next parse. */
export class ParsedQuery {
  id = 0;
  flags = 0;
  opcode = 0;
  /** Canonical (lowercase, no trailing dot) question name; odd bytes escaped as \DDD so they never match. */
  qname = '';
  /** Offset just past the question's QNAME, and so QTYPE is at qnameEnd. */
  qnameEnd = 0;
  qtype = 0;
  qclass = 0;
  hasEdns = false;
  udpSize = 0;
  ednsVersion = 0;
  ednsFlags = 0;
  wantsNsid = false;
  hasEcs = false;
  readonly ecs: ClientSubnet = { family: 1, sourcePrefix: 0, address: Buffer.alloc(16) };
  /** 1, or 0 for a cookie-only request (outcome NO_QUESTION). */
  qdcount = 1;
  hasCookie = false;
  /** Set with FORMERR when the COOKIE option was the reason (RFC 7873 5.2.2), for metrics. */
  cookieMalformed = false;
  /** Where the COOKIE option's data is (valid when hasCookie). */
  readonly cookie: CookieSpan = { at: 0, length: 0 };

  /** Offset just past the question section (just past the header when there is no question). */
  get questionEnd(): number {
    return this.qdcount === 0 ? HEADER_SIZE : this.qnameEnd + 4;
  }

  private reset(): void {
    this.qname = '';
    this.qnameEnd = 0;
    this.qtype = 0;
    this.qclass = 0;
    this.hasEdns = false;
    this.udpSize = 0;
    this.ednsVersion = 0;
    this.ednsFlags = 0;
    this.wantsNsid = false;
    this.hasEcs = false;
    this.qdcount = 1;
    this.hasCookie = false;
    this.cookieMalformed = false;
  }

  parse(msg: Buffer): ParseOutcome {
    this.reset();
    const len = msg.length;
    if (len < HEADER_SIZE) return ParseOutcome.DROP;
    this.id = u16(msg, 0);
    this.flags = u16(msg, 2);
    if (this.flags & 0x8000) return ParseOutcome.DROP;
    this.opcode = (this.flags >> 11) & 0xf;
    if (this.opcode !== 0) return ParseOutcome.NOTIMP;
    const qdcount = u16(msg, 4);
    if (qdcount > 1) return ParseOutcome.FORMERR;
    this.qdcount = qdcount;
    const ancount = u16(msg, 6);
    const nscount = u16(msg, 8);
    const arcount = u16(msg, 10);

    let pos = HEADER_SIZE;
    if (qdcount === 1) pos = this.parseQuestion(msg);
    if (pos < 0) return ParseOutcome.FORMERR;

    for (let i = 0, n = ancount + nscount; i < n; i++) {
      pos = skipRecord(msg, pos);
      if (pos < 0) return ParseOutcome.FORMERR;
    }
    for (let i = 0; i < arcount; i++) {
      const nameStart = pos;
      pos = skipName(msg, pos);
      if (pos < 0 || pos + 10 > len) return ParseOutcome.FORMERR;
      const type = u16(msg, pos);
      const rdlen = u16(msg, pos + 8);
      const rdStart = pos + 10;
      if (rdStart + rdlen > len) return ParseOutcome.FORMERR;
      if (type === RRType.OPT) {
        // RFC 6891 6.1.1: one OPT, owner is the root.
        if (this.hasEdns || msg[nameStart] !== 0) return ParseOutcome.FORMERR;
        this.hasEdns = true;
        this.udpSize = u16(msg, pos + 2);
        this.ednsVersion = msg[pos + 5]!;
        this.ednsFlags = u16(msg, pos + 6);
        if (!this.parseOptions(msg, rdStart, rdStart + rdlen)) return ParseOutcome.FORMERR;
      }
      pos = rdStart + rdlen;
    }
    if (pos !== len) return ParseOutcome.FORMERR;
    if (qdcount === 0) return this.hasCookie ? ParseOutcome.NO_QUESTION : ParseOutcome.FORMERR;
    return ParseOutcome.OK;
  }

  /** QNAME, QTYPE, QCLASS; returns the offset after them, or -1 when malformed. */
  private parseQuestion(msg: Buffer): number {
    const len = msg.length;
    // QNAME: no compression is possible in the first name of a message.
    let pos = HEADER_SIZE;
    // The text is assembled as bytes and read as one flat string: appending a character at a time made a
    // rope that every Map lookup then had to flatten and hash, a visible share of a query's CPU.
    const text = NAME_TEXT;
    let n = 0;
    let wire = 1;
    for (;;) {
      if (pos >= len) return -1;
      const labelLen = msg[pos]!;
      if (labelLen === 0) {
        pos++;
        break;
      }
      if (labelLen > 63) return -1;
      wire += labelLen + 1;
      if (wire > 255 || pos + 1 + labelLen > len) return -1;
      if (n !== 0) text[n++] = 0x2e;
      for (let i = pos + 1, end = pos + 1 + labelLen; i < end; i++) {
        let c = msg[i]!;
        if (c >= 65 && c <= 90) c += 32;
        if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
          text[n] = 0x5c;
          text[n + 1] = 0x30 + ((c / 100) | 0);
          text[n + 2] = 0x30 + (((c / 10) | 0) % 10);
          text[n + 3] = 0x30 + (c % 10);
          n += 4;
        } else text[n++] = c;
      }
      pos += 1 + labelLen;
    }
    if (pos + 4 > len) return -1;
    this.qname = n === 0 ? '' : text.toString('latin1', 0, n);
    this.qnameEnd = pos;
    this.qtype = u16(msg, pos);
    this.qclass = u16(msg, pos + 2);
    return pos + 4;
  }

  private parseOptions(msg: Buffer, start: number, end: number): boolean {
    let o = start;
    while (o < end) {
      if (o + 4 > end) return false;
      const code = u16(msg, o);
      const olen = u16(msg, o + 2);
      const data = o + 4;
      if (data + olen > end) return false;
      if (code === EdnsOption.ECS) {
        if (this.hasEcs || !this.parseEcs(msg, data, olen)) return false;
      } else if (code === EdnsOption.NSID) {
        this.wantsNsid = true;
      } else if (code === EdnsOption.COOKIE) {
        // RFC 7873 5.2.2: a malformed (or repeated) COOKIE option is FORMERR.
        if (this.hasCookie || !cookieLengthOk(olen)) {
          this.cookieMalformed = true;
          return false;
        }
        this.hasCookie = true;
        this.cookie.at = data;
        this.cookie.length = olen;
      }
      o = data + olen;
    }
    return true;
  }

  /** RFC 7871 6: malformed options (bad family, prefix too long, wrong address length, bits set past the prefix) are FORMERR. */
  private parseEcs(msg: Buffer, at: number, olen: number): boolean {
    if (olen < 4) return false;
    const family = u16(msg, at);
    const source = msg[at + 2]!;
    const max = family === 1 ? 32 : family === 2 ? 128 : -1;
    if (max < 0 || source > max) return false;
    const addrLen = (source + 7) >> 3;
    if (olen !== 4 + addrLen) return false;
    const address = this.ecs.address;
    address.fill(0);
    msg.copy(address, 0, at + 4, at + 4 + addrLen);
    if (source & 7) {
      const mask = 0xff >> (source & 7);
      if ((address[addrLen - 1]! & mask) !== 0) return false;
    }
    this.hasEcs = true;
    this.ecs.family = family as 1 | 2;
    this.ecs.sourcePrefix = source;
    return true;
  }
}

/** Offset after a (possibly compressed) name, or -1 when it is malformed. */
function skipName(msg: Buffer, pos: number): number {
  let wire = 1;
  for (;;) {
    if (pos >= msg.length) return -1;
    const l = msg[pos]!;
    if (l === 0) return pos + 1;
    if ((l & 0xc0) === 0xc0) {
      if (pos + 2 > msg.length) return -1;
      const target = ((l & 0x3f) << 8) | msg[pos + 1]!;
      return target < pos ? pos + 2 : -1;
    }
    if (l > 63) return -1;
    wire += l + 1;
    if (wire > 255) return -1;
    pos += 1 + l;
  }
}

function skipRecord(msg: Buffer, pos: number): number {
  const after = skipName(msg, pos);
  if (after < 0 || after + 10 > msg.length) return -1;
  const end = after + 10 + u16(msg, after + 8);
  return end <= msg.length ? end : -1;
}

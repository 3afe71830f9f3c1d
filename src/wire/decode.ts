/**
 * A complete, strict DNS message decoder. Not used on the query path (see query.ts for that); it serves the
 * test suite, the bench and tools that need to read responses, and it is the reference the fast path is
 * checked against.
 */
import { HEADER_SIZE, RRType } from './constants.js';
import { bytesToIpv4, bytesToIpv6 } from './ip.js';
import type { OpaqueData, RecordData } from './records.js';

export class DecodeError extends Error {}

export interface DecodedQuestion {
  /** As on the wire (case kept), no trailing dot; "" is the root. */
  name: string;
  type: number;
  class: number;
}

export interface DecodedRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RecordData | OpaqueData;
}

export interface EdnsOptionValue {
  code: number;
  data: Buffer;
}

export interface DecodedEdns {
  udpSize: number;
  extendedRcode: number;
  version: number;
  flags: number;
  options: EdnsOptionValue[];
}

export interface DecodedMessage {
  id: number;
  flags: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** Full rcode: header bits plus the OPT's extended bits. */
  rcode: number;
  questions: DecodedQuestion[];
  answers: DecodedRecord[];
  authority: DecodedRecord[];
  additional: DecodedRecord[];
  edns?: DecodedEdns;
}

/** Read a possibly compressed name at `offset`; returns the name and the offset after it. */
export function readName(buf: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  let jumps = 0;
  let wire = 1;
  for (;;) {
    if (pos >= buf.length) throw new DecodeError('name runs past the end');
    const len = buf[pos]!;
    if (len === 0) {
      pos += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DecodeError('truncated pointer');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (++jumps > 64 || target >= pos) throw new DecodeError('bad compression pointer');
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DecodeError('unknown label type');
    if (pos + 1 + len > buf.length) throw new DecodeError('label runs past the end');
    wire += len + 1;
    if (wire > 255) throw new DecodeError('name longer than 255 bytes');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return [labels.join('.'), end < 0 ? pos : end];
}

function readCharString(buf: Buffer, pos: number, end: number): [Buffer, number] {
  // The length byte itself must lie inside the record (buf[pos] past the end would be undefined, and NaN
  // comparisons are false, so a HINFO missing its second string decoded as if it were empty).
  if (pos >= end) throw new DecodeError('character-string runs past its record');
  const len = buf[pos]!;
  if (pos + 1 + len > end) throw new DecodeError('character-string runs past its record');
  return [buf.subarray(pos + 1, pos + 1 + len), pos + 1 + len];
}

function decodeRdata(buf: Buffer, type: number, start: number, length: number): RecordData | OpaqueData {
  const end = start + length;
  const need = (n: number): void => {
    if (length !== n) throw new DecodeError(`${type} rdata of ${length} bytes, expected ${n}`);
  };
  /** `last`: the name ends the rdata, so bytes after it are garbage (the strict decoder rejects them). */
  const nameAt = (pos: number, last = false): [string, number] => {
    const r = readName(buf, pos);
    if (r[1] > end) throw new DecodeError('name runs past its record');
    if (last && r[1] !== end) throw new DecodeError('bytes after the name in its record');
    return r;
  };
  switch (type) {
    case RRType.A:
      need(4);
      return { type, address: bytesToIpv4(buf, start) };
    case RRType.AAAA:
      need(16);
      return { type, address: bytesToIpv6(buf, start) };
    case RRType.NS:
      return { type, target: nameAt(start, true)[0] };
    case RRType.CNAME:
      return { type, target: nameAt(start, true)[0] };
    case RRType.SOA: {
      const [mname, p1] = nameAt(start);
      const [rname, p2] = nameAt(p1);
      if (p2 + 20 !== end) throw new DecodeError('bad SOA rdata length');
      return {
        type,
        mname,
        rname,
        serial: buf.readUInt32BE(p2),
        refresh: buf.readUInt32BE(p2 + 4),
        retry: buf.readUInt32BE(p2 + 8),
        expire: buf.readUInt32BE(p2 + 12),
        minimum: buf.readUInt32BE(p2 + 16),
      };
    }
    case RRType.TXT: {
      const strings: Buffer[] = [];
      let pos = start;
      while (pos < end) {
        const [s, next] = readCharString(buf, pos, end);
        strings.push(Buffer.from(s));
        pos = next;
      }
      return { type, strings };
    }
    case RRType.MX: {
      if (length < 3) throw new DecodeError('short MX');
      return { type, preference: buf.readUInt16BE(start), exchange: nameAt(start + 2, true)[0] };
    }
    case RRType.SRV: {
      if (length < 7) throw new DecodeError('short SRV');
      return {
        type,
        priority: buf.readUInt16BE(start),
        weight: buf.readUInt16BE(start + 2),
        port: buf.readUInt16BE(start + 4),
        target: nameAt(start + 6, true)[0],
      };
    }
    case RRType.CAA: {
      if (length < 2) throw new DecodeError('short CAA');
      const tagLen = buf[start + 1]!;
      if (start + 2 + tagLen > end) throw new DecodeError('bad CAA tag length');
      return {
        type,
        flags: buf[start]!,
        tag: buf.toString('latin1', start + 2, start + 2 + tagLen),
        value: Buffer.from(buf.subarray(start + 2 + tagLen, end)),
      };
    }
    case RRType.HINFO: {
      const [cpu, p] = readCharString(buf, start, end);
      const [os, after] = readCharString(buf, p, end);
      if (after !== end) throw new DecodeError('bytes after HINFO os');
      return { type, cpu: cpu.toString('latin1'), os: os.toString('latin1') };
    }
    default:
      return { type, raw: Buffer.from(buf.subarray(start, end)) };
  }
}

export function decodeMessage(buf: Buffer): DecodedMessage {
  if (buf.length < HEADER_SIZE) throw new DecodeError('shorter than a header');
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  let pos = HEADER_SIZE;
  const questions: DecodedQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const [name, next] = readName(buf, pos);
    if (next + 4 > buf.length) throw new DecodeError('truncated question');
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const sections: DecodedRecord[][] = [[], [], []];
  let edns: DecodedEdns | undefined;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const [name, next] = readName(buf, pos);
      if (next + 10 > buf.length) throw new DecodeError('truncated record header');
      const type = buf.readUInt16BE(next);
      const klass = buf.readUInt16BE(next + 2);
      const ttl = buf.readUInt32BE(next + 4);
      const rdlen = buf.readUInt16BE(next + 8);
      const start = next + 10;
      if (start + rdlen > buf.length) throw new DecodeError('truncated rdata');
      if (type === RRType.OPT) {
        if (s !== 2 || edns) throw new DecodeError('misplaced or repeated OPT');
        const options: EdnsOptionValue[] = [];
        let o = start;
        while (o < start + rdlen) {
          if (o + 4 > start + rdlen) throw new DecodeError('truncated EDNS option');
          const code = buf.readUInt16BE(o);
          const len = buf.readUInt16BE(o + 2);
          if (o + 4 + len > start + rdlen) throw new DecodeError('EDNS option runs past OPT');
          options.push({ code, data: Buffer.from(buf.subarray(o + 4, o + 4 + len)) });
          o += 4 + len;
        }
        edns = { udpSize: klass, extendedRcode: ttl >>> 24, version: (ttl >>> 16) & 0xff, flags: ttl & 0xffff, options };
      } else {
        sections[s]!.push({ name, type, class: klass, ttl, data: decodeRdata(buf, type, start, rdlen) });
      }
      pos = start + rdlen;
    }
  }
  return {
    id: buf.readUInt16BE(0),
    flags,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: (flags & 0xf) | ((edns?.extendedRcode ?? 0) << 4),
    questions,
    answers: sections[0]!,
    authority: sections[1]!,
    additional: sections[2]!,
    ...(edns ? { edns } : {}),
  };
}

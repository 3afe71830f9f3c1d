/**
 * Build-time message writer with name compression (RFC 1035 4.1.4).
 *
 * It writes the part of a response that follows the question, knowing where in the final message that part
 * will sit (`base`) and which names are already present before it (the question name and its suffixes), so
 * compression pointers are final and the result can be copied verbatim into every response that has a
 * question of the same length. This is what lets static answers be precomputed once per snapshot.
 */
import { RRClass, RRType } from './constants.js';
import { ipv4ToBytes, ipv6ToBytes } from './ip.js';
import type { OpaqueData, RecordData, ResourceRecord } from './records.js';

const POINTER_LIMIT = 0x3fff;

export class BlockWriter {
  private buf: Buffer;
  private pos = 0;
  /** Canonical name (or suffix) -> absolute offset of its first label in the message. */
  private readonly known = new Map<string, number>();

  /**
   * `base`: absolute offset in the message where this block's first byte will be. `compression` false writes
   * every name in full, as the DNSSEC canonical form (RFC 4034 6.2) needs.
   */
  constructor(
    private readonly base: number,
    capacity = 512,
    private readonly compression = true,
  ) {
    this.buf = Buffer.alloc(capacity);
  }

  /** Declare that `name` (canonical) is written at absolute `offset` outside this block (e.g. in the question). */
  knowName(name: string, offset: number): void {
    let suffix = name;
    let at = offset;
    while (suffix !== '') {
      if (!this.known.has(suffix) && at <= POINTER_LIMIT) this.known.set(suffix, at);
      const dot = suffix.indexOf('.');
      if (dot < 0) break;
      at += dot + 1;
      suffix = suffix.slice(dot + 1);
    }
  }

  /** Absolute offset where `name` (or a name ending with it) was written or declared, if anywhere. */
  offsetOf(name: string): number | undefined {
    return this.known.get(name);
  }

  get length(): number {
    return this.pos;
  }

  /** Absolute offset of the next byte written. */
  get offset(): number {
    return this.base + this.pos;
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  /** Write a canonical name, compressed against everything written or declared so far. */
  name(name: string, compress = true): void {
    let suffix = name;
    while (suffix !== '') {
      if (compress && this.compression) {
        const at = this.known.get(suffix);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
        if (this.offset <= POINTER_LIMIT) this.known.set(suffix, this.offset);
      }
      const dot = suffix.indexOf('.');
      const label = dot < 0 ? suffix : suffix.slice(0, dot);
      this.u8(label.length);
      this.ensure(label.length);
      this.pos += this.buf.write(label, this.pos, 'latin1');
      suffix = dot < 0 ? '' : suffix.slice(dot + 1);
    }
    this.u8(0);
  }

  /** Write a pointer to an absolute offset (used for owner names equal to the question name). */
  pointer(offset: number): void {
    this.u16(0xc000 | offset);
  }

  /**
   * One RR. `owner` is either a canonical name or an absolute offset to point at. Opaque data (DNSSEC records,
   * whose rdata the dnssec layer builds) is written as it is.
   */
  record(owner: string | number, ttl: number, data: RecordData | OpaqueData): void {
    if (typeof owner === 'number') this.pointer(owner);
    else this.name(owner);
    this.u16(data.type);
    this.u16(RRClass.IN);
    this.u32(ttl);
    const lengthAt = this.pos;
    this.u16(0);
    this.rdata(data);
    this.buf.writeUInt16BE(this.pos - lengthAt - 2, lengthAt);
  }

  recordOf(rr: ResourceRecord, ownerOffset?: number): void {
    this.record(ownerOffset ?? rr.name, rr.ttl, rr.data);
  }

  /** One record's rdata, without its length. */
  rdata(data: RecordData | OpaqueData): void {
    if ('raw' in data) {
      this.bytes(data.raw);
      return;
    }
    switch (data.type) {
      case RRType.A:
        this.ensure(4);
        ipv4ToBytes(data.address, this.buf, this.pos);
        this.pos += 4;
        return;
      case RRType.AAAA:
        this.bytes(ipv6ToBytes(data.address));
        return;
      case RRType.NS:
      case RRType.CNAME:
        this.name(data.target);
        return;
      case RRType.SOA:
        this.name(data.mname);
        this.name(data.rname);
        this.u32(data.serial);
        this.u32(data.refresh);
        this.u32(data.retry);
        this.u32(data.expire);
        this.u32(data.minimum);
        return;
      case RRType.TXT:
        for (const s of data.strings) {
          this.u8(s.length);
          this.bytes(s);
        }
        return;
      case RRType.MX:
        this.u16(data.preference);
        this.name(data.exchange);
        return;
      case RRType.SRV:
        this.u16(data.priority);
        this.u16(data.weight);
        this.u16(data.port);
        // RFC 2782: the SRV target must not be compressed.
        this.name(data.target, false);
        return;
      case RRType.CAA: {
        const tag = Buffer.from(data.tag, 'latin1');
        this.u8(data.flags);
        this.u8(tag.length);
        this.bytes(tag);
        this.bytes(data.value);
        return;
      }
      case RRType.HINFO: {
        const cpu = Buffer.from(data.cpu, 'latin1');
        const os = Buffer.from(data.os, 'latin1');
        this.u8(cpu.length);
        this.bytes(cpu);
        this.u8(os.length);
        this.bytes(os);
        return;
      }
    }
  }
}

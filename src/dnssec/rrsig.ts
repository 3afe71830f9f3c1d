/**
 * RRSIG (RFC 4034 3, RFC 4035 5.3): the signature over an RRset in canonical form, and its check.
 *
 * What is signed (RFC 4034 3.1.8.1) is the RRSIG rdata up to the signer name, then each record of the set in
 * canonical order as owner | type | class | original TTL | rdata length | rdata, with the owner lowercase and
 * uncompressed. Times are seconds since the epoch, written modulo 2^32 (RFC 4034 3.1.5 serial arithmetic).
 */
import { verify } from 'node:crypto';
import { RRClass } from '../wire/constants.js';
import { Algorithm, publicKeyOf, type SigningKey } from './algorithms.js';
import { canonicalRdataSet, type SignableData } from './canonical.js';
import { keyTag, parseDnskey } from './dnskey.js';
import { canonicalNameWire, labelCount, labelsToName, nameLabels, readWireName } from './names.js';

/** The records to sign: one owner, one type, one TTL (class IN). */
export interface RRset {
  /** Text form (names.ts): a parsed query name may be passed as it is. */
  owner: string;
  type: number;
  ttl: number;
  records: readonly SignableData[];
}

/** When a signature is valid, in seconds since the epoch. */
export interface SignatureWindow {
  inception: number;
  expiration: number;
}

export interface WindowOptions {
  /** How long a signature is valid from now. */
  validitySeconds: number;
  /** How far before now it starts, so a validator whose clock is behind accepts it (default 1 h). */
  backdateSeconds?: number;
}

export const DEFAULT_BACKDATE_SECONDS = 3600;

export function signatureWindow(nowSeconds: number, options: WindowOptions): SignatureWindow {
  const now = Math.floor(nowSeconds);
  const backdate = options.backdateSeconds ?? DEFAULT_BACKDATE_SECONDS;
  return { inception: now - backdate, expiration: now + options.validitySeconds };
}

/** An RRSIG's fields, as signed or as read back. */
export interface RrsigFields {
  typeCovered: number;
  algorithm: number;
  labels: number;
  originalTtl: number;
  expiration: number;
  inception: number;
  keyTag: number;
  /** The zone apex, text form. */
  signer: string;
  signature: Buffer;
}

/** A signature made here: its fields and the RRSIG rdata to send (owner and TTL: the RRset's). */
export interface Rrsig extends RrsigFields {
  rdata: Buffer;
}

/** RRSIG rdata up to and including the signer name (RFC 4034 3.1). */
function rrsigHead(f: Omit<RrsigFields, 'signature'>): Buffer {
  const signer = canonicalNameWire(f.signer);
  const head = Buffer.allocUnsafe(18 + signer.length);
  head.writeUInt16BE(f.typeCovered, 0);
  head[2] = f.algorithm;
  head[3] = f.labels;
  head.writeUInt32BE(f.originalTtl >>> 0, 4);
  head.writeUInt32BE(f.expiration >>> 0, 8);
  head.writeUInt32BE(f.inception >>> 0, 12);
  head.writeUInt16BE(f.keyTag, 16);
  signer.copy(head, 18);
  return head;
}

/** The bytes a signature covers: the RRSIG head, then the canonical records (RFC 4034 3.1.8.1). */
export function signedData(head: Buffer, ownerWire: Buffer, rrset: RRset): Buffer {
  const rdatas = canonicalRdataSet(rrset.records);
  const fixed = Buffer.allocUnsafe(10);
  fixed.writeUInt16BE(rrset.type, 0);
  fixed.writeUInt16BE(RRClass.IN, 2);
  fixed.writeUInt32BE(rrset.ttl >>> 0, 4);
  const parts: Buffer[] = [head];
  for (const rdata of rdatas) {
    const rr = Buffer.from(fixed);
    rr.writeUInt16BE(rdata.length, 8);
    parts.push(ownerWire, rr, rdata);
  }
  return Buffer.concat(parts);
}

/**
 * Sign an RRset with `key` for the zone `signer`. A wildcard owner (`*.x`) gets a Labels field without the
 * `*`; an answer synthesised from a wildcard is signed with the query name as its owner (RFC 9824 3.3).
 */
export function signRRset(rrset: RRset, key: SigningKey, signer: string, window: SignatureWindow): Rrsig {
  const fields = {
    typeCovered: rrset.type,
    algorithm: key.algorithmNumber,
    labels: labelCount(rrset.owner),
    originalTtl: rrset.ttl,
    expiration: window.expiration,
    inception: window.inception,
    keyTag: key.keyTag,
    signer: labelsToName(nameLabels(signer)),
  };
  const head = rrsigHead(fields);
  const signed = key.sign(signedData(head, canonicalNameWire(rrset.owner), rrset));
  // One allocation of its own (not a slice of Node's shared pool, which would keep 8 KiB alive per cached
  // signature), with the signature a view into it.
  const rdata = Buffer.alloc(head.length + signed.length);
  head.copy(rdata, 0);
  signed.copy(rdata, head.length);
  return { ...fields, signature: rdata.subarray(head.length), rdata };
}

export function parseRrsig(rdata: Buffer): RrsigFields {
  if (rdata.length < 19) throw new Error(`RRSIG rdata of ${rdata.length} bytes`);
  const [signer, end] = readWireName(rdata, 18);
  return {
    typeCovered: rdata.readUInt16BE(0),
    algorithm: rdata[2]!,
    labels: rdata[3]!,
    originalTtl: rdata.readUInt32BE(4),
    expiration: rdata.readUInt32BE(8),
    inception: rdata.readUInt32BE(12),
    keyTag: rdata.readUInt16BE(16),
    signer: labelsToName(signer),
    signature: rdata.subarray(end),
  };
}

/**
 * Whether `rrsig` is a valid signature of `rrset` by the key in `dnskey` at `nowSeconds` (RFC 4035 5.3.1-5.3.3:
 * type, algorithm, key tag, window, labels; the owner rebuilt as `*.` + its rightmost Labels labels when the
 * signature came from a wildcard). For tests and self-checks; it does not follow a chain of trust.
 */
export function verifyRRset(rrset: RRset, rrsig: Buffer, dnskey: Buffer, nowSeconds: number): boolean {
  const f = parseRrsig(rrsig);
  const key = parseDnskey(dnskey);
  const now = Math.floor(nowSeconds) >>> 0;
  const ownerLabels = nameLabels(rrset.owner);
  if (f.typeCovered !== rrset.type || f.algorithm !== key.algorithm || f.keyTag !== keyTag(dnskey)) return false;
  if (serialLess(now, f.inception) || serialLess(f.expiration, now) || f.labels > ownerLabels.length) return false;
  const publicKey = publicKeyOf(key.algorithm, key.publicKey);
  if (!publicKey) return false;
  const fromWildcard = f.labels < ownerLabels.length;
  const owner = fromWildcard ? labelsToName([Buffer.from('*'), ...ownerLabels.slice(ownerLabels.length - f.labels)]) : rrset.owner;
  const head = rrsig.subarray(0, rrsig.length - f.signature.length);
  const data = signedData(head, canonicalNameWire(owner), { ...rrset, ttl: f.originalTtl });
  const hash = key.algorithm === Algorithm.ED25519 ? null : 'sha256';
  return verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, f.signature);
}

/** RFC 1982 serial number order on 32 bits: a is before b. */
function serialLess(a: number, b: number): boolean {
  return a !== b && ((b - a) >>> 0) < 0x80000000;
}

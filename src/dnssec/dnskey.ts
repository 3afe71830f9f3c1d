/**
 * DNSKEY rdata and what is derived from it: the key tag (RFC 4034 appendix B), the DS digest (RFC 4509:
 * digest type 2, SHA-256 over owner | DNSKEY rdata), and the child copies CDS / CDNSKEY (RFC 7344), with the
 * RFC 8078 4 "delete" forms that ask the parent to remove the DS.
 */
import { createHash } from 'node:crypto';
import { canonicalNameWire } from './names.js';

/** DNSKEY flags: bit 7 Zone Key (256); with bit 15, Secure Entry Point (257), for a KSK or a CSK. */
export const DnskeyFlags = { ZSK: 256, KSK: 257 } as const;
export type DnskeyFlags = (typeof DnskeyFlags)[keyof typeof DnskeyFlags];

/** RFC 4034 2.1.2: the Protocol field is always 3. */
const PROTOCOL = 3;
/** RFC 4509: DS digest type 2 is SHA-256. */
export const DIGEST_SHA256 = 2;

export interface DnskeyFields {
  flags: number;
  protocol: number;
  algorithm: number;
  publicKey: Buffer;
}

export function dnskeyRdata(flags: number, algorithm: number, publicKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + publicKey.length);
  out.writeUInt16BE(flags, 0);
  out[2] = PROTOCOL;
  out[3] = algorithm;
  publicKey.copy(out, 4);
  return out;
}

export function parseDnskey(rdata: Buffer): DnskeyFields {
  if (rdata.length < 4) throw new Error(`DNSKEY rdata of ${rdata.length} bytes`);
  return { flags: rdata.readUInt16BE(0), protocol: rdata[2]!, algorithm: rdata[3]!, publicKey: rdata.subarray(4) };
}

/** RFC 4034 appendix B (for every algorithm but the retired RSA/MD5). */
export function keyTag(dnskey: Buffer): number {
  let ac = 0;
  for (let i = 0; i < dnskey.length; i++) ac += i & 1 ? dnskey[i]! : dnskey[i]! << 8;
  ac += (ac >>> 16) & 0xffff;
  return ac & 0xffff;
}

/** DS rdata (also the CDS rdata) for the DNSKEY at `owner`: key tag, algorithm, digest type 2, digest. */
export function dsRdata(owner: string, dnskey: Buffer): Buffer {
  const digest = createHash('sha256').update(canonicalNameWire(owner)).update(dnskey).digest();
  const out = Buffer.allocUnsafe(4 + digest.length);
  out.writeUInt16BE(keyTag(dnskey), 0);
  out[2] = parseDnskey(dnskey).algorithm;
  out[3] = DIGEST_SHA256;
  digest.copy(out, 4);
  return out;
}

/** RFC 8078 4: the CDS and CDNSKEY that ask the parent to delete the DS (the zone goes insecure). */
export const CDS_DELETE: Buffer = Buffer.from([0, 0, 0, 0, 0]);
export const CDNSKEY_DELETE: Buffer = Buffer.from([0, 0, PROTOCOL, 0, 0]);

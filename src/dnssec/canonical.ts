/**
 * The canonical form of an RRset's data (RFC 4034 6.2, 6.3, as amended by RFC 6840 5.1): every name in full,
 * names inside the rdata of the types that carry them lowercased, and the records sorted by their rdata as
 * unsigned byte strings with duplicates dropped. The bytes come from the one record encoder (wire/writer.ts),
 * so what is signed is what is sent.
 */
import { RRType } from '../wire/constants.js';
import { ipv4ToBytes } from '../wire/ip.js';
import type { OpaqueData, RecordData } from '../wire/records.js';
import { BlockWriter } from '../wire/writer.js';

/**
 * Rdata a signature can cover. Opaque rdata (DNSKEY, DS, NSEC, RRSIG and the like, which this layer builds)
 * is taken as already canonical.
 */
export type SignableData = RecordData | OpaqueData;

const foldAscii = (name: string): string => name.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/**
 * The record with the names in its rdata lowercased: of the RFC 4034 6.2 list this model has NS, CNAME, SOA,
 * MX and SRV (HINFO, TXT and CAA hold text, which keeps its case).
 */
function foldNames(data: RecordData): RecordData {
  switch (data.type) {
    case RRType.NS:
    case RRType.CNAME:
    case RRType.SRV:
      return { ...data, target: foldAscii(data.target) };
    case RRType.SOA:
      return { ...data, mname: foldAscii(data.mname), rname: foldAscii(data.rname) };
    case RRType.MX:
      return { ...data, exchange: foldAscii(data.exchange) };
    default:
      return data;
  }
}

/** One record's rdata in canonical form. */
export function canonicalRdata(data: SignableData): Buffer {
  if ('raw' in data) return data.raw;
  if (data.type === RRType.A) {
    // The common case on the query path (steered answers), without a writer.
    const out = Buffer.allocUnsafe(4);
    ipv4ToBytes(data.address, out, 0);
    return out;
  }
  const w = new BlockWriter(0, 64, false);
  w.rdata(foldNames(data));
  return w.finish();
}

/** The RRset's rdata in canonical order (RFC 4034 6.3), each distinct rdata once. */
export function canonicalRdataSet(records: readonly SignableData[]): Buffer[] {
  const sorted = records.map(canonicalRdata).sort((a, b) => Buffer.compare(a, b));
  return sorted.filter((rdata, i) => i === 0 || !rdata.equals(sorted[i - 1]!));
}

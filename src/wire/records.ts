/** Resource record data model shared by the zone loader, the snapshot builder, the encoder and the decoder. */
import { RRType } from './constants.js';

export type RecordData =
  | { type: typeof RRType.A; address: string }
  | { type: typeof RRType.AAAA; address: string }
  | { type: typeof RRType.NS; target: string }
  | { type: typeof RRType.CNAME; target: string }
  | {
      type: typeof RRType.SOA;
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { type: typeof RRType.TXT; strings: Buffer[] }
  | { type: typeof RRType.MX; preference: number; exchange: string }
  | { type: typeof RRType.SRV; priority: number; weight: number; port: number; target: string }
  | { type: typeof RRType.CAA; flags: number; tag: string; value: Buffer }
  | { type: typeof RRType.HINFO; cpu: string; os: string };

/** A decoded record of a type this codebase has no model for (RFC 3597). */
export interface OpaqueData {
  type: number;
  raw: Buffer;
}

/** One resource record; names are canonical (lowercase, no trailing dot). */
export interface ResourceRecord {
  name: string;
  ttl: number;
  data: RecordData;
}

/** Split a TXT item into the 255-byte character-strings its record carries. */
export function txtChunks(text: string): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out;
}

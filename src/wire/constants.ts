/** DNS wire constants (RFC 1035, 6891, 6895, 7871, 5001, 8482, 4034, 7344). `as const` tables, not enums. */

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  /** RFC 7344: child copies of DS and DNSKEY, for the parent to read. */
  CDS: 59,
  CDNSKEY: 60,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  CAA: 257,
} as const;
export type RRTypeName = keyof typeof RRType;

const typeNames = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));
/** Mnemonic of a type code, or RFC 3597 `TYPEnnn`. */
export function typeName(code: number): string {
  return typeNames.get(code) ?? `TYPE${code}`;
}

export const RRClass = { IN: 1, CH: 3, NONE: 254, ANY: 255 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16: needs the OPT record to carry the upper 8 bits. */
  BADVERS: 16,
  /** Extended rcode 23 (RFC 7873): the server cookie was missing or invalid; a fresh one is in the reply. */
  BADCOOKIE: 23,
} as const;
const rcodeNames = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));
export function rcodeName(code: number): string {
  return rcodeNames.get(code) ?? `RCODE${code}`;
}

export const Opcode = { QUERY: 0 } as const;

export const EdnsOption = { NSID: 3, ECS: 8, COOKIE: 10 } as const;

/** Header flag bits in the 16-bit flags word. */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  Z: 0x0040,
  AD: 0x0020,
  CD: 0x0010,
} as const;

export const HEADER_SIZE = 12;
/** What we advertise and the most we send over UDP (the DNS Flag Day 2020 value). */
export const OUR_UDP_PAYLOAD = 1232;
/** Without EDNS a UDP answer may not exceed this (RFC 1035 4.2.1). */
export const CLASSIC_UDP_PAYLOAD = 512;
export const EDNS_DO = 0x8000;

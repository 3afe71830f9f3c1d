/**
 * Presentation (master-file) form of the DNSSEC records, one full RR a line: what `gslb dnssec ds` prints and
 * `GET /v1/zones/:zone/dnssec` returns (DNSKEY, DS), what explain can show (RRSIG), and what the tests hand
 * to independent zone checkers. Formats: RFC 4034 2.2, 3.2, 4.2, 5.3; RFC 7344 (CDS, CDNSKEY as DS, DNSKEY);
 * any other type as RFC 3597 `\# length hex`.
 */
import { RRType, typeName } from '../wire/constants.js';
import { dsRdata, parseDnskey } from './dnskey.js';
import { nameLabels, readWireName } from './names.js';
import { parseRrsig } from './rrsig.js';
import { decodeTypeBitmap } from './type-bitmap.js';

/** Letters, digits, `-`, `_` and `*` stand for themselves; every other byte is `\DDD`. */
function presentLabel(label: Buffer): string {
  let out = '';
  for (const c of label) {
    const letterOrDigit = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
    const plain = letterOrDigit || c === 0x2d || c === 0x5f || c === 0x2a;
    out += plain ? String.fromCharCode(c) : '\\' + String(c).padStart(3, '0');
  }
  return out;
}

function presentLabels(labels: readonly Buffer[]): string {
  return labels.length ? labels.map(presentLabel).join('.') + '.' : '.';
}

/** A fully qualified name: trailing dot, odd bytes escaped. */
export function presentName(name: string): string {
  return presentLabels(nameLabels(name));
}

/** RFC 4034 3.2: YYYYMMDDHHmmSS in UTC. */
export function presentTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** The rdata of a DNSSEC type in presentation form (the part after the type mnemonic). */
export function presentRdata(type: number, rdata: Buffer): string {
  switch (type) {
    case RRType.DNSKEY:
    case RRType.CDNSKEY: {
      const k = parseDnskey(rdata);
      return `${k.flags} ${k.protocol} ${k.algorithm} ${k.publicKey.toString('base64')}`;
    }
    case RRType.DS:
    case RRType.CDS:
      if (rdata.length < 5) throw new Error(`${typeName(type)} rdata of ${rdata.length} bytes`);
      return `${rdata.readUInt16BE(0)} ${rdata[2]} ${rdata[3]} ${rdata.subarray(4).toString('hex').toUpperCase()}`;
    case RRType.RRSIG: {
      const f = parseRrsig(rdata);
      const fields = [typeName(f.typeCovered), f.algorithm, f.labels, f.originalTtl, presentTime(f.expiration), presentTime(f.inception)];
      return [...fields, f.keyTag, presentName(f.signer), f.signature.toString('base64')].join(' ');
    }
    case RRType.NSEC: {
      const [next, end] = readWireName(rdata, 0);
      return [presentLabels(next), ...decodeTypeBitmap(rdata.subarray(end)).map(typeName)].join(' ');
    }
    default:
      return `\\# ${rdata.length}${rdata.length ? ' ' + rdata.toString('hex') : ''}`;
  }
}

/**
 * What `gslb dnssec ds` prints and `GET /v1/zones/:zone/dnssec` returns for one key: its DNSKEY and its DS
 * (digest type 2) as full RRs. Takes the public rdata only, so no private key reaches that code.
 */
export function keyPresentation(zone: string, ttl: number, dnskey: Buffer): { dnskey: string; ds: string } {
  return { dnskey: presentRecord(zone, ttl, RRType.DNSKEY, dnskey), ds: presentRecord(zone, ttl, RRType.DS, dsRdata(zone, dnskey)) };
}

/** One full RR: `owner. TTL IN TYPE rdata`. */
export function presentRecord(owner: string, ttl: number, type: number, rdata: Buffer): string {
  return `${presentName(owner)} ${ttl} IN ${typeName(type)} ${presentRdata(type, rdata)}`;
}

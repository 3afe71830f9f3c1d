/**
 * A small zone signed with src/dnssec and written in master-file format, for checkers that know nothing of
 * this code (ldns-verify-zone, dnssec-verify). Those need a complete NSEC chain, so the chain is built over
 * every authoritative name; the compact-denial NSECs (RFC 9824) under test are put into it unchanged, each
 * followed by a "filler" name that is its next name, so the chain stays whole. The plain records are written
 * in presentation form here, by hand, rather than through the code under test.
 */
import { SignatureCache } from '../../src/dnssec/cache.js';
import type { SigningKey } from '../../src/dnssec/algorithms.js';
import type { SignableData } from '../../src/dnssec/canonical.js';
import { nsecRdata } from '../../src/dnssec/denial.js';
import { dsRdata } from '../../src/dnssec/dnskey.js';
import { canonicalNameWire, compareNames, readWireName, labelsToName } from '../../src/dnssec/names.js';
import { presentName, presentRecord } from '../../src/dnssec/present.js';
import { RRType } from '../../src/wire/constants.js';
import type { RecordData } from '../../src/wire/records.js';

export interface ZoneRecord {
  owner: string;
  ttl: number;
  data: SignableData;
}

export interface ZoneSpec {
  zone: string;
  /** Signs DNSKEY, CDS, CDNSKEY. */
  ksk: SigningKey;
  /** Signs everything else (the KSK again for a CSK). */
  zsk: SigningKey;
  records: ZoneRecord[];
  /** Delegation points: their NS is not signed, names below them are glue. */
  delegations: string[];
  /** Compact NSEC rdata to use at these owners instead of a plain chain link. */
  compact: Map<string, Buffer>;
  now: number;
  negativeTtl: number;
}

const q = (b: Buffer) => `"${[...b].map((c) => (c === 0x22 || c === 0x5c ? '\\' + String.fromCharCode(c) : c < 0x20 || c > 0x7e ? '\\' + String(c).padStart(3, '0') : String.fromCharCode(c))).join('')}"`;
const fq = (name: string) => `${name}.`;

/** Master-file form of the plain record types (written without src/dnssec's presentation code). */
export function presentData(d: RecordData): string {
  switch (d.type) {
    case RRType.A:
    case RRType.AAAA:
      return d.address;
    case RRType.NS:
    case RRType.CNAME:
      return fq(d.target);
    case RRType.SOA:
      return `${fq(d.mname)} ${fq(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    case RRType.MX:
      return `${d.preference} ${fq(d.exchange)}`;
    case RRType.SRV:
      return `${d.priority} ${d.weight} ${d.port} ${fq(d.target)}`;
    case RRType.TXT:
      return d.strings.map(q).join(' ');
    case RRType.CAA:
      return `${d.flags} ${d.tag} ${q(d.value)}`;
    case RRType.HINFO:
      return `${q(Buffer.from(d.cpu))} ${q(Buffer.from(d.os))}`;
  }
}

const TYPE_NAMES = new Map(Object.entries(RRType).map(([k, v]) => [v, k]));

function line(r: ZoneRecord): string {
  if ('raw' in r.data) return presentRecord(r.owner, r.ttl, r.data.type, r.data.raw);
  return `${presentName(r.owner)} ${r.ttl} IN ${TYPE_NAMES.get(r.data.type)} ${presentData(r.data)}`;
}

const below = (name: string, apex: string) => name !== apex && name.endsWith('.' + apex);

/** The zone, signed, as master-file text (SOA first); `cache` is what signs, so it is what is checked. */
export function signedZone(spec: ZoneSpec, cache: SignatureCache): string {
  const { zone, ksk, zsk } = spec;
  const records: ZoneRecord[] = [
    ...spec.records,
    { owner: zone, ttl: 3600, data: { type: RRType.DNSKEY, raw: ksk.dnskey } },
    ...(zsk === ksk ? [] : [{ owner: zone, ttl: 3600, data: { type: RRType.DNSKEY, raw: zsk.dnskey } }]),
    { owner: zone, ttl: 3600, data: { type: RRType.CDS, raw: dsRdata(zone, ksk.dnskey) } },
    { owner: zone, ttl: 3600, data: { type: RRType.CDNSKEY, raw: ksk.dnskey } },
  ];
  const glue = (owner: string) => spec.delegations.some((d) => below(owner, d));
  const names = [...new Set(records.filter((r) => !glue(r.owner)).map((r) => r.owner)), ...spec.compact.keys()];
  const chain = [...new Set(names)].sort(compareNames);
  for (let i = 0; i < chain.length; i++) {
    const owner = chain[i]!;
    const next = chain[i + 1] ?? zone;
    let rdata = spec.compact.get(owner);
    if (rdata) {
      const [labels] = readWireName(rdata, 0);
      if (!canonicalNameWire(labelsToName(labels)).equals(canonicalNameWire(next))) throw new Error(`compact NSEC at ${owner} points at ${labelsToName(labels)}, the chain has ${next}`);
    } else {
      const types = new Set(records.filter((r) => r.owner === owner).map((r) => r.data.type));
      rdata = nsecRdata(next, [...types, RRType.RRSIG, RRType.NSEC]);
    }
    records.push({ owner, ttl: spec.negativeTtl, data: { type: RRType.NSEC, raw: rdata } });
  }

  const sets = new Map<string, ZoneRecord[]>();
  for (const r of records) {
    const k = `${r.owner}\n${r.data.type}`;
    sets.set(k, [...(sets.get(k) ?? []), r]);
  }
  const out: string[] = [];
  for (const set of sets.values()) {
    const { owner, ttl, data } = set[0]!;
    const delegated = spec.delegations.includes(owner) && data.type === RRType.NS;
    const lines = set.map(line);
    if (!delegated && !glue(owner)) {
      const signer = [RRType.DNSKEY, RRType.CDS, RRType.CDNSKEY].includes(data.type as 48) ? ksk : zsk;
      const rrsig = cache.sign({ owner, type: data.type, ttl, records: set.map((r) => r.data) }, signer, zone, spec.now);
      lines.push(presentRecord(owner, ttl, RRType.RRSIG, rrsig.rdata));
    }
    if (data.type === RRType.SOA) out.unshift(...lines);
    else out.push(...lines);
  }
  return out.join('\n') + '\n';
}

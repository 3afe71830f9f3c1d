/** A signed zone's per-snapshot signing state (ZoneSigning): the key and the apex's DNSSEC RRsets. */
import type { SigningKey } from '../dnssec/algorithms.js';
import { dsRdata } from '../dnssec/dnskey.js';
import { RRType } from '../wire/constants.js';
import type { Zone } from '../model/types.js';
import type { ZoneSigning } from './types.js';

export function zoneSigning(zone: Zone, keys: readonly SigningKey[]): ZoneSigning {
  const dnssec = zone.dnssec!;
  return {
    zone,
    key: keys[0]!,
    validitySeconds: dnssec.validitySeconds,
    dnskey: keys.map((k) => ({ type: RRType.DNSKEY, raw: k.dnskey })),
    cds: keys.map((k) => ({ type: RRType.CDS, raw: dsRdata(zone.apex, k.dnskey) })),
    cdnskey: keys.map((k) => ({ type: RRType.CDNSKEY, raw: k.dnskey })),
    soa: [{ type: RRType.SOA, ...zone.soa }],
    negativeTtl: Math.min(zone.ttl, zone.soa.minimum),
  };
}

/** A signed zone's per-snapshot signing state (ZoneSigning): the key phases and the apex's DNSSEC RRsets. */
import { dsRdata } from '../dnssec/dnskey.js';
import { keyPhases, phaseAt, type ZoneKeys } from '../dnssec/rollover.js';
import { RRType } from '../wire/constants.js';
import type { Zone } from '../model/types.js';
import type { SigningPhase, ZoneSigning } from './types.js';

export function zoneSigning(zone: Zone, keys: ZoneKeys): ZoneSigning {
  const dnssec = zone.dnssec!;
  const phases = keyPhases(keys).map(
    (phase): SigningPhase => ({
      ...phase,
      dnskey: phase.published.map((k) => ({ type: RRType.DNSKEY, raw: k.dnskey })),
      cds: phase.published.map((k) => ({ type: RRType.CDS, raw: dsRdata(zone.apex, k.dnskey) })),
      cdnskey: phase.published.map((k) => ({ type: RRType.CDNSKEY, raw: k.dnskey })),
    }),
  );
  return {
    zone,
    phases,
    validitySeconds: dnssec.validitySeconds,
    soa: [{ type: RRType.SOA, ...zone.soa }],
    negativeTtl: Math.min(zone.ttl, zone.soa.minimum),
  };
}

/** The phase the zone's keys are in at `nowMs`: which key signs, which are published. */
export function phaseOf(signing: ZoneSigning, nowMs: number): SigningPhase {
  return phaseAt(signing.phases, nowMs);
}

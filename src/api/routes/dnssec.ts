/**
 * `GET /v1/zones/:zone/dnssec`: whether the zone is signed and the public parts of its keys (DNSKEY, DS with
 * digest type 2) ready to paste at the parent. Public data only: the key's private part never reaches here.
 */
import type { FastifyInstance } from 'fastify';
import { keyPresentation } from '../../dnssec/present.js';
import type { Snapshot } from '../../snapshot/types.js';
import { canonical } from '../../wire/name.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';

export interface ZoneDnssecInfo {
  signed: boolean;
  algorithm?: string;
  dnskey: string[];
  ds: string[];
  /** Key tag of the key that signs. */
  keyTag?: number;
}

/** What the API says about a zone's DNSSEC, or undefined for a zone this server does not serve. */
export function zoneDnssecInfo(snap: Snapshot, zoneName: string): ZoneDnssecInfo | undefined {
  const zone = snap.zones.get(canonical(zoneName));
  if (!zone) return undefined;
  const signing = zone.signing;
  if (!signing) return { signed: false, dnskey: [], ds: [] };
  const keys = signing.dnskey.map((k) => keyPresentation(zone.apex, signing.zone.ttl, k.raw));
  return { signed: true, algorithm: signing.key.algorithm, dnskey: keys.map((k) => k.dnskey), ds: keys.map((k) => k.ds), keyTag: signing.key.keyTag };
}

export function registerDnssecRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Params: { zone: string } }>(
    '/v1/zones/:zone/dnssec',
    { schema: { params: { type: 'object', properties: { zone: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['zone'] } } },
    async (req) => {
      const info = zoneDnssecInfo(deps.holder.current(), req.params.zone);
      if (!info) throw new ApiError(404, `no zone ${req.params.zone} is served here`, 'zone');
      return info;
    },
  );
}

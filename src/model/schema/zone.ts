/**
 * A zone file (`zones/*.yaml`): one zone, plus regions and latency entries that every zone shares. Each part
 * has its own schema in this folder; how the loader reads a file is in ../zone-file.ts.
 */
import { Type } from 'typebox';
import { Closed, NonEmptyString, OneOrMany, Ttl, X_ERROR } from './common.js';
import { LatencyEntrySchema } from './latency.js';
import { RecordNodeSchema } from './records.js';
import { RegionSchema } from './region.js';
import { ServiceSchema } from './service.js';
import { SoaSchema } from './soa.js';
import { ZoneDnssecSchema } from './dnssec.js';

/** Keys are names (records, services) or region names, checked by the rules that read them. */
const Names = <T extends Parameters<typeof Type.Record>[1]>(value: T) => Type.Record(Type.String(), value);

export const ZoneDocumentSchema = Closed({
  zone: NonEmptyString({ description: 'the delegated subdomain' }),
  ttl: Type.Optional(Ttl()),
  soa: SoaSchema,
  ns: OneOrMany(NonEmptyString(), { minItems: 1, description: "the zone's name servers", [X_ERROR]: { minItems: 'must list at least one name server' } }),
  records: Type.Optional(Names(RecordNodeSchema)),
  regions: Type.Optional(Names(RegionSchema)),
  services: Type.Optional(Names(ServiceSchema)),
  latency: Type.Optional(Type.Array(LatencyEntrySchema)),
  dnssec: Type.Optional(ZoneDnssecSchema),
});

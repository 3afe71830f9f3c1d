/** The zone's SOA (`soa:`); names in it follow the rules of record data (../names.ts). Timer defaults: ../defaults.ts. */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { Closed, NonEmptyString, Ttl } from './common.js';

export const SoaSchema = Closed(
  {
    mname: NonEmptyString({ description: 'the primary name server' }),
    rname: NonEmptyString({ description: 'the administrator\'s mailbox, its "@" written as "."' }),
    serial: Type.Integer({ minimum: 0, maximum: 0xffff_ffff }),
    refresh: Type.Optional(Ttl()),
    retry: Type.Optional(Ttl()),
    expire: Type.Optional(Ttl()),
    minimum: Type.Optional(Ttl()),
  },
  { description: '{ mname, rname, serial, refresh?, retry?, expire?, minimum? }' },
);
export type SoaInput = Static<typeof SoaSchema>;

/**
 * Static records: the value of each name under `records:`, a mapping from record type to data. Each list item
 * is one record (a lone value is a list of one). MX, SRV and CAA data is a mapping, or the zone-file
 * presentation form as one string (`10 mail.example.org.`), which ../rdata.ts splits and checks against the
 * same mapping schema. Address and name syntax are rules (../rdata.ts, ../names.ts).
 */
import { Type, type TSchema } from 'typebox';
import { Closed, NonEmptyString, OneOrMany, Text, Ttl, U16, X_ERROR, X_UNKNOWN_KEY } from './common.js';

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'NS', 'TXT', 'MX', 'SRV', 'CAA'] as const;
export type RecordTypeName = (typeof RECORD_TYPES)[number];

export const MxSchema = Closed({ preference: U16(), exchange: NonEmptyString() });
export const SrvSchema = Closed({ priority: U16(), weight: U16(), port: U16(), target: NonEmptyString() });
export const CaaSchema = Closed({
  flags: Type.Integer({ minimum: 0, maximum: 255 }),
  tag: Type.String({ pattern: '^[A-Za-z0-9]{1,15}$', [X_ERROR]: '"{value}" must be 1-15 letters or digits (RFC 8659)' }),
  value: Text,
});

/** A mapping with these fields, or the presentation form: one string of space-separated fields. */
function structured(fields: typeof MxSchema | typeof SrvSchema | typeof CaaSchema) {
  const keys = Object.keys(fields.properties);
  return Type.Union([fields, Type.String()], { [X_ERROR]: `must be a mapping {${keys.join(', ')}} or a string "${keys.join(' ')}"` });
}

/** The values of one type at one name: at least one. */
function rrset<T extends TSchema>(item: T) {
  return OneOrMany(item, { [X_ERROR]: { minItems: 'must have at least one value' }, minItems: 1 });
}

/** A TXT record: one text, or a list of texts (one record of several strings). */
const TxtSchema = Type.Union([Text, Type.Array(Text, { minItems: 1, [X_ERROR]: { minItems: 'must have at least one string' } })]);

export const RecordNodeSchema = Closed(
  {
    A: Type.Optional(rrset(NonEmptyString())),
    AAAA: Type.Optional(rrset(NonEmptyString())),
    CNAME: Type.Optional(NonEmptyString()),
    NS: Type.Optional(rrset(NonEmptyString())),
    TXT: Type.Optional(rrset(TxtSchema)),
    MX: Type.Optional(rrset(structured(MxSchema))),
    SRV: Type.Optional(rrset(structured(SrvSchema))),
    CAA: Type.Optional(rrset(structured(CaaSchema))),
    ttl: Type.Optional(Ttl()),
    // Listed only to say where the SOA goes instead.
    SOA: Type.Optional(Type.Never({ [X_ERROR]: 'unknown record type "SOA" (the SOA is the top-level "soa" key)' })),
  },
  { [X_UNKNOWN_KEY]: `unknown record type "{key}" (supported: ${RECORD_TYPES.join(', ')}, and ttl)` },
);

/** A zone's `dnssec:` key: `{ algorithm, validity? }`; the validity's bounds are a rule (../zone-dnssec.ts). */
import { Type, type Static } from 'typebox';
import { Closed, X_ERROR } from './common.js';
import { DNSSEC_ALGORITHMS } from '../types.js';

const VALIDITY_MESSAGE = 'must be a duration from 1d to 366d (e.g. 14d)';

export const ZoneDnssecSchema = Closed(
  {
    algorithm: Type.Enum([...DNSSEC_ALGORITHMS], {
      description: DNSSEC_ALGORITHMS.join(' or '),
      [X_ERROR]: `must be ${DNSSEC_ALGORITHMS.join(' or ')}, not {value}`,
    }),
    validity: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Number({ minimum: 0 })], { [X_ERROR]: VALIDITY_MESSAGE })),
  },
  { description: '{ algorithm: ECDSAP256SHA256 | ED25519, validity?: 14d }' },
);

const ROLLOVER_DURATION = Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Number({ minimum: 0 })]));

/** `POST /v1/zones/:zone/dnssec/rollover`'s body (optional): the timeline's durations (`1h`, `2d`, seconds). */
export const RolloverBodySchema = Type.Union([
  Type.Null(),
  Closed({ propagation: ROLLOVER_DURATION, parentWait: ROLLOVER_DURATION }, { description: '{ propagation?: 1h, parentWait?: 2d }' }),
]);
export type RolloverBody = Static<typeof RolloverBodySchema>;

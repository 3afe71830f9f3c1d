/** A service: a name under `services:` answered by steering over regions. Rules beyond it: ../services.ts. */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { GEOFENCE, POLICIES, WHEN_ALL_DOWN } from '../types.js';
import { ColdStartSchema } from './region.js';
import { Closed, NonEmptyString, Ttl, X_ERROR } from './common.js';

const tolerance = 'must be milliseconds (a number) or a duration like "10ms"';

export const ServiceSchema = Closed({
  policy: Type.Optional(Type.Enum(POLICIES, { [X_ERROR]: `unknown policy "{value}" (one of: ${POLICIES.join(', ')})` })),
  regions: Type.Optional(Type.Array(NonEmptyString(), { description: 'regions to choose from, in order (failover)' })),
  ttl: Type.Optional(Ttl()),
  answers: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: 'at most this many endpoint records per answer' })),
  'when-all-down': Type.Optional(Type.Enum(WHEN_ALL_DOWN, { [X_ERROR]: `must be one of: ${WHEN_ALL_DOWN.join(', ')}` })),
  tolerance: Type.Optional(
    Type.Union([Type.Number({ minimum: 0, [X_ERROR]: tolerance }), Type.String({ maxLength: 32 })], {
      description: 'regions within this many ms of the best share traffic',
      [X_ERROR]: tolerance,
    }),
  ),
  geofence: Type.Optional(Type.Enum(GEOFENCE, { [X_ERROR]: `must be one of: ${GEOFENCE.join(', ')}` })),
  unverified: Type.Optional(ColdStartSchema()),
  'max-error-ratio': Type.Optional(
    Type.Number({ minimum: 0, maximum: 1, description: 'a region whose reported errorRatio (POST /v1/load) is above this fails, with the rise/fall of its checks' }),
  ),
  shed: Type.Optional(
    Closed(
      { from: Type.Number({ minimum: 0, maximum: 1 }), to: Type.Number({ minimum: 0, maximum: 1 }) },
      { description: "as a region's reported utilization goes from `from` to `to`, a growing share of its clients goes to their next best region" },
    ),
  ),
});
export type ServiceInput = Static<typeof ServiceSchema>;

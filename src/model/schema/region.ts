/**
 * A region (regional cluster): under `regions:` in a zone file, and the body of `PUT /v1/regions/:name`, which
 * adds the `services` it serves. The rules JSON Schema cannot say (address syntax, duplicate endpoints,
 * min-healthy against the endpoints) are in ../regions.ts.
 */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { CheckSchema } from './check.js';
import { COLD_START } from '../types.js';
import { Closed, NonEmptyString, X_ERROR } from './common.js';
import { EndpointSchema } from './endpoint.js';

export const LocationSchema = Closed(
  {
    lat: Type.Number({ minimum: -90, maximum: 90, description: 'latitude' }),
    lon: Type.Number({ minimum: -180, maximum: 180, description: 'longitude' }),
  },
  { description: 'where the region is: { lat, lon }' },
);

/** Cold start (`unverified:`), for regions and services. */
export const ColdStartSchema = () =>
  Type.Enum(COLD_START, { description: 'what a new endpoint gets before its first rise successes', [X_ERROR]: `must be one of: ${COLD_START.join(', ')}` });

const Count = () => Type.Integer({ minimum: 1, maximum: 10_000 });

/** A number for each family, or per family; the rules check it against the region's endpoints. */
export const MinHealthySchema = Type.Union([
  Count(),
  Closed(
    { ipv4: Type.Optional(Count()), ipv6: Type.Optional(Count()) },
    { minProperties: 1, [X_ERROR]: { minProperties: 'give ipv4 and/or ipv6, e.g. { ipv4: 2, ipv6: 1 }' } },
  ),
]);

const regionProperties = {
  location: LocationSchema,
  endpoints: Type.Array(EndpointSchema, {
    minItems: 1,
    maxItems: 10_000,
    description: 'the addresses that answer for the region',
    [X_ERROR]: { minItems: 'must list at least one endpoint' },
  }),
  check: Type.Optional(CheckSchema),
  weight: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000, description: 'share for the weighted policy (default 1)' })),
  bias: Type.Optional(Type.Number({ minimum: -100_000, maximum: 100_000, description: 'ms taken off estimated RTTs (positive attracts traffic)' })),
  'min-healthy': Type.Optional(MinHealthySchema),
  serves: Type.Optional(
    Type.Array(NonEmptyString({ maxLength: 32 }), {
      minItems: 1,
      maxItems: 300,
      description: 'geofence: ISO country codes (CH) or continent:XX whose clients only this region (and others serving them) may answer',
      [X_ERROR]: { minItems: 'must list at least one country (CH) or continent:XX' },
    }),
  ),
  unverified: Type.Optional(ColdStartSchema()),
  beacon: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      maxLength: 2048,
      description: 'URL browsers fetch to measure their RTT to the region (real-user latency beacons)',
      [X_ERROR]: { pattern: 'must be an http:// or https:// URL, e.g. https://eu.example.com/ping' },
    }),
  ),
};

export const RegionSchema = Closed(regionProperties);
export type RegionInput = Static<typeof RegionSchema>;

/** `PUT /v1/regions/:name`: a region plus the names of the services it joins. */
export const RegionBodySchema = Closed({
  ...regionProperties,
  services: Type.Optional(Type.Array(NonEmptyString({ maxLength: 255 }), { maxItems: 1000 })),
});
export type RegionBody = Static<typeof RegionBodySchema>;

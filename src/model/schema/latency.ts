/**
 * A measured RTT from client networks to a region: a `latency:` entry of a zone file, or a measurement of
 * `POST /v1/latency`. The client's syntax (CIDR, ISO country, continent:XX) is a rule: parseLatencyClient in
 * ../latency.ts, shared by both.
 */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { Closed, NonEmptyString } from './common.js';

export const LatencyClientSchema = NonEmptyString({ maxLength: 64, description: 'CIDR, ISO country code, or continent:XX' });
export const RttSchema = Type.Number({ minimum: 0, maximum: 100_000, description: 'round-trip time in ms' });

const RegionName = () => NonEmptyString({ maxLength: 63 });

export const LatencyEntrySchema = Closed({ client: LatencyClientSchema, region: RegionName(), rtt: RttSchema });
export type LatencyEntryInput = Static<typeof LatencyEntrySchema>;

/** The same, as `POST /v1/latency` takes it (one of its `measurements`). */
export const LatencyMeasurementSchema = Closed({ client: LatencyClientSchema, region: RegionName(), rttMs: RttSchema });

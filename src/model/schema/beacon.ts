/**
 * The body of `POST /v1/beacons`: RTTs a browser measured to regions' beacon URLs. Anyone may post it (no
 * token: browsers send it), so it is kept small: at most BEACON_MAX_SAMPLES samples of a region name and a
 * number. Whether a number is a believable RTT is the intake's rule (api/beacon/intake.ts), not a 400.
 */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { Closed, NonEmptyString } from './common.js';

export const BEACON_MAX_SAMPLES = 32;

export const BeaconSampleSchema = Closed({
  region: NonEmptyString({ maxLength: 63 }),
  rttMs: Type.Number({ description: 'milliseconds from request start to the first response byte' }),
});

export const BeaconReportSchema = Closed({
  samples: Type.Array(BeaconSampleSchema, { minItems: 1, maxItems: BEACON_MAX_SAMPLES }),
});
export type BeaconReport = Static<typeof BeaconReportSchema>;

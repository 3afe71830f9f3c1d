/** A region's load as `POST /v1/load` takes it: one of its `reports`. */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { Closed, NonEmptyString } from './common.js';

export const LoadReportSchema = Closed({
  region: NonEmptyString({ maxLength: 63 }),
  utilization: Type.Number({ minimum: 0, maximum: 1, description: "the region's utilization, 0..1: services with `shed` move clients away as it rises" }),
  errorRatio: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: "the region's share of failed requests: above a service's max-error-ratio it fails (rise/fall)" })),
});

export const LoadBodySchema = Closed({ reports: Type.Array(LoadReportSchema, { minItems: 1, maxItems: 1000 }) });
export type LoadBody = Static<typeof LoadBodySchema>;

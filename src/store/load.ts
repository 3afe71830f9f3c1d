/** How long a region's load report counts (`POST /v1/load`): a region that stops reporting stops shedding. */
import type { LoadReport } from './types.js';

export const LOAD_FRESH_MS = 60_000;

export function isLoadFresh(r: LoadReport, now: number, freshMs = LOAD_FRESH_MS): boolean {
  return now - r.at <= freshMs;
}

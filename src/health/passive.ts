/**
 * Passive health: a region's own error ratio (reported with its load, `POST /v1/load`) against a service's
 * `max-error-ratio`, through the same rise/fall machine as active checks, so one bad report does not take a
 * region out, and one good one does not bring it back.
 */
import { applyResult } from './machine.js';
import type { ProberState } from './probe-state.js';

export interface PassiveService {
  name: string;
  maxErrorRatio: number;
  rise: number;
  fall: number;
}

/** The passive states after one report: one per service, from the state that service had before. */
export function passiveStates(errorRatio: number, services: readonly PassiveService[], prev: Record<string, ProberState> | undefined, now: number): Record<string, ProberState> {
  const out: Record<string, ProberState> = {};
  for (const s of services) {
    const ok = errorRatio <= s.maxErrorRatio;
    out[s.name] = applyResult(prev?.[s.name], ok, now, s.rise, s.fall, undefined, `error ratio ${errorRatio} above max-error-ratio ${s.maxErrorRatio}`);
  }
  return out;
}

/** Why a passive state fails its region for the service, in words (undefined: it does not). */
export function passiveFailure(state: ProberState | undefined): string | undefined {
  if (!state || state.up) return undefined;
  return `down (passive): ${state.lastError ?? 'error ratio too high'}`;
}

/**
 * Deciding health from reports. Probers (a node's own checker, remote probers) only report ok/fail; this is
 * the one place that turns reports into states: rise/fall per (endpoint, prober), then a quorum of the
 * probers that reported recently, then `min-healthy` per region and address family, with the admin drain as a separate bit.
 */
import type { ProberState } from './probe-state.js';

/** Streaks stop counting here; only their comparison with rise/fall matters. */
const STREAK_CAP = 1000;

/**
 * One result through the rise/fall machine. The first result of a prober decides directly (cold start:
 * an endpoint is up-but-unverified until then); after that `fall` consecutive failures take it down and
 * `rise` consecutive successes bring it back.
 */
export function applyResult(
  prev: ProberState | undefined,
  ok: boolean,
  now: number,
  rise: number,
  fall: number,
  rttMs?: number,
  error?: string,
): ProberState {
  let next: ProberState;
  if (!prev) {
    next = { up: ok, okStreak: ok ? 1 : 0, failStreak: ok ? 0 : 1, at: now, since: now, transitions: 0 };
    if (next.okStreak < rise) next.rising = true;
  } else {
    const okStreak = ok ? Math.min(prev.okStreak + 1, STREAK_CAP) : 0;
    const failStreak = ok ? 0 : Math.min(prev.failStreak + 1, STREAK_CAP);
    let up = prev.up;
    let since = prev.since;
    let transitions = prev.transitions ?? 0;
    if ((up && failStreak >= fall) || (!up && okStreak >= rise)) {
      up = !up;
      since = now;
      transitions = Math.min(transitions + 1, STREAK_CAP);
    }
    next = { up, okStreak, failStreak, at: now, since, transitions };
    if (prev.rising && okStreak < rise) next.rising = true;
    if (prev.lastError !== undefined) next.lastError = prev.lastError;
    if (prev.lastErrorAt !== undefined) next.lastErrorAt = prev.lastErrorAt;
  }
  if (rttMs !== undefined) next.rttMs = rttMs;
  if (!ok) {
    next.lastError = error ?? 'check failed';
    next.lastErrorAt = now;
  }
  return next;
}

export interface ProberView {
  prober: string;
  up: boolean;
  fresh: boolean;
  at: number;
  since: number;
  rttMs?: number;
  lastError?: string;
}

export interface EndpointVerdict {
  up: boolean;
  /** True while no fresh report exists (cold start, or every prober went quiet). */
  unverified: boolean;
  /** Up, but no prober has seen its first `rise` successes yet (isWaiting): `unverified: wait` does not answer it. */
  waiting: boolean;
  since: number | undefined;
  reason: string;
  probers: ProberView[];
}

/**
 * An endpoint is down when a majority of the probers that reported within `freshnessMs` have it down.
 * With no fresh report it is up (unverified): no data is not evidence of failure.
 */
export function endpointVerdict(states: [prober: string, state: ProberState][], now: number, freshnessMs: number): EndpointVerdict {
  const probers: ProberView[] = states.map(([prober, s]) => ({
    prober,
    up: s.up,
    fresh: now - s.at <= freshnessMs,
    at: s.at,
    since: s.since,
    ...(s.rttMs !== undefined ? { rttMs: s.rttMs } : {}),
    ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
  }));
  const fresh = probers.filter((p) => p.fresh);
  if (fresh.length === 0) {
    const reason = probers.length === 0 ? 'no reports yet (up, unverified)' : `no report within ${Math.round(freshnessMs / 1000)} s (up, unverified)`;
    return { up: true, unverified: true, waiting: isWaiting(true, states.map(([, s]) => s)), since: undefined, reason, probers };
  }
  const down = fresh.filter((p) => !p.up);
  const up = down.length * 2 <= fresh.length;
  const agreeing = fresh.filter((p) => p.up === up);
  const since = Math.max(...agreeing.map((p) => p.since));
  let reason: string;
  if (up) {
    reason = down.length === 0 ? `up: ${fresh.length}/${fresh.length} probers agree` : `up: ${down.length} of ${fresh.length} probers say down (${down.map((p) => p.prober).join(', ')}), not a majority`;
  } else {
    const errors = [...new Set(down.map((p) => p.lastError).filter((e): e is string => e !== undefined))];
    reason = `down: ${down.length} of ${fresh.length} probers (${down.map((p) => p.prober).join(', ')})${errors.length > 0 ? `: ${errors.join('; ')}` : ''}`;
  }
  const freshStates = states.filter((_, i) => probers[i]!.fresh).map(([, s]) => s);
  return { up, unverified: false, waiting: isWaiting(up, freshStates), since, reason, probers };
}

/**
 * An up endpoint waits (cold start) until one of `states` (its fresh probers' states, or all of them when none is
 * fresh) has it up after its first `rise` successes; an endpoint never reported waits. States stored before
 * `rising` existed count as through it.
 */
export function isWaiting(up: boolean, states: Iterable<ProberState>): boolean {
  if (!up) return false;
  for (const s of states) if (s.up && s.rising !== true) return false;
  return true;
}

/** The freshness window: 3 x the check interval, at least 30 s. */
export function freshnessFor(intervalMs: number | undefined): number {
  return Math.max(30_000, 3 * (intervalMs ?? 0));
}

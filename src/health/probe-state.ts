/**
 * The health state the store keeps and the rise/fall machine computes: one prober's view of one endpoint,
 * a check result to apply, and a drain. Defined here (below the store) so health/ never imports store/.
 */
export interface DrainRecord {
  since: number;
  reason?: string;
}

/** One prober's view of one endpoint, after rise/fall. */
export interface ProberState {
  up: boolean;
  /** False until the first result arrived (cold start: up but unverified). */
  okStreak: number;
  failStreak: number;
  /** Time of the last report. */
  at: number;
  /** Time of the last transition (or of the first report). */
  since: number;
  /** How many times the state flipped (capped); 0 means `since` is the first report, not a change. */
  transitions: number;
  rttMs?: number;
  /**
   * Not yet `rise` successes in a row since this prober's first report (cold start): endpoints of regions with
   * `unverified: wait` are not answered meanwhile. Absent once reached, and on states stored before it existed.
   */
  rising?: true;
  /** The error of the last failed check, kept after recovery so that `why` has an answer. */
  lastError?: string;
  lastErrorAt?: number;
}

export interface ProbeUpdate {
  region: string;
  endpoint: string;
  prober: string;
  ok: boolean;
  rttMs?: number;
  error?: string;
  rise: number;
  fall: number;
}

/**
 * What the node makes of one beacon report before anything is stored: at most BEACON_REPORTS_PER_SECOND
 * reports per client network (a token bucket, as RRL keeps them), RTTs outside (0, 10 s] refused, and a sample
 * far from its (network, region)'s recent median refused as an outlier (a stalled tab, a captive portal, a
 * clock jump). Both are this node's memory, bounded: the shared part is the stored average (store/latency.ts).
 */
import { RateLimiter, ResponseKind, RrlAction } from '../../protect/rrl.js';
import type { LatencySample } from '../../store/types.js';
import type { ClientNetwork } from './attribution.js';

export const BEACON_REPORTS_PER_SECOND = 2;
export const BEACON_MAX_RTT_MS = 10_000;
/** Recent samples kept per (network, region) for the median, and how many it takes before it judges. */
export const OUTLIER_WINDOW = 16;
export const OUTLIER_MIN_WINDOW = 5;
/** A sample is an outlier when it is more than this factor away from the median, and by more than OUTLIER_SLACK_MS. */
export const OUTLIER_FACTOR = 3;
export const OUTLIER_SLACK_MS = 20;
const MAX_WINDOWS = 10_000;

export type BeaconRejection = 'range' | 'outlier' | 'region';

export interface IntakeResult {
  accepted: LatencySample[];
  rejected: { index: number; reason: BeaconRejection }[];
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function isOutlier(rttMs: number, recent: readonly number[]): boolean {
  if (recent.length < OUTLIER_MIN_WINDOW) return false;
  const m = median(recent);
  if (Math.abs(rttMs - m) <= OUTLIER_SLACK_MS) return false;
  return rttMs > m * OUTLIER_FACTOR || rttMs < m / OUTLIER_FACTOR;
}

export class BeaconIntake {
  readonly rate = BEACON_REPORTS_PER_SECOND;
  private readonly limiter: RateLimiter;
  /** Recent in-range samples per `${network}|${region}`, least recently used first (Map order). */
  private readonly windows = new Map<string, number[]>();

  constructor(nowMs?: () => number) {
    this.limiter = new RateLimiter({ rate: BEACON_REPORTS_PER_SECOND, slip: 0, slots: 1 << 14 }, nowMs);
  }

  /** False when the network has sent too many reports lately (then nothing of this one is looked at). */
  admit(net: ClientNetwork): boolean {
    return this.limiter.account(net.network, ResponseKind.ANSWER, 0) === RrlAction.PASS;
  }

  judge(net: ClientNetwork, samples: readonly { region: string; rttMs: number }[], regionExists: (name: string) => boolean): IntakeResult {
    const out: IntakeResult = { accepted: [], rejected: [] };
    samples.forEach((s, index) => {
      const reject = (reason: BeaconRejection) => void out.rejected.push({ index, reason });
      if (!regionExists(s.region)) return reject('region');
      if (!(s.rttMs > 0 && s.rttMs <= BEACON_MAX_RTT_MS)) return reject('range');
      const recent = this.window(`${net.text}|${s.region}`);
      const outlier = isOutlier(s.rttMs, recent);
      // Outliers join the window too: when a network's RTT really changes, the median follows within half a window.
      recent.push(s.rttMs);
      if (recent.length > OUTLIER_WINDOW) recent.shift();
      if (outlier) return reject('outlier');
      out.accepted.push({ client: net.text, region: s.region, rttMs: s.rttMs, source: 'beacon' });
    });
    return out;
  }

  private window(key: string): number[] {
    let w = this.windows.get(key);
    if (w) this.windows.delete(key);
    else {
      w = [];
      if (this.windows.size >= MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!);
    }
    this.windows.set(key, w);
    return w;
  }
}

/**
 * Latency reports from the API, smoothed per (client key, region) with an exponentially weighted moving average
 * so one outlier does not move traffic, and forgotten after `maxAgeMs` without a report.
 */
import type { LatencyClient } from '../zone/types.js';
import type { MeasuredLatency } from './latency-table.js';

export interface LearnerOptions {
  /** Weight of a new sample (0..1]. */
  alpha: number;
  maxAgeMs: number;
}

export const DEFAULT_LEARNER: LearnerOptions = { alpha: 0.3, maxAgeMs: 60 * 60 * 1000 };

export class LatencyLearner {
  private readonly values = new Map<string, MeasuredLatency>();

  constructor(
    private readonly opts: LearnerOptions = DEFAULT_LEARNER,
    private readonly now: () => number = Date.now,
  ) {}

  record(client: LatencyClient, region: string, rttMs: number): MeasuredLatency {
    const key = `${client.text}\u0000${region}`;
    const t = this.now();
    const old = this.values.get(key);
    const fresh = old && t - old.updatedAt <= this.opts.maxAgeMs;
    const value: MeasuredLatency = fresh
      ? { client, region, rttMs: old.rttMs + this.opts.alpha * (rttMs - old.rttMs), samples: old.samples + 1, updatedAt: t }
      : { client, region, rttMs, samples: 1, updatedAt: t };
    this.values.set(key, value);
    return value;
  }

  /** Current values; expired ones are dropped here. */
  current(): MeasuredLatency[] {
    const t = this.now();
    const out: MeasuredLatency[] = [];
    for (const [key, v] of this.values) {
      if (t - v.updatedAt > this.opts.maxAgeMs) this.values.delete(key);
      else out.push(v);
    }
    return out;
  }

  /** The time the next value expires, to schedule a rebuild then. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const v of this.values.values()) {
      const at = v.updatedAt + this.opts.maxAgeMs;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }
}

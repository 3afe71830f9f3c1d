/** Answers per region over the last minutes, for the status page: deltas of the answer counters per 10 s. */
import type { DnsCounters } from './dns-counters.js';

export interface TrafficPoint {
  at: number;
  /** region -> answers in this interval (all services). */
  byRegion: Record<string, number>;
}

export class TrafficHistory {
  readonly points: TrafficPoint[] = [];
  private last = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly counters: DnsCounters[],
    readonly intervalMs = 10_000,
    private readonly keep = 30,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  sample(now = Date.now()): void {
    const totals = new Map<string, number>();
    for (const c of this.counters) {
      for (const [key, n] of c.answers) {
        const region = key.slice(key.indexOf('\u0000') + 1) || '(none)';
        totals.set(region, (totals.get(region) ?? 0) + n);
      }
    }
    const byRegion: Record<string, number> = {};
    for (const [region, total] of totals) {
      const delta = total - (this.last.get(region) ?? 0);
      if (delta > 0) byRegion[region] = delta;
    }
    this.last = totals;
    this.points.push({ at: now, byRegion });
    if (this.points.length > this.keep) this.points.splice(0, this.points.length - this.keep);
  }

  /** Share of answers per region over the kept window (0..1). */
  shares(): Record<string, number> {
    const sum: Record<string, number> = {};
    let total = 0;
    for (const p of this.points) {
      for (const [r, n] of Object.entries(p.byRegion)) {
        sum[r] = (sum[r] ?? 0) + n;
        total += n;
      }
    }
    const out: Record<string, number> = {};
    for (const [r, n] of Object.entries(sum)) out[r] = total > 0 ? n / total : 0;
    return out;
  }
}

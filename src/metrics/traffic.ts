/** Answers per region over the last minutes, for the status page: deltas of the answer counters per 10 s. */

export interface TrafficPoint {
  at: number;
  /** region -> answers in this interval (all services). */
  byRegion: Record<string, number>;
}

/**
 * One process's answer counters so far (`${service}\u0000${region}` -> answers, as DnsCounters keeps them).
 * `source` names the process's place (this process, or a worker slot); `epoch` changes when the process in
 * that place is a new one (a restarted worker), whose counters began again at 0.
 */
export interface AnswerTotals {
  source: string;
  epoch: number;
  answers: ReadonlyMap<string, number>;
}

interface Seen {
  epoch: number;
  byRegion: Map<string, number>;
}

export class TrafficHistory {
  readonly points: TrafficPoint[] = [];
  /** The last totals per source; one missing from a sample (a worker that did not answer in time) keeps its. */
  private last = new Map<string, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly totals: () => AnswerTotals[] | Promise<AnswerTotals[]>,
    readonly intervalMs = 10_000,
    private readonly keep = 30,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sample(now = Date.now()): Promise<void> {
    // The workers' totals can take a while (a busy worker answers its metrics request late): no overlap.
    if (this.sampling) return;
    this.sampling = true;
    try {
      const byRegion: Record<string, number> = {};
      for (const t of await this.totals()) {
        const current = regionTotals(t.answers);
        const before = this.last.get(t.source);
        const from = before && before.epoch === t.epoch ? before.byRegion : undefined;
        for (const [region, total] of current) {
          const delta = total - (from?.get(region) ?? 0);
          if (delta > 0) byRegion[region] = (byRegion[region] ?? 0) + delta;
        }
        this.last.set(t.source, { epoch: t.epoch, byRegion: current });
      }
      this.points.push({ at: now, byRegion });
      if (this.points.length > this.keep) this.points.splice(0, this.points.length - this.keep);
    } finally {
      this.sampling = false;
    }
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

function regionTotals(answers: ReadonlyMap<string, number>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const [key, n] of answers) {
    const region = key.slice(key.indexOf('\u0000') + 1) || '(none)';
    totals.set(region, (totals.get(region) ?? 0) + n);
  }
  return totals;
}

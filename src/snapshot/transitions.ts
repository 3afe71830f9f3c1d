/**
 * Health transitions, seen by comparing consecutive snapshots: logged at info, counted for metrics, and kept
 * (the last 200) for the status page.
 */
import type { Logger } from 'pino';
import type { Snapshot } from './types.js';

export interface Transition {
  at: number;
  region: string;
  /** Undefined for a region-level change. */
  endpoint?: string;
  up: boolean;
  reason: string;
}

const KEEP = 200;

export class TransitionTracker {
  private last: Snapshot | undefined;
  readonly recent: Transition[] = [];
  /** `${region}\u0000${endpoint}\u0000${to}` -> count. */
  readonly counts = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  observe(next: Snapshot): void {
    const prev = this.last;
    this.last = next;
    if (!prev || prev.health === next.health) return;
    const now = Date.now();
    for (const [name, r] of next.health.regions) {
      // A region new to this snapshot, or known only now (the first health computed), has no transition.
      const old = prev.health.regions.get(name);
      if (!old) continue;
      const explain = (address: string) => next.health.explain(name, address, now).reason;
      for (const [address, v] of r.endpoints) {
        const was = old.endpoints.get(address);
        if (was && was.up !== v.up) this.record({ at: now, region: name, endpoint: address, up: v.up, reason: explain(address) });
      }
      if (old.up !== r.up) this.record({ at: now, region: name, up: r.up, reason: r.reason });
    }
  }

  private record(t: Transition): void {
    this.recent.push(t);
    if (this.recent.length > KEEP) this.recent.splice(0, this.recent.length - KEEP);
    const key = `${t.region}\u0000${t.endpoint ?? ''}\u0000${t.up ? 'up' : 'down'}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.log.info({ region: t.region, endpoint: t.endpoint, up: t.up, reason: t.reason }, t.endpoint ? `endpoint ${t.up ? 'up' : 'down'}` : `region ${t.up ? 'up' : 'down'}`);
  }
}

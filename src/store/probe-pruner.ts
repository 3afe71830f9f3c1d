/**
 * Forgets probe states nobody refreshes: a state with no report for PROBER_STALE_FACTOR × its region's
 * freshness window (10 × max(30 s, 3 × the check interval): 5 minutes by default) is deleted from the store,
 * which tells every node (their views, their prober registries and, through those, their metric series). A
 * prober that stopped reporting, an endpoint or a region that is gone, leave nothing behind for long.
 *
 * Every node runs one; the store deletes a state only if no report arrived since the pruner looked at it, so
 * nodes pruning at once, or a report racing the prune, never lose a fresh state.
 */
import type { Logger } from 'pino';
import { freshnessFor } from '../health/machine.js';
import type { RegionIndex } from '../model/indexes.js';
import { splitProbeKey } from './keys.js';
import type { Store } from './types.js';
import type { ProberState } from '../health/probe-state.js';

export const PROBER_STALE_FACTOR = 10;
const DEFAULT_PRUNE_EVERY_MS = 60_000;

export interface ProbePrunerOptions {
  /** How often to look for stale states (default 60 s). */
  pruneEveryMs?: number;
  /** Overrides PROBER_STALE_FACTOR × freshness for every region (tests). */
  staleAfterMs?: number;
}

export interface ProbePrunerDeps {
  store: Store;
  /** The node's current copy of the probe states. */
  probes: () => ReadonlyMap<string, ProberState>;
  /** The regions of the current snapshot (their check intervals set the freshness). */
  regions: () => ReadonlyMap<string, RegionIndex>;
  log: Logger;
  onPruned?: (count: number) => void;
  now?: () => number;
}

export class ProbePruner {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly deps: ProbePrunerDeps,
    private readonly opts: ProbePrunerOptions = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.pruneOnce(), this.opts.pruneEveryMs ?? DEFAULT_PRUNE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The age after which a state of `region` is stale. */
  staleAfter(region: string): number {
    return this.opts.staleAfterMs ?? PROBER_STALE_FACTOR * freshnessFor(this.deps.regions().get(region)?.region.check?.intervalMs);
  }

  /** Delete the states stale now; resolves with how many were deleted (0 when the store is unavailable). */
  async pruneOnce(): Promise<number> {
    if (this.running || !this.deps.store.available()) return 0;
    this.running = true;
    try {
      const now = (this.deps.now ?? Date.now)();
      const stale: [string, number][] = [];
      const limits = new Map<string, number>();
      for (const [key, state] of this.deps.probes()) {
        const region = splitProbeKey(key)[0];
        let limit = limits.get(region);
        if (limit === undefined) limits.set(region, (limit = this.staleAfter(region)));
        if (now - state.at > limit) stale.push([key, state.at]);
      }
      if (stale.length === 0) return 0;
      const gone = await this.deps.store.pruneProbes(stale);
      if (gone.length > 0) {
        this.deps.log.info({ states: gone.length, probers: [...new Set(gone.map((k) => splitProbeKey(k)[2]))].slice(0, 20) }, 'pruned stale probe states');
        this.deps.onPruned?.(gone.length);
      }
      return gone.length;
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'pruning stale probe states failed; will retry');
      return 0;
    } finally {
      this.running = false;
    }
  }
}

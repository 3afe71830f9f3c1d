/**
 * Glue between a Store and this node: the initial load, the change feed into the StateCache, and the node's
 * own check results (written to the store when it can, kept in the local view when it cannot, and pushed
 * when it comes back). While the store is unreachable the node's own checker decides the health of the
 * endpoints it checks (the cache's local overlay): other probers' last states are frozen, not news.
 */
import type { Logger } from 'pino';
import { RedisStore } from './redis.js';
import type { StateCache } from './state-cache.js';
import { AvailabilityTracker, type StoreStatus } from './store-status.js';
import { StoreUnavailableError, type Store } from './types.js';
import type { ProbeUpdate } from '../health/probe-state.js';

export class SharedState {
  private readonly availability: AvailabilityTracker;
  /** Full re-reads of the store (start, reconnect, the periodic safety net), by whether they found news. */
  readonly resyncs = { changed: 0, unchanged: 0 };

  constructor(
    readonly store: Store,
    readonly cache: StateCache,
    private readonly changed: () => void,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.availability = new AvailabilityTracker(now);
  }

  async start(): Promise<void> {
    this.store.onChange((c) => {
      const changed = this.cache.apply(c);
      if (c.kind === 'resync') this.resyncs[changed ? 'changed' : 'unchanged']++;
      if (changed) this.changed();
    });
    if (this.store instanceof RedisStore) {
      this.store.beforeResync = () => this.pushUnsynced();
      this.store.lastSynced = () => this.cache.state;
      this.store.onStatusChange((up) => this.setOverlay(!up));
    }
    this.cache.apply({ kind: 'resync', data: await this.store.start() });
    if (!this.store.available()) this.setOverlay(true);
  }

  /** `{ kind, up, since, error? }` for /v1/status and /readyz. */
  storeStatus(): StoreStatus {
    return this.store instanceof RedisStore ? this.store.status() : this.availability.status(this.store.kind, this.store.available());
  }

  /** This node's checker results: never blocks on, nor fails because of, the store. */
  async recordLocal(updates: ProbeUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const now = this.now();
    // A Redis known to be unreachable: do not wait for a command to time out (the embedded store's own
    // non-durable probe writes are in memory and cannot hang, and succeeding is what clears its failure).
    if (this.store instanceof RedisStore && !this.store.available()) return this.keepLocally(updates, now);
    try {
      await this.store.applyProbes(updates, now, false);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.keepLocally(updates, now);
    }
  }

  private keepLocally(updates: ProbeUpdate[], now: number): void {
    this.cache.applyLocally(updates, now);
    this.changed();
  }

  private setOverlay(on: boolean): void {
    if (this.cache.setLocalOverlay(on)) this.changed();
  }

  private async pushUnsynced(): Promise<void> {
    if (this.cache.unsynced.size === 0) return;
    const states = [...this.cache.unsynced];
    await this.store.restoreProbes(states);
    for (const [k, s] of states) if (this.cache.unsynced.get(k) === s) this.cache.unsynced.delete(k);
    this.log.info({ states: states.length }, 'pushed local check results gathered while the store was unreachable');
  }
}

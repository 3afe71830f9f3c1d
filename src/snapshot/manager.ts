/**
 * Owns the way state becomes snapshots: zone changes rebuild everything at once; state changes (learned
 * latency, later health) are coalesced into at most one cheap rebuild per window and swapped atomically.
 */
import type { Logger } from 'pino';
import type { Locator } from '../geo/locator.js';
import type { LatencyLearner } from '../steering/latency-learner.js';
import type { ZoneSet } from '../zone/types.js';
import { buildSnapshot, withState } from './build.js';
import { SnapshotHolder } from './holder.js';

export interface ManagerDeps {
  nodeId: string;
  locator: Locator;
  learner: LatencyLearner;
  log: Logger;
  /** Longest a state change waits before it is visible to queries. */
  coalesceMs?: number;
}

export class SnapshotManager {
  readonly holder: SnapshotHolder;
  private version = 0;
  private locator: Locator;
  private pending: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    zoneSet: ZoneSet,
    private readonly deps: ManagerDeps,
  ) {
    this.locator = deps.locator;
    this.holder = new SnapshotHolder(
      buildSnapshot(zoneSet, { version: ++this.version, nodeId: deps.nodeId, state: { locator: this.locator, measured: deps.learner.current() } }),
    );
  }

  applyZoneSet(zoneSet: ZoneSet): void {
    const started = performance.now();
    this.holder.swap(
      buildSnapshot(zoneSet, { version: ++this.version, nodeId: this.deps.nodeId, state: { locator: this.locator, measured: this.deps.learner.current() } }),
    );
    this.deps.log.debug({ version: this.version, ms: Math.round(performance.now() - started) }, 'snapshot rebuilt (zones)');
  }

  setLocator(locator: Locator): void {
    this.locator = locator;
    this.rebuildState();
  }

  /** Something in the learned state changed: rebuild soon, once for a whole burst. */
  stateChanged(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => this.rebuildState(), this.deps.coalesceMs ?? 200);
    this.pending.unref();
  }

  rebuildState(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    const measured = this.deps.learner.current();
    this.holder.swap(withState(this.holder.current(), ++this.version, { locator: this.locator, measured }));
    this.scheduleExpiry();
  }

  /** Learned values age out even when nobody reports: rebuild when the next one expires. */
  private scheduleExpiry(): void {
    clearTimeout(this.expiry);
    const at = this.deps.learner.nextExpiry();
    if (at === undefined) return;
    this.expiry = setTimeout(() => this.rebuildState(), Math.max(0, at - Date.now()) + 10);
    this.expiry.unref();
  }

  stop(): void {
    clearTimeout(this.pending);
    clearTimeout(this.expiry);
  }
}

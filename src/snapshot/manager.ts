/**
 * Owns the way state becomes snapshots: zone changes rebuild everything at once; state changes (API regions,
 * drains, probe results, learned latency) are coalesced into at most one cheap rebuild per window and swapped
 * atomically; time-driven changes (a report going stale, a learned value expiring) get a rebuild when due.
 */
import type { Logger } from 'pino';
import type { Locator } from '../geo/locator.js';
import { computeHealth } from '../health/computed.js';
import { LATENCY_MAX_AGE_MS } from '../store/latency.js';
import { LOAD_FRESH_MS } from '../store/load.js';
import type { StateCache } from '../store/state-cache.js';
import type { ZoneSet } from '../model/types.js';
import { buildSnapshot, withState, type SnapshotState } from './build.js';
import { SnapshotHolder } from './holder.js';
import type { ZoneKeys } from '../dnssec/rollover.js';
import type { Snapshot } from './types.js';

export interface ManagerDeps {
  nodeId: string;
  locator: Locator;
  cache: StateCache;
  log: Logger;
  /** Longest a state change waits before queries see it (health changes must not wait much longer). */
  coalesceMs?: number;
  now?: () => number;
  /** The keys of signed zones (store/dnssec-keys.ts ZoneKeyring), read before a zone set is applied. */
  keys?: (apex: string) => ZoneKeys | undefined;
  /** How long a load report counts (store/load.ts; tests make it short). */
  loadFreshMs?: number;
  /** Told how long each rebuild took, for metrics. */
  onRebuild?: (kind: 'zones' | 'state', ms: number) => void;
}

export class SnapshotManager {
  readonly holder: SnapshotHolder;
  private version = 0;
  private locator: Locator;
  private pending: NodeJS.Timeout | undefined;
  private timed: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** How long a load report counts. */
  readonly loadFreshMs: number;

  constructor(
    zoneSet: ZoneSet,
    private readonly deps: ManagerDeps,
  ) {
    this.locator = deps.locator;
    this.now = deps.now ?? Date.now;
    this.loadFreshMs = deps.loadFreshMs ?? LOAD_FRESH_MS;
    this.holder = new SnapshotHolder(buildSnapshot(zoneSet, { version: ++this.version, nodeId: deps.nodeId, state: this.state(), ...(deps.keys ? { keys: deps.keys } : {}) }));
    this.scheduleTimed(this.holder.current());
  }

  private state(): SnapshotState {
    const now = this.now();
    const cache = this.deps.cache;
    return {
      locator: this.locator,
      measured: cache.measured(now),
      apiRegions: cache.apiRegions(),
      health: (regions) => computeHealth(regions, cache.probeIndex(), cache.state.drains, now),
      utilization: cache.utilization(now, this.loadFreshMs),
      passiveDown: cache.passiveDown(now, this.loadFreshMs),
    };
  }

  applyZoneSet(zoneSet: ZoneSet): void {
    const started = performance.now();
    const next = buildSnapshot(zoneSet, { version: ++this.version, nodeId: this.deps.nodeId, state: this.state(), ...(this.deps.keys ? { keys: this.deps.keys } : {}) });
    this.holder.swap(next);
    this.scheduleTimed(next);
    const ms = performance.now() - started;
    this.deps.onRebuild?.('zones', ms);
    this.deps.log.debug({ version: this.version, ms: Math.round(ms) }, 'snapshot rebuilt (zones)');
  }

  setLocator(locator: Locator): void {
    this.locator = locator;
    this.rebuildState();
  }

  /** Something in the shared state changed: rebuild soon, once for a whole burst. */
  stateChanged(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => this.rebuildState(), this.deps.coalesceMs ?? 200);
    this.pending.unref();
  }

  rebuildState(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    const started = performance.now();
    const next = withState(this.holder.current(), ++this.version, this.state(), this.now());
    this.holder.swap(next);
    this.scheduleTimed(next);
    this.deps.onRebuild?.('state', performance.now() - started);
  }

  /** The earliest moment the snapshot changes by itself. */
  private scheduleTimed(snap: Snapshot): void {
    clearTimeout(this.timed);
    const now = this.now();
    // Only future expiries: an expired value left in the state used to re-arm a 5 ms rebuild loop.
    const candidates = [snap.health.nextChangeAt, this.deps.cache.nextLatencyExpiry(LATENCY_MAX_AGE_MS, now), this.deps.cache.nextLoadExpiry(this.loadFreshMs, now)].filter((t): t is number => t !== undefined);
    if (candidates.length === 0) return;
    const delay = Math.max(0, Math.min(...candidates) - now) + 5;
    // setTimeout takes at most 2^31-1 ms; a later change is re-planned by the rebuilds in between.
    this.timed = setTimeout(() => this.rebuildState(), Math.min(delay, 2 ** 31 - 1));
    this.timed.unref();
  }

  stop(): void {
    clearTimeout(this.pending);
    clearTimeout(this.timed);
  }
}

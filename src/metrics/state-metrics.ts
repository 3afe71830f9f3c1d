/**
 * The node's state and configuration metric families: the store, the snapshot (version, rebuild time), zone
 * reloads and API bodies refused before routing.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SnapshotHolder } from '../snapshot/holder.js';
import { RELOAD_REJECT_REASONS, type ReloadRejectReason } from '../model/reloader.js';

export interface StateSources {
  holder: SnapshotHolder;
  store: { kind: string; available(): boolean };
  /** How many times this node re-seeded a shared store that had lost its data. */
  storeReseeds?: (() => number) | undefined;
  reloads: { readonly success: number; readonly failure: number };
  /** Refused reloads (also counted as failures), by why. */
  reloadRejections: Readonly<Record<ReloadRejectReason, number>>;
  /** API request bodies refused before a route ran, by reason (size, depth, syntax, type). */
  bodyRejections: ReadonlyMap<string, number>;
  /** Full re-reads of the shared store, by whether they changed the state (SharedState.resyncs). */
  resyncs?: { readonly changed: number; readonly unchanged: number } | undefined;
}

/** Registers the families; returns the rebuild-time histogram, which `Telemetry.observeRebuild` feeds. */
export function registerStateMetrics(registers: Registry[], s: StateSources): Histogram<'kind'> {
  new Counter({
    name: 'gslb_store_reseeds_total',
    help: 'Times this node found the shared store without its data (epoch gone or changed) and re-seeded it.',
    registers,
    collect() {
      this.reset();
      this.inc(s.storeReseeds?.() ?? 0);
    },
  });
  new Gauge({
    name: 'gslb_store_up',
    help: 'Whether the state store accepts writes (1) or not (0).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.set({ kind: s.store.kind }, s.store.available() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gslb_snapshot_version',
    help: 'Version of the snapshot the query path reads.',
    registers,
    collect() {
      this.set(s.holder.current().version);
    },
  });
  const rebuildDuration = new Histogram({
    name: 'gslb_snapshot_rebuild_duration_seconds',
    help: 'Time to build a snapshot: kind=zones (zone files changed) or state (health, registrations, latency).',
    labelNames: ['kind'],
    buckets: [1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers,
  });
  new Counter({
    name: 'gslb_api_bodies_rejected_total',
    help: 'API request bodies refused before parsing or routing: size (over the limit), depth (nested too deep), syntax, type (not JSON).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const reason of ['size', 'depth', 'syntax', 'type']) this.inc({ reason }, s.bodyRejections.get(reason) ?? 0);
    },
  });
  new Counter({
    name: 'gslb_zone_reloads_total',
    help: 'Zone file reloads, by result.',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'success' }, s.reloads.success);
      this.inc({ result: 'failure' }, s.reloads.failure);
    },
  });
  new Counter({
    name: 'gslb_zone_reloads_rejected_total',
    help: 'Zone reloads refused while the last good configuration kept serving, by reason: invalid (validation errors, logged as file:line) or no_zones (the change removed every zone).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const reason of RELOAD_REJECT_REASONS) this.inc({ reason }, s.reloadRejections[reason]);
    },
  });
  new Counter({
    name: 'gslb_store_resyncs_total',
    help: 'Full re-reads of the store (start, reconnect, every 10 s with Redis), by whether they found a change (a change means a snapshot rebuild).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'changed' }, s.resyncs?.changed ?? 0);
      this.inc({ result: 'unchanged' }, s.resyncs?.unchanged ?? 0);
    },
  });
  new Gauge({
    name: 'gslb_decision_cache_entries',
    help: 'Steering decisions cached by the current snapshot (one per service, answer family and client block).',
    registers,
    collect() {
      this.set(s.holder.current().decisions.size);
    },
  });
  return rebuildDuration;
}

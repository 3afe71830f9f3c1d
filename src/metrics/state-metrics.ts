/**
 * Metrics of how the node keeps its snapshot current: store resyncs (did the safety-net re-read find anything?)
 * and the decision cache's size. Apart from telemetry.ts, which is long enough.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SnapshotHolder } from '../snapshot/holder.js';

export interface StateMetricsDeps {
  holder: SnapshotHolder;
  /** Full re-reads of the shared store, by whether they changed the state (SharedState.resyncs). */
  resyncs?: { readonly changed: number; readonly unchanged: number };
}

export function registerStateMetrics(registers: Registry[], deps: StateMetricsDeps): void {
  new Counter({
    name: 'gslb_store_resyncs_total',
    help: 'Full re-reads of the store (start, reconnect, every 10 s with Redis), by whether they found a change (a change means a snapshot rebuild).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'changed' }, deps.resyncs?.changed ?? 0);
      this.inc({ result: 'unchanged' }, deps.resyncs?.unchanged ?? 0);
    },
  });
  new Gauge({
    name: 'gslb_decision_cache_entries',
    help: 'Steering decisions cached by the current snapshot (one per service, answer family and client block).',
    registers,
    collect() {
      this.set(deps.holder.current().decisions.size);
    },
  });
}

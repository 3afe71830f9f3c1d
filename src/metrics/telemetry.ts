/**
 * Prometheus metrics (`GET /metrics`). Hot-path numbers are kept in plain counters and copied into
 * prom-client only when scraped; everything else is read from the current snapshot at scrape time.
 * Names follow Prometheus conventions: `gslb_…_total` counters, base units (seconds), bounded labels.
 * This class owns the counters the rest of the server bumps; the families are declared by concern in
 * dns-metrics.ts (the query path), health-metrics.ts, load-metrics.ts and state-metrics.ts (store, snapshot,
 * reloads, API).
 */
import type { Histogram } from 'prom-client';
import type { TransitionTracker } from '../snapshot/transitions.js';
import type { SnapshotHolder } from '../snapshot/holder.js';
import { RELOAD_REJECT_REASONS, type ReloadRejectReason } from '../model/reloader.js';
import { BEACON_SAMPLE_RESULTS, registerBeaconMetrics, type BeaconSampleResult } from './beacon-metrics.js';
import { DnsTelemetry } from './dns-telemetry.js';
import { registerHealthMetrics, type ProberCounts } from './health-metrics.js';
import { registerLoadMetrics } from './load-metrics.js';
import { registerStateMetrics } from './state-metrics.js';

export interface TelemetryDeps {
  holder: SnapshotHolder;
  transitions: TransitionTracker;
  store: { kind: string; available(): boolean };
  /** How many times this node re-seeded a shared store that had lost its data. */
  storeReseeds?: () => number;
  nodeId: string;
  /** Who may report probes (api/probers.ts): how many are known, how many reports were refused. */
  probers?: ProberCounts;
  /** Full re-reads of the store, by whether they found a change. */
  resyncs?: { readonly changed: number; readonly unchanged: number };
}

export class Telemetry extends DnsTelemetry {
  readonly probeReports = new Map<string, number>();
  readonly reloads = { success: 0, failure: 0 };
  /** Probe states deleted by the pruner (no report for too long). */
  readonly probePrune = { states: 0 };
  /** API request bodies refused before a route ran, by reason (size, depth, syntax, type). */
  readonly bodyRejections = new Map<string, number>();
  /** Refused reloads (also counted as failures above), by why: a fixed label set. */
  readonly reloadRejections = Object.fromEntries(RELOAD_REJECT_REASONS.map((r) => [r, 0])) as Record<ReloadRejectReason, number>;
  /** Beacon samples, by result. */
  readonly beaconSamples = Object.fromEntries(BEACON_SAMPLE_RESULTS.map((r) => [r, 0])) as Record<BeaconSampleResult, number>;
  private readonly rebuildDuration: Histogram<'kind'>;

  constructor(deps: TelemetryDeps) {
    super(deps.nodeId, true);
    const registers = [this.registry];
    registerHealthMetrics(registers, { ...deps, probeReports: this.probeReports, probePrune: this.probePrune });
    registerLoadMetrics(registers, deps.holder);
    const { reloads, reloadRejections, bodyRejections } = this;
    this.rebuildDuration = registerStateMetrics(registers, { ...deps, reloads, reloadRejections, bodyRejections });
    registerBeaconMetrics(registers, this.beaconSamples);
  }

  countProbeReports(prober: string, n: number): void {
    this.probeReports.set(prober, (this.probeReports.get(prober) ?? 0) + n);
  }

  /** A prober with no state left: its series goes (the prober name set is bounded by what the store holds). */
  forgetProber(prober: string): void {
    this.probeReports.delete(prober);
  }

  countBodyRejection(reason: string): void {
    this.bodyRejections.set(reason, (this.bodyRejections.get(reason) ?? 0) + 1);
  }

  observeRebuild(kind: 'zones' | 'state', ms: number): void {
    this.rebuildDuration.observe({ kind }, ms / 1000);
  }
}

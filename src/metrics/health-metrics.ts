/**
 * Health's metric families, read from the current snapshot's HealthView and the transition log when
 * scraped: regions up and drained, endpoints up, transitions, probe reports, probers, pruned probe states.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { allEndpoints } from '../health/endpoints.js';
import type { SnapshotHolder } from '../snapshot/holder.js';
import type { TransitionTracker } from '../snapshot/transitions.js';

/** Who may report probes (api/probers.ts): how many are known, how many reports were refused. */
export interface ProberCounts {
  configured: ReadonlySet<string>;
  registeredCount(): number;
  rejected: { unknown: number; limit: number };
}

export interface HealthSources {
  holder: SnapshotHolder;
  transitions: TransitionTracker;
  /** Check results received, by prober. */
  probeReports: ReadonlyMap<string, number>;
  /** Probe states deleted by the pruner (no report for too long). */
  probePrune: { readonly states: number };
  probers?: ProberCounts | undefined;
}

export function registerHealthMetrics(registers: Registry[], { holder, transitions, probeReports, probePrune, probers }: HealthSources): void {
  new Gauge({
    name: 'gslb_region_up',
    help: 'Region health (1 up, 0 down), before drains.',
    labelNames: ['region'],
    registers,
    collect() {
      this.reset();
      const snap = holder.current();
      for (const name of snap.regions.keys()) this.set({ region: name }, snap.health.region(name).up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gslb_region_drained',
    help: 'Region drained by an operator (1) or not (0).',
    labelNames: ['region'],
    registers,
    collect() {
      this.reset();
      const snap = holder.current();
      for (const name of snap.regions.keys()) this.set({ region: name }, snap.health.region(name).drained ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gslb_endpoint_up',
    help: 'Endpoint health (1 up, 0 down) as decided from all probers.',
    labelNames: ['region', 'endpoint'],
    registers,
    collect() {
      this.reset();
      const snap = holder.current();
      for (const [name, r] of snap.regions) {
        for (const e of allEndpoints(r)) this.set({ region: name, endpoint: e.address }, snap.health.endpointUp(name, e.address) ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'gslb_health_transitions_total',
    help: 'Health state changes of endpoints (and regions, with endpoint="").',
    labelNames: ['region', 'endpoint', 'to'],
    registers,
    collect() {
      this.reset();
      for (const [key, v] of transitions.counts) {
        const [region, endpoint, to] = key.split('\u0000') as [string, string, string];
        this.inc({ region, endpoint, to }, v);
      }
    },
  });
  new Counter({
    name: 'gslb_probe_reports_total',
    help: 'Check results received, by prober (this node\'s own checker included).',
    labelNames: ['prober'],
    registers,
    collect() {
      this.reset();
      for (const [prober, v] of probeReports) this.inc({ prober }, v);
    },
  });
  if (probers) {
    new Gauge({
      name: 'gslb_probers',
      help: 'Remote probers known: configured (--probers) and registered (in the store: by an authenticated report, or other nodes\' checkers).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.set({ kind: 'configured' }, probers.configured.size);
        this.set({ kind: 'registered' }, probers.registeredCount());
      },
    });
    new Counter({
      name: 'gslb_probe_reports_rejected_total',
      help: 'Probe reports refused (403): unknown (prober not configured, or this node\'s id), limit (no room to register it).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        this.inc({ reason: 'unknown' }, probers.rejected.unknown);
        this.inc({ reason: 'limit' }, probers.rejected.limit);
      },
    });
  }
  new Counter({
    name: 'gslb_probe_states_pruned_total',
    help: 'Probe states deleted by this node because no report came for too long (10 x the freshness window).',
    registers,
    collect() {
      this.reset();
      this.inc(probePrune.states);
    },
  });
}

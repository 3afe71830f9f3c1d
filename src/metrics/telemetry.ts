/**
 * Prometheus metrics (`GET /metrics`). Hot-path numbers are kept in plain counters and copied into
 * prom-client only when scraped; everything else is read from the current snapshot at scrape time.
 * Names follow Prometheus conventions: `gslb_…_total` counters, base units (seconds), bounded labels.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueryObserver } from '../net/observer.js';
import { TCP_CLOSE_REASONS, type TcpStats } from '../net/tcp.js';
import { ParseOutcome } from '../wire/query.js';
import type { ComputedHealth } from '../health/computed.js';
import type { TransitionTracker } from '../snapshot/transitions.js';
import type { SnapshotHolder } from '../snapshot/holder.js';
import { decisionCacheStats } from '../routing/decide.js';
import { DnsCounters, TRANSPORTS } from './dns-counters.js';
import { RELOAD_REJECT_REASONS, type ReloadRejectReason } from '../model/reloader.js';
import { ProtectionCounters, RRL_LABELS, COOKIE_LABELS } from './protection-counters.js';
import { registerStateMetrics } from './state-metrics.js';

export interface TelemetryDeps {
  holder: SnapshotHolder;
  transitions: TransitionTracker;
  store: { kind: string; available(): boolean };
  /** How many times this node re-seeded a shared store that had lost its data. */
  storeReseeds?: () => number;
  nodeId: string;
  /** Who may report probes (api/probers.ts): how many are known, how many reports were refused. */
  probers?: { configured: ReadonlySet<string>; registeredCount(): number; rejected: { unknown: number; limit: number } };
  /** Full re-reads of the store, by whether they found a change. */
  resyncs?: { readonly changed: number; readonly unchanged: number };
}

export class Telemetry {
  readonly registry = new Registry();
  readonly dns = new DnsCounters();
  readonly probeReports = new Map<string, number>();
  readonly reloads = { success: 0, failure: 0 };
  /** Probe states deleted by the pruner (no report for too long). */
  readonly probePrune = { states: 0 };
  /** API request bodies refused before a route ran, by reason (size, depth, syntax, type). */
  readonly bodyRejections = new Map<string, number>();
  /** Refused reloads (also counted as failures above), by why: a fixed label set. */
  readonly reloadRejections = Object.fromEntries(RELOAD_REJECT_REASONS.map((r) => [r, 0])) as Record<ReloadRejectReason, number>;
  /** The TCP listeners, once bound: open connections and why the server closed some, summed when scraped. */
  readonly tcpListeners: { readonly open: number; readonly stats: TcpStats }[] = [];
  readonly protection = new ProtectionCounters();
  private readonly queryDuration: Histogram;
  private readonly rebuildDuration: Histogram<'kind'>;

  constructor(deps: TelemetryDeps) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: deps.nodeId });
    collectDefaultMetrics({ register: this.registry });
    registerStateMetrics(registers, { holder: deps.holder, ...(deps.resyncs ? { resyncs: deps.resyncs } : {}) });
    const dns = this.dns;

    new Counter({
      name: 'gslb_dns_queries_total',
      help: 'DNS queries answered, by query type, response code and transport.',
      labelNames: ['qtype', 'rcode', 'transport'],
      registers,
      collect() {
        this.reset();
        for (const [labels, v] of dns.queryEntries()) this.inc(labels, v);
      },
    });
    new Counter({
      name: 'gslb_dns_truncated_total',
      help: 'Answers sent empty with TC=1 because they did not fit the client limit.',
      labelNames: ['transport'],
      registers,
      collect() {
        this.reset();
        TRANSPORTS.forEach((t, i) => this.inc({ transport: t }, dns.truncated[i]!));
      },
    });
    new Counter({
      name: 'gslb_dns_dropped_total',
      help: 'Packets dropped without an answer (shorter than a header, or responses).',
      labelNames: ['transport'],
      registers,
      collect() {
        this.reset();
        TRANSPORTS.forEach((t, i) => this.inc({ transport: t }, dns.dropped[i]!));
      },
    });
    new Counter({
      name: 'gslb_dns_answers_total',
      help: 'Service answers, by service and chosen region.',
      labelNames: ['service', 'region'],
      registers,
      collect() {
        this.reset();
        for (const [key, v] of dns.answers) {
          const sep = key.indexOf('\u0000');
          this.inc({ service: key.slice(0, sep), region: key.slice(sep + 1) || 'none' }, v);
        }
      },
    });
    this.queryDuration = new Histogram({
      name: 'gslb_dns_query_duration_seconds',
      help: 'Time from packet to answer on the query path, sampled (1 query in 64).',
      buckets: [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2],
      registers,
    });
    new Counter({
      name: 'gslb_decision_cache_lookups_total',
      help: 'Steering decision cache lookups, by result.',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'hit' }, decisionCacheStats.hits);
        this.inc({ result: 'miss' }, decisionCacheStats.misses);
      },
    });
    new Gauge({
      name: 'gslb_region_up',
      help: 'Region health (1 up, 0 down), before drains.',
      labelNames: ['region'],
      registers,
      collect() {
        this.reset();
        const snap = deps.holder.current();
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
        const snap = deps.holder.current();
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
        const snap = deps.holder.current();
        const health = snap.health as Partial<ComputedHealth>;
        for (const [name, r] of snap.regions) {
          for (const e of [...r.v4, ...r.v6, ...r.hosts]) {
            const v = health.regions?.get(name)?.endpoints.get(e.address);
            this.set({ region: name, endpoint: e.address }, v?.up === false ? 0 : 1);
          }
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
        for (const [key, v] of deps.transitions.counts) {
          const [region, endpoint, to] = key.split('\u0000') as [string, string, string];
          this.inc({ region, endpoint, to }, v);
        }
      },
    });
    const probeReports = this.probeReports;
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
    const probers = deps.probers;
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
    const probePrune = this.probePrune;
    new Counter({
      name: 'gslb_probe_states_pruned_total',
      help: 'Probe states deleted by this node because no report came for too long (10 x the freshness window).',
      registers,
      collect() {
        this.reset();
        this.inc(probePrune.states);
      },
    });
    new Counter({
      name: 'gslb_store_reseeds_total',
      help: 'Times this node found the shared store without its data (epoch gone or changed) and re-seeded it.',
      registers,
      collect() {
        this.reset();
        this.inc(deps.storeReseeds?.() ?? 0);
      },
    });
    new Gauge({
      name: 'gslb_store_up',
      help: 'Whether the state store accepts writes (1) or not (0).',
      labelNames: ['kind'],
      registers,
      collect() {
        this.set({ kind: deps.store.kind }, deps.store.available() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gslb_snapshot_version',
      help: 'Version of the snapshot the query path reads.',
      registers,
      collect() {
        this.set(deps.holder.current().version);
      },
    });
    this.rebuildDuration = new Histogram({
      name: 'gslb_snapshot_rebuild_duration_seconds',
      help: 'Time to build a snapshot: kind=zones (zone files changed) or state (health, registrations, latency).',
      labelNames: ['kind'],
      buckets: [1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    const bodyRejections = this.bodyRejections;
    new Counter({
      name: 'gslb_api_bodies_rejected_total',
      help: 'API request bodies refused before parsing or routing: size (over the limit), depth (nested too deep), syntax, type (not JSON).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of ['size', 'depth', 'syntax', 'type']) this.inc({ reason }, bodyRejections.get(reason) ?? 0);
      },
    });
    const reloads = this.reloads;
    new Counter({
      name: 'gslb_zone_reloads_total',
      help: 'Zone file reloads, by result.',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'success' }, reloads.success);
        this.inc({ result: 'failure' }, reloads.failure);
      },
    });
    const tcpListeners = this.tcpListeners;
    new Gauge({
      name: 'gslb_dns_tcp_connections',
      help: 'Open DNS-over-TCP connections.',
      registers,
      collect() {
        this.set(tcpListeners.reduce((n, l) => n + l.open, 0));
      },
    });
    new Counter({
      name: 'gslb_dns_tcp_closed_total',
      help: 'TCP connections the server closed or refused itself, by reason: client_limit (per address or /24 /56), full (no idle slot to free), evicted_idle (closed to admit a new client), query_timeout, idle_timeout, not_reading (answers not taken).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of TCP_CLOSE_REASONS) this.inc({ reason }, tcpListeners.reduce((n, l) => n + l.stats[reason], 0));
      },
    });
    const rejections = this.reloadRejections;
    new Counter({
      name: 'gslb_zone_reloads_rejected_total',
      help: 'Zone reloads refused while the last good configuration kept serving, by reason: invalid (validation errors, logged as file:line) or no_zones (the change removed every zone).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const reason of RELOAD_REJECT_REASONS) this.inc({ reason }, rejections[reason]);
      },
    });
    const protection = this.protection;
    new Counter({
      name: 'gslb_rrl_responses_total',
      help: 'UDP responses subject to response rate limiting, by what happened: answered, slipped (TC=1 or BADCOOKIE, no records) or dropped.',
      labelNames: ['action'],
      registers,
      collect() {
        this.reset();
        RRL_LABELS.forEach((action, i) => this.inc({ action }, protection.rrl[i]!));
      },
    });
    new Counter({
      name: 'gslb_dns_cookies_total',
      help: 'Queries with a DNS COOKIE option, by what it proved: client_only, valid, invalid (answered with a fresh cookie), malformed (FORMERR).',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        COOKIE_LABELS.forEach((result, i) => this.inc({ result }, protection.cookies[i]!));
      },
    });
    new Gauge({
      name: 'gslb_rrl_table_bytes',
      help: 'Memory of the response rate limiting table (fixed at start; 0 when RRL is off).',
      registers,
      collect() {
        this.set(protection.rrlTableBytes);
      },
    });
  }

  /** The query-path observer: counts, and times one query in 64 (`durationMs` < 0 when not sampled). */
  readonly observer: QueryObserver = (q, outcome, info, transport, _peer, durationMs) => {
    const t = transport === 'udp' ? 0 : 1;
    if (outcome === ParseOutcome.DROP) {
      this.dns.dropped[t]!++;
      return;
    }
    this.dns.countQuery(t, info.rcode, q.qtype);
    if (info.truncated) this.dns.truncated[t]!++;
    if (info.service !== undefined) this.dns.countAnswer(info.service, info.region);
    if (info.rrl !== 0 || info.cookie !== 0) this.protection.count(info.rrl, info.cookie);
    if (durationMs >= 0) this.queryDuration.observe(durationMs / 1000);
  };

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

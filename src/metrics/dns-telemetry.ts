/**
 * The query path's share of the metrics: its plain counters, the observer that bumps them, and their families
 * on a registry. A DNS worker process (--workers) has only this; the node's Telemetry extends it with the rest.
 * With workers, the primary sums every worker's families into its own /metrics (see `scrape`).
 */
import { AggregatorRegistry, collectDefaultMetrics, Registry, type Histogram, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { QueryObserver } from '../net/observer.js';
import type { TcpStats } from '../net/tcp.js';
import { ParseOutcome } from '../wire/query.js';
import { DnsCounters } from './dns-counters.js';
import { ProtectionCounters } from './protection-counters.js';
import { registerDnsMetrics } from './dns-metrics.js';

/** One registry's families as JSON, the form prom-client's cluster aggregator sums. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export class DnsTelemetry {
  readonly registry = new Registry();
  readonly dns = new DnsCounters();
  /** The TCP listeners, once bound: open connections and why the server closed some, summed when scraped. */
  readonly tcpListeners: { readonly open: number; readonly stats: TcpStats }[] = [];
  readonly protection = new ProtectionCounters();
  private readonly queryDuration: Histogram;
  /** Other processes' families (the DNS workers'), summed into this registry's at scrape time. */
  private others: (() => Promise<MetricsJson[]>) | undefined;

  /** `processMetrics`: Node's process_* and nodejs_* families (the primary's only: workers would add theirs up). */
  constructor(nodeId: string, processMetrics: boolean) {
    this.registry.setDefaultLabels({ node: nodeId });
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
    this.queryDuration = registerDnsMetrics([this.registry], { dns: this.dns, protection: this.protection, tcpListeners: this.tcpListeners });
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

  /** Sum `source`'s families (same names, same labels) into every scrape. */
  aggregate(source: () => Promise<MetricsJson[]>): void {
    this.others = source;
  }

  /** The /metrics text: this registry, plus the other processes' families summed in (each family's aggregator). */
  async scrape(): Promise<string> {
    if (!this.others) return this.registry.metrics();
    const own = (await this.registry.getMetricsAsJSON()) as MetricsJson;
    return AggregatorRegistry.aggregate([own, ...(await this.others())]).metrics();
  }
}

/**
 * The query path's metric families: queries, truncations, drops, service answers, query time, the decision
 * cache, TCP connections, RRL and cookies. Each reads its plain counters only when /metrics is scraped.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TCP_CLOSE_REASONS, type TcpStats } from '../net/tcp.js';
import { decisionCacheStats } from '../routing/decide.js';
import { TRANSPORTS, type DnsCounters } from './dns-counters.js';
import { COOKIE_LABELS, RRL_LABELS, type ProtectionCounters } from './protection-counters.js';

export interface DnsSources {
  dns: DnsCounters;
  protection: ProtectionCounters;
  /** The TCP listeners, once bound: open connections and why the server closed some, summed when scraped. */
  tcpListeners: readonly { readonly open: number; readonly stats: TcpStats }[];
}

/** Registers the families; returns the query-time histogram, which the query observer feeds directly. */
export function registerDnsMetrics(registers: Registry[], { dns, protection, tcpListeners }: DnsSources): Histogram {
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
      TRANSPORTS.forEach((t, i) => this.inc({ transport: t }, dns.truncated[i]));
    },
  });
  new Counter({
    name: 'gslb_dns_dropped_total',
    help: 'Packets dropped without an answer (shorter than a header, or responses).',
    labelNames: ['transport'],
    registers,
    collect() {
      this.reset();
      TRANSPORTS.forEach((t, i) => this.inc({ transport: t }, dns.dropped[i]));
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
  const queryDuration = new Histogram({
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
  new Counter({
    name: 'gslb_rrl_responses_total',
    help: 'UDP responses subject to response rate limiting, by what happened: answered, slipped (TC=1 or BADCOOKIE, no records) or dropped.',
    labelNames: ['action'],
    registers,
    collect() {
      this.reset();
      RRL_LABELS.forEach((action, i) => this.inc({ action }, protection.rrl[i]));
    },
  });
  new Counter({
    name: 'gslb_dns_cookies_total',
    help: 'Queries with a DNS COOKIE option, by what it proved: client_only, valid, invalid (answered with a fresh cookie), malformed (FORMERR).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      COOKIE_LABELS.forEach((result, i) => this.inc({ result }, protection.cookies[i]));
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
  return queryDuration;
}

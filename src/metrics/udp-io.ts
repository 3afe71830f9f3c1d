/**
 * /metrics for UDP I/O: which implementation runs (`gslb_udp_io_info{mode}`), and the listeners' counters
 * (the batch module's own ones stay 0 under dgram), summed over the listeners. Registered beside Telemetry's
 * metrics on its registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { UdpIo, UdpIoCounters, UdpIoMode } from '../net/udp-io.js';
import type { UdpSharing } from '../net/udp-sharing.js';

type Key = keyof UdpIoCounters;

/** Counters without labels (one key) or by `op` (recv and send keys). */
const COUNTERS: { name: string; help: string; key?: Key; op?: { recv: Key; send: Key } }[] = [
  {
    name: 'gslb_udp_oversized_queries_total',
    help: 'UDP datagrams longer than 4096 bytes: only their start is read, and they are answered FORMERR.',
    key: 'oversized',
  },
  {
    name: 'gslb_udp_batch_calls_total',
    help: 'Batch mode: recvmmsg calls that returned datagrams (op="recv") and sendmmsg calls (op="send"); datagrams over calls is the mean batch.',
    op: { recv: 'recvCalls', send: 'sendCalls' },
  },
  {
    name: 'gslb_udp_batch_datagrams_total',
    help: 'Batch mode: datagrams received (op="recv") and sent (op="send").',
    op: { recv: 'datagrams', send: 'sent' },
  },
  {
    name: 'gslb_udp_send_waits_total',
    help: 'Batch mode: sends that would have blocked; the rest of the batch waited for the socket to be writable (nothing dropped).',
    key: 'sendWaits',
  },
  {
    name: 'gslb_udp_send_errors_total',
    help: 'Batch mode: responses the kernel refused to send (e.g. EPERM from a firewall, ENOBUFS), counted and skipped.',
    key: 'sendErrors',
  },
  {
    name: 'gslb_udp_coalesce_ticks_total',
    help: 'Batch mode, --udp-coalesce: reads of the socket on the coalescing timer (while datagrams arrive faster than one per period).',
    key: 'ticks',
  },
  {
    name: 'gslb_udp_coalesce_starts_total',
    help: 'Batch mode, --udp-coalesce: times the arrival rate turned reading over to the timer; the first read that finds nothing turns it back.',
    key: 'coalescing',
  },
];

export function registerUdpIoMetrics(registry: Registry, mode: UdpIoMode, listeners: readonly UdpIo[]): void {
  const registers = [registry];
  const sum = (key: Key) => listeners.reduce((n, l) => n + l.counters()[key], 0);
  new Gauge({
    name: 'gslb_udp_io_info',
    help: 'UDP I/O in use (value 1): mode="batch" (native recvmmsg/sendmmsg module) or mode="dgram" (Node dgram).',
    labelNames: ['mode'],
    // Every DNS worker reports it: summed, it would read N.
    aggregator: 'max',
    registers,
    collect() {
      this.reset();
      this.set({ mode }, 1);
    },
  });
  for (const c of COUNTERS) {
    new Counter({
      name: c.name,
      help: c.help,
      labelNames: c.op ? ['op'] : [],
      registers,
      collect() {
        this.reset();
        if (c.key) this.inc(sum(c.key));
        if (c.op) for (const op of ['recv', 'send'] as const) this.inc({ op }, sum(c.op[op]));
      },
    });
  }
}

/** --workers: how the DNS workers share each UDP port (each worker reports it; see net/udp-sharing.ts). */
export function registerUdpSharingMetric(registry: Registry, sharing: UdpSharing): void {
  new Gauge({
    name: 'gslb_dns_worker_udp_sharing_info',
    help: 'How the DNS workers share each UDP port (value 1): mode="reuseport" (a socket per worker, SO_REUSEPORT, the kernel spreads datagrams) or mode="cluster" (the cluster module\'s one shared socket: dgram on Node < 22.12).',
    labelNames: ['mode'],
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.reset();
      this.set({ mode: sharing }, 1);
    },
  });
}

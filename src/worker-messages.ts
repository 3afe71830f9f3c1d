/**
 * What the primary and its DNS workers (--workers) say over the cluster IPC channel. The channel uses
 * `advanced` serialization (structured clone), so the state's Maps travel as they are.
 */
import type { ListenAddress } from './net/udp-io.js';
import type { StateData } from './store/types.js';
import type { AlgorithmName } from './dnssec/algorithms.js';
import type { MetricsJson } from './metrics/dns-telemetry.js';

/** Handed to each worker in its environment (GSLB_WORKER_INIT, JSON). */
export interface WorkerInit {
  /** 1..N: the worker's place, kept across restarts (its NSID suffix and metric label). */
  slot: number;
  /** Where to bind: the --dns addresses, with the ports the first worker resolved when 0 was asked for. */
  dns: ListenAddress[];
  /** The node's server-cookie secret when none is configured, so every worker accepts the others' cookies. */
  cookieSecret?: string;
}

export const WORKER_INIT_ENV = 'GSLB_WORKER_INIT';

/**
 * A signed zone's keys as the primary read them from the store (the stored JSON, private keys included): the
 * channel is the machine's own IPC pipe to its children, never a network.
 */
export interface WorkerZoneKeys {
  apex: string;
  algorithm: AlgorithmName;
  text: string;
}

export type ToWorker =
  | { type: 'state'; data: StateData }
  /** The signed zones' keys (a rollover included): sent before the first state, and again when they change. */
  | { type: 'keys'; zones: WorkerZoneKeys[] }
  | { type: 'reload'; geo: boolean }
  | { type: 'metrics'; id: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'hello' }
  | { type: 'ready'; dns: ListenAddress[] }
  | { type: 'failed'; error: string }
  /** `answers`: the worker's answer counters as DnsCounters keeps them, for the primary's traffic history. */
  | { type: 'metrics'; id: number; json: MetricsJson; answers: Map<string, number> };

/** The NSID / CHAOS id.server a worker answers with: the node id and which worker. */
export function workerNodeId(nodeId: string, slot: number): string {
  return `${nodeId}/w${slot}`;
}

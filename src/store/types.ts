/**
 * What the store keeps: regions registered through the API, drains, probe states per (endpoint, prober), and
 * learned latencies. Two implementations: embedded (memory + a local file) and Redis (shared by nodes).
 * Every mutating method resolves only once the change is durable (file written and fsynced, or Redis
 * acknowledged) and rejects with StoreUnavailableError when it cannot be: the API turns that into a 503.
 */
import type { DrainRecord, ProberState, ProbeUpdate } from '../health/probe-state.js';

export interface RegionRegistration {
  name: string;
  location: { lat: number; lon: number };
  endpoints: { address: string; weight?: number }[];
  services: string[];
  check?: Record<string, unknown>;
  weight?: number;
  bias?: number;
  'min-healthy'?: number | { ipv4?: number; ipv6?: number };
  beacon?: string;
  updatedAt: number;
}

export interface LearnedLatency {
  client: string;
  region: string;
  rttMs: number;
  samples: number;
  updatedAt: number;
  /** Real-user beacons (`POST /v1/beacons`); absent for `POST /v1/latency` measurements. */
  source?: 'beacon';
}

/** A region's latest `POST /v1/load` report (load.ts: fresh for LOAD_FRESH_MS), replacing the one before. */
export interface LoadReport {
  region: string;
  /** 0..1 */
  utilization: number;
  /** 0..1: the region's own share of failed requests (its L7 load balancer's 5xx ratio), when reported. */
  errorRatio?: number;
  /**
   * Passive health per service with `max-error-ratio` (by service name): errorRatio above it is a failed
   * check, through the same rise/fall machine (health/machine.ts) as active checks.
   */
  passive?: Record<string, ProberState>;
  at: number;
}

export interface StateData {
  regions: Map<string, RegionRegistration>;
  drains: Map<string, DrainRecord>;
  probes: Map<string, ProberState>;
  latency: Map<string, LearnedLatency>;
  /** By region. */
  load: Map<string, LoadReport>;
}

export function emptyState(): StateData {
  return { regions: new Map(), drains: new Map(), probes: new Map(), latency: new Map(), load: new Map() };
}

export interface LatencySample {
  client: string;
  region: string;
  rttMs: number;
  source?: 'beacon';
}

export type StoreChange =
  | { kind: 'region'; name: string; registration: RegionRegistration | null }
  | { kind: 'drain'; name: string; drain: DrainRecord | null }
  | { kind: 'probes'; states: [key: string, state: ProberState | null][] }
  | { kind: 'latency'; values: LearnedLatency[] }
  | { kind: 'load'; reports: LoadReport[] }
  /** The whole state was re-read (start, reconnect, periodic safety net). */
  | { kind: 'resync'; data: StateData };

export class StoreUnavailableError extends Error {}

/**
 * `--redis-min-replicas`: the primary applied the change (and told every node), but fewer replicas than asked
 * confirmed it in time, so a failover could still lose it. Answered 503 like any unstored write, with its own
 * text: retrying is safe (the change is the same), it is just not "not applied".
 */
export class ReplicationShortfallError extends StoreUnavailableError {}

export interface Store {
  readonly kind: 'embedded' | 'redis';
  /** Load (or connect and load) the initial state. */
  start(): Promise<StateData>;
  /** Can writes succeed right now? */
  available(): boolean;
  putRegion(reg: RegionRegistration): Promise<void>;
  /** Also forgets the region's drain and probe states. */
  deleteRegion(name: string): Promise<void>;
  setDrain(name: string, drain: DrainRecord | null): Promise<void>;
  /** Apply check results through the rise/fall machine; `durable: false` for a node's own frequent checks. */
  applyProbes(updates: ProbeUpdate[], now: number, durable: boolean): Promise<[string, ProberState][]>;
  recordLatency(samples: LatencySample[], now: number): Promise<LearnedLatency[]>;
  /** Each report replaces its region's previous one. */
  recordLoad(reports: LoadReport[]): Promise<void>;
  /** Write probe states as they are (a node pushing what its checks found while the store was away). */
  restoreProbes(states: [string, ProberState][]): Promise<void>;
  /**
   * Delete stale probe states: each `[key, at]` is deleted only if its state's last report is still at or
   * before `at` (a report that arrived meanwhile keeps it). Resolves with the keys deleted; listeners get a
   * `probes` change with `null` for each.
   */
  pruneProbes(stale: [key: string, at: number][]): Promise<string[]>;
  /** Changes made by any node, this one included. */
  onChange(listener: (change: StoreChange) => void): void;
  close(): Promise<void>;
}

/**
 * `--workers N` on the primary: forks N DNS worker processes (node:cluster, re-running this command line),
 * hands each the state it builds its snapshots from, restarts one that dies (with back-off) while the others
 * keep answering, gathers their metrics for /metrics and their answer counts for the status page's traffic
 * (one request per scrape or sample, never a message per query), and stops them on shutdown.
 *
 * Sockets (net/udp-sharing.ts): with the batch module, or dgram on Node >= 22.12, each worker binds its own
 * UDP socket with SO_REUSEPORT (the kernel spreads datagrams by 4-tuple hash), so the first worker resolves a
 * port 0 and the others bind that port; with dgram on older Node, UDP goes through the cluster module's
 * shared handle (one socket, every worker reads it), keyed by the address as given, so every worker asks for
 * the same address. TCP always uses the cluster module's shared listening handle on the UDP port.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomCookieSecret } from './protect/cookies.js';
import type { Logger } from 'pino';
import type { ListenAddress, UdpIoChoice } from './net/udp-io.js';
import { workerUdpSharing } from './net/udp-sharing.js';
import type { StateData } from './store/types.js';
import type { MetricsJson } from './metrics/dns-telemetry.js';
import type { AnswerTotals } from './metrics/traffic.js';
import { StartupError } from './dns-setup.js';
import { WORKER_INIT_ENV, type FromWorker, type ToWorker, type WorkerInit, type WorkerZoneKeys } from './worker-messages.js';

export interface PoolOptions {
  count: number;
  io: UdpIoChoice;
  log: Logger;
  /** State changes are sent at most once per this window (as the snapshot manager coalesces them). */
  coalesceMs: number;
  state: () => StateData;
  /** The signed zones' keys the primary holds. */
  keys: () => WorkerZoneKeys[];
  cookieSecrets: readonly Buffer[];
  dns: readonly ListenAddress[];
}

interface Slot {
  slot: number;
  worker: Worker | undefined;
  ready: boolean;
  /** When it died recently (for the back-off). */
  deaths: number[];
  restart: NodeJS.Timeout | undefined;
}

interface WorkerReport {
  slot: number;
  pid: number;
  json: MetricsJson;
  answers: ReadonlyMap<string, number>;
}

/** How long a worker may take to answer a metrics request before the scrape goes on without it. */
const METRICS_TIMEOUT_MS = 2000;
const STOP_TIMEOUT_MS = 5000;
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 30_000;
const BACKOFF_WINDOW_MS = 60_000;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly init: Omit<WorkerInit, 'slot'>;
  private pending: NodeJS.Timeout | undefined;
  private stopping = false;
  private metricsId = 0;
  private readonly metricsWaiters = new Map<number, (from: Slot, worker: Worker, report: Extract<FromWorker, { type: 'metrics' }>) => void>();
  /** The addresses the workers answer on (ports resolved). */
  bound: ListenAddress[] = [];
  private starting: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly o: PoolOptions) {
    // A random secret is made once here, not per worker: a cookie one worker gave must pass at the others.
    this.init = { dns: [...o.dns], ...(o.cookieSecrets.length === 0 ? { cookieSecret: randomCookieSecret().toString('hex') } : {}) };
    // Structured clone: the state's Maps travel as they are.
    cluster.setupPrimary({ serialization: 'advanced' });
  }

  /** Forks the first worker (it resolves port 0), then the others on its ports; resolves once all answer. */
  async start(): Promise<void> {
    for (let i = 1; i <= this.o.count; i++) this.slots.push({ slot: i, worker: undefined, ready: false, deaths: [], restart: undefined });
    const sharing = workerUdpSharing(this.o.io.mode);
    const how = sharing === 'reuseport' ? 'a socket per worker (SO_REUSEPORT)' : "the cluster module's one shared socket";
    this.o.log.info({ udpSharing: sharing, udpIo: this.o.io.mode, nodeVersion: process.versions.node }, `dns workers share each udp port: ${how}`);
    await this.startSome(this.slots.slice(0, 1));
    // The cluster module shares one handle per address as asked, so then the others ask the same.
    if (sharing === 'reuseport') this.init.dns = this.bound;
    await this.startSome(this.slots.slice(1));
  }

  private startSome(slots: Slot[]): Promise<void> {
    if (slots.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.starting = {
        resolve: () => {
          if (slots.every((s) => s.ready)) resolve();
        },
        reject,
      };
      for (const s of slots) this.fork(s);
    }).finally(() => (this.starting = undefined));
  }

  private fork(s: Slot): void {
    const init: WorkerInit = { slot: s.slot, ...this.init };
    const worker = cluster.fork({ [WORKER_INIT_ENV]: JSON.stringify(init) });
    s.worker = worker;
    s.ready = false;
    worker.on('message', (m: FromWorker) => this.onMessage(s, worker, m));
    worker.on('exit', (code, signal) => this.onExit(s, worker, code, signal));
  }

  private onMessage(s: Slot, worker: Worker, m: FromWorker): void {
    switch (m.type) {
      case 'hello':
        // It builds its first snapshot from these before it binds: a new worker never answers with old state,
        // nor a signed zone without its keys.
        this.send(worker, { type: 'keys', zones: this.o.keys() });
        this.send(worker, { type: 'state', data: this.o.state() });
        return;
      case 'ready':
        s.ready = true;
        if (this.bound.length === 0) this.bound = m.dns;
        this.o.log.info({ worker: s.slot, pid: worker.process.pid }, 'dns worker ready');
        this.starting?.resolve();
        return;
      case 'failed':
        this.starting?.reject(new StartupError(m.error));
        if (!this.starting) this.o.log.error({ worker: s.slot, error: m.error }, 'dns worker failed to start');
        return;
      case 'metrics':
        this.metricsWaiters.get(m.id)?.(s, worker, m);
        return;
    }
  }

  private onExit(s: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (s.worker !== worker) return;
    s.worker = undefined;
    s.ready = false;
    if (this.stopping) return;
    if (this.starting) {
      this.starting.reject(new StartupError(`dns worker ${s.slot} exited during start (code ${code}, signal ${signal})`));
      return;
    }
    const now = Date.now();
    s.deaths = [...s.deaths.filter((t) => now - t < BACKOFF_WINDOW_MS), now];
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (s.deaths.length - 1));
    this.o.log.warn({ worker: s.slot, pid: worker.process.pid, code, signal, restartInMs: delay }, 'dns worker died; restarting it');
    s.restart = setTimeout(() => {
      s.restart = undefined;
      if (!this.stopping) this.fork(s);
    }, delay);
  }

  private send(worker: Worker, m: ToWorker): void {
    // A worker that just died has no channel; its replacement asks for the state itself.
    if (worker.isConnected()) worker.send(m);
  }

  private broadcast(m: ToWorker): void {
    for (const s of this.slots) if (s.worker) this.send(s.worker, m);
  }

  /** The shared state changed: every worker gets it once per coalescing window. */
  stateChanged(): void {
    if (this.pending || this.stopping) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.broadcast({ type: 'state', data: this.o.state() });
    }, this.o.coalesceMs);
  }

  /** The signed zones' keys changed (read for a newly signed zone, or a rollover): every worker gets them now. */
  keysChanged(): void {
    this.broadcast({ type: 'keys', zones: this.o.keys() });
  }

  /** Zones (`geo` false) or the GeoIP databases and networks (`geo` true) changed: each worker re-reads them. */
  reload(geo: boolean): void {
    this.broadcast({ type: 'reload', geo });
  }

  /** Every ready worker's metric families (a worker that does not answer in time is left out of this scrape). */
  async metrics(): Promise<MetricsJson[]> {
    return (await this.reports()).map((r) => r.json);
  }

  /** Every ready worker's answer counters, for the primary's traffic history (sources `w<slot>`, epoch its pid). */
  async answerTotals(): Promise<AnswerTotals[]> {
    return (await this.reports()).map((r) => ({ source: `w${r.slot}`, epoch: r.pid, answers: r.answers }));
  }

  /** One metrics request to every ready worker, and what each answered in time. */
  private reports(): Promise<WorkerReport[]> {
    const workers = this.slots.filter((s) => s.ready && s.worker).map((s) => s.worker!);
    if (workers.length === 0) return Promise.resolve([]);
    const id = ++this.metricsId;
    return new Promise((resolve) => {
      const got = new Map<Worker, WorkerReport>();
      const done = () => {
        clearTimeout(timer);
        this.metricsWaiters.delete(id);
        resolve([...got.values()]);
      };
      const timer = setTimeout(done, METRICS_TIMEOUT_MS);
      this.metricsWaiters.set(id, (s, w, m) => {
        got.set(w, { slot: s.slot, pid: w.process.pid ?? 0, json: m.json, answers: m.answers });
        if (got.size === workers.length) done();
      });
      for (const w of workers) this.send(w, { type: 'metrics', id });
    });
  }

  /** Each worker closes its sockets and finishes its TCP answers, then exits; one that hangs is killed. */
  async close(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pending);
    const exits: Promise<void>[] = [];
    for (const s of this.slots) {
      clearTimeout(s.restart);
      const w = s.worker;
      if (!w) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => w.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          this.send(w, { type: 'stop' });
        }),
      );
    }
    await Promise.all(exits);
  }
}

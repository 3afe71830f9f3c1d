/**
 * Active checks run by this node (one prober, named by the node id). Checks only report ok/fail with the
 * reason; the rise/fall machine and the quorum decide elsewhere. Each target runs on its own interval from a
 * random offset, so thousands of checks spread over the interval instead of firing together; a semaphore
 * bounds how many run at once; every check has a hard timeout; results go to the store in small batches.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { RegionIndex } from '../model/indexes.js';
import type { ProbeUpdate } from './probe-state.js';
import { allEndpoints } from './endpoints.js';
import type { HealthCheck } from '../model/types.js';

export interface CheckResult {
  ok: boolean;
  rttMs: number;
  error?: string;
}

interface Target {
  key: string;
  region: string;
  address: string;
  family: 4 | 6 | 0;
  check: HealthCheck;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

export interface CheckerOptions {
  /** At most this many checks in flight. */
  concurrency: number;
  /** Results are written in batches at this pace. */
  flushMs: number;
  /** Injected for tests: where the first check of a target falls within its interval (0..1). */
  random: () => number;
}

const DEFAULTS: CheckerOptions = { concurrency: 256, flushMs: 100, random: Math.random };
const BODY_LIMIT = 64 * 1024;

export class ActiveChecker {
  private readonly targets = new Map<string, Target>();
  private readonly opts: CheckerOptions;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private batch: ProbeUpdate[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 4, scheduling: "lifo" });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 4, scheduling: "lifo", rejectUnauthorized: false });
  /** Counters for metrics and the bench. */
  readonly stats = { checks: 0, failures: 0 };

  constructor(
    private readonly prober: string,
    private readonly report: (updates: ProbeUpdate[]) => Promise<void>,
    private readonly log: Logger,
    opts: Partial<CheckerOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  get size(): number {
    return this.targets.size;
  }

  /** Check every endpoint of every region that has a `check`; keep running targets whose check is unchanged. */
  setTargets(regions: Map<string, RegionIndex>): void {
    const wanted = new Map<string, Omit<Target, 'timer' | 'running'>>();
    for (const [name, r] of regions) {
      const check = r.region.check;
      if (!check) continue;
      for (const ep of allEndpoints(r)) {
        const key = `${name}|${ep.address}|${JSON.stringify(check)}`;
        wanted.set(key, { key, region: name, address: ep.address, family: ep.family, check });
      }
    }
    for (const [key, t] of this.targets) {
      if (!wanted.has(key)) {
        clearTimeout(t.timer);
        this.targets.delete(key);
      }
    }
    for (const [key, w] of wanted) {
      if (this.targets.has(key)) continue;
      const t: Target = { ...w, timer: undefined, running: false };
      this.targets.set(key, t);
      this.schedule(t, this.opts.random() * w.check.intervalMs);
    }
  }

  private schedule(t: Target, delay: number): void {
    if (this.stopped) return;
    t.timer = setTimeout(() => void this.run(t), delay);
    t.timer.unref();
  }

  private async run(t: Target): Promise<void> {
    if (this.stopped || this.targets.get(t.key) !== t) return;
    const started = Date.now();
    // A check that is still running when its next turn comes is not started twice.
    if (!t.running) {
      t.running = true;
      await this.acquire();
      try {
        const result = await runCheck(t.address, t.family, t.check, { http: this.httpAgent, https: this.httpsAgent });
        this.stats.checks++;
        if (!result.ok) this.stats.failures++;
        if (this.targets.get(t.key) === t) {
          this.batch.push({
            region: t.region,
            endpoint: t.address,
            prober: this.prober,
            ok: result.ok,
            rttMs: Math.round(result.rttMs * 10) / 10,
            ...(result.error !== undefined ? { error: result.error } : {}),
            rise: t.check.rise,
            fall: t.check.fall,
          });
          this.flushSoon();
        }
      } finally {
        this.release();
        t.running = false;
      }
    }
    if (this.targets.get(t.key) === t) this.schedule(t, Math.max(0, t.check.intervalMs - (Date.now() - started)));
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.opts.concurrency) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  private flushSoon(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const batch = this.batch;
      this.batch = [];
      this.report(batch).catch((err: unknown) => this.log.warn({ err }, 'recording check results failed'));
    }, this.opts.flushMs);
    this.flushTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.targets.values()) clearTimeout(t.timer);
    this.targets.clear();
    clearTimeout(this.flushTimer);
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** One check. Never throws: every failure is a result with the reason. */
export function runCheck(address: string, family: 4 | 6 | 0, check: HealthCheck, agents?: { http: HttpAgent; https: HttpsAgent }): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ok, rttMs: elapsed(), ...(error !== undefined ? { error } : {}) });
    };
    const timer = setTimeout(() => {
      finish(false, `timeout after ${check.timeoutMs} ms`);
      cleanup();
    }, check.timeoutMs);
    let cleanup: () => void = () => undefined;

    if (check.type === 'tcp') {
      const sock = connect({ host: address, port: check.port });
      cleanup = () => sock.destroy();
      sock.once('connect', () => {
        finish(true);
        sock.destroy();
      });
      sock.once('error', (err: NodeJS.ErrnoException) => finish(false, `tcp ${check.port}: ${err.code ?? err.message}`));
      return;
    }

    const hostHeader = (check.host ?? (family === 6 ? `[${address}]` : address)) + (isDefaultPort(check) ? '' : `:${check.port}`);
    const options = {
      host: address,
      port: check.port,
      path: check.path,
      method: 'GET',
      headers: { host: hostHeader, 'user-agent': 'gslb-health-check', accept: '*/*' },
      ...(agents ? { agent: check.type === 'https' ? agents.https : agents.http } : {}),
    };
    const onResponse = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const statusOk = check.expectStatus.length > 0 ? check.expectStatus.includes(status) : status >= 200 && status < 400;
      if (!statusOk) {
        res.resume();
        return finish(false, `HTTP ${status}`);
      }
      if (check.expectBody === undefined) {
        res.resume();
        return finish(true);
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < BODY_LIMIT) body += chunk;
        if (body.includes(check.expectBody!)) {
          finish(true);
          res.destroy();
        }
      });
      res.on('end', () => finish(body.includes(check.expectBody!), `body does not contain "${check.expectBody}"`));
      res.on('error', (err) => finish(false, err.message));
    };
    const req =
      check.type === 'https'
        ? httpsRequest({ ...options, rejectUnauthorized: false, ...(check.host ? { servername: check.host } : {}) }, onResponse)
        : httpRequest(options, onResponse);
    cleanup = () => req.destroy();
    req.on('error', (err: NodeJS.ErrnoException) => finish(false, `${check.type} ${check.port}: ${err.code ?? err.message}`));
    req.end();
  });
}

function isDefaultPort(check: HealthCheck): boolean {
  return (check.type === 'http' && check.port === 80) || (check.type === 'https' && check.port === 443);
}

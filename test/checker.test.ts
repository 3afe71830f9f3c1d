/**
 * Active checks against real backends. Every connection in this file goes to a loopback address (127.0.0.0/8
 * or ::1) on a port this file opened itself (or opened and closed again, for "refused"): the servers below
 * listen on port 0 and the checks are pointed at whatever port they got. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, beforeEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { ActiveChecker, runCheck } from '../src/health/checker.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import type { RegionIndex } from '../src/model/indexes.js';
import type { ProbeUpdate } from '../src/health/probe-state.js';
import { loadZoneSources } from '../src/model/loader.js';
import type { HealthCheck } from '../src/model/types.js';

const silent = pino({ level: 'silent' });

/**
 * Marks this run's check requests. Other test processes on this machine may use the same loopback addresses
 * and, after their servers close, keep checking ports the kernel then hands to ours: backends here answer
 * only requests that carry this token and do not count the rest.
 */
const RUN = `run=${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
const own = (path: string) => `${path}${path.includes('?') ? '&' : '?'}${RUN}`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Poll until `cond` holds; fail with `what` after `timeoutMs`. */
async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(10);
  }
}

function isLoopback(host: string): boolean {
  return host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// ---------------------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------------------

interface SeenRequest {
  at: number;
  /** Without the query. */
  path: string;
  url: string;
  host: string | undefined;
  userAgent: string | undefined;
  servername?: string | false | null;
}

/** Shared across several backends: how many requests are being answered right now, and the most ever. */
class InFlight {
  now = 0;
  max = 0;
  enter(): void {
    this.now++;
    this.max = Math.max(this.max, this.now);
  }
  leave(): void {
    this.now--;
  }
}

/** An HTTP(S) backend whose behaviour the test changes as it goes. */
class Backend {
  status = 200;
  body = 'ok';
  /** Answer after this long. */
  delayMs = 0;
  /** Accept and read the request, never answer. */
  hang = false;
  readonly requests: SeenRequest[] = [];
  readonly server: Server;
  private readonly held = new Set<ServerResponse>();
  port = 0;

  constructor(
    readonly host: string,
    readonly inFlight = new InFlight(),
    tls?: { key: Buffer; cert: Buffer },
  ) {
    assert.ok(isLoopback(host), `backends bind loopback only, not ${host}`);
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    if (!url.includes(RUN)) {
      res.writeHead(404).end();
      return;
    }
    const servername = (req.socket as Partial<TLSSocket>).servername;
    this.requests.push({
      at: Date.now(),
      path: url.slice(0, url.indexOf('?')),
      url,
      host: req.headers.host,
      userAgent: req.headers['user-agent'],
      ...(servername !== undefined ? { servername } : {}),
    });
    if (this.hang) {
      this.held.add(res);
      return;
    }
    this.inFlight.enter();
    const status = this.status;
    const body = this.body;
    const reply = () => {
      this.inFlight.leave();
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 204 ? undefined : body);
    };
    if (this.delayMs > 0) setTimeout(reply, this.delayMs);
    else reply();
  }

  count(path?: string): number {
    return path === undefined ? this.requests.length : this.requests.filter((r) => r.path === path).length;
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, this.host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        assert.ok(addr && typeof addr === 'object');
        this.port = addr.port;
        resolve(addr.port);
      });
    });
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.held.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Backends on several loopback addresses sharing one port (a check's port is per region). The first gets an
 * ephemeral port; the others bind that same port on their own address; a rare clash starts over.
 */
async function backendsOnOnePort(hosts: string[], inFlight = new InFlight()): Promise<{ port: number; backends: Backend[] }> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const backends = hosts.map((h) => new Backend(h, inFlight));
    try {
      const port = await backends[0]!.listen(0);
      for (const b of backends.slice(1)) await b.listen(port);
      return { port, backends };
    } catch (err) {
      await Promise.all(backends.map((b) => (b.server.listening ? b.close() : Promise.resolve())));
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error(`no common free port on ${hosts.join(', ')}`);
}

/** A port that was open a moment ago on `host` and is closed now: connecting to it is refused. */
async function closedPort(host: string): Promise<number> {
  const b = new Backend(host);
  const port = await b.listen(0);
  await b.close();
  return port;
}

async function tcpListen(host: string): Promise<{ server: TcpServer; port: number; accepted: () => number; close: () => Promise<void> }> {
  assert.ok(isLoopback(host));
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      assert.ok(addr && typeof addr === 'object');
      resolve(addr.port);
    });
  });
  return {
    server,
    port,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function check(o: Partial<HealthCheck> & { port: number }): HealthCheck {
  return { type: 'http', path: own('/health'), expectStatus: [], intervalMs: 1000, timeoutMs: 1000, rise: 1, fall: 1, ...o };
}

/** Is ::1 usable here? (Some containers have no IPv6 on lo.) */
async function ipv6Available(): Promise<boolean> {
  const b = new Backend('::1');
  try {
    await b.listen(0);
    await b.close();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// runCheck
// ---------------------------------------------------------------------------------------------------------

describe('runCheck against loopback backends', () => {
  const v4 = new Backend('127.0.0.1');
  let v6: Backend | undefined;

  before(async () => {
    await v4.listen();
    if (await ipv6Available()) {
      v6 = new Backend('::1');
      await v6.listen();
    }
  });
  after(async () => {
    await v4.close();
    await v6?.close();
  });
  const reset = (b: Backend) => {
    b.status = 200;
    b.body = 'ok';
    b.delayMs = 0;
    b.hang = false;
  };

  test('HTTP 200: ok, with rttMs; the path and a user agent are sent', async () => {
    reset(v4);
    const before = v4.count();
    const r = await runCheck('127.0.0.1', 4, check({ port: v4.port, path: own('/healthz?deep=1') }));
    assert.equal(r.ok, true, r.error);
    assert.equal(r.error, undefined);
    assert.equal(typeof r.rttMs, 'number');
    assert.ok(Number.isFinite(r.rttMs) && r.rttMs >= 0 && r.rttMs < 5000, `rttMs ${r.rttMs}`);
    assert.equal(v4.count(), before + 1);
    const seen = v4.requests.at(-1)!;
    assert.equal(seen.url, own('/healthz?deep=1'));
    assert.equal(seen.userAgent, 'gslb-health-check');
  });

  test('HTTP 500: not ok, error "HTTP 500"', async () => {
    reset(v4);
    v4.status = 500;
    const r = await runCheck('127.0.0.1', 4, check({ port: v4.port }));
    assert.equal(r.ok, false);
    assert.equal(r.error, 'HTTP 500');
    assert.ok(r.rttMs >= 0);
  });

  test('without expectStatus: 2xx and 3xx are ok, 4xx is not', async () => {
    reset(v4);
    for (const [status, ok] of [
      [200, true],
      [204, true],
      [301, true],
      [399, true],
      [404, false],
      [503, false],
    ] as const) {
      v4.status = status;
      const r = await runCheck('127.0.0.1', 4, check({ port: v4.port }));
      assert.equal(r.ok, ok, `status ${status}`);
      if (!ok) assert.equal(r.error, `HTTP ${status}`);
    }
  });

  test('expectStatus [204]: 204 ok, 200 not', async () => {
    reset(v4);
    v4.status = 204;
    const r1 = await runCheck('127.0.0.1', 4, check({ port: v4.port, expectStatus: [204] }));
    assert.equal(r1.ok, true, r1.error);
    v4.status = 200;
    const r2 = await runCheck('127.0.0.1', 4, check({ port: v4.port, expectStatus: [204] }));
    assert.equal(r2.ok, false);
    assert.equal(r2.error, 'HTTP 200');
    // A list: any of them.
    v4.status = 503;
    const r3 = await runCheck('127.0.0.1', 4, check({ port: v4.port, expectStatus: [200, 503] }));
    assert.equal(r3.ok, true, r3.error);
  });

  test('expectBody: substring present is ok, absent is not (with the reason)', async () => {
    reset(v4);
    v4.body = 'status: READY; version 3';
    const r1 = await runCheck('127.0.0.1', 4, check({ port: v4.port, expectBody: 'READY' }));
    assert.equal(r1.ok, true, r1.error);
    assert.equal(r1.error, undefined);
    v4.body = 'status: STARTING';
    const r2 = await runCheck('127.0.0.1', 4, check({ port: v4.port, expectBody: 'READY' }));
    assert.equal(r2.ok, false);
    assert.equal(r2.error, 'body does not contain "READY"');
    // The body is only read when the status is acceptable.
    v4.status = 500;
    v4.body = 'READY';
    const r3 = await runCheck('127.0.0.1', 4, check({ port: v4.port, expectBody: 'READY' }));
    assert.equal(r3.ok, false);
    assert.equal(r3.error, 'HTTP 500');
  });

  test('expectBody found deep in a large body', async () => {
    reset(v4);
    v4.body = 'x'.repeat(40_000) + 'MARKER' + 'y'.repeat(1000);
    const r = await runCheck('127.0.0.1', 4, check({ port: v4.port, expectBody: 'MARKER' }));
    assert.equal(r.ok, true, r.error);
  });

  test('a server that never answers: "timeout after N ms", resolved at about the timeout', async () => {
    reset(v4);
    v4.hang = true;
    const started = Date.now();
    const r = await runCheck('127.0.0.1', 4, check({ port: v4.port, timeoutMs: 150 }));
    const took = Date.now() - started;
    assert.equal(r.ok, false);
    assert.equal(r.error, 'timeout after 150 ms');
    // Loose bound only: it did resolve, not long after the timeout.
    assert.ok(took >= 100 && took < 5000, `took ${took} ms`);
    reset(v4);
  });

  test('a slow answer beyond the timeout is a timeout, not a success', async () => {
    reset(v4);
    v4.delayMs = 400;
    const r = await runCheck('127.0.0.1', 4, check({ port: v4.port, timeoutMs: 100 }));
    assert.equal(r.ok, false);
    assert.equal(r.error, 'timeout after 100 ms');
    await sleep(450);
    reset(v4);
  });

  test('connection refused (a port just closed): not ok with ECONNREFUSED', async () => {
    const port = await closedPort('127.0.0.1');
    const r = await runCheck('127.0.0.1', 4, check({ port }));
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /ECONNREFUSED/);
    assert.equal(r.error, `http ${port}: ECONNREFUSED`);
  });

  test('Host header: check.host when set (with the port when not the default), else the address', async () => {
    reset(v4);
    await runCheck('127.0.0.1', 4, check({ port: v4.port, host: 'app.example.test' }));
    assert.equal(v4.requests.at(-1)!.host, `app.example.test:${v4.port}`);
    await runCheck('127.0.0.1', 4, check({ port: v4.port }));
    assert.equal(v4.requests.at(-1)!.host, `127.0.0.1:${v4.port}`);
  });

  test('IPv6 (::1): ok, Host header in brackets, refused', async (t) => {
    if (!v6) return t.skip('::1 is not available in this environment');
    reset(v6);
    const r = await runCheck('::1', 6, check({ port: v6.port }));
    assert.equal(r.ok, true, r.error);
    assert.equal(v6.requests.at(-1)!.host, `[::1]:${v6.port}`);
    v6.status = 502;
    const r2 = await runCheck('::1', 6, check({ port: v6.port }));
    assert.equal(r2.error, 'HTTP 502');
    const port = await closedPort('::1');
    const r3 = await runCheck('::1', 6, check({ port }));
    assert.match(r3.error ?? '', /ECONNREFUSED/);
  });

  test('TCP: ok when the port accepts, ECONNREFUSED when closed (IPv4 and IPv6)', async () => {
    const hosts: [string, 4 | 6][] = [['127.0.0.1', 4]];
    if (v6) hosts.push(['::1', 6]);
    for (const [host, family] of hosts) {
      const srv = await tcpListen(host);
      try {
        const r = await runCheck(host, family, check({ type: 'tcp', port: srv.port, path: '/' }));
        assert.equal(r.ok, true, `${host}: ${r.error}`);
        assert.ok(r.rttMs >= 0);
        await waitFor(() => srv.accepted() === 1, 2000, 'the TCP server saw the connection');
      } finally {
        await srv.close();
      }
      const port = await closedPort(host);
      const r = await runCheck(host, family, check({ type: 'tcp', port, path: '/' }));
      assert.equal(r.ok, false);
      assert.equal(r.error, `tcp ${port}: ECONNREFUSED`);
    }
  });

  test('HTTPS against a self-signed certificate: ok, status checked, SNI from check.host', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gslb-checker-tls-'));
    try {
      const key = join(dir, 'k');
      const cert = join(dir, 'c');
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], {
          stdio: 'ignore',
          timeout: 30_000,
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          t.diagnostic('openssl is missing: HTTPS check case skipped');
          return t.skip('openssl is missing: cannot generate a self-signed certificate');
        }
        throw err;
      }
      const tls = new Backend('127.0.0.1', new InFlight(), { key: readFileSync(key), cert: readFileSync(cert) });
      await tls.listen();
      try {
        const r = await runCheck('127.0.0.1', 4, check({ type: 'https', port: tls.port }));
        assert.equal(r.ok, true, r.error);
        assert.equal(tls.requests.at(-1)!.host, `127.0.0.1:${tls.port}`);
        tls.status = 500;
        const r2 = await runCheck('127.0.0.1', 4, check({ type: 'https', port: tls.port }));
        assert.equal(r2.ok, false);
        assert.equal(r2.error, 'HTTP 500');
        tls.status = 200;
        tls.body = 'healthy';
        const r3 = await runCheck('127.0.0.1', 4, check({ type: 'https', port: tls.port, host: 'app.example.test', expectBody: 'healthy' }));
        assert.equal(r3.ok, true, r3.error);
        assert.equal(tls.requests.at(-1)!.host, `app.example.test:${tls.port}`);
        assert.equal(tls.requests.at(-1)!.servername, 'app.example.test');
        // Plain HTTP to the TLS port fails (not a hang: the server answers 400 or drops the connection).
        const r4 = await runCheck('127.0.0.1', 4, check({ type: 'http', port: tls.port, timeoutMs: 2000 }));
        assert.equal(r4.ok, false);
      } finally {
        await tls.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// ActiveChecker
// ---------------------------------------------------------------------------------------------------------

interface RegionSpec {
  name: string;
  endpoints: string[];
}
interface CheckSpec {
  port: number;
  path?: string;
  interval?: string;
  timeout?: string;
  rise?: number;
  fall?: number;
}

/** Regions (all loopback endpoints) with one check each, indexed the way the server hands them to the checker. */
function regionsFor(regions: RegionSpec[], c: CheckSpec): Map<string, RegionIndex> {
  const decl: Record<string, unknown> = {};
  for (const r of regions) {
    for (const e of r.endpoints) assert.ok(isLoopback(e), `check targets are loopback only, not ${e}`);
    decl[r.name] = {
      location: { lat: 10, lon: 10 },
      endpoints: r.endpoints.map((address) => ({ address })),
      check: { type: 'http', port: c.port, path: own(c.path ?? '/health'), interval: c.interval ?? '200ms', timeout: c.timeout ?? '100ms', rise: c.rise ?? 1, fall: c.fall ?? 2 },
    };
  }
  const text = JSON.stringify({
    zone: 'gslb.test',
    soa: { mname: 'ns1.other.test.', rname: 'hostmaster.gslb.test.', serial: 1 },
    ns: ['ns1.other.test.'],
    regions: decl,
    services: { app: { policy: 'failover', regions: regions.map((r) => r.name) } },
  });
  const loaded = loadZoneSources([{ file: 'checker.yaml', text }]);
  assert.deepEqual(loaded.errors, []);
  return buildSnapshot(loaded.zoneSet!, { version: 1, nodeId: 'n' }).regions;
}

interface Reported extends ProbeUpdate {
  reportedAt: number;
}

function collector() {
  const reports: Reported[] = [];
  const report = async (updates: ProbeUpdate[]) => {
    const now = Date.now();
    for (const u of updates) reports.push({ ...u, reportedAt: now });
  };
  return { reports, report };
}

describe('ActiveChecker with backends on 127.0.0.2 and 127.0.0.3', () => {
  let port = 0;
  let b2: Backend;
  let b3: Backend;
  const checkers: ActiveChecker[] = [];
  const newChecker = (report: (u: ProbeUpdate[]) => Promise<void>, opts: ConstructorParameters<typeof ActiveChecker>[3] = {}) => {
    const c = new ActiveChecker('node-test', report, silent, { flushMs: 20, ...opts });
    checkers.push(c);
    return c;
  };

  before(async () => {
    const { port: p, backends } = await backendsOnOnePort(['127.0.0.2', '127.0.0.3']);
    port = p;
    [b2, b3] = backends as [Backend, Backend];
  });
  // A test that failed half-way must not leave its checker running into the next one.
  beforeEach(() => {
    for (const c of checkers) c.stop();
  });
  after(async () => {
    for (const c of checkers) c.stop();
    await b2.close();
    await b3.close();
  });
  const resetBackends = () => {
    for (const b of [b2, b3]) {
      b.status = 200;
      b.body = 'ok';
      b.delayMs = 0;
      b.hang = false;
    }
  };
  const twoRegions = (c: Partial<CheckSpec> = {}) =>
    regionsFor(
      [
        { name: 'r2', endpoints: ['127.0.0.2'] },
        { name: 'r3', endpoints: ['127.0.0.3'] },
      ],
      { port, ...c },
    );

  test('every endpoint is checked; results carry prober, rise/fall, ok/rttMs; a 500 yields failing results', async () => {
    resetBackends();
    const { reports, report } = collector();
    const checker = newChecker(report);
    checker.setTargets(twoRegions({ path: '/t1' }));
    assert.equal(checker.size, 2);
    const okFor = (ep: string, from = 0) => reports.slice(from).some((r) => r.endpoint === ep && r.ok);
    await waitFor(() => okFor('127.0.0.2') && okFor('127.0.0.3'), 3000, 'an ok result from both endpoints');
    for (const r of reports) {
      assert.equal(r.prober, 'node-test');
      assert.equal(r.rise, 1);
      assert.equal(r.fall, 2);
      assert.equal(typeof r.rttMs, 'number');
      assert.equal(r.region, r.endpoint === '127.0.0.2' ? 'r2' : 'r3');
      // Healthy backends: ok. The only failure tolerated is the 100 ms timeout, when a loaded machine delays
      // this very process (which is also the backend) for that long.
      if (r.ok) assert.equal(r.error, undefined);
      else assert.equal(r.error, 'timeout after 100 ms');
    }
    assert.ok(b2.count('/t1') >= 1 && b3.count('/t1') >= 1);
    assert.equal(b2.requests.at(-1)!.host, `127.0.0.2:${port}`);

    // 127.0.0.2 starts failing: failing results for it, 127.0.0.3 still ok.
    b2.status = 500;
    const mark = reports.length;
    await waitFor(() => reports.slice(mark).some((r) => r.endpoint === '127.0.0.2' && r.error === 'HTTP 500'), 3000, 'an HTTP 500 result for 127.0.0.2');
    const failing = reports.slice(mark).find((r) => r.endpoint === '127.0.0.2' && r.error === 'HTTP 500')!;
    assert.equal(failing.ok, false);
    assert.equal(failing.region, 'r2');
    assert.equal(failing.prober, 'node-test');
    await waitFor(() => okFor('127.0.0.3', mark), 3000, 'an ok result for 127.0.0.3');
    assert.ok(reports.slice(mark).every((r) => r.endpoint === '127.0.0.2' || r.ok || r.error === 'timeout after 100 ms'), '127.0.0.3 unaffected');

    // A hanging backend: timeouts (timeout 100 ms).
    b2.status = 200;
    b2.hang = true;
    const mark2 = reports.length;
    await waitFor(() => reports.slice(mark2).some((r) => r.endpoint === '127.0.0.2' && r.error === 'timeout after 100 ms'), 3000, 'a timeout for 127.0.0.2');
    b2.hang = false;
    const mark3 = reports.length;
    await waitFor(() => okFor('127.0.0.2', mark3), 3000, '127.0.0.2 ok again');
    assert.ok(checker.stats.checks >= 4);
    assert.ok(checker.stats.failures >= 2);
    checker.stop();
  });

  test('setTargets: a removed region stops being checked; a changed check restarts with the new settings', async () => {
    resetBackends();
    const { reports, report } = collector();
    // Every new (or restarted) target draws its first-check offset once: the draws count (re)starts.
    let draws = 0;
    const checker = newChecker(report, {
      random: () => {
        draws++;
        return Math.random();
      },
    });
    checker.setTargets(twoRegions());
    assert.equal(draws, 2);
    await waitFor(() => b2.count('/health') >= 2 && b3.count('/health') >= 2, 3000, 'both checked twice');

    // r3 removed.
    checker.setTargets(regionsFor([{ name: 'r2', endpoints: ['127.0.0.2'] }], { port }));
    assert.equal(checker.size, 1);
    assert.equal(draws, 2, 'r2 unchanged: kept running, not restarted');
    await sleep(100); // an in-flight request may still arrive and its report be dropped
    const b3Count = b3.count('/health');
    const cut = Date.now() + 30; // a batch already queued is flushed within flushMs
    await sleep(600); // 3 intervals
    assert.equal(b3.count('/health'), b3Count, 'no more requests to the removed region');
    assert.equal(reports.filter((r) => r.region === 'r3' && r.reportedAt > cut).length, 0, 'no more reports for it');
    assert.ok(reports.some((r) => r.region === 'r2' && r.reportedAt > cut), 'r2 still checked');

    // r2's check changes (path and fall): checks move to the new path, reports carry the new fall.
    checker.setTargets(regionsFor([{ name: 'r2', endpoints: ['127.0.0.2'] }], { port, path: '/ready', fall: 3 }));
    assert.equal(checker.size, 1);
    assert.equal(draws, 3, 'the changed check restarted');
    await waitFor(() => b2.count('/ready') >= 2, 3000, 'checks on the new path');
    await sleep(100);
    const oldPath = b2.count('/health');
    const mark = reports.length;
    await sleep(500);
    assert.equal(b2.count('/health'), oldPath, 'the old check no longer runs');
    const fresh = reports.slice(mark).filter((r) => r.region === 'r2');
    assert.ok(fresh.length >= 1);
    assert.ok(fresh.every((r) => r.fall === 3));

    // The same configuration again (a rebuilt snapshot): nothing restarts.
    checker.setTargets(regionsFor([{ name: 'r2', endpoints: ['127.0.0.2'] }], { port, path: '/ready', fall: 3 }));
    checker.setTargets(regionsFor([{ name: 'r2', endpoints: ['127.0.0.2'] }], { port, path: '/ready', fall: 3 }));
    assert.equal(draws, 3);
    assert.equal(checker.size, 1);
    checker.stop();
  });

  test('first checks spread over the interval from the injected random offsets', async () => {
    resetBackends();
    const { report } = collector();
    // One value per target, in target order: r2 (127.0.0.2) at 70% of the interval, r3 (127.0.0.3) at 5%.
    const offsets = [0.7, 0.05];
    let calls = 0;
    const checker = newChecker(report, { random: () => offsets[calls++] ?? 0 });
    const started = Date.now();
    checker.setTargets(twoRegions({ path: '/spread', interval: '1s', timeout: '500ms' }));
    assert.equal(calls, 2, 'one random draw per new target');
    await waitFor(() => b2.count('/spread') > 0 && b3.count('/spread') > 0, 3000, 'both first checks');
    checker.stop();
    const firstAt = (b: Backend) => b.requests.find((r) => r.path === '/spread')!.at - started;
    const first2 = firstAt(b2);
    const first3 = firstAt(b3);
    assert.ok(first3 < first2, `127.0.0.3 (5%) first: ${first3} ms vs ${first2} ms`);
    assert.ok(first2 - first3 >= 400, `spread ~650 ms apart, got ${first2 - first3} ms`);
    assert.ok(first2 >= 500, `127.0.0.2 not before ~700 ms: ${first2} ms`);
  });

  test('stop(): no further checks and no further reports', async () => {
    resetBackends();
    const { reports, report } = collector();
    const checker = newChecker(report);
    checker.setTargets(twoRegions({ path: '/stop' }));
    await waitFor(() => reports.length >= 4, 3000, 'a few reports');
    checker.stop();
    assert.equal(checker.size, 0);
    await sleep(100); // a request already on the wire may still land
    const counts = [b2.count('/stop'), b3.count('/stop')];
    const reported = reports.length;
    await sleep(600); // 3 intervals
    assert.deepEqual([b2.count('/stop'), b3.count('/stop')], counts, 'no requests after stop');
    assert.equal(reports.length, reported, 'no reports after stop');
    // setTargets after stop schedules nothing.
    checker.setTargets(twoRegions({ path: '/stop' }));
    await sleep(300);
    assert.deepEqual([b2.count('/stop'), b3.count('/stop')], counts);
  });
});

describe('ActiveChecker concurrency bound', () => {
  const hosts = ['127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];
  let backends: Backend[] = [];
  let port = 0;
  const inFlight = new InFlight();
  let checker: ActiveChecker | undefined;

  before(async () => {
    ({ port, backends } = await backendsOnOnePort(hosts, inFlight));
  });
  after(async () => {
    checker?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  test('concurrency 2 with 6 slow targets: never more than 2 requests in flight at the backends', async () => {
    for (const b of backends) b.delayMs = 150;
    const { reports, report } = collector();
    // All six due at once (random 0): the semaphore has to hold four back.
    checker = new ActiveChecker('node-test', report, silent, { concurrency: 2, flushMs: 20, random: () => 0 });
    checker.setTargets(regionsFor([{ name: 'slow', endpoints: hosts }], { port, interval: '2s', timeout: '1s' }));
    assert.equal(checker.size, 6);
    await waitFor(() => new Set(reports.map((r) => r.endpoint)).size === 6, 5000, 'all six endpoints reported');
    checker.stop();
    assert.ok(reports.every((r) => r.ok), JSON.stringify(reports.filter((r) => !r.ok)));
    assert.equal(inFlight.max, 2, `at most (and, with six due at once, exactly) 2 in flight; saw ${inFlight.max}`);
    for (const b of backends) assert.equal(b.count(), 1, `${b.host} checked once`);
    // Serialised in waves of two: the last first-check started at least two delays after the first.
    const starts = backends.map((b) => b.requests[0]!.at).sort((x, y) => x - y);
    assert.ok(starts.at(-1)! - starts[0]! >= 250, `waves: ${starts.map((s) => s - starts[0]!).join(', ')}`);
  });
});

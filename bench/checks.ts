/**
 * `npm run bench:checks`: the active checker at its scale target — 10 000 endpoints checked every 10 s from one
 * node — and whether DNS notices.
 *
 *   1. build (skipped when npm already ran tsc for the "bench:checks" script)
 *   2. start 100 tiny HTTP backends in a separate child process (so their CPU is not the node's), bound to
 *      127.0.1.1 … 127.0.1.100 on one free port P; each answers GET /health with 200 and counts it
 *   3. write two zone dirs: 100 regions × 100 endpoints (region r holds 127.0.1.1 … 127.0.1.100, so every
 *      address is in every region: 10 000 targets, 100 per backend), every region with
 *      `check: { type: http, port: P, path: /health, interval: 10s, timeout: 2s }` — and the same zone
 *      without the checks; both with one latency service over four regions
 *   4. baseline node (zone without checks): a 20/s latency probe for 5 s, then dnsperf for 5 s
 *   5. checked node (zone with checks): warm up one interval (10 s), then sample for 20 s its CPU
 *      (utime+stime from /proc/<pid>/stat, % of one core), RSS (VmRSS at start and end, VmHWM), the backends'
 *      request rate (≈ 1000/s expected) and DNS latency with the 20/s probe; the idle baseline node is
 *      sampled over the same window for reference
 *   6. dnsperf for 5 s against the checked node while its checks run (CPU and check rate measured too), then
 *      GET /v1/regions once and count endpoints verified up
 *   7. stop the checked node, dnsperf the baseline node again (baseline before and after brackets the noise of
 *      a shared machine)
 *   8. print a table, write .bench/checks.json
 *
 * Baseline choice: a second node with the same zone minus the checks, not the same node "before checks start",
 * because the checker starts with the node (targets spread over the first interval from a random offset), so
 * there is no check-free moment to measure. The baseline runs while the checked node is not running, so the two
 * never compete for the 2 cores.
 *
 * Every process it starts is killed by PID at the end, on error, on SIGINT/SIGTERM, and by a watchdog; the
 * backends also exit when their IPC channel to this process closes. Only loopback is used: DNS/API on
 * 127.0.0.1, backends on 127.0.1.1-100, and every endpoint of the zone is one of those backends.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUnlessNpmDid, freePort, HOST, killAll, ROOT, runBench, sleep, startWatchdog, stop, track, ZONE } from './lib.js';
import { dnsperfLoad, loadArgs, nameWire, parseDnsperf, runDnsperf, waitForDns, type DnsperfResult } from './lib.js';
import { fmt, rcodeText, table } from './lib.js';

const REGIONS = 100;
const BACKENDS = 100;
const INTERVAL_S = 10;
const TIMEOUT_S = 2;
const WARMUP_MS = INTERVAL_S * 1000;
const SAMPLE_MS = 20_000;
const DNSPERF_SECONDS = 5;
const BASELINE_PROBE_MS = 5_000;
const PROBE_EVERY_MS = 50;
/** The whole bench (build excluded) must be over well within 2.5 minutes. */
const WATCHDOG_MS = 140_000;
const STOP_GRACE_MS = 3000;
const SERVICE_REGIONS = 4;
const LOAD = dnsperfLoad(DNSPERF_SECONDS);

interface ProbeResult {
  sent: number;
  answered: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rcodes: Record<string, number>;
  /** Answers with at least one A record. */
  withAnswers: number;
}

interface Sample {
  cpuPercent: number;
  seconds: number;
}

/** The temp dir, removed on every way out (normal end, error, signal, watchdog). */
let workDir: string | undefined;

function removeWorkDir(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

// ---------------------------------------------------------------------------------------------- /proc

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** utime + stime of every thread of the process, in seconds. */
function cpuSeconds(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": index 0 is field 3 (state), so field n is at n - 3; utime = 14, stime = 15.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** VmRSS / VmHWM in MiB. */
function memory(pid: number): { rssMiB: number; hwmMiB: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssMiB: round(kb('VmRSS') / 1024, 1), hwmMiB: round(kb('VmHWM') / 1024, 1) };
}

/** Starts a CPU measurement of `pid`; the returned function ends it. */
function cpuMeter(pid: number): () => Sample {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    return { cpuPercent: round(((cpuSeconds(pid) - c0) / seconds) * 100, 1), seconds: round(seconds, 2) };
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// ---------------------------------------------------------------------------------------------- backends

/**
 * The backend process: one HTTP server per address on a shared port (the first bind picks it; on a clash on a
 * later address everything is closed and another port is tried). Counts GET /health, other requests and TCP
 * connections; answers `{type: 'count'}` over IPC; exits when the IPC channel closes.
 */
const BACKEND_SOURCE = `
const http = require('node:http');
const n = Number(process.argv[1]);
let health = 0, other = 0, connections = 0;
function handler(req, res) {
  if (req.method === 'GET' && req.url === '/health') {
    health++;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  } else {
    other++;
    res.writeHead(404, { 'content-length': '0' });
    res.end();
  }
}
function listen(host, port) {
  return new Promise((resolve, reject) => {
    const s = http.createServer(handler);
    s.keepAliveTimeout = 65000;
    s.on('connection', () => connections++);
    s.once('error', reject);
    s.listen(port, host, () => { s.removeListener('error', reject); resolve(s); });
  });
}
async function bindAll() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await listen('127.0.1.1', 0);
    const port = first.address().port;
    const servers = [first];
    try {
      for (let i = 2; i <= n; i++) servers.push(await listen('127.0.1.' + i, port));
      return port;
    } catch (e) {
      for (const s of servers) s.close();
      if (e.code !== 'EADDRINUSE') throw e;
    }
  }
  throw new Error('no port free on every backend address');
}
process.on('message', (m) => {
  if (m && m.type === 'count') process.send({ type: 'count', id: m.id, health, other, connections });
});
process.on('disconnect', () => process.exit(0));
bindAll().then((port) => process.send({ type: 'ready', port }), (e) => { console.error(String(e)); process.exit(1); });
`;

interface BackendCounts {
  health: number;
  other: number;
  connections: number;
}

interface Backends {
  child: ChildProcess;
  port: number;
  counts(): Promise<BackendCounts>;
}

async function startBackends(): Promise<Backends> {
  const child = track(spawn(process.execPath, ['-e', BACKEND_SOURCE, String(BACKENDS)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`backends not ready within 10 s\n${err}`)), 10_000);
    child.on('message', (m: { type?: string; port?: number }) => {
      if (m.type === 'ready' && typeof m.port === 'number') {
        clearTimeout(timer);
        res(m.port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`backends exited with ${code}\n${err}`));
    });
  });
  let nextId = 0;
  const counts = () =>
    new Promise<BackendCounts>((res, rej) => {
      const id = ++nextId;
      const timer = setTimeout(() => rej(new Error('backends did not report their counts')), 2000);
      const onMessage = (m: { type?: string; id?: number } & BackendCounts) => {
        if (m.type !== 'count' || m.id !== id) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        res({ health: m.health, other: m.other, connections: m.connections });
      };
      child.on('message', onMessage);
      child.send({ type: 'count', id });
    });
  return { child, port, counts };
}

// ---------------------------------------------------------------------------------------------- zone and queries

function zoneText(port: number, withChecks: boolean): string {
  const endpoints = Array.from({ length: BACKENDS }, (_, i) => `{ address: 127.0.1.${i + 1} }`).join(', ');
  const check = `    check: { type: http, port: ${port}, path: /health, interval: ${INTERVAL_S}s, timeout: ${TIMEOUT_S}s }\n`;
  const regions: string[] = [];
  for (let r = 0; r < REGIONS; r++) {
    // Spread over the globe so the latency policy has real distances to compare.
    const lat = -60 + (r % 10) * 12;
    const lon = -170 + Math.floor(r / 10) * 34;
    regions.push(`  ${regionName(r)}:\n    location: { lat: ${lat}, lon: ${lon} }\n    endpoints: [ ${endpoints} ]\n${withChecks ? check : ''}`);
  }
  return `zone: ${ZONE}
ttl: 300
soa: { mname: ns1.${ZONE}, rname: hostmaster.example.test, serial: 2026112801,
       refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
ns: [ns1.${ZONE}, ns2.${ZONE}]
records:
  ns1: { A: [192.0.2.53] }
  ns2: { A: [192.0.2.54] }
regions:
${regions.join('')}services:
  app:
    policy: latency
    regions: [${Array.from({ length: SERVICE_REGIONS }, (_, r) => regionName(r)).join(', ')}]
    ttl: 30
    answers: 2
`;
}

function regionName(r: number): string {
  return `r${String(r).padStart(3, '0')}`;
}

function serviceQueries(): string {
  return Array.from({ length: 1000 }, () => `app.${ZONE} A`).join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------- DNS

function query(id: number, name: string, qtype: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2);
  return Buffer.concat([header, nameWire(name), question]);
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const;

/** The query waitForDns polls with. */
const READY_QUERY = query(0x1234, `ns1.${ZONE}`, 1);

/** One service query every `everyMs` for `durationMs`; latency of each answer (1 s timeout = lost). */
async function latencyProbe(port: number, durationMs: number, everyMs: number): Promise<ProbeResult> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, HOST, () => r()));
  const pending = new Map<number, number>();
  const latencies: number[] = [];
  const rcodes: Record<string, number> = {};
  let withAnswers = 0;
  s.on('message', (m) => {
    if (m.length < 12) return;
    const id = m.readUInt16BE(0);
    const t0 = pending.get(id);
    if (t0 === undefined) return;
    pending.delete(id);
    latencies.push(performance.now() - t0);
    const rc = RCODES[m[3]! & 0x0f] ?? `RCODE${m[3]! & 0x0f}`;
    rcodes[rc] = (rcodes[rc] ?? 0) + 1;
    if (m.readUInt16BE(6) > 0) withAnswers++;
  });
  let sent = 0;
  const end = performance.now() + durationMs;
  for (let id = 1; performance.now() < end; id++) {
    const next = performance.now() + everyMs;
    pending.set(id & 0xffff, performance.now());
    s.send(query(id & 0xffff, `app.${ZONE}`, 1), port, HOST);
    sent++;
    await sleep(Math.max(0, next - performance.now()));
  }
  await sleep(1000);
  s.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!, 3) : NaN);
  return { sent, answered: latencies.length, lost: sent - latencies.length, p50Ms: pct(0.5), p99Ms: pct(0.99), maxMs: pct(1), rcodes, withAnswers };
}

function dnsperf(port: number, queryFile: string): Promise<DnsperfResult> {
  return runDnsperf(port, [...loadArgs(LOAD), '-d', queryFile], (DNSPERF_SECONDS + 10) * 1000, parseDnsperf);
}

// ---------------------------------------------------------------------------------------------- the node

interface GslbNode {
  child: ChildProcess;
  pid: number;
  dnsPort: number;
  apiPort: number;
  /** Log lines it printed (warn and above at --log-level warn), last 64 KiB. */
  output(): string;
  /** Wall-clock ms from spawn to the first DNS answer. */
  startupMs: number;
}

async function startNode(name: string, zones: string, data: string): Promise<GslbNode> {
  const dnsPort = await freePort();
  const apiPort = await freePort();
  const t0 = performance.now();
  const child = track(
    spawn(
      process.execPath,
      ['dist/cli.js', 'serve', '--zones', zones, '--dns', `${HOST}:${dnsPort}`, '--api', `${HOST}:${apiPort}`, '--data', data, '--node-id', name, '--log-level', 'warn'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  if (child.pid === undefined) throw new Error(`could not start the ${name} node`);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65536) out = out.slice(-65536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  try {
    await waitForDns(dnsPort, 30_000, child, READY_QUERY);
  } catch (e) {
    throw new Error(`${name} node: ${(e as Error).message}\n${out}`);
  }
  return { child, pid: child.pid, dnsPort, apiPort, output: () => out, startupMs: Math.round(performance.now() - t0) };
}

interface RegionsSummary {
  status: number;
  ms: number;
  bytes: number;
  regions: number;
  endpoints: number;
  /** Up and verified by at least one check result. */
  verifiedUp: number;
  down: number;
  unverified: number;
  regionsUp: number;
  sampleReasons: string[];
}

interface RegionsBody {
  regions: { health: { up: boolean }; endpoints: { up: boolean; unverified: boolean; reason: string }[] }[];
}

async function readRegions(apiPort: number): Promise<RegionsSummary> {
  const t0 = performance.now();
  const res = await fetch(`http://${HOST}:${apiPort}/v1/regions`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const elapsed = round(performance.now() - t0, 1);
  const body = JSON.parse(text) as RegionsBody;
  const eps = body.regions.flatMap((r) => r.endpoints);
  const reasons = new Set<string>();
  for (const e of eps) if (!e.up || e.unverified) reasons.add(e.reason);
  return {
    status: res.status,
    ms: elapsed,
    bytes: text.length,
    regions: body.regions.length,
    endpoints: eps.length,
    verifiedUp: eps.filter((e) => e.up && !e.unverified).length,
    down: eps.filter((e) => !e.up).length,
    unverified: eps.filter((e) => e.unverified).length,
    regionsUp: body.regions.filter((r) => r.health.up).length,
    sampleReasons: [...reasons].slice(0, 5),
  };
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = Date.now();
  const load = loadavg().map((l) => round(l, 2));
  const watchdog = startWatchdog('bench:checks', WATCHDOG_MS, removeWorkDir);
  buildUnlessNpmDid('bench:checks');
  const log = (s: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${s}\n`);
  log(`load average at start (1/5/15 min): ${load.join(' / ')} on ${cpus().length} cores`);

  const dir = mkdtempSync(join(tmpdir(), 'gslb-bench-checks-'));
  workDir = dir;
  try {
    const backends = await startBackends();
    log(`${BACKENDS} backends on 127.0.1.1-${BACKENDS}:${backends.port} (pid ${backends.child.pid})`);

    const checkedZones = join(dir, 'zones-checked');
    const plainZones = join(dir, 'zones-plain');
    mkdirSync(checkedZones);
    mkdirSync(plainZones);
    writeFileSync(join(checkedZones, 'bench.yaml'), zoneText(backends.port, true));
    writeFileSync(join(plainZones, 'bench.yaml'), zoneText(backends.port, false));
    const queries = join(dir, 'service.txt');
    writeFileSync(queries, serviceQueries());

    // ---- baseline node: same zone, no checks
    const plain = await startNode('bench-plain', plainZones, join(dir, 'data-plain'));
    log(`baseline node (no checks) pid ${plain.pid}, dns :${plain.dnsPort}, up in ${plain.startupMs} ms`);
    const baseProbe = await latencyProbe(plain.dnsPort, BASELINE_PROBE_MS, PROBE_EVERY_MS);
    log(`baseline latency probe: p50 ${fmt(baseProbe.p50Ms, 3)} ms, p99 ${fmt(baseProbe.p99Ms, 3)} ms, max ${fmt(baseProbe.maxMs, 3)} ms`);
    const baseBefore = await dnsperf(plain.dnsPort, queries);
    log(`baseline dnsperf (before): ${fmt(baseBefore.qps)} q/s`);

    // ---- checked node
    const checks0 = await backends.counts();
    const node = await startNode('bench-checks', checkedZones, join(dir, 'data-checked'));
    const warmMeter = cpuMeter(node.pid);
    const memAtReady = memory(node.pid);
    log(`checked node pid ${node.pid}, dns :${node.dnsPort}, api :${node.apiPort}, up in ${node.startupMs} ms, RSS ${memAtReady.rssMiB} MiB`);
    await sleep(WARMUP_MS);
    const warm = warmMeter();
    const checksAfterWarmup = await backends.counts();
    log(`warm-up: ${warm.seconds} s, CPU ${warm.cpuPercent} %, ${checksAfterWarmup.health - checks0.health} checks`);

    // ---- sample window: nothing but the checks (and a 20/s DNS probe) on the node
    const memStart = memory(node.pid);
    const c0 = await backends.counts();
    const meter = cpuMeter(node.pid);
    const plainMeter = cpuMeter(plain.pid);
    const backendMeter = cpuMeter(backends.child.pid!);
    const t0 = performance.now();
    const probe = await latencyProbe(node.dnsPort, SAMPLE_MS, PROBE_EVERY_MS);
    const c1 = await backends.counts();
    const windowS = (performance.now() - t0) / 1000;
    const sample = meter();
    const plainIdle = plainMeter();
    const backendCpu = backendMeter();
    const memEnd = memory(node.pid);
    const checksPerS = (c1.health - c0.health) / windowS;
    const connsPerS = (c1.connections - c0.connections) / windowS;
    log(`sample: ${sample.seconds} s, CPU ${sample.cpuPercent} % of one core, RSS ${memStart.rssMiB} -> ${memEnd.rssMiB} MiB, ${fmt(checksPerS)} checks/s`);
    log(`checked-node latency probe: p50 ${fmt(probe.p50Ms, 3)} ms, p99 ${fmt(probe.p99Ms, 3)} ms, max ${fmt(probe.maxMs, 3)} ms`);

    // ---- dnsperf while checks run
    const d0 = await backends.counts();
    const dnsMeter = cpuMeter(node.pid);
    const td = performance.now();
    const withChecks = await dnsperf(node.dnsPort, queries);
    const d1 = await backends.counts();
    const duringDns = dnsMeter();
    const checksPerSDuringDns = (d1.health - d0.health) / ((performance.now() - td) / 1000);
    if (node.child.exitCode !== null) throw new Error(`checked node exited during dnsperf\n${node.output()}`);
    log(`dnsperf with checks: ${fmt(withChecks.qps)} q/s; node CPU ${duringDns.cpuPercent} %, ${fmt(checksPerSDuringDns)} checks/s meanwhile`);

    const regions = await readRegions(node.apiPort);
    log(`GET /v1/regions: ${regions.status} in ${regions.ms} ms, ${regions.verifiedUp}/${regions.endpoints} endpoints verified up`);
    const metricsStatus = await fetch(`http://${HOST}:${node.apiPort}/metrics`, { signal: AbortSignal.timeout(5000) }).then(
      (r) => r.status,
      () => 0,
    );
    const memFinal = memory(node.pid);
    const nodeLog = node.output();
    await waitForDns(node.dnsPort, 2_000, node.child, READY_QUERY);
    await stop(node.child, STOP_GRACE_MS);

    // ---- baseline again, with the checked node gone
    const baseAfter = await dnsperf(plain.dnsPort, queries);
    log(`baseline dnsperf (after): ${fmt(baseAfter.qps)} q/s`);
    const plainMem = memory(plain.pid);
    const plainLog = plain.output();
    await waitForDns(plain.dnsPort, 2_000, plain.child, READY_QUERY);
    await stop(plain.child, STOP_GRACE_MS);
    const backendTotals = await backends.counts();
    await stop(backends.child, STOP_GRACE_MS);

    const baseQps = (baseBefore.qps + baseAfter.qps) / 2;
    const targets = REGIONS * BACKENDS;
    const rows: [string, string, string][] = [
      ['load average at start', load.join(' / '), `1/5/15 min, ${cpus().length} cores shared with other processes`],
      ['targets', String(targets), `${REGIONS} regions x ${BACKENDS} endpoints, interval ${INTERVAL_S} s, timeout ${TIMEOUT_S} s`],
      ['node startup', `${node.startupMs} ms`, 'spawn -> first DNS answer (baseline node: ' + plain.startupMs + ' ms)'],
      ['warm-up CPU', `${fmt(warm.cpuPercent, 1)} %`, `first ${warm.seconds} s after ready, % of one core`],
      ['node CPU (checks)', `${fmt(sample.cpuPercent, 1)} %`, `utime+stime over ${sample.seconds} s, % of one core`],
      ['idle baseline node CPU', `${fmt(plainIdle.cpuPercent, 1)} %`, 'same window, same zone without checks'],
      ['backend process CPU', `${fmt(backendCpu.cpuPercent, 1)} %`, 'not counted above'],
      ['node RSS', `${memStart.rssMiB} -> ${memEnd.rssMiB} MiB`, `window start -> end; at ready ${memAtReady.rssMiB}, after dnsperf ${memFinal.rssMiB}, peak (VmHWM) ${memFinal.hwmMiB}`],
      ['baseline node RSS', `${plainMem.rssMiB} MiB`, `peak ${plainMem.hwmMiB} MiB`],
      ['checks/s', fmt(checksPerS, 1), `GET /health at the backends, expected ${targets / INTERVAL_S}; other requests ${c1.other - c0.other}`],
      ['new TCP connections/s', fmt(connsPerS, 1), 'at the backends (keep-alive reuse when << checks/s)'],
      ['checks/s during dnsperf', fmt(checksPerSDuringDns, 1), `node CPU meanwhile ${fmt(duringDns.cpuPercent, 1)} %`],
      ['endpoints verified up', `${regions.verifiedUp} / ${regions.endpoints}`, `down ${regions.down}, unverified ${regions.unverified}, regions up ${regions.regionsUp}/${regions.regions}`],
      ['GET /v1/regions', `${regions.ms} ms`, `${(regions.bytes / 1e6).toFixed(1)} MB, status ${regions.status}`],
      ['DNS probe, checked node', `${fmt(probe.p50Ms, 3)} / ${fmt(probe.p99Ms, 3)} / ${fmt(probe.maxMs, 3)} ms`, `p50/p99/max, ${probe.answered}/${probe.sent} answered, ${rcodeText(probe.rcodes)}`],
      ['DNS probe, baseline node', `${fmt(baseProbe.p50Ms, 3)} / ${fmt(baseProbe.p99Ms, 3)} / ${fmt(baseProbe.maxMs, 3)} ms`, `p50/p99/max, ${baseProbe.answered}/${baseProbe.sent} answered, ${rcodeText(baseProbe.rcodes)}`],
      ['dnsperf qps with checks', fmt(withChecks.qps), `avg ${fmt(withChecks.avgLatencyMs, 3)} ms, max ${fmt(withChecks.maxLatencyMs, 3)} ms, lost ${withChecks.lost}/${withChecks.sent}, ${rcodeText(withChecks.rcodes)}`],
      ['dnsperf qps without (before)', fmt(baseBefore.qps), `avg ${fmt(baseBefore.avgLatencyMs, 3)} ms, max ${fmt(baseBefore.maxLatencyMs, 3)} ms, lost ${baseBefore.lost}/${baseBefore.sent}, ${rcodeText(baseBefore.rcodes)}`],
      ['dnsperf qps without (after)', fmt(baseAfter.qps), `avg ${fmt(baseAfter.avgLatencyMs, 3)} ms, max ${fmt(baseAfter.maxLatencyMs, 3)} ms, lost ${baseAfter.lost}/${baseAfter.sent}, ${rcodeText(baseAfter.rcodes)}`],
      ['qps with / without', fmt(baseQps > 0 ? withChecks.qps / baseQps : NaN, 2), 'without = mean of before and after'],
      ['GET /metrics', String(metricsStatus), 'status'],
    ];
    process.stdout.write('\n' + table(['measure', 'value', 'note'], rows, ['left', 'right', 'none']) + '\n');
    const logLines = (s: string) => s.split('\n').filter((l) => l.trim()).length;
    if (nodeLog.trim()) process.stdout.write(`\nchecked node printed ${logLines(nodeLog)} log line(s) at warn+; first: ${nodeLog.split('\n')[0]!.slice(0, 300)}\n`);
    if (plainLog.trim()) process.stdout.write(`\nbaseline node printed ${logLines(plainLog)} log line(s) at warn+; first: ${plainLog.split('\n')[0]!.slice(0, 300)}\n`);

    const out = join(ROOT, '.bench');
    mkdirSync(out, { recursive: true });
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadavgAtStart: load,
      setup: {
        regions: REGIONS,
        endpointsPerRegion: BACKENDS,
        targets,
        intervalS: INTERVAL_S,
        timeoutS: TIMEOUT_S,
        backendPort: backends.port,
        warmupS: WARMUP_MS / 1000,
        sampleS: SAMPLE_MS / 1000,
        dnsProbeEveryMs: PROBE_EVERY_MS,
        dnsperf: { ...LOAD, query: `app.${ZONE} A` },
        baseline: 'second node, same zone without checks, measured before the checked node starts and after it stops',
      },
      checkedNode: {
        startupMs: node.startupMs,
        warmup: warm,
        sample,
        memory: { atReady: memAtReady, windowStart: memStart, windowEnd: memEnd, afterDnsperf: memFinal },
        checksPerS: round(checksPerS, 1),
        expectedChecksPerS: targets / INTERVAL_S,
        newConnectionsPerS: round(connsPerS, 1),
        otherRequests: c1.other - c0.other,
        duringDnsperf: { cpu: duringDns, checksPerS: round(checksPerSDuringDns, 1) },
        regions,
        metricsStatus,
        dnsProbe: probe,
        dnsperf: withChecks,
        logLines: logLines(nodeLog),
      },
      baselineNode: {
        startupMs: plain.startupMs,
        idleCpuSameWindow: plainIdle,
        memory: plainMem,
        dnsProbe: baseProbe,
        dnsperfBefore: baseBefore,
        dnsperfAfter: baseAfter,
        logLines: logLines(plainLog),
      },
      backends: { cpuSameWindow: backendCpu, totals: backendTotals },
      qpsRatio: baseQps > 0 ? round(withChecks.qps / baseQps, 3) : null,
      totalSeconds: (Date.now() - started) / 1000,
    };
    writeFileSync(join(out, 'checks.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`\nwrote .bench/checks.json (${report.totalSeconds.toFixed(1)} s total)\n`);
  } finally {
    killAll();
    removeWorkDir();
    clearTimeout(watchdog);
  }
}

runBench('bench:checks', main, removeWorkDir);

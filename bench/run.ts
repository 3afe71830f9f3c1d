/**
 * `npm run bench`: dnsperf against the compiled server, and the same load against a bare Node UDP echo, so the
 * figures say how much of a UDP round trip in Node the server spends on answering.
 *
 *   1. build (skipped when npm already ran tsc for the "bench" script)
 *   2. start `node dist/cli.js serve` on free loopback ports with the example zone in a temp dir
 *   3. write dnsperf inputs: static names, service names, service names with one ECS subnet (-E), and a
 *      binary (-B) file spreading ECS over thousands of client subnets (-E takes one value per run; -B lets
 *      every query carry its own)
 *   4. dnsperf each case against the server, then against the echo
 *   5. print a table, write .bench/results.json
 *
 * Every process it starts is killed by PID at the end, on error, on SIGINT/SIGTERM, and by a watchdog.
 * Only 127.0.0.1 is used. BENCH_SECONDS (1-10, default 10) sets each dnsperf run's length; BENCH_CASES=a,b
 * runs only the named cases.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_ZONE } from '../test/helpers/server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const SECONDS = Math.min(10, Math.max(1, Number(process.env.BENCH_SECONDS ?? 10) || 10));
const CLIENTS = 4;
const OUTSTANDING = 200;
const MAX_QPS = 1_000_000;
/** The whole bench must be over well within 3 minutes. */
const WATCHDOG_MS = 170_000;
const ZONE = 'gslb.example.test';

interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  avgLatencyMs: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  stddevLatencyMs: number;
  rcodes: Record<string, number>;
  avgRequestBytes: number;
  avgResponseBytes: number;
}

interface CaseResult {
  case: string;
  description: string;
  server: DnsperfResult;
  echo: DnsperfResult;
  /** server qps / echo qps */
  ratio: number;
}

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stop one child by PID: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stop(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** A loopback port free for both UDP and TCP right now. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = createServer();
    const port = await new Promise<number>((res, rej) => {
      tcp.once('error', rej);
      tcp.listen(0, HOST, () => {
        const a = tcp.address();
        res(typeof a === 'object' && a ? a.port : 0);
      });
    });
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((res) => {
      udp.once('error', () => res(false));
      udp.bind(port, HOST, () => res(true));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) await new Promise<void>((r) => udp.close(() => r()));
    else udp.close();
    if (ok) return port;
  }
  throw new Error('no free loopback port');
}

// ---------------------------------------------------------------------------------------------- wire helpers

function nameWire(name: string): Buffer {
  return Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

/** A query with an OPT carrying one ECS option (family 1 or 2, the address cut to `prefix` bits). */
function ecsQuery(name: string, qtype: number, address: Buffer, prefix: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x0100, 2); // RD, as resolvers send it
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 10);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2);
  const addrLen = (prefix + 7) >> 3;
  const ecs = Buffer.alloc(8 + addrLen);
  ecs.writeUInt16BE(8, 0);
  ecs.writeUInt16BE(4 + addrLen, 2);
  ecs.writeUInt16BE(address.length === 4 ? 1 : 2, 4);
  ecs[6] = prefix;
  address.copy(ecs, 8, 0, addrLen);
  if (prefix & 7) ecs[7 + addrLen] = ecs[7 + addrLen]! & (0xff << (8 - (prefix & 7)));
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(41, 1);
  opt.writeUInt16BE(1232, 3);
  opt.writeUInt16BE(ecs.length, 9);
  return Buffer.concat([header, nameWire(name), question, opt, ecs]);
}

/** dnsperf -E value: ECS option code 8, payload family 1, /24, scope 0, three address bytes. */
function ecsHex(a: number, b: number, c: number): string {
  return '8:' + Buffer.from([0, 1, 24, 0, a, b, c]).toString('hex');
}

// ---------------------------------------------------------------------------------------------- query files

/** Deterministic PRNG (mulberry32) so query files are the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function staticQueries(): string {
  const r = rng(1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) {
    switch (i % 5) {
      case 0:
        lines.push(`${pick(['ns1', 'ns2', 'mail', 'a.b.c', `h${i}.wild`])}.${ZONE} A`);
        break;
      case 1:
        lines.push(`${pick(['ns2', 'ns1', 'mail'])}.${ZONE} AAAA`);
        break;
      case 2:
        lines.push(`${pick(['', `t${i}.wild.`])}${ZONE} TXT`);
        break;
      case 3:
        lines.push(`${pick(['', 'sub.'])}${ZONE} NS`);
        break;
      default:
        lines.push(`nx${Math.floor(r() * 1e9)}.${ZONE} A`);
    }
  }
  return lines.join('\n') + '\n';
}

function serviceQueries(): string {
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) lines.push(`app.${ZONE} ${i % 2 === 0 ? 'A' : 'AAAA'}`);
  return lines.join('\n') + '\n';
}

/** dnsperf -B input: 2-byte length + raw query; 4096 distinct IPv4 /24s and 512 IPv6 /56s. */
function ecsSpreadQueries(): Buffer {
  const r = rng(2);
  const parts: Buffer[] = [];
  const push = (q: Buffer) => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    parts.push(len, q);
  };
  for (let i = 0; i < 4096; i++) {
    const addr = Buffer.from([1 + Math.floor(r() * 223), Math.floor(r() * 256), Math.floor(r() * 256), 0]);
    push(ecsQuery(`app.${ZONE}`, i % 2 === 0 ? 1 : 28, addr, 24));
    if (i % 8 === 0) {
      const v6 = Buffer.alloc(16);
      v6.writeUInt16BE(0x2001, 0);
      for (let k = 2; k < 7; k++) v6[k] = Math.floor(r() * 256);
      push(ecsQuery(`app.${ZONE}`, i % 16 === 0 ? 28 : 1, v6, 56));
    }
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------- processes

const ECHO_SOURCE = `
const dgram = require('node:dgram');
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
s.on('message', (m, r) => { if (m.length >= 3) { m[2] |= 0x80; s.send(m, r.port, r.address); } });
s.on('error', (e) => { console.error(String(e)); process.exit(1); });
s.bind(Number(process.argv[1]), '127.0.0.1', () => console.log('ready'));
`;

function waitForLine(child: ChildProcess, text: string, timeoutMs: number): Promise<void> {
  return new Promise((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => rej(new Error(`no "${text}" within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(text)) {
        clearTimeout(timer);
        res();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`exited with ${code} before "${text}"`));
    });
  });
}

/** Poll with a real query until the server answers (or give up). */
async function waitForDns(port: number, timeoutMs: number, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const query = ecsQuery(`ns1.${ZONE}`, 1, Buffer.from([192, 0, 2, 0]), 24);
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    const answered = await new Promise<boolean>((res) => {
      const s = createSocket('udp4');
      const timer = setTimeout(() => {
        s.close();
        res(false);
      }, 200);
      s.on('message', (m) => {
        clearTimeout(timer);
        s.close();
        res(m.length >= 12 && (m[2]! & 0x80) !== 0 && (m[3]! & 0x0f) === 0);
      });
      s.send(query, port, HOST);
    });
    if (answered) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not answer on ${HOST}:${port} within ${timeoutMs} ms`);
}

/** Seconds as printed by dnsperf -> milliseconds, rounded to the microsecond. */
function ms(seconds: string): number {
  return Math.round(Number(seconds) * 1e6) / 1e3;
}

function parseDnsperf(out: string): DnsperfResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`dnsperf output lacks ${re}:\n${out}`);
    return Number(m[1]);
  };
  const rcodes: Record<string, number> = {};
  const rc = /Response codes:\s+(.*)/.exec(out);
  if (rc) for (const m of rc[1]!.matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]!] = Number(m[2]);
  const lat = /Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)/.exec(out);
  const pkt = /Average packet size:\s+request (\d+), response (\d+)/.exec(out);
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: lat ? ms(lat[1]!) : NaN,
    minLatencyMs: lat ? ms(lat[2]!) : NaN,
    maxLatencyMs: lat ? ms(lat[3]!) : NaN,
    stddevLatencyMs: /Latency StdDev \(s\):\s+([\d.]+)/.test(out) ? ms(String(num(/Latency StdDev \(s\):\s+([\d.]+)/))) : NaN,
    rcodes,
    avgRequestBytes: pkt ? Number(pkt[1]) : NaN,
    avgResponseBytes: pkt ? Number(pkt[2]) : NaN,
  };
}

function dnsperf(port: number, args: string[]): Promise<DnsperfResult> {
  const argv = ['-s', HOST, '-p', String(port), '-l', String(SECONDS), '-c', String(CLIENTS), '-Q', String(MAX_QPS), '-q', String(OUTSTANDING), '-t', '2', ...args];
  return new Promise((res, rej) => {
    const child = track(spawn('dnsperf', argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    // -l bounds the run; this bounds a dnsperf that hangs anyway.
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, (SECONDS + 15) * 1000);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return rej(new Error(`dnsperf ${argv.join(' ')} exited with ${code ?? signal}\n${err}${out}`));
      try {
        res(parseDnsperf(out));
      } catch (e) {
        rej(e as Error);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------- main

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function table(rows: CaseResult[]): string {
  const head = ['case', 'server q/s', 'echo q/s', 'ratio', 'server avg ms', 'echo avg ms', 'server lost', 'echo lost', 'server rcodes'];
  const body = rows.map((r) => [
    r.case,
    fmt(r.server.qps),
    fmt(r.echo.qps),
    fmt(r.ratio, 2),
    fmt(r.server.avgLatencyMs, 3),
    fmt(r.echo.avgLatencyMs, 3),
    `${r.server.lost}/${r.server.sent}`,
    `${r.echo.lost}/${r.echo.sent}`,
    Object.entries(r.server.rcodes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: watchdog after ${WATCHDOG_MS / 1000} s, stopping\n`);
    killAll();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  if (process.env.npm_lifecycle_event !== 'bench') {
    process.stdout.write('building (tsc -p tsconfig.json)...\n');
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('build failed');
  }

  const dir = mkdtempSync(join(tmpdir(), 'gslb-bench-'));
  try {
    const zones = join(dir, 'zones');
    mkdirSync(zones);
    writeFileSync(join(zones, 'example.yaml'), EXAMPLE_ZONE);
    const files = {
      static: join(dir, 'static.txt'),
      service: join(dir, 'service.txt'),
      spread: join(dir, 'ecs-spread.bin'),
    };
    writeFileSync(files.static, staticQueries());
    writeFileSync(files.service, serviceQueries());
    writeFileSync(files.spread, ecsSpreadQueries());

    const dnsPort = await freePort();
    const apiPort = await freePort();
    const server = track(
      spawn(
        process.execPath,
        ['dist/cli.js', 'serve', '--zones', zones, '--dns', `${HOST}:${dnsPort}`, '--api', `${HOST}:${apiPort}`, '--data', join(dir, 'data'), '--node-id', 'bench', '--log-level', 'warn'],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    let serverErr = '';
    server.stderr?.on('data', (d: Buffer) => (serverErr += d.toString()));
    server.stdout?.on('data', (d: Buffer) => (serverErr += d.toString()));
    try {
      await waitForDns(dnsPort, 15_000, server);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${serverErr}`);
    }

    const echoPort = await freePort();
    const echo = track(spawn(process.execPath, ['-e', ECHO_SOURCE, String(echoPort)], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitForLine(echo, 'ready', 5_000);

    const cases: { name: string; description: string; args: string[] }[] = [
      { name: 'static', description: 'A/AAAA/TXT/NS/NXDOMAIN mix, no EDNS', args: ['-d', files.static] },
      { name: 'service', description: `app.${ZONE} A/AAAA, no EDNS`, args: ['-d', files.service] },
      { name: 'service+ecs', description: 'service, EDNS + ECS 198.51.100.0/24 on every query (-E)', args: ['-d', files.service, '-E', ecsHex(198, 51, 100)] },
      { name: 'service+ecs-spread', description: 'service, ECS over 4096 IPv4 /24s + 512 IPv6 /56s (-B raw queries)', args: ['-B', '-d', files.spread] },
    ];
    process.stdout.write(
      `dnsperf -s ${HOST} -p PORT -l ${SECONDS} -c ${CLIENTS} -Q ${MAX_QPS} -q ${OUTSTANDING} -t 2 ...; server on :${dnsPort}, echo on :${echoPort}\n`,
    );
    const only = process.env.BENCH_CASES?.split(',').map((c) => c.trim());
    const results: CaseResult[] = [];
    for (const c of cases.filter((k) => !only || only.includes(k.name))) {
      process.stdout.write(`  ${c.name}: server...`);
      const s = await dnsperf(dnsPort, c.args);
      if (server.exitCode !== null) throw new Error(`server exited during ${c.name}\n${serverErr}`);
      process.stdout.write(` ${fmt(s.qps)} q/s; echo...`);
      const e = await dnsperf(echoPort, c.args);
      process.stdout.write(` ${fmt(e.qps)} q/s\n`);
      results.push({ case: c.name, description: c.description, server: s, echo: e, ratio: e.qps > 0 ? s.qps / e.qps : NaN });
    }

    // One last real query: the server must still answer correctly after the load.
    await waitForDns(dnsPort, 2_000, server);
    await stop(server);
    await stop(echo);

    process.stdout.write('\n' + table(results) + '\n');
    const out = join(ROOT, '.bench');
    mkdirSync(out, { recursive: true });
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      dnsperf: { seconds: SECONDS, clients: CLIENTS, maxQps: MAX_QPS, outstanding: OUTSTANDING, timeoutS: 2 },
      results,
      totalSeconds: (Date.now() - started) / 1000,
    };
    writeFileSync(join(out, 'results.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`\nwrote .bench/results.json (${report.totalSeconds.toFixed(1)} s total)\n`);
  } finally {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  killAll();
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

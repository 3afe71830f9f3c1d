/**
 * `npm run bench:cases`: dnsperf against the compiled server, and the same load against a bare Node UDP echo, so
 * the figures say how much of a UDP round trip in Node the server spends on answering, per kind of query. This
 * was `npm run bench` before that became the CPU-per-query comparison with gdnsd (run.ts); it measures
 * throughput only, unpinned, so the figures are the machine's, not the server's alone.
 *
 *   1. build (skipped when npm already ran tsc for the "bench" script)
 *   2. start `node dist/cli.js serve` on free loopback ports with the example zone in a temp dir
 *   3. write dnsperf inputs: static names, service names, service names with one ECS subnet (-E), and a
 *      binary (-B) file spreading ECS over thousands of client subnets (-E takes one value per run; -B lets
 *      every query carry its own)
 *   4. dnsperf each case against the server, then against the echo
 *   5. print a table, write .bench/cases.json
 *
 * Every process it starts is killed by PID at the end, on error, on SIGINT/SIGTERM, and by a watchdog.
 * Only 127.0.0.1 is used. BENCH_SECONDS (1-10, default 10) sets each dnsperf run's length; BENCH_CASES=a,b
 * runs only the named cases.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_ZONE } from '../test/helpers/server.js';
import { buildUnlessNpmDid, freePort, HOST, killAll, ROOT, runBench, startWatchdog, stop, track, ZONE } from './lib.js';
import { dnsperfLoad, loadArgs, parseDnsperfWithSizes, runDnsperf, waitForDns, type DnsperfResult, type PacketSizes } from './lib.js';
import { fmt, rcodeText, table } from './lib.js';
import { ecsHex, ecsQuery } from './ecs.js';
import { seededRng } from '../src/util/rng.js';

const SECONDS = Math.min(10, Math.max(1, Number(process.env.BENCH_SECONDS ?? 10) || 10));
/** The whole bench must be over well within 3 minutes. */
const WATCHDOG_MS = 170_000;
const STOP_GRACE_MS = 2000;
const LOAD = dnsperfLoad(SECONDS);

type RunResult = DnsperfResult & PacketSizes;

interface CaseResult {
  case: string;
  description: string;
  server: RunResult;
  echo: RunResult;
  /** server qps / echo qps */
  ratio: number;
}

// ---------------------------------------------------------------------------------------------- query files

function staticQueries(): string {
  const r = seededRng(1); // seeded: the query files are the same on every run
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
  const r = seededRng(2);
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

/** The query waitForDns polls with: ns1 A with an ECS option, as the load sends it. */
const READY_QUERY = ecsQuery(`ns1.${ZONE}`, 1, Buffer.from([192, 0, 2, 0]), 24);

function dnsperf(port: number, args: string[]): Promise<RunResult> {
  return runDnsperf(port, [...loadArgs(LOAD), ...args], (SECONDS + 15) * 1000, parseDnsperfWithSizes);
}

// ---------------------------------------------------------------------------------------------- main

const HEAD = ['case', 'server q/s', 'echo q/s', 'ratio', 'server avg ms', 'echo avg ms', 'server lost', 'echo lost', 'server rcodes'];

function caseTable(rows: CaseResult[]): string {
  const body = rows.map((r) => [
    r.case,
    fmt(r.server.qps),
    fmt(r.echo.qps),
    fmt(r.ratio, 2),
    fmt(r.server.avgLatencyMs, 3),
    fmt(r.echo.avgLatencyMs, 3),
    `${r.server.lost}/${r.server.sent}`,
    `${r.echo.lost}/${r.echo.sent}`,
    rcodeText(r.server.rcodes),
  ]);
  // Name and rcodes left-aligned, the figures between right-aligned.
  return table(HEAD, body, HEAD.map((_, i) => (i === 0 || i === HEAD.length - 1 ? 'left' : 'right')));
}

async function main(): Promise<void> {
  const started = Date.now();
  const watchdog = startWatchdog('bench:cases', WATCHDOG_MS);
  buildUnlessNpmDid('bench:cases');

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
      await waitForDns(dnsPort, 15_000, server, READY_QUERY);
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
    process.stdout.write(`dnsperf -s ${HOST} -p PORT ${loadArgs(LOAD).join(' ')} ...; server on :${dnsPort}, echo on :${echoPort}\n`);
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
    await waitForDns(dnsPort, 2_000, server, READY_QUERY);
    await stop(server, STOP_GRACE_MS);
    await stop(echo, STOP_GRACE_MS);

    process.stdout.write('\n' + caseTable(results) + '\n');
    const out = join(ROOT, '.bench');
    mkdirSync(out, { recursive: true });
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      dnsperf: LOAD,
      results,
      totalSeconds: (Date.now() - started) / 1000,
    };
    writeFileSync(join(out, 'cases.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`\nwrote .bench/cases.json (${report.totalSeconds.toFixed(1)} s total)\n`);
  } finally {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

runBench('bench:cases', main);

/**
 * `npm run bench:ecs-flood`: what a spray of distinct ECS client subnets does to the server and to a legitimate
 * client. Starts `node dist/cli.js serve` on loopback with the bundled GeoIP database and the example zone (its
 * latency-steered `app`, as `npm run bench` uses it); a steady client sends one ECS /24's query at a fixed rate the whole time; once the
 * server's own warm-up is over (its CPU idle), a phase with the steady client alone, then a
 * sprayer (a process of its own) sends queries for distinct ECS /24s, each burst a different set, at a fixed
 * rate. Prints, per phase, the steady client's p50/p99/max and lost queries, the server's longest event-loop
 * stall (nodejs_eventloop_lag_max_seconds, to tell its stalls from the clients' own), the server's RSS (sampled from
 * /proc every 50 ms) before and at its highest, the server's CPU time (and per answer: the figure that does not
 * depend on what else runs on the machine), and the decision cache's size and hit/miss counts. The first row
 * is the floor: the same client against a bare Node echo on the server's core before the server starts (on a
 * VM its p99 alone is milliseconds, below which no server's figure can go).
 *
 *   node --import tsx bench/ecs-flood.ts [--subnets 65536] [--rate 10000] [--steady 500] [--bursts 2]
 *
 * To look inside the server: SERVER_NODE_FLAGS="--trace-deopt --trace-opt" (or --cpu-prof --cpu-prof-dir=D)
 * passes V8/Node flags to it, SERVER_OUT=FILE keeps its stdout, NO_PIN=1 leaves it and the clients unpinned.
 *
 * With `taskset` on a machine of two or more cores the server runs on CPU 0, this process and the sprayer on
 * CPU 1 (say so in the output). Only 127.0.0.1 is used; every child is killed by PID at the end, on error and by
 * a watchdog. The count and the rate bound each burst: 65 536 subnets at 10 000 q/s is 6.6 s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EXAMPLE_ZONE } from '../test/helpers/server.js';
import { bundledDatabasePath, Locator, openDatabase } from '../src/geo/locator.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { loadZoneSources } from '../src/model/loader.js';
import { decide } from '../src/routing/decide.js';
import { buildUnlessNpmDid, fmt, freePort, HOST, nameWire, runBench, sleep, startWatchdog, stop, table, track, waitForDns, ZONE } from './lib.js';


function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: a whole number, 0 or more`);
  return v;
}

/** `app.ZONE A` with an ECS option for the /24 `a.b.c.0`. */
function ecsQuery(id: number, a: number, b: number, c: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 10);
  const opt = Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, a, b, c]);
  return Buffer.concat([header, nameWire(`app.${ZONE}`), Buffer.from([0, 1, 0, 1]), opt]);
}

/**
 * Sends `count` queries for distinct /24s at `rate` per second and prints how many were answered. The /24s
 * are `(i + offset) * 40503 mod 2^24`: an odd multiplier is a bijection of the 2^24 /24s, so every query of
 * every burst (different offsets) names a subnet no earlier query named, spread over the whole space.
 */
const SPRAYER = `
const dgram = require('node:dgram');
const [port, count, rate, offset] = process.argv.slice(1).map(Number);
const name = Buffer.from(${JSON.stringify([...nameWire(`app.${ZONE}`)])});
const q = Buffer.concat([Buffer.alloc(12), name, Buffer.from([0, 1, 0, 1, 0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 0, 0, 0])]);
q.writeUInt16BE(1, 4); q.writeUInt16BE(1, 10);
const s = dgram.createSocket('udp4');
let answered = 0;
s.on('message', () => answered++);
s.bind(0, '127.0.0.1', () => {
  const start = performance.now();
  let sent = 0;
  const tick = () => {
    const due = Math.min(count, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const v = Number((BigInt(sent + offset) * 40503n) % 16777216n);
      // A copy per datagram: send() reads the buffer later, so rewriting one in place sent repeats.
      const d = Buffer.from(q);
      d.writeUInt16BE(sent & 0xffff, 0);
      d[d.length - 3] = v >> 16; d[d.length - 2] = (v >> 8) & 255; d[d.length - 1] = v & 255;
      s.send(d, port, '127.0.0.1');
    }
    if (sent < count) return void setTimeout(tick, 1);
    setTimeout(() => { process.stdout.write(JSON.stringify({ sent, answered, ms: performance.now() - start })); s.close(); }, 1000);
  };
  tick();
});
`;

/**
 * In this process: the heap that `count` cached decisions take, per entry (after full GCs), with a service that
 * rotates 2 of 3 endpoints per /24, so that nearly every /24 needs an entry of its own (the worst case).
 */
function bytesPerEntry(count: number): { entries: number; bytes: number } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const zone = EXAMPLE_ZONE.replace('{ address: 192.0.2.11, weight: 2 }', '{ address: 192.0.2.11, weight: 2 }, { address: 192.0.2.12 }');
  const zs = loadZoneSources([{ file: 'example.yaml', text: zone }]).zoneSet!;
  const snap = buildSnapshot(zs, { version: 1, nodeId: 'bench', state: { locator: new Locator([openDatabase(bundledDatabasePath())]) } });
  const svc = snap.services.get(`app.${ZONE}`)!;
  const client = { address: Buffer.alloc(16), family: 4 as const, sourcePrefix: 24, viaEcs: true };
  const ask = (from: number, n: number) => {
    for (let i = from; i < from + n; i++) {
      const v = (i * 40503) % 16777216;
      client.address.writeUIntBE(v, 0, 3);
      decide(snap, svc, 1, client);
    }
  };
  ask(count, 1000); // warm: code, the database reader's own cache
  gc();
  gc();
  const [heap, entries] = [process.memoryUsage().heapUsed, snap.decisions.size];
  ask(0, count);
  gc();
  gc();
  const added = snap.decisions.size - entries;
  return { entries: added, bytes: (process.memoryUsage().heapUsed - heap) / added };
}

/** CPU seconds (user + system) the process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function metric(api: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  const re = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm');
  let sum = 0;
  let seen = false;
  for (const m of text.matchAll(re)) {
    if (labels && !m[1]!.includes(labels)) continue;
    sum += Number(m[2]);
    seen = true;
  }
  return seen ? sum : NaN;
}

/** A bare Node dgram echo (no DNS work): the floor of what the steady client can measure on this machine. */
const ECHO = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => { if (m.length >= 3) { m[2] |= 0x80; s.send(m, r.port, r.address); } });
s.bind(Number(process.argv[1]), '127.0.0.1');
`;

/**
 * The steady client's round trips against the echo, pinned as the server is, for `ms`: on a VM its p99 is
 * already milliseconds (the host's scheduling, this process's own timers), which no server can go below.
 */
async function floorRtts(pin: boolean, qps: number, ms: number): Promise<number[]> {
  const port = await freePort();
  const argv = [...(pin ? ['taskset', '-c', '0'] : []), process.execPath, '-e', ECHO, String(port)];
  const echo = track(spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }));
  try {
    await waitForDns(port, 10_000, echo, ecsQuery(1, 81, 2, 69));
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, HOST, () => r()));
    const sentAt = new Map<number, number>();
    const rtts: number[] = [];
    sock.on('message', (m) => {
      const t = sentAt.get(m.readUInt16BE(0));
      if (t === undefined) return;
      sentAt.delete(m.readUInt16BE(0));
      rtts.push(performance.now() - t);
    });
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < ms) {
      const due = Math.floor(((performance.now() - start) / 1000) * qps) + 1;
      for (; sent < due; sent++) {
        const id = (sent % 65535) + 1;
        sentAt.set(id, performance.now());
        sock.send(ecsQuery(id, 81, 2, 69), port, HOST);
      }
      await sleep(2);
    }
    await sleep(300);
    sock.close();
    return rtts.sort((a, b) => a - b);
  } finally {
    await stop(echo, 2000);
  }
}

/** Waits until the server's CPU falls under 5 % of a core over half a second (its JIT warm-up after bind is over). */
async function untilIdle(pid: number, deadlineMs: number): Promise<number> {
  const start = Date.now();
  let last = cpuSeconds(pid);
  while (Date.now() - start < deadlineMs) {
    await sleep(500);
    const now = cpuSeconds(pid);
    if (now - last <= 0.025) break;
    last = now;
  }
  return (Date.now() - start) / 1000;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

interface Phase {
  name: string;
  rtts: number[];
  sent: number;
  rssBefore: number;
  rssMax: number;
  /** Server CPU seconds used during the phase. */
  cpu: number;
  spray?: { sent: number; answered: number; ms: number };
  cache: { entries: number; hits: number; misses: number };
  /** The server's longest event-loop stall during the phase. */
  stallMs: number;
}

runBench('ecs-flood', async () => {
  const subnets = arg('subnets', 65_536);
  const rate = Math.max(1, arg('rate', 10_000));
  const steadyQps = Math.max(1, arg('steady', 500));
  const bursts = arg('bursts', 2);
  buildUnlessNpmDid('bench:ecs-flood');
  const perEntry = bytesPerEntry(Math.min(subnets, 60_000));
  const pin = process.env.NO_PIN === undefined && cpus().length >= 2 && spawnSync('sh', ['-c', 'command -v taskset']).status === 0;
  if (pin) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const burstSeconds = subnets / rate;
  const dir = mkdtempSync(join(tmpdir(), 'gslb-ecs-flood-'));
  const watchdog = startWatchdog('ecs-flood', (bursts * (burstSeconds + 8) + 60) * 1000, () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'example.yaml'), EXAMPLE_ZONE);
  const dnsPort = await freePort();
  let apiPort = await freePort();
  for (let i = 0; apiPort === dnsPort && i < 20; i++) apiPort = await freePort();
  const api = `http://${HOST}:${apiPort}`;
  const serve = ['dist/cli.js', 'serve', '--zones', dir, '--data', join(dir, 'data'), '--dns', `${HOST}:${dnsPort}`, '--api', `${HOST}:${apiPort}`, '--log-level', 'error'];
  const flags = (process.env.SERVER_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const argv = pin ? ['taskset', '-c', '0', process.execPath, ...flags, ...serve] : [process.execPath, ...flags, ...serve];
  const floor = await floorRtts(pin, steadyQps, 4000);
  const server = track(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', process.env.SERVER_OUT ? openSync(process.env.SERVER_OUT, 'w') : 'ignore', 'ignore'] }));
  try {
    await waitForDns(dnsPort, 20_000, server, ecsQuery(1, 81, 2, 69));
    for (let i = 0; i < 200 && !(await fetch(`${api}/healthz`).then((r) => r.ok, () => false)); i++) await sleep(50);
    const pid = server.pid!;
    // The server warms its decision path for about half a second of CPU after it binds: not a phase's figure.
    const settledS = await untilIdle(pid, 15_000);

    // The steady client: one socket, one ECS /24 (a GB network), paced against the clock.
    /** Send time and phase by query id: a late answer counts for the phase its query was sent in. */
    const sentAt = new Map<number, { t: number; phase: Phase | undefined }>();
    let current: Phase | undefined;
    const sock = createSocket('udp4');
    sock.on('message', (m) => {
      const id = m.readUInt16BE(0);
      const sent = sentAt.get(id);
      if (sent === undefined) return;
      sentAt.delete(id);
      sent.phase?.rtts.push(performance.now() - sent.t);
    });
    await new Promise<void>((r) => sock.bind(0, HOST, () => r()));
    let stopSteady = false;
    let id = 0;
    const steady = (async () => {
      const start = performance.now();
      let sent = 0;
      while (!stopSteady) {
        const due = Math.floor(((performance.now() - start) / 1000) * steadyQps) + 1;
        for (; sent < due; sent++) {
          id = (id % 65535) + 1;
          sentAt.set(id, { t: performance.now(), phase: current });
          if (current) current.sent++;
          sock.send(ecsQuery(id, 81, 2, 69), dnsPort, HOST);
        }
        await sleep(2);
      }
    })();
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMb(pid))), 50);

    // prom-client resets the event-loop delay histogram at each scrape: read at a phase's start and end, its max
    // is the server's worst stall during the phase (telling server stalls from the clients' own).
    const cacheNow = async () => ({
      stallMs: (await metric(api, 'nodejs_eventloop_lag_max_seconds')) * 1000,
      entries: await metric(api, 'gslb_decision_cache_entries'),
      hits: await metric(api, 'gslb_decision_cache_lookups_total', 'result="hit"'),
      misses: await metric(api, 'gslb_decision_cache_lookups_total', 'result="miss"'),
    });
    const phases: Phase[] = [];
    const run = async (name: string, body: () => Promise<Phase['spray'] | undefined>) => {
      await sleep(300); // answers still in flight belong to the phase before
      const before = await cacheNow();
      const phase: Phase = { name, rtts: [], sent: 0, rssBefore: rssMb(pid), rssMax: 0, cpu: -cpuSeconds(pid), cache: before, stallMs: NaN };
      rssMax = phase.rssBefore;
      current = phase;
      const spray = await body();
      await sleep(1000);
      current = undefined;
      phase.cpu += cpuSeconds(pid);
      phase.rssMax = rssMax;
      if (spray) phase.spray = spray;
      const after = await cacheNow();
      phase.cache = { entries: after.entries, hits: after.hits - before.hits, misses: after.misses - before.misses };
      phase.stallMs = after.stallMs;
      phases.push(phase);
    };
    await run('steady client alone (server warm)', async () => {
      await sleep(3000);
      return undefined;
    });
    for (let b = 0; b < bursts; b++) {
      await run(`burst ${b + 1}: ${subnets} distinct /24s at ${rate} q/s`, async () => {
        const child = track(spawn(process.execPath, ['-e', SPRAYER, String(dnsPort), String(subnets), String(rate), String(b * subnets)], { stdio: ['ignore', 'pipe', 'inherit'] }));
        let out = '';
        child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        await new Promise<void>((r) => child.once('exit', () => r()));
        return JSON.parse(out) as Phase['spray'];
      });
    }
    stopSteady = true;
    await steady;
    clearInterval(sampler);
    sock.close();

    const f = (n: number) => fmt(n, 1);
    const floorRow = ['floor: the same client, a bare Node echo', String(floor.length), '-', f(pct(floor, 50)), f(pct(floor, 99)), f(floor.at(-1) ?? NaN), '-', '-', '-', '-', '-'];
    const rows = phases.map((p) => {
      const s = [...p.rtts].sort((a, b) => a - b);
      return [
        p.name,
        String(p.sent),
        String(p.sent - p.rtts.length),
        f(pct(s, 50)),
        f(pct(s, 99)),
        f(s.at(-1) ?? NaN),
        f(p.stallMs),
        p.spray ? `${p.spray.answered}/${p.spray.sent} in ${fmt(p.spray.ms / 1000, 1)} s` : '-',
        `${f(p.rssBefore)} -> ${f(p.rssMax)} (+${f(p.rssMax - p.rssBefore)})`,
        `${fmt(p.cpu, 2)} s, ${fmt((p.cpu * 1e6) / (p.rtts.length + (p.spray?.answered ?? 0)), 0)} µs/answer`,
        `${p.cache.entries} (${p.cache.hits} hit, ${p.cache.misses} miss)`,
      ];
    });
    process.stdout.write(
      [
        `in-process: ${perEntry.entries} cached decisions of a service rotating endpoints per /24 take ${fmt(perEntry.bytes)} bytes of heap each`,
        `server ${pin ? 'pinned to CPU 0, clients to CPU 1 (taskset)' : 'not pinned'}; steady client ${steadyQps} q/s with ECS 81.2.69.0/24; ` +
          `the server was idle ${fmt(settledS, 1)} s after start (its warm-up over) before the first phase`,
        table(
          ['phase', 'steady sent', 'lost', 'p50 ms', 'p99 ms', 'max ms', 'server stall ms', 'spray answered', 'server RSS MB', 'server CPU', 'decision cache entries after'],
          [floorRow, ...rows],
          ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'right', 'left'],
        ),
        `RSS growth over the whole run: +${f(Math.max(...phases.map((p) => p.rssMax)) - phases[0]!.rssBefore)} MB`,
      ].join('\n') + '\n',
    );
  } finally {
    clearTimeout(watchdog);
    await stop(server, 3000);
    rmSync(dir, { recursive: true, force: true });
  }
});

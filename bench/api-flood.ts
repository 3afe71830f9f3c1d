/**
 * `npm run bench:api-flood`: what one API client sending deeply nested JSON bodies does to DNS. Starts
 * `node dist/cli.js serve` on loopback, sends DNS queries at a steady rate from one UDP socket while a client
 * posts `[[[[…]]]]` bodies (DEPTH levels) back to back to `POST /v1/probes`, and prints DNS p50/p99/max, the
 * queries lost (no answer within 2 s), each deep request's time and the server's worst event-loop stall
 * (`nodejs_eventloop_lag_max_seconds`, read once before and once after the flood).
 *   node --import tsx bench/api-flood.ts [--seconds 12] [--qps 400] [--depth 400000]
 * `--depth 0` sends no bodies: the same DNS load alone, the baseline to compare with.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUnlessNpmDid, freePort, HOST, nameWire, runBench, sleep, startWatchdog, stop, track, waitForDns, ZONE } from './lib.js';

const ZONE_FILE = `
zone: ${ZONE}
ttl: 300
soa: { mname: ns1.${ZONE}, rname: hostmaster.example.test, serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
ns: [ns1.${ZONE}]
records:
  ns1: { A: [192.0.2.53] }
regions:
  r1:
    location: { lat: 50, lon: 8 }
    endpoints: [ { address: 192.0.2.10 } ]
services:
  app: { policy: latency, regions: [r1], ttl: 30 }
`;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: a number, 0 or more`);
  return v;
}

function query(id: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, nameWire(`app.${ZONE}`), Buffer.from([0, 1, 0, 1])]);
}

async function lagMax(api: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  const m = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Posts deep bodies back to back until SIGTERM, then prints each request's time and the statuses as JSON. */
const FLOOD_CLIENT = `
const [url, depth] = process.argv.slice(1);
const body = '['.repeat(Number(depth)) + ']'.repeat(Number(depth));
const times = []; const statuses = {}; let stop = false;
process.on('SIGTERM', () => { stop = true; });
(async () => {
  while (!stop) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    } catch (err) { statuses[err.cause?.code ?? 'error'] = (statuses[err.cause?.code ?? 'error'] ?? 0) + 1; }
    times.push(performance.now() - t0);
  }
  process.stdout.write(JSON.stringify({ times, statuses }));
})();
`;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

runBench('api-flood', async () => {
  const seconds = arg('seconds', 12);
  const qps = arg('qps', 400);
  const depth = arg('depth', 400_000);
  buildUnlessNpmDid('bench:api-flood');
  const dir = mkdtempSync(join(tmpdir(), 'gslb-api-flood-'));
  const watchdog = startWatchdog('api-flood', (seconds + 60) * 1000, () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'zone.yaml'), ZONE_FILE);
  const dnsPort = await freePort();
  let apiPort = await freePort();
  for (let i = 0; apiPort === dnsPort && i < 20; i++) apiPort = await freePort();
  const api = `http://${HOST}:${apiPort}`;
  const server = track(
    spawn(process.execPath, ['dist/cli.js', 'serve', '--zones', dir, '--data', join(dir, 'data'), '--dns', `${HOST}:${dnsPort}`, '--api', `${HOST}:${apiPort}`, '--log-level', 'error'], {
      stdio: 'ignore',
    }),
  );
  try {
    await waitForDns(dnsPort, 20_000, server, query(1));
    // DNS listens before the API does.
    for (let i = 0; i < 200 && !(await fetch(`${api}/healthz`).then((r) => r.ok, () => false)); i++) await sleep(50);
    await lagMax(api); // resets the server's max
    const sentAt = new Map<number, number>();
    const rtts: number[] = [];
    const sock = createSocket('udp4');
    sock.on('message', (m) => {
      const t = sentAt.get(m.readUInt16BE(0));
      if (t === undefined) return;
      sentAt.delete(m.readUInt16BE(0));
      rtts.push(performance.now() - t);
    });
    await new Promise<void>((r) => sock.bind(0, HOST, () => r()));
    const total = Math.round(seconds * qps);
    let sent = 0;
    // The flooding client is a process of its own, so that building and sending its bodies does not delay
    // the DNS sender and its clock here.
    const flooder = depth > 0 ? track(spawn(process.execPath, ['-e', FLOOD_CLIENT, `${api}/v1/probes`, String(depth)], { stdio: ['ignore', 'pipe', 'inherit'] })) : undefined;
    let floodOut = '';
    flooder?.stdout!.on('data', (c: Buffer) => (floodOut += c.toString()));
    const floodDone = flooder ? new Promise<void>((r) => flooder.once('exit', () => r())) : Promise.resolve();
    const start = performance.now();
    while (sent < total) {
      // Paced against the clock so a stalled sender catches up instead of sending fewer queries.
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * qps) + 1);
      for (; sent < due; sent++) {
        const id = (sent % 65535) + 1;
        sentAt.set(id, performance.now());
        sock.send(query(id), dnsPort, HOST);
      }
      await sleep(2);
    }
    if (flooder?.pid !== undefined) process.kill(flooder.pid, 'SIGTERM');
    await floodDone;
    const { times: deepTimes, statuses } = (floodOut.trim() ? JSON.parse(floodOut) : { times: [], statuses: {} }) as { times: number[]; statuses: Record<string, number> };
    await sleep(2000);
    sock.close();
    const serverLag = await lagMax(api);
    rtts.sort((a, b) => a - b);
    deepTimes.sort((a, b) => a - b);
    const f = (n: number) => n.toFixed(1);
    process.stdout.write(
      [
        `deep bodies: ${depth} levels, ${2 * depth} bytes; ${deepTimes.length} sent, statuses ${JSON.stringify(statuses)}`,
        `deep request time ms: p50 ${f(pct(deepTimes, 50))} max ${f(deepTimes.at(-1) ?? NaN)}`,
        `server event-loop max stall during the flood: ${f(serverLag * 1000)} ms`,
        `dns: ${total} queries at ${qps}/s, answered ${rtts.length}, lost ${total - rtts.length}; ms p50 ${f(pct(rtts, 50))} p99 ${f(pct(rtts, 99))} max ${f(rtts.at(-1) ?? NaN)}`,
      ].join('\n') + '\n',
    );
  } finally {
    clearTimeout(watchdog);
    await stop(server, 3000);
    rmSync(dir, { recursive: true, force: true });
  }
});

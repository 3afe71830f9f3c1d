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

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

runBench('api-flood', async () => {
  const seconds = arg('seconds', 12);
  const qps = arg('qps', 400);
  const depth = arg('depth', 400_000);
  buildUnlessNpmDid('bench:api-flood');
  const dir = mkdtempSync(join(tmpdir(), 'gslb-api-flood-'));
  const watchdog = startWatchdog('api-flood', (seconds + 60) * 1000, () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'zone.yaml'), ZONE_FILE);
  const [dnsPort, apiPort] = [await freePort(), await freePort()];
  const api = `http://${HOST}:${apiPort}`;
  const server = track(
    spawn(process.execPath, ['dist/cli.js', 'serve', '--zones', dir, '--data', join(dir, 'data'), '--dns', `${HOST}:${dnsPort}`, '--api', `${HOST}:${apiPort}`, '--log-level', 'error'], {
      stdio: 'ignore',
    }),
  );
  try {
    await waitForDns(dnsPort, 20_000, server, query(1));
    const deep = '['.repeat(depth) + ']'.repeat(depth);
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
    let flooding = depth > 0;
    const deepTimes: number[] = [];
    const statuses = new Map<number, number>();
    const flood = (async () => {
      while (flooding) {
        const t0 = performance.now();
        const res = await fetch(`${api}/v1/probes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep });
        await res.arrayBuffer();
        deepTimes.push(performance.now() - t0);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    })();
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
    flooding = false;
    await flood;
    await sleep(2000);
    sock.close();
    const serverLag = await lagMax(api);
    rtts.sort((a, b) => a - b);
    deepTimes.sort((a, b) => a - b);
    const f = (n: number) => n.toFixed(1);
    process.stdout.write(
      [
        `deep bodies: ${depth} levels, ${deep.length} bytes; ${deepTimes.length} sent, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
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

/**
 * Shared-store faults, with real processes and a real redis-server (no mocks):
 *  - finding 1: Redis restarted empty must not wipe registrations, drains, latency: the nodes re-seed it, and
 *    DNS never serves a drained region meanwhile;
 *  - finding 2: a node cut off from Redis (network namespaces, veth link down) notices within seconds, says so
 *    in /v1/status, /metrics; writes answer 503 quickly and a 503'd write is never applied later; its own
 *    checker decides its answers while partitioned; /readyz stays 200;
 *  - finding 3: Redis killed: /readyz stays 200 (the body says the store is down) and DNS answers.
 * Each test prints the figures it measured (t.diagnostic) for the operations "guarantees under faults" table.
 * The partition test needs root (network namespaces) and skips with the reason otherwise. Knobs:
 * PARTITION_HOLD_MS=190000 holds the long partition that long; FAULTS_DEBUG=1 prints the node's logs on failure.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RRType } from '../src/wire/constants.js';
import { RedisStore } from '../src/store/redis.js';
import { parseRedisUrl } from '../src/store/redis-connect.js';
import { emptyState, type RegionRegistration } from '../src/store/types.js';
import { udpQuery } from './helpers/dns-client.js';
import { writeGeoFixture } from './helpers/geo-fixture.js';
import { canUseNetns, NetnsLab } from './helpers/netns.js';
import { CLI, startServe, type ServeProcess } from './helpers/process.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const APP = 'app.gslb.example.test';

function zoneText(regions: string): string {
  return `
zone: gslb.example.test
ttl: 300
soa: { mname: ns1.gslb.example.test, rname: hostmaster.example.test, serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
ns: [ns1.gslb.example.test]
records:
  ns1: { A: [192.0.2.53] }
regions:
${regions}
services:
  app:
    policy: failover
    regions: [primary, backup]
    ttl: 5
    answers: 1
`;
}

const STATIC_REGIONS = `
  primary:
    location: { lat: 50.11, lon: 8.68 }
    endpoints: [ { address: 192.0.2.1 } ]
  backup:
    location: { lat: 51.51, lon: -0.13 }
    endpoints: [ { address: 192.0.2.2 } ]
`;

/** Poll `check` until it returns true; otherwise fail after `deadlineMs` with the last thing it said. */
async function until(what: string, check: () => Promise<true | string> | true | string, deadlineMs: number, stepMs = 100): Promise<number> {
  const started = performance.now();
  let last = '';
  for (let i = 0; i < 100_000; i++) {
    const r = await check();
    if (r === true) return performance.now() - started;
    last = r;
    if (performance.now() - started > deadlineMs) break;
    await new Promise((res) => setTimeout(res, stepMs));
  }
  throw new Error(`${what}: not within ${deadlineMs} ms (last: ${last})`);
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json, ms: performance.now() - started };
}

async function dnsAnswer(ts: TestServer): Promise<string[]> {
  const r = await udpQuery(ts.udp, { name: APP, type: RRType.A });
  return r.answers.filter((a) => a.type === RRType.A).map((a) => (a.data as { address: string }).address);
}

const TOKEN = 'faults-test-token';
const REGISTERED = { location: { lat: 35.68, lon: 139.69 }, endpoints: [{ address: '192.0.2.3' }], services: [APP] };

// ---------------------------------------------------------------------------------------------------------
// Finding 1: Redis restarted empty
// ---------------------------------------------------------------------------------------------------------

describe('finding 1: Redis restarted empty', () => {
  let redis: RedisServer;
  const nodes: TestServer[] = [];
  const ns = `f1-${process.pid}`;
  before(async () => {
    redis = await startRedis();
    for (const id of ['node-a', 'node-b'])
      nodes.push(await startTestServer({ 'z.yaml': zoneText(STATIC_REGIONS) }, { nodeId: id, args: ['--redis', redis.namespacedUrl(ns)] }));
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await redis.stop();
  });

  test('both nodes re-seed registrations, drains and latency; DNS never serves the drained region meanwhile', async (t) => {
    const [a, b] = nodes as [TestServer, TestServer];
    assert.equal((await call(a.api, 'PUT', '/v1/regions/extra', REGISTERED)).status, 201);
    assert.equal((await call(b.api, 'POST', '/v1/regions/primary/drain', { reason: 'maintenance' })).status, 200);
    assert.equal((await call(a.api, 'POST', '/v1/latency', { measurements: [{ client: 'DE', region: 'backup', rttMs: 20 }] })).status, 200);
    for (const n of nodes) await until('drain seen by every node', async () => ((await dnsAnswer(n)).join() === '192.0.2.2' ? true : (await dnsAnswer(n)).join()), 5000);

    // Poll DNS on both nodes for the whole test: the drained region must never be answered.
    const served: string[] = [];
    let polling = true;
    let queries = 0;
    const poller = (async () => {
      for (let i = 0; polling && i < 100_000; i++) {
        for (const n of nodes) {
          const got = await dnsAnswer(n).catch((err: unknown) => [`error ${(err as Error).message}`]);
          queries++;
          if (got.join() !== '192.0.2.2') served.push(got.join());
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await redis.kill();
    await redis.restart();
    const restartedAt = performance.now();
    const plain = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: false });
    try {
      const reseedMs = await until(
        'registration, drain and latency back in Redis',
        async () => {
          const [reg, drain, lat] = await Promise.all([plain.hget(`{${ns}}:regions`, 'extra'), plain.hget(`{${ns}}:drains`, 'primary'), plain.hlen(`{${ns}}:latency`)]);
          return (reg !== null && drain !== null && lat > 0) || `region ${String(reg)}, drain ${String(drain)}, latency entries ${lat}`;
        },
        20_000,
        50,
      );
      // Keep polling a while after the re-seed: a late empty resync would show up now.
      await new Promise((r) => setTimeout(r, 3000));
      polling = false;
      await poller;
      assert.deepEqual(served, [], `DNS answered something other than the backup region (${served.length} of ${queries} queries)`);
      assert.equal(JSON.parse((await plain.hget(`{${ns}}:regions`, 'extra'))!).endpoints[0].address, '192.0.2.3');
      assert.equal(JSON.parse((await plain.hget(`{${ns}}:drains`, 'primary'))!).reason, 'maintenance');
      assert.ok(await plain.exists(`{${ns}}:epoch`), 'the store has an epoch again');
      for (const n of nodes) {
        assert.equal((await call(n.api, 'GET', '/v1/regions/extra')).status, 200, `${n.api} still has the registration`);
        assert.equal((await call(n.api, 'GET', '/v1/regions/primary')).json.drained, true);
      }
      const reseeds = await Promise.all(nodes.map(async (n) => Number(/^gslb_store_reseeds_total\{[^}]*\} (\d+)$/m.exec(await (await fetch(`${n.api}/metrics`)).text())?.[1] ?? 'NaN')));
      assert.ok(reseeds.every((r) => r >= 0) && reseeds.some((r) => r >= 1), `re-seeds counted in /metrics: ${reseeds.join(', ')}`);
      // The re-seeded store accepts writes, and the two nodes see each other's again.
      assert.equal((await call(b.api, 'POST', '/v1/regions/primary/undrain', {})).status, 200);
      await until('undrain seen by node a', async () => ((await dnsAnswer(a)).join() === '192.0.2.1' ? true : (await dnsAnswer(a)).join()), 5000);
      t.diagnostic(`re-seeded ${Math.round(reseedMs)} ms after redis-server restarted empty; ${queries} DNS queries polled, none answered the drained region`);
    } finally {
      polling = false;
      await poller;
      plain.disconnect();
    }
  });

  test('FLUSHALL (no reconnect) is detected too, and re-seeded', async (t) => {
    const plain = new Redis({ host: '127.0.0.1', port: redis.port });
    try {
      assert.equal((await call(nodes[0]!.api, 'POST', '/v1/regions/primary/drain', {})).status, 200);
      for (const n of nodes) await until('drain seen by every node', async () => ((await dnsAnswer(n)).join() === '192.0.2.2' ? true : (await dnsAnswer(n)).join()), 5000);
      await plain.flushall();
      const ms = await until(
        'drain and registration back after FLUSHALL',
        async () => ((await plain.hget(`{${ns}}:drains`, 'primary')) !== null && (await plain.hget(`{${ns}}:regions`, 'extra')) !== null) || 'missing',
        15_000,
        50,
      );
      // And DNS keeps the drain for a while after (a late empty resync would undo it now).
      for (let i = 0; i < 30; i++) {
        for (const n of nodes) assert.equal((await dnsAnswer(n)).join(), '192.0.2.2');
        await new Promise((r) => setTimeout(r, 100));
      }
      t.diagnostic(`FLUSHALL: drain and registration back in Redis ${Math.round(ms)} ms after it`);
    } finally {
      plain.disconnect();
    }
  });
});

describe('finding 1: several nodes re-seed at once', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test('the newest copy of each entry wins, whichever node re-seeds first; no duplicates', async () => {
    const ns = `f1m-${process.pid}`;
    const reg = (name: string, updatedAt: number, address: string): RegionRegistration => ({
      name,
      location: { lat: 1, lon: 1 },
      endpoints: [{ address }],
      services: [APP],
      updatedAt,
    });
    const stores = [0, 1].map(() => new RedisStore(parseRedisUrl(redis.namespacedUrl(ns)), pino({ level: 'silent' })));
    try {
      for (const s of stores) await s.start();
      // Two last synced states that disagree (as after a write one node had heard and the other not yet).
      const older = emptyState();
      older.regions.set('r', reg('r', 1000, '192.0.2.10'));
      older.drains.set('d', { since: 1000, reason: 'old' });
      const newer = emptyState();
      newer.regions.set('r', reg('r', 2000, '192.0.2.20'));
      newer.regions.set('only-b', reg('only-b', 1500, '192.0.2.30'));
      newer.drains.set('d', { since: 2000, reason: 'new' });
      stores[0]!.lastSynced = () => older;
      stores[1]!.lastSynced = () => newer;
      const plain = new Redis({ host: '127.0.0.1', port: redis.port });
      try {
        await plain.flushall();
        await until(
          'both nodes re-seeded',
          async () => (stores.every((s) => s.reseeds >= 1) && (await plain.hlen(`{${ns}}:regions`)) === 2) || `${stores.map((s) => s.reseeds).join()}`,
          15_000,
        );
        const regions = await plain.hgetall(`{${ns}}:regions`);
        assert.deepEqual(Object.keys(regions).sort(), ['only-b', 'r']);
        assert.equal((JSON.parse(regions.r!) as RegionRegistration).updatedAt, 2000, 'the newer registration won');
        assert.equal(JSON.parse((await plain.hget(`{${ns}}:drains`, 'd'))!).reason, 'new', 'the newer drain won');
        const epoch = await plain.get(`{${ns}}:epoch`);
        assert.ok(epoch, 'one epoch');
      } finally {
        plain.disconnect();
      }
    } finally {
      for (const s of stores) await s.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Finding 3: Redis killed, readiness
// ---------------------------------------------------------------------------------------------------------

describe('finding 3: Redis killed', () => {
  let redis: RedisServer;
  let node: TestServer;
  before(async () => {
    redis = await startRedis();
    node = await startTestServer({ 'z.yaml': zoneText(STATIC_REGIONS) }, { nodeId: 'ready-node', args: ['--redis', redis.namespacedUrl(`f3-${process.pid}`)] });
  });
  after(async () => {
    await node.stop();
    await redis.stop();
  });

  test('/readyz stays 200 and says the store is down; /v1/status and /metrics say so; DNS answers', async (t) => {
    const okBody = await call(node.api, 'GET', '/readyz');
    assert.equal(okBody.status, 200);
    assert.equal((okBody.json.store as { up: boolean }).up, true);
    await redis.kill();
    const killedAt = performance.now();
    const ms = await until(
      '/readyz body says the store is down',
      async () => {
        const r = await call(node.api, 'GET', '/readyz');
        const store = r.json.store as { up?: boolean } | undefined;
        return store?.up === false || `${r.status} ${JSON.stringify(r.json)}`;
      },
      10_000,
    );
    const r = await call(node.api, 'GET', '/readyz');
    assert.equal(r.status, 200, `ready while the store is down: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.ready, true);
    const store = r.json.store as { kind: string; up: boolean; since: string; error?: string };
    assert.equal(store.kind, 'redis');
    assert.ok(!Number.isNaN(Date.parse(store.since)), `since is a time: ${store.since}`);
    assert.equal(typeof store.error, 'string');
    const status = await call(node.api, 'GET', '/v1/status');
    assert.equal((status.json.store as { up: boolean }).up, false);
    const metrics = await (await fetch(`${node.api}/metrics`)).text();
    assert.match(metrics, /^gslb_store_up\{[^}]*\} 0$/m);
    assert.deepEqual(await dnsAnswer(node), ['192.0.2.1'], 'DNS answers from the last state');
    const put = await call(node.api, 'PUT', '/v1/regions/extra', REGISTERED);
    assert.equal(put.status, 503);
    assert.match(String(put.json.error), /safe to retry/);
    t.diagnostic(`store down seen ${Math.round(ms)} ms after SIGKILL (${Math.round(performance.now() - killedAt)} ms incl. checks); PUT 503 in ${Math.round(put.ms)} ms`);
    await redis.restart();
    await until('store up again', async () => ((await call(node.api, 'GET', '/readyz')).json.store as { up: boolean }).up || 'down', 15_000);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Finding 2: a node partitioned from Redis (network namespaces)
// ---------------------------------------------------------------------------------------------------------

describe('finding 2: a node partitioned from Redis', () => {
  const whyNot = canUseNetns();

  test('detected within seconds; writes 503 fast and never applied later; own checker decides; readyz 200', { skip: whyNot ?? false, timeout: 180_000 + Number(process.env.PARTITION_HOLD_MS ?? 0) }, async (t) => {
    const lab = new NetnsLab();
    const dir = mkdtempSync(join(tmpdir(), 'gslb-partition-'));
    const children: ChildProcess[] = [];
    let node: ServeProcess | undefined;
    try {
      const nodeNs = lab.namespace('n');
      const redisNs = lab.namespace('r');
      const nodeAddr = '10.77.0.1';
      const redisAddr = '10.77.0.2';
      const link = lab.link('l', { ns: nodeNs, address: `${nodeAddr}/30` }, { ns: redisNs, address: `${redisAddr}/30` });
      const redisPort = 6379;
      const redis = spawn('ip', [...lab.wrap(redisNs).slice(1), 'redis-server', '--port', String(redisPort), '--bind', redisAddr, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
        stdio: 'ignore',
      });
      children.push(redis);
      const cli = (...args: string[]) => lab.exec(redisNs, ['redis-cli', '-h', redisAddr, '-p', String(redisPort), ...args]);
      await until('redis-server answers in its namespace', async () => (await cli('ping')).stdout.trim() === 'PONG' || 'no PONG', 10_000);

      // The endpoint's backend, inside the node's namespace: /health is 200 while the flag file exists.
      const flag = join(dir, 'healthy');
      writeFileSync(flag, '');
      const backendScript = `const fs=require('fs');require('http').createServer((q,s)=>{s.statusCode=fs.existsSync(process.argv[1])?200:503;s.end()}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`;
      const backend = spawn('ip', [...lab.wrap(nodeNs).slice(1), process.execPath, '-e', backendScript, flag], { stdio: ['ignore', 'pipe', 'ignore'] });
      children.push(backend);
      const backendPort = await new Promise<number>((resolve, reject) => {
        backend.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
        backend.once('exit', () => reject(new Error('backend exited')));
      });

      const zones = join(dir, 'zones');
      mkdirSync(zones);
      writeFileSync(
        join(zones, 'z.yaml'),
        zoneText(`
  primary:
    location: { lat: 50.11, lon: 8.68 }
    endpoints: [ { address: 127.0.0.1 } ]
    check: { type: http, port: ${backendPort}, path: /health, interval: 500ms, timeout: 400ms, rise: 1, fall: 2 }
  backup:
    location: { lat: 51.51, lon: -0.13 }
    endpoints: [ { address: 192.0.2.2 } ]
`),
      );
      assert.ok(existsSync(CLI), 'dist/cli.js is built (npx tsc -p tsconfig.json)');
      node = await startServe(
        ['--zones', zones, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', join(dir, 'data'), '--node-id', 'part', '--geoip', writeGeoFixture(dir), '--redis', `redis://${redisAddr}:${redisPort}`, '--api-token', TOKEN],
        { wrap: lab.wrap(nodeNs) },
      );
      const api = `http://127.0.0.1:${node.apiPort}`;
      const dnsPort = node.dnsPorts[0]!;
      const http = async (method: string, path: string, body?: unknown) => {
        const args = ['curl', '-s', '-m', '15', '-X', method, '-w', '\n%{http_code}', '-H', `authorization: Bearer ${TOKEN}`, `${api}${path}`];
        if (body !== undefined) args.push('-H', 'content-type: application/json', '--data', JSON.stringify(body));
        const r = await lab.exec(nodeNs, args, 20_000);
        const nl = r.stdout.lastIndexOf('\n');
        const text = r.stdout.slice(0, Math.max(0, nl));
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = { text };
        }
        return { status: Number(r.stdout.slice(nl + 1)), json, text, ms: r.ms };
      };
      const dig = async () => (await lab.exec(nodeNs, ['kdig', '+short', '+timeout=2', '+retry=0', '-p', String(dnsPort), '@127.0.0.1', APP, 'A'])).stdout.trim();
      const storeUp = async () => ((await http('GET', '/v1/status')).json.store as { up?: boolean } | undefined)?.up;

      await until('store up and the checked region answered', async () => ((await storeUp()) === true && (await dig()) === '127.0.0.1') || `dns ${await dig()}`, 15_000, 200);
      // A remote prober also sees the endpoint up. Its state stays fresh (30 s) through the partition, and
      // would tie the vote 1:1 (up) if the node kept counting it: cut off, the node's own checker decides.
      const remote = await http('POST', '/v1/probes', { prober: 'probe-x', results: [{ region: 'primary', endpoint: '127.0.0.1', ok: true }] });
      assert.equal(remote.status, 200, remote.text);

      // Cut the link on Redis' side: the node's side stays up, its packets vanish (a blackhole, no error).
      lab.setLink(redisNs, link.b, false);
      const cutAt = performance.now();
      rmSync(flag);
      const late = { ...REGISTERED, endpoints: [{ address: '192.0.2.77' }] };
      const put = await http('PUT', '/v1/regions/late', late);
      assert.equal(put.status, 503, `a write right after the cut answers 503 (got ${put.status} after ${Math.round(put.ms)} ms: ${put.text})`);
      assert.ok(put.ms < 4000, `503 within ~3 s (took ${Math.round(put.ms)} ms)`);
      assert.match(String(put.json.error), /safe to retry/);

      await until('/v1/status says the store is down', async () => (await storeUp()) === false || 'still up', 10_000, 100);
      const detectMs = performance.now() - cutAt;
      const status = (await http('GET', '/v1/status')).json.store as { up: boolean; since: string; error?: string };
      assert.equal(typeof status.error, 'string');
      assert.match((await http('GET', '/metrics')).text, /^gslb_store_up\{[^}]*\} 0$/m);
      const second = await http('PUT', '/v1/regions/late', late);
      assert.equal(second.status, 503);

      await until('own checker moves DNS to the backup while partitioned', async () => (await dig()) === '192.0.2.2' || `dns ${await dig()}`, 15_000, 200);
      const ownCheckMs = performance.now() - cutAt;
      const ready = await http('GET', '/readyz');
      assert.equal(ready.status, 200, `readyz while partitioned: ${ready.text}`);
      assert.equal((ready.json.store as { up: boolean }).up, false);
      const downWarnings = node.logs.filter((l) => l.level === 40 && /^redis/.test(String(l.msg)));
      assert.equal(downWarnings.length, 1, `one warning on down: ${JSON.stringify(downWarnings)}`);
      assert.match(String(downWarnings[0]!.msg), /unreachable/);
      // PARTITION_HOLD_MS=190000 reproduces the long partition (the default keeps the test short).
      const hold = Number(process.env.PARTITION_HOLD_MS ?? 0);
      if (hold > 0) {
        await new Promise((r) => setTimeout(r, Math.min(hold, 600_000)));
        assert.equal(await dig(), '192.0.2.2', 'still answered from the own checker after a long partition');
        assert.equal((await http('PUT', '/v1/regions/late', late)).status, 503);
      }
      const partitionedFor = performance.now() - cutAt;

      lab.setLink(redisNs, link.b, true);
      const healedAt = performance.now();
      await until('store up again after the link returns', async () => (await storeUp()) === true || 'down', 30_000, 100);
      const recoverMs = performance.now() - healedAt;
      // A resync interval (10 s) and more: a queued or retransmitted write would have landed by now.
      await new Promise((r) => setTimeout(r, 12_000));
      const lateInRedis = (await cli('HGET', '{gslb}:regions', 'late')).stdout.trim();
      assert.equal(lateInRedis, '', `the 503'd write is not in Redis (cut at ${new Date(Date.now() - (performance.now() - cutAt)).toISOString()})`);
      assert.equal((await http('GET', '/v1/regions/late')).status, 404, "the 503'd write is not served");
      const merged = (await cli('HGET', '{gslb}:probes', 'primary|127.0.0.1|part')).stdout;
      assert.match(merged, /"up":false/, `the partitioned node's own result was merged back: ${merged}`);
      // Back on the shared state, both probers count again (1 of 2 down: up), as on every other node.
      assert.match((await cli('HGET', '{gslb}:probes', 'primary|127.0.0.1|probe-x')).stdout, /"up":true/);
      // A short cut healed the moment the write answers 503: a command the node gave up on can still be in
      // the network (here the veth held it) and reach Redis once the link is back. Redis must refuse it.
      const shortCuts: string[] = [];
      for (let i = 0; i < 3; i++) {
        await until('store up before the short cut', async () => (await storeUp()) === true || 'down', 30_000, 100);
        lab.setLink(redisNs, link.b, false);
        const quick = await http('PUT', `/v1/regions/quick${i}`, late);
        lab.setLink(redisNs, link.b, true);
        assert.equal(quick.status, 503, quick.text);
        shortCuts.push(`${Math.round(quick.ms)} ms`);
      }
      await until('store up after the short cuts', async () => (await storeUp()) === true || 'down', 30_000, 100);
      await new Promise((r) => setTimeout(r, 3000));
      for (let i = 0; i < 3; i++) assert.equal((await cli('HGET', '{gslb}:regions', `quick${i}`)).stdout.trim(), '', `quick${i}: the 503'd write is not in Redis`);
      const upInfos = node.logs.filter((l) => l.level === 30 && /^redis reachable again/.test(String(l.msg)));
      assert.equal(upInfos.length, 4, 'one info on each up (the long cut and three short ones)');
      assert.equal(node.logs.filter((l) => l.level === 40 && /^redis/.test(String(l.msg))).length, 4, 'one warning per cut');
      t.diagnostic(
        `write 503 after ${Math.round(put.ms)} ms; partition detected after ${Math.round(detectMs)} ms; own checker moved DNS after ${Math.round(ownCheckMs)} ms; ` +
          `partitioned ${Math.round(partitionedFor)} ms; store up ${Math.round(recoverMs)} ms after the link returned; short cuts healed at the 503: ${shortCuts.join(', ')}`,
      );
    } catch (err) {
      if (process.env.FAULTS_DEBUG && node) for (const l of node.logs) console.log(JSON.stringify(l));
      throw err;
    } finally {
      if (node) await node.stop('SIGKILL');
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

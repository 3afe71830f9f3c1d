/**
 * Several full nodes (DNS + API + store) in one process sharing one spawned redis-server, each on its own
 * loopback ports: a change made through any node's API reaches every node's DNS answers; a node started later
 * begins with the shared state; a Redis outage turns writes into 503s and never costs a DNS answer.
 * Every address with traffic is loopback; the zone's regions have no `check`, so nothing is probed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

const Z = 'gslb.example.test';
const APP = `app.${Z}`;

// Client networks of the fixture GeoIP database (test/helpers/geo-fixture.ts), sent as ECS.
type Ecs = [address: string, prefix: number];
const LONDON: Ecs = ['81.2.69.0', 24];
const DUBLIN: Ecs = ['2001:db8:2::', 48]; // eu-west sits in Dublin
const ASHBURN: Ecs = ['8.8.8.0', 24]; // us-east sits in Ashburn
const TOKYO: Ecs = ['2001:db8:1::', 48];

const EU_WEST = ['198.51.100.10'];
const US_EAST = ['192.0.2.10', '192.0.2.11'];
const NEW_REGION = ['198.51.100.77'];

let redis: RedisServer;
let redisUrl: string;
const nodes: Record<string, TestServer> = {};
const all = () => Object.values(nodes);

async function startNode(name: string): Promise<TestServer> {
  const ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { nodeId: `node-${name}`, args: ['--redis', redisUrl, '--probers', 'probe-1,probe-2'] });
  nodes[name] = ts;
  return ts;
}

before(async () => {
  redis = await startRedis();
  redisUrl = redis.namespacedUrl('t1');
  await Promise.all(['a', 'b', 'c'].map(startNode));
});
after(async () => {
  await Promise.all(all().map((n) => n.stop().catch(() => undefined)));
  await redis.stop();
});

interface Reply {
  status: number;
  json: Record<string, unknown>;
}
async function call(node: TestServer, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${node.api}${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The A records node answers for app.gslb.example.test to a client in `ecs`, sorted. */
async function answer(node: TestServer, ecs: Ecs): Promise<string[]> {
  const r = await udpQuery(node.udp, { name: APP, type: RRType.A, edns: { options: [ecsOption(ecs[0], ecs[1])] } });
  assert.equal(r.rcode, 0);
  return r.answers.filter((a) => a.type === RRType.A).map((a) => (a.data as { address: string }).address).sort();
}

/** Poll until `check` holds; resolves with the time it took (ms), rejects with the last observation. */
async function until(what: string, check: () => Promise<true | string>, timeoutMs: number, stepMs = 5): Promise<number> {
  const start = performance.now();
  let last = '';
  for (;;) {
    const r = await check();
    if (r === true) return Math.round(performance.now() - start);
    last = r;
    if (performance.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}; last: ${last}`);
    await new Promise((res) => setTimeout(res, stepMs));
  }
}

/** Every listed node answers `ecs` with `expected` (or, as a function, something it accepts). */
async function everyNodeAnswers(list: TestServer[], ecs: Ecs, expected: string[] | ((a: string[]) => boolean), timeoutMs: number): Promise<number[]> {
  return Promise.all(
    list.map((n) =>
      until(
        `${n.server.api.port} answers ${ecs[0]} with ${String(expected)}`,
        async () => {
          const got = await answer(n, ecs);
          const ok = typeof expected === 'function' ? expected(got) : JSON.stringify(got) === JSON.stringify(expected);
          return ok || JSON.stringify(got);
        },
        timeoutMs,
      ),
    ),
  );
}

const region = (r: Reply) => r.json as { name: string; source: string; drained: boolean; health: { up: boolean; reason: string }; endpoints: { address: string; up: boolean; reason: string }[] };

async function probe(node: TestServer, prober: string, ok: boolean, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    const r = await call(node, 'POST', '/v1/probes', { prober, results: [{ region: 'eu-west', endpoint: EU_WEST[0], ok, ...(ok ? { rttMs: 4 } : { error: 'HTTP 503' }) }] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
}

describe('three nodes sharing one Redis', () => {
  test('the zone alone: every node answers by location', async () => {
    await everyNodeAnswers(all(), LONDON, EU_WEST, 1000);
    await everyNodeAnswers(all(), ASHBURN, US_EAST, 1000);
    for (const n of all()) {
      const ready = await call(n, 'GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual({ ...(ready.json.store as object), since: undefined }, { kind: 'redis', up: true, since: undefined });
    }
  });

  test('PUT /v1/regions on A: B and C answer with it within 1 s; C lists it as source api', async (t) => {
    const put = await call(nodes.a!, 'PUT', '/v1/regions/new-region', {
      location: { lat: 51.5, lon: -0.12 },
      endpoints: [{ address: '198.51.100.77' }],
      services: [APP],
    });
    assert.equal(put.status, 201, JSON.stringify(put.json));
    assert.equal(put.json.source, 'api');
    assert.deepEqual(await answer(nodes.a!, LONDON), NEW_REGION, 'the node that took the write answers with it at once');
    const [b, c] = await everyNodeAnswers([nodes.b!, nodes.c!], LONDON, NEW_REGION, 1000);
    t.diagnostic(`propagation PUT on A -> DNS answers: B ${b} ms, C ${c} ms`);
    const list = await call(nodes.c!, 'GET', '/v1/regions');
    const listed = (list.json.regions as { name: string; source: string; services: string[] }[]).find((r) => r.name === 'new-region');
    assert.ok(listed, 'listed on C');
    assert.equal(listed.source, 'api');
    assert.deepEqual(listed.services, [APP]);
  });

  test('POST /v1/probes to B: one prober of two saying down is not a quorum; both are, on every node', async (t) => {
    await everyNodeAnswers(all(), DUBLIN, EU_WEST, 1000);
    await probe(nodes.b!, 'probe-1', true);
    await probe(nodes.b!, 'probe-2', true);
    await probe(nodes.b!, 'probe-1', false, 3); // fall 3: probe-1 now says down
    for (const n of all()) {
      await until(
        'every node knows probe-1 says down',
        async () => {
          const ep = region(await call(n, 'GET', '/v1/regions/eu-west')).endpoints[0]!;
          return /up: 1 of 2 probers say down \(probe-1\), not a majority/.test(ep.reason) || ep.reason;
        },
        1000,
      );
    }
    // Give a (wrong) rebuild every chance to happen, then check nobody moved.
    await new Promise((r) => setTimeout(r, 150));
    for (const n of all()) assert.deepEqual(await answer(n, DUBLIN), EU_WEST, 'one of two is not a majority');

    await probe(nodes.b!, 'probe-2', false, 2);
    for (const n of all()) assert.deepEqual(await answer(n, DUBLIN), EU_WEST, 'probe-2 needs fall = 3 failures');
    const sentAt = performance.now();
    await probe(nodes.b!, 'probe-2', false);
    const ms = await everyNodeAnswers(all(), DUBLIN, (a) => a.length > 0 && !a.includes(EU_WEST[0]!), 2000);
    t.diagnostic(`quorum down -> every node moved away in ${Math.max(...ms)} ms (${Math.round(performance.now() - sentAt)} ms after the report was sent)`);
    const view = region(await call(nodes.c!, 'GET', '/v1/regions/eu-west'));
    assert.equal(view.health.up, false);
    assert.match(view.endpoints[0]!.reason, /down: 2 of 2 probers \(probe-1, probe-2\): HTTP 503/);
  });

  test('drain on C: every node moves away from the region', async () => {
    await everyNodeAnswers(all(), ASHBURN, US_EAST, 1000);
    const r = await call(nodes.c!, 'POST', '/v1/regions/us-east/drain', { reason: 'maintenance' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(region(r).drained, true);
    // us-east drained, eu-west down: the London API region is what is left.
    await everyNodeAnswers(all(), ASHBURN, NEW_REGION, 1000);
  });

  test('a node started after these changes begins with the shared state', async () => {
    const d = await startNode('d');
    // No waiting: what start() read is in the first snapshot.
    assert.deepEqual(await answer(d, LONDON), NEW_REGION, 'the API region');
    assert.deepEqual(await answer(d, ASHBURN), NEW_REGION, 'the drain');
    assert.deepEqual(await answer(d, DUBLIN), NEW_REGION, 'the probe reports');
    const regions = (await call(d, 'GET', '/v1/regions')).json.regions as ReturnType<typeof region>[];
    const byName = new Map(regions.map((r) => [r.name, r]));
    assert.equal(byName.get('new-region')?.source, 'api');
    assert.equal(byName.get('us-east')?.drained, true);
    assert.equal(byName.get('eu-west')?.health.up, false);
  });

  test('undrain on C: every node (the late one too) comes back; probes bring eu-west back', async () => {
    const r = await call(nodes.c!, 'POST', '/v1/regions/us-east/undrain', {});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await everyNodeAnswers(all(), ASHBURN, US_EAST, 1000);
    await probe(nodes.a!, 'probe-1', true, 2); // rise 2: probe-1 up again, 1 of 2 down is no majority
    await everyNodeAnswers(all(), DUBLIN, EU_WEST, 1000);
  });

  test('DELETE of an API region propagates; zone-file regions answer 409; unknown regions 404', async (t) => {
    const del = await call(nodes.b!, 'DELETE', '/v1/regions/new-region');
    assert.equal(del.status, 200, JSON.stringify(del.json));
    assert.deepEqual(del.json, { deleted: 'new-region' });
    const ms = await everyNodeAnswers(all(), LONDON, EU_WEST, 1000);
    t.diagnostic(`DELETE on B -> every node stopped answering with it in ${Math.max(...ms)} ms`);
    for (const n of all()) {
      await until('404 everywhere', async () => (await call(n, 'GET', '/v1/regions/new-region')).status === 404 || 'still there', 1000);
    }
    const again = await call(nodes.c!, 'DELETE', '/v1/regions/new-region');
    assert.equal(again.status, 404);
    assert.match(String(again.json.error), /new-region/);

    const delZone = await call(nodes.a!, 'DELETE', '/v1/regions/eu-west');
    assert.equal(delZone.status, 409);
    assert.match(String(delZone.json.error), /declared in .*example\.yaml/);
    const putZone = await call(nodes.a!, 'PUT', '/v1/regions/eu-west', { location: { lat: 0, lon: 0 }, endpoints: [{ address: '198.51.100.99' }], services: [APP] });
    assert.equal(putZone.status, 409);
    assert.equal(putZone.json.field, 'name');
    for (const [method, path] of [
      ['DELETE', '/v1/regions/no-such-region'],
      ['GET', '/v1/regions/no-such-region'],
      ['POST', '/v1/regions/no-such-region/drain'],
    ] as const) {
      const r = await call(nodes.b!, method, path, method === 'POST' ? {} : undefined);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(typeof r.json.error, 'string');
    }
    assert.deepEqual(await answer(nodes.a!, LONDON), EU_WEST, 'the zone region is still served');
  });

  // Last: kills and restarts the shared redis-server.
  test('Redis outage: DNS answers every query; writes 503, /readyz 200 saying the store is down; after restart writes work and propagate', async (t) => {
    const a = nodes.a!;
    const b = nodes.b!;
    let sent = 0;
    let answered = 0;
    const failures: string[] = [];
    let stop = false;
    const MAX_QUERIES = 20_000; // a bound, never reached: the workers pace themselves
    const worker = async () => {
      while (!stop && sent < MAX_QUERIES) {
        sent++;
        try {
          const got = await answer(a, LONDON);
          if (got.length === 0) failures.push('empty answer');
          else answered++;
        } catch (err) {
          failures.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const loop = Promise.all(Array.from({ length: 4 }, worker));
    try {
      await until('some queries before the outage', async () => answered >= 50 || String(answered), 5000);
      await redis.kill();
      const killedAt = performance.now();
      const atKill = answered;

      // Ready means "can answer DNS": the store being away is in the body, not a 503 (the contract).
      const ready = await until(
        '/readyz says the store is down',
        async () => {
          const r = await call(a, 'GET', '/readyz');
          return (r.status === 200 && (r.json.store as { up?: boolean }).up === false) || `${r.status} ${JSON.stringify(r.json)}`;
        },
        2000,
      );
      const readyz = await call(a, 'GET', '/readyz');
      assert.equal(readyz.json.ready, true);
      assert.equal((readyz.json.store as { kind: string }).kind, 'redis');
      assert.equal(typeof (readyz.json.store as { error?: string }).error, 'string');

      for (const n of [a, b]) {
        const started = performance.now();
        const p = await call(n, 'POST', '/v1/probes', { prober: 'probe-1', results: [{ region: 'eu-west', endpoint: EU_WEST[0], ok: false }] });
        assert.equal(p.status, 503, JSON.stringify(p.json));
        assert.match(String(p.json.error), /not stored: .*redis/);
        const put = await call(n, 'PUT', '/v1/regions/x', { location: { lat: 35.68, lon: 139.69 }, endpoints: [{ address: '198.51.100.88' }], services: [APP] });
        assert.equal(put.status, 503, JSON.stringify(put.json));
        assert.equal(typeof put.json.error, 'string');
        const drain = await call(n, 'POST', '/v1/regions/eu-west/drain', {});
        assert.equal(drain.status, 503);
        assert.ok(performance.now() - started < 1000, 'refused at once');
      }
      // Nothing of the refused writes took effect.
      assert.ok(!(await answer(a, TOKYO)).includes('198.51.100.88'));
      assert.equal(region(await call(a, 'GET', '/v1/regions/eu-west')).drained, false);

      // At least 500 queries and 1.5 s of outage (the clients' reconnect back-off grows meanwhile).
      await until('500 queries and 1.5 s of outage', async () => (answered - atKill >= 500 && performance.now() - killedAt >= 1500) || String(answered - atKill), 15_000, 20);
      const duringOutage = answered - atKill;
      const outageMs = Math.round(performance.now() - killedAt);

      await redis.restart();
      const writable = await until(
        'PUT accepted again',
        async () => {
          const put = await call(a, 'PUT', '/v1/regions/x', { location: { lat: 35.68, lon: 139.69 }, endpoints: [{ address: '198.51.100.88' }], services: [APP] });
          return put.status === 201 || `${put.status} ${JSON.stringify(put.json)}`;
        },
        8000,
        50,
      );
      await until('store up on every node', async () => {
        for (const n of all()) if (((await call(n, 'GET', '/readyz')).json.store as { up?: boolean }).up !== true) return `${n.api}: store not up`;
        return true;
      }, 5000, 50);
      assert.deepEqual(await answer(a, TOKYO), ['198.51.100.88'], 'Tokyo clients go to the region in Tokyo');
      const [onB] = await everyNodeAnswers([b], TOKYO, ['198.51.100.88'], 2000);
      await everyNodeAnswers(all(), TOKYO, ['198.51.100.88'], 2000);
      // Other writes work again too.
      const p = await call(b, 'POST', '/v1/probes', { prober: 'probe-1', results: [{ region: 'eu-west', endpoint: EU_WEST[0], ok: true }] });
      assert.equal(p.status, 200, JSON.stringify(p.json));

      while (sent < 500) await new Promise((r) => setTimeout(r, 10));
      stop = true;
      await loop;
      t.diagnostic(
        `outage: /readyz says store down after ${ready} ms; ${duringOutage} queries answered during ${outageMs} ms of outage; ` +
          `writes accepted ${writable} ms after restart; propagated to B ${onB} ms later; ${answered}/${sent} answered in total`,
      );
      assert.deepEqual(failures, [], 'every query answered');
      assert.equal(answered, sent);
      assert.ok(sent >= 500);
    } finally {
      stop = true;
      await loop;
    }
  });
});

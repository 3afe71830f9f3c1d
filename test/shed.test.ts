/**
 * Load shedding over real DNS and HTTP (issue 12): `POST /v1/load` reports, a service's `shed: { from, to }`,
 * and ECS queries from many client /24s. The share of a loaded region's clients moved to their next best region
 * grows linearly with utilization, the same clients move each time (and come back), a client is not moved onto
 * a region shedding it too unless all are, stale reports stop shedding, and two nodes on one Redis agree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, rrText, udpQuery } from './helpers/dns-client.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const Z = 'gslb.example.test';
const TOKEN = 'shed-test-token';

// 10.0.0.0/8 (not in the fixture database): near is best, then mid, then far.
const ZONE = `
${zoneHead(Z)}
regions:
  near: { location: { lat: 50.1, lon: 8.7 }, endpoints: [ { address: 192.0.2.1 } ] }
  mid: { location: { lat: 53.3, lon: -6.3 }, endpoints: [ { address: 192.0.2.2 } ] }
  far: { location: { lat: 35.7, lon: 139.7 }, endpoints: [ { address: 192.0.2.3 } ] }
services:
  app: { policy: latency, regions: [near, mid, far], shed: { from: 0.8, to: 1.0 } }
  plain: { policy: latency, regions: [near, mid, far] }
  guarded: { policy: latency, regions: [near, mid, far], max-error-ratio: 0.05 }
latency:
  - { client: "10.0.0.0/8", region: near, rtt: 10 }
  - { client: "10.0.0.0/8", region: mid, rtt: 20 }
  - { client: "10.0.0.0/8", region: far, rtt: 30 }
`;

const REGION_OF: Record<string, string> = { '192.0.2.1': 'near', '192.0.2.2': 'mid', '192.0.2.3': 'far' };
const SUBNETS = 1000;
const subnet = (i: number) => `10.${(i >> 8) & 0xff}.${i & 0xff}.0`;

/** Each client /24's region for `service`, and the ECS scopes seen. */
async function regionsOf(ts: TestServer, service = 'app'): Promise<{ regions: string[]; scopes: Set<number> }> {
  const regions: string[] = [];
  const scopes = new Set<number>();
  for (let i = 0; i < SUBNETS; i++) {
    const msg = await udpQuery(ts.udp, { name: `${service}.${Z}`, type: RRType.A, edns: { options: [ecsOption(subnet(i), 24)] } });
    const address = rrText(msg)[0]?.split(/\s+/).pop() ?? '';
    regions.push(REGION_OF[address] ?? `? ${address}`);
    const ecs = msg.edns?.options.find((o) => o.code === 8);
    if (ecs) scopes.add(ecs.data[3]!);
  }
  return { regions, scopes };
}

async function postLoad(ts: TestServer, reports: unknown, token = TOKEN): Promise<Response> {
  return fetch(`${ts.api}/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ reports }),
  });
}

/** Waits (with a deadline) until this node's snapshot holds `utilization` for `region` (undefined: none). */
async function untilUtilization(ts: TestServer, region: string, utilization: number | undefined, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < end) {
    const res = await fetch(`${ts.api}/v1/explain?name=app.${Z}&type=A&client=10.0.0.1`);
    const body = (await res.json()) as { candidates: { region: string; utilization?: number }[] };
    last = body.candidates;
    if (body.candidates.find((c) => c.region === region)?.utilization === utilization) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`utilization of ${region} did not become ${utilization} within ${deadlineMs} ms: ${JSON.stringify(last)}`);
}

async function load(ts: TestServer, reports: { region: string; utilization: number }[]): Promise<void> {
  const res = await postLoad(ts, reports);
  assert.equal(res.status, 200, await res.text());
  for (const r of reports) await untilUtilization(ts, r.region, r.utilization);
}

const indexesIn = (regions: string[], region: string) => regions.flatMap((r, i) => (r === region ? [i] : []));

function assertShare(count: number, expected: number, what: string): void {
  // Binomial over 1000 subnets: sd <= 0.016; 0.06 is almost 4 of them.
  assert.ok(Math.abs(count / SUBNETS - expected) <= 0.06, `${what}: ${count} of ${SUBNETS}, expected about ${expected * SUBNETS}`);
}

describe('load shedding over DNS', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'z.yaml': ZONE }, { args: ['--api-token', TOKEN], extras: { coalesceMs: 20 } });
  });
  after(async () => ts?.stop());

  test('the share moved grows linearly from `from` to `to`, the same clients each time, and they come back', async () => {
    const base = await regionsOf(ts);
    assert.equal(indexesIn(base.regions, 'near').length, SUBNETS, 'without reports every client is answered from near');

    await load(ts, [{ region: 'near', utilization: 0.8 }]);
    assert.equal(indexesIn((await regionsOf(ts)).regions, 'near').length, SUBNETS, 'at `from` nothing is shed');

    await load(ts, [{ region: 'near', utilization: 0.9 }]);
    const half = await regionsOf(ts);
    const moved90 = indexesIn(half.regions, 'mid');
    assertShare(moved90.length, 0.5, 'moved at 0.9');
    assert.equal(indexesIn(half.regions, 'far').length, 0, 'moved to the next best region, mid');
    assert.deepEqual([...half.scopes], [24], 'a shed decision depends on the client /24');

    await load(ts, [{ region: 'near', utilization: 0.95 }]);
    const moved95 = indexesIn((await regionsOf(ts)).regions, 'mid');
    assertShare(moved95.length, 0.75, 'moved at 0.95');
    assert.ok(
      moved90.every((i) => moved95.includes(i)),
      'everyone moved at 0.9 is still moved at 0.95',
    );

    await load(ts, [{ region: 'near', utilization: 1 }]);
    assert.equal(indexesIn((await regionsOf(ts)).regions, 'mid').length, SUBNETS, 'at `to` every client is shed');

    await load(ts, [{ region: 'near', utilization: 0.9 }]);
    assert.deepEqual(indexesIn((await regionsOf(ts)).regions, 'mid'), moved90, 'back at 0.9: the same clients as before');

    // A service without `shed` ignores load.
    assert.equal(indexesIn((await regionsOf(ts, 'plain')).regions, 'near').length, SUBNETS);
  });

  test('a client shed from near is not moved onto mid when mid sheds it too, unless every region does', async () => {
    await load(ts, [
      { region: 'near', utilization: 0.9 },
      { region: 'mid', utilization: 0.9 },
    ]);
    const both = (await regionsOf(ts)).regions;
    // Half leave near; of those, mid sheds half: a quarter of all clients go on to far.
    assertShare(indexesIn(both, 'near').length, 0.5, 'kept by near');
    assertShare(indexesIn(both, 'mid').length, 0.25, 'moved to mid');
    assertShare(indexesIn(both, 'far').length, 0.25, 'moved past mid to far');

    await load(ts, [
      { region: 'near', utilization: 1 },
      { region: 'mid', utilization: 1 },
      { region: 'far', utilization: 1 },
    ]);
    assert.equal(indexesIn((await regionsOf(ts)).regions, 'near').length, SUBNETS, 'all shedding everyone: clients stay with the best');
    await load(ts, [
      { region: 'mid', utilization: 0 },
      { region: 'far', utilization: 0 },
    ]);
  });

  test('explain shows the utilization, the share shed and whether this client was moved', async () => {
    await load(ts, [{ region: 'near', utilization: 0.9 }]);
    const explained = new Set<boolean>();
    for (let i = 0; i < 40 && explained.size < 2; i++) {
      const res = await fetch(`${ts.api}/v1/explain?name=app.${Z}&type=A&ecs=${subnet(i)}/24`);
      const body = (await res.json()) as { candidates: { region: string; utilization?: number; shedShare?: number; shedThisClient?: boolean }[]; answer: { region: string }; reason: string };
      const near = body.candidates.find((c) => c.region === 'near')!;
      assert.equal(near.utilization, 0.9);
      assert.equal(near.shedShare, 0.5);
      assert.equal(typeof near.shedThisClient, 'boolean');
      assert.equal(body.answer.region, near.shedThisClient ? 'mid' : 'near');
      explained.add(near.shedThisClient!);
    }
    assert.deepEqual([...explained].sort(), [false, true], 'some clients shed, some not');
  });

  test('POST /v1/load: the token is required, bad bodies are 400 with the field, unknown regions 400', async () => {
    assert.equal((await postLoad(ts, [{ region: 'near', utilization: 0.5 }], 'wrong')).status, 401);
    const cases: [unknown, string][] = [
      [[{ region: 'nowhere', utilization: 0.5 }], 'reports[0].region'],
      [[{ region: 'near', utilization: 0.5 }, { region: 'mid', utilization: 1.5 }], 'reports[1].utilization'],
      [[{ region: 'near', utilization: -0.1 }], 'reports[0].utilization'],
      [[{ region: 'near' }], 'reports[0].utilization'],
      [[{ region: 'near', utilization: 0.5, extra: 1 }], 'reports[0].extra'],
      [[], 'reports'],
    ];
    for (const [reports, field] of cases) {
      const res = await postLoad(ts, reports);
      const body = (await res.json()) as { error: string; field?: string };
      assert.equal(res.status, 400, JSON.stringify(reports));
      assert.equal(body.field, field, `${JSON.stringify(reports)}: ${body.error}`);
    }
  });
});

describe('passive health: max-error-ratio', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'z.yaml': ZONE }, { args: ['--api-token', TOKEN], extras: { coalesceMs: 20 } });
  });
  after(async () => ts?.stop());

  const guarded = async () => {
    const res = await fetch(`${ts.api}/v1/explain?name=guarded.${Z}&type=A&ecs=10.0.0.0/24`);
    const body = (await res.json()) as { candidates: { region: string; healthy: boolean; health: string }[]; answer: { region: string }; reason: string };
    return { near: body.candidates.find((c) => c.region === 'near')!, answer: body.answer.region, reason: body.reason };
  };

  test('a region above the ratio fails for that service, with the rise/fall hysteresis of checks (rise 2, fall 3)', async () => {
    // Each report gets its own utilization, so the test can wait for the snapshot that holds it.
    const steps: [errorRatio: number, nearUp: boolean][] = [
      [0.1, false], // the first report decides, as a prober's first check result does
      [0, false],
      [0, true], // 2 good reports: rise
      [0.2, true],
      [0.2, true],
      [0.2, false], // 3 bad reports: fall
    ];
    for (const [i, [errorRatio, up]] of steps.entries()) {
      const utilization = (i + 1) / 100;
      const res = await postLoad(ts, [{ region: 'near', utilization, errorRatio }]);
      assert.equal(res.status, 200);
      await untilUtilization(ts, 'near', utilization);
      const g = await guarded();
      assert.equal(g.near.healthy, up, `step ${i} (errorRatio ${errorRatio}): ${JSON.stringify(g)}`);
      assert.equal(g.answer, up ? 'near' : 'mid');
      if (!up) assert.match(g.near.health, /^down \(passive\): error ratio 0\.\d+ above max-error-ratio 0\.05/);
      if (!up) assert.match(g.reason, /^near down \(passive\): error ratio 0\.\d+ above max-error-ratio 0\.05, answered from mid;/);
      else assert.doesNotMatch(g.reason, /passive/);
    }
    // A service without max-error-ratio is not affected.
    const plain = (await (await fetch(`${ts.api}/v1/explain?name=plain.${Z}&type=A&ecs=10.0.0.0/24`)).json()) as { answer: { region: string } };
    assert.equal(plain.answer.region, 'near');
    assert.equal((await postLoad(ts, [{ region: 'near', utilization: 0.5, errorRatio: 2 }])).status, 400);
  });
});

describe('load reports go stale', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'z.yaml': ZONE }, { args: ['--api-token', TOKEN], extras: { coalesceMs: 20, loadFreshMs: 1500 } });
  });
  after(async () => ts?.stop());

  test('a region that stops reporting stops shedding once its report is no longer fresh', async () => {
    await load(ts, [{ region: 'near', utilization: 1 }]);
    assert.equal(indexesIn((await regionsOf(ts)).regions, 'mid').length, SUBNETS);
    // No new report: the snapshot is rebuilt when the report goes stale (no query needed to notice).
    await untilUtilization(ts, 'near', undefined);
    assert.equal(indexesIn((await regionsOf(ts)).regions, 'near').length, SUBNETS);
    const metrics = await (await fetch(`${ts.api}/metrics`)).text();
    assert.doesNotMatch(metrics, /^gslb_region_utilization\{region="near"\}/m);
  });
});

describe('load shared through Redis', () => {
  let redis: RedisServer;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    redis = await startRedis();
    const url = redis.namespacedUrl(`shed${process.pid}`);
    a = await startTestServer({ 'z.yaml': ZONE }, { nodeId: 'node-a', args: ['--redis', url, '--api-token', TOKEN], extras: { coalesceMs: 20 } });
    b = await startTestServer({ 'z.yaml': ZONE }, { nodeId: 'node-b', args: ['--redis', url, '--api-token', TOKEN], extras: { coalesceMs: 20 } });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  test('a report to one node sheds the same clients on both; the latest report replaces the previous', async () => {
    await load(a, [{ region: 'near', utilization: 0.9 }]);
    await untilUtilization(b, 'near', 0.9);
    const onA = (await regionsOf(a)).regions;
    assert.deepEqual((await regionsOf(b)).regions, onA);
    assertShare(indexesIn(onA, 'mid').length, 0.5, 'moved at 0.9');
    const metrics = await (await fetch(`${b.api}/metrics`)).text();
    assert.match(metrics, /^gslb_region_utilization\{region="near",node="node-b"\} 0\.9$/m);
    assert.match(metrics, /^gslb_service_shed_share\{service="app\.gslb\.example\.test",region="near",node="node-b"\} 0\.5$/m);

    const res = await postLoad(b, [{ region: 'near', utilization: 0.2 }]);
    assert.equal(res.status, 200);
    await untilUtilization(a, 'near', 0.2);
    assert.equal(indexesIn((await regionsOf(a)).regions, 'near').length, SUBNETS);
    const listed = (await (await fetch(`${a.api}/v1/load`)).json()) as { reports: { region: string; utilization: number; fresh: boolean }[] };
    assert.deepEqual(
      listed.reports.map((r) => [r.region, r.utilization, r.fresh]),
      [['near', 0.2, true]],
    );
  });
});

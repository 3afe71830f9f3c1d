/**
 * Cold start (`unverified: wait`) with the node's own HTTP checks against loopback backends: a new endpoint is
 * not answered until its first `rise` checks passed, unless nothing else is up; a region's option beats its
 * service's.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import type { ExplainResult } from '../src/answer/explain.js';
import { backend, closeBackend, type Backend } from './helpers/backend.js';
import { udpQuery } from './helpers/dns-client.js';
import { freePort } from './helpers/redis.js';
import { waitUntil } from './helpers/redis-ha.js';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const Z = 'cold.example.test';
const RISE = 5;
const zone = (port: number, pool: string[]) => `${zoneHead(Z)}
regions:
  pool:
    location: { lat: 51.5, lon: -0.12 }
    endpoints: [ ${pool.map((a) => `{ address: ${a} }`).join(', ')} ]
    # fall 10: two slow checks of 127.0.0.2 on a loaded machine (CI) took it down, and then the waiting newcomer
    # was answered as the only endpoint up (right, but not what this test is about).
    check: { type: http, port: ${port}, path: /health, interval: 200ms, timeout: 150ms, rise: ${RISE}, fall: 10 }
  solo:
    location: { lat: 40.7, lon: -74.0 }
    endpoints: [ { address: 127.0.0.4 } ]
    # rise 100 at 1 s: still waiting for the whole test. A generous timeout: one slow first check on a loaded
    # machine would make it down, and then 100 successes from up.
    check: { type: http, port: ${port}, path: /health, interval: 1s, timeout: 900ms, rise: 100, fall: 2 }
    unverified: wait
services:
  app:  { policy: failover, regions: [pool], answers: 4, unverified: wait }
  # latency decisions are cached per client block: the cache must let go of a decision made while waiting
  lat:  { policy: latency, regions: [pool], answers: 4, unverified: wait }
  solo: { policy: failover, regions: [solo], unverified: serve }
  both: { policy: failover, regions: [solo, pool], answers: 4, unverified: serve }
`;

let ts: TestServer;
let port: number;
const backends: Backend[] = [];
before(async () => {
  port = await freePort();
  for (const host of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) backends.push(await backend(host, port));
  ts = await startTestServer({ 'zone.yaml': zone(port, ['127.0.0.2']) });
});
after(async () => {
  await ts.stop();
  for (const b of backends) await closeBackend(b);
});

const answer = async (name: string) =>
  (await udpQuery(ts.udp, { name: `${name}.${Z}`, type: RRType.A })).answers.map((a) => (a.data as { address: string }).address).sort();

interface EndpointView {
  address: string;
  up: boolean;
  unverified: boolean;
  waiting: boolean;
}
const endpointsOf = async (region: string) => ((await (await fetch(`${ts.api}/v1/regions/${region}`)).json()) as { endpoints: EndpointView[] }).endpoints;
const explain = async (name: string) => (await (await fetch(`${ts.api}/v1/explain?name=${name}.${Z}&client=127.0.0.1`)).json()) as ExplainResult;

describe('unverified: wait', () => {
  test('a new endpoint is not answered until its first rise checks passed', async () => {
    await waitUntil('127.0.0.2 through its checks', async () => ((await endpointsOf('pool')).every((e) => e.up && !e.waiting) ? true : undefined), 20_000);
    assert.deepEqual(await answer('app'), ['127.0.0.2']);
    writeFileSync(join(ts.dir, 'zone.yaml'), zone(port, ['127.0.0.2', '127.0.0.3']));
    await waitUntil('127.0.0.3 registered', async () => ((await endpointsOf('pool')).some((e) => e.address === '127.0.0.3') ? true : undefined), 20_000);
    const newcomer = backends[1]!;
    let answeredWithout = 0;
    // Read after the answer: checks the newcomer had not received then cannot have counted for it.
    const checksWhenAnswered = await waitUntil(
      '127.0.0.3 answered',
      async () => {
        const got = await answer('app');
        const checks = newcomer.hits;
        await answer('lat');
        if (got.includes('127.0.0.3')) return checks;
        if (checks < RISE) answeredWithout++;
        return undefined;
      },
      20_000,
      25,
    );
    assert.ok(checksWhenAnswered >= RISE, `127.0.0.3 answered after ${checksWhenAnswered} checks, rise is ${RISE}`);
    assert.ok(answeredWithout > 0, 'the new endpoint was never seen waiting');
    assert.deepEqual(await answer('app'), ['127.0.0.2', '127.0.0.3']);
    await waitUntil('the latency service answers 127.0.0.3 too', async () => ((await answer('lat')).length === 2 ? true : undefined), 10_000);
  });

  test('an endpoint still waiting is answered when it is the only one (the region option beats the service)', async () => {
    const solo = (await endpointsOf('solo'))[0]!;
    assert.equal(solo.up, true);
    assert.equal(solo.waiting, true);
    assert.deepEqual(await answer('solo'), ['127.0.0.4']);
    assert.match((await explain('solo')).reason, /answering endpoints still waiting \(unverified: wait\)/);
    assert.ok(backends[2]!.hits < 100);
  });

  test('a waiting region is passed over while another is up, though it comes first in failover order', async () => {
    await waitUntil('pool through its checks', async () => ((await endpointsOf('pool')).every((e) => e.up && !e.waiting) ? true : undefined), 20_000);
    assert.deepEqual(await answer('both'), ['127.0.0.2', '127.0.0.3']);
    const ex = await explain('both');
    const solo = ex.candidates.find((c) => c.region === 'solo')!;
    assert.equal(solo.waiting, true);
    assert.equal(solo.healthy, false);
    assert.match(solo.families.ipv4.reason, /^waiting: 1 endpoint\(s\) not yet through their first checks \(unverified: wait\)/);
  });

  test('PUT /v1/regions/:name takes unverified; a bad value is a 400 naming the field', async () => {
    const put = (body: unknown) => fetch(`${ts.api}/v1/regions/late`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const body = { location: { lat: 1, lon: 1 }, endpoints: [{ address: '192.0.2.99' }], services: [`app.${Z}`] };
    const bad = await put({ ...body, unverified: 'later' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { field?: string }).field, 'unverified');
    const ok = await put({ ...body, unverified: 'wait' });
    assert.equal(ok.status, 201);
    assert.equal(((await ok.json()) as { unverified?: string }).unverified, 'wait');
    // Never checked, so it waits for ever: the service keeps answering the pool only.
    const late = await waitUntil('late is a candidate', async () => (await explain('app')).candidates.find((c) => c.region === 'late'), 10_000);
    assert.equal(late.waiting, true);
    assert.deepEqual(await answer('app'), ['127.0.0.2', '127.0.0.3']);
    assert.equal((await fetch(`${ts.api}/v1/regions/late`, { method: 'DELETE' })).status, 200);
  });
});

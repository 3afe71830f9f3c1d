/**
 * Automatic failover end to end: real HTTP backends on 127.0.0.2 and 127.0.0.3, the node's own active checks,
 * DNS answers moving away when a backend fails and back when it recovers, shorter TTLs meanwhile, and
 * when-all-down behaviour.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { udpQuery } from './helpers/dns-client.js';
import { backend, type Backend } from './helpers/backend.js';
import { freePort } from './helpers/redis.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const Z = 'gslb.example.test';
const zone = (port: number) => `
zone: ${Z}
soa: { mname: ns1.${Z}, rname: hostmaster.example.test, serial: 1, minimum: 60 }
ns: [ns1.${Z}]
records:
  ns1: { A: [192.0.2.53] }
regions:
  primary:
    location: { lat: 51.5, lon: -0.12 }
    endpoints: [ { address: 127.0.0.2 } ]
    check: { type: http, port: ${port}, path: /health, interval: 200ms, timeout: 150ms, rise: 2, fall: 2 }
  secondary:
    location: { lat: 40.7, lon: -74.0 }
    endpoints: [ { address: 127.0.0.3 } ]
    check: { type: http, port: ${port}, path: /health, interval: 200ms, timeout: 150ms, rise: 2, fall: 2 }
services:
  app:    { policy: failover, regions: [primary, secondary], ttl: 30 }
  strict: { policy: failover, regions: [primary], ttl: 30, when-all-down: none }
  open:   { policy: failover, regions: [primary], ttl: 30, when-all-down: all }
`;

let ts: TestServer;
let primary: Backend;
let secondary: Backend;

before(async () => {
  const port = await freePort();
  primary = await backend('127.0.0.2', port);
  secondary = await backend('127.0.0.3', port);
  ts = await startTestServer({ 'zone.yaml': zone(port) });
});
after(async () => {
  await ts.stop();
  primary.server.close();
  secondary.server.close();
});

async function answer(name: string): Promise<{ addresses: string[]; ttl: number | undefined }> {
  const r = await udpQuery(ts.udp, { name: `${name}.${Z}`, type: RRType.A });
  return { addresses: r.answers.map((a) => (a.data as { address: string }).address), ttl: r.answers[0]?.ttl };
}

/** Poll until `pred` holds; returns the elapsed ms, or fails after `deadlineMs`. */
async function until(pred: () => Promise<boolean>, deadlineMs = 8000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (await pred()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not reached within ${deadlineMs} ms`);
}

async function verified(region: string, up: boolean): Promise<boolean> {
  const v = (await (await fetch(`${ts.api}/v1/regions/${region}`)).json()) as { endpoints: { up: boolean; unverified: boolean }[] };
  return v.endpoints.every((e) => !e.unverified && e.up === up);
}

describe('failover driven by the node’s own checks', () => {
  test('both backends are checked and verified up; answers come from the primary with the full TTL', async () => {
    await until(async () => (await verified('primary', true)) && (await verified('secondary', true)));
    assert.ok(primary.hits > 0 && secondary.hits > 0);
    assert.deepEqual(await answer('app'), { addresses: ['127.0.0.2'], ttl: 30 });
  });

  test('a failing primary moves answers to the secondary within interval x fall + about a second', async (t) => {
    primary.healthy = false;
    const ms = await until(async () => (await answer('app')).addresses[0] === '127.0.0.3');
    t.diagnostic(`failover observed after ${ms} ms (interval 200 ms x fall 2 = 400 ms, plus check spread and batching)`);
    assert.ok(ms < 3000, `failover took ${ms} ms`);
    const moved = await answer('app');
    assert.equal(moved.ttl, 15, 'TTL halved while a candidate region is down');
    const view = (await (await fetch(`${ts.api}/v1/regions/primary`)).json()) as { health: { up: boolean; reason: string }; endpoints: { reason: string }[] };
    assert.equal(view.health.up, false);
    assert.match(view.endpoints[0]!.reason, /down: 1 of 1 probers \(test-node\): HTTP 503/);
  });

  test('when-all-down: none answers NODATA; all fails open', async () => {
    const strict = await udpQuery(ts.udp, { name: `strict.${Z}`, type: RRType.A });
    assert.equal(strict.rcode, 0);
    assert.deepEqual(strict.answers, []);
    assert.equal(strict.authority[0]?.type, RRType.SOA);
    assert.deepEqual((await answer('open')).addresses, ['127.0.0.2']);
  });

  test('a recovered primary takes traffic back after rise checks; the TTL stays short while it is flapping', async (t) => {
    primary.healthy = true;
    const ms = await until(async () => (await answer('app')).addresses[0] === '127.0.0.2');
    t.diagnostic(`recovery observed after ${ms} ms (rise 2)`);
    assert.equal((await answer('app')).ttl, 15, 'a transition within the freshness window keeps the TTL short');
  });
});

/**
 * Geofencing end to end: real DNS queries with ECS from many subnets against a server locating clients with a
 * database of its own (EU, CH, US blocks), for every policy; the fallback to regions without `serves` and
 * `geofence: strict` (NODATA with the SOA) once the EU regions are drained; the ECS scope covering the block
 * the country came from; explain naming the fenced-out regions; `serves` through `PUT /v1/regions/:name`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import type { DecodedMessage } from '../src/wire/decode.js';
import type { ExplainResult } from '../src/answer/explain.js';
import { formatExplain } from '../src/explain-cli.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { writeGeoFixture } from './helpers/geo-fixture.js';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const Z = 'fence.example.test';
const ZONE = `${zoneHead(Z)}
regions:
  eu: { location: { lat: 50.11, lon: 8.68 }, endpoints: [ { address: 198.51.100.10 } ], serves: [ "continent:EU" ] }
  ch: { location: { lat: 47.37, lon: 8.54 }, endpoints: [ { address: 198.51.100.20 } ], serves: [ CH ] }
  us: { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 192.0.2.10 } ] }
services:
  app:    { policy: latency, regions: [us, eu, ch], answers: 1 }
  near:   { policy: geo, regions: [us, eu, ch], answers: 1 }
  fo:     { policy: failover, regions: [us, eu, ch], answers: 1 }
  w:      { policy: weighted, regions: [us, eu, ch], answers: 1 }
  strict: { policy: latency, regions: [us, eu, ch], answers: 1, geofence: strict }
`;

/** Blocks of the test database: the country comes from a /16 (DE, CH) or a /12 (US). */
const GEO = [
  { network: '5.10.0.0/16', data: { country_code: 'DE', latitude: 50.11, longitude: 8.68 } },
  { network: '85.1.0.0/16', data: { country: { iso_code: 'CH' }, continent: { code: 'EU' }, location: { latitude: 47.37, longitude: 8.54 } } },
  { network: '64.0.0.0/12', data: { country: { iso_code: 'US' }, continent: { code: 'NA' }, location: { latitude: 37.77, longitude: -122.42 } } },
];
const EU = '198.51.100.10';
const CH = '198.51.100.20';
const US = '192.0.2.10';

let ts: TestServer;
before(async () => {
  const geo = writeGeoFixture(mkdtempSync(join(tmpdir(), 'gslb-fence-')), GEO);
  ts = await startTestServer({ 'zone.yaml': ZONE }, { args: ['--geoip', geo] });
});
after(() => ts.stop());

const ask = (name: string, subnet: string, prefix = 24) => udpQuery(ts.udp, { name: `${name}.${Z}`, type: RRType.A, edns: { options: [ecsOption(subnet, prefix)] } });
const addrs = (m: DecodedMessage) => m.answers.filter((r) => r.type === RRType.A).map((r) => (r.data as { address: string }).address);
const scopeOf = (m: DecodedMessage) => m.edns?.options.find((o) => o.code === 8)?.data[3];

/** Twenty /24s of a block: 5.10.0.0, 5.10.13.0, ... */
const subnets = (first: number, second: number) => Array.from({ length: 20 }, (_, i) => `${first}.${second}.${(i * 13) % 256}.0`);

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${ts.api}${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('geofencing over DNS', () => {
  for (const service of ['app', 'near', 'fo', 'w', 'strict']) {
    test(`${service}: DE clients only from eu, CH clients from eu or ch, US clients never from a fenced region`, async () => {
      for (const s of subnets(5, 10)) assert.deepEqual(addrs(await ask(service, s)), [EU], `DE ${s}`);
      for (const s of subnets(85, 1)) {
        const got = addrs(await ask(service, s));
        assert.equal(got.length, 1, `CH ${s}`);
        assert.ok([EU, CH].includes(got[0]!), `CH ${s}: ${got[0]}`);
      }
      for (const s of subnets(64, 3)) assert.deepEqual(addrs(await ask(service, s)), [US], `US ${s}`);
    });
  }

  test('latency and geo send CH clients to ch (nearest of the regions serving them)', async () => {
    for (const service of ['app', 'near']) for (const s of subnets(85, 1)) assert.deepEqual(addrs(await ask(service, s)), [CH], `${service} ${s}`);
  });

  test('an unlocated client gets regions without serves only', async () => {
    for (const service of ['app', 'fo', 'w', 'strict']) assert.deepEqual(addrs(await ask(service, '203.0.113.0')), [US], service);
  });

  test('the ECS scope covers the block that gave the country, for every policy', async () => {
    // failover and weighted do not otherwise depend on the client (scope 0): fenced, they do.
    for (const service of ['app', 'near', 'fo', 'w']) {
      assert.equal(scopeOf(await ask(service, '5.10.7.0')), 16, `${service} DE`);
      assert.equal(scopeOf(await ask(service, '85.1.200.0')), 16, `${service} CH`);
      assert.equal(scopeOf(await ask(service, '64.1.2.0')), 12, `${service} US`);
      // Never above the source prefix.
      assert.equal(scopeOf(await ask(service, '5.10.0.0', 12)), 12, `${service} DE /12`);
    }
  });

  test('explain names the fenced-out regions and why', async () => {
    const res = await fetch(`${ts.api}/v1/explain?name=fo.${Z}&ecs=64.1.2.0/24`);
    const ex = (await res.json()) as ExplainResult;
    assert.equal(ex.answer.region, 'us');
    const fenced = Object.fromEntries(ex.candidates.map((c) => [c.region, c.fenced]));
    assert.deepEqual(fenced, { us: undefined, eu: 'serves continent:EU; client in US (continent:NA)', ch: 'serves CH; client in US (continent:NA)' });
    const de = (await (await fetch(`${ts.api}/v1/explain?name=fo.${Z}&ecs=5.10.1.0/24`)).json()) as ExplainResult;
    assert.equal(de.answer.region, 'eu');
    assert.equal(de.candidates.find((c) => c.region === 'ch')!.fenced, 'serves CH; client in DE (continent:EU)');
    // gslb explain prints the same.
    const text = formatExplain(ex);
    assert.match(text, /fenced out: eu \(serves continent:EU; client in US \(continent:NA\)\)/);
    assert.match(text, /fenced out: ch \(serves CH; client in US \(continent:NA\)\)/);
  });

  test('serves through PUT /v1/regions/:name takes effect; a bad code is a 400 naming the field', async () => {
    const bad = await api('PUT', '/v1/regions/na', { location: { lat: 35.68, lon: 139.69 }, endpoints: [{ address: '203.0.113.77' }], services: [`app.${Z}`], serves: ['continent:NA', 'XX'] });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'serves[1]');
    assert.match(String(bad.json.error), /"XX" is not an ISO 3166-1 alpha-2 country code/);
    const badContinent = await api('PUT', '/v1/regions/na', { location: { lat: 35.68, lon: 139.69 }, endpoints: [{ address: '203.0.113.77' }], serves: ['continent:XY'] });
    assert.equal(badContinent.status, 400);
    assert.equal(badContinent.json.field, 'serves[0]');
    // Tokyo is far from US clients: only the fence can send them there (us has no serves).
    assert.equal(addrs(await ask('app', '64.2.0.0'))[0], US);
    const ok = await api('PUT', '/v1/regions/na', { location: { lat: 35.68, lon: 139.69 }, endpoints: [{ address: '203.0.113.77' }], services: [`app.${Z}`], serves: ['continent:NA'] });
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    const deadline = Date.now() + 15_000;
    let got: string[] = [];
    while (Date.now() < deadline && (got = addrs(await ask('app', '64.2.0.0')))[0] !== '203.0.113.77') await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, ['203.0.113.77']);
    for (const s of subnets(5, 10)) assert.deepEqual(addrs(await ask('app', s)), [EU], `DE ${s}`);
    assert.equal((await api('DELETE', '/v1/regions/na')).status, 200);
  });

  test('when the EU regions are down: fallback to regions without serves, strict answers NODATA with the SOA', async () => {
    for (const r of ['eu', 'ch']) assert.equal((await api('POST', `/v1/regions/${r}/drain`)).status, 200);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && addrs(await ask('app', '5.10.1.0'))[0] !== US) await new Promise((r) => setTimeout(r, 50));
    for (const service of ['app', 'near', 'fo', 'w']) {
      for (const s of [...subnets(5, 10), ...subnets(85, 1)]) assert.deepEqual(addrs(await ask(service, s)), [US], `${service} ${s}`);
    }
    for (const s of [...subnets(5, 10), ...subnets(85, 1)]) {
      const m = await ask('strict', s);
      assert.equal(m.rcode, 0, s);
      assert.deepEqual(m.answers, [], s);
      assert.equal(m.authority[0]?.type, RRType.SOA, s);
      assert.equal(scopeOf(m), 16, s);
    }
    // US clients are not affected by the fence.
    assert.deepEqual(addrs(await ask('strict', '64.1.0.0')), [US]);
    const ex = (await (await fetch(`${ts.api}/v1/explain?name=strict.${Z}&ecs=5.10.1.0/24`)).json()) as ExplainResult;
    assert.match(ex.reason, /no region serving DE \(continent:EU\) is up \(geofence: strict\): NODATA/);
    const fb = (await (await fetch(`${ts.api}/v1/explain?name=app.${Z}&ecs=5.10.1.0/24`)).json()) as ExplainResult;
    assert.match(fb.reason, /no region serving DE \(continent:EU\) is up: answered from regions without serves/);
  });
});

/**
 * Family-aware health and steering, end to end: real HTTP backends on 127.0.0.x and ::1 checked by the node
 * itself, real DNS packets with ECS, real API calls. A region is a candidate for A (AAAA) only when it has
 * enough up IPv4 (IPv6) endpoints; a service answers NODATA only when none of its regions has the family at
 * all, with ECS scope 0 and an SOA TTL no longer than the service's TTL (issue 8 finding 5, issue 14).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import type { DecodedMessage } from '../src/wire/decode.js';
import type { ExplainResult } from '../src/answer/explain.js';
import { loadZoneSources } from '../src/model/loader.js';
import { backend, closeBackend, type Backend } from './helpers/backend.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { FRANKFURT, NEW_YORK, SINGAPORE, subnet24, writeFamilyGeo } from './helpers/family-fixture.js';
import { freePort } from './helpers/redis.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const Z = 'fh.test';
const NY_V4 = ['127.0.0.21', '127.0.0.22'];
const API_V4 = ['127.0.0.23', '127.0.0.24'];

const zone = (port: number, closedPort: number) => `
zone: ${Z}
soa: { mname: ns1.other.test, rname: hostmaster.other.test, serial: 1, minimum: 60 }
ns: [ns1.other.test]
records:
  old: { CNAME: legacy }
regions:
  ny:
    location: { lat: 40.71, lon: -74.01 }
    endpoints: [ { address: ${NY_V4[0]} }, { address: ${NY_V4[1]} }, { address: "::1" } ]
    check: { type: http, port: ${port}, path: /health, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }
  fra:
    location: { lat: 50.11, lon: 8.68 }
    endpoints: [ { address: 198.51.100.20 }, { address: "2001:db8:3::1" } ]
  sgp:
    location: { lat: 1.35, lon: 103.82 }
    endpoints: [ { address: 203.0.113.30 } ]
  dead:
    location: { lat: 0, lon: 0 }
    endpoints: [ { address: 127.0.0.29 } ]
    check: { type: tcp, port: ${closedPort}, interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }
services:
  app:    { policy: latency, regions: [ny, fra, sgp], ttl: 30, answers: 1 }
  legacy: { policy: latency, regions: [sgp], ttl: 20 }
  strict: { policy: failover, regions: [dead], ttl: 20, when-all-down: none }
  apisvc: { policy: latency, regions: [fra], ttl: 30, answers: 1 }
`;

let ts: TestServer;
let geoDir: string;
let ipv6 = true;
const backends: Backend[] = [];
let port = 0;

before(async () => {
  port = await freePort();
  const closedPort = await freePort();
  for (const host of [...NY_V4, ...API_V4]) backends.push(await backend(host, port));
  try {
    backends.push(await backend('::1', port));
  } catch {
    ipv6 = false; // some containers have no ::1; the tests that need an IPv6 backend skip
  }
  geoDir = mkdtempSync(join(tmpdir(), 'gslb-fh-geo-'));
  ts = await startTestServer({ 'zone.yaml': zone(port, closedPort) }, { args: ['--geoip', writeFamilyGeo(geoDir)] });
});
after(async () => {
  await ts?.stop();
  for (const b of backends) await closeBackend(b);
  rmSync(geoDir, { recursive: true, force: true });
});

const backendAt = (host: string) => backends.find((b) => (b.server.address() as { address: string }).address === host)!;

function addrs(m: DecodedMessage): string[] {
  return m.answers.filter((r) => r.type === RRType.A || r.type === RRType.AAAA).map((r) => (r.data as { address: string }).address);
}
function scopeOf(m: DecodedMessage): number | undefined {
  return m.edns?.options.find((o) => o.code === 8)?.data[3];
}
const ask = (name: string, type: number, subnet: string) => udpQuery(ts.udp, { name: `${name}.${Z}`, type, edns: { options: [ecsOption(subnet, 24)] } });

async function explainFor(name: string, type: 'A' | 'AAAA', ecs: string): Promise<ExplainResult> {
  const res = await fetch(`${ts.api}/v1/explain?name=${name}.${Z}&type=${type}&ecs=${ecs}/24`);
  assert.equal(res.status, 200);
  return (await res.json()) as ExplainResult;
}

/** Poll until `pred` holds or the (generous: the machine is shared) deadline passes. */
async function until(what: string, pred: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not reached within ${deadlineMs} ms`);
}

interface RegionJson {
  health: { up: boolean; reason: string };
  minHealthy: unknown;
  endpoints: { address: string; up: boolean; unverified: boolean }[];
}
const region = async (name: string) => (await (await fetch(`${ts.api}/v1/regions/${name}`)).json()) as RegionJson;
const verified = async (name: string, address: string, up: boolean) => {
  const ep = (await region(name)).endpoints.find((e) => e.address === address);
  return ep !== undefined && !ep.unverified && ep.up === up;
};

describe('issue 14: no subnet-specific NODATA', () => {
  test('AAAA for a client of an IPv4-only region gets the nearest IPv6 endpoints, scope of the location', async () => {
    const sg = subnet24(SINGAPORE, 9);
    const aaaa = await ask('app', RRType.AAAA, sg);
    assert.equal(aaaa.rcode, 0);
    // Singapore -> Frankfurt is ~10 300 km, -> New York ~15 300 km: fra is the nearest region with IPv6.
    assert.deepEqual(addrs(aaaa), ['2001:db8:3::1'], 'not NODATA: sgp has no IPv6, the answer comes from fra');
    assert.equal(aaaa.answers[0]!.ttl, 30);
    assert.equal(scopeOf(aaaa), 16, 'the decision depended on the /16 the client was located by');
    const a = await ask('app', RRType.A, sg);
    assert.deepEqual(addrs(a), ['203.0.113.30'], 'A still from the nearest region, sgp');
    assert.equal(scopeOf(a), 16);

    const ex = await explainFor('app', 'AAAA', sg);
    assert.equal(ex.answer.region, 'fra');
    assert.match(ex.reason, /no IPv6 endpoints in sgp, answered from fra/);
    const sgp = ex.candidates.find((c) => c.region === 'sgp')!;
    assert.equal(sgp.families.ipv6.eligible, false);
    assert.equal(sgp.families.ipv6.endpoints, 0);
    assert.equal(sgp.families.ipv4.eligible, true);
    assert.equal(sgp.chosen, false);
  });

  test('a service with no IPv6 anywhere answers AAAA NODATA with scope 0 and an SOA TTL <= the service TTL', async () => {
    const r = await ask('legacy', RRType.AAAA, subnet24(NEW_YORK, 1));
    assert.equal(r.rcode, 0);
    assert.deepEqual(r.answers, []);
    assert.equal(r.authority[0]?.type, RRType.SOA);
    assert.equal(scopeOf(r), 0, 'the same NODATA holds for every client: scope 0');
    assert.ok(r.authority[0]!.ttl <= 20, `SOA TTL ${r.authority[0]!.ttl} > service TTL 20 (zone negative TTL is 60)`);
    const a = await ask('legacy', RRType.A, subnet24(NEW_YORK, 1));
    assert.deepEqual(addrs(a), ['203.0.113.30']);
    // Through a CNAME to the service: the chain, then the SOA with the same capped TTL.
    const chained = await ask('old', RRType.AAAA, subnet24(NEW_YORK, 1));
    assert.deepEqual(chained.answers.map((x) => x.type), [RRType.CNAME]);
    assert.equal(chained.authority[0]?.type, RRType.SOA);
    assert.ok(chained.authority[0]!.ttl <= 20, `SOA TTL ${chained.authority[0]!.ttl} after a CNAME`);
    assert.equal((chained.authority[0]!.data as { minimum: number }).minimum, 60, 'the SOA record itself is unchanged');
    const ex = await explainFor('legacy', 'AAAA', subnet24(NEW_YORK, 1));
    assert.match(ex.reason, /no region of the service has IPv6 endpoints/);
  });

  test('when-all-down: none answers NODATA whose SOA TTL is no longer than the service TTL in force', async () => {
    await until('dead region checked down', () => verified('dead', '127.0.0.29', false));
    const r = await ask('strict', RRType.A, subnet24(FRANKFURT, 1));
    assert.deepEqual(r.answers, []);
    assert.equal(r.authority[0]?.type, RRType.SOA);
    assert.equal(scopeOf(r), 0);
    // Every candidate is down, so the service's TTL in force is half of 20 s.
    assert.ok(r.authority[0]!.ttl <= 10, `SOA TTL ${r.authority[0]!.ttl} > the service's current TTL 10`);
  });
});

describe('issue 8 finding 5: health per family', () => {
  test('a region whose IPv4 endpoints are all down (IPv6 up) is no candidate for A; AAAA still comes from it', async (t) => {
    if (!ipv6) return t.skip('::1 is not usable on this host: no IPv6 backend can be checked');
    const ny = subnet24(NEW_YORK, 5);
    await until('ny verified up', async () => (await verified('ny', NY_V4[0]!, true)) && (await verified('ny', NY_V4[1]!, true)) && (await verified('ny', '::1', true)));
    assert.deepEqual(addrs(await ask('app', RRType.A, ny)).length, 1);
    assert.match(addrs(await ask('app', RRType.A, ny))[0]!, /^127\.0\.0\.2[12]$/);

    for (const h of NY_V4) backendAt(h).healthy = false;
    const failedAt = Date.now();
    try {
      // A NODATA here would be cached by resolvers for the zone's negative TTL while fra has healthy IPv4.
      let last: DecodedMessage | undefined;
      await until('A for New York answered from fra', async () => {
        last = await ask('app', RRType.A, ny);
        return addrs(last)[0] === '198.51.100.20';
      }).catch((err: Error) => {
        throw new Error(`${err.message}; last answer: ${JSON.stringify(addrs(last!))}, ${last!.authority.length} authority`);
      });
      t.diagnostic(`A for New York moved to fra ${Date.now() - failedAt} ms after both IPv4 backends failed (interval 200 ms, fall 1)`);
      assert.equal(scopeOf(last!), 16);
      const aaaa = await ask('app', RRType.AAAA, ny);
      assert.deepEqual(addrs(aaaa), ['::1'], 'the IPv6 endpoint is up: AAAA still from ny');
      assert.equal(scopeOf(aaaa), 16);

      const ex = await explainFor('app', 'A', ny);
      assert.equal(ex.answer.region, 'fra');
      assert.match(ex.reason, /IPv4 down in ny.*answered from fra/);
      const c = ex.candidates.find((x) => x.region === 'ny')!;
      assert.equal(c.families.ipv4.eligible, false);
      assert.match(c.families.ipv4.reason, /0\/2 endpoints up/);
      assert.equal(c.families.ipv6.eligible, true);
      const ex6 = await explainFor('app', 'AAAA', ny);
      assert.equal(ex6.answer.region, 'ny');
      assert.deepEqual(ex6.answer.addresses, ['::1']);
      const view = await region('ny');
      assert.match(view.health.reason, /IPv4 .*0\/2/);
      assert.match(view.health.reason, /IPv6 .*1\/1/);
    } finally {
      for (const h of NY_V4) backendAt(h).healthy = true;
    }
    const recoveredAt = Date.now();
    await until('A for New York back from ny', async () => /^127\.0\.0\.2[12]$/.test(addrs(await ask('app', RRType.A, ny))[0] ?? ''));
    t.diagnostic(`A for New York back from ny ${Date.now() - recoveredAt} ms after the IPv4 backends recovered (rise 1)`);
  });

  test('min-healthy per family through PUT /v1/regions: { ipv4: 2, ipv6: 1 }', async (t) => {
    if (!ipv6) return t.skip('::1 is not usable on this host: no IPv6 backend can be checked');
    const body = {
      location: { lat: 40.71, lon: -74.01 },
      endpoints: [...API_V4.map((address) => ({ address })), { address: '::1' }],
      services: ['apisvc.fh.test'],
      check: { type: 'http', port, path: '/health', interval: '200ms', timeout: '150ms', rise: 1, fall: 1 },
      'min-healthy': { ipv4: 2, ipv6: 1 },
    };
    const put = await fetch(`${ts.api}/v1/regions/nyapi`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(put.status, 201, await put.text());
    const ny = subnet24(NEW_YORK, 6);
    await until('nyapi verified up', async () => (await verified('nyapi', API_V4[0]!, true)) && (await verified('nyapi', API_V4[1]!, true)));
    assert.deepEqual((await region('nyapi')).minHealthy, { ipv4: 2, ipv6: 1 });
    await until('A from nyapi', async () => API_V4.includes(addrs(await ask('apisvc', RRType.A, ny))[0] ?? ''));

    backendAt(API_V4[0]!).healthy = false;
    try {
      // One of two IPv4 endpoints up is below ipv4: 2: A moves to fra, AAAA (1 of 1 >= 1) stays.
      await until('A for New York answered from fra', async () => addrs(await ask('apisvc', RRType.A, ny))[0] === '198.51.100.20');
      assert.deepEqual(addrs(await ask('apisvc', RRType.AAAA, ny)), ['::1']);
      const ex = await explainFor('apisvc', 'A', ny);
      assert.match(ex.candidates.find((c) => c.region === 'nyapi')!.families.ipv4.reason, /1\/2 endpoints up, min-healthy 2/);
    } finally {
      backendAt(API_V4[0]!).healthy = true;
    }

    const bad = await fetch(`${ts.api}/v1/regions/nybad`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, 'min-healthy': { ipv4: 3 } }),
    });
    assert.equal(bad.status, 400);
    const err = (await bad.json()) as { error: string; field: string };
    assert.equal(err.field, 'min-healthy.ipv4');
    assert.match(err.error, /is 3 but the region has only 2 IPv4 endpoints/);
  });
});

describe('min-healthy in zone files', () => {
  const load = (minHealthy: string) =>
    loadZoneSources([
      {
        file: 'z.yaml',
        text: `
zone: ${Z}
soa: { mname: ns1.other.test, rname: hostmaster.other.test, serial: 1 }
ns: [ns1.other.test]
regions:
  r: { location: { lat: 1, lon: 1 }, endpoints: [ { address: 192.0.2.1 }, { address: 192.0.2.2 }, { address: "2001:db8::1" } ], min-healthy: ${minHealthy} }
services:
  app: { regions: [r] }
`,
      },
    ]);

  test('a number applies to each family (capped at that family’s endpoints); a mapping sets each family', () => {
    const two = load('2');
    assert.deepEqual(two.errors, []);
    assert.deepEqual(two.zoneSet!.regions.get('r')!.minHealthy, { ipv4: 2, ipv6: 1 });
    const map = load('{ ipv4: 1, ipv6: 1 }');
    assert.deepEqual(map.errors, []);
    assert.deepEqual(map.zoneSet!.regions.get('r')!.minHealthy, { ipv4: 1, ipv6: 1 });
    const partial = load('{ ipv4: 2 }');
    assert.deepEqual(partial.errors, []);
    assert.deepEqual(partial.zoneSet!.regions.get('r')!.minHealthy, { ipv4: 2, ipv6: 1 });
  });

  test('bad values are clear errors with the line', () => {
    const cases: [string, RegExp][] = [
      ['{ ipv5: 1 }', /z\.yaml:\d+: .*unknown key "ipv5"/],
      ['{ ipv4: 0 }', /z\.yaml:\d+: .*min-healthy\.ipv4/],
      ['{ ipv4: 3 }', /z\.yaml:\d+: .*min-healthy\.ipv4: is 3 but the region has only 2 IPv4 endpoints/],
      ['{ ipv6: 2 }', /z\.yaml:\d+: .*min-healthy\.ipv6: is 2 but the region has only 1 IPv6 endpoint/],
      ['"two"', /z\.yaml:\d+: .*min-healthy/],
    ];
    for (const [value, want] of cases) {
      const r = load(value);
      assert.ok(r.errors.length > 0, `${value} accepted`);
      assert.match(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'), want, value);
    }
  });
});

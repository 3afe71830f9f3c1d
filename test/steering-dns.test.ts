/**
 * Steering end to end: real DNS packets with and without ECS, IPv4 and IPv6, against a server that locates
 * clients with a fixture database and custom networks; latency reports through the API moving traffic; and
 * explain agreeing with DNS for many random clients.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import type { DecodedMessage } from '../src/wire/decode.js';
import type { ExplainResult } from '../src/answer/explain.js';
import { seededRng } from '../src/util/rng.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const Z = 'gslb.example.test';
export const STEERING_ZONE = `
zone: ${Z}
soa: { mname: ns1.${Z}, rname: hostmaster.example.test, serial: 1, minimum: 60 }
ns: [ns1.${Z}]
records:
  ns1: { A: [192.0.2.53] }
  www: { CNAME: app }
regions:
  us-east:    { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 192.0.2.10 }, { address: 192.0.2.11 }, { address: "2001:db8::10" } ] }
  us-west:    { location: { lat: 37.77, lon: -122.42 }, endpoints: [ { address: 192.0.2.20 }, { address: "2001:db8::20" } ] }
  eu-west:    { location: { lat: 53.35, lon: -6.26 }, endpoints: [ { address: 198.51.100.10 }, { address: "2001:db8::30" } ] }
  eu-central: { location: { lat: 50.11, lon: 8.68 }, endpoints: [ { address: 198.51.100.20 } ] }
  ap-ne:      { location: { lat: 35.68, lon: 139.69 }, endpoints: [ { address: 203.0.113.10 }, { address: "2001:db8::40" } ] }
services:
  app:  { policy: latency, regions: [us-east, us-west, eu-west, eu-central, ap-ne], ttl: 30, answers: 1 }
  near: { policy: geo, regions: [us-east, us-west, eu-west, eu-central, ap-ne], ttl: 45, answers: 1 }
  fo:   { policy: failover, regions: [eu-west, us-east], ttl: 20 }
latency:
  - { client: 5.10.20.0/24, region: us-east, rtt: 1 }
`;

const NETWORKS = `
- { network: 127.0.0.0/8, lat: 35.68, lon: 139.69, country: JP }
- { network: "::1/128", country: IE }
`;

let ts: TestServer;
before(async () => {
  const networksDir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'gslb-net-'));
  const networks = join(networksDir, 'networks.yaml');
  writeFileSync(networks, NETWORKS);
  ts = await startTestServer({ 'zone.yaml': STEERING_ZONE }, { dns: '127.0.0.1:0,[::1]:0', args: ['--networks', networks] });
});
after(() => ts.stop());

function addrs(m: DecodedMessage): string[] {
  return m.answers.filter((r) => r.type === RRType.A || r.type === RRType.AAAA).map((r) => (r.data as { address: string }).address);
}
function scopeOf(m: DecodedMessage): number | undefined {
  return m.edns?.options.find((o) => o.code === 8)?.data[3];
}
const ask = (name: string, type: number, subnet?: [string, number]) =>
  udpQuery(ts.udp, { name, type, edns: { options: subnet ? [ecsOption(subnet[0], subnet[1])] : [] } });

describe('steering over DNS', () => {
  const cases: { what: string; name: string; type: number; ecs: [string, number]; want: string[]; ttl: number; scope: number }[] = [
    { what: 'London (City record) -> eu-west', name: `app.${Z}`, type: RRType.A, ecs: ['81.2.69.0', 24], want: ['198.51.100.10'], ttl: 30, scope: 24 },
    { what: 'Frankfurt (flat record, /16 with a /24 carved out) -> eu-central', name: `app.${Z}`, type: RRType.A, ecs: ['5.10.1.0', 24], want: ['198.51.100.20'], ttl: 30, scope: 20 },
    { what: 'Berlin /24 with a measured 1 ms to us-east -> us-east', name: `app.${Z}`, type: RRType.A, ecs: ['5.10.20.0', 24], want: ['192.0.2.10|192.0.2.11'], ttl: 30, scope: 24 },
    { what: 'San Francisco -> us-west', name: `app.${Z}`, type: RRType.A, ecs: ['64.0.1.0', 24], want: ['192.0.2.20'], ttl: 30, scope: 16 },
    { what: 'Australia (country only) -> ap-ne', name: `app.${Z}`, type: RRType.A, ecs: ['203.0.113.0', 24], want: ['203.0.113.10'], ttl: 30, scope: 24 },
    { what: 'Tokyo IPv6 /56 -> ap-ne AAAA, scope of the /48 data', name: `app.${Z}`, type: RRType.AAAA, ecs: ['2001:db8:1:ff00::', 56], want: ['2001:db8::40'], ttl: 30, scope: 48 },
    { what: 'Dublin IPv6 asking A -> eu-west IPv4', name: `app.${Z}`, type: RRType.A, ecs: ['2001:db8:2::', 56], want: ['198.51.100.10'], ttl: 30, scope: 48 },
    { what: 'Frankfurt AAAA: eu-central has no IPv6 -> the nearest region with IPv6 (eu-west), never NODATA', name: `app.${Z}`, type: RRType.AAAA, ecs: ['5.10.1.0', 24], want: ['2001:db8::30'], ttl: 30, scope: 20 },
    { what: 'London /16: scope never above the source prefix', name: `app.${Z}`, type: RRType.A, ecs: ['81.2.0.0', 16], want: ['192.0.2.10|192.0.2.11'], ttl: 30, scope: 16 },
    { what: 'geo policy ignores the latency table: Berlin -> eu-central', name: `near.${Z}`, type: RRType.A, ecs: ['5.10.20.0', 24], want: ['198.51.100.20'], ttl: 45, scope: 24 },
    { what: 'failover does not depend on the client: scope 0', name: `fo.${Z}`, type: RRType.A, ecs: ['81.2.69.0', 24], want: ['198.51.100.10'], ttl: 20, scope: 0 },
    { what: 'a CNAME to a service is steered too', name: `www.${Z}`, type: RRType.A, ecs: ['81.2.69.0', 24], want: ['198.51.100.10'], ttl: 30, scope: 24 },
  ];
  for (const c of cases) {
    test(c.what, async () => {
      const r = await ask(c.name, c.type, c.ecs);
      const got = addrs(r);
      assert.equal(got.length, c.want.length, `answers: ${got.join(',')}`);
      c.want.forEach((alternatives, i) => assert.ok(alternatives.split('|').includes(got[i]!), `${got[i]} in ${alternatives}`));
      const ttl = got.length > 0 ? r.answers[r.answers.length - 1]!.ttl : r.authority[0]!.ttl;
      assert.equal(ttl, c.ttl);
      assert.equal(scopeOf(r), c.scope);
    });
  }

  test('one client subnet always gets the same endpoint; many subnets spread over both', async () => {
    const first = addrs(await ask(`app.${Z}`, RRType.A, ['8.8.8.0', 24]))[0];
    for (let i = 0; i < 5; i++) assert.equal(addrs(await ask(`app.${Z}`, RRType.A, ['8.8.8.0', 24]))[0], first);
    // Unlocated subnets fall back to the first region, us-east, whose two IPv4 endpoints rotate per /24.
    const counts = new Map<string, number>();
    for (let i = 0; i < 64; i++) {
      const got = addrs(await ask(`app.${Z}`, RRType.A, [`100.64.${i}.0`, 24]));
      const again = addrs(await ask(`app.${Z}`, RRType.A, [`100.64.${i}.0`, 24]));
      assert.deepEqual(again, got, 'stable for one subnet');
      counts.set(got[0]!, (counts.get(got[0]!) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), ['192.0.2.10', '192.0.2.11']);
    assert.ok(Math.min(...counts.values()) >= 16, `spread ${JSON.stringify([...counts])}`);
  });

  test('without ECS the resolver address locates the client (custom network 127.0.0.0/8 = Tokyo)', async () => {
    const r = await udpQuery(ts.udp, { name: `app.${Z}`, type: RRType.A });
    assert.deepEqual(addrs(r), ['203.0.113.10']);
    assert.deepEqual(r.edns?.options, [], 'no ECS option is added when the query had none');
    const v6 = await udpQuery(ts.server.dns[1]!, { name: `app.${Z}`, type: RRType.AAAA, edns: false });
    assert.deepEqual(addrs(v6), ['2001:db8::30'], '::1 is mapped to Ireland');
  });

  test('a latency report through the API moves traffic', async () => {
    const before = addrs(await ask(`app.${Z}`, RRType.A, ['81.2.69.0', 24]));
    assert.deepEqual(before, ['198.51.100.10']);
    const res = await fetch(`${ts.api}/v1/latency`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ measurements: [{ client: '81.2.69.0/24', region: 'ap-ne', rttMs: 2 }] }),
    });
    assert.equal(res.status, 200);
    let moved = false;
    for (let i = 0; i < 100 && !moved; i++) {
      moved = addrs(await ask(`app.${Z}`, RRType.A, ['81.2.69.0', 24]))[0] === '203.0.113.10';
      if (!moved) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(moved, 'London now goes to ap-ne');
    // Other clients are untouched.
    assert.deepEqual(addrs(await ask(`app.${Z}`, RRType.A, ['5.10.1.0', 24])), ['198.51.100.20']);
  });
});

describe('explain agrees with DNS', () => {
  test('for 300 random clients, IPv4 and IPv6, A and AAAA, several policies', async () => {
    const rng = seededRng(12345);
    const rnd = (n: number) => Math.floor(rng() * n);
    const v4Bases = ['81.2.69', '5.10.1', '5.10.20', '8.8.8', '64.0.7', '203.0.113', '192.0.2', '100.64.3'];
    const v6Bases = ['2001:db8:1:', '2001:db8:2:', '2001:db8:99:', '2a00:1450:'];
    for (let i = 0; i < 300; i++) {
      const v6 = rnd(3) === 0;
      const prefix = v6 ? 32 + rnd(33) : 8 + rnd(25);
      const raw = v6 ? `${v6Bases[rnd(v6Bases.length)]}${rnd(65536).toString(16)}::` : `${v4Bases[rnd(v4Bases.length)]}.${rnd(256)}`;
      const name = ['app', 'near', 'fo', 'www', 'ns1'][rnd(5)]!;
      const type = rnd(2) === 0 ? 'A' : 'AAAA';
      const ex = await fetch(`${ts.api}/v1/explain?name=${name}.${Z}&type=${type}&ecs=${encodeURIComponent(`${raw}/${prefix}`)}`);
      assert.equal(ex.status, 200, await ex.clone().text());
      const e = (await ex.json()) as ExplainResult;
      const [net, len] = e.client.ecs!.split('/') as [string, string];
      const r = await ask(`${name}.${Z}`, type === 'A' ? RRType.A : RRType.AAAA, [net, Number(len)]);
      const label = `${name} ${type} ${e.client.ecs}`;
      assert.deepEqual(e.answer.addresses, addrs(r), label);
      assert.equal(e.answer.scope, scopeOf(r), label);
      if (r.answers.length > 0) assert.equal(e.answer.ttl, r.answers[r.answers.length - 1]!.ttl, label);
      if (e.service) assert.equal(e.candidates.filter((c) => c.chosen).length, 1, label);
    }
  });

  test('for a resolver address without ECS', async () => {
    const ex = (await (await fetch(`${ts.api}/v1/explain?name=app.${Z}&client=127.0.0.1`)).json()) as ExplainResult;
    const r = await udpQuery(ts.udp, { name: `app.${Z}`, type: RRType.A });
    assert.deepEqual(ex.answer.addresses, addrs(r));
    assert.equal(ex.answer.region, 'ap-ne');
    assert.equal(ex.client.via, 'resolver');
    assert.equal(ex.client.location.source, 'network 127.0.0.0/8');
  });
});

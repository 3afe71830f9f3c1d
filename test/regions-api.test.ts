/**
 * Region registration, drain and probe reports through real HTTP against a running node with the embedded
 * store: validation naming the field, status codes, token, persistence across a restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

const TOKEN = 'test-token-123';
const Z = 'gslb.example.test';
let dataDir: string;
let ts: TestServer;

async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${ts.api}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const london = { location: { lat: 51.5, lon: -0.12 }, endpoints: [{ address: '198.51.100.77' }, { address: '2001:DB8:0::77', weight: 2 }], services: [`APP.${Z}`] };

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gslb-data-'));
  ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { dataDir, args: ['--api-token', TOKEN] });
});
after(async () => {
  await ts.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PUT /v1/regions/:name', () => {
  test('creates (201), then replaces (200); the region serves its services at once', async () => {
    const created = await call('PUT', '/v1/regions/lon-1', london);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.source, 'api');
    assert.deepEqual(created.json.services, [`app.${Z}`]);
    assert.deepEqual(
      (created.json.endpoints as { address: string }[]).map((e) => e.address),
      ['198.51.100.77', '2001:db8::77'],
      'IPv6 endpoints are kept in RFC 5952 form',
    );
    const r = await udpQuery(ts.udp, { name: `app.${Z}`, type: RRType.A, edns: { options: [ecsOption('81.2.69.0', 24)] } });
    assert.deepEqual(r.answers.map((a) => (a.data as { address: string }).address), ['198.51.100.77']);
    const replaced = await call('PUT', '/v1/regions/lon-1', { ...london, weight: 3 });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.json.weight, 3);
  });

  const bad: [string, unknown, string, RegExp][] = [
    ['unknown field', { ...london, colour: 'red' }, 'colour', /unknown field "colour"/],
    ['missing location', { endpoints: london.endpoints }, 'location', /location/],
    ['latitude out of range', { ...london, location: { lat: 91, lon: 0 } }, 'location.lat', /<= 90/],
    ['no endpoints', { ...london, endpoints: [] }, 'endpoints', /fewer than 1/],
    ['bad address', { ...london, endpoints: [{ address: '10.0.0.300' }] }, 'endpoints[0].address', /not an IP address/],
    ['duplicate endpoint', { ...london, endpoints: [{ address: '10.0.0.1' }, { address: '10.0.0.1' }] }, 'endpoints[1]', /listed twice/],
    ['negative weight', { ...london, endpoints: [{ address: '10.0.0.1', weight: -1 }] }, 'endpoints[0].weight', />= 0/],
    ['unknown service', { ...london, services: ['nope.example.org'] }, 'services[0]', /not declared in any zone file/],
    ['bad check type', { ...london, check: { type: 'icmp' } }, 'check.type', /allowed values|equal to one of/],
    ['timeout over interval', { ...london, check: { type: 'tcp', port: 1, interval: '1s', timeout: '2s' } }, 'check.timeout', /must not exceed the interval/],
    ['bad duration', { ...london, check: { type: 'tcp', port: 1, interval: 'often' } }, 'check.interval', /duration/],
    ['tcp without port', { ...london, check: { type: 'tcp' } }, 'check', /tcp checks need a "port"/],
    ['not JSON', '{"location":', 'body', /JSON/i],
  ];
  for (const [what, body, field, message] of bad) {
    test(`400 naming the field: ${what}`, async () => {
      const r = await call('PUT', '/v1/regions/bad-one', body);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      if (field !== 'body') assert.equal(r.json.field, field, JSON.stringify(r.json));
      assert.match(String(r.json.error), message);
    });
  }

  test('a bad region name is 400; a zone-file region is 409', async () => {
    assert.equal((await call('PUT', '/v1/regions/Bad_Name', london)).status, 400);
    const conflict = await call('PUT', '/v1/regions/us-east', london);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.json.field, 'name');
    assert.match(String(conflict.json.error), /declared in .*example\.yaml:\d+/);
  });

  test('mutating calls need the token: none or a wrong one is 401, reads are open', async () => {
    assert.equal((await call('PUT', '/v1/regions/lon-2', london, null)).status, 401);
    assert.equal((await call('PUT', '/v1/regions/lon-2', london, 'wrong-token-1')).status, 401);
    assert.equal((await call('POST', '/v1/regions/us-east/drain', {}, null)).status, 401);
    assert.equal((await call('GET', '/v1/regions', undefined, null)).status, 200);
  });
});

describe('GET, DELETE, drain', () => {
  test('GET lists zone and API regions with health and why', async () => {
    const all = await call('GET', '/v1/regions');
    const names = (all.json.regions as { name: string }[]).map((r) => r.name);
    assert.ok(names.includes('us-east') && names.includes('lon-1'));
    const one = await call('GET', '/v1/regions/us-east');
    assert.equal(one.json.source, 'zone');
    assert.match(String(one.json.declaredAt), /example\.yaml:\d+/);
    assert.deepEqual(one.json.health, { up: true, unstable: false, reason: 'up: IPv4 2/2 endpoints up (min-healthy 1); IPv6 1/1 endpoints up (min-healthy 1)' });
    const ep = (one.json.endpoints as { address: string; up: boolean; unverified: boolean; reason: string }[])[0]!;
    assert.deepEqual([ep.address, ep.up, ep.unverified], ['192.0.2.10', true, true]);
    assert.equal((await call('GET', '/v1/regions/nowhere')).status, 404);
  });

  test('drain takes a region out of rotation (with a reason, or no body at all); undrain brings it back', async () => {
    const ask = async () =>
      (await udpQuery(ts.udp, { name: `app.${Z}`, type: RRType.A, edns: { options: [ecsOption('81.2.69.0', 24)] } })).answers.map((a) => (a.data as { address: string }).address);
    assert.deepEqual(await ask(), ['198.51.100.77']);
    const drained = await call('POST', '/v1/regions/lon-1/drain', { reason: 'maintenance' });
    assert.equal(drained.status, 200);
    assert.equal(drained.json.drained, true);
    assert.match(String((drained.json.health as { reason: string }).reason), /drained since .*: maintenance/);
    assert.ok(!(await ask()).includes('198.51.100.77'));
    const undrained = await fetch(`${ts.api}/v1/regions/lon-1/undrain`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(undrained.status, 200, await undrained.clone().text());
    assert.deepEqual(await ask(), ['198.51.100.77']);
    assert.equal((await call('POST', '/v1/regions/nowhere/drain', {})).status, 404);
  });

  test('DELETE removes an API region; zone regions are 409; unknown 404', async () => {
    await call('PUT', '/v1/regions/tmp-1', london);
    assert.equal((await call('DELETE', '/v1/regions/tmp-1')).status, 200);
    assert.equal((await call('GET', '/v1/regions/tmp-1')).status, 404);
    assert.equal((await call('DELETE', '/v1/regions/us-east')).status, 409);
    assert.equal((await call('DELETE', '/v1/regions/tmp-1')).status, 404);
  });
});

describe('POST /v1/probes', () => {
  test('reports go through rise/fall per prober and a majority of fresh probers', async () => {
    const report = (prober: string, ok: boolean) =>
      call('POST', '/v1/probes', { prober, results: [{ region: 'v4only', endpoint: '203.0.113.1', ok, rttMs: 12.5, ...(ok ? {} : { error: 'HTTP 503' }) }] });
    const first = await report('probe-fra-1', false);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.deepEqual((first.json.states as { up: boolean }[]).map((s) => s.up), [false], 'a first report decides (cold start)');
    const one = await report('probe-nyc-1', true);
    assert.equal(one.status, 200);
    // Reports are coalesced into one snapshot rebuild (about 100 ms).
    const settled = async (pred: (ep: { up: boolean; reason: string }) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const v = await call('GET', '/v1/regions/v4only');
        const e = (v.json.endpoints as { up: boolean; reason: string }[])[0]!;
        if (pred(e)) return { view: v, ep: e };
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`state never settled: ${JSON.stringify((await call("GET", "/v1/regions/v4only")).json.endpoints)}`);
    };
    let { view, ep } = await settled((e) => e.reason.includes('of 2 probers'));
    assert.equal(ep.up, true, '1 of 2 fresh probers down is not a majority');
    assert.match(ep.reason, /1 of 2 probers say down \(probe-fra-1\)/);
    await report('probe-nyc-1', false);
    await report('probe-nyc-1', false);
    await report('probe-nyc-1', false);
    ({ view, ep } = await settled((e) => !e.up));
    assert.equal(ep.up, false, 'after fall=3 failures both probers say down');
    assert.match(ep.reason, /down: 2 of 2 probers .*HTTP 503/);
    assert.equal((view.json.health as { up: boolean }).up, false);
  });

  const bad: [string, unknown, string][] = [
    ['unknown region', { prober: 'p', results: [{ region: 'nowhere', endpoint: '1.2.3.4', ok: true }] }, 'results[0].region'],
    ['endpoint not in region', { prober: 'p', results: [{ region: 'us-east', endpoint: '10.9.9.9', ok: true }] }, 'results[0].endpoint'],
    ['ok not a boolean', { prober: 'p', results: [{ region: 'us-east', endpoint: '192.0.2.10', ok: 'yes' }] }, 'results[0].ok'],
    ['bad prober name', { prober: 'a|b', results: [{ region: 'us-east', endpoint: '192.0.2.10', ok: true }] }, 'prober'],
    ['no results', { prober: 'p', results: [] }, 'results'],
    ['unknown field', { prober: 'p', results: [{ region: 'us-east', endpoint: '192.0.2.10', ok: true, colour: 1 }] }, 'results[0].colour'],
  ];
  for (const [what, body, field] of bad) {
    test(`400 naming the field: ${what}`, async () => {
      const r = await call('POST', '/v1/probes', body);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.field, field, JSON.stringify(r.json));
    });
  }
});

describe('embedded store persistence', () => {
  test('registrations and drains survive a restart of the node', async () => {
    await call('PUT', '/v1/regions/keep-me', london);
    await call('POST', '/v1/regions/keep-me/drain', { reason: 'kept' });
    await ts.stop();
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { dataDir, args: ['--api-token', TOKEN] });
    const view = await call('GET', '/v1/regions/keep-me');
    assert.equal(view.status, 200);
    assert.equal(view.json.drained, true);
    assert.equal((view.json.drain as { reason: string }).reason, 'kept');
    assert.equal((await call('GET', '/v1/regions/lon-1')).status, 200);
  });
});

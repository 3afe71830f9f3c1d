/**
 * The steering API through `app.inject()` (no listener): POST/GET /v1/latency (validation, all-or-nothing
 * batches, EWMA smoothing, the token) and GET /v1/explain (validation, static names, services by client
 * address and by ECS subnet, A and AAAA), with a snapshot manager over the example zone and a fixture MMDB.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { Reader, type Response } from 'maxmind';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/api/app.js';
import type { ApiDeps } from '../src/api/deps.js';
import { Locator } from '../src/geo/locator.js';
import type { Candidate } from '../src/routing/decision.js';
import type { ExplainResult } from '../src/answer/explain.js';
import { makeApiDeps } from './helpers/api-deps.js';
import { loadZoneSources } from '../src/model/loader.js';
import { GEO_FIXTURE } from './helpers/geo-fixture.js';
import { writeMmdb } from './helpers/mmdb-writer.js';
import { EXAMPLE_ZONE } from './helpers/server.js';


/** The example zone plus declared latency, so GET /v1/latency has something declared. */
const ZONE = `${EXAMPLE_ZONE}
latency:
  - { client: "198.51.100.0/24", region: eu-west, rtt: 12 }
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(opts: { apiToken?: string; coalesceMs?: number } = {}): Promise<{ app: FastifyInstance; deps: ApiDeps }> {
  const loaded = loadZoneSources([{ file: 'example.yaml', text: ZONE }]);
  assert.deepEqual(loaded.errors, []);
  const zs = loaded.zoneSet!;
  const locator = new Locator([{ name: 'fixture.mmdb', reader: new Reader<Response>(writeMmdb(GEO_FIXTURE)) }]);
  const deps = await makeApiDeps(zs, { locator, coalesceMs: opts.coalesceMs ?? 60_000, ...(opts.apiToken !== undefined ? { apiToken: opts.apiToken } : {}) });
  cleanups.push(deps.cleanup);
  return { app: buildApp(deps), deps };
}

interface ErrorBody {
  error: string;
  field?: string;
}

async function post(app: FastifyInstance, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/v1/latency', headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function expect400(app: FastifyInstance, payload: unknown, field: string, message?: RegExp): Promise<void> {
  const r = await post(app, payload);
  assert.equal(r.statusCode, 400, `${JSON.stringify(payload)} -> ${r.body}`);
  const body = r.json<ErrorBody>();
  assert.equal(body.field, field, r.body);
  assert.equal(typeof body.error, 'string');
  assert.ok(body.error.length > 0);
  assert.deepEqual(Object.keys(body).sort(), ['error', 'field']);
  if (message) assert.match(body.error, message);
}

async function measured(app: FastifyInstance): Promise<{ client: string; region: string; rttMs: number; samples: number }[]> {
  const r = await app.inject('/v1/latency');
  assert.equal(r.statusCode, 200);
  return r.json<{ measured: { client: string; region: string; rttMs: number; samples: number }[] }>().measured;
}

async function explainOk(app: FastifyInstance, query: string): Promise<ExplainResult> {
  const r = await app.inject(`/v1/explain?${query}`);
  assert.equal(r.statusCode, 200, r.body);
  return r.json<ExplainResult>();
}

const item = { client: '81.2.69.0/24', region: 'us-east', rttMs: 5 };

describe('POST /v1/latency: validation', () => {
  test('malformed bodies answer 400 with { error, field }', async () => {
    const { app } = await setup();
    await expect400(app, undefined, 'body');
    await expect400(app, { measurements: [item], extra: 1 }, 'extra', /unknown field "extra"/);
    await expect400(app, {}, 'measurements');
    await expect400(app, { measurements: 'all of them' }, 'measurements', /array/);
    await expect400(app, { measurements: {} }, 'measurements', /array/);
    await expect400(app, { measurements: [] }, 'measurements');
    await expect400(app, { measurements: [{ client: '81.2.69.0/24', region: 'us-east' }] }, 'measurements[0].rttMs');
    await expect400(app, { measurements: [item, { client: '81.2.69.0/24', rttMs: 1 }] }, 'measurements[1].region');
    await expect400(app, { measurements: [{ ...item, rttMs: '5' }] }, 'measurements[0].rttMs', /number/);
    await expect400(app, { measurements: [{ ...item, rttMs: -1 }] }, 'measurements[0].rttMs');
    await expect400(app, { measurements: [{ ...item, rttMs: null }] }, 'measurements[0].rttMs');
    await expect400(app, { measurements: [item, item, { ...item, port: 53 }] }, 'measurements[2].port', /unknown field "port"/);
  });

  test('a client that is not a CIDR, a country or continent:XX is a 400 on measurements[i].client', async () => {
    const { app } = await setup();
    for (const client of ['not-a-client', '10.0.0.1/33', 'continent:XX', '10.0.0.1/8', '']) {
      await expect400(app, { measurements: [item, { ...item, client }] }, 'measurements[1].client');
    }
  });

  test('an unknown region is a 400 on measurements[i].region', async () => {
    const { app } = await setup();
    await expect400(app, { measurements: [item, { ...item, region: 'mars-1' }] }, 'measurements[1].region', /mars-1/);
  });

  test('a batch with one bad item applies nothing', async () => {
    const { app, deps } = await setup();
    const v = deps.holder.version;
    await expect400(app, { measurements: [item, { client: 'DE', region: 'eu-west', rttMs: 10 }, { ...item, region: 'nowhere' }] }, 'measurements[2].region');
    await expect400(app, { measurements: [item, { ...item, client: 'continent:XX' }] }, 'measurements[1].client');
    await expect400(app, { measurements: [item, { ...item, rttMs: -5 }] }, 'measurements[1].rttMs');
    assert.deepEqual(await measured(app), []);
    assert.equal(deps.shared.cache.state.latency.size, 0);
    deps.manager.rebuildState();
    assert.equal(deps.holder.version, v + 1);
    const ex = await explainOk(app, 'name=app.gslb.example.test&client=81.2.69.77');
    assert.ok(ex.candidates.every((c) => !c.rttSource?.includes('(measured)')), JSON.stringify(ex.candidates));
  });
});

describe('POST /v1/latency: recording', () => {
  test('a good batch returns { accepted, values }; repeated reports are EWMA-smoothed (alpha 0.3)', async () => {
    const { app } = await setup();
    const first = await post(app, { measurements: [{ client: 'de', region: 'eu-west', rttMs: 100 }, { client: 'continent:eu', region: 'us-east', rttMs: 80 }] });
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), {
      accepted: 2,
      values: [
        { client: 'DE', region: 'eu-west', rttMs: 100, samples: 1 },
        { client: 'continent:EU', region: 'us-east', rttMs: 80, samples: 1 },
      ],
    });
    const second = await post(app, { measurements: [{ client: 'DE', region: 'eu-west', rttMs: 200 }] });
    assert.equal(second.statusCode, 200);
    assert.deepEqual(second.json(), { accepted: 1, values: [{ client: 'DE', region: 'eu-west', rttMs: 130, samples: 2 }] });
    // 130 + 0.3 * (0 - 130) = 91
    const third = await post(app, { measurements: [{ client: 'DE', region: 'eu-west', rttMs: 0 }] });
    assert.deepEqual(third.json<{ values: unknown[] }>().values, [{ client: 'DE', region: 'eu-west', rttMs: 91, samples: 3 }]);
    // The same key for another region is another value.
    const other = await post(app, { measurements: [{ client: 'DE', region: 'us-east', rttMs: 50 }] });
    assert.deepEqual(other.json<{ values: unknown[] }>().values, [{ client: 'DE', region: 'us-east', rttMs: 50, samples: 1 }]);

    const table = await app.inject('/v1/latency');
    assert.equal(table.statusCode, 200);
    const body = table.json<{ declared: unknown[]; measured: { client: string; region: string; rttMs: number; samples: number; updatedAt: string }[] }>();
    assert.deepEqual(body.declared, [{ client: '198.51.100.0/24', region: 'eu-west', rttMs: 12 }]);
    assert.deepEqual(
      body.measured.map(({ client, region, rttMs, samples }) => ({ client, region, rttMs, samples })),
      [
        { client: 'DE', region: 'eu-west', rttMs: 91, samples: 3 },
        { client: 'continent:EU', region: 'us-east', rttMs: 80, samples: 1 },
        { client: 'DE', region: 'us-east', rttMs: 50, samples: 1 },
      ],
    );
    for (const m of body.measured) assert.ok(!Number.isNaN(Date.parse(m.updatedAt)), m.updatedAt);
  });

  test('after a rebuild the snapshot version increases and explain uses the measured value', async () => {
    const { app, deps } = await setup();
    const before = await explainOk(app, 'name=app.gslb.example.test&client=81.2.69.77');
    // London: Dublin (eu-west) is nearer than Ashburn (us-east).
    assert.equal(before.answer.region, 'eu-west');
    const v = deps.holder.version;
    assert.equal(before.snapshotVersion, v);

    const r = await post(app, { measurements: [{ client: '81.2.69.0/24', region: 'us-east', rttMs: 3 }] });
    assert.equal(r.statusCode, 200);
    assert.equal(deps.holder.version, v, 'coalesced: not yet visible');
    deps.manager.rebuildState();
    assert.ok(deps.holder.version > v);

    const after = await explainOk(app, 'name=app.gslb.example.test&client=81.2.69.77');
    assert.equal(after.snapshotVersion, deps.holder.version);
    const us = after.candidates.find((c) => c.region === 'us-east')!;
    assert.equal(us.rttMs, 3);
    assert.match(us.rttSource ?? '', /\(measured\)/);
    assert.equal(us.rttSource, 'cidr 81.2.69.0/24 (measured)');
    assert.equal(us.chosen, true);
    assert.equal(after.answer.region, 'us-east');
    assert.deepEqual(after.answer.addresses.sort(), ['192.0.2.10', '192.0.2.11']);
  });

  test('without an explicit rebuild the coalesced rebuild makes the change visible', async () => {
    const { app, deps } = await setup({ coalesceMs: 20 });
    const v = deps.holder.version;
    const r = await post(app, { measurements: [{ client: 'GB', region: 'us-east', rttMs: 1 }] });
    assert.equal(r.statusCode, 200);
    const deadline = Date.now() + 5000;
    while (deps.holder.version === v && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.ok(deps.holder.version > v, 'rebuilt');
    const ex = await explainOk(app, 'name=app.gslb.example.test&client=81.2.69.77');
    const us = ex.candidates.find((c) => c.region === 'us-east')!;
    assert.equal(us.rttSource, 'country GB (measured)');
    assert.equal(ex.answer.region, 'us-east');
  });

  test('with an API token, POST needs it; GET /v1/latency and /v1/explain do not', async () => {
    const { app } = await setup({ apiToken: 'tok-123' });
    const payload = { measurements: [item] };
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'tok-123' }]) {
      const r = await post(app, payload, headers);
      assert.equal(r.statusCode, 401, JSON.stringify(headers));
      assert.match(r.json<ErrorBody>().error, /bearer token/);
    }
    // Nothing was recorded by the refused calls.
    assert.deepEqual(await measured(app), []);
    const ok = await post(app, payload, { authorization: 'Bearer tok-123' });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json<{ accepted: number }>().accepted, 1);
    assert.equal((await app.inject('/v1/latency')).statusCode, 200);
    assert.equal((await app.inject('/v1/explain?name=app.gslb.example.test&client=81.2.69.77')).statusCode, 200);
  });
});

describe('GET /v1/explain: validation', () => {
  test('bad queries answer 400 with the field; names outside every zone 404', async () => {
    const { app } = await setup();
    const cases: [query: string, status: number, field: string][] = [
      ['', 400, 'name'],
      ['client=81.2.69.77', 400, 'name'],
      ['name=app.gslb.example.test&type=MX', 400, 'type'],
      ['name=app.gslb.example.test&type=TXT', 400, 'type'],
      ['name=app.gslb.example.test&client=not-an-ip', 400, 'client'],
      ['name=app.gslb.example.test&client=81.2.69.0%2F24', 400, 'client'],
      ['name=app.gslb.example.test&ecs=nope', 400, 'ecs'],
      ['name=app.gslb.example.test&ecs=81.2.69.0%2F33', 400, 'ecs'],
      ['name=app.gslb.example.test&ecs=81.2.69.0%2Fx', 400, 'ecs'],
      ['name=app.gslb.example.test&ecs=81.2.69.0%2F24%2F8', 400, 'ecs'],
      ['name=app.gslb.example.test&ecs=%2F24', 400, 'ecs'],
      ['name=app.gslb.example.test&ecs=2001%3Adb8%3A%3A%2F129', 400, 'ecs'],
      ['name=app.gslb.example.test&bogus=1', 400, 'bogus'],
      ['name=bad..name', 400, 'name'],
      ['name=www.example.org&client=81.2.69.77', 404, 'name'],
      ['name=gslb.example.test.evil&client=81.2.69.77', 404, 'name'],
    ];
    for (const [query, status, field] of cases) {
      const r = await app.inject(`/v1/explain?${query}`);
      assert.equal(r.statusCode, status, `${query} -> ${r.body}`);
      const body = r.json<ErrorBody>();
      assert.equal(body.field, field, `${query} -> ${r.body}`);
      assert.equal(typeof body.error, 'string');
    }
  });
});

describe('GET /v1/explain: decisions', () => {
  function oneChosen(candidates: Candidate[]): Candidate {
    const chosen = candidates.filter((c) => c.chosen);
    assert.equal(chosen.length, 1, JSON.stringify(candidates));
    return chosen[0]!;
  }

  test('a static name: no candidates, the zone\'s addresses', async () => {
    const { app } = await setup();
    const ex = await explainOk(app, 'name=ns1.gslb.example.test&client=81.2.69.77');
    assert.deepEqual(ex.candidates, []);
    assert.deepEqual(ex.answer.addresses, ['192.0.2.53']);
    assert.equal(ex.answer.region, null);
    assert.equal(ex.answer.ttl, 300);
    assert.equal(ex.answer.rcode, 'NOERROR');
    assert.equal(ex.service, undefined);
    assert.equal(ex.reason, 'static records');
    const v6 = await explainOk(app, 'name=NS2.gslb.example.test.&type=aaaa&client=81.2.69.77');
    assert.equal(v6.name, 'ns2.gslb.example.test');
    assert.equal(v6.type, 'AAAA');
    assert.deepEqual(v6.answer.addresses, ['2001:db8::54']);
    // A name in the zone without records: NXDOMAIN, still 200 (it is an answer).
    const nx = await explainOk(app, 'name=nothing.gslb.example.test&client=81.2.69.77');
    assert.equal(nx.answer.rcode, 'NXDOMAIN');
    assert.deepEqual(nx.answer.addresses, []);
    assert.deepEqual(nx.candidates, []);
  });

  test('a service for a client address: location, one candidate per region, one chosen, the answer', async () => {
    const { app, deps } = await setup();
    const ex = await explainOk(app, 'name=app.gslb.example.test&client=81.2.69.77');
    assert.equal(ex.name, 'app.gslb.example.test');
    assert.equal(ex.type, 'A');
    assert.equal(ex.snapshotVersion, deps.holder.version);
    assert.deepEqual(ex.client, {
      address: '81.2.69.77',
      via: 'resolver',
      location: { lat: 51.51, lon: -0.13, country: 'GB', continent: 'EU', accuracyKm: 20, prefixLength: 24, source: 'mmdb fixture.mmdb' },
      locatedBy: { by: 'mmdb', database: 'fixture.mmdb', databaseType: 'Test-DB', network: '81.2.69.0/24' },
    });
    assert.deepEqual(ex.service, { name: 'app.gslb.example.test', policy: 'latency', ttl: 30, answers: 2, whenAllDown: 'all', toleranceMs: 0 });
    assert.deepEqual(
      ex.candidates.map((c) => c.region),
      ['us-east', 'eu-west'],
    );
    for (const c of ex.candidates) {
      assert.equal(c.healthy, true);
      assert.equal(typeof c.rttMs, 'number');
      assert.match(c.rttSource ?? '', /^distance \d+ km$/);
    }
    const chosen = oneChosen(ex.candidates);
    assert.equal(chosen.region, 'eu-west');
    assert.ok(chosen.rttMs! < ex.candidates[0]!.rttMs!);
    assert.deepEqual(ex.answer, { rcode: 'NOERROR', region: 'eu-west', addresses: ['198.51.100.10'], ttl: 30, scope: 24 });
    assert.equal(ex.failOpen, false);
    assert.match(ex.reason, /lowest estimated RTT/);
  });

  test('a service for an ECS subnet: host bits are masked, the scope is at most the source', async () => {
    const { app } = await setup();
    const ex = await explainOk(app, 'name=app.gslb.example.test&ecs=81.2.69.77%2F24');
    assert.deepEqual(ex.client, {
      address: '81.2.69.0',
      ecs: '81.2.69.0/24',
      via: 'ecs',
      location: { lat: 51.51, lon: -0.13, country: 'GB', continent: 'EU', accuracyKm: 20, prefixLength: 24, source: 'mmdb fixture.mmdb' },
      locatedBy: { by: 'mmdb', database: 'fixture.mmdb', databaseType: 'Test-DB', network: '81.2.69.0/24' },
    });
    assert.equal(oneChosen(ex.candidates).region, 'eu-west');
    assert.deepEqual(ex.answer, { rcode: 'NOERROR', region: 'eu-west', addresses: ['198.51.100.10'], ttl: 30, scope: 24 });

    // A shorter source than the data: the scope never exceeds it.
    const wide = await explainOk(app, 'name=app.gslb.example.test&ecs=81.2.69.0%2F22');
    assert.equal(wide.client.ecs, '81.2.68.0/22');
    assert.ok(wide.answer.scope <= 22, `scope ${wide.answer.scope}`);

    // A bare address as ecs is a /24; the declared latency entry for 198.51.100.0/24 decides (scope 24).
    const declared = await explainOk(app, 'name=app.gslb.example.test&ecs=198.51.100.200');
    assert.equal(declared.client.ecs, '198.51.100.0/24');
    const eu = declared.candidates.find((c) => c.region === 'eu-west')!;
    assert.deepEqual([eu.rttMs, eu.rttSource], [12, 'cidr 198.51.100.0/24 (zone)']);
    assert.equal(declared.answer.scope, 24);

    // ECS wins over the client address when both are given.
    const both = await explainOk(app, 'name=app.gslb.example.test&ecs=8.8.8.0%2F24&client=81.2.69.77');
    assert.equal(both.client.via, 'ecs');
    assert.equal(both.client.location.country, 'US');
    assert.equal(both.answer.region, 'us-east');
  });

  test('type=AAAA answers with IPv6 addresses; IPv6 clients are located too', async () => {
    const { app } = await setup();
    const ex = await explainOk(app, 'name=app.gslb.example.test&type=AAAA&client=8.8.8.8');
    assert.equal(ex.type, 'AAAA');
    assert.equal(oneChosen(ex.candidates).region, 'us-east');
    assert.deepEqual(ex.answer.addresses, ['2001:db8::10']);
    assert.equal(ex.answer.region, 'us-east');
    assert.equal(ex.answer.ttl, 30);

    const dublin = await explainOk(app, 'name=app.gslb.example.test&type=A&client=2001:db8:2::1');
    assert.equal(dublin.client.location.country, 'IE');
    assert.equal(dublin.client.location.prefixLength, 48);
    assert.equal(dublin.answer.region, 'eu-west');

    const v6ecs = await explainOk(app, 'name=app.gslb.example.test&type=AAAA&ecs=2001%3Adb8%3A1%3A%3Aff%2F48');
    assert.equal(v6ecs.client.ecs, '2001:db8:1::/48');
    assert.equal(v6ecs.client.location.country, 'JP');
    assert.equal(v6ecs.answer.scope, 48);
  });

  test('an unlocatable client: the first region in list order, location source none', async () => {
    const { app } = await setup();
    const ex = await explainOk(app, 'name=app.gslb.example.test&client=127.0.0.1');
    assert.equal(ex.client.location.source, 'none');
    assert.equal(oneChosen(ex.candidates).region, 'us-east');
    assert.match(ex.reason, /location unknown/);
    // Without client or ecs the caller's address is used (inject: 127.0.0.1).
    const self = await explainOk(app, 'name=app.gslb.example.test');
    assert.equal(self.client.address, '127.0.0.1');
    assert.equal(self.client.via, 'resolver');
  });
});

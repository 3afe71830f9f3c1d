/** The HTTP API shell: liveness, readiness, error format, token on mutating routes. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../src/api/app.js';
import type { ApiDeps } from '../src/api/deps.js';
import { makeApiDeps } from './helpers/api-deps.js';
import { loadZoneSources } from '../src/model/loader.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';


async function depsWith(zones: string[], apiToken: string | undefined, notReadyReason: () => string | undefined = () => undefined): Promise<ApiDeps> {
  const zs = loadZoneSources(zones.map((text, i) => ({ file: `z${i}.yaml`, text }))).zoneSet!;
  const deps = await makeApiDeps(zs, { notReadyReason, ...(apiToken !== undefined ? { apiToken } : {}) });
  cleanups.push(deps.cleanup);
  return deps;
}
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('API (inject)', () => {
  test('healthz is always ok; readyz is 200 with zones and 503 without', async () => {
    const app = buildApp(await depsWith([EXAMPLE_ZONE], undefined));
    assert.deepEqual((await app.inject('/healthz')).json(), { status: 'ok' });
    const ready = await app.inject('/readyz');
    assert.equal(ready.statusCode, 200);
    const since = (ready.json() as { store: { since: string } }).store.since;
    assert.ok(!Number.isNaN(Date.parse(since)), `store.since is a time: ${since}`);
    assert.deepEqual(ready.json(), { ready: true, zones: 1, snapshotVersion: 1, store: { kind: 'embedded', up: true, since } });
    const empty = buildApp(await depsWith([], undefined, () => 'no zones loaded'));
    const notReady = await empty.inject('/readyz');
    assert.equal(notReady.statusCode, 503);
    const since2 = (notReady.json() as { store: { since: string } }).store.since;
    assert.deepEqual(notReady.json(), { ready: false, zones: 0, snapshotVersion: 1, store: { kind: 'embedded', up: true, since: since2 }, reason: 'no zones loaded' });
  });

  test('unknown routes answer 404 in the error format', async () => {
    const app = buildApp(await depsWith([EXAMPLE_ZONE], undefined));
    const r = await app.inject('/v1/nothing');
    assert.equal(r.statusCode, 404);
    assert.deepEqual(r.json(), { error: 'no route GET /v1/nothing' });
  });

  test('with --api-token, mutating calls need the bearer token; reads do not', async () => {
    const app = buildApp(await depsWith([EXAMPLE_ZONE], 's3cret-token'));
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: 's3cret-token' }]) {
      const r = await app.inject({ method: 'POST', url: '/v1/anything', headers, payload: {} });
      assert.equal(r.statusCode, 401);
      assert.match(r.json<{ error: string }>().error, /bearer token/);
    }
    const ok = await app.inject({ method: 'POST', url: '/v1/anything', headers: { authorization: 'Bearer s3cret-token' }, payload: {} });
    assert.equal(ok.statusCode, 404, 'past authentication');
    assert.equal((await app.inject('/healthz')).statusCode, 200);
  });
});

describe('API (real HTTP against a running server)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE });
  });
  after(() => ts.stop());

  test('readyz follows the zone set: 503 while none is loaded, 200 once one is; removing the last is refused', async () => {
    const empty = await startTestServer({});
    try {
      const r = await fetch(`${empty.api}/readyz`);
      assert.equal(r.status, 503);
      assert.equal(((await r.json()) as { reason: string }).reason, 'no zones loaded');
      writeFileSync(join(empty.dir, 'example.yaml'), EXAMPLE_ZONE);
      assert.equal(empty.server.reload().ok, true);
      assert.equal((await fetch(`${empty.api}/readyz`)).status, 200);
    } finally {
      await empty.stop();
    }
    assert.equal((await fetch(`${ts.api}/readyz`)).status, 200);
    rmSync(join(ts.dir, 'example.yaml'));
    assert.equal(ts.server.reload().reason, 'no_zones', 'a reload that removes every zone is refused');
    assert.equal((await fetch(`${ts.api}/readyz`)).status, 200, 'the last good configuration keeps serving');
    writeFileSync(join(ts.dir, 'example.yaml'), EXAMPLE_ZONE);
  });
});

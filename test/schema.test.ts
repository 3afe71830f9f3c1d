/**
 * One schema per thing: the same definition (src/model/schema/, plus the rules JSON Schema cannot say) rejects a
 * bad value in a zone file, with `file:line`, and in a `PUT /v1/regions/:name` body, with a 400 naming the
 * field; the values the stores read back go through it too (readRegionJson); and /openapi.json publishes it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/api/app.js';
import { loadZoneSources, readRegionJson } from '../src/model/loader.js';
import { RegionBodySchema } from '../src/model/schema/region.js';
import { formatError } from '../src/model/types.js';
import { makeApiDeps } from './helpers/api-deps.js';
import { EXAMPLE_ZONE } from './helpers/server.js';

/** A zone whose region `r` has `check` on line 9 (each of `checkLines` on its own line from there). */
function zoneWithCheck(...checkLines: string[]): string {
  return [
    'zone: z.test', // 1
    'soa: { mname: ns.example.org., rname: h.example.org., serial: 1 }', // 2
    'ns: [ns.example.org.]', // 3
    'regions:', // 4
    '  r:', // 5
    '    location: { lat: 50, lon: 8 }', // 6
    '    endpoints: [ { address: 192.0.2.9 }, { address: "2001:db8::9" } ]', // 7
    '    check:', // 8
    ...checkLines.map((l) => `      ${l}`), // 9...
    '',
  ].join('\n');
}

function zoneErrors(text: string): string[] {
  const result = loadZoneSources([{ file: 'z.yaml', text }]);
  if (result.errors.length === 0) assert.ok(result.zoneSet);
  return result.errors.map(formatError);
}

const london = { location: { lat: 51.5, lon: -0.12 }, endpoints: [{ address: '198.51.100.77' }, { address: '2001:db8::77' }] };

let app: FastifyInstance;
let cleanup: () => Promise<void>;
before(async () => {
  const loaded = loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE }]);
  assert.deepEqual(loaded.errors, []);
  const deps = await makeApiDeps(loaded.zoneSet!);
  cleanup = deps.cleanup;
  app = buildApp(deps);
});
after(async () => {
  await app.close();
  await cleanup();
});

async function put(body: unknown): Promise<{ status: number; json: { error?: string; field?: string } }> {
  const r = await app.inject({ method: 'PUT', url: '/v1/regions/schema-test', payload: body as object });
  return { status: r.statusCode, json: r.json<{ error?: string; field?: string }>() };
}

describe('one rule, enforced for zone files and API bodies alike', () => {
  const cases: { what: string; check: Record<string, unknown>; lines: string[]; field: string; zoneError: string; apiError: RegExp }[] = [
    {
      what: 'fall: 0 (the schema: rise and fall are 1-100)',
      check: { type: 'http', fall: 0 },
      lines: ['type: http', 'fall: 0'],
      field: 'check.fall',
      zoneError: 'z.yaml:10: regions.r.check.fall: must be an integer from 1 to 100',
      apiError: />= 1/,
    },
    {
      what: 'port: 0 (a rule: a check needs a port it can connect to)',
      check: { type: 'tcp', port: 0 },
      lines: ['type: tcp', 'port: 0'],
      field: 'check.port',
      zoneError: 'z.yaml:10: regions.r.check.port: must be a port from 1 to 65535 (nothing can be checked on port 0)',
      apiError: /port from 1 to 65535/,
    },
    {
      what: 'a timeout longer than the interval (a rule over two fields)',
      check: { type: 'http', interval: '1s', timeout: '2s' },
      lines: ['type: http', 'interval: 1s', 'timeout: 2s'],
      field: 'check.timeout',
      zoneError: 'z.yaml:11: regions.r.check.timeout: must not exceed the interval',
      apiError: /must not exceed the interval/,
    },
  ];
  for (const c of cases) {
    test(c.what, async () => {
      assert.deepEqual(zoneErrors(zoneWithCheck(...c.lines)), [c.zoneError]);
      const r = await put({ ...london, check: c.check });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.field, c.field);
      assert.match(String(r.json.error), c.apiError);
    });
  }

  test('what one place accepts, the other does too: a lone expect.status is a list of one', async () => {
    assert.deepEqual(zoneErrors(zoneWithCheck('type: http', 'expect: { status: 204 }')), []);
    const r = await put({ ...london, check: { type: 'http', expect: { status: 204 } } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const view = await app.inject('/v1/regions/schema-test');
    assert.deepEqual(view.json<{ check: { expectStatus: number[] } }>().check.expectStatus, [204]);
  });
});

describe('readRegionJson: a plain value (a stored registration) through the same schema and rules', () => {
  test('a valid value is a region; the API spelling of IPv6 is RFC 5952', () => {
    const { region, errors } = readRegionJson('lon-1', { ...london, endpoints: [{ address: '2001:DB8:0::77', weight: 2 }] }, 'redis');
    assert.deepEqual(errors, []);
    assert.equal(region?.source, 'redis');
    assert.deepEqual(region?.endpoints, [{ address: '2001:db8::77', family: 6, weight: 2 }]);
  });

  test('errors name the field, and the message starts with it', () => {
    const { region, errors } = readRegionJson('lon-1', { ...london, endpoints: [{ address: '10.0.0.300' }], check: { type: 'http', rise: 'two' } });
    assert.equal(region, undefined);
    assert.deepEqual(
      errors.map((e) => [e.field, e.message]),
      [
        ['check.rise', 'check.rise: must be an integer from 1 to 100'],
        ['endpoints[0].address', 'endpoints[0].address: "10.0.0.300" is not an IP address or a fully qualified hostname'],
      ],
    );
  });

  test('something that is not a region at all is one error, not an exception', () => {
    for (const junk of [null, 'a string', 42, [london]]) {
      const { region, errors } = readRegionJson('lon-1', junk);
      assert.equal(region, undefined);
      assert.deepEqual(
        errors.map((e) => e.message),
        ['must be a mapping'],
        JSON.stringify(junk),
      );
    }
  });
});

describe('the OpenAPI document carries the schema', () => {
  test('PUT /v1/regions/{name} documents RegionBodySchema itself, descriptions included', async () => {
    const doc = (await app.inject('/openapi.json')).json<{ paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: unknown }> } }>> }>();
    const schema = doc.paths['/v1/regions/{name}']?.put?.requestBody.content['application/json']?.schema;
    assert.deepEqual(schema, JSON.parse(JSON.stringify(RegionBodySchema)));
    const check = (schema as { properties: { check: { properties: Record<string, { minimum?: number; maximum?: number; description?: string }> } } }).properties.check;
    assert.deepEqual([check.properties.fall?.minimum, check.properties.fall?.maximum], [1, 100]);
    assert.match(check.properties.fall?.description ?? '', /failures in a row/);
  });
});

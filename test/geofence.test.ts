/**
 * Geofencing as pure functions: the fence over regions (fenceRegions, fencedPool) and steering with it for every
 * policy (decide with an injected rng over snapshots built from zone text); `serves`, `geofence` and
 * `unverified` errors in zone files at their `file:line`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reader, type Response } from 'maxmind';
import { RRType } from '../src/wire/constants.js';
import { Locator, type ClientLocation } from '../src/geo/locator.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import type { Snapshot } from '../src/snapshot/types.js';
import { decide } from '../src/routing/decide.js';
import type { Client } from '../src/routing/decision.js';
import { fencedPool, fenceRegions } from '../src/routing/geofence.js';
import { formatError, type ZoneSet } from '../src/model/types.js';
import { loadZoneSources } from '../src/model/loader.js';
import { addressBytes } from '../src/util/cidr.js';
import { seededRng } from '../src/util/rng.js';
import { writeMmdb } from './helpers/mmdb-writer.js';
import { healthWith } from './helpers/health-view.js';

const GEO = new Locator([
  {
    name: 'fence.mmdb',
    reader: new Reader<Response>(
      writeMmdb([
        { network: '5.10.0.0/16', data: { country_code: 'DE', latitude: 50.11, longitude: 8.68 } },
        { network: '85.1.0.0/16', data: { country_code: 'CH', latitude: 47.37, longitude: 8.54 } },
        { network: '64.0.0.0/12', data: { country_code: 'US', latitude: 37.77, longitude: -122.42 } },
      ]),
    ),
  },
]);

function zone(services: string, regions = ' }'): string {
  return `
zone: gslb.test
soa: { mname: ns1.other.test., rname: hostmaster.gslb.test., serial: 1 }
ns: [ns1.other.test.]
regions:
  eu: { location: { lat: 50.11, lon: 8.68 }, endpoints: [ { address: 198.51.100.10 } ], serves: [ "continent:EU" ] }
  ch: { location: { lat: 47.37, lon: 8.54 }, endpoints: [ { address: 198.51.100.20 } ], serves: [ ch ] }
  us: { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 192.0.2.10 } ]${regions}
services:
${services}`;
}

function load(text: string): ZoneSet {
  const r = loadZoneSources([{ file: 'z.yaml', text }]);
  assert.deepEqual(r.errors.map(formatError), []);
  return r.zoneSet!;
}

function snapshot(zs: ZoneSet, down: string[] = []): Snapshot {
  return buildSnapshot(zs, {
    version: 1,
    nodeId: 'n',
    state: { locator: GEO, measured: [], health: (regions) => healthWith(regions.keys(), (name) => (down.includes(name) ? { up: false, reason: 'test: down' } : {})) },
  });
}

function client(address: string, prefix = 24): Client {
  const bytes = Buffer.alloc(16);
  addressBytes(address, 4).copy(bytes);
  for (let bit = prefix; bit < 32; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { address: bytes, family: 4, sourcePrefix: prefix, viaEcs: true };
}

describe('fenceRegions and fencedPool', () => {
  const zs = load(zone('  app: { regions: [us, eu, ch] }'));
  const regions = snapshot(zs).services.get('app.gslb.test')!.regions;
  const at = (country?: string, continent?: string): ClientLocation => ({ prefixLength: 16, source: 'test', ...(country ? { country } : {}), ...(continent ? { continent } : {}) });
  const cases: { what: string; location: ClientLocation | undefined; tiers: number[]; inArea: boolean; fenced: (string | undefined)[] }[] = [
    { what: 'DE: eu serves it, ch is fenced out, us is the fallback', location: at('DE', 'EU'), tiers: [1, 0, -1], inArea: true, fenced: [undefined, undefined, 'serves CH; client in DE (continent:EU)'] },
    { what: 'CH: eu and ch serve it', location: at('CH', 'EU'), tiers: [1, 0, 0], inArea: true, fenced: [undefined, undefined, undefined] },
    { what: 'US: only us', location: at('US', 'NA'), tiers: [1, -1, -1], inArea: false, fenced: [undefined, 'serves continent:EU; client in US (continent:NA)', 'serves CH; client in US (continent:NA)'] },
    { what: 'a continent alone', location: at(undefined, 'EU'), tiers: [1, 0, -1], inArea: true, fenced: [undefined, undefined, 'serves CH; client in continent:EU'] },
    { what: 'not located: regions without serves only', location: at(), tiers: [1, -1, -1], inArea: false, fenced: [undefined, 'serves continent:EU; client not located', 'serves CH; client not located'] },
  ];
  for (const c of cases) {
    test(c.what, () => {
      const f = fenceRegions(regions, c.location);
      assert.deepEqual(f.tiers, c.tiers);
      assert.equal(f.inArea, c.inArea);
      assert.deepEqual(f.reasons, c.fenced);
    });
  }

  const pools: { what: string; location: ClientLocation; ok: boolean[]; strict: boolean; pool: number[]; fellBack: boolean }[] = [
    { what: 'own regions first', location: at('CH', 'EU'), ok: [true, true, true], strict: false, pool: [1, 2], fellBack: false },
    { what: 'own regions down: the fallback', location: at('CH', 'EU'), ok: [true, false, false], strict: false, pool: [0], fellBack: true },
    { what: 'own regions down, strict: nothing', location: at('CH', 'EU'), ok: [true, false, false], strict: true, pool: [], fellBack: false },
    { what: 'one own region left', location: at('DE', 'EU'), ok: [true, true, false], strict: true, pool: [1], fellBack: false },
    { what: 'outside every served place, strict changes nothing', location: at('US', 'NA'), ok: [true, true, true], strict: true, pool: [0], fellBack: false },
  ];
  for (const c of pools) {
    test(`pool: ${c.what}`, () => assert.deepEqual(fencedPool(fenceRegions(regions, c.location), (i) => c.ok[i]!, c.strict), { pool: c.pool, fellBack: c.fellBack }));
  }
});

describe('decide with a geofence, every policy', () => {
  const services = ['latency', 'geo', 'weighted', 'failover'].map((p) => `  ${p}: { policy: ${p}, regions: [us, eu, ch] }\n  ${p}-strict: { policy: ${p}, regions: [us, eu, ch], geofence: strict, when-all-down: all }`).join('\n');
  const zs = load(zone(services));
  const up = snapshot(zs);
  const euDown = snapshot(zs, ['eu', 'ch']);
  const run = (snap: Snapshot, service: string, c: Client, seed: number) => decide(snap, snap.services.get(`${service}.gslb.test`)!, RRType.A, c, seededRng(seed));
  for (const policy of ['latency', 'geo', 'weighted', 'failover']) {
    test(policy, () => {
      for (let seed = 1; seed <= 50; seed++) {
        const third = (seed * 7) % 256;
        assert.equal(run(up, policy, client(`5.10.${third}.0`), seed).region?.region.name, 'eu', `DE seed ${seed}`);
        assert.notEqual(run(up, policy, client(`85.1.${third}.0`), seed).region?.region.name, 'us', `CH seed ${seed}`);
        assert.equal(run(up, policy, client(`64.1.${third}.0`), seed).region?.region.name, 'us', `US seed ${seed}`);
        assert.equal(run(euDown, policy, client(`5.10.${third}.0`), seed).region?.region.name, 'us', `DE fallback seed ${seed}`);
        const strict = run(euDown, `${policy}-strict`, client(`5.10.${third}.0`), seed);
        assert.deepEqual([strict.endpoints, strict.region, strict.scope], [[], undefined, 16], `strict seed ${seed}`);
        assert.equal(run(up, policy, client(`5.10.${third}.0`), seed).scope >= 16, true);
      }
    });
  }

  test('own regions all down and no fallback up: when-all-down: all fails open among the own regions', () => {
    const snap = snapshot(zs, ['eu', 'ch', 'us']);
    const d = run(snap, 'failover', client('5.10.1.0'), 1);
    assert.equal(d.region?.region.name, 'eu');
    assert.equal(d.why!.failOpen, true);
  });

  test('a closer region without serves, healthy, is not named as passed over when a serving region answers', () => {
    // zrh (no serves) sits in Zurich, eu serves all of Europe from Dublin: a CH client gets eu for the fence, and
    // explain must not call zrh unable to answer (it is up; a reason with `;` in it was once cut at the `;`).
    const text = zone('  app: { policy: geo, regions: [eu, zrh] }', ' }\n  zrh: { location: { lat: 47.37, lon: 8.54 }, endpoints: [ { address: 192.0.2.20 } ] }').replace('lat: 50.11, lon: 8.68 }, endpoints: [ { address: 198.51.100.10 } ]', 'lat: 53.35, lon: -6.26 }, endpoints: [ { address: 198.51.100.10 } ]');
    const zs = load(text);
    const snap = buildSnapshot(zs, { version: 1, nodeId: 'n', state: { locator: GEO, measured: [], health: (regions) => healthWith(regions.keys(), () => ({ reason: 'up; IPv4 1/1 up, IPv6 0/0' })) } });
    const d = run(snap, 'app', client('85.1.2.0'), 1);
    assert.equal(d.region?.region.name, 'eu');
    assert.doesNotMatch(d.why!.reason, /zrh/, d.why!.reason);
  });

  test('a service with no region left for a client outside every served place: NODATA', () => {
    const only = load(zone('  app: { regions: [eu, ch] }'));
    const d = run(snapshot(only), 'app', client('64.1.0.0'), 1);
    assert.deepEqual(d.endpoints, []);
    assert.match(d.why!.reason, /no region may answer clients in US/);
  });
});

describe('serves, geofence and unverified in zone files', () => {
  const cases: { what: string; text: string; line: number; message: string }[] = [
    { what: 'an unknown country', text: zone('  app: { regions: [us] }', ', serves: [ continent:EU ] }\n  x: { location: { lat: 1, lon: 1 }, endpoints: [ { address: 192.0.2.1 } ], serves: [ XX ] }'), line: 9, message: 'regions.x.serves[0]: "XX" is not an ISO 3166-1 alpha-2 country code' },
    { what: 'an unknown continent', text: zone('  app: { regions: [us] }', ', serves: [ "continent:XY" ] }'), line: 8, message: 'regions.us.serves[0]: "continent:XY" names no continent' },
    { what: 'neither', text: zone('  app: { regions: [us] }', ', serves: [ Europe ] }'), line: 8, message: 'regions.us.serves[0]: "Europe" is not an ISO country code (CH) or continent:XX' },
    { what: 'twice', text: zone('  app: { regions: [us] }', ', serves: [ de, DE ] }'), line: 8, message: 'regions.us.serves[1]: DE is listed twice' },
    { what: 'empty', text: zone('  app: { regions: [us] }', ', serves: [] }'), line: 8, message: 'regions.us.serves: must list at least one country' },
    { what: 'a bad geofence', text: zone('  app: { regions: [us], geofence: hard }'), line: 10, message: 'must be one of: fallback, strict' },
    { what: 'a bad unverified on a service', text: zone('  app: { regions: [us], unverified: later }'), line: 10, message: 'services.app.unverified: must be one of: serve, wait' },
    { what: 'a bad unverified on a region', text: zone('  app: { regions: [us] }', ', unverified: never }'), line: 8, message: 'regions.us.unverified: must be one of: serve, wait' },
  ];
  for (const c of cases) {
    test(c.what, () => {
      const r = loadZoneSources([{ file: 'z.yaml', text: c.text }]);
      const hit = r.errors.find((e) => e.message.includes(c.message));
      assert.ok(hit, `no error with ${c.message}: ${r.errors.map(formatError).join('\n')}`);
      assert.equal(formatError(hit).split(': ')[0], `z.yaml:${c.line}`);
    });
  }
});

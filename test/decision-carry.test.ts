/**
 * The decision cache never answers what a fresh decision would not: after any sequence of state rebuilds
 * (health of regions and endpoints, drains, instability, measured latencies by CIDR, country and continent),
 * every query answered from the (carried) cache equals the decision made in full over the same snapshot.
 * Seeded, so a failure replays; in-process over real snapshots (buildSnapshot, withState), no sockets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reader, type Response } from 'maxmind';
import { RRType } from '../src/wire/constants.js';
import { Locator } from '../src/geo/locator.js';
import type { MeasuredLatency } from '../src/geo/latency-table.js';
import { HealthView, type EndpointState, type RegionVerdict } from '../src/health/view.js';
import { buildSnapshot, withState } from '../src/snapshot/build.js';
import type { Snapshot } from '../src/snapshot/types.js';
import { decide } from '../src/routing/decide.js';
import { DecisionCache } from '../src/routing/decision-cache.js';
import type { Client, Decision } from '../src/routing/decision.js';
import { seededRng, type Rng } from '../src/util/rng.js';
import { addressBytes, parseCidr } from '../src/util/cidr.js';
import { loadZoneSources, parseLatencyClient } from '../src/model/loader.js';
import { GEO_FIXTURE } from './helpers/geo-fixture.js';
import { writeMmdb } from './helpers/mmdb-writer.js';

const ZONE = `
zone: gslb.test
soa: { mname: ns1.other.test., rname: hostmaster.gslb.test., serial: 1 }
ns: [ns1.other.test.]
regions:
  us-east: { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 192.0.2.10 }, { address: 192.0.2.11, weight: 2 }, { address: 192.0.2.12 }, { address: "2001:db8::10" } ] }
  dublin: { location: { lat: 53.35, lon: -6.26 }, endpoints: [ { address: 198.51.100.10 }, { address: 198.51.100.11 }, { address: "2001:db8:e::1" }, { address: "2001:db8:e::2" } ] }
  frankfurt: { location: { lat: 50.11, lon: 8.68 }, endpoints: [ { address: 198.51.100.20 } ] }
  tokyo: { location: { lat: 35.68, lon: 139.69 }, endpoints: [ { address: 203.0.113.30 }, { address: "2001:db8:7::1" }, { address: "2001:db8:7::2" } ] }
  cdn: { location: { lat: 40.71, lon: -74.0 }, endpoints: [ { address: a.cdn.example.net }, { address: b.cdn.example.net } ] }
services:
  lat: { policy: latency, regions: [us-east, dublin, frankfurt, tokyo], answers: 2 }
  lat1: { policy: latency, regions: [frankfurt, tokyo, dublin], answers: 1, when-all-down: none }
  geo: { policy: geo, regions: [us-east, dublin, tokyo], answers: 1 }
  tol: { policy: latency, regions: [dublin, frankfurt], tolerance: 40ms }
  cdn: { policy: geo, regions: [cdn, dublin] }
latency:
  - { client: "81.2.69.0/24", region: frankfurt, rtt: 3 }
  - { client: "5.10.0.0/16", region: us-east, rtt: 20 }
  - { client: DE, region: dublin, rtt: 30 }
`;

const REGIONS = ['us-east', 'dublin', 'frankfurt', 'tokyo', 'cdn'];
const ENDPOINTS: Record<string, string[]> = {
  'us-east': ['192.0.2.10', '192.0.2.11', '192.0.2.12', '2001:db8::10'],
  dublin: ['198.51.100.10', '198.51.100.11', '2001:db8:e::1', '2001:db8:e::2'],
  frankfurt: ['198.51.100.20'],
  tokyo: ['203.0.113.30', '2001:db8:7::1', '2001:db8:7::2'],
  cdn: ['a.cdn.example.net', 'b.cdn.example.net'],
};
const LATENCY_KEYS = ['81.2.69.0/24', '81.2.69.128/25', '5.10.20.0/24', '5.10.20.128/25', '5.10.0.0/16', '8.8.0.0/16', '2001:db8:1::/48', '2001:db8:2:100::/56', 'DE', 'GB', 'US', 'JP', 'continent:EU', 'continent:AS', 'continent:NA'];
const ADDRESSES = ['81.2.69.5', '81.2.69.200', '5.10.20.7', '5.10.20.200', '5.10.1.1', '5.10.40.9', '8.8.8.8', '8.8.4.4', '64.0.1.1', '203.0.113.9', '100.64.1.1', '198.51.100.9', '2001:db8:1::1', '2001:db8:1:ff00::1', '2001:db8:2::1', '2001:db8:2:100::1', '2001:db8:3::1'];
const SERVICES = ['lat', 'lat1', 'geo', 'tol', 'cdn'];

const LOCATOR = new Locator(
  [{ name: 'fixture.mmdb', reader: new Reader<Response>(writeMmdb(GEO_FIXTURE, { databaseType: 'GSLB-Test-City', buildEpoch: 1_700_000_000 })) }],
  [
    { ...(parseCidr('100.64.0.0/16') as { family: 4; prefix: number; network: Buffer }), value: { network: '100.64.0.0/16', lat: 34.69, lon: 135.5, country: 'JP' } },
    { ...(parseCidr('81.2.69.128/25') as { family: 4; prefix: number; network: Buffer }), value: { network: '81.2.69.128/25', lat: 35.68, lon: 139.69, country: 'JP' } },
  ],
);

/** Health as steering reads it, kept as plain sets that the test changes. */
interface HealthState {
  drained: Set<string>;
  unstable: Set<string>;
  /** `region/address` */
  down: Set<string>;
}

function healthView(h: HealthState): HealthView {
  const up = (region: string, address: string) => !h.down.has(`${region}/${address}`);
  const verdicts = new Map<string, RegionVerdict>();
  for (const [name, eps] of Object.entries(ENDPOINTS)) {
    const family = (v6: boolean) => eps.some((a) => (a.includes(':') === v6 || !/^[\d.:a-f]+$/.test(a)) && up(name, a));
    const families = { ipv4: { up: family(false), reason: 'test' }, ipv6: { up: family(true), reason: 'test' } };
    const endpoints = new Map<string, EndpointState>(eps.map((a) => [a, { up: up(name, a), unverified: false, waiting: false, since: undefined }]));
    verdicts.set(name, {
      up: families.ipv4.up && families.ipv6.up,
      drained: h.drained.has(name),
      reason: 'test',
      unstable: h.unstable.has(name),
      families,
      endpoints,
      upCount: eps.filter((a) => up(name, a)).length,
      freshnessMs: 60_000,
    });
  }
  return new HealthView(verdicts);
}

function client(rng: Rng): Client {
  const address = ADDRESSES[Math.floor(rng() * ADDRESSES.length)]!;
  const family = address.includes(':') ? 6 : 4;
  const max = family === 4 ? 32 : 128;
  const prefixes = family === 4 ? [32, 24, 25, 20, 16, 8] : [128, 56, 48, 64, 32];
  const prefix = rng() < 0.3 ? max : prefixes[Math.floor(rng() * prefixes.length)]!;
  const bytes = Buffer.alloc(16);
  addressBytes(address, family).copy(bytes);
  for (let bit = prefix; bit < 128; bit++) bytes[bit >> 3] = bytes[bit >> 3]! & ~(0x80 >> (bit & 7));
  return { address: bytes, family, sourcePrefix: prefix, viaEcs: prefix < max };
}

const answer = (d: Decision) => `${d.region?.region.name ?? '-'} [${d.endpoints.map((e) => e.address).join(' ')}] ${d.cname?.address ?? ''} ttl ${d.ttl} /${d.scope}`;

describe('decisions carried across rebuilds', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: every cached answer equals the decision made in full`, () => {
      const rng = seededRng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
      const zoneSet = loadZoneSources([{ file: 'z.yaml', text: ZONE }]).zoneSet!;
      const health: HealthState = { drained: new Set(), unstable: new Set(), down: new Set() };
      const measured = new Map<string, MeasuredLatency>();
      let snap: Snapshot = buildSnapshot(zoneSet, { version: 1, nodeId: 'n', state: { locator: LOCATOR, measured: [], health: healthView(health) } });
      let hits = 0;
      for (let step = 0; step < 60; step++) {
        for (let q = 0; q < 40; q++) {
          const svc = snap.services.get(`${pick(SERVICES)}.gslb.test`)!;
          const cl = client(rng);
          const qtype = rng() < 0.5 ? RRType.A : RRType.AAAA;
          const d = decide(snap, svc, qtype, cl, seededRng(0));
          if (!d.why) hits++;
          const full = decide({ ...snap, decisions: DecisionCache.NONE }, svc, qtype, cl, seededRng(0));
          assert.equal(answer(d), answer(full), `step ${step}: ${svc.service.name} ${qtype === RRType.A ? 'A' : 'AAAA'} ${cl.address.toString('hex')}/${cl.sourcePrefix}`);
        }
        // One change of state, then the rebuild a store change would cause.
        const kind = rng();
        const region = pick(REGIONS);
        if (kind < 0.15) toggle(health.drained, region);
        else if (kind < 0.3) toggle(health.unstable, region);
        else if (kind < 0.55) toggle(health.down, `${region}/${pick(ENDPOINTS[region]!)}`);
        else if (kind < 0.65) {
          // A rebuild that changes nothing (a timed one): everything stays.
        } else {
          const key = pick(LATENCY_KEYS);
          const target = pick(REGIONS.slice(0, 4));
          const k = `${key}|${target}`;
          if (measured.has(k) && rng() < 0.3) measured.delete(k);
          else {
            const c = parseLatencyClient(key);
            assert.ok(typeof c !== 'string');
            measured.set(k, { client: c, region: target, rttMs: Math.round(rng() * 200), samples: 1, updatedAt: 0 });
          }
        }
        const healthChanged = kind < 0.55;
        snap = withState(snap, snap.version + 1, { measured: [...measured.values()], ...(healthChanged ? { health: healthView(health) } : {}) });
      }
      assert.ok(hits > 200, `the cache answered (${hits} hits)`);
    });
  }
});

function toggle(set: Set<string>, item: string): void {
  if (set.has(item)) set.delete(item);
  else set.add(item);
}

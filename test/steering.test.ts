/**
 * Steering as a pure function: `decide(snapshot, service, qtype, client, rng)` over snapshots built from zone
 * text, a fixture GeoIP database (test/helpers/geo-fixture.ts), custom networks, measured latencies and a stub
 * HealthView. No sockets. Most groups are tables of cases.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reader, type Response } from 'maxmind';
import { RRType } from '../src/wire/constants.js';
import { greatCircleKm, rttFromDistanceMs } from '../src/geo/distance.js';
import { Locator } from '../src/geo/locator.js';
import type { CustomLocation } from '../src/geo/networks.js';
import type { PrefixEntry } from '../src/geo/prefix-map.js';
import type { HealthView } from '../src/health/view.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import type { Snapshot } from '../src/snapshot/types.js';
import type { RegionIndex, ServiceIndex } from '../src/model/indexes.js';
import { decide } from '../src/routing/decide.js';
import type { Client, Decision } from '../src/routing/decision.js';
import { smoothLatency } from '../src/store/latency.js';
import type { MeasuredLatency } from '../src/geo/latency-table.js';
import { seededRng, type Rng } from '../src/util/rng.js';
import { addressBytes, parseCidr } from '../src/util/cidr.js';
import { loadZoneSources, parseLatencyClient } from '../src/model/loader.js';
import type { LatencyClient } from '../src/model/types.js';
import { GEO_FIXTURE } from './helpers/geo-fixture.js';
import { writeMmdb } from './helpers/mmdb-writer.js';
import { healthWith } from './helpers/health-view.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------

const LOC = {
  'us-east': { lat: 39.04, lon: -77.49 },
  'us-west': { lat: 37.77, lon: -122.42 },
  dublin: { lat: 53.35, lon: -6.26 },
  frankfurt: { lat: 50.11, lon: 8.68 },
  tokyo: { lat: 35.68, lon: 139.69 },
  sydney: { lat: -33.87, lon: 151.21 },
} as const;
type RegionName = keyof typeof LOC;
const REGION_NAMES = Object.keys(LOC) as RegionName[];

/** Custom networks beat the database: a /16 of its own, and a /25 carved out of the London /24. */
function network(cidr: string, loc: Omit<CustomLocation, 'network'>): PrefixEntry<CustomLocation> {
  const c = parseCidr(cidr);
  if (typeof c === 'string') throw new Error(c);
  return { family: c.family, prefix: c.prefix, network: c.network, value: { network: cidr, ...loc } };
}
const NETWORKS = [
  network('100.64.0.0/16', { lat: 34.69, lon: 135.5, country: 'JP' }), // Osaka
  network('81.2.69.128/25', { lat: 35.68, lon: 139.69, country: 'JP', continent: 'AS' }), // Tokyo, inside London's /24
];
const LOCATOR = new Locator(
  [{ name: 'fixture.mmdb', reader: new Reader<Response>(writeMmdb(GEO_FIXTURE, { databaseType: 'GSLB-Test-City', buildEpoch: 1_700_000_000 })) }],
  NETWORKS,
);

interface EndpointSpec {
  address: string;
  weight?: number;
}
interface RegionSpec {
  endpoints?: EndpointSpec[];
  weight?: number;
  bias?: number;
}
interface ServiceSpec {
  policy: 'latency' | 'geo' | 'weighted' | 'failover';
  regions: string[];
  answers?: number;
  'when-all-down'?: 'all' | 'none';
  tolerance?: string | number;
  ttl?: number;
}
interface LatencySpec {
  client: string;
  region: string;
  rtt: number;
}
interface ZoneSpec {
  /** Regions declared (all of LOC by default), with overrides. */
  regions?: Partial<Record<RegionName, RegionSpec>>;
  services: Record<string, ServiceSpec>;
  latency?: LatencySpec[];
}

/** Default endpoints: one IPv4 and one IPv6 address per region, numbered by the region's place in LOC. */
function defaultEndpoints(name: RegionName): EndpointSpec[] {
  const i = REGION_NAMES.indexOf(name) + 1;
  return [{ address: `192.0.2.${i * 10}` }, { address: `2001:db8:ff::${i * 10}` }];
}

function zoneText(z: ZoneSpec): string {
  const regions: Record<string, unknown> = {};
  for (const name of REGION_NAMES) {
    const o = z.regions?.[name] ?? {};
    regions[name] = { location: LOC[name], endpoints: o.endpoints ?? defaultEndpoints(name), ...(o.weight !== undefined ? { weight: o.weight } : {}), ...(o.bias !== undefined ? { bias: o.bias } : {}) };
  }
  // JSON is YAML: the loader reads it like any zone file.
  return JSON.stringify({
    zone: 'gslb.test',
    soa: { mname: 'ns1.other.test.', rname: 'hostmaster.gslb.test.', serial: 1 },
    ns: ['ns1.other.test.'],
    regions,
    services: z.services,
    ...(z.latency ? { latency: z.latency } : {}),
  });
}

interface HealthSpec {
  down?: string[];
  drained?: string[];
  /** `region/address` */
  endpointsDown?: string[];
}

/** The snapshot's regions up unless listed, endpoints up unless listed. */
function healthView(regions: Map<string, RegionIndex>, h: HealthSpec = {}): HealthView {
  const down = new Set(h.down ?? []);
  const drained = new Set(h.drained ?? []);
  const epDown = (h.endpointsDown ?? []).map((e) => e.split('/') as [string, string]);
  return healthWith(
    regions.keys(),
    (name) => ({ up: !down.has(name), drained: drained.has(name), reason: down.has(name) ? 'test: down' : drained.has(name) ? 'test: drained' : 'test: up' }),
    epDown,
  );
}

function measured(client: string, region: string, rttMs: number): MeasuredLatency {
  return { client: latencyClient(client), region, rttMs, samples: 1, updatedAt: 0 };
}

function latencyClient(text: string): LatencyClient {
  const c = parseLatencyClient(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
}

interface StateSpec {
  health?: HealthSpec;
  measured?: MeasuredLatency[];
  locator?: Locator;
}

function build(z: ZoneSpec, s: StateSpec = {}): Snapshot {
  const loaded = loadZoneSources([{ file: 'z.yaml', text: zoneText(z) }]);
  assert.deepEqual(loaded.errors, []);
  return buildSnapshot(loaded.zoneSet!, {
    version: 1,
    nodeId: 'n',
    state: { locator: s.locator ?? LOCATOR, measured: s.measured ?? [], health: (regions) => healthView(regions, s.health) },
  });
}

/** A client as the responder builds it: 16 bytes, zero past the prefix; ECS when a prefix is given. */
function client(address: string, prefix?: number): Client {
  const family = address.includes(':') ? 6 : 4;
  const max = family === 4 ? 32 : 128;
  const p = prefix ?? max;
  const bytes = Buffer.alloc(16);
  addressBytes(address, family).copy(bytes);
  for (let bit = p; bit < 128; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { address: bytes, family, sourcePrefix: p, viaEcs: prefix !== undefined };
}

function svc(snap: Snapshot, name = 'app'): ServiceIndex {
  const s = snap.services.get(`${name}.gslb.test`);
  assert.ok(s, `service ${name}`);
  return s;
}

function run(snap: Snapshot, c: Client, opts: { service?: string; qtype?: number; rng?: Rng } = {}): Decision {
  return decide(snap, svc(snap, opts.service), opts.qtype ?? RRType.A, c, opts.rng ?? seededRng(1));
}

const regionOf = (d: Decision): string | undefined => d.region?.region.name;
const addrs = (d: Decision): string[] => d.endpoints.map((e) => e.address);
const cand = (d: Decision, region: string) => {
  const c = d.why!.candidates.find((x) => x.region === region);
  assert.ok(c, `candidate ${region}`);
  return c;
};

/** Counts of values, as fractions of the total. */
function shares(values: (string | undefined)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(String(v), (m.get(String(v)) ?? 0) + 1);
  for (const [k, n] of m) m.set(k, n / values.length);
  return m;
}

function assertShare(got: Map<string, number>, key: string, expected: number, tol: number): void {
  const v = got.get(key) ?? 0;
  assert.ok(Math.abs(v - expected) <= tol, `${key}: share ${v.toFixed(4)}, expected ${expected} ± ${tol} (all: ${JSON.stringify([...got])})`);
}

/** Estimated RTT from a point to a region, as decide rounds it. */
function distanceRtt(lat: number, lon: number, region: RegionName): number {
  return Math.round(rttFromDistanceMs(greatCircleKm(lat, lon, LOC[region].lat, LOC[region].lon)) * 10) / 10;
}

// Client points of the fixture.
const BERLIN = '5.10.20.7'; // flat record, DE, /24 (continent from the country table)
const FRANKFURT_HOST = '5.10.1.1'; // DE, tree leaf /20 of the /16 around Berlin's /24
const LONDON = '81.2.69.5'; // GB, EU, /24 (but .128/25 is a custom network)
const ASHBURN = '8.8.8.8';
const SAN_FRANCISCO = '64.0.1.1';
const AUSTRALIA = '203.0.113.9'; // country only
const OSAKA_CUSTOM = '100.64.1.1'; // custom network /16
const TOKYO_CUSTOM = '81.2.69.200'; // custom /25 inside London's /24
const UNLOCATED = '198.51.100.9';
const TOKYO6 = '2001:db8:1::1';
const DUBLIN6 = '2001:db8:2::1';
const UNLOCATED6 = '2001:db8:3::1';

// ---------------------------------------------------------------------------------------------------------
// Latency policy
// ---------------------------------------------------------------------------------------------------------

describe('latency policy: which entry gives the RTT', () => {
  const berlinToSydney = distanceRtt(52.52, 13.4, 'sydney');
  const cases: { name: string; latency: LatencySpec[]; measured?: MeasuredLatency[]; client?: Client; rtt: number; source: RegExp; region: string; scope: number }[] = [
    {
      name: 'the longest CIDR entry beats a shorter one, the country and the continent',
      latency: [
        { client: '5.10.0.0/16', region: 'sydney', rtt: 300 },
        { client: '5.10.20.0/24', region: 'sydney', rtt: 4 },
        { client: 'DE', region: 'sydney', rtt: 500 },
        { client: 'continent:EU', region: 'sydney', rtt: 600 },
      ],
      rtt: 4,
      source: /^cidr 5\.10\.20\.0\/24 \(zone\)$/,
      region: 'sydney',
      scope: 24,
    },
    {
      name: 'a shorter CIDR entry beats the country and the continent',
      latency: [
        { client: '5.10.0.0/16', region: 'sydney', rtt: 5 },
        { client: 'DE', region: 'sydney', rtt: 500 },
        { client: 'continent:EU', region: 'sydney', rtt: 600 },
      ],
      rtt: 5,
      source: /^cidr 5\.10\.0\.0\/16 \(zone\)$/,
      region: 'sydney',
      scope: 24,
    },
    {
      name: 'the country beats the continent',
      latency: [
        { client: 'DE', region: 'sydney', rtt: 6 },
        { client: 'continent:EU', region: 'sydney', rtt: 600 },
      ],
      rtt: 6,
      source: /^country DE \(zone\)$/,
      region: 'sydney',
      scope: 24,
    },
    {
      name: 'the continent (filled in from the country table) beats the distance estimate',
      latency: [{ client: 'continent:EU', region: 'sydney', rtt: 7 }],
      rtt: 7,
      source: /^continent:EU \(zone\)$/,
      region: 'sydney',
      scope: 24,
    },
    {
      name: 'no entry: great-circle distance estimate',
      latency: [],
      rtt: berlinToSydney,
      source: /^distance \d+ km$/,
      region: 'frankfurt',
      scope: 24,
    },
    {
      name: 'entries for other networks, countries and continents do not apply',
      latency: [
        { client: '8.8.8.0/24', region: 'sydney', rtt: 1 },
        { client: '5.10.21.0/24', region: 'sydney', rtt: 1 },
        { client: 'US', region: 'sydney', rtt: 1 },
        { client: 'continent:NA', region: 'sydney', rtt: 1 },
      ],
      rtt: berlinToSydney,
      source: /^distance /,
      region: 'frankfurt',
      scope: 24,
    },
    {
      name: 'a CIDR entry longer than the ECS source prefix is not used (the client did not reveal those bits)',
      latency: [
        { client: '5.10.20.0/24', region: 'sydney', rtt: 4 },
        { client: 'DE', region: 'sydney', rtt: 8 },
      ],
      client: client('5.10.20.0', 22),
      rtt: 8,
      source: /^country DE \(zone\)$/,
      region: 'sydney',
      scope: 22,
    },
    {
      name: 'a measured value beats the zone value for the same country',
      latency: [{ client: 'DE', region: 'sydney', rtt: 500 }],
      measured: [measured('DE', 'sydney', 3)],
      rtt: 3,
      source: /^country DE \(measured\)$/,
      region: 'sydney',
      scope: 24,
    },
    {
      name: 'a measured value beats the zone value for the same CIDR',
      latency: [{ client: '5.10.20.0/24', region: 'sydney', rtt: 500 }],
      measured: [measured('5.10.20.0/24', 'sydney', 2)],
      rtt: 2,
      source: /^cidr 5\.10\.20\.0\/24 \(measured\)$/,
      region: 'sydney',
      scope: 24,
    },
    {
      name: 'a measured value beats the zone value for the same continent',
      latency: [{ client: 'continent:EU', region: 'sydney', rtt: 500 }],
      measured: [measured('continent:eu', 'sydney', 2)],
      rtt: 2,
      source: /^continent:EU \(measured\)$/,
      region: 'sydney',
      scope: 24,
    },
    {
      name: 'a measured but less specific value does not beat a more specific zone value',
      latency: [{ client: '5.10.20.0/24', region: 'sydney', rtt: 300 }],
      measured: [measured('DE', 'sydney', 1)],
      rtt: 300,
      source: /^cidr 5\.10\.20\.0\/24 \(zone\)$/,
      region: 'frankfurt',
      scope: 24,
    },
    {
      name: 'a measured value for another region leaves this one alone',
      latency: [{ client: 'DE', region: 'sydney', rtt: 9 }],
      measured: [measured('DE', 'frankfurt', 100)],
      rtt: 9,
      source: /^country DE \(zone\)$/,
      region: 'sydney',
      scope: 24,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const snap = build({ services: { app: { policy: 'latency', regions: ['frankfurt', 'sydney'] } }, latency: c.latency }, c.measured ? { measured: c.measured } : {});
      const d = run(snap, c.client ?? client(BERLIN));
      const syd = cand(d, 'sydney');
      assert.equal(syd.rttMs, c.rtt);
      assert.match(syd.rttSource ?? '', c.source);
      assert.equal(regionOf(d), c.region);
      assert.equal(cand(d, c.region).chosen, true);
      assert.equal(d.scope, c.scope);
      assert.equal(d.why!.location?.country, 'DE');
      assert.equal(d.why!.failOpen, false);
    });
  }

  test('the region without entries gets the distance estimate next to one with entries', () => {
    const snap = build({ services: { app: { policy: 'latency', regions: ['frankfurt', 'sydney'] } }, latency: [{ client: 'DE', region: 'sydney', rtt: 400 }] });
    const d = run(snap, client(BERLIN));
    assert.equal(cand(d, 'frankfurt').rttMs, distanceRtt(52.52, 13.4, 'frankfurt'));
    assert.equal(cand(d, 'frankfurt').distanceKm, Math.round(greatCircleKm(52.52, 13.4, LOC.frankfurt.lat, LOC.frankfurt.lon)));
    assert.equal(regionOf(d), 'frankfurt');
  });

  test('values smoothed by the stores (EWMA, alpha 0.3), fed to the snapshot, beat the zone value', () => {
    const first = smoothLatency(undefined, 'DE', 'sydney', 10, 1000);
    const second = smoothLatency(first, 'DE', 'sydney', 20, 1010);
    const snap = build(
      { services: { app: { policy: 'latency', regions: ['frankfurt', 'sydney'] } }, latency: [{ client: 'DE', region: 'sydney', rtt: 500 }] },
      { measured: [{ client: latencyClient('DE'), region: 'sydney', rttMs: second.rttMs, samples: second.samples, updatedAt: second.updatedAt }] },
    );
    const d = run(snap, client(BERLIN));
    assert.equal(cand(d, 'sydney').rttMs, 13);
    assert.match(cand(d, 'sydney').rttSource ?? '', /\(measured\)/);
    assert.equal(regionOf(d), 'frankfurt'); // 13 ms to Sydney vs ~11 ms to Frankfurt
  });
});

describe('latency policy: bias', () => {
  // Berlin: Frankfurt ~11 ms, Dublin ~25 ms by distance.
  const toFra = distanceRtt(52.52, 13.4, 'frankfurt');
  const toDub = distanceRtt(52.52, 13.4, 'dublin');
  const cases: { name: string; regions: Partial<Record<RegionName, RegionSpec>>; region: string }[] = [
    { name: 'no bias: the lowest RTT', regions: {}, region: 'frankfurt' },
    { name: 'a bias smaller than the gap does not move traffic', regions: { dublin: { bias: Math.floor(toDub - toFra) - 1 } }, region: 'frankfurt' },
    { name: 'a bias larger than the gap attracts (subtracts ms)', regions: { dublin: { bias: Math.ceil(toDub - toFra) + 1 } }, region: 'dublin' },
    { name: 'a negative bias repels', regions: { frankfurt: { bias: -(Math.ceil(toDub - toFra) + 1) } }, region: 'dublin' },
    { name: 'bias applies to measured values too', regions: { frankfurt: { bias: 50 } }, region: 'frankfurt' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const snap = build({ regions: c.regions, services: { app: { policy: 'latency', regions: ['frankfurt', 'dublin'] } } }, c.name.includes('measured') ? { measured: [measured('DE', 'frankfurt', 60)] } : {});
      const d = run(snap, client(BERLIN));
      assert.equal(regionOf(d), c.region);
      // rttMs is reported before bias.
      if (!c.name.includes('measured')) {
        assert.equal(cand(d, 'frankfurt').rttMs, toFra);
        assert.equal(cand(d, 'dublin').rttMs, toDub);
      }
    });
  }
});

describe('latency policy: unlocated client', () => {
  const cases: { name: string; client: Client; health: HealthSpec; region: string }[] = [
    { name: 'IPv4, all up: the first region in list order', client: client(UNLOCATED), health: {}, region: 'us-east' },
    { name: 'IPv4, first down: the next', client: client(UNLOCATED), health: { down: ['us-east'] }, region: 'frankfurt' },
    { name: 'IPv4, first drained and second down: the third', client: client(UNLOCATED), health: { drained: ['us-east'], down: ['frankfurt'] }, region: 'tokyo' },
    { name: 'IPv4 ECS subnet', client: client('198.51.100.0', 24), health: {}, region: 'us-east' },
    { name: 'IPv6, all up', client: client(UNLOCATED6), health: {}, region: 'us-east' },
    { name: 'IPv6, first drained', client: client(UNLOCATED6), health: { drained: ['us-east'] }, region: 'frankfurt' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const snap = build({ services: { app: { policy: 'latency', regions: ['us-east', 'frankfurt', 'tokyo'] } } }, { health: c.health });
      const d = run(snap, c.client);
      assert.equal(regionOf(d), c.region);
      assert.match(d.why!.reason, /location unknown/);
      assert.equal(d.why!.location?.source, 'none');
      for (const x of d.why!.candidates) assert.equal(x.rttMs, undefined);
      assert.ok(d.scope <= c.client.sourcePrefix);
    });
  }
});

describe('latency policy: ECS scope', () => {
  const services = { app: { policy: 'latency' as const, regions: ['frankfurt', 'dublin', 'tokyo'] } };
  const cases: { name: string; client: Client; latency?: LatencySpec[]; scope: number; region?: string }[] = [
    { name: 'resolver address, database /24', client: client(BERLIN), scope: 24, region: 'frankfurt' },
    { name: 'resolver address, database leaf /20', client: client(FRANKFURT_HOST), scope: 20, region: 'frankfurt' },
    { name: 'ECS /24 inside a /20 leaf: the /20 holds', client: client('5.10.1.0', 24), scope: 20, region: 'frankfurt' },
    { name: 'ECS /16: never above the source prefix', client: client('5.10.0.0', 16), scope: 16, region: 'frankfurt' },
    {
      name: 'ECS /16 with more specific CIDR entries inside: still capped at 16',
      client: client('5.10.0.0', 16),
      latency: [{ client: '5.10.0.0/24', region: 'dublin', rtt: 1 }],
      scope: 16,
      region: 'frankfurt',
    },
    { name: 'ECS /12: capped at 12', client: client('5.0.0.0', 12), scope: 12 },
    { name: 'London /24 with a custom /25 inside: the location narrows to /25', client: client(LONDON), scope: 25, region: 'dublin' },
    { name: 'ECS /24 for London: capped at the source', client: client('81.2.69.0', 24), scope: 24, region: 'dublin' },
    { name: 'the custom /25 itself', client: client(TOKYO_CUSTOM), scope: 25, region: 'tokyo' },
    { name: 'custom /16', client: client(OSAKA_CUSTOM), scope: 16, region: 'tokyo' },
    {
      name: 'CIDR data for every region: the CIDR prefix',
      client: client(UNLOCATED),
      latency: [
        { client: '198.51.100.0/24', region: 'frankfurt', rtt: 30 },
        { client: '198.51.100.0/24', region: 'dublin', rtt: 20 },
        { client: '198.51.100.0/24', region: 'tokyo', rtt: 200 },
      ],
      scope: 24,
      region: 'dublin',
    },
    {
      name: 'a more specific CIDR entry in the block (not containing the client) narrows the scope',
      client: client(UNLOCATED),
      latency: [
        { client: '198.51.100.0/24', region: 'frankfurt', rtt: 30 },
        { client: '198.51.100.0/24', region: 'dublin', rtt: 20 },
        { client: '198.51.100.0/24', region: 'tokyo', rtt: 200 },
        { client: '198.51.100.128/25', region: 'frankfurt', rtt: 1 },
      ],
      scope: 25,
      region: 'dublin',
    },
    {
      name: 'the client inside the more specific entry: that entry and its prefix',
      client: client('198.51.100.200'),
      latency: [
        { client: '198.51.100.0/24', region: 'frankfurt', rtt: 30 },
        { client: '198.51.100.0/24', region: 'dublin', rtt: 20 },
        { client: '198.51.100.0/24', region: 'tokyo', rtt: 200 },
        { client: '198.51.100.128/25', region: 'frankfurt', rtt: 1 },
      ],
      scope: 25,
      region: 'frankfurt',
    },
    {
      name: 'a latency CIDR entry inside the location block narrows the scope',
      client: client(BERLIN),
      latency: [{ client: '5.10.20.64/26', region: 'dublin', rtt: 1 }],
      scope: 26,
      region: 'frankfurt',
    },
    { name: 'IPv6 resolver in Tokyo: the database /48', client: client(TOKYO6), scope: 48, region: 'tokyo' },
    { name: 'IPv6 ECS /56 in Tokyo: /48 holds', client: client('2001:db8:1::', 56), scope: 48, region: 'tokyo' },
    { name: 'IPv6 ECS /40: capped at 40', client: client('2001:db8::', 40), scope: 40 },
    { name: 'IPv6 resolver in Dublin', client: client(DUBLIN6), scope: 48, region: 'dublin' },
    {
      name: 'IPv6 CIDR entry beside the client inside its /48 narrows to /49',
      client: client(TOKYO6),
      latency: [{ client: '2001:db8:1:ff00::/56', region: 'dublin', rtt: 1 }],
      scope: 49,
      region: 'tokyo',
    },
    {
      name: 'IPv6 CIDR entry containing the client',
      client: client(TOKYO6),
      latency: [{ client: '2001:db8:1::/64', region: 'dublin', rtt: 1 }],
      scope: 64,
      region: 'dublin',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const snap = build({ services, ...(c.latency ? { latency: c.latency } : {}) });
      const d = run(snap, c.client);
      if (c.region !== undefined) assert.equal(regionOf(d), c.region);
      assert.equal(d.scope, c.scope);
      assert.ok(d.scope <= c.client.sourcePrefix, 'never above the source prefix');
      if (d.why!.location?.source !== 'none') assert.ok(d.scope > 0, 'located client: scope is not 0');
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Geo policy
// ---------------------------------------------------------------------------------------------------------

describe('geo policy: nearest region, latency entries ignored', () => {
  // Entries that would send everyone elsewhere if the geo policy read them.
  const latency: LatencySpec[] = [
    { client: 'continent:EU', region: 'sydney', rtt: 1 },
    { client: 'DE', region: 'tokyo', rtt: 1 },
    { client: '8.8.8.0/24', region: 'sydney', rtt: 1 },
    { client: '2001:db8:1::/48', region: 'dublin', rtt: 1 },
    { client: '5.10.20.64/26', region: 'tokyo', rtt: 1 },
  ];
  const cases: { name: string; client: Client; region: string; scope: number; health?: HealthSpec }[] = [
    { name: 'London -> Dublin', client: client(LONDON), region: 'dublin', scope: 25 },
    { name: 'London, Dublin down -> Frankfurt', client: client(LONDON), region: 'frankfurt', scope: 25, health: { down: ['dublin'] } },
    { name: 'Berlin -> Frankfurt (no narrowing by latency entries)', client: client(BERLIN), region: 'frankfurt', scope: 24 },
    { name: 'Frankfurt host, ECS /16 -> Frankfurt', client: client('5.10.0.0', 16), region: 'frankfurt', scope: 16 },
    { name: 'Ashburn -> us-east', client: client(ASHBURN), region: 'us-east', scope: 24 },
    { name: 'Ashburn, us-east drained -> us-west', client: client(ASHBURN), region: 'us-west', scope: 24, health: { drained: ['us-east'] } },
    { name: 'San Francisco -> us-west', client: client(SAN_FRANCISCO), region: 'us-west', scope: 16 },
    { name: 'country-only record (AU) -> Sydney', client: client(AUSTRALIA), region: 'sydney', scope: 24 },
    { name: 'custom network (Osaka) -> Tokyo', client: client(OSAKA_CUSTOM), region: 'tokyo', scope: 16 },
    { name: 'custom /25 inside a database /24 -> Tokyo', client: client(TOKYO_CUSTOM), region: 'tokyo', scope: 25 },
    { name: 'IPv6 Tokyo -> Tokyo', client: client(TOKYO6), region: 'tokyo', scope: 48 },
    { name: 'IPv6 Dublin ECS /56 -> Dublin', client: client('2001:db8:2:ab00::', 56), region: 'dublin', scope: 48 },
    { name: 'IPv6 Dublin ECS /32 -> capped at 32', client: client('2001:db8::', 32), region: 'us-east', scope: 32 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const snap = build({ services: { app: { policy: 'geo', regions: ['us-east', 'us-west', 'dublin', 'frankfurt', 'tokyo', 'sydney'] } }, latency }, c.health ? { health: c.health } : {});
      const d = run(snap, c.client);
      assert.equal(regionOf(d), c.region);
      assert.equal(d.scope, c.scope);
      assert.equal(d.why!.policy, 'geo');
      if (d.why!.location?.source !== 'none') {
        for (const x of d.why!.candidates) assert.match(x.rttSource ?? '', /^distance \d+ km$/);
        const up = d.why!.candidates.filter((x) => x.healthy);
        const nearest = up.reduce((a, b) => (a.distanceKm! <= b.distanceKm! ? a : b));
        assert.equal(nearest.region, c.region);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Failover and weighted
// ---------------------------------------------------------------------------------------------------------

describe('failover policy', () => {
  const cases: { name: string; health: HealthSpec; region: string; failOpen?: boolean }[] = [
    { name: 'all up: the first', health: {}, region: 'us-east' },
    { name: 'first down: the second', health: { down: ['us-east'] }, region: 'frankfurt' },
    { name: 'first drained: the second', health: { drained: ['us-east'] }, region: 'frankfurt' },
    { name: 'first down, second drained: the third', health: { down: ['us-east'], drained: ['frankfurt'] }, region: 'tokyo' },
    { name: 'only the second down: still the first', health: { down: ['frankfurt'] }, region: 'us-east' },
    { name: 'drained and up is not healthy', health: { drained: ['us-east', 'frankfurt'] }, region: 'tokyo' },
    { name: 'all down (when-all-down: all): the first, failing open', health: { down: ['us-east', 'frankfurt'], drained: ['tokyo'] }, region: 'us-east', failOpen: true },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const snap = build({ services: { app: { policy: 'failover', regions: ['us-east', 'frankfurt', 'tokyo'] } } }, { health: c.health });
      // The client does not matter: a located ECS client, an IPv6 one and an unlocated one get the same answer.
      for (const cl of [client('5.10.20.0', 24), client(TOKYO6), client(UNLOCATED)]) {
        const d = run(snap, cl);
        assert.equal(regionOf(d), c.region);
        assert.equal(d.scope, 0);
        assert.equal(d.why!.failOpen, c.failOpen ?? false);
        assert.equal(d.why!.location, undefined);
        assert.deepEqual(
          d.why!.candidates.map((x) => x.chosen),
          ['us-east', 'frankfurt', 'tokyo'].map((r) => r === c.region),
        );
      }
    });
  }
});

describe('weighted policy', () => {
  const N = 20_000;
  const cases: { name: string; regions: Partial<Record<RegionName, RegionSpec>>; health?: HealthSpec; expected: Partial<Record<RegionName, number>> }[] = [
    { name: 'weights 3:1:0', regions: { 'us-east': { weight: 3 }, frankfurt: { weight: 1 }, tokyo: { weight: 0 } }, expected: { 'us-east': 0.75, frankfurt: 0.25, tokyo: 0 } },
    { name: 'weights 1:1:2', regions: { 'us-east': { weight: 1 }, frankfurt: { weight: 1 }, tokyo: { weight: 2 } }, expected: { 'us-east': 0.25, frankfurt: 0.25, tokyo: 0.5 } },
    { name: 'a down region gets nothing', regions: { 'us-east': { weight: 3 }, frankfurt: { weight: 1 }, tokyo: { weight: 1 } }, health: { down: ['us-east'] }, expected: { 'us-east': 0, frankfurt: 0.5, tokyo: 0.5 } },
    { name: 'a drained region gets nothing', regions: { 'us-east': { weight: 3 }, frankfurt: { weight: 1 }, tokyo: { weight: 0 } }, health: { drained: ['frankfurt'] }, expected: { 'us-east': 1, frankfurt: 0, tokyo: 0 } },
    { name: 'all weights zero: uniform', regions: { 'us-east': { weight: 0 }, frankfurt: { weight: 0 }, tokyo: { weight: 0 } }, expected: { 'us-east': 1 / 3, frankfurt: 1 / 3, tokyo: 1 / 3 } },
    { name: 'only a weight-0 region healthy: that one', regions: { 'us-east': { weight: 3 }, frankfurt: { weight: 1 }, tokyo: { weight: 0 } }, health: { down: ['us-east', 'frankfurt'] }, expected: { tokyo: 1 } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const snap = build({ regions: c.regions, services: { app: { policy: 'weighted', regions: ['us-east', 'frankfurt', 'tokyo'] } } }, c.health ? { health: c.health } : {});
      const rng = seededRng(12345);
      const s = svc(snap);
      const chosen: (string | undefined)[] = [];
      // One client, many queries: weighted decisions are per query (not cached, not sticky).
      const cl = client('5.10.20.0', 24);
      for (let i = 0; i < N; i++) {
        const d = decide(snap, s, RRType.A, cl, rng);
        assert.equal(d.scope, 0);
        chosen.push(regionOf(d));
      }
      const got = shares(chosen);
      for (const [region, share] of Object.entries(c.expected)) {
        if (share === 0) assert.equal(got.get(region) ?? 0, 0, `${region} never chosen`);
        else assertShare(got, region, share, 0.02);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Tolerance
// ---------------------------------------------------------------------------------------------------------

describe('tolerance: regions within it share traffic, stable per client subnet', () => {
  // 10.0.0.0/8 (not in the database): us-east 20 ms, frankfurt 40 ms, tokyo 200 ms.
  const latency: LatencySpec[] = [
    { client: '10.0.0.0/8', region: 'us-east', rtt: 20 },
    { client: '10.0.0.0/8', region: 'frankfurt', rtt: 40 },
    { client: '10.0.0.0/8', region: 'tokyo', rtt: 200 },
    { client: '2001:db8:100::/40', region: 'us-east', rtt: 20 },
    { client: '2001:db8:100::/40', region: 'frankfurt', rtt: 40 },
    { client: '2001:db8:100::/40', region: 'tokyo', rtt: 200 },
  ];
  const zone = (tolerance: string | number, policy: 'latency' | 'geo' = 'latency'): ZoneSpec => ({
    regions: { 'us-east': { weight: 3 }, frankfurt: { weight: 1 }, tokyo: { weight: 5 } },
    services: { app: { policy, regions: ['us-east', 'frankfurt', 'tokyo'], tolerance } },
    latency,
  });
  const v4Subnet = (i: number) => `10.${(i >> 8) & 0xff}.${i & 0xff}`;

  test('one /24 always gets the same region, whatever the rng and whichever host asks', () => {
    let snap = build(zone('50ms'));
    for (let s = 0; s < 50; s++) {
      const subnet = v4Subnet(s * 37 + 1);
      const first = regionOf(run(snap, client(`${subnet}.1`), { rng: seededRng(s) }));
      for (let h = 0; h < 40; h++) {
        // Different hosts (different cache keys), different rngs, and an empty decision cache (a rebuilt
        // snapshot starts with a new one): still the same region.
        if (h % 10 === 0) snap = build(zone('50ms'));
        const d = run(snap, client(`${subnet}.${h * 6 + 2}`), { rng: seededRng(1000 + h) });
        assert.equal(regionOf(d), first, `${subnet}.x`);
        assert.equal(d.scope, 24);
      }
      // An ECS /24 for the same subnet too.
      assert.equal(regionOf(run(snap, client(`${subnet}.0`, 24), { rng: () => 0.999 })), first);
    }
  });

  test('many /24s spread roughly by region weight; a region outside the tolerance gets none', () => {
    const snap = build(zone('50ms'));
    const chosen: (string | undefined)[] = [];
    for (let i = 0; i < 4000; i++) {
      const d = run(snap, client(`${v4Subnet(i)}.77`), { rng: () => 0 });
      assert.ok(d.scope >= 24 && d.scope <= 32, `scope ${d.scope}`);
      chosen.push(regionOf(d));
    }
    const got = shares(chosen);
    assertShare(got, 'us-east', 0.75, 0.03);
    assertShare(got, 'frankfurt', 0.25, 0.03);
    assert.equal(got.get('tokyo') ?? 0, 0);
  });

  test('IPv6: one /56 sticks to one region; many /56s spread by weight; scope 56 (or the source prefix)', () => {
    const snap = build(zone(50));
    const chosen: (string | undefined)[] = [];
    for (let i = 0; i < 3000; i++) {
      const hi = (0x100 + (i >> 8)).toString(16);
      const lo = ((i & 0xff) << 8).toString(16);
      const base = `2001:db8:${hi}:${lo}`;
      const d = run(snap, client(`${base}::1`));
      chosen.push(regionOf(d));
      assert.equal(d.scope, 56);
      if (i % 100 === 0) {
        for (let h = 2; h < 12; h++) assert.equal(regionOf(run(snap, client(`${base}:${h}::${h}`), { rng: seededRng(h) })), regionOf(d));
        const ecs = run(snap, client(`${base}::`, 48));
        assert.equal(ecs.scope, 48);
      }
    }
    const got = shares(chosen);
    assertShare(got, 'us-east', 0.75, 0.03);
    assertShare(got, 'frankfurt', 0.25, 0.03);
    assert.equal(got.get('tokyo') ?? 0, 0);
  });

  test('ECS /16: scope capped at 16, and the whole /16 shares one choice', () => {
    const snap = build(zone('50ms'));
    for (let i = 0; i < 50; i++) {
      const d = run(snap, client(`10.${i}.0.0`, 16));
      assert.equal(d.scope, 16);
      assert.match(d.why!.reason, /within 50 ms/);
    }
  });

  test('tolerance 0 (the default) and a tolerance too small: the strict best wins', () => {
    for (const tol of [0, '0ms', '19ms']) {
      const snap = build(zone(tol));
      for (let i = 0; i < 500; i++) {
        const d = run(snap, client(`${v4Subnet(i)}.9`), { rng: () => 0.999 });
        assert.equal(regionOf(d), 'us-east');
        // Only the /8 of CIDR data was used: no stickiness.
        assert.equal(d.scope, 8);
      }
    }
    const noTolerance = build({ ...zone(0), services: { app: { policy: 'latency', regions: ['us-east', 'frankfurt', 'tokyo'] } } });
    assert.equal(svc(noTolerance).service.toleranceMs, 0);
    assert.equal(regionOf(run(noTolerance, client('10.1.2.3'))), 'us-east');
  });

  test('the tolerance is measured from the best healthy region', () => {
    // us-east down: frankfurt (40) is best; tokyo (200) is not within 50 ms of it.
    const snap = build(zone('50ms'), { health: { down: ['us-east'] } });
    for (let i = 0; i < 300; i++) assert.equal(regionOf(run(snap, client(`${v4Subnet(i)}.1`))), 'frankfurt');
  });

  test('geo policy with a tolerance shares between the nearest regions the same way', () => {
    // A custom network in London: Dublin ~12 ms, Frankfurt ~14.6 ms by distance; a 10 ms tolerance takes both.
    const locator = new Locator(LOCATOR.databases, [network('172.16.0.0/12', { lat: 51.51, lon: -0.13, country: 'GB' })]);
    const snap = build(
      { regions: { dublin: { weight: 1 }, frankfurt: { weight: 1 } }, services: { app: { policy: 'geo', regions: ['dublin', 'frankfurt', 'tokyo'], tolerance: '10ms' } } },
      { locator },
    );
    const chosen: (string | undefined)[] = [];
    for (let i = 0; i < 3000; i++) {
      const subnet = `172.${16 + (i >> 8)}.${i & 0xff}`;
      const d = run(snap, client(`${subnet}.5`), { rng: () => 0 });
      assert.equal(d.scope, 24, 'sticky /24 inside the custom /12');
      chosen.push(regionOf(d));
      if (i % 100 === 0) for (let h = 6; h < 250; h += 61) assert.equal(regionOf(run(snap, client(`${subnet}.${h}`), { rng: () => 0.99 })), regionOf(d));
    }
    const got = shares(chosen);
    assertShare(got, 'dublin', 0.5, 0.03);
    assertShare(got, 'frankfurt', 0.5, 0.03);
    assert.equal(got.get('tokyo') ?? 0, 0);
    // Without the tolerance: Dublin, with the location's /12 as the scope.
    const strict = build({ services: { app: { policy: 'geo', regions: ['dublin', 'frankfurt', 'tokyo'] } } }, { locator });
    const d = run(strict, client('172.20.1.1'));
    assert.equal(regionOf(d), 'dublin');
    assert.equal(d.scope, 12);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------------------

describe('endpoints', () => {
  const FRA_V4 = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'];
  const FRA_V6 = ['2001:db8:f::1', '2001:db8:f::2', '2001:db8:f::3'];
  const regions: Partial<Record<RegionName, RegionSpec>> = {
    frankfurt: { endpoints: [...FRA_V4.map((address) => ({ address })), { address: '192.0.2.99', weight: 0 }, ...FRA_V6.map((address) => ({ address }))] },
    dublin: { endpoints: [{ address: '198.51.100.1' }] }, // IPv4 only
    tokyo: { endpoints: [{ address: 'edge.tokyo.example.net' }, { address: 'edge2.tokyo.example.net', weight: 0 }] }, // hostnames only
    sydney: { endpoints: [{ address: '203.0.113.1', weight: 3 }, { address: '203.0.113.2', weight: 1 }, { address: '203.0.113.3', weight: 0 }] },
    'us-east': { endpoints: [{ address: '192.0.2.201' }, { address: '192.0.2.202' }] },
  };
  const services: Record<string, ServiceSpec> = {
    app: { policy: 'latency', regions: ['frankfurt', 'dublin'], answers: 2 },
    fra: { policy: 'failover', regions: ['frankfurt'], answers: 2 },
    geo: { policy: 'geo', regions: ['frankfurt', 'dublin', 'tokyo'], answers: 3 },
    syd: { policy: 'failover', regions: ['sydney'], answers: 1 },
    sydlat: { policy: 'latency', regions: ['sydney'], answers: 1 },
    one: { policy: 'failover', regions: ['dublin'], answers: 2 },
    host: { policy: 'failover', regions: ['tokyo'] },
    hostgeo: { policy: 'geo', regions: ['tokyo'] },
    east: { policy: 'latency', regions: ['us-east'], answers: 2 },
  };

  test('A gets IPv4 and AAAA gets IPv6, at most `answers`, never weight 0', () => {
    const snap = build({ regions, services });
    for (let i = 0; i < 300; i++) {
      const cl = client(`5.10.${i & 0xff}.${i >> 8}`);
      const a = run(snap, cl, { service: 'fra', rng: seededRng(i) });
      const aaaa = run(snap, cl, { service: 'fra', qtype: RRType.AAAA, rng: seededRng(i) });
      assert.equal(a.endpoints.length, 2);
      assert.equal(aaaa.endpoints.length, 2);
      for (const e of a.endpoints) assert.ok(FRA_V4.includes(e.address) && e.family === 4 && e.rdata.length === 4);
      for (const e of aaaa.endpoints) assert.ok(FRA_V6.includes(e.address) && e.family === 6 && e.rdata.length === 16);
      assert.notEqual(a.endpoints[0], a.endpoints[1]);
    }
  });

  test('answers larger than the usable endpoints: all of them', () => {
    const snap = build({ regions, services });
    const d = run(snap, client(LONDON), { service: 'geo' });
    assert.equal(regionOf(d), 'dublin');
    assert.deepEqual(addrs(d), ['198.51.100.1']);
  });

  test('failover: the first endpoint follows endpoint weight (3:1:0) across 20 000 subnets, each subnet keeps its own', () => {
    const snap = build({ regions, services });
    const s = svc(snap, 'syd');
    const rng = seededRng(99);
    const firsts: (string | undefined)[] = [];
    for (let i = 0; i < 20_000; i++) {
      const cl = client(`10.${i >> 8}.${i & 0xff}.1`, 24);
      const d = decide(snap, s, RRType.A, cl, rng);
      assert.equal(d.endpoints.length, 1);
      // Rendezvous per client /24 whatever the policy: the answer holds for the block.
      assert.equal(d.scope, 24);
      if (i < 200) assert.equal(decide(snap, s, RRType.A, cl, seededRng(i)).endpoints[0]?.address, d.endpoints[0]?.address);
      firsts.push(d.endpoints[0]?.address);
    }
    const got = shares(firsts);
    assertShare(got, '203.0.113.1', 0.75, 0.02);
    assertShare(got, '203.0.113.2', 0.25, 0.02);
    assert.equal(got.get('203.0.113.3') ?? 0, 0);
  });

  test('latency policy: the first endpoint across many subnets also follows endpoint weight', () => {
    const snap = build({ regions, services });
    const firsts: (string | undefined)[] = [];
    for (let i = 0; i < 4000; i++) firsts.push(run(snap, client(`10.${i >> 8}.${i & 0xff}.1`), { service: 'sydlat' }).endpoints[0]?.address);
    const got = shares(firsts);
    assertShare(got, '203.0.113.1', 0.75, 0.03);
    assertShare(got, '203.0.113.2', 0.25, 0.03);
    assert.equal(got.get('203.0.113.3') ?? 0, 0);
  });

  test('latency/geo: one /24 sees the same endpoints in the same order; many /24s see every endpoint first', () => {
    const snap = build({ regions, services });
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const subnet = `5.10.${i}`;
      const ref = run(snap, client(`${subnet}.1`), { rng: seededRng(i) });
      assert.equal(regionOf(ref), 'frankfurt');
      assert.equal(ref.endpoints.length, 2);
      assert.ok(ref.scope >= 24 && ref.scope <= 32, `more endpoints than answers: scope ${ref.scope} >= 24`);
      for (const h of [2, 100, 254]) {
        const d = run(snap, client(`${subnet}.${h}`), { rng: seededRng(1000 + h) });
        assert.deepEqual(addrs(d), addrs(ref), `${subnet}.${h}`);
      }
      // ECS /24 for the subnet: the same too, scope 24.
      const ecs = run(snap, client(`${subnet}.0`, 24), { rng: () => 0.5 });
      assert.deepEqual(addrs(ecs), addrs(ref));
      assert.equal(ecs.scope, 24);
      firsts.add(ref.endpoints[0]!.address);
      assert.ok(!addrs(ref).includes('192.0.2.99'));
    }
    assert.deepEqual([...firsts].sort(), [...FRA_V4].sort());
  });

  test('IPv6 clients: one /56 sees the same AAAA endpoints; scope at least 56 when rotation is used', () => {
    const snap = build({ regions, services });
    const firsts = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const base = `2001:db8:2:${(i << 8).toString(16)}`;
      const ref = run(snap, client(`${base}::1`), { service: 'geo', qtype: RRType.AAAA });
      // Dublin (nearest) has no IPv6 endpoints: no candidate for AAAA, so the nearest region with IPv6 answers.
      assert.equal(regionOf(ref), 'frankfurt');
      assert.ok(ref.endpoints.length > 0 && ref.endpoints.every((e) => FRA_V6.includes(e.address)));
      const fra = run(snap, client(`${base}::1`), { service: 'fra', qtype: RRType.AAAA });
      // Two of three endpoints chosen by rendezvous per /56, for failover too.
      assert.equal(fra.scope, 56, 'failover choosing endpoints: per /56');
      const lat = build({ regions, services: { app: { policy: 'latency', regions: ['frankfurt'], answers: 2 } } });
      const a = run(lat, client(`${base}::1`), { qtype: RRType.AAAA });
      assert.equal(a.scope, 56);
      assert.deepEqual(addrs(run(lat, client(`${base}:ffff::9`), { qtype: RRType.AAAA, rng: () => 0.1 })), addrs(a));
      firsts.add(a.endpoints[0]!.address);
    }
    assert.deepEqual([...firsts].sort(), [...FRA_V6].sort());
  });

  test('no more usable endpoints than answers: no rotation scope, the location prefix holds', () => {
    const snap = build({ regions, services });
    const d = run(snap, client(FRANKFURT_HOST), { service: 'east' }); // 2 endpoints, answers 2; location /20
    assert.equal(d.endpoints.length, 2);
    assert.equal(d.scope, 20);
    // With 4 usable endpoints for answers 2, the same client needs /24.
    const f = run(snap, client(FRANKFURT_HOST));
    assert.equal(regionOf(f), 'frankfurt');
    assert.equal(f.scope, 24);
  });

  test('a region without endpoints of the query family is no candidate for it; NODATA (scope 0) only when no region has it', () => {
    const snap = build({ regions, services });
    for (const cl of [client(LONDON), client('81.2.69.0', 24), client(DUBLIN6)]) {
      const a = run(snap, cl, { service: 'geo' });
      const aaaa = run(snap, cl, { service: 'geo', qtype: RRType.AAAA });
      assert.equal(regionOf(a), 'dublin');
      assert.deepEqual(addrs(a), ['198.51.100.1']);
      assert.equal(regionOf(aaaa), 'frankfurt', 'the nearest region that has IPv6');
      assert.ok(aaaa.endpoints.length > 0 && aaaa.endpoints.every((e) => FRA_V6.includes(e.address)));
      assert.match(aaaa.why!.reason, /no IPv6 endpoints in dublin, answered from frankfurt/);
      const c = aaaa.why!.candidates.find((x) => x.region === 'dublin')!;
      assert.equal(c.hasFamily, false);
      assert.deepEqual(c.families.ipv6, { endpoints: 0, eligible: false, waiting: undefined, reason: 'no IPv6 endpoints' });
      assert.equal(c.families.ipv4.eligible, true);
    }
    const one = run(snap, client(TOKYO6), { service: 'one', qtype: RRType.AAAA });
    assert.equal(one.region, undefined);
    assert.deepEqual(one.endpoints, []);
    assert.equal(one.scope, 0);
    assert.match(one.why!.reason, /no region of the service has IPv6 endpoints/);
    // Hostname-only regions answer both families with a CNAME.
    const host = run(snap, client(TOKYO6), { service: 'host', qtype: RRType.AAAA });
    assert.equal(host.cname?.address, 'edge.tokyo.example.net');
  });

  test('endpoints the HealthView marks down are skipped', () => {
    const cases: { name: string; down: string[]; expected: string[] }[] = [
      { name: 'two of four down', down: ['frankfurt/192.0.2.1', 'frankfurt/192.0.2.3'], expected: ['192.0.2.2', '192.0.2.4'] },
      { name: 'three of four down', down: ['frankfurt/192.0.2.1', 'frankfurt/192.0.2.2', 'frankfurt/192.0.2.3'], expected: ['192.0.2.4'] },
      { name: 'all down: NODATA (the region itself is up)', down: FRA_V4.map((a) => `frankfurt/${a}`), expected: [] },
      { name: 'an address down in another region only', down: ['dublin/192.0.2.1'], expected: FRA_V4 },
    ];
    for (const c of cases) {
      const snap = build({ regions, services }, { health: { endpointsDown: c.down } });
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        for (const svcName of ['fra', 'app']) {
          const d = run(snap, client(`5.10.${i}.1`), { service: svcName, rng: seededRng(i) });
          assert.equal(regionOf(d), 'frankfurt', c.name);
          assert.equal(d.endpoints.length, Math.min(2, c.expected.length), c.name);
          for (const a of addrs(d)) seen.add(a);
        }
      }
      assert.deepEqual([...seen].sort(), [...c.expected].sort(), c.name);
    }
  });

  test('a hostname-only region answers with a CNAME (weight-0 hostnames never)', () => {
    const snap = build({ regions, services });
    for (const svcName of ['host', 'hostgeo']) {
      for (const qtype of [RRType.A, RRType.AAAA]) {
        for (let i = 0; i < 50; i++) {
          const d = run(snap, client(`5.10.${i}.1`), { service: svcName, qtype, rng: seededRng(i) });
          assert.equal(regionOf(d), 'tokyo');
          assert.deepEqual(d.endpoints, []);
          assert.equal(d.cname?.address, 'edge.tokyo.example.net');
          assert.equal(d.cname?.family, 0);
        }
      }
    }
    const down = build({ regions, services }, { health: { endpointsDown: ['tokyo/edge.tokyo.example.net'] } });
    const d = run(down, client(BERLIN), { service: 'host' });
    assert.equal(d.cname, undefined);
    assert.deepEqual(d.endpoints, []);
  });

  test('within a shared tolerance, each region rotates its own endpoints evenly', () => {
    // us-east and frankfurt share 10.0.0.0/8 (within 50 ms). Within each region, the two equal-weight endpoints
    // must each come first for about half of the subnets that region gets, independently of the region draw.
    const snap = build({
      regions: {
        'us-east': { weight: 1, endpoints: [{ address: '192.0.2.201' }, { address: '192.0.2.202' }] },
        frankfurt: { weight: 1, endpoints: [{ address: '192.0.2.1' }, { address: '192.0.2.2' }] },
      },
      services: { app: { policy: 'latency', regions: ['us-east', 'frankfurt'], answers: 1, tolerance: 50 } },
      latency: [
        { client: '10.0.0.0/8', region: 'us-east', rtt: 20 },
        { client: '10.0.0.0/8', region: 'frankfurt', rtt: 40 },
      ],
    });
    const firsts: (string | undefined)[] = [];
    for (let i = 0; i < 8000; i++) firsts.push(run(snap, client(`10.${i >> 8}.${i & 0xff}.1`)).endpoints[0]?.address);
    const got = shares(firsts);
    for (const a of ['192.0.2.201', '192.0.2.202', '192.0.2.1', '192.0.2.2']) assertShare(got, a, 0.25, 0.03);
  });
});

describe('consistent endpoint choice: weighted rendezvous hashing per client subnet', () => {
  const FIVE = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'];
  const SUBNETS = 10_000;
  const subnet = (i: number) => client(`10.${i >> 8}.${i & 0xff}.0`, 24);
  const firstsOf = (snap: Snapshot, service = 'app') => Array.from({ length: SUBNETS }, (_, i) => run(snap, subnet(i), { service, rng: seededRng(i) }).endpoints[0]?.address);
  const zone = (endpoints: EndpointSpec[]): ZoneSpec => ({
    regions: { frankfurt: { endpoints } },
    services: { app: { policy: 'latency', regions: ['frankfurt'], answers: 1 }, pair: { policy: 'latency', regions: ['frankfurt'], answers: 2 } },
  });

  test('removing one of 5 endpoints moves only its own clients: about 1/5 of 10 000 subnets', () => {
    const before = firstsOf(build(zone(FIVE.map((address) => ({ address })))));
    const after = firstsOf(build(zone(FIVE.filter((a) => a !== '192.0.2.3').map((address) => ({ address })))));
    let moved = 0;
    before.forEach((b, i) => {
      if (b === after[i]) return;
      moved++;
      assert.equal(b, '192.0.2.3', `subnet ${i} moved from ${b} to ${after[i]}, not from the endpoint that left`);
    });
    assert.ok(Math.abs(moved / SUBNETS - 0.2) <= 0.02, `${moved} of ${SUBNETS} subnets moved, expected about ${SUBNETS / 5}`);
  });

  test('adding a sixth endpoint takes about 1/6 of the subnets, each from wherever it was', () => {
    const before = firstsOf(build(zone(FIVE.map((address) => ({ address })))));
    // Listed first: a choice that depends on list order would reshuffle every subnet.
    const after = firstsOf(build(zone(['192.0.2.6', ...FIVE].map((address) => ({ address })))));
    let moved = 0;
    before.forEach((b, i) => {
      if (b === after[i]) return;
      moved++;
      assert.equal(after[i], '192.0.2.6');
    });
    assert.ok(Math.abs(moved / SUBNETS - 1 / 6) <= 0.02, `${moved} of ${SUBNETS} moved`);
  });

  test('weights 1:2:3:0 give first places in proportion; the same subnet always gets the same endpoints', () => {
    const weights = [1, 2, 3, 0];
    const snap = build(zone(weights.map((weight, i) => ({ address: FIVE[i]!, weight }))));
    const got = shares(firstsOf(snap));
    weights.forEach((w, i) => assertShare(got, FIVE[i]!, w / 6, 0.02));
    for (let i = 0; i < 200; i++) {
      const d = run(snap, subnet(i * 41), { service: 'pair', rng: seededRng(i) });
      const again = run(build(zone(weights.map((weight, j) => ({ address: FIVE[j]!, weight })))), client(`10.${(i * 41) >> 8}.${(i * 41) & 0xff}.77`), { service: 'pair', rng: () => 0.99 });
      assert.deepEqual(addrs(again), addrs(d));
      assert.equal(d.endpoints.length, 2);
      assert.ok(!addrs(d).includes(FIVE[3]!));
    }
  });

  test('failover and weighted too: the endpoints a subnet gets do not depend on the draw, one leaving moves 1/5, scope /24', () => {
    for (const policy of ['failover', 'weighted'] as const) {
      const z = (endpoints: string[]): ZoneSpec => ({
        regions: { frankfurt: { endpoints: endpoints.map((address) => ({ address })) } },
        services: { app: { policy, regions: ['frankfurt'], answers: 1 } },
      });
      const before = firstsOf(build(z(FIVE)));
      // Another random source for every query: the choice is the subnet's, not the draw's.
      const snap = build(z(FIVE));
      for (let i = 0; i < 500; i++) assert.equal(run(snap, subnet(i), { rng: seededRng(i + 77_777) }).endpoints[0]?.address, before[i], `${policy} subnet ${i}`);
      assert.equal(run(snap, subnet(1), { rng: seededRng(1) }).scope, 24, `${policy}: the answer holds for the /24`);
      const after = firstsOf(build(z(FIVE.filter((a) => a !== '192.0.2.3'))));
      let moved = 0;
      before.forEach((b, i) => {
        if (b === after[i]) return;
        moved++;
        assert.equal(b, '192.0.2.3', `${policy}: subnet ${i} moved from ${b} to ${after[i]}`);
      });
      assert.ok(Math.abs(moved / SUBNETS - 0.2) <= 0.02, `${policy}: ${moved} of ${SUBNETS} moved`);
    }
  });

  test('tolerance sharing: a region leaving the shared group moves only the subnets it had', () => {
    const latency: LatencySpec[] = ['us-east', 'frankfurt', 'dublin'].map((region, i) => ({ client: '10.0.0.0/8', region, rtt: 20 + i }));
    const services = { app: { policy: 'latency' as const, regions: ['us-east', 'frankfurt', 'dublin'], tolerance: 50 } };
    const regionsOf = (snap: Snapshot) => Array.from({ length: SUBNETS }, (_, i) => regionOf(run(snap, subnet(i), { rng: seededRng(i) })));
    const before = regionsOf(build({ services, latency }));
    const after = regionsOf(build({ services, latency }, { health: { drained: ['us-east'] } }));
    let moved = 0;
    before.forEach((b, i) => {
      if (b === after[i]) return;
      moved++;
      assert.equal(b, 'us-east', `subnet ${i} moved from ${b} to ${after[i]}`);
    });
    assert.ok(Math.abs(moved / SUBNETS - 1 / 3) <= 0.02, `${moved} of ${SUBNETS} moved`);
  });
});

// ---------------------------------------------------------------------------------------------------------
// When all regions are down
// ---------------------------------------------------------------------------------------------------------

describe('when-all-down', () => {
  const policies = ['latency', 'geo', 'weighted', 'failover'] as const;
  const allDown: HealthSpec = { down: ['frankfurt', 'dublin'], drained: ['tokyo'], endpointsDown: ['frankfurt/192.0.2.30', 'dublin/192.0.2.20'] };
  for (const policy of policies) {
    test(`${policy}, all: fail open, answer as if all were up`, () => {
      const snap = build({ services: { app: { policy, regions: ['frankfurt', 'dublin', 'tokyo'], 'when-all-down': 'all' } } }, { health: allDown });
      for (const cl of [client(BERLIN), client(TOKYO6), client(UNLOCATED)]) {
        const d = run(snap, cl);
        assert.equal(d.why!.failOpen, true);
        assert.ok(d.region, 'a region');
        assert.equal(d.endpoints.length, 1, 'endpoints down are answered too');
        assert.match(d.why!.reason, /when-all-down: all/);
        if (policy === 'failover') assert.equal(regionOf(d), 'frankfurt');
        if (policy === 'latency' || policy === 'geo') {
          // As if all were up: the nearest.
          const expected = d.why!.location?.source === 'none' ? 'frankfurt' : cl.family === 6 ? 'tokyo' : 'frankfurt';
          assert.equal(regionOf(d), expected);
        } else assert.equal(d.scope, 0);
      }
    });
    test(`${policy}, none: no region, no endpoints`, () => {
      const snap = build({ services: { app: { policy, regions: ['frankfurt', 'dublin', 'tokyo'], 'when-all-down': 'none' } } }, { health: allDown });
      for (const cl of [client(BERLIN), client(TOKYO6, 56)]) {
        for (const qtype of [RRType.A, RRType.AAAA]) {
          const d = run(snap, cl, { qtype });
          assert.equal(d.region, undefined);
          assert.deepEqual(d.endpoints, []);
          assert.equal(d.cname, undefined);
          assert.equal(d.why!.failOpen, false);
          assert.equal(d.scope, 0);
          assert.ok(d.why!.candidates.every((x) => !x.healthy && !x.chosen));
        }
      }
    });
  }

  test('one region still healthy: no fail-open', () => {
    const snap = build({ services: { app: { policy: 'latency', regions: ['frankfurt', 'dublin', 'tokyo'], 'when-all-down': 'none' } } }, { health: { down: ['frankfurt', 'dublin'] } });
    const d = run(snap, client(BERLIN));
    assert.equal(regionOf(d), 'tokyo');
    assert.equal(d.why!.failOpen, false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Decision cache
// ---------------------------------------------------------------------------------------------------------

describe('decision cache', () => {
  const z: ZoneSpec = {
    services: {
      lat: { policy: 'latency', regions: ['frankfurt', 'dublin'] },
      geo: { policy: 'geo', regions: ['frankfurt', 'dublin'] },
      w: { policy: 'weighted', regions: ['frankfurt', 'dublin'] },
      f: { policy: 'failover', regions: ['frankfurt', 'dublin'] },
    },
  };

  /** The answer part of a decision: what the cache keeps of it. */
  const answer = (d: Decision) => ({ region: regionOf(d), endpoints: addrs(d), cname: d.cname?.address, ttl: d.ttl, scope: d.scope });

  test('latency and geo: a decision made once is answered from the cache, its answer without its reasons', () => {
    for (const service of ['lat', 'geo']) {
      for (const cl of [client(BERLIN), client('5.10.20.0', 24), client(TOKYO6), client('2001:db8:1::', 56)]) {
        // A snapshot each: the host and its /24 (or the /48's hosts) would share one entry.
        const snap = build(z);
        const made = run(snap, cl, { service, rng: seededRng(1) });
        assert.ok(made.why, 'made for this query: with its reasons');
        const cached = run(snap, { ...cl, address: Buffer.from(cl.address) }, { service, rng: seededRng(2) });
        assert.equal(cached.why, undefined, `${service} ${cl.address.toString('hex')}: from the cache`);
        assert.deepEqual(answer(cached), answer(made));
        assert.equal(run(snap, cl, { service }), cached, 'one entry');
        // The other query type is a different decision.
        const c = run(snap, cl, { service, qtype: RRType.AAAA });
        assert.ok(c.why);
        assert.notEqual(run(snap, cl, { service, qtype: RRType.AAAA }), cached);
      }
    }
  });

  test('one entry per client block: hosts of one GeoIP block share it, other blocks, source prefixes and services do not', () => {
    const snap = build(z);
    for (const service of ['lat', 'geo']) {
      run(snap, client(BERLIN), { service });
      const a = run(snap, client(BERLIN), { service });
      // 5.10.20.0/24 is one record (Berlin): the decision a host got holds for every host in it.
      assert.equal(run(snap, client('5.10.20.8'), { service }), a);
      assert.equal(run(snap, client('5.10.20.250'), { service }), a);
      // Another block of the database: its own entry (5.10.1.x lies in the Frankfurt /16 outside Berlin).
      run(snap, client('5.10.1.8'), { service });
      assert.notEqual(run(snap, client('5.10.1.8'), { service }), a);
      // An ECS /24 and /23 are told apart only as far as their sources go: each gets its own decision.
      run(snap, client('5.10.20.0', 24), { service });
      run(snap, client('5.10.20.0', 23), { service });
      assert.notEqual(run(snap, client('5.10.20.0', 24), { service }), run(snap, client('5.10.20.0', 23), { service }));
      run(snap, client(BERLIN), { service: service === 'lat' ? 'geo' : 'lat' });
      assert.notEqual(run(snap, client(BERLIN), { service: service === 'lat' ? 'geo' : 'lat' }), a);
    }
  });

  test('a snapshot built anew does not reuse decisions', () => {
    const one = build(z);
    const two = build(z);
    for (const service of ['lat', 'geo']) {
      const a = run(one, client(BERLIN), { service });
      const b = run(two, client(BERLIN), { service });
      assert.ok(a.why && b.why, 'both made in full');
      assert.equal(regionOf(a), regionOf(b));
      assert.equal(run(one, client(BERLIN), { service }).why, undefined, 'the first one cached');
    }
    // Health changed in the new snapshot: the cached answer of the old one is not served from it.
    const drained = build(z, { health: { drained: ['frankfurt'] } });
    assert.equal(regionOf(run(one, client(BERLIN), { service: 'lat' })), 'frankfurt');
    assert.equal(regionOf(run(drained, client(BERLIN), { service: 'lat' })), 'dublin');
  });

  test('weighted and failover decisions are not cached', () => {
    const snap = build(z);
    for (const service of ['w', 'f']) {
      const a = run(snap, client(BERLIN), { service });
      const b = run(snap, client(BERLIN), { service });
      assert.notEqual(a, b);
    }
    assert.equal(snap.decisions.size, 0);
  });
});

/**
 * Zone file loading: the contract's example, defaults, and every class of error the loader reports, each with
 * its exact `file:line` (the line is what `gslb check` prints, so an off-by-one is a user-visible bug).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RRType } from '../src/wire/constants.js';
import type { RecordData, ResourceRecord } from '../src/wire/records.js';
import { loadZoneDir, loadZoneSources, type LoadResult } from '../src/model/loader.js';
import { formatError, type ConfigError, type ZoneSet } from '../src/model/types.js';

/** The example zone of CONTRACT.md, verbatim. */
const CONTRACT_EXAMPLE = `zone: gslb.example.test          # the delegated subdomain (apex)
ttl: 300                         # default TTL of static records
soa: { mname: ns1.gslb.example.test, rname: hostmaster.example.test, serial: 2026112801,
       refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
ns: [ns1.gslb.example.test, ns2.gslb.example.test]
records:                         # static records, relative names; "@" is the apex
  ns1: { A: [192.0.2.53] }
  ns2: { A: [192.0.2.54], AAAA: ["2001:db8::54"] }
  "@": { TXT: ["gslb zone"] }
  docs: { CNAME: docs.example.org. }
regions:                         # regional clusters; names are global across zones
  us-east:
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [ { address: 192.0.2.10 }, { address: 192.0.2.11, weight: 2 }, { address: "2001:db8::10" } ]
    check: { type: http, port: 80, path: /health, interval: 5s, timeout: 2s, rise: 2, fall: 3 }
  eu-west:
    location: { lat: 53.35, lon: -6.26 }
    endpoints: [ { address: 198.51.100.10 } ]
services:                        # names answered by steering
  app:
    policy: latency              # latency | geo | weighted | failover
    regions: [us-east, eu-west]  # plus every region registered through the API whose \`services\` names app.gslb.example.test
    ttl: 30
    answers: 2                   # at most this many endpoint records per answer
    when-all-down: all           # all (fail open: answer from every region) | none (NODATA)
latency:                         # measured RTT (ms) from client networks to regions; CIDR, ISO country, or continent:XX
  - { client: "198.51.100.0/24", region: eu-west, rtt: 12 }
  - { client: DE, region: eu-west, rtt: 25 }
`;

/**
 * A small valid zone whose `records:` mapping is open at the end. Lines:
 *   1 zone, 2 soa, 3 ns, 4 records:, 5 ns1 — so the first line a test appends is line 6.
 */
const BASE = ['zone: z.test', 'soa: { mname: ns1, rname: hostmaster.z.test, serial: 1 }', 'ns: [ns1]', 'records:', '  ns1: { A: [192.0.2.1] }'];

/** BASE plus `more` lines (the first of them is line 6). */
function zone(...more: string[]): string {
  return [...BASE, ...more, ''].join('\n');
}

/** A region block usable after BASE (must be appended after any `records` lines). */
function region(name: string, address = '192.0.2.100'): string[] {
  return [`  ${name}:`, '    location: { lat: 50, lon: 8 }', `    endpoints: [ { address: ${address} } ]`];
}

function load(text: string, file = 'z.yaml'): LoadResult {
  return loadZoneSources([{ file, text }]);
}

function ok(result: LoadResult): ZoneSet {
  assert.deepEqual(result.errors.map(formatError), [], 'expected no errors');
  assert.ok(result.zoneSet, 'expected a zone set');
  return result.zoneSet;
}

/** Assert that some error's message contains `fragment`, and that it is at exactly `file:line`. */
function assertError(result: LoadResult, line: number, fragment: string, file = 'z.yaml'): ConfigError {
  assert.equal(result.zoneSet, undefined, 'a file with errors must not produce a zone set');
  const all = result.errors.map(formatError).join('\n');
  const matches = result.errors.filter((e) => e.message.includes(fragment));
  assert.ok(matches.length > 0, `no error contains ${JSON.stringify(fragment)}; errors were:\n${all}`);
  const hit = matches.find((e) => e.file === file && e.line === line);
  assert.ok(hit, `error ${JSON.stringify(fragment)} expected at ${file}:${line}; errors were:\n${all}`);
  return hit;
}

/** Exactly one error, at `line`, containing `fragment`. */
function assertOnlyError(result: LoadResult, line: number, fragment: string, file = 'z.yaml'): void {
  assert.equal(result.errors.length, 1, `expected exactly one error, got:\n${result.errors.map(formatError).join('\n')}`);
  assertError(result, line, fragment, file);
}

function recordsAt(set: ZoneSet, name: string, type?: number): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  for (const z of set.zones) for (const rr of z.records) if (rr.name === name && (type === undefined || rr.data.type === type)) out.push(rr);
  return out;
}

function dataOf<T extends RecordData['type']>(rr: ResourceRecord | undefined, type: T): Extract<RecordData, { type: T }> {
  assert.ok(rr, 'record missing');
  assert.equal(rr.data.type, type);
  return rr.data as Extract<RecordData, { type: T }>;
}

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'gslb-zone-test-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the contract example', () => {
  test('loads with the expected zones, regions, services, latency and records', () => {
    const set = ok(load(CONTRACT_EXAMPLE, 'gslb.example.test.yaml'));
    assert.equal(set.zones.length, 1);
    const z = set.zones[0]!;
    assert.equal(z.apex, 'gslb.example.test');
    assert.equal(z.file, 'gslb.example.test.yaml');
    assert.equal(z.ttl, 300);
    assert.deepEqual(z.soa, {
      mname: 'ns1.gslb.example.test',
      rname: 'hostmaster.example.test',
      serial: 2026112801,
      refresh: 3600,
      retry: 600,
      expire: 604800,
      minimum: 60,
    });
    assert.deepEqual(z.ns, ['ns1.gslb.example.test', 'ns2.gslb.example.test']);
    // SOA + 2 NS at the apex, ns1 A, ns2 A + AAAA, apex TXT, docs CNAME.
    assert.equal(z.records.length, 8);
    const count = (t: number): number => z.records.filter((rr) => rr.data.type === t).length;
    assert.deepEqual([count(RRType.SOA), count(RRType.NS), count(RRType.A), count(RRType.AAAA), count(RRType.TXT), count(RRType.CNAME)], [1, 2, 2, 1, 1, 1]);
    for (const rr of z.records) {
      assert.equal(rr.name, rr.name.toLowerCase(), 'owner names are canonical (lowercase)');
      assert.ok(!rr.name.endsWith('.'), 'owner names have no trailing dot');
      assert.ok(rr.name === z.apex || rr.name.endsWith('.' + z.apex));
      assert.equal(rr.ttl, 300);
    }
    assert.equal(dataOf(recordsAt(set, 'ns1.gslb.example.test', RRType.A)[0], RRType.A).address, '192.0.2.53');
    assert.equal(dataOf(recordsAt(set, 'ns2.gslb.example.test', RRType.AAAA)[0], RRType.AAAA).address, '2001:db8::54');
    assert.equal(dataOf(recordsAt(set, 'docs.gslb.example.test')[0], RRType.CNAME).target, 'docs.example.org');
    assert.deepEqual(
      dataOf(recordsAt(set, 'gslb.example.test', RRType.TXT)[0], RRType.TXT).strings.map((b) => b.toString()),
      ['gslb zone'],
    );

    assert.deepEqual([...set.regions.keys()], ['us-east', 'eu-west']);
    const us = set.regions.get('us-east')!;
    assert.deepEqual(us.location, { lat: 39.04, lon: -77.49 });
    assert.deepEqual(
      us.endpoints.map((e) => [e.address, e.family, e.weight]),
      [
        ['192.0.2.10', 4, 1],
        ['192.0.2.11', 4, 2],
        ['2001:db8::10', 6, 1],
      ],
    );
    assert.ok(us.check);
    assert.equal(us.check.type, 'http');
    assert.equal(us.check.port, 80);
    assert.equal(us.check.path, '/health');
    assert.equal(us.check.intervalMs, 5000);
    assert.equal(us.check.timeoutMs, 2000);
    assert.equal(us.check.rise, 2);
    assert.equal(us.check.fall, 3);
    assert.equal(us.source, 'gslb.example.test.yaml:12');
    const eu = set.regions.get('eu-west')!;
    assert.equal(eu.check, undefined, 'no check: up unless told otherwise');
    assert.equal(eu.weight, 1);
    assert.equal(eu.bias, 0);
    assert.deepEqual(eu.minHealthy, { ipv4: 1, ipv6: 1 });

    assert.equal(z.services.length, 1);
    assert.deepEqual(z.services[0], {
      name: 'app.gslb.example.test',
      zone: 'gslb.example.test',
      policy: 'latency',
      regions: ['us-east', 'eu-west'],
      ttl: 30,
      answers: 2,
      whenAllDown: 'all',
      toleranceMs: 0,
    });

    assert.equal(set.latency.length, 2);
    const [cidr, country] = set.latency;
    assert.equal(cidr?.region, 'eu-west');
    assert.equal(cidr?.rttMs, 12);
    assert.equal(cidr?.client.kind, 'cidr');
    if (cidr?.client.kind === 'cidr') {
      assert.equal(cidr.client.family, 4);
      assert.equal(cidr.client.prefix, 24);
      assert.deepEqual([...cidr.client.network], [198, 51, 100, 0]);
    }
    assert.deepEqual(country?.client, { kind: 'country', text: 'DE', country: 'DE' });
    assert.equal(country?.rttMs, 25);
  });

  test('loadZoneDir reads *.yaml and *.yml files of a directory, sorted, and ignores other files', () => {
    withTempDir((dir) => {
      writeFileSync(join(dir, 'b-example.yaml'), CONTRACT_EXAMPLE);
      writeFileSync(join(dir, 'a-other.yml'), 'zone: other.test\nsoa: { mname: ns.example.org., rname: h.example.org., serial: 7 }\nns: [ns.example.org.]\n');
      writeFileSync(join(dir, 'README.md'), 'not a zone: [');
      writeFileSync(join(dir, 'notes.txt'), ': : :');
      const result = loadZoneDir(dir);
      assert.deepEqual(result.files, [join(dir, 'a-other.yml'), join(dir, 'b-example.yaml')]);
      const set = ok(result);
      assert.deepEqual(
        set.zones.map((z) => z.apex),
        ['other.test', 'gslb.example.test'],
      );
      assert.equal(set.zones[0]!.file, join(dir, 'a-other.yml'));
      assert.equal(set.zones[0]!.records.length, 2, 'SOA and one NS');
    });
  });

  test('loadZoneDir reports errors with the full file path and line', () => {
    withTempDir((dir) => {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, zone('  www: { A: [192.0.2.300] }'));
      const result = loadZoneDir(dir);
      const e = assertError(result, 6, 'is not an IPv4 address', file);
      assert.equal(formatError(e), `${file}:6: records.www.A[0]: "192.0.2.300" is not an IPv4 address`);
    });
  });

  test('loadZoneDir on a missing directory is an error, not an exception', () => {
    withTempDir((dir) => {
      const missing = join(dir, 'nope');
      const result = loadZoneDir(missing);
      assert.equal(result.zoneSet, undefined);
      assert.equal(result.errors.length, 1);
      assert.equal(result.errors[0]!.file, missing);
      assert.match(result.errors[0]!.message, /cannot read directory/);
    });
  });

  test('an empty directory loads as an empty zone set', () => {
    withTempDir((dir) => {
      const set = ok(loadZoneDir(dir));
      assert.deepEqual(set.zones, []);
      assert.equal(set.regions.size, 0);
    });
  });
});

describe('defaults', () => {
  test('zone ttl, SOA timers, service and region and check defaults', () => {
    const set = ok(
      load(
        [
          'zone: z.test',
          'soa: { mname: ns1, rname: hostmaster.z.test, serial: 5 }',
          'ns: ns1',
          'records:',
          '  ns1: { A: 192.0.2.1 }',
          '  short: { A: [192.0.2.2], ttl: 10 }',
          'regions:',
          '  r1:',
          '    location: { lat: 1, lon: 2 }',
          '    endpoints: [ { address: 192.0.2.10 } ]',
          '    check: { type: http }',
          '  r2:',
          '    location: { lat: 1, lon: 2 }',
          '    endpoints: [ { address: 192.0.2.11 } ]',
          '    check: { type: https }',
          '  r3:',
          '    location: { lat: 1, lon: 2 }',
          '    endpoints: [ { address: 192.0.2.12 } ]',
          '    check: { type: tcp, port: 5432 }',
          'services:',
          '  app: { regions: [r1, r2, r3] }',
          '',
        ].join('\n'),
      ),
    );
    const z = set.zones[0]!;
    assert.equal(z.ttl, 300);
    assert.deepEqual(z.soa, { mname: 'ns1.z.test', rname: 'hostmaster.z.test', serial: 5, refresh: 3600, retry: 600, expire: 604800, minimum: 60 });
    assert.deepEqual(z.ns, ['ns1.z.test'], 'a lone scalar counts as a list of one');
    assert.equal(recordsAt(set, 'ns1.z.test')[0]!.ttl, 300);
    assert.equal(recordsAt(set, 'short.z.test')[0]!.ttl, 10);
    assert.deepEqual(z.services[0], {
      name: 'app.z.test',
      zone: 'z.test',
      policy: 'latency',
      regions: ['r1', 'r2', 'r3'],
      ttl: 30,
      answers: 2,
      whenAllDown: 'all',
      toleranceMs: 0,
    });
    const c1 = set.regions.get('r1')!.check!;
    assert.deepEqual(
      { port: c1.port, path: c1.path, intervalMs: c1.intervalMs, timeoutMs: c1.timeoutMs, rise: c1.rise, fall: c1.fall },
      { port: 80, path: '/', intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3 },
    );
    assert.equal(set.regions.get('r2')!.check!.port, 443);
    assert.equal(set.regions.get('r3')!.check!.port, 5432);
  });

  test('explicit service options are read', () => {
    const set = ok(
      load(
        zone(
          'regions:',
          ...region('a'),
          ...region('b', '192.0.2.101'),
          'services:',
          '  app: { policy: failover, regions: [b, a], ttl: 5, answers: 1, when-all-down: none, tolerance: 20ms }',
          '  geo: { policy: geo, regions: [a], tolerance: 7 }',
          '  w: { policy: weighted, regions: [a, b] }',
        ),
      ),
    );
    const [app, geo, w] = set.zones[0]!.services;
    assert.deepEqual(app, { name: 'app.z.test', zone: 'z.test', policy: 'failover', regions: ['b', 'a'], ttl: 5, answers: 1, whenAllDown: 'none', toleranceMs: 20 });
    assert.equal(geo?.policy, 'geo');
    assert.equal(geo?.toleranceMs, 7);
    assert.equal(w?.policy, 'weighted');
  });

  test('shed and max-error-ratio are read; shed.to must be above shed.from, ratios within 0..1', () => {
    const head = ['regions:', ...region('a'), 'services:'];
    const set = ok(load(zone(...head, '  app: { regions: [a], shed: { from: 0.7, to: 0.9 }, max-error-ratio: 0.05 }')));
    assert.deepEqual(set.zones[0]!.services[0]!.shed, { from: 0.7, to: 0.9 });
    assert.equal(set.zones[0]!.services[0]!.maxErrorRatio, 0.05);
    assertOnlyError(load(zone(...head, '  app:', '    regions: [a]', '    shed: { from: 0.9, to: 0.8 }')), 13, 'must be above from (0.9)');
    assertError(load(zone(...head, '  app:', '    regions: [a]', '    shed: { from: 0.8, to: 1.5 }')), 13, '1');
    assertError(load(zone(...head, '  app:', '    regions: [a]', '    max-error-ratio: 2')), 13, '1');
  });
});

describe('YAML-level errors', () => {
  test('a syntax error is reported at its line', () => {
    // The flow sequence opened on line 6 is never closed; YAML notices at the next line.
    const result = load(zone('  www: { A: [192.0.2.1', 'ttl: 5'));
    assert.ok(result.errors.length >= 1);
    assert.ok(result.errors.every((e) => e.file === 'z.yaml' && e.line >= 6), result.errors.map(formatError).join('\n'));
    assertError(result, 7, 'Flow sequence');
  });

  test('a duplicate YAML key is reported at the second occurrence', () => {
    assertOnlyError(load(zone('  www: { A: [192.0.2.1] }', '  mail: { A: [192.0.2.2] }', '  www: { A: [192.0.2.3] }')), 8, 'Map keys must be unique');
    assertOnlyError(load(zone('ttl: 60', 'ttl: 70')), 7, 'Map keys must be unique');
  });

  test('a duplicate key is one however it is quoted, also in a flow mapping and below the top level', () => {
    assertOnlyError(load(zone('  www: { A: [192.0.2.1] }', '  "www": { A: [192.0.2.3] }')), 7, 'Map keys must be unique');
    assertOnlyError(load(zone('  www: { A: [192.0.2.1], ttl: 5, ttl: 6 }')), 6, 'Map keys must be unique');
    // Two keys to YAML, but keys are names, and one of them must not silently replace the other.
    assertOnlyError(load(zone('  1: { A: [192.0.2.1] }', '  "1": { A: [192.0.2.3] }')), 7, 'Map keys must be unique');
  });

  test('an unterminated quoted string', () => {
    const result = load('zone: z.test\nsoa: "oops\nns: [a.]\n');
    assert.equal(result.zoneSet, undefined);
    assert.ok(result.errors.some((e) => /quote/i.test(e.message)), result.errors.map(formatError).join('\n'));
  });

  test('a document that is not a mapping', () => {
    assertOnlyError(load('- zone: z.test\n'), 1, 'must be a mapping');
    assertOnlyError(load(''), 1, 'must be a mapping');
  });

  test('unknown top-level key', () => {
    const result = load(zone('servics:', '  app: {}'));
    assertOnlyError(result, 6, 'unknown key "servics"');
    assert.match(result.errors[0]!.message, /allowed: zone, ttl, soa, ns, records, regions, services, latency/);
  });
});

describe('required keys and top-level values', () => {
  test('missing zone', () => {
    assertOnlyError(load('# a comment\nttl: 5\nsoa: { mname: a., rname: b., serial: 1 }\nns: [a.]\n'), 2, 'missing required key "zone"');
  });

  test('missing soa', () => {
    assertOnlyError(load('zone: z.test\nns: [ns.example.org.]\n'), 1, 'missing required key "soa"');
  });

  test('missing ns', () => {
    assertOnlyError(load('zone: z.test\nsoa: { mname: a.example., rname: b.example., serial: 1 }\n'), 1, 'missing required key "ns"');
  });

  test('empty ns list', () => {
    assertOnlyError(load('zone: z.test\nsoa: { mname: a.example., rname: b.example., serial: 1 }\nns: []\n'), 3, 'at least one name server');
  });

  test('soa without serial, soa with an unknown key, bad soa timers', () => {
    assertOnlyError(load('zone: z.test\nsoa: { mname: a.example., rname: b.example. }\nns: [a.example.]\n'), 2, 'missing required key "serial"');
    assertOnlyError(load('zone: z.test\nsoa: { mname: a.example., rname: b.example., serial: 1, mininum: 5 }\nns: [a.example.]\n'), 2, 'unknown key "mininum"');
    assertOnlyError(
      load('zone: z.test\nsoa:\n  mname: a.example.\n  rname: b.example.\n  serial: 4294967296\nns: [a.example.]\n'),
      5,
      'soa.serial: must be an integer from 0 to 4294967295',
    );
    assertOnlyError(load('zone: z.test\nsoa:\n  mname: a.example.\n  rname: b.example.\n  serial: 1\n  retry: -5\nns: [a.example.]\n'), 6, 'soa.retry');
  });

  test('invalid zone name', () => {
    assertOnlyError(load('zone: "a..test"\nsoa: { mname: a., rname: b., serial: 1 }\nns: [a.]\n'), 1, 'has an empty label');
    assertOnlyError(load('ttl: 1\nzone: .\nsoa: { mname: a., rname: b., serial: 1 }\nns: [a.]\n'), 2, 'must not be the root');
  });

  test('zone TTL out of range, negative, or fractional', () => {
    assertOnlyError(load(zone('ttl: -1')), 6, 'ttl: must be an integer from 0 to 2147483647');
    assertOnlyError(load(zone('ttl: 2147483648')), 6, 'ttl: must be an integer from 0 to 2147483647');
    assertOnlyError(load(zone('ttl: 1.5')), 6, 'must be an integer');
    assertOnlyError(load(zone('ttl: soon')), 6, 'must be an integer');
    ok(load(zone('ttl: 2147483647')));
    ok(load(zone('ttl: 0')));
  });

  test('record TTL out of range', () => {
    assertOnlyError(load(zone('  www:', '    A: [192.0.2.7]', '    ttl: -30')), 8, 'records.www.ttl: must be an integer from 0 to 2147483647');
    assertOnlyError(load(zone('  www: { A: [192.0.2.7], ttl: 9999999999 }')), 6, 'records.www.ttl');
  });
});

describe('record data errors', () => {
  test('bad IPv4 in A', () => {
    const result = load(zone('  www:', '    A:', '      - 192.0.2.1', '      - 192.0.2.256', '      - 10.0.0'));
    assert.equal(result.errors.length, 2);
    assertError(result, 9, 'records.www.A[1]: "192.0.2.256" is not an IPv4 address');
    assertError(result, 10, 'records.www.A[2]: "10.0.0" is not an IPv4 address');
  });

  test('IPv6 address in A', () => {
    assertOnlyError(load(zone('  www:', '    A: ["2001:db8::1"]')), 7, '"2001:db8::1" is not an IPv4 address');
  });

  test('bad AAAA (IPv4 in AAAA, garbage, a scope id)', () => {
    const result = load(zone('  www:', '    AAAA:', '      - 192.0.2.1', '      - "2001:db8::g"', '      - "fe80::1%eth0"', '      - "2001:db8::1"'));
    assert.equal(result.errors.length, 3, result.errors.map(formatError).join('\n'));
    assertError(result, 8, '"192.0.2.1" is not an IPv6 address');
    assertError(result, 9, '"2001:db8::g" is not an IPv6 address');
    assertError(result, 10, '"fe80::1%eth0" is not an IPv6 address');
  });

  test('AAAA addresses are stored in RFC 5952 form, so spellings of one address are duplicates', () => {
    const set = ok(load(zone('  www: { AAAA: ["2001:DB8:0:0::1", "::FFFF:192.0.2.1"] }')));
    assert.deepEqual(
      recordsAt(set, 'www.z.test').map((rr) => dataOf(rr, RRType.AAAA).address),
      ['2001:db8::1', '::ffff:c000:201'],
    );
    assertOnlyError(load(zone('  www:', '    AAAA: ["2001:db8::1", "2001:DB8:0::1"]')), 7, 'duplicate record');
  });

  test('duplicate values in one RRset', () => {
    assertOnlyError(load(zone('  www:', '    A:', '      - 192.0.2.1', '      - 192.0.2.1')), 9, 'records.www.A[1]: duplicate record');
    assertOnlyError(load(zone('  t:', '    TXT:', '      - same', '      - same')), 9, 'duplicate record');
  });

  test('unknown record type, with a hint for SOA', () => {
    const result = load(zone('  www:', '    A: [192.0.2.1]', '    PTR: x.example.', '    SOA: y'));
    assert.equal(result.errors.length, 2);
    assertError(result, 8, 'unknown record type "PTR"');
    const soa = assertError(result, 9, 'unknown record type "SOA"');
    assert.match(soa.message, /top-level "soa" key/);
  });

  test('record types are upper-case keys; a lower-case one is unknown', () => {
    assertOnlyError(load(zone('  www:', '    a: [192.0.2.1]')), 7, 'unknown record type "a"');
  });

  test('a record node must be a mapping', () => {
    assertOnlyError(load(zone('  www: 192.0.2.1')), 6, 'records.www: must be a mapping');
  });

  test('an empty RRset', () => {
    assertOnlyError(load(zone('  www:', '    A: []')), 7, 'at least one value');
  });

  test('CNAME beside other data', () => {
    assertOnlyError(load(zone('  www:', '    A: [192.0.2.1]', '    CNAME: other.example.')), 8, 'CNAME cannot stand beside other data');
  });

  test('CNAME with only a ttl beside it is fine', () => {
    const set = ok(load(zone('  www: { CNAME: other.example., ttl: 60 }')));
    const rr = recordsAt(set, 'www.z.test')[0]!;
    assert.equal(rr.ttl, 60);
    assert.equal(dataOf(rr, RRType.CNAME).target, 'other.example');
  });

  test('CNAME at the apex', () => {
    assertOnlyError(load(zone('  "@":', '    CNAME: elsewhere.example.')), 7, 'CNAME cannot be at the zone apex');
  });

  test('NS under "@" (the apex NS set is the top-level ns key)', () => {
    assertOnlyError(load(zone('  "@":', '    TXT: [hello]', '    NS: [ns9.example.]')), 8, 'the apex name servers are the top-level "ns" key');
  });

  test('CNAME loop, reported at each record of the loop', () => {
    const result = load(zone('  a: { CNAME: b }', '  b: { CNAME: c }', '  c: { CNAME: a }', '  d: { CNAME: a }'));
    assertError(result, 6, 'CNAME loop: a.z.test -> b.z.test -> c.z.test -> a.z.test');
    assertError(result, 7, 'CNAME loop: b.z.test');
    assertError(result, 8, 'CNAME loop: c.z.test');
    ok(load(zone('  a: { CNAME: b }', '  b: { CNAME: c }', '  c: { A: [192.0.2.9] }')));
  });

  test('a CNAME to itself is a loop', () => {
    assertOnlyError(load(zone('  self: { CNAME: self }')), 6, 'CNAME loop: self.z.test -> self.z.test');
  });
});

describe('names', () => {
  test('duplicate names: case-insensitive and relative vs absolute', () => {
    const result = load(zone('  www: { A: [192.0.2.1] }', '  WWW: { A: [192.0.2.2] }', '  www.z.test.: { A: [192.0.2.3] }', '  WwW.Z.TeSt.: { A: [192.0.2.4] }'));
    assert.equal(result.errors.length, 3);
    assertError(result, 7, 'duplicate name www.z.test (also on line 6)');
    assertError(result, 8, 'duplicate name www.z.test (also on line 6)');
    assertError(result, 9, 'duplicate name www.z.test (also on line 6)');
  });

  test('a service with the name of a record', () => {
    const result = load(zone('  app: { A: [192.0.2.1] }', 'regions:', ...region('r'), 'services:', '  App: { regions: [r] }'));
    assertOnlyError(result, 12, 'duplicate name app.z.test (also on line 6)');
  });

  test('two services with one name', () => {
    assertOnlyError(load(zone('regions:', ...region('r'), 'services:', '  app: { regions: [r] }', '  app.z.test.: { regions: [r] }')), 12, 'duplicate name app.z.test (also on line 11)');
  });

  test('a name outside the zone', () => {
    assertOnlyError(load(zone('  foo.other.test.: { A: [192.0.2.1] }')), 6, 'name foo.other.test is outside the zone z.test');
    assertOnlyError(load(zone('  notz.test.: { A: [192.0.2.1] }')), 6, 'outside the zone');
    assertOnlyError(load(zone('regions:', ...region('r'), 'services:', '  app.example.org.: { regions: [r] }')), 11, 'outside the zone');
  });

  test('invalid label characters', () => {
    const result = load(zone('  "bad name": { A: [192.0.2.1] }', '  "-lead": { A: [192.0.2.2] }', '  "ok_under-score": { A: [192.0.2.3] }', '  "a.b!": { A: [192.0.2.4] }'));
    assert.equal(result.errors.length, 3, result.errors.map(formatError).join('\n'));
    assertError(result, 6, 'has an invalid label "bad name"');
    assertError(result, 7, 'has an invalid label "-lead"');
    assertError(result, 9, 'has an invalid label "b!"');
  });

  test('a label longer than 63 characters', () => {
    assertOnlyError(load(zone(`  ${'a'.repeat(64)}: { A: [192.0.2.1] }`)), 6, 'longer than 63');
  });

  test('wildcards: leftmost only, and not for services', () => {
    const good = ok(load(zone('  "*": { A: [192.0.2.1] }', '  "*.sub": { TXT: [wild] }')));
    assert.equal(recordsAt(good, '*.z.test').length, 1);
    assert.equal(recordsAt(good, '*.sub.z.test').length, 1);
    assertOnlyError(load(zone('  "a.*": { A: [192.0.2.1] }')), 6, 'may only have "*" as its leftmost label');
    assertOnlyError(load(zone('  "a.*.b": { A: [192.0.2.1] }')), 6, 'may only have "*" as its leftmost label');
    assertOnlyError(load(zone('regions:', ...region('r'), 'services:', '  "*": { regions: [r] }')), 11, 'may only have "*"');
  });

  test('names are case-insensitive: zone, owners and targets are lowercased', () => {
    const set = ok(
      load(
        [
          'zone: GSLB.Example.TEST.',
          'soa: { mname: NS1, rname: HostMaster.Example.Test., serial: 1 }',
          'ns: [NS1.GSLB.EXAMPLE.TEST.]',
          'records:',
          '  NS1: { A: [192.0.2.1] }',
          '  Www: { CNAME: App }',
          '  MX: { MX: ["10 Mail.Example.ORG."] }',
          '',
        ].join('\n'),
      ),
    );
    const z = set.zones[0]!;
    assert.equal(z.apex, 'gslb.example.test');
    assert.equal(z.soa.mname, 'ns1.gslb.example.test');
    assert.equal(z.soa.rname, 'hostmaster.example.test');
    assert.deepEqual(z.ns, ['ns1.gslb.example.test']);
    assert.equal(dataOf(recordsAt(set, 'www.gslb.example.test')[0], RRType.CNAME).target, 'app.gslb.example.test');
    assert.equal(dataOf(recordsAt(set, 'mx.gslb.example.test')[0], RRType.MX).exchange, 'mail.example.org');
    assert.equal(recordsAt(set, 'ns1.gslb.example.test').length, 1);
  });

  test('names in record data: single label relative, dotted absolute, "@" the apex', () => {
    const set = ok(
      load(
        zone(
          '  c1: { CNAME: app }',
          '  c2: { CNAME: docs.example.org }',
          '  c3: { CNAME: docs.example.org. }',
          '  c4: { CNAME: "@" }',
          '  m:',
          '    MX: ["10 mail", "20 mx.example.org", "30 @"]',
          '    SRV: ["0 5 443 host", { priority: 1, weight: 2, port: 3, target: "@" }]',
        ),
      ),
    );
    const cname = (n: string): string => dataOf(recordsAt(set, n)[0], RRType.CNAME).target;
    assert.equal(cname('c1.z.test'), 'app.z.test');
    assert.equal(cname('c2.z.test'), 'docs.example.org');
    assert.equal(cname('c3.z.test'), 'docs.example.org');
    assert.equal(cname('c4.z.test'), 'z.test');
    assert.deepEqual(
      recordsAt(set, 'm.z.test', RRType.MX).map((rr) => dataOf(rr, RRType.MX).exchange),
      ['mail.z.test', 'mx.example.org', 'z.test'],
    );
    assert.deepEqual(
      recordsAt(set, 'm.z.test', RRType.SRV).map((rr) => dataOf(rr, RRType.SRV).target),
      ['host.z.test', 'z.test'],
    );
  });

  test('an invalid name in record data', () => {
    assertOnlyError(load(zone('  c: { CNAME: "bad name.example." }')), 6, 'records.c.CNAME: "bad name.example." has an invalid label');
  });
});

describe('delegations and glue', () => {
  test('a delegation with glue loads', () => {
    const set = ok(load(zone('  sub: { NS: [ns.sub.z.test.] }', '  ns.sub: { A: [192.0.2.50], AAAA: ["2001:db8::50"] }')));
    assert.equal(recordsAt(set, 'sub.z.test', RRType.NS).length, 1);
  });

  test('in-zone apex NS target without an address', () => {
    const result = load(['zone: z.test', 'soa: { mname: ns1, rname: h.z.test, serial: 1 }', 'ns: [ns1, ns2.example.org.]', ''].join('\n'));
    assertOnlyError(result, 3, 'name server ns1.z.test is inside the zone but has no A or AAAA record (glue)');
  });

  test('in-zone delegation NS target without glue', () => {
    assertOnlyError(load(zone('  www: { A: [192.0.2.1] }', '  sub: { NS: [ns.sub.z.test.] }')), 7, 'name server ns.sub.z.test is inside the zone but has no A or AAAA record');
  });

  test('a TXT below a delegation', () => {
    assertOnlyError(
      load(zone('  sub: { NS: [ns.example.org.] }', '  x.sub: { TXT: [hidden] }')),
      7,
      'x.sub.z.test is below the delegation at sub.z.test: only glue (A/AAAA) may exist there',
    );
  });

  test('a delegation point holding other data', () => {
    assertOnlyError(load(zone('  sub:', '    NS: [ns.example.org.]', '    TXT: [x]')), 6, 'sub.z.test is a delegation (NS): it cannot hold other data');
  });

  test('a service at or below a delegation', () => {
    const result = load(zone('  sub: { NS: [ns.example.org.] }', 'regions:', ...region('r'), 'services:', '  app.sub: { regions: [r] }'));
    assertOnlyError(result, 12, 'service app.sub.z.test is at or below the delegation at sub.z.test');
  });
});

describe('MX, SRV, CAA and TXT data', () => {
  test('MX as mapping and as presentation string', () => {
    const set = ok(load(zone('  m:', '    MX:', '      - "10 mail.example.org."', '      - { preference: 20, exchange: backup }')));
    assert.deepEqual(
      recordsAt(set, 'm.z.test').map((rr) => dataOf(rr, RRType.MX)),
      [
        { type: RRType.MX, preference: 10, exchange: 'mail.example.org' },
        { type: RRType.MX, preference: 20, exchange: 'backup.z.test' },
      ],
    );
  });

  test('null MX "0 ." is the root', () => {
    const set = ok(load(zone('  m: { MX: ["0 ."] }')));
    assert.equal(dataOf(recordsAt(set, 'm.z.test')[0], RRType.MX).exchange, '');
  });

  test('invalid MX', () => {
    const result = load(
      zone(
        '  m:',
        '    MX:',
        '      - "10"', // 8
        '      - "ten mail"', // 9
        '      - { preference: 70000, exchange: mail }', // 10
        '      - { preference: 5 }', // 11
        '      - { preference: 5, exchange: mail, weight: 1 }', // 12
        '      - 10', // 13
      ),
    );
    assert.equal(result.errors.length, 6, result.errors.map(formatError).join('\n'));
    assertError(result, 8, '"10" must have 2 fields: preference exchange');
    assertError(result, 9, 'records.m.MX[1].preference: must be an integer from 0 to 65535');
    assertError(result, 10, 'records.m.MX[2].preference: must be an integer from 0 to 65535');
    assertError(result, 11, 'missing required key "exchange"');
    assertError(result, 12, 'unknown key "weight"');
    assertError(result, 13, 'must be a mapping {preference, exchange} or a string "preference exchange"');
  });

  test('SRV as mapping and as presentation string', () => {
    const set = ok(load(zone('  _sip._tcp:', '    SRV:', '      - "10 60 5060 sip.example.org."', '      - { priority: 20, weight: 0, port: 5061, target: sip2 }')));
    assert.deepEqual(
      recordsAt(set, '_sip._tcp.z.test').map((rr) => dataOf(rr, RRType.SRV)),
      [
        { type: RRType.SRV, priority: 10, weight: 60, port: 5060, target: 'sip.example.org' },
        { type: RRType.SRV, priority: 20, weight: 0, port: 5061, target: 'sip2.z.test' },
      ],
    );
  });

  test('invalid SRV', () => {
    const result = load(zone('  _s._tcp:', '    SRV:', '      - "1 2 host"', '      - "1 2 65536 host"', '      - { priority: 1, weight: 2, port: -1, target: h }'));
    assert.equal(result.errors.length, 3, result.errors.map(formatError).join('\n'));
    assertError(result, 8, '"1 2 host" must have 4 fields: priority weight port target');
    assertError(result, 9, 'records._s._tcp.SRV[1].port: must be an integer from 0 to 65535');
    assertError(result, 10, 'records._s._tcp.SRV[2].port');
  });

  test('CAA as mapping and as presentation string', () => {
    const set = ok(
      load(zone('  "@":', '    CAA:', `      - '0 issue "letsencrypt.org"'`, '      - { flags: 128, tag: IODEF, value: "mailto:sec@example.org" }', `      - '0 issuewild ";"'`)),
    );
    const caa = recordsAt(set, 'z.test', RRType.CAA).map((rr) => dataOf(rr, RRType.CAA));
    assert.deepEqual(
      caa.map((c) => [c.flags, c.tag, c.value.toString()]),
      [
        [0, 'issue', 'letsencrypt.org'],
        [128, 'iodef', 'mailto:sec@example.org'],
        [0, 'issuewild', ';'],
      ],
    );
  });

  test('CAA values that differ only in the value are not duplicates', () => {
    const set = ok(load(zone('  "@":', '    CAA:', `      - '0 issue "ca-one.example"'`, `      - '0 issue "ca-two.example"'`)));
    assert.equal(recordsAt(set, 'z.test', RRType.CAA).length, 2);
  });

  test('invalid CAA', () => {
    const result = load(
      zone(
        '  "@":',
        '    CAA:',
        `      - '0 issue'`, // 8
        `      - '0 bad-tag x'`, // 9
        '      - { flags: 256, tag: issue, value: x }', // 10
        '      - { flags: 0, tag: issue }', // 11
      ),
    );
    assert.equal(result.errors.length, 4, result.errors.map(formatError).join('\n'));
    assertError(result, 8, 'must have 3 fields: flags tag value');
    assertError(result, 9, '"bad-tag" must be 1-15 letters or digits');
    assertError(result, 10, 'records.@.CAA[2].flags: must be an integer from 0 to 255');
    assertError(result, 11, 'missing required key "value"');
  });

  test('TXT: each item is one record; an item that is a list is one record of several strings', () => {
    const set = ok(load(zone('  t:', '    TXT:', '      - [v=spf1, "include:example.org", "-all"]', '      - plain', '      - ""', '      - 42')));
    const txt = recordsAt(set, 't.z.test', RRType.TXT).map((rr) => dataOf(rr, RRType.TXT).strings.map((b) => b.toString()));
    assert.deepEqual(txt, [['v=spf1', 'include:example.org', '-all'], ['plain'], [''], ['42']]);
  });

  test('TXT items with the same number of strings but different text are not duplicates', () => {
    const set = ok(load(zone('  t: { TXT: [one, two, [a, b], [c, d]] }')));
    assert.equal(recordsAt(set, 't.z.test', RRType.TXT).length, 4);
  });

  test('TXT longer than 255 bytes is split into 255-byte character-strings', () => {
    const long = 'x'.repeat(600);
    const set = ok(load(zone(`  t: { TXT: ["${long}", ["${'y'.repeat(300)}", z]] }`)));
    const [a, b] = recordsAt(set, 't.z.test', RRType.TXT).map((rr) => dataOf(rr, RRType.TXT).strings);
    assert.deepEqual(
      a?.map((s) => s.length),
      [255, 255, 90],
    );
    assert.equal(Buffer.concat(a ?? []).toString(), long);
    assert.deepEqual(
      b?.map((s) => s.length),
      [255, 45, 1],
    );
  });

  test('TXT counts bytes, not characters', () => {
    const set = ok(load(zone(`  t: { TXT: ["${'é'.repeat(200)}"] }`)));
    const strings = dataOf(recordsAt(set, 't.z.test')[0], RRType.TXT).strings;
    assert.deepEqual(
      strings.map((s) => s.length),
      [255, 145],
    );
  });

  test('a TXT list item that holds a mapping is an error', () => {
    assertOnlyError(load(zone('  t:', '    TXT:', '      - [ok, { no: 1 }]')), 8, 'records.t.TXT[0][1]: must be a string');
  });
});

describe('services', () => {
  test('unknown policy', () => {
    assertOnlyError(load(zone('regions:', ...region('r'), 'services:', '  app:', '    policy: nearest', '    regions: [r]')), 12, 'unknown policy "nearest" (one of: latency, geo, weighted, failover)');
  });

  test('unknown when-all-down', () => {
    assertOnlyError(load(zone('regions:', ...region('r'), 'services:', '  app:', '    regions: [r]', '    when-all-down: some')), 13, 'when-all-down: must be one of: all, none');
  });

  test('unknown service key, bad answers, bad tolerance, region listed twice', () => {
    const result = load(
      zone(
        'regions:',
        ...region('r'),
        'services:',
        '  app:',
        '    regions: [r]',
        '    answer: 2', // 13
        '    answers: 0', // 14
        '    tolerance: fast', // 15
        '  other:',
        '    regions:',
        '      - r',
        '      - r', // 19
      ),
    );
    assert.equal(result.errors.length, 4, result.errors.map(formatError).join('\n'));
    assertError(result, 13, 'unknown key "answer"');
    assertError(result, 14, 'answers: must be an integer from 1 to 64');
    assertError(result, 15, 'tolerance');
    assertError(result, 19, 'region "r" is listed twice');
  });

  test('a region referenced by a service but not declared in any file', () => {
    const result = load(zone('regions:', ...region('r'), 'services:', '  app:', '    regions:', '      - r', '      - mars'));
    assertOnlyError(result, 14, 'service app.z.test: region "mars" is not declared in any zone file');
  });

  test('a service may use a region declared in another file', () => {
    const a = ['zone: a.test', 'soa: { mname: ns.example.org., rname: h.example.org., serial: 1 }', 'ns: [ns.example.org.]', 'services:', '  app: { regions: [shared] }', ''].join('\n');
    const b = ['zone: b.test', 'soa: { mname: ns.example.org., rname: h.example.org., serial: 1 }', 'ns: [ns.example.org.]', 'regions:', ...region('shared'), ''].join('\n');
    const set = ok(
      loadZoneSources([
        { file: 'a.yaml', text: a },
        { file: 'b.yaml', text: b },
      ]),
    );
    assert.equal(set.zones[0]!.services[0]!.regions[0], 'shared');
    assert.equal(set.regions.get('shared')!.source, 'b.yaml:5');
  });

  test('a region with its own errors still counts as declared (no second, false error at the service)', () => {
    const result = load(
      zone('regions:', '  r:', '    location: { lat: 1, lon: 2 }', '    endpoints: [ { address: 192.0.2.9 } ]', '    check: { type: tcp }', 'services:', '  app: { regions: [r] }'),
    );
    assertOnlyError(result, 10, 'tcp checks need a "port"');
  });
});

describe('regions', () => {
  test('a region declared in two files', () => {
    const a = ['zone: a.test', 'soa: { mname: ns.example.org., rname: h.example.org., serial: 1 }', 'ns: [ns.example.org.]', 'regions:', ...region('dup'), ''].join('\n');
    const b = ['zone: b.test', 'soa: { mname: ns.example.org., rname: h.example.org., serial: 1 }', 'ns: [ns.example.org.]', '', 'regions:', ...region('dup'), ''].join('\n');
    const result = loadZoneSources([
      { file: 'a.yaml', text: a },
      { file: 'b.yaml', text: b },
    ]);
    assertOnlyError(result, 6, 'region "dup" is already declared in a.yaml:5', 'b.yaml');
  });

  test('invalid region name', () => {
    assertOnlyError(load(zone('regions:', ...region('US East'))), 7, 'region names are 1-63 lowercase letters');
  });

  test('location out of range, or missing', () => {
    assertOnlyError(load(zone('regions:', '  r:', '    location: { lat: 90.5, lon: 0 }', '    endpoints: [ { address: 192.0.2.9 } ]')), 8, 'regions.r.location.lat: must be a number from -90 to 90');
    assertOnlyError(load(zone('regions:', '  r:', '    location:', '      lat: 0', '      lon: -181', '    endpoints: [ { address: 192.0.2.9 } ]')), 10, 'regions.r.location.lon: must be a number from -180 to 180');
    assertOnlyError(load(zone('regions:', '  r:', '    endpoints: [ { address: 192.0.2.9 } ]')), 8, 'missing required key "location"');
    assertOnlyError(load(zone('regions:', '  r:', '    location: { lat: 1 }', '    endpoints: [ { address: 192.0.2.9 } ]')), 8, 'missing required key "lon"');
  });

  test('bad endpoint address', () => {
    const result = load(
      zone(
        'regions:',
        '  r:',
        '    location: { lat: 1, lon: 2 }',
        '    endpoints:',
        '      - { address: 192.0.2.300 }', // 10
        '      - { address: localhost }', // 11
        '      - { address: "bad name.example.org" }', // 12
        '      - { weight: 3 }', // 13
        '      - { address: app.example.org }',
        '      - { address: "2001:db8::9" }',
      ),
    );
    assert.equal(result.errors.length, 4, result.errors.map(formatError).join('\n'));
    assertError(result, 10, '"192.0.2.300" is not an IP address or a fully qualified hostname');
    assertError(result, 11, '"localhost" is not an IP address or a fully qualified hostname');
    assertError(result, 12, 'has an invalid label');
    assertError(result, 13, 'missing required key "address"');
  });

  test('hostname endpoints are canonical and family 0', () => {
    const set = ok(load(zone('regions:', '  r:', '    location: { lat: 1, lon: 2 }', '    endpoints: [ { address: App.Example.ORG. , weight: 0 } ]')));
    assert.deepEqual(set.regions.get('r')!.endpoints, [{ address: 'app.example.org', family: 0, weight: 0 }]);
  });

  test('duplicate endpoint, including two spellings of one IPv6 address', () => {
    const result = load(
      zone(
        'regions:',
        '  r:',
        '    location: { lat: 1, lon: 2 }',
        '    endpoints:',
        '      - { address: 192.0.2.9 }',
        '      - { address: 192.0.2.9, weight: 5 }', // 11
        '      - { address: "2001:db8::1" }',
        '      - { address: "2001:DB8:0::1" }', // 13
      ),
    );
    assert.equal(result.errors.length, 2, result.errors.map(formatError).join('\n'));
    assertError(result, 11, 'endpoint 192.0.2.9 is listed twice');
    assertError(result, 13, 'is listed twice');
  });

  test('no endpoints', () => {
    assertOnlyError(load(zone('regions:', '  r:', '    location: { lat: 1, lon: 2 }', '    endpoints: []')), 9, 'must list at least one endpoint');
  });

  test('bad check type', () => {
    assertOnlyError(load(zone('regions:', ...region('r'), '    check: { type: icmp }')), 10, 'unknown check type "icmp" (one of: http, https, tcp)');
  });

  test('check timeout longer than the interval', () => {
    assertOnlyError(load(zone('regions:', ...region('r'), '    check:', '      type: http', '      interval: 1s', '      timeout: 1500ms')), 13, 'check.timeout: must not exceed the interval');
  });

  test('bad durations', () => {
    const result = load(zone('regions:', ...region('r'), '    check:', '      type: http', '      interval: often', '      timeout: 50ms'));
    assert.equal(result.errors.length, 2, result.errors.map(formatError).join('\n'));
    assertError(result, 12, 'check.interval: must be a duration');
    assertError(result, 13, 'check.timeout: must be a duration of at least 100ms');
  });

  test('durations: units and bare seconds', () => {
    const set = ok(load(zone('regions:', ...region('r'), '    check: { type: http, interval: 1m, timeout: 30 }')));
    const c = set.regions.get('r')!.check!;
    assert.equal(c.intervalMs, 60_000);
    assert.equal(c.timeoutMs, 30_000);
  });

  test('rise/fall out of range, bad port, path without slash', () => {
    const result = load(zone('regions:', ...region('r'), '    check:', '      type: http', '      rise: 0', '      fall: 101', '      port: 70000', '      path: health'));
    assert.equal(result.errors.length, 4, result.errors.map(formatError).join('\n'));
    assertError(result, 12, 'check.rise: must be an integer from 1 to 100');
    assertError(result, 13, 'check.fall');
    assertError(result, 14, 'check.port: must be an integer from 0 to 65535');
    assertError(result, 15, 'check.path: must start with "/"');
  });

  test('check options are read', () => {
    const set = ok(
      load(zone('regions:', ...region('r'), '    check: { type: https, path: /ready, host: app.example.org, expect: { status: [200, 204], body: ok }, rise: 1, fall: 5 }')),
    );
    const c = set.regions.get('r')!.check!;
    assert.deepEqual(c, { type: 'https', port: 443, path: '/ready', host: 'app.example.org', expectStatus: [200, 204], expectBody: 'ok', intervalMs: 5000, timeoutMs: 2000, rise: 1, fall: 5 });
  });

  test('unknown region key', () => {
    assertOnlyError(load(zone('regions:', ...region('r'), '    wieght: 3')), 10, 'unknown key "wieght"');
  });
});

describe('latency', () => {
  test('a latency entry naming an undeclared region', () => {
    assertOnlyError(load(zone('regions:', ...region('r'), 'latency:', '  - { client: DE, region: r, rtt: 5 }', '  - { client: FR, region: mars, rtt: 5 }')), 12, 'latency: region "mars" is not declared in any zone file');
  });

  test('invalid latency clients', () => {
    const result = load(
      zone(
        'regions:',
        ...region('r'),
        'latency:',
        '  - { client: "10.0.0.0/33", region: r, rtt: 1 }', // 11
        '  - { client: "10.0.0.1/8", region: r, rtt: 1 }', // 12
        '  - { client: "continent:XX", region: r, rtt: 1 }', // 13
        '  - { client: "not-a-network", region: r, rtt: 1 }', // 14
        '  - { client: "2001:db8::1/32", region: r, rtt: 1 }', // 15
        '  - { client: DE, region: r, rtt: -1 }', // 16
        '  - { client: DE, region: r }', // 17
      ),
    );
    assert.equal(result.errors.length, 7, result.errors.map(formatError).join('\n'));
    assertError(result, 11, 'invalid prefix length (0-32)');
    assertError(result, 12, 'has bits set beyond /8');
    assertError(result, 13, '"continent:XX" names no continent');
    assertError(result, 14, 'is not an IPv4 or IPv6 network');
    assertError(result, 15, 'has bits set beyond /32');
    assertError(result, 16, 'rtt: must be a number');
    assertError(result, 17, 'missing required key "rtt"');
  });

  test('latency clients: CIDR v4/v6, country, continent (case-insensitive)', () => {
    const set = ok(
      load(
        zone(
          'regions:',
          ...region('r'),
          'latency:',
          '  - { client: "2001:db8::/32", region: r, rtt: 1 }',
          '  - { client: de, region: r, rtt: 2 }',
          '  - { client: "continent:eu", region: r, rtt: 3 }',
          '  - { client: 192.0.2.7, region: r, rtt: 4.5 }',
        ),
      ),
    );
    const [v6, country, continent, host] = set.latency;
    assert.equal(v6?.client.kind, 'cidr');
    if (v6?.client.kind === 'cidr') assert.deepEqual([v6.client.family, v6.client.prefix], [6, 32]);
    assert.deepEqual(country?.client, { kind: 'country', text: 'DE', country: 'DE' });
    assert.deepEqual(continent?.client, { kind: 'continent', text: 'continent:EU', continent: 'EU' });
    assert.equal(host?.client.kind, 'cidr');
    if (host?.client.kind === 'cidr') assert.equal(host.client.prefix, 32, 'a bare address is a host route');
    assert.equal(host?.rttMs, 4.5);
  });

  test('latency entries may sit in a file other than the region', () => {
    const a = ['zone: a.test', 'soa: { mname: ns.example.org., rname: h.example.org., serial: 1 }', 'ns: [ns.example.org.]', 'latency:', '  - { client: DE, region: far, rtt: 9 }', ''].join('\n');
    const b = ['zone: b.test', 'soa: { mname: ns.example.org., rname: h.example.org., serial: 1 }', 'ns: [ns.example.org.]', 'regions:', ...region('far'), ''].join('\n');
    const set = ok(
      loadZoneSources([
        { file: 'a.yaml', text: a },
        { file: 'b.yaml', text: b },
      ]),
    );
    assert.equal(set.latency.length, 1);
  });
});

describe('several files and several errors', () => {
  test('a zone declared in two files', () => {
    const text = 'zone: same.test\nsoa: { mname: ns.example.org., rname: h.example.org., serial: 1 }\nns: [ns.example.org.]\n';
    const result = loadZoneSources([
      { file: 'one.yaml', text },
      { file: 'two.yaml', text: '# the same zone again\n' + text.replace('same.test', 'SAME.test.') },
    ]);
    assertOnlyError(result, 2, 'zone same.test is already defined in one.yaml:1', 'two.yaml');
  });

  test('every error of a file is reported, sorted by line', () => {
    const result = load(
      zone(
        '  a: { CNAME: b }', // 6: semantic (loop), found after parsing
        '  b: { CNAME: a }', // 7
        '  bad: { A: [300.1.1.1] }', // 8
        '  www: { A: [192.0.2.1] }', // 9
        '  WWW: { A: [192.0.2.2] }', // 10
        'regions:',
        ...region('r'),
        '    check: { type: ping }', // 15
        'services:',
        '  app: { policy: random, regions: [r] }', // 17
        'bogus: true', // 18
      ),
    );
    assert.deepEqual(
      result.errors.map((e) => e.line),
      [6, 7, 8, 10, 15, 17, 18],
      result.errors.map(formatError).join('\n'),
    );
    assert.ok(result.errors.every((e) => e.file === 'z.yaml'));
  });

  test('errors of several files are all reported, grouped by file and sorted by line', () => {
    const result = loadZoneSources([
      { file: 'b.yaml', text: zone('  x: { A: [1.2.3] }', '  y: { AAAA: [1.2.3.4] }') },
      { file: 'a.yaml', text: zone('ttl: -5').replace('zone: z.test', 'zone: a.test') },
      { file: 'c.yaml', text: 'zone: c.test\nzone: c.test\n' },
    ]);
    assert.deepEqual(
      result.errors.map((e) => `${e.file}:${e.line}`),
      ['a.yaml:6', 'b.yaml:6', 'b.yaml:7', 'c.yaml:2'],
    );
  });

  test('a valid file beside a broken one: no zone set at all', () => {
    const result = loadZoneSources([
      { file: 'good.yaml', text: CONTRACT_EXAMPLE },
      { file: 'bad.yaml', text: zone('  www: { A: [nope] }').replace('z.test', 'other.test') },
    ]);
    assert.equal(result.zoneSet, undefined);
    assert.deepEqual(result.files, ['good.yaml', 'bad.yaml']);
    assertOnlyError(result, 6, '"nope" is not an IPv4 address', 'bad.yaml');
  });
});

describe('formatError', () => {
  test('file:line: message', () => {
    assert.equal(formatError({ file: 'zones/a.yaml', line: 12, message: 'records.www: boom' }), 'zones/a.yaml:12: records.www: boom');
  });

  test('is what the loader errors format to', () => {
    const result = load(zone('  www: { A: ["::1"] }'));
    assert.deepEqual(result.errors.map(formatError), ['z.yaml:6: records.www.A[0]: "::1" is not an IPv4 address']);
  });
});

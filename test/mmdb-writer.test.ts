/**
 * The MMDB fixture writer (test/helpers/mmdb-writer.ts), proved with the real reader (`maxmind` → mmdb-lib):
 * lookups and prefix lengths for IPv4 / IPv6 / nested networks in every record size and both IP versions,
 * round trips of every value type (including each control-byte size form), metadata, and input errors.
 *
 * A note on prefix lengths: the reader reports the depth of the tree record that answered, i.e. the largest
 * network around the address that holds a single record. Inside an outer network that has a more specific
 * network nested in it, that is longer than the outer prefix (e.g. 81.2.69.1 in 81.2.69.0/24 with
 * 81.2.69.160/27 carved out answers from 81.2.69.0/25) — the same as with MaxMind's own databases.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from 'maxmind';
import { writeMmdb, type MmdbEntry, type MmdbValue } from './helpers/mmdb-writer.js';

function open(buffer: Buffer): Reader<never> {
  return new Reader<never>(buffer);
}

function lookup(reader: Reader<never>, ip: string): [unknown, number] {
  const [data, prefix] = reader.getWithPrefixLength(ip);
  return [data as unknown, prefix];
}

const RECORD_SIZES = [24, 28, 32] as const;
const IP_VERSIONS = [4, 6] as const;

// Deliberately not sorted by specificity: the writer has to handle inner networks listed before outer ones.
const V4_ENTRIES: MmdbEntry[] = [
  { network: '81.2.69.162/32', data: { name: 'host4' } },
  { network: '81.2.69.160/27', data: { name: 'inner4' } },
  { network: '81.2.69.0/24', data: { name: 'outer4' } },
  { network: '10.0.0.0/8', data: { name: 'ten' } },
];
const V6_ENTRIES: MmdbEntry[] = [
  { network: '2a02:1234:5678:9abc::/64', data: { name: 'inner6' } },
  { network: '2a02:1234::/32', data: { name: 'outer6' } },
  { network: '2a02:1234:5678::/48', data: { name: 'mid6' } },
  { network: '2001:db8::1/128', data: { name: 'host6' } },
];

/** [address, expected record name or null, expected prefix length (omitted for misses)] */
type Case = [ip: string, name: string | null, prefix?: number | undefined];
const V4_CASES: Case[] = [
  ['81.2.69.162', 'host4', 32],
  ['81.2.69.161', 'inner4', 31], // …10100001 vs host …10100010: differs at bit 30 → 81.2.69.160/31
  ['81.2.69.170', 'inner4', 29], // …10101010: differs from host at bit 28 → 81.2.69.168/29
  ['81.2.69.190', 'inner4', 28], // …10111110: differs from host at bit 27 → 81.2.69.176/28
  ['81.2.69.160', 'inner4', 31],
  ['81.2.69.1', 'outer4', 25], // 81.2.69.0/25
  ['81.2.69.127', 'outer4', 25],
  ['81.2.69.130', 'outer4', 27], // 81.2.69.128/27
  ['81.2.69.200', 'outer4', 26], // 81.2.69.192/26
  ['81.2.69.255', 'outer4', 26],
  ['10.0.0.0', 'ten', 8],
  ['10.255.255.255', 'ten', 8],
  ['8.8.8.8', null],
  ['81.2.70.1', null],
  ['81.2.68.255', null],
  ['11.0.0.0', null],
  ['255.255.255.255', null],
  ['0.0.0.0', null],
];
const V6_CASES: Case[] = [
  ['2a02:1234:5678:9abc::', 'inner6', 64],
  ['2a02:1234:5678:9abc:ffff:ffff:ffff:ffff', 'inner6', 64],
  ['2a02:1234:5678:1::', 'mid6', 49], // bit 48: 0 vs 9abc's 1 → 2a02:1234:5678::/49
  ['2a02:1234:5678:dead::1', 'mid6', 50], // d = 1101 vs 9 = 1001: differs at bit 49 → 2a02:1234:5678:c000::/50
  ['2a02:1234:ffff::1', 'outer6', 33], // bit 32: 1 vs 5678's 0 → 2a02:1234:8000::/33
  ['2a02:1234::', 'outer6', 34], // 0000… vs 0101…: differs at bit 33 → 2a02:1234::/34
  ['2001:db8::1', 'host6', 128],
  ['2001:db8::2', null],
  ['2a02:1235::', null],
  ['::1', null],
  ['ffff::', null],
];

function checkCases(reader: Reader<never>, cases: Case[], prefixShift = 0): void {
  for (const [ip, name, prefix] of cases) {
    const [data, got] = lookup(reader, ip);
    if (name === null) {
      assert.equal(data, null, `${ip} should not be found`);
    } else {
      assert.deepEqual(data, { name }, `${ip} record`);
      assert.equal(got, prefix! + prefixShift, `${ip} prefix length`);
    }
  }
}

describe('mmdb-writer: lookups through the maxmind reader', () => {
  for (const recordSize of RECORD_SIZES) {
    test(`ipVersion 6 (default), recordSize ${recordSize}: IPv4 (under ::/96) and IPv6, nested networks`, () => {
      const reader = open(writeMmdb([...V4_ENTRIES, ...V6_ENTRIES], { recordSize }));
      assert.equal(reader.metadata.ipVersion, 6);
      assert.equal(reader.metadata.recordSize, recordSize);
      checkCases(reader, V4_CASES);
      checkCases(reader, V6_CASES);
      // The same IPv4 networks as IPv6 addresses: ::a.b.c.d, 96 bits deeper.
      checkCases(
        reader,
        V4_CASES.map(([ip, name, prefix]) => [`::${ip}`, name, prefix]),
        96,
      );
    });

    test(`ipVersion 4, recordSize ${recordSize}: IPv4 networks, nested networks`, () => {
      const reader = open(writeMmdb(V4_ENTRIES, { ipVersion: 4, recordSize }));
      assert.equal(reader.metadata.ipVersion, 4);
      assert.equal(reader.metadata.recordSize, recordSize);
      checkCases(reader, V4_CASES);
    });
  }

  test('default record size is 28', () => {
    assert.equal(open(writeMmdb(V4_ENTRIES)).metadata.recordSize, 28);
  });

  test('an IPv6-only database answers IPv4 lookups with null', () => {
    const reader = open(writeMmdb(V6_ENTRIES));
    checkCases(reader, V6_CASES);
    assert.equal(reader.get('81.2.69.1'), null);
  });

  test('an empty database answers everything with null', () => {
    for (const ipVersion of IP_VERSIONS) {
      const reader = open(writeMmdb([], { ipVersion }));
      assert.equal(reader.metadata.nodeCount, 1);
      assert.equal(reader.get('81.2.69.1'), null);
      if (ipVersion === 6) assert.equal(reader.get('2a02:1234::1'), null);
    }
  });

  test('0.0.0.0/0 covers all of IPv4 (prefix 0 in an IPv6 tree, 1 in an IPv4 tree, whose root must be a node)', () => {
    const v6 = open(writeMmdb([{ network: '0.0.0.0/0', data: 'any4' }, { network: '81.2.69.0/24', data: 'x' }]));
    assert.deepEqual(lookup(v6, '8.8.8.8'), ['any4', 2]); // 00001000 vs 81 = 01010001: 0.0.0.0/2
    assert.deepEqual(lookup(v6, '200.1.1.1'), ['any4', 1]);
    assert.deepEqual(lookup(v6, '81.2.69.7'), ['x', 24]);
    assert.equal(v6.get('2a02:1234::1'), null);
    const v6only = open(writeMmdb([{ network: '0.0.0.0/0', data: 'any4' }]));
    assert.deepEqual(lookup(v6only, '8.8.8.8'), ['any4', 0]);
    const v4 = open(writeMmdb([{ network: '0.0.0.0/0', data: 'any4' }], { ipVersion: 4 }));
    assert.deepEqual(lookup(v4, '8.8.8.8'), ['any4', 1]);
    assert.deepEqual(lookup(v4, '200.1.1.1'), ['any4', 1]);
    const all6 = open(writeMmdb([{ network: '::/0', data: 'any' }]));
    assert.deepEqual(lookup(all6, 'ffff::1'), ['any', 1]);
    assert.deepEqual(lookup(all6, '81.2.69.1'), ['any', 0]);
  });

  test('a network given without a prefix length is a host; a repeated network: the later entry wins', () => {
    const reader = open(
      writeMmdb([
        { network: '192.0.2.1', data: 'h4' },
        { network: '2001:db8::5', data: 'h6' },
        { network: '198.51.100.0/24', data: 'first' },
        { network: '198.51.100.0/24', data: 'second' },
      ]),
    );
    assert.deepEqual(lookup(reader, '192.0.2.1'), ['h4', 32]);
    assert.deepEqual(lookup(reader, '2001:db8::5'), ['h6', 128]);
    assert.deepEqual(lookup(reader, '198.51.100.9'), ['second', 24]);
  });

  test('IPv6 notations: embedded IPv4 tail and full form', () => {
    const reader = open(
      writeMmdb([
        { network: '64:ff9b::192.0.2.0/120', data: 'nat64' },
        { network: '2001:0db8:0000:0000:0000:0000:0000:0000/64', data: 'full' },
      ]),
    );
    assert.deepEqual(lookup(reader, '64:ff9b::c000:2ff'), ['nat64', 120]);
    assert.deepEqual(lookup(reader, '2001:db8::abcd'), ['full', 64]);
  });
});

describe('mmdb-writer: record values above 2^24 (the 28-bit middle-byte nibbles, 32-bit records)', () => {
  // A data section larger than 16 MiB pushes the data records' values past 24 bits, in left and right records.
  const big = 'x'.repeat(16_800_000); // within the largest encodable size, 65821 + 2^24 - 1
  const entries: MmdbEntry[] = [
    { network: '10.0.0.0/8', data: big }, // data offset 0
    { network: '0.0.0.0/5', data: 'left' }, // a left record (its sibling 8.0.0.0/5 leads to 10.0.0.0/8)
    { network: '64.0.0.0/2', data: 'right-a' }, // a right record
    { network: '128.0.0.0/1', data: 'right-b' }, // a right record of the IPv4 root
  ];
  for (const ipVersion of IP_VERSIONS) {
    for (const recordSize of [28, 32] as const) {
      test(`ipVersion ${ipVersion}, recordSize ${recordSize}`, () => {
        const reader = open(writeMmdb(entries, { ipVersion, recordSize }));
        assert.deepEqual(lookup(reader, '1.2.3.4'), ['left', 5]);
        assert.deepEqual(lookup(reader, '100.1.1.1'), ['right-a', 2]);
        assert.deepEqual(lookup(reader, '200.1.1.1'), ['right-b', 1]);
        const [data, prefix] = lookup(reader, '10.9.8.7');
        assert.equal(prefix, 8);
        assert.equal(typeof data === 'string' && data.length === big.length && data === big, true);
        assert.equal(reader.get('9.0.0.1'), null);
      });
    }
    test(`ipVersion ${ipVersion}, recordSize 24 is refused with a clear error`, () => {
      assert.throws(() => writeMmdb(entries, { ipVersion, recordSize: 24 }), /does not fit a 24-bit record/);
    });
  }
});

describe('mmdb-writer: data round trips', () => {
  function roundTrip(value: MmdbValue, recordSize: 24 | 28 | 32 = 28): unknown {
    const reader = open(writeMmdb([{ network: '81.2.69.0/24', data: value }], { recordSize }));
    const [data, prefix] = lookup(reader, '81.2.69.77');
    assert.equal(prefix, 24);
    return data;
  }

  const city: MmdbValue = {
    country: { iso_code: 'DE' },
    continent: { code: 'EU' },
    location: { latitude: 50.11, longitude: 8.68, accuracy_radius: 20 },
  };
  const flat: MmdbValue = { country_code: 'JP', latitude: 35.68, longitude: 139.69 };

  for (const recordSize of RECORD_SIZES) {
    for (const ipVersion of IP_VERSIONS) {
      test(`City-style and flat records, recordSize ${recordSize}, ipVersion ${ipVersion}`, () => {
        const entries: MmdbEntry[] = [
          { network: '81.2.69.0/24', data: city },
          { network: '1.0.16.0/20', data: flat },
        ];
        if (ipVersion === 6) entries.push({ network: '2a02:1234::/32', data: city }, { network: '2400:4000::/22', data: flat });
        const reader = open(writeMmdb(entries, { recordSize, ipVersion }));
        assert.deepEqual(lookup(reader, '81.2.69.142'), [city, 24]);
        assert.deepEqual(lookup(reader, '1.0.16.1'), [flat, 20]);
        if (ipVersion === 6) {
          assert.deepEqual(lookup(reader, '2a02:1234:abcd::1'), [city, 32]);
          assert.deepEqual(lookup(reader, '2400:4000::1'), [flat, 22]);
        }
      });
    }
  }

  test('strings of every control-byte size form (< 29, 29+1 byte, 285+2 bytes, 65821+3 bytes), and UTF-8', () => {
    for (const n of [0, 1, 28, 29, 30, 284, 285, 286, 65_820, 65_821, 65_822, 70_001, 200_000]) {
      const s = 'a'.repeat(n);
      assert.equal(roundTrip(s), s, `string of length ${n}`);
    }
    const long = Array.from({ length: 7_500 }, (_, i) => `${i}:abcdefgh`).join('|');
    assert.ok(long.length > 70_000);
    for (const recordSize of RECORD_SIZES) assert.deepEqual(roundTrip({ blob: long }, recordSize), { blob: long });
    // Size counts bytes, not characters.
    for (const s of ['München', 'Ελλάδα', '日本', '😀 emoji', 'é'.repeat(100), '日'.repeat(30_000)]) {
      assert.equal(roundTrip(s), s);
    }
  });

  test('maps with > 30, > 300 keys and arrays of every size form', () => {
    for (const n of [0, 28, 29, 31, 35, 284, 285, 400]) {
      const map: Record<string, MmdbValue> = {};
      for (let i = 0; i < n; i++) map[`key_${i}`] = i % 2 ? `value ${i}` : i;
      assert.deepEqual(roundTrip(map), map, `map of ${n} keys`);
    }
    for (const n of [0, 1, 28, 29, 285, 66_000]) {
      const arr = Array.from({ length: n }, (_, i) => i);
      assert.deepEqual(roundTrip({ arr }), { arr }, `array of ${n} items`);
    }
  });

  test('numbers: uint16, uint32, int32, double', () => {
    const numbers = [
      0, 1, 255, 256, 65_535, 65_536, 16_777_216, 2_147_483_647, 4_294_967_295, // unsigned
      -1, -255, -65_536, -2_147_483_648, // int32
      4_294_967_296, -2_147_483_649, Number.MAX_SAFE_INTEGER, // integers beyond 32 bits: double
      50.11, -8.68, 139.69, 0.1, 1e-300, 1.7976931348623157e308, -0,
      Infinity, -Infinity, NaN,
    ];
    for (const n of numbers) assert.ok(Object.is(roundTrip(n), n), `${n}`);
    assert.deepEqual(roundTrip({ numbers }), { numbers });
  });

  test('booleans, empty and nested containers', () => {
    const value: MmdbValue = {
      yes: true,
      no: false,
      empty_map: {},
      empty_array: [],
      empty_string: '',
      nested: [[1, [2, [3]]], { a: { b: { c: [true, false, 'x', 1.5] } } }],
      names: { en: 'Germany', de: 'Deutschland', 'zh-CN': '德国' },
    };
    assert.deepEqual(roundTrip(value), value);
    assert.equal(roundTrip(true), true);
    assert.equal(roundTrip(false), false);
  });

  test('identical records are stored once', () => {
    const marker = 'dedup-marker-7f3a';
    const buffer = writeMmdb([
      { network: '81.2.69.0/24', data: { tag: marker, n: 1 } },
      { network: '2a02:1234::/32', data: { tag: marker, n: 1 } },
      { network: '10.0.0.0/8', data: { tag: marker, n: 2 } },
    ]);
    const count = buffer.toString('latin1').split(marker).length - 1;
    assert.equal(count, 2);
    const reader = open(buffer);
    assert.deepEqual(reader.get('81.2.69.1'), { tag: marker, n: 1 });
    assert.deepEqual(reader.get('2a02:1234::1'), { tag: marker, n: 1 });
    assert.deepEqual(reader.get('10.1.1.1'), { tag: marker, n: 2 });
  });
});

describe('mmdb-writer: metadata', () => {
  test('fields, as the reader parses them', () => {
    const before = Math.floor(Date.now() / 1000);
    const buffer = writeMmdb(V4_ENTRIES, { databaseType: 'GeoLite2-City', recordSize: 24 });
    const after = Math.floor(Date.now() / 1000);
    const m = open(buffer).metadata;
    assert.equal(m.databaseType, 'GeoLite2-City');
    assert.equal(m.binaryFormatMajorVersion, 2);
    assert.equal(m.binaryFormatMinorVersion, 0);
    assert.equal(m.ipVersion, 6);
    assert.equal(m.recordSize, 24);
    assert.deepEqual(m.languages, []);
    assert.deepEqual(m.description, { en: 'Test fixture' });
    const epoch = m.buildEpoch.getTime() / 1000;
    assert.ok(epoch >= before && epoch <= after, `build_epoch ${epoch}`);
    // node_count × record bytes + the 16-byte separator is where the data section begins.
    assert.equal(buffer.subarray(m.searchTreeSize, m.searchTreeSize + 16).equals(Buffer.alloc(16)), true);
  });

  test('optional languages, description and build epoch; default database type', () => {
    const m = open(
      writeMmdb([], { languages: ['en', 'de'], description: { en: 'Fixture', de: 'Testdaten' }, buildEpoch: 1_700_000_000 }),
    ).metadata;
    assert.equal(m.databaseType, 'Test-DB');
    assert.deepEqual(m.languages, ['en', 'de']);
    assert.deepEqual(m.description, { en: 'Fixture', de: 'Testdaten' });
    assert.equal(m.buildEpoch.getTime(), 1_700_000_000_000);
  });

  test('raw encoding: marker, then a map whose fields carry the spec types', () => {
    const buffer = writeMmdb(V4_ENTRIES, { buildEpoch: 1_700_000_000 });
    const marker = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com')]);
    const at = buffer.lastIndexOf(marker);
    assert.ok(at > 0);
    const meta = buffer.subarray(at + marker.length);
    assert.equal(meta[0]! >> 5, 7, 'a map');
    assert.equal(meta[0]! & 0x1f, 9, 'of 9 fields');
    const after = (key: string): Buffer => {
      const k = Buffer.concat([Buffer.from([(2 << 5) | key.length]), Buffer.from(key)]);
      const i = meta.indexOf(k);
      assert.ok(i >= 0, key);
      return meta.subarray(i + k.length);
    };
    // uint64 (extended type 9 → control byte type 0, next byte 2), 4-byte payload for 1_700_000_000.
    assert.deepEqual([...after('build_epoch').subarray(0, 6)], [0x04, 0x02, 0x65, 0x53, 0xf1, 0x00]);
    assert.equal(after('node_count')[0]! >> 5, 6, 'node_count is uint32');
    assert.equal(after('record_size')[0]! >> 5, 5, 'record_size is uint16');
    assert.equal(after('ip_version')[0]! >> 5, 5, 'ip_version is uint16');
    assert.equal(after('binary_format_major_version')[0]! >> 5, 5);
    assert.equal(after('binary_format_minor_version')[0], 5 << 5, 'uint16 0, empty payload');
  });
});

describe('mmdb-writer: input errors', () => {
  test('IPv6 networks are rejected in an ipVersion 4 database', () => {
    assert.throws(() => writeMmdb([{ network: '2a02:1234::/32', data: 'x' }], { ipVersion: 4 }), /IPv6 network .* ipVersion 4/);
  });
  test('malformed networks and host bits', () => {
    for (const network of ['81.2.69.0/33', '2a02::/129', '81.2.69/24', 'example.com/8', '81.2.69.0/', '81.2.69.0/-1', '2a02:::1/64']) {
      assert.throws(() => writeMmdb([{ network, data: 'x' }]), /invalid/, network);
    }
    assert.throws(() => writeMmdb([{ network: '81.2.69.1/24', data: 'x' }]), /host bits/);
    assert.throws(() => writeMmdb([{ network: '2a02:1234::1/32', data: 'x' }]), /host bits/);
  });
  test('unsupported values', () => {
    const bad: unknown[] = [null, undefined, 1n, new Date(0), Buffer.from('x'), () => 1, { a: { b: null } }];
    for (const data of bad) {
      assert.throws(() => writeMmdb([{ network: '81.2.69.0/24', data: data as MmdbValue }]), /unsupported value|undefined value/);
    }
    const cyclic: Record<string, MmdbValue> = {};
    cyclic['self'] = cyclic;
    assert.throws(() => writeMmdb([{ network: '81.2.69.0/24', data: cyclic }]), /circular/);
  });
});

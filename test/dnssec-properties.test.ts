/**
 * Property tests of src/dnssec (fast-check, fixed seed, bounded runs; a failure prints its seed and path):
 * - type bitmaps: decode(encode(types)) is the sorted set, and no window carries a trailing zero byte;
 * - canonical name order is a total order, and the successors compact denial uses are what they claim: nothing
 *   sorts strictly between a name and its immediate successor, and the name beside a delegation sorts after
 *   its whole subtree and before every other name after it — also for names near the 255-byte limit;
 * - names in the text form (with \DDD escapes) read back to their bytes, lowercased;
 * - the canonical rdata set ignores order, duplicates and the case of names in rdata, and a signature made
 *   over one ordering verifies over any other, while a changed record does not.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SigningKey } from '../src/dnssec/algorithms.js';
import { canonicalRdataSet, type SignableData } from '../src/dnssec/canonical.js';
import { canonicalNameWire, compareNames, immediateSuccessor, labelsToName, nameLabels, successorBeside } from '../src/dnssec/names.js';
import { signRRset, verifyRRset } from '../src/dnssec/rrsig.js';
import { decodeTypeBitmap, encodeTypeBitmap } from '../src/dnssec/type-bitmap.js';
import { RRType } from '../src/wire/constants.js';

const SEED = 20261202;
const RUN_FACTOR = Math.max(1, Number(process.env.GSLB_PROPERTY_RUNS ?? 1) || 1);
const runs = (numRuns: number) => ({ seed: SEED, numRuns: numRuns * RUN_FACTOR });

// Label bytes from a small alphabet with the awkward ones in it (zero, '.', '\', '*', '@' and '[' around the
// upper case letters, upper case, 0xff), so
// that generated names collide, nest and escape often.
const ALPHABET = [0x00, 0x2a, 0x2e, 0x40, 0x5b, 0x5c, 0x41, 0x61, 0x62, 0x5a, 0x7a, 0xff];
const labelOf = (max: number) => fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: max }).map((b) => Buffer.from(b));
const wireOf = (labels: Buffer[]) => labels.reduce((n, l) => n + l.length + 1, 1);
const labelsArb = (maxLabels: number, maxLabel: number) => fc.array(labelOf(maxLabel), { minLength: 1, maxLength: maxLabels }).filter((ls) => wireOf(ls) <= 255);
const nameArb = labelsArb(4, 4).map(labelsToName);
/** Names up to the 255-byte limit, with 63-byte labels, so the successors' fallbacks run. */
const longNameArb = fc.oneof(labelsArb(4, 63), labelsArb(5, 63).map((ls) => ls.map((l) => Buffer.concat([l, Buffer.alloc(63 - l.length, 0xff)])).slice(0, 4))).map(labelsToName);
const lower = (b: Buffer) => Buffer.from(b.map((c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c)));
/** A name DNS can carry: at most 255 bytes on the wire, labels of at most 63. */
const fits = (name: string) => canonicalNameWire(name).length <= 255 && nameLabels(name).every((l) => l.length <= 63);
const sign = (n: number) => Math.sign(n);

describe('type bitmap', () => {
  test('round-trips and stays minimal', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }), (types) => {
        const encoded = encodeTypeBitmap(types);
        assert.deepEqual(decodeTypeBitmap(encoded), [...new Set(types)].sort((x, y) => x - y));
        for (let pos = 0; pos < encoded.length; pos += 2 + encoded[pos + 1]!) assert.notEqual(encoded[pos + 1 + encoded[pos + 1]!], 0);
      }),
      runs(500),
    );
  });
});

describe('canonical names', () => {
  test('the order is total: antisymmetric, reflexive, transitive', () => {
    fc.assert(
      fc.property(nameArb, nameArb, nameArb, (x, y, z) => {
        assert.equal(compareNames(x, x), 0);
        assert.equal(sign(compareNames(x, y)), -sign(compareNames(y, x)));
        const [p, q, r] = [x, y, z].sort(compareNames);
        assert.ok(compareNames(p!, r!) <= 0);
        assert.ok(compareNames(p!, q!) <= 0 && compareNames(q!, r!) <= 0);
      }),
      runs(500),
    );
  });

  test('the text form reads back to the bytes, lowercased', () => {
    fc.assert(
      fc.property(labelsArb(4, 8), (labels) => {
        assert.deepEqual(nameLabels(labelsToName(labels)), labels.map(lower));
        assert.equal(compareNames(labelsToName(labels), labelsToName(labels.map(lower))), 0);
      }),
      runs(500),
    );
  });

  /** Names near `name`: below it, beside it (its first label extended or changed), and above it. */
  const neighbours = (name: string) =>
    fc.oneof(
      labelOf(3).map((l) => labelsToName([l, ...nameLabels(name)])),
      labelOf(3).map((extra) => {
        const [first, ...rest] = nameLabels(name);
        return labelsToName([Buffer.concat([first!, extra]), ...rest]);
      }),
      fc.tuple(fc.nat(62), fc.constantFrom(...ALPHABET)).map(([at, byte]) => {
        const [first, ...rest] = nameLabels(name);
        const changed = Buffer.from(first!.subarray(0, Math.min(at, first!.length - 1) + 1));
        changed[changed.length - 1] = byte;
        return labelsToName([changed, ...rest]);
      }),
      nameArb,
    );

  /** A name, short or near the length limits, with some of its neighbours. */
  const withNeighbours = fc.oneof(nameArb, longNameArb).chain((name) => fc.tuple(fc.constant(name), fc.array(neighbours(name), { maxLength: 8 })));

  test('nothing sorts strictly between a name and its immediate successor', () => {
    fc.assert(
      fc.property(withNeighbours, ([name, others]) => {
        const next = immediateSuccessor(name);
        assert.ok(fits(next), 'fits in 255 bytes');
        assert.ok(compareNames(name, next) < 0);
        for (const other of others.filter(fits)) assert.ok(!(compareNames(name, other) < 0 && compareNames(other, next) < 0), `${other} lies between ${name} and ${next}`);
      }),
      runs(400),
    );
  });

  test('the name beside a delegation follows its whole subtree and nothing else', () => {
    fc.assert(
      fc.property(withNeighbours, ([name, others]) => {
        const beside = successorBeside(name);
        assert.ok(fits(beside));
        const isBelow = (o: string) => nameLabels(o).length > nameLabels(name).length && compareNames(labelsToName(nameLabels(o).slice(-nameLabels(name).length)), name) === 0;
        for (const other of others.filter(fits)) {
          if (isBelow(other)) assert.ok(compareNames(other, beside) < 0, `${other} is below ${name} but not before ${beside}`);
          else assert.ok(!(compareNames(name, other) < 0 && compareNames(other, beside) < 0), `${other} lies between ${name} and ${beside}`);
        }
      }),
      runs(400),
    );
  });
});

describe('canonical RRsets and signatures', () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255)).map(([x, y]) => `192.0.${x}.${y}`);
  const host = fc.constantFrom('mail.example.test', 'MAIL.Example.Test', 'mx2.example.test', 'Mx2.EXAMPLE.test');
  const aRecord = ipv4.map((address): SignableData => ({ type: RRType.A, address }));
  const mxRecord = fc.tuple(fc.nat(3), host).map(([preference, exchange]): SignableData => ({ type: RRType.MX, preference, exchange }));
  const folded = (d: SignableData): SignableData => ('raw' in d || d.type !== RRType.MX ? d : { ...d, exchange: d.exchange.toLowerCase() });

  test('order, duplicates and case of names in rdata do not change the canonical set', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(aRecord, { minLength: 1, maxLength: 6 }), fc.array(mxRecord, { minLength: 1, maxLength: 6 })), fc.nat(), (records, seed) => {
        const canonical = canonicalRdataSet(records);
        for (let i = 1; i < canonical.length; i++) assert.ok(Buffer.compare(canonical[i - 1]!, canonical[i]!) < 0, 'strictly increasing');
        const shuffled = [...records, records[seed % records.length]!].map(folded).sort(() => 0).reverse();
        assert.deepEqual(canonicalRdataSet(shuffled), canonical);
      }),
      runs(300),
    );
  });

  const key = SigningKey.generate('ED25519');
  test('a signature over one ordering verifies over any other, and fails on a changed record', () => {
    fc.assert(
      fc.property(fc.array(aRecord, { minLength: 1, maxLength: 5 }), ipv4, (records, extra) => {
        const rrset = { owner: 'App.Example.Test', type: RRType.A, ttl: 30, records };
        const rrsig = signRRset(rrset, key, 'example.test', { inception: 100, expiration: 200 });
        assert.equal(verifyRRset({ ...rrset, owner: 'app.example.test', records: [...records].reverse() }, rrsig.rdata, key.dnskey, 150), true);
        const changed = [...records.slice(1), { type: RRType.A, address: extra } as const];
        const same = canonicalRdataSet(changed).length === canonicalRdataSet(records).length && canonicalRdataSet(changed).every((b, i) => b.equals(canonicalRdataSet(records)[i]!));
        assert.equal(verifyRRset({ ...rrset, records: changed }, rrsig.rdata, key.dnskey, 150), same);
      }),
      runs(100),
    );
  });
});

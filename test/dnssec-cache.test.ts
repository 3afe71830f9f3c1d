/**
 * The signature cache and the signing keys: one signature per distinct RRset (whatever the order or case of
 * its records), a new one for any other owner, type, TTL, data, signer or key, a new one once the cached one
 * comes within the refresh window of its expiry, a bound on how many are held; keys that survive the store
 * and never show their private part. Time is passed in, so nothing here waits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SigningKey } from '../src/dnssec/algorithms.js';
import { SignatureCache } from '../src/dnssec/cache.js';
import { DnskeyFlags } from '../src/dnssec/dnskey.js';
import { verifyRRset, type RRset } from '../src/dnssec/rrsig.js';
import { RRType } from '../src/wire/constants.js';

const DAY = 86400;
const T0 = 1_800_000_000;
const ZONE = 'gslb.example.test';
const a = (address: string) => ({ type: RRType.A, address }) as const;
const app = (...addresses: string[]): RRset => ({ owner: `app.${ZONE}`, type: RRType.A, ttl: 30, records: addresses.map(a) });
const newCache = (capacity?: number) =>
  new SignatureCache({ validitySeconds: 14 * DAY, refreshSeconds: 3 * DAY, ...(capacity === undefined ? {} : { capacity }) });

describe('SignatureCache', () => {
  const key = SigningKey.generate('ECDSAP256SHA256');

  test('the same RRset in another order, with a duplicate, is one signature', () => {
    const cache = newCache();
    const first = cache.sign(app('192.0.2.10', '192.0.2.11'), key, ZONE, T0);
    const again = cache.sign(app('192.0.2.11', '192.0.2.10', '192.0.2.11'), key, ZONE, T0 + 60);
    assert.equal(again, first);
    assert.deepEqual(cache.stats, { hits: 1, misses: 1, refreshes: 0 });
    assert.equal(verifyRRset(app('192.0.2.11', '192.0.2.10'), first.rdata, key.dnskey, T0), true);
  });

  test('the same records array is found again without a key, but only for the same owner, TTL, key and signer', () => {
    const cache = newCache();
    const shared = app('192.0.2.10', '192.0.2.11');
    const first = cache.sign(shared, key, ZONE, T0);
    assert.equal(cache.sign(shared, key, ZONE, T0 + 1), first);
    const other = SigningKey.generate('ED25519');
    const uses: [RRset, SigningKey, string][] = [
      [{ ...shared, owner: `www.${ZONE}` }, key, ZONE],
      [{ ...shared, ttl: 31 }, key, ZONE],
      [shared, other, ZONE],
      [shared, key, 'example.test'],
    ];
    for (const [rrset, k, signer] of uses) {
      assert.equal(cache.sign(shared, key, ZONE, T0 + 1), first);
      const rrsig = cache.sign(rrset, k, signer, T0 + 2);
      assert.notEqual(rrsig, first);
      assert.equal(verifyRRset(rrset, rrsig.rdata, k.dnskey, T0 + 2), true);
    }
    assert.equal(cache.sign(shared, key, ZONE, T0 + 3), first, 'and the string-keyed entry is still there');
    const late = cache.sign(shared, key, ZONE, T0 + 11 * DAY);
    assert.notEqual(late, first, 'refreshed near expiry on this path too');
    assert.deepEqual(cache.stats, { hits: 2 + uses.length, misses: 1 + uses.length, refreshes: 1 });
  });

  test('another owner, type, TTL, data, signer or key is another signature', () => {
    const cache = newCache();
    const base = app('192.0.2.10');
    const first = cache.sign(base, key, ZONE, T0);
    const variants: [RRset, SigningKey, string][] = [
      [{ ...base, owner: `www.${ZONE}` }, key, ZONE],
      [{ ...base, ttl: 60 }, key, ZONE],
      [app('192.0.2.12'), key, ZONE],
      [app('192.0.2.10', '192.0.2.12'), key, ZONE],
      [{ ...base, type: RRType.AAAA, records: [{ type: RRType.AAAA, address: '2001:db8::10' }] }, key, ZONE],
      [base, SigningKey.generate('ECDSAP256SHA256'), ZONE],
      [base, key, 'example.test'],
    ];
    for (const [rrset, k, signer] of variants) assert.notEqual(cache.sign(rrset, k, signer, T0), first);
    assert.deepEqual(cache.stats, { hits: 0, misses: variants.length + 1, refreshes: 0 });
  });

  test('a signature is valid from an hour ago for the configured days, and made again inside the refresh window', () => {
    const cache = newCache();
    const first = cache.sign(app('192.0.2.10'), key, ZONE, T0);
    assert.equal(first.inception, T0 - 3600);
    assert.equal(first.expiration, T0 + 14 * DAY);
    const lastHit = T0 + 11 * DAY - 1;
    assert.equal(cache.sign(app('192.0.2.10'), key, ZONE, lastHit), first);
    const refreshed = cache.sign(app('192.0.2.10'), key, ZONE, lastHit + 1);
    assert.notEqual(refreshed, first);
    assert.equal(refreshed.expiration, lastHit + 1 + 14 * DAY);
    assert.equal(verifyRRset(app('192.0.2.10'), refreshed.rdata, key.dnskey, first.expiration + 1), true, 'valid past the first one');
    assert.equal(cache.sign(app('192.0.2.10'), key, ZONE, lastHit + 2), refreshed);
    assert.deepEqual(cache.stats, { hits: 2, misses: 1, refreshes: 1 });
  });

  test('a clock set back before the inception gets a new signature', () => {
    const cache = newCache();
    const first = cache.sign(app('192.0.2.10'), key, ZONE, T0);
    const back = cache.sign(app('192.0.2.10'), key, ZONE, T0 - 2 * 3600);
    assert.notEqual(back, first);
    assert.equal(back.inception, T0 - 3 * 3600);
  });

  test('holds at most its capacity, and keeps what is in use', () => {
    const cache = newCache(100);
    const hot = app('192.0.2.1');
    const kept = cache.sign(hot, key, ZONE, T0);
    for (let i = 0; i < 1000; i++) {
      cache.sign(app(`198.51.${i >> 8}.${i & 0xff}`), key, ZONE, T0);
      if (i % 25 === 0) assert.equal(cache.sign(hot, key, ZONE, T0), kept);
      assert.ok(cache.size <= 100, `size ${cache.size}`);
    }
  });

  test('a refresh window at least as long as the validity is refused', () => {
    assert.throws(() => new SignatureCache({ validitySeconds: DAY, refreshSeconds: DAY }), /refresh window/);
  });
});

describe('SigningKey', () => {
  for (const algorithm of ['ECDSAP256SHA256', 'ED25519'] as const) {
    test(`${algorithm}: a stored key reads back as the same key, and signs`, () => {
      const key = SigningKey.generate(algorithm, DnskeyFlags.ZSK);
      const stored = key.toStored();
      assert.deepEqual(Object.keys(stored).sort(), ['algorithm', 'flags', 'privateKey']);
      const back = SigningKey.fromStored(JSON.parse(JSON.stringify(stored)) as typeof stored);
      assert.deepEqual(back.dnskey, key.dnskey);
      assert.equal(back.keyTag, key.keyTag);
      assert.equal(back.id, key.id);
      assert.equal(key.dnskey.readUInt16BE(0), 256);
      const rrset = app('192.0.2.10');
      assert.equal(verifyRRset(rrset, newCache().sign(rrset, back, ZONE, T0).rdata, key.dnskey, T0), true);
    });
  }

  test('serialising a key for a log or a reply leaves the private key out', () => {
    const key = SigningKey.generate('ED25519');
    const json = JSON.stringify({ key });
    assert.equal(json, `{"key":{"algorithm":"ED25519","flags":257,"keyTag":${key.keyTag}}}`);
    assert.ok(!json.includes(key.toStored().privateKey));
  });

  test('a stored key of another algorithm, or bad flags, is refused', () => {
    const ed = SigningKey.generate('ED25519').toStored();
    assert.throws(() => SigningKey.fromStored({ ...ed, algorithm: 'ECDSAP256SHA256' }), /not an ECDSAP256SHA256 key/);
    assert.throws(() => SigningKey.fromStored({ ...ed, flags: 385 as 257 }), /flags/);
    assert.throws(() => SigningKey.fromStored({ ...ed, algorithm: 'RSASHA256' as 'ED25519' }), /unknown DNSSEC algorithm/);
  });
});

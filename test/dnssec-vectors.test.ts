/**
 * Known-answer tests of src/dnssec against the examples the RFCs publish:
 * - RFC 6605 6.1 (ECDSA P-256): DNSKEY from the private key, key tag 55648, the DS digest, and the RFC's own
 *   RRSIG accepted over our canonical form (ECDSA signatures are random, so ours can only be checked by
 *   verifying; its fields before the signature are compared byte for byte);
 * - RFC 8080 6.1 with erratum 4935 (Ed25519): both keys, their tags and DS, and the RRSIGs byte for byte
 *   (Ed25519 is deterministic);
 * - RFC 4034 5.4 / RFC 4509 2.3: key tag 60485 and the SHA-256 DS of the RSA example key;
 * - RFC 4034 4.3: the NSEC wire example, RFC 9824 3.1 / 3.4: the compact NSECs, RFC 8078 4: the delete forms;
 * - RFC 4034 6.1: the canonical name order example.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SigningKey } from '../src/dnssec/algorithms.js';
import { CDNSKEY_DELETE, CDS_DELETE, dsRdata, keyTag } from '../src/dnssec/dnskey.js';
import { nodataNsec, nsecRdata, nxnameNsec, referralNsec } from '../src/dnssec/denial.js';
import { compareNames, immediateSuccessor, successorBeside } from '../src/dnssec/names.js';
import { keyPresentation, presentRdata, presentRecord } from '../src/dnssec/present.js';
import { parseRrsig, signRRset, verifyRRset, type RRset } from '../src/dnssec/rrsig.js';
import { HEADER_SIZE, RRType } from '../src/wire/constants.js';
import { decodeMessage } from '../src/wire/decode.js';
import { BlockWriter } from '../src/wire/writer.js';

const b64 = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'base64');
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** RFC 4034 3.2 times as seconds. */
const utc = (t: string) => Date.UTC(+t.slice(0, 4), +t.slice(4, 6) - 1, +t.slice(6, 8), +t.slice(8, 10), +t.slice(10, 12), +t.slice(12, 14)) / 1000;

/** A known RRSIG rdata from its presentation fields, for comparing with what we make. */
function rrsigRdata(f: { type: number; alg: number; labels: number; ttl: number; exp: number; inc: number; tag: number; signer: Buffer; sig: Buffer }): Buffer {
  const head = Buffer.alloc(18);
  head.writeUInt16BE(f.type, 0);
  head[2] = f.alg;
  head[3] = f.labels;
  head.writeUInt32BE(f.ttl, 4);
  head.writeUInt32BE(f.exp, 8);
  head.writeUInt32BE(f.inc, 12);
  head.writeUInt16BE(f.tag, 16);
  return Buffer.concat([head, f.signer, f.sig]);
}
const wire = (...labels: string[]) => Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);

describe('RFC 6605 6.1: ECDSAP256SHA256', () => {
  const key = SigningKey.fromRawPrivate('ECDSAP256SHA256', b64('GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ='));
  const rrset: RRset = { owner: 'www.example.net', type: RRType.A, ttl: 3600, records: [{ type: RRType.A, address: '192.0.2.1' }] };
  const window = { inception: utc('20100812100439'), expiration: utc('20100909100439') };
  const rfcSig = b64('qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXA yGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==');
  const rfcRrsig = rrsigRdata({ type: RRType.A, alg: 13, labels: 3, ttl: 3600, exp: window.expiration, inc: window.inception, tag: 55648, signer: wire('example', 'net'), sig: rfcSig });

  test('the DNSKEY, its key tag and its DS are the RFC values', () => {
    assert.equal(
      presentRecord('example.net', 3600, RRType.DNSKEY, key.dnskey),
      'example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==',
    );
    assert.equal(key.keyTag, 55648);
    assert.equal(
      presentRecord('example.net', 3600, RRType.DS, dsRdata('example.net', key.dnskey)),
      'example.net. 3600 IN DS 55648 13 2 B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17',
    );
  });

  test('keyPresentation gives both lines the contract returns, from the public key alone', () => {
    assert.deepEqual(keyPresentation('example.net.', 3600, key.dnskey), {
      dnskey: presentRecord('example.net', 3600, RRType.DNSKEY, key.dnskey),
      ds: 'example.net. 3600 IN DS 55648 13 2 B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17',
    });
    assert.throws(() => keyPresentation('example..net', 3600, key.dnskey), /empty label/);
  });

  test("the RFC's RRSIG verifies over our canonical form, and a changed record does not", () => {
    const during = window.inception + 86400;
    assert.equal(verifyRRset(rrset, rfcRrsig, key.dnskey, during), true);
    assert.equal(verifyRRset({ ...rrset, records: [{ type: RRType.A, address: '192.0.2.2' }] }, rfcRrsig, key.dnskey, during), false);
    assert.equal(verifyRRset({ ...rrset, owner: 'ww.example.net' }, rfcRrsig, key.dnskey, during), false);
    assert.equal(verifyRRset(rrset, rfcRrsig, key.dnskey, window.expiration + 1), false, 'expired');
    assert.equal(verifyRRset(rrset, rfcRrsig, key.dnskey, window.inception - 1), false, 'not yet valid');
  });

  test('our RRSIG has the RFC fields byte for byte and verifies', () => {
    const ours = signRRset(rrset, key, 'example.net', window);
    assert.deepEqual(ours.rdata.subarray(0, -64), rfcRrsig.subarray(0, -64));
    assert.equal(ours.signature.length, 64);
    assert.equal(verifyRRset(rrset, ours.rdata, key.dnskey, window.inception), true);
  });
});

describe('RFC 8080 6.1 (erratum 4935): ED25519, deterministic signatures', () => {
  const mx: RRset = { owner: 'example.com', type: RRType.MX, ttl: 3600, records: [{ type: RRType.MX, preference: 10, exchange: 'mail.example.com' }] };
  const window = { inception: 1438207200, expiration: 1440021600 };
  const cases = [
    {
      seed: 'ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=',
      dnskey: '257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=',
      ds: '3613 15 2 3AA5AB37EFCE57F737FC1627013FEE07BDF241BD10F3B1964AB55C78E79A304B',
      sig: 'oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==',
      tag: 3613,
    },
    {
      seed: 'DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=',
      dnskey: '257 3 15 zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=',
      ds: '35217 15 2 401781B934E392DE492EC77AE2E15D70F6575A1C0BC59C5275C04EBE80C6614C',
      sig: 'zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==',
      tag: 35217,
    },
  ];
  for (const c of cases) {
    test(`key ${c.tag}: DNSKEY, DS and the RRSIG over the MX, byte for byte`, () => {
      const key = SigningKey.fromRawPrivate('ED25519', b64(c.seed));
      assert.equal(presentRdata(RRType.DNSKEY, key.dnskey), c.dnskey);
      assert.equal(key.keyTag, c.tag);
      assert.equal(presentRdata(RRType.DS, dsRdata('example.com', key.dnskey)), c.ds);
      const expected = rrsigRdata({ type: RRType.MX, alg: 15, labels: 2, ttl: 3600, exp: window.expiration, inc: window.inception, tag: c.tag, signer: wire('example', 'com'), sig: b64(c.sig) });
      const ours = signRRset(mx, key, 'example.com', window);
      assert.deepEqual(ours.rdata, expected);
      assert.equal(
        presentRecord('example.com', 3600, RRType.RRSIG, ours.rdata),
        `example.com. 3600 IN RRSIG MX 15 2 3600 20150819220000 20150729220000 ${c.tag} example.com. ${c.sig}`,
      );
      assert.equal(verifyRRset(mx, ours.rdata, key.dnskey, window.inception + 1), true);
    });
  }

  test('the signer name and the names inside the rdata are lowercased before signing', () => {
    const key = SigningKey.fromRawPrivate('ED25519', b64(cases[0]!.seed));
    const shouting: RRset = { ...mx, records: [{ type: RRType.MX, preference: 10, exchange: 'MAIL.Example.COM' }] };
    assert.equal(signRRset(shouting, key, 'Example.COM', window).signature.toString('base64'), cases[0]!.sig);
  });
});

describe('RFC 4034 5.4 / RFC 4509 2.3: key tag and SHA-256 DS of the RSA example', () => {
  const dnskey = Buffer.concat([
    hex('01000305'),
    b64(`AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==`),
  ]);
  test('key tag 60485, digest D4B7D520…', () => {
    assert.equal(keyTag(dnskey), 60485);
    assert.equal(presentRdata(RRType.DS, dsRdata('dskey.example.com', dnskey)), '60485 5 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A');
  });
});

describe('NSEC rdata', () => {
  test('RFC 4034 4.3: alfa.example.com NSEC host.example.com A MX RRSIG NSEC TYPE1234, on the wire', () => {
    const expected = Buffer.concat([wire('host', 'example', 'com'), hex('0006400100000003'), hex('041b' + '00'.repeat(26) + '20')]);
    const rdata = nsecRdata('host.example.com', [RRType.A, RRType.MX, RRType.RRSIG, RRType.NSEC, 1234]);
    assert.deepEqual(rdata, expected);
    assert.equal(presentRecord('alfa.example.com', 86400, RRType.NSEC, rdata), 'alfa.example.com. 86400 IN NSEC host.example.com. A MX RRSIG NSEC TYPE1234');
  });

  test('RFC 9824 3.1: a name that does not exist', () => {
    assert.equal(presentRecord('a.example.com', 3600, RRType.NSEC, nxnameNsec('a.example.com')), 'a.example.com. 3600 IN NSEC \\000.a.example.com. RRSIG NSEC TYPE128');
    assert.deepEqual(nxnameNsec('a.example.com').subarray(0, 17), Buffer.concat([Buffer.from([1, 0]), wire('a', 'example', 'com')]));
  });

  test('RFC 9824 3.2: NODATA lists what exists; an empty non-terminal only RRSIG and NSEC', () => {
    assert.equal(presentRdata(RRType.NSEC, nodataNsec('app.example.com', [RRType.AAAA, RRType.A])), '\\000.app.example.com. A AAAA RRSIG NSEC');
    assert.equal(presentRdata(RRType.NSEC, nodataNsec('ent.example.com', [])), '\\000.ent.example.com. RRSIG NSEC');
  });

  test('RFC 9824 3.4: an unsigned referral points beside the child zone and never has DS', () => {
    assert.equal(presentRecord('sub.example.com', 3600, RRType.NSEC, referralNsec('sub.example.com')), 'sub.example.com. 3600 IN NSEC sub\\000.example.com. NS RRSIG NSEC');
    assert.equal(presentRdata(RRType.NSEC, referralNsec('sub.example.com', [RRType.NS, RRType.DS])), 'sub\\000.example.com. NS RRSIG NSEC');
  });

  test('a query name as the parser escapes it (\\DDD) is read back to its bytes', () => {
    // The parser turns the label bytes "a.b" (with a literal dot) into "a\046b".
    assert.deepEqual(nxnameNsec('a\\046b.example.com').subarray(0, 6), Buffer.from([1, 0, 3, 0x61, 0x2e, 0x62]));
  });
});

test('successors of names that cannot grow: the next name beside them', () => {
  const a62 = 'a'.repeat(62);
  // 255 bytes on the wire: no room for a \000 label, and a 63-byte first label cannot take another byte.
  const full = [a62 + 'a', a62 + 'a', a62 + 'a', 'a'.repeat(61)].join('.');
  assert.equal(immediateSuccessor(full), [a62 + 'b', a62 + 'a', a62 + 'a', 'a'.repeat(61)].join('.'));
  // The byte after '@' in canonical order is '[' ('A'-'Z' compare as 'a'-'z').
  assert.equal(successorBeside(`${a62}@.example`), `${a62}[.example`);
  assert.equal(successorBeside(`${'\\255'.repeat(63)}.example`), 'example\\000');
  assert.equal(successorBeside('short.example'), 'short\\000.example');
});

test('RFC 8078 4: the CDS and CDNSKEY that delete the DS', () => {
  assert.equal(presentRdata(RRType.CDS, CDS_DELETE), '0 0 0 00');
  assert.equal(presentRdata(RRType.CDNSKEY, CDNSKEY_DELETE), '0 3 0 AA==');
});

test('RFC 4034 6.1: canonical name order', () => {
  const ordered = ['example', 'a.example', 'yljkjljk.a.example', 'Z.a.example', 'zABC.a.EXAMPLE', 'z.example', '\\001.z.example', '*.z.example', '\\200.z.example'];
  const shuffled = [...ordered].reverse();
  shuffled.push(shuffled.shift()!);
  assert.deepEqual(shuffled.sort(compareNames), ordered);
});

test('parseRrsig reads back what signRRset wrote', () => {
  const key = SigningKey.generate('ED25519');
  const r = signRRset({ owner: '*.w.example', type: RRType.TXT, ttl: 60, records: [{ type: RRType.TXT, strings: [Buffer.from('x')] }] }, key, 'example', { inception: 1, expiration: 2 });
  const { rdata: _rdata, ...fields } = r;
  assert.deepEqual(parseRrsig(r.rdata), fields);
  assert.equal(r.labels, 2, 'a wildcard owner does not count its *');
});

describe('writing DNSSEC records with the wire writer', () => {
  test('an RRSIG and an NSEC are written as their rdata, uncompressed, and decode back to the same bytes', () => {
    const key = SigningKey.generate('ED25519');
    const rrsig = signRRset({ owner: 'app.example.test', type: RRType.A, ttl: 30, records: [{ type: RRType.A, address: '192.0.2.1' }] }, key, 'example.test', { inception: 1, expiration: 2 });
    const nsec = nxnameNsec('nx.example.test');
    const w = new BlockWriter(HEADER_SIZE);
    w.record('app.example.test', 30, { type: RRType.RRSIG, raw: rrsig.rdata });
    w.record('nx.example.test', 60, { type: RRType.NSEC, raw: nsec });
    const header = Buffer.alloc(HEADER_SIZE);
    header.writeUInt16BE(0x8400, 2);
    header.writeUInt16BE(2, 6);
    const msg = decodeMessage(Buffer.concat([header, w.finish()]));
    assert.deepEqual(
      msg.answers.map((r) => [r.name, r.type, r.ttl, 'raw' in r.data ? r.data.raw : undefined]),
      [
        ['app.example.test', RRType.RRSIG, 30, rrsig.rdata],
        ['nx.example.test', RRType.NSEC, 60, nsec],
      ],
    );
  });

  test('a writer without compression writes every name in full', () => {
    const soa = { type: RRType.SOA, mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } as const;
    const plain = new BlockWriter(0, 64, false);
    plain.rdata(soa);
    assert.deepEqual(plain.finish().subarray(0, 43), Buffer.concat([wire('ns1', 'example', 'test'), wire('hostmaster', 'example', 'test')]));
    const compressed = new BlockWriter(0, 64);
    compressed.rdata(soa);
    assert.ok(compressed.finish().length < 63, 'the default still compresses');
  });
});

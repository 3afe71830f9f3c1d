/**
 * An independent check of src/dnssec: a small zone signed through the signature cache (every record type the
 * server serves, names in rdata in mixed case, a wildcard, a delegation with glue, and the compact-denial
 * NSECs of RFC 9824 for a missing name, a NODATA and a referral) is written as a master file and handed to
 * NLnet Labs' ldns-verify-zone, which checks every RRSIG against the zone's DNSKEYs and the NSEC chain. The DS
 * is compared with ldns-key2ds. A zone with one record changed after signing must fail, so the check can fail.
 * Needs `ldnsutils` (.ci/run installs it). KEEP_DNSSEC_DIR=1 keeps the zone files and prints where they are.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SigningKey, type AlgorithmName } from '../src/dnssec/algorithms.js';
import { SignatureCache } from '../src/dnssec/cache.js';
import { nodataNsec, nxnameNsec, referralNsec } from '../src/dnssec/denial.js';
import { dsRdata, DnskeyFlags } from '../src/dnssec/dnskey.js';
import { immediateSuccessor, successorBeside } from '../src/dnssec/names.js';
import { presentRecord, presentTime } from '../src/dnssec/present.js';
import { signRRset } from '../src/dnssec/rrsig.js';
import { RRType } from '../src/wire/constants.js';
import type { RecordData } from '../src/wire/records.js';
import { signedZone, type ZoneRecord } from './helpers/dnssec-zone.js';

const ZONE = 'signed.example.test';
/** A fixed clock: the verifier is told the same time with -t, so the test does not depend on today. */
const NOW = Date.UTC(2026, 0, 15, 12) / 1000;
const dir = mkdtempSync(join(tmpdir(), 'gslb-dnssec-'));
after(() => (process.env.KEEP_DNSSEC_DIR ? console.log(dir) : rmSync(dir, { recursive: true, force: true })));

const n = (rel: string) => (rel === '@' ? ZONE : `${rel}.${ZONE}`);
const r = (owner: string, data: ZoneRecord['data'], ttl = 300): ZoneRecord => ({ owner: n(owner), ttl, data });
const txt = (s: string): RecordData => ({ type: RRType.TXT, strings: [Buffer.from(s)] });

function records(): ZoneRecord[] {
  return [
    r('@', { type: RRType.SOA, mname: n('ns1'), rname: 'Hostmaster.Example.TEST', serial: 2026011501, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }),
    r('@', { type: RRType.NS, target: n('ns1') }),
    r('@', { type: RRType.NS, target: 'NS2.Signed.Example.Test' }),
    r('@', { type: RRType.MX, preference: 10, exchange: 'Mail.signed.example.test' }),
    r('@', { type: RRType.TXT, strings: [Buffer.from('Mixed Case stays'), Buffer.from('two strings')] }),
    r('@', { type: RRType.CAA, flags: 0, tag: 'issue', value: Buffer.from('ca.example') }),
    r('ns1', { type: RRType.A, address: '192.0.2.53' }),
    r('ns2', { type: RRType.A, address: '192.0.2.54' }),
    r('ns2', { type: RRType.AAAA, address: '2001:db8::54' }),
    r('mail', { type: RRType.A, address: '192.0.2.25' }, 60),
    // A steered-looking RRset, given out of canonical order.
    r('app', { type: RRType.A, address: '198.51.100.10' }, 30),
    r('app', { type: RRType.A, address: '192.0.2.11' }, 30),
    r('app', { type: RRType.A, address: '192.0.2.10' }, 30),
    r('app', { type: RRType.AAAA, address: '2001:db8::10' }, 30),
    r('www', { type: RRType.CNAME, target: 'App.Signed.Example.Test' }),
    r('*.preview', { type: RRType.A, address: '192.0.2.77' }),
    r('_https._tcp', { type: RRType.SRV, priority: 10, weight: 5, port: 443, target: 'APP.signed.example.test' }),
    r('box', { type: RRType.HINFO, cpu: 'Intel', os: 'Linux' }),
    r('sub', { type: RRType.NS, target: n('ns.sub') }),
    r('ns.sub', { type: RRType.A, address: '192.0.2.200' }),
    // Fillers: the names the compact NSECs point at, so that the full chain the checker wants stays whole.
    r(immediateSuccessor('nx'), txt('after nx')),
    r(immediateSuccessor('app'), txt('after app')),
    r(successorBeside('sub'), txt('after sub')),
  ];
}

const compact = () =>
  new Map([
    [n('nx'), nxnameNsec(n('nx'))],
    [n('app'), nodataNsec(n('app'), [RRType.A, RRType.AAAA])],
    [n('sub'), referralNsec(n('sub'))],
  ]);

function verify(zoneText: string, name: string): { ok: boolean; output: string } {
  const file = join(dir, name);
  writeFileSync(file, zoneText);
  const res = spawnSync('ldns-verify-zone', ['-V', '3', '-t', presentTime(NOW), file], { encoding: 'utf8' });
  if (res.error) throw res.error;
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

const cases: { label: string; algorithm: AlgorithmName; split: boolean }[] = [
  { label: 'ECDSAP256SHA256, one combined key', algorithm: 'ECDSAP256SHA256', split: false },
  { label: 'ED25519, KSK and ZSK', algorithm: 'ED25519', split: true },
];

for (const c of cases) {
  describe(`ldns-verify-zone: ${c.label}`, () => {
    const ksk = SigningKey.generate(c.algorithm, DnskeyFlags.KSK);
    const zsk = c.split ? SigningKey.generate(c.algorithm, DnskeyFlags.ZSK) : ksk;
    const cache = new SignatureCache({ validitySeconds: 14 * 86400, refreshSeconds: 3 * 86400 });
    const text = signedZone({ zone: ZONE, ksk, zsk, records: records(), delegations: [n('sub')], compact: compact(), now: NOW, negativeTtl: 60 }, cache);

    test('every signature and the NSEC chain verify', () => {
      const res = verify(text, `${c.algorithm}.zone`);
      assert.ok(res.ok, `ldns-verify-zone failed:\n${res.output}\n--- zone ---\n${text}`);
      assert.match(res.output, /Zone is verified and complete/);
      assert.ok(cache.stats.misses >= 20, `signed ${cache.stats.misses} RRsets`);
    });

    test('one record changed after signing fails', () => {
      const tampered = text.replace('192.0.2.77', '192.0.2.78');
      assert.notEqual(tampered, text);
      assert.equal(verify(tampered, `${c.algorithm}-tampered.zone`).ok, false);
    });

    test('a signature by another key, under our key tag, fails', () => {
      const rrset = { owner: n('*.preview'), type: RRType.A, ttl: 300, records: [{ type: RRType.A, address: '192.0.2.77' }] as const };
      const ours = cache.sign({ ...rrset, records: [...rrset.records] }, zsk, ZONE, NOW);
      const theirs = signRRset({ ...rrset, records: [...rrset.records] }, SigningKey.generate(c.algorithm), ZONE, ours);
      const forged = text.replace(ours.signature.toString('base64'), theirs.signature.toString('base64'));
      assert.notEqual(forged, text);
      assert.equal(verify(forged, `${c.algorithm}-forged.zone`).ok, false);
    });

    test('the DS is what ldns-key2ds computes from the DNSKEY', () => {
      const keyFile = join(dir, `K${c.algorithm}.key`);
      writeFileSync(keyFile, presentRecord(ZONE, 3600, RRType.DNSKEY, ksk.dnskey) + '\n');
      const theirs = execFileSync('ldns-key2ds', ['-n', '-2', keyFile], { encoding: 'utf8' }).trim().split(/\s+/);
      const ours = presentRecord(ZONE, 3600, RRType.DS, dsRdata(ZONE, ksk.dnskey)).split(/\s+/);
      assert.deepEqual(theirs.map((f) => f.toUpperCase()), ours.map((f) => f.toUpperCase()));
    });
  });
}

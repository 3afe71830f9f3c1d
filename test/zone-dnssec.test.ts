/** The zone file's `dnssec:` key: what it accepts, its defaults, and its errors with their `file:line`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadZoneSources } from '../src/model/loader.js';
import { formatError } from '../src/model/types.js';

const BASE = `zone: s.example.test
soa: { mname: ns1.s.example.test, rname: h.example.test, serial: 1 }
ns: [ns1.s.example.test]
records:
  ns1: { A: [192.0.2.53] }
`;

function load(extra: string) {
  return loadZoneSources([{ file: 's.yaml', text: BASE + extra }]);
}

test('a zone without the key is unsigned', () => {
  const r = load('');
  assert.deepEqual(r.errors, []);
  assert.equal(r.zoneSet!.zones[0]!.dnssec, undefined);
});

test('dnssec: algorithm and validity (default 14 days)', () => {
  const ec = load('dnssec: { algorithm: ECDSAP256SHA256 }\n');
  assert.deepEqual(ec.errors, []);
  assert.deepEqual(ec.zoneSet!.zones[0]!.dnssec, { algorithm: 'ECDSAP256SHA256', validitySeconds: 14 * 86400 });
  const ed = load('dnssec: { algorithm: ED25519, validity: 7d }\n');
  assert.deepEqual(ed.zoneSet!.zones[0]!.dnssec, { algorithm: 'ED25519', validitySeconds: 7 * 86400 });
  assert.equal(load('dnssec: { algorithm: ED25519, validity: 36h }\n').zoneSet!.zones[0]!.dnssec!.validitySeconds, 36 * 3600);
});

test('errors name the file, the line and what is allowed', () => {
  const cases: [string, RegExp][] = [
    ['dnssec: { algorithm: RSASHA1 }\n', /^s\.yaml:6: dnssec\.algorithm: must be ECDSAP256SHA256 or ED25519/],
    ['dnssec: {}\n', /^s\.yaml:6: dnssec: missing required key "algorithm"/],
    ['dnssec:\n  algorithm: ED25519\n  validity: 2h\n', /^s\.yaml:8: dnssec\.validity: must be a duration from 1d to 366d/],
    ['dnssec:\n  algorithm: ED25519\n  keys: 2\n', /^s\.yaml:8: dnssec: unknown key "keys"/],
    ['dnssec: yes\n', /^s\.yaml:6: dnssec: must be a mapping/],
  ];
  for (const [extra, expected] of cases) {
    const r = load(extra);
    assert.equal(r.zoneSet, undefined, extra);
    assert.match(r.errors.map(formatError).join('\n'), expected, extra);
  }
});

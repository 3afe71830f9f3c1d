/**
 * The rollover timeline as a pure function of time (dnssec/rollover.ts): which key signs and which are
 * published at each instant, the instants a rollover is planned with, and that a second one waits. Time is
 * injected; no clock is read.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SigningKey } from '../src/dnssec/algorithms.js';
import { keyPhases, phaseAt, planRollover, rolloverRunning, type ZoneKeys } from '../src/dnssec/rollover.js';

const OLD = SigningKey.generate('ECDSAP256SHA256');
const NEW = SigningKey.generate('ECDSAP256SHA256');
const T0 = 1_800_000_000_000;
const TIMINGS = { dnskeyTtlSeconds: 300, propagationSeconds: 3600, parentWaitSeconds: 2 * 86_400 };

describe('key rollover timeline', () => {
  test('without a rollover the one key signs and is published, for ever', () => {
    const phases = keyPhases({ keys: [OLD] });
    for (const now of [0, T0, Number.MAX_SAFE_INTEGER]) {
      const p = phaseAt(phases, now);
      assert.equal(p.name, 'stable');
      assert.equal(p.signer, OLD);
      assert.deepEqual(p.published, [OLD]);
    }
  });

  test('planned: the new key signs after the DNSKEY TTL + propagation, the old is withdrawn after the parent wait', () => {
    const keys = planRollover({ keys: [OLD] }, NEW, T0, TIMINGS)!;
    assert.deepEqual(keys.rollover && { start: keys.rollover.startedAt, sign: keys.rollover.signAt, retire: keys.rollover.retireAt }, {
      start: T0,
      sign: T0 + 3900_000,
      retire: T0 + 3900_000 + 2 * 86_400_000,
    });
    assert.deepEqual(keys.keys, [OLD]);
  });

  const keys = planRollover({ keys: [OLD] }, NEW, T0, TIMINGS)!;
  const r = keys.rollover!;
  const table: { at: number; name: string; signer: SigningKey; published: SigningKey[] }[] = [
    { at: T0 - 1, name: 'stable', signer: OLD, published: [OLD] },
    { at: T0, name: 'publish', signer: OLD, published: [OLD, NEW] },
    { at: r.signAt - 1, name: 'publish', signer: OLD, published: [OLD, NEW] },
    { at: r.signAt, name: 'parent', signer: NEW, published: [OLD, NEW] },
    { at: r.retireAt - 1, name: 'parent', signer: NEW, published: [OLD, NEW] },
    { at: r.retireAt, name: 'stable', signer: NEW, published: [NEW] },
    { at: r.retireAt + 365 * 86_400_000, name: 'stable', signer: NEW, published: [NEW] },
  ];
  for (const row of table) {
    test(`at start${row.at >= T0 ? '+' : ''}${(row.at - T0) / 1000}s: ${row.name}, signed by the ${row.signer === OLD ? 'old' : 'new'} key`, () => {
      const p = phaseAt(keyPhases(keys), row.at);
      assert.equal(p.name, row.name);
      assert.equal(p.signer, row.signer);
      assert.deepEqual(p.published, row.published);
    });
  }

  test('a second rollover is refused until the old key is withdrawn, then starts from the new key', () => {
    const third = SigningKey.generate('ECDSAP256SHA256');
    assert.equal(rolloverRunning(keys, r.retireAt - 1), true);
    assert.equal(planRollover(keys, third, r.retireAt - 1, TIMINGS), undefined);
    const next: ZoneKeys = planRollover(keys, third, r.retireAt, TIMINGS)!;
    assert.deepEqual(next.keys, [NEW]);
    assert.equal(next.rollover!.key, third);
    assert.deepEqual(phaseAt(keyPhases(next), r.retireAt).published, [NEW, third]);
  });
});

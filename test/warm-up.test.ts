/**
 * The decision-path warm-up (src/answer/warm-up.ts): it makes real decisions (the locator is asked for each
 * made-up client) a few per event-loop turn, but leaves no trace a user could see: the snapshot's decision
 * cache stays empty, the hit/miss counters behind /metrics are as they were, and the first real client still
 * gets a decision made for it. A zone without located services has nothing to warm.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundledDatabasePath, Locator, openDatabase } from '../src/geo/locator.js';
import { loadZoneSources } from '../src/model/loader.js';
import { decide, decisionCacheStats } from '../src/routing/decide.js';
import { RRType } from '../src/wire/constants.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { warmDecisionPath } from '../src/answer/warm-up.js';
import { EXAMPLE_ZONE, zoneHead } from './helpers/server.js';

function snapshotOf(zone: string, locator: Locator) {
  const zs = loadZoneSources([{ file: 'z.yaml', text: zone }]).zoneSet;
  assert.ok(zs, 'the zone loads');
  return buildSnapshot(zs, { version: 1, nodeId: 'warm', state: { locator } });
}

/** The bundled database, counting the clients it is asked to locate. */
function countingLocator(): { locator: Locator; located: () => number } {
  const locator = new Locator([openDatabase(bundledDatabasePath())]);
  let n = 0;
  const locate = locator.locate.bind(locator);
  locator.locate = (addr, family, prefix) => {
    n++;
    return locate(addr, family, prefix);
  };
  return { locator, located: () => n };
}

test('warm-up: makes real decisions, across turns, and leaves the cache and the counters as they were', async () => {
  const { locator, located } = countingLocator();
  const snap = snapshotOf(EXAMPLE_ZONE, locator);
  const stats = { ...decisionCacheStats };
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const made = await warmDecisionPath(() => snap, 400).done;
  clearInterval(ticker);
  assert.equal(made, 400);
  assert.ok(located() >= 350, `(nearly) every made-up client was located afresh (${located()} of 400)`);
  assert.ok(turns > 0, 'other work ran while it warmed up');
  assert.equal(snap.decisions.size, 0, 'nothing entered the snapshot\'s decision cache');
  assert.deepEqual({ ...decisionCacheStats }, stats, 'hit/miss counters unchanged');
  const client = { address: Buffer.from([81, 2, 69, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), family: 4 as const, sourcePrefix: 24, viaEcs: true };
  decide(snap, snap.services.get('app.gslb.example.test')!, RRType.A, client);
  assert.equal(decisionCacheStats.misses, stats.misses + 1, 'the first real client is a miss');
  assert.equal(snap.decisions.size, 1);
});

test('warm-up: stop() ends it early; a zone without located services has nothing to warm', async () => {
  const { locator, located } = countingLocator();
  const running = warmDecisionPath(() => snapshotOf(EXAMPLE_ZONE, locator), 100_000);
  await new Promise((r) => setImmediate(r));
  running.stop();
  const made = await running.done;
  assert.ok(made > 0 && made < 100_000, `stopped after ${made}`);

  const plain = `${zoneHead('plain.example.test')}
regions:
  one: { location: { lat: 1, lon: 2 }, endpoints: [ { address: 192.0.2.1 } ] }
services:
  www: { policy: failover, regions: [one] }
`;
  const before = located();
  assert.equal(await warmDecisionPath(() => snapshotOf(plain, locator)).done, 0);
  assert.equal(located(), before);
});

/**
 * Health as pure logic: the rise/fall machine, the prober quorum, region health over a snapshot's regions,
 * TTL halving in steering, the StateCache and the SnapshotManager. No sockets, no sleeping: every function
 * gets an explicit `now`, and the timer-driven parts run under node:test's mock timers.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, mock, test } from 'node:test';
import { pino } from 'pino';
import { RRType } from '../src/wire/constants.js';
import { Locator } from '../src/geo/locator.js';
import { computeHealth, type ProbeIndex } from '../src/health/computed.js';
import { healthWith } from './helpers/health-view.js';
import { applyResult, endpointVerdict, freshnessFor } from '../src/health/machine.js';
import { ALL_UP, HealthView, type RegionHealth } from '../src/health/view.js';
import { allEndpoints } from '../src/health/endpoints.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { SnapshotManager } from '../src/snapshot/manager.js';
import type { Snapshot } from '../src/snapshot/types.js';
import type { RegionIndex } from '../src/model/indexes.js';
import { decide } from '../src/routing/decide.js';
import type { Client } from '../src/routing/decision.js';
import { seededRng } from '../src/util/rng.js';
import { LATENCY_MAX_AGE_MS } from '../src/store/latency.js';
import { StateCache } from '../src/store/state-cache.js';
import { probeKey } from '../src/store/keys.js';
import { emptyState, type LearnedLatency, type RegionRegistration } from '../src/store/types.js';
import type { DrainRecord, ProberState } from '../src/health/probe-state.js';
import { addressBytes } from '../src/util/cidr.js';
import { loadZoneSources } from '../src/model/loader.js';
import type { ZoneSet } from '../src/model/types.js';

const silent = pino({ level: 'silent' });

// ---------------------------------------------------------------------------------------------------------
// Fixtures. Every address is loopback: nothing here opens a socket, but no zone in this suite names a host
// that a checker could ever reach outside this machine.
// ---------------------------------------------------------------------------------------------------------

/**
 * Region a: three endpoints, min-healthy 2, checked every 20 s (freshness 60 s).
 * Region b: one endpoint, no check (freshness 30 s).
 * Region c: one endpoint, checked every 5 s (3 x 5 s < 30 s: freshness 30 s).
 */
const A_EPS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
const B_EP = '127.0.0.21';
const C_EP = '127.0.0.31';
const F_A = 60_000;
const F_B = 30_000;

function zoneText(ttl = 31): string {
  return JSON.stringify({
    zone: 'gslb.test',
    soa: { mname: 'ns1.other.test.', rname: 'hostmaster.gslb.test.', serial: 1 },
    ns: ['ns1.other.test.'],
    regions: {
      a: {
        location: { lat: 50, lon: 8 },
        endpoints: A_EPS.map((address) => ({ address })),
        'min-healthy': 2,
        check: { type: 'http', port: 8080, path: '/health', interval: '20s', timeout: '2s', rise: 2, fall: 3 },
      },
      b: { location: { lat: 40, lon: -75 }, endpoints: [{ address: B_EP }] },
      c: {
        location: { lat: 35, lon: 139 },
        endpoints: [{ address: C_EP }],
        check: { type: 'tcp', port: 8081, interval: '5s', timeout: '1s' },
      },
    },
    services: {
      app: { policy: 'failover', regions: ['a', 'b', 'c'], ttl, answers: 2 },
      one: { policy: 'failover', regions: ['b'], ttl: 1 },
    },
  });
}

function zoneSet(ttl = 31): ZoneSet {
  const loaded = loadZoneSources([{ file: 'health.yaml', text: zoneText(ttl) }]);
  assert.deepEqual(loaded.errors, []);
  return loaded.zoneSet!;
}

function regionsOf(zs: ZoneSet = zoneSet()): Map<string, RegionIndex> {
  return buildSnapshot(zs, { version: 1, nodeId: 'n' }).regions;
}

/** A prober state with neutral defaults. */
function st(o: Partial<ProberState> & { at: number }): ProberState {
  return { up: true, okStreak: 1, failStreak: 0, since: o.at, transitions: 0, ...o };
}

function probes(entries: [region: string, endpoint: string, prober: string, state: ProberState][]): ProbeIndex {
  const m: ProbeIndex = new Map();
  for (const [r, e, p, s] of entries) {
    const k = `${r}|${e}`;
    if (!m.has(k)) m.set(k, new Map());
    m.get(k)!.set(p, s);
  }
  return m;
}

function regionHealth(view: HealthView, name: string) {
  const r = view.regions.get(name);
  assert.ok(r, `region ${name} in the view`);
  return r;
}

const NOW = 10_000_000;

// ---------------------------------------------------------------------------------------------------------
// applyResult
// ---------------------------------------------------------------------------------------------------------

describe('applyResult: rise/fall per prober', () => {
  interface Case {
    name: string;
    rise: number;
    fall: number;
    results: boolean[];
    up: boolean[];
    okStreak?: number[];
    failStreak?: number[];
    transitions?: number[];
  }
  const cases: Case[] = [
    {
      name: 'up, then fall=3 failures take it down, rise=2 successes bring it back',
      rise: 2,
      fall: 3,
      results: [true, false, false, false, true, true],
      up: [true, true, true, false, false, true],
      okStreak: [1, 0, 0, 0, 1, 2],
      failStreak: [0, 1, 2, 3, 0, 0],
      transitions: [0, 0, 0, 1, 1, 2],
    },
    {
      name: 'cold start: the first failure decides down directly',
      rise: 2,
      fall: 3,
      results: [false, true, true],
      up: [false, false, true],
      transitions: [0, 0, 1],
    },
    {
      name: 'cold start: the first success decides up directly even with rise 5',
      rise: 5,
      fall: 5,
      results: [true, false, false, false, false, false],
      up: [true, true, true, true, true, false],
      transitions: [0, 0, 0, 0, 0, 1],
    },
    {
      name: 'rise 1 / fall 1 flips on every change',
      rise: 1,
      fall: 1,
      results: [true, false, true, false],
      up: [true, false, true, false],
      transitions: [0, 1, 2, 3],
    },
    {
      name: 'an interrupted failure streak starts over',
      rise: 2,
      fall: 2,
      results: [true, false, true, false, true, false, false],
      up: [true, true, true, true, true, true, false],
      failStreak: [0, 1, 0, 1, 0, 1, 2],
      transitions: [0, 0, 0, 0, 0, 0, 1],
    },
    {
      name: 'an interrupted success streak starts over (rise 3)',
      rise: 3,
      fall: 2,
      results: [false, true, true, false, true, true, true],
      up: [false, false, false, false, false, false, true],
      okStreak: [0, 1, 2, 0, 1, 2, 3],
      transitions: [0, 0, 0, 0, 0, 0, 1],
    },
    {
      name: 'steady success never transitions',
      rise: 2,
      fall: 3,
      results: [true, true, true, true],
      up: [true, true, true, true],
      okStreak: [1, 2, 3, 4],
      transitions: [0, 0, 0, 0],
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      let s: ProberState | undefined;
      let lastUp: boolean | undefined;
      let since: number | undefined;
      c.results.forEach((ok, i) => {
        const now = 1000 * (i + 1);
        s = applyResult(s, ok, now, c.rise, c.fall);
        const step = `step ${i} (${ok ? 'ok' : 'fail'})`;
        assert.equal(s.up, c.up[i], `${step}: up`);
        assert.equal(s.at, now, `${step}: at`);
        if (c.okStreak) assert.equal(s.okStreak, c.okStreak[i], `${step}: okStreak`);
        if (c.failStreak) assert.equal(s.failStreak, c.failStreak[i], `${step}: failStreak`);
        if (c.transitions) assert.equal(s.transitions, c.transitions[i], `${step}: transitions`);
        // `since` is the first report, then moves only when `up` flips.
        if (i === 0 || s.up !== lastUp) since = now;
        assert.equal(s.since, since, `${step}: since`);
        lastUp = s.up;
      });
    });
  }

  test('transitions count exactly the flips of `up`', () => {
    let s: ProberState | undefined;
    let flips = 0;
    let prevUp: boolean | undefined;
    const rng = seededRng(7);
    for (let i = 0; i < 500; i++) {
      s = applyResult(s, rng() < 0.6, i, 2, 2);
      if (prevUp !== undefined && s.up !== prevUp) flips++;
      prevUp = s.up;
      assert.equal(s.transitions, flips, `after ${i + 1} results`);
    }
    assert.ok(flips > 5, 'the random sequence flipped a few times');
  });

  test('lastError / lastErrorAt are kept after recovery, replaced by the next failure', () => {
    let s = applyResult(undefined, true, 1000, 1, 1);
    assert.equal(s.lastError, undefined);
    assert.equal(s.lastErrorAt, undefined);
    s = applyResult(s, false, 2000, 1, 1, undefined, 'HTTP 500');
    assert.equal(s.up, false);
    assert.equal(s.lastError, 'HTTP 500');
    assert.equal(s.lastErrorAt, 2000);
    s = applyResult(s, true, 3000, 1, 1, 4.2);
    s = applyResult(s, true, 4000, 1, 1, 4.3);
    assert.equal(s.up, true);
    assert.equal(s.lastError, 'HTTP 500', 'kept after recovery');
    assert.equal(s.lastErrorAt, 2000);
    s = applyResult(s, false, 5000, 1, 1, 100, 'timeout after 100 ms');
    assert.equal(s.lastError, 'timeout after 100 ms');
    assert.equal(s.lastErrorAt, 5000);
    // A failure without a reason still says something.
    s = applyResult(s, false, 6000, 1, 1);
    assert.equal(s.lastError, 'check failed');
    assert.equal(s.lastErrorAt, 6000);
    // Cold start with a failure records its error too.
    const cold = applyResult(undefined, false, 7000, 2, 3, undefined, 'tcp 80: ECONNREFUSED');
    assert.equal(cold.lastError, 'tcp 80: ECONNREFUSED');
    assert.equal(cold.lastErrorAt, 7000);
  });

  test('rttMs is recorded from each result', () => {
    let s = applyResult(undefined, true, 1000, 2, 3, 12.5);
    assert.equal(s.rttMs, 12.5);
    s = applyResult(s, true, 2000, 2, 3, 7);
    assert.equal(s.rttMs, 7);
    s = applyResult(s, false, 3000, 2, 3, 100, 'timeout after 100 ms');
    assert.equal(s.rttMs, 100);
  });

  test('streaks (and transitions) are capped at 1000', () => {
    let s: ProberState | undefined;
    for (let i = 0; i < 1500; i++) s = applyResult(s, true, i, 2, 3);
    assert.equal(s!.okStreak, 1000);
    assert.equal(s!.failStreak, 0);
    for (let i = 0; i < 1500; i++) s = applyResult(s, false, 2000 + i, 2, 3);
    assert.equal(s!.failStreak, 1000);
    assert.equal(s!.okStreak, 0);
    assert.equal(s!.up, false);
    // Still comparable with rise after the cap: two successes bring it back.
    s = applyResult(s, true, 5000, 2, 3);
    s = applyResult(s, true, 5001, 2, 3);
    assert.equal(s.up, true);
    let t: ProberState | undefined;
    for (let i = 0; i < 1100; i++) t = applyResult(t, i % 2 === 0, i, 1, 1);
    assert.equal(t!.transitions, 1000);
  });

  test('does not mutate the previous state', () => {
    const prev = applyResult(undefined, true, 1000, 1, 1, 3);
    const copy = structuredClone(prev);
    applyResult(prev, false, 2000, 1, 1, 9, 'HTTP 503');
    assert.deepEqual(prev, copy);
  });
});

// ---------------------------------------------------------------------------------------------------------
// endpointVerdict and freshnessFor
// ---------------------------------------------------------------------------------------------------------

describe('endpointVerdict: quorum of fresh probers', () => {
  const F = 30_000;
  const up = (at = NOW - 1000, extra: Partial<ProberState> = {}) => st({ at, up: true, ...extra });
  const down = (at = NOW - 1000, lastError?: string, extra: Partial<ProberState> = {}) =>
    st({ at, up: false, okStreak: 0, failStreak: 3, ...(lastError !== undefined ? { lastError, lastErrorAt: at } : {}), ...extra });

  const table: { name: string; states: [string, ProberState][]; up: boolean }[] = [
    { name: '1 of 1 down: down', states: [['p1', down()]], up: false },
    { name: '1 of 1 up: up', states: [['p1', up()]], up: true },
    { name: '2 of 3 down: down', states: [['p1', down()], ['p2', down()], ['p3', up()]], up: false },
    { name: '1 of 3 down: up', states: [['p1', down()], ['p2', up()], ['p3', up()]], up: true },
    { name: '1 of 2 down: up (a tie is up)', states: [['p1', down()], ['p2', up()]], up: true },
    { name: '2 of 2 down: down', states: [['p1', down()], ['p2', down()]], up: false },
    { name: '2 of 4 down: up (tie)', states: [['p1', down()], ['p2', down()], ['p3', up()], ['p4', up()]], up: true },
    { name: '3 of 5 down: down', states: [['a', down()], ['b', down()], ['c', down()], ['d', up()], ['e', up()]], up: false },
    {
      name: 'stale down reports are ignored: 2 stale down + 1 fresh up is up',
      states: [['p1', down(NOW - F - 1)], ['p2', down(NOW - 5 * F)], ['p3', up()]],
      up: true,
    },
    {
      name: 'stale up reports are ignored: 1 fresh down + 2 stale up is down',
      states: [['p1', down()], ['p2', up(NOW - F - 1)], ['p3', up(NOW - F - 1)]],
      up: false,
    },
    { name: 'a report exactly at the freshness edge still counts', states: [['p1', down(NOW - F)], ['p2', up(NOW - F - 1)]], up: false },
  ];
  for (const c of table) {
    test(c.name, () => {
      const v = endpointVerdict(c.states, NOW, F);
      assert.equal(v.up, c.up, v.reason);
      assert.equal(v.unverified, false);
      assert.equal(v.probers.length, c.states.length, 'every prober is shown, fresh or not');
      for (const p of v.probers) {
        const s = c.states.find(([name]) => name === p.prober)![1];
        assert.equal(p.fresh, NOW - s.at <= F, `${p.prober} fresh`);
        assert.equal(p.up, s.up);
      }
    });
  }

  test('no reports at all: up, unverified, with a reason', () => {
    const v = endpointVerdict([], NOW, F);
    assert.equal(v.up, true);
    assert.equal(v.unverified, true);
    assert.equal(v.since, undefined);
    assert.match(v.reason, /no reports yet/);
    assert.match(v.reason, /unverified/);
  });

  test('only stale reports: up, unverified, the reason names the window', () => {
    const v = endpointVerdict([['p1', down(NOW - F - 1, 'HTTP 500')], ['p2', down(NOW - 10 * F)]], NOW, F);
    assert.equal(v.up, true);
    assert.equal(v.unverified, true);
    assert.match(v.reason, /no report within 30 s/);
    assert.match(v.reason, /unverified/);
    assert.deepEqual(
      v.probers.map((p) => p.fresh),
      [false, false],
    );
  });

  test('down: the reason names the probers that say down and their errors', () => {
    const v = endpointVerdict(
      [
        ['probe-fra-1', down(NOW - 500, 'HTTP 500')],
        ['probe-iad-1', down(NOW - 700, 'timeout after 2000 ms')],
        ['node-a', up()],
      ],
      NOW,
      F,
    );
    assert.equal(v.up, false);
    assert.match(v.reason, /^down: 2 of 3 probers/);
    assert.match(v.reason, /probe-fra-1/);
    assert.match(v.reason, /probe-iad-1/);
    assert.doesNotMatch(v.reason, /node-a/);
    assert.match(v.reason, /HTTP 500/);
    assert.match(v.reason, /timeout after 2000 ms/);
  });

  test('the same error from several probers is named once', () => {
    const v = endpointVerdict([['p1', down(NOW, 'HTTP 503')], ['p2', down(NOW, 'HTTP 503')]], NOW, F);
    assert.equal(v.reason.split('HTTP 503').length - 1, 1, v.reason);
  });

  test('up despite a minority: the reason names the disagreeing probers', () => {
    const v = endpointVerdict([['probe-syd-1', down(NOW, 'tcp 443: ECONNREFUSED')], ['node-a', up()], ['probe-fra-1', up()]], NOW, F);
    assert.equal(v.up, true);
    assert.match(v.reason, /1 of 3 probers say down/);
    assert.match(v.reason, /probe-syd-1/);
    assert.match(v.reason, /not a majority/);
    const all = endpointVerdict([['node-a', up()], ['probe-fra-1', up()]], NOW, F);
    assert.match(all.reason, /up: 2\/2 probers agree/);
  });

  test('since comes from the probers agreeing with the verdict, stale ones left out', () => {
    const v = endpointVerdict(
      [
        ['p1', down(NOW - 100, undefined, { since: NOW - 5000 })],
        ['p2', down(NOW - 200, undefined, { since: NOW - 3000 })],
        ['p3', up(NOW - 100, { since: NOW - 1000 })],
        ['p4', down(NOW - F - 10, undefined, { since: NOW - 2000 })],
      ],
      NOW,
      F,
    );
    assert.equal(v.up, false);
    assert.equal(v.since, NOW - 3000);
  });

  test('rttMs and lastError are shown per prober', () => {
    const v = endpointVerdict([['p1', up(NOW, { rttMs: 3.5, lastError: 'HTTP 502' })]], NOW, F);
    assert.equal(v.probers[0]!.rttMs, 3.5);
    assert.equal(v.probers[0]!.lastError, 'HTTP 502');
  });
});

describe('freshnessFor', () => {
  const table: [number | undefined, number][] = [
    [undefined, 30_000],
    [0, 30_000],
    [1000, 30_000],
    [5000, 30_000],
    [10_000, 30_000],
    [10_001, 30_003],
    [20_000, 60_000],
    [60_000, 180_000],
  ];
  for (const [interval, expected] of table) {
    test(`interval ${interval} ms -> ${expected} ms`, () => assert.equal(freshnessFor(interval), expected));
  }
});

// ---------------------------------------------------------------------------------------------------------
// computeHealth over a snapshot's regions
// ---------------------------------------------------------------------------------------------------------

describe('computeHealth', () => {
  const regions = regionsOf();
  const down = (at: number, o: Partial<ProberState> = {}) => st({ at, up: false, okStreak: 0, failStreak: 3, lastError: 'HTTP 500', lastErrorAt: at, ...o });

  test('no reports: every region and endpoint up, unverified, stable, nothing scheduled', () => {
    const view = computeHealth(regions, new Map(), new Map(), NOW);
    for (const name of ['a', 'b', 'c']) {
      const r = regionHealth(view, name);
      assert.equal(r.up, true);
      assert.equal(r.drained, false);
      assert.equal(r.unstable, false);
      for (const [, v] of r.endpoints) {
        assert.equal(v.up, true);
        assert.equal(v.unverified, true);
      }
    }
    assert.equal(regionHealth(view, 'a').upCount, 3);
    assert.match(regionHealth(view, 'a').reason, /up: 3\/3 endpoints up \(min-healthy 2\)/);
    assert.equal(view.nextChangeAt, undefined);
    for (const ep of A_EPS) assert.equal(view.endpointUp('a', ep), true);
    // Unknown regions and endpoints read as up.
    assert.equal(view.region('nowhere').up, true);
    assert.equal(view.endpointUp('nowhere', '127.0.0.99'), true);
  });

  test('min-healthy: 1 of 3 down keeps region a up (2 >= 2); 2 of 3 down takes it down', () => {
    const one = computeHealth(regions, probes([['a', A_EPS[0]!, 'n', down(NOW - 1000)]]), new Map(), NOW);
    const a1 = regionHealth(one, 'a');
    assert.equal(a1.up, true, a1.reason);
    assert.equal(a1.upCount, 2);
    assert.equal(one.endpointUp('a', A_EPS[0]!), false);
    assert.equal(one.endpointUp('a', A_EPS[1]!), true);
    assert.match(a1.reason, /up: 2\/3 endpoints up \(min-healthy 2\)/);
    assert.match(one.explain('a', A_EPS[0]!, NOW).reason, /HTTP 500/);

    const two = computeHealth(
      regions,
      probes([
        ['a', A_EPS[0]!, 'n', down(NOW - 1000)],
        ['a', A_EPS[2]!, 'n', down(NOW - 1000)],
      ]),
      new Map(),
      NOW,
    );
    const a2 = regionHealth(two, 'a');
    assert.equal(a2.up, false);
    assert.equal(a2.upCount, 1);
    assert.match(a2.reason, /down: 1\/3 endpoints up, min-healthy 2/);
    assert.equal(a2.unstable, true, 'a down region is unstable');
    // Other regions unaffected.
    assert.equal(regionHealth(two, 'b').up, true);
    assert.equal(regionHealth(two, 'c').up, true);
  });

  test('cold start: endpoints waiting until a prober has them through rise; the family settled once enough are', () => {
    const rising = (at: number) => st({ at, rising: true });
    const view = computeHealth(
      regions,
      probes([
        ['a', A_EPS[0]!, 'n', st({ at: NOW - 1000 })],
        ['a', A_EPS[1]!, 'n', rising(NOW - 1000)],
        // One prober through, one still rising: not waiting.
        ['a', A_EPS[2]!, 'n', rising(NOW - 1000)],
        ['a', A_EPS[2]!, 'p2', st({ at: NOW - 1000 })],
        ['c', C_EP, 'n', rising(NOW - 1000)],
      ]),
      new Map(),
      NOW,
    );
    assert.deepEqual(A_EPS.map((e) => view.endpointWaiting('a', e)), [false, true, false]);
    assert.equal(view.endpointWaiting('c', C_EP), true);
    assert.equal(view.endpointUp('c', C_EP), true, 'waiting is still up');
    const a = regionHealth(view, 'a').families!.ipv4;
    assert.deepEqual([a.up, a.settled, a.waiting], [true, true, 1]);
    const c = regionHealth(view, 'c').families!.ipv4;
    assert.deepEqual([c.up, c.settled, c.waiting], [true, false, 1]);
    // Never reported: waiting too; no health data at all: not waiting.
    assert.equal(computeHealth(regions, new Map(), new Map(), NOW).endpointWaiting('c', C_EP), true);
    assert.equal(ALL_UP.endpointWaiting('c', C_EP), false);
    // The verdict the API shows says the same.
    assert.equal(view.explain('a', A_EPS[1]!, NOW).waiting, true);
    assert.equal(view.explain('a', A_EPS[2]!, NOW).waiting, false);
  });

  test('a single-endpoint region follows its endpoint', () => {
    const view = computeHealth(regions, probes([['c', C_EP, 'n', down(NOW - 1000)]]), new Map(), NOW);
    assert.equal(regionHealth(view, 'c').up, false);
    assert.equal(regionHealth(view, 'c').upCount, 0);
  });

  test('the quorum applies per endpoint inside computeHealth', () => {
    const view = computeHealth(
      regions,
      probes([
        ['c', C_EP, 'n', down(NOW - 1000)],
        ['c', C_EP, 'probe-1', st({ at: NOW - 1000 })],
      ]),
      new Map(),
      NOW,
    );
    assert.equal(regionHealth(view, 'c').up, true, 'a tie is up');
    const view3 = computeHealth(
      regions,
      probes([
        ['c', C_EP, 'n', down(NOW - 1000)],
        ['c', C_EP, 'probe-1', st({ at: NOW - 1000 })],
        ['c', C_EP, 'probe-2', down(NOW - 1000)],
      ]),
      new Map(),
      NOW,
    );
    assert.equal(regionHealth(view3, 'c').up, false);
  });

  test('stale reports are judged by the region check interval (region a: 60 s)', () => {
    // 45 s old: fresh for a (60 s), stale for c (30 s).
    const view = computeHealth(
      regions,
      probes([
        ['a', A_EPS[0]!, 'n', down(NOW - 45_000)],
        ['a', A_EPS[1]!, 'n', down(NOW - 45_000)],
        ['c', C_EP, 'n', down(NOW - 45_000)],
      ]),
      new Map(),
      NOW,
    );
    assert.equal(regionHealth(view, 'a').up, false);
    assert.equal(regionHealth(view, 'c').up, true, 'stale report ignored');
    assert.equal(regionHealth(view, 'c').endpoints.get(C_EP)!.unverified, true);
  });

  test('drained regions: drained, reason mentions the drain; health still computed', () => {
    const drains = new Map<string, DrainRecord>([
      ['b', { since: NOW - 60_000, reason: 'maintenance window' }],
      ['c', { since: NOW - 1 }],
    ]);
    const view = computeHealth(regions, probes([['c', C_EP, 'n', down(NOW - 1000)]]), drains, NOW);
    const b = regionHealth(view, 'b');
    assert.equal(b.drained, true);
    assert.equal(b.up, true);
    assert.match(b.reason, /drain/);
    assert.match(b.reason, /maintenance window/);
    assert.deepEqual(b.drain, drains.get('b'));
    const c = regionHealth(view, 'c');
    assert.equal(c.drained, true);
    assert.equal(c.up, false);
    assert.match(c.reason, /drain/);
    assert.equal(regionHealth(view, 'a').drained, false);
    assert.doesNotMatch(regionHealth(view, 'a').reason, /drain/);
    assert.equal(view.region('b').drained, true);
  });

  test('unstable: a transition within the freshness window; stable once older', () => {
    // Endpoint went down 10 s ago (a transition) but region a still has 2 of 3 up.
    const at = (since: number, now: number) =>
      computeHealth(regions, probes([['a', A_EPS[0]!, 'n', down(now - 1000, { since, transitions: 1 })]]), new Map(), now);
    const s = NOW - 10_000;
    const recent = regionHealth(at(s, NOW), 'a');
    assert.equal(recent.up, true);
    assert.equal(recent.unstable, true);
    assert.equal(regionHealth(at(s, s + F_A - 1), 'a').unstable, true, 'just inside the window');
    assert.equal(regionHealth(at(s, s + F_A), 'a').unstable, false, 'window over');
    assert.equal(regionHealth(at(s, s + 10 * F_A), 'a').unstable, false);
  });

  test('the first report is not a transition: a cold-start down endpoint does not make a region unstable', () => {
    const view = computeHealth(regions, probes([['a', A_EPS[0]!, 'n', down(NOW - 1000, { since: NOW - 1000, transitions: 0 })]]), new Map(), NOW);
    assert.equal(regionHealth(view, 'a').up, true);
    assert.equal(regionHealth(view, 'a').unstable, false);
  });

  test('a recovery is a transition too (up again, still unstable for a while)', () => {
    const view = computeHealth(regions, probes([['b', B_EP, 'n', st({ at: NOW - 100, since: NOW - 2000, transitions: 2 })]]), new Map(), NOW);
    const b = regionHealth(view, 'b');
    assert.equal(b.up, true);
    assert.equal(b.unstable, true);
  });

  test('nextChangeAt: the earliest moment a report goes stale or instability ends', () => {
    const reportAt = NOW - 20_000; // region a: goes stale at reportAt + F_A + 1
    const since = NOW - 50_000; // region a: transition, instability ends at since + F_A
    const cAt = NOW - 25_000; // region c: stale at cAt + 30 s + 1
    const states: [string, string, string, ProberState][] = [
      ['a', A_EPS[0]!, 'n', down(reportAt, { since, transitions: 1 })],
      ['c', C_EP, 'n', st({ at: cAt })],
    ];
    const view = computeHealth(regions, probes(states), new Map(), NOW);
    const candidates = [reportAt + F_A + 1, since + F_A + 1, cAt + F_B + 1];
    assert.equal(view.nextChangeAt, Math.min(...candidates));
    assert.equal(view.nextChangeAt, cAt + F_B + 1);
    assert.ok(view.nextChangeAt! > NOW);

    // At that moment the view has in fact changed (c's report is stale: unverified).
    const later = computeHealth(regions, probes(states), new Map(), view.nextChangeAt!);
    assert.equal(regionHealth(view, 'c').endpoints.get(C_EP)!.unverified, false);
    assert.equal(regionHealth(later, 'c').endpoints.get(C_EP)!.unverified, true);
    // Next: a's instability ends (since + F_A), noted at since + F_A + 1.
    assert.equal(later.nextChangeAt, since + F_A + 1);
    assert.equal(regionHealth(later, 'a').unstable, true);
    const calm = computeHealth(regions, probes(states), new Map(), later.nextChangeAt!);
    assert.equal(regionHealth(calm, 'a').unstable, false);
    assert.equal(calm.nextChangeAt, reportAt + F_A + 1);
    const stale = computeHealth(regions, probes(states), new Map(), calm.nextChangeAt!);
    assert.equal(regionHealth(stale, 'a').up, true);
    assert.equal(regionHealth(stale, 'a').endpoints.get(A_EPS[0]!)!.unverified, true);
    assert.equal(stale.nextChangeAt, undefined, 'nothing left to change by itself');
  });

  test('nothing in the past is scheduled', () => {
    const view = computeHealth(
      regions,
      probes([['a', A_EPS[0]!, 'n', down(NOW - 10 * F_A, { since: NOW - 20 * F_A, transitions: 3 })]]),
      new Map(),
      NOW,
    );
    assert.equal(view.nextChangeAt, undefined);
    assert.equal(regionHealth(view, 'a').unstable, false);
  });

  test('probes for regions or endpoints the snapshot does not have are ignored', () => {
    const view = computeHealth(
      regions,
      probes([
        ['gone', '127.0.0.99', 'n', down(NOW)],
        ['b', '127.0.0.98', 'n', down(NOW)],
      ]),
      new Map(),
      NOW,
    );
    assert.equal(view.regions.has('gone'), false);
    assert.equal(regionHealth(view, 'b').up, true);
    assert.equal(regionHealth(view, 'b').endpoints.has('127.0.0.98'), false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// TTL halving through decide
// ---------------------------------------------------------------------------------------------------------

describe('HealthView: one concrete type, computed or all up', () => {
  test('ALL_UP is a HealthView with no data: regions and endpoints up, endpoints unverified, with reasons', () => {
    assert.ok(ALL_UP instanceof HealthView);
    const r = ALL_UP.region('a');
    assert.deepEqual([r.up, r.drained, r.unstable, r.reason, r.endpoints.size], [true, false, false, 'no health data: up', 0]);
    assert.equal(ALL_UP.endpointUp('a', A_EPS[0]!), true);
    const v = ALL_UP.explain('a', A_EPS[0]!, NOW);
    assert.deepEqual([v.up, v.unverified, v.since, v.reason, v.probers], [true, true, undefined, 'no reports yet (up, unverified)', []]);
    assert.equal(ALL_UP.nextChangeAt, undefined);
  });

  test('a computed view is the same type: its region records carry the endpoint verdicts, no cast needed', () => {
    const at = NOW - 1000;
    const view = computeHealth(regionsOf(), probes([['a', A_EPS[0]!, 'n', st({ at, up: false, okStreak: 0, failStreak: 3 })]]), new Map(), NOW);
    assert.ok(view instanceof HealthView);
    assert.equal(view.region('a').endpoints.get(A_EPS[0]!)?.up, false);
    assert.equal(view.region('a').endpoints.get(A_EPS[1]!)?.up, true);
    // A region the view does not know reads as ALL_UP reads every region.
    assert.deepEqual(view.region('nowhere'), ALL_UP.region('nowhere'));
  });

  test('allEndpoints: the IPv4, then the IPv6, then the hostname endpoints, each in declared order', () => {
    const lists = { v4: [{ a: 1 }, { a: 2 }], v6: [{ a: 3 }], hosts: [{ a: 4 }] };
    assert.deepEqual(allEndpoints(lists), [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]);
    const a = regionsOf().get('a')!;
    assert.deepEqual(allEndpoints(a).map((e) => e.address), A_EPS);
  });
});

describe('decide: TTL halving while a candidate region is unstable', () => {
  function client(address: string): Client {
    const bytes = Buffer.alloc(16);
    addressBytes(address, 4).copy(bytes);
    return { address: bytes, family: 4, sourcePrefix: 32, viaEcs: false };
  }
  const stub = (h: Partial<Record<string, Partial<RegionHealth>>>) => (regions: Map<string, RegionIndex>) => healthWith(regions.keys(), (name) => h[name] ?? {});
  function snapWith(health: HealthView | ((r: Map<string, RegionIndex>) => HealthView), ttl = 31): Snapshot {
    return buildSnapshot(zoneSet(ttl), { version: 1, nodeId: 'n', state: { health } });
  }
  function run(snap: Snapshot, service = 'app.gslb.test') {
    const svc = snap.services.get(service);
    assert.ok(svc);
    return decide(snap, svc, RRType.A, client('127.0.0.1'), seededRng(1));
  }

  test('all stable: the full TTL, no mention of halving', () => {
    const d = run(snapWith(stub({})));
    assert.equal(d.ttl, 31);
    assert.doesNotMatch(d.why!.reason, /halved/);
    assert.equal(d.region?.region.name, 'a');
  });

  test('one unstable candidate (even not the chosen one): floor(ttl/2), and the reason says so', () => {
    const d = run(snapWith(stub({ c: { unstable: true } })));
    assert.equal(d.ttl, 15);
    assert.match(d.why!.reason, /TTL halved to 15 s/);
    assert.equal(d.region?.region.name, 'a', 'steering itself unchanged');
    assert.equal(d.why!.candidates.find((c) => c.region === 'c')!.unstable, true);
    assert.equal(d.why!.candidates.find((c) => c.region === 'a')!.unstable, false);
  });

  test('TTL 1 stays 1 (never 0)', () => {
    const d = run(snapWith(stub({ b: { unstable: true } })), 'one.gslb.test');
    assert.equal(d.ttl, 1);
    assert.match(d.why!.reason, /TTL halved to 1 s/);
  });

  test('even TTL halves exactly', () => {
    const d = run(snapWith(stub({ a: { unstable: true } }), 30));
    assert.equal(d.ttl, 15);
  });

  test('drained but stable: full TTL', () => {
    const d = run(snapWith(stub({ a: { drained: true } })));
    assert.equal(d.ttl, 31);
    assert.equal(d.region?.region.name, 'b');
  });

  test('through computeHealth: a recent transition halves, an old one does not', () => {
    const recent = probes([['c', C_EP, 'n', st({ at: NOW - 100, since: NOW - 5000, transitions: 1 })]]);
    const d1 = run(snapWith((regions) => computeHealth(regions, recent, new Map(), NOW)));
    assert.equal(d1.ttl, 15);
    assert.match(d1.why!.reason, /halved/);
    const old = probes([['c', C_EP, 'n', st({ at: NOW - 100, since: NOW - 10 * F_B, transitions: 1 })]]);
    const d2 = run(snapWith((regions) => computeHealth(regions, old, new Map(), NOW)));
    assert.equal(d2.ttl, 31);
    // A down region is unstable: the failover goes to b with a halved TTL.
    const downA = probes(A_EPS.map((ep): [string, string, string, ProberState] => ['a', ep, 'n', st({ at: NOW - 100, up: false })]));
    const d3 = run(snapWith((regions) => computeHealth(regions, downA, new Map(), NOW)));
    assert.equal(d3.region?.region.name, 'b');
    assert.equal(d3.ttl, 15);
  });
});

// ---------------------------------------------------------------------------------------------------------
// StateCache
// ---------------------------------------------------------------------------------------------------------

function registration(name: string, updatedAt: number, address = '127.0.0.41'): RegionRegistration {
  return { name, location: { lat: 1, lon: 2 }, endpoints: [{ address }], services: ['app.gslb.test'], updatedAt };
}

function latency(client: string, region: string, rttMs: number, updatedAt: number): LearnedLatency {
  return { client, region, rttMs, samples: 1, updatedAt };
}

describe('StateCache', () => {
  test('region changes: add, replace, delete', () => {
    const cache = new StateCache();
    cache.apply({ kind: 'region', name: 'api1', registration: registration('api1', 1) });
    assert.equal(cache.state.regions.size, 1);
    let regs = cache.apiRegions();
    assert.equal(regs.length, 1);
    assert.equal(regs[0]!.name, 'api1');
    assert.equal(regs[0]!.source, 'api');
    assert.deepEqual(regs[0]!.services, ['app.gslb.test']);
    assert.deepEqual(
      regs[0]!.endpoints.map((e) => e.address),
      ['127.0.0.41'],
    );
    cache.apply({ kind: 'region', name: 'api1', registration: registration('api1', 2, '127.0.0.42') });
    regs = cache.apiRegions();
    assert.deepEqual(
      regs[0]!.endpoints.map((e) => e.address),
      ['127.0.0.42'],
    );
    cache.apply({ kind: 'region', name: 'api1', registration: null });
    assert.equal(cache.state.regions.size, 0);
    assert.deepEqual(cache.apiRegions(), []);
  });

  test('a registration that no longer validates is skipped, not thrown', () => {
    const cache = new StateCache();
    const bad = { ...registration('bad', 1), location: { lat: 500, lon: 0 } };
    cache.apply({ kind: 'region', name: 'bad', registration: bad });
    cache.apply({ kind: 'region', name: 'good', registration: registration('good', 1) });
    assert.deepEqual(
      cache.apiRegions().map((r) => r.name),
      ['good'],
    );
  });

  test('drain changes', () => {
    const cache = new StateCache();
    cache.apply({ kind: 'drain', name: 'a', drain: { since: 5, reason: 'x' } });
    assert.deepEqual(cache.state.drains.get('a'), { since: 5, reason: 'x' });
    cache.apply({ kind: 'drain', name: 'a', drain: null });
    assert.equal(cache.state.drains.has('a'), false);
  });

  test('probe changes: set, delete, and the index follows', () => {
    const cache = new StateCache();
    const k1 = probeKey('a', '127.0.0.11', 'n');
    const k2 = probeKey('a', '127.0.0.11', 'p');
    const k3 = probeKey('b', '127.0.0.21', 'n');
    cache.apply({ kind: 'probes', states: [[k1, st({ at: 1 })], [k2, st({ at: 2, up: false })], [k3, st({ at: 3 })]] });
    const idx1 = cache.probeIndex();
    assert.equal(idx1.get('a|127.0.0.11')!.size, 2);
    assert.equal(idx1.get('b|127.0.0.21')!.size, 1);
    cache.apply({ kind: 'probes', states: [[k2, null]] });
    const idx2 = cache.probeIndex();
    assert.equal(idx2, idx1, 'kept up to date in place, never rebuilt');
    assert.deepEqual([...idx2.get('a|127.0.0.11')!.keys()], ['n']);
    assert.equal(cache.state.probes.has(k2), false);
  });

  test('latency changes replace by (client, region)', () => {
    const cache = new StateCache();
    cache.apply({ kind: 'latency', values: [latency('DE', 'a', 20, 1000), latency('DE', 'b', 30, 1000)] });
    cache.apply({ kind: 'latency', values: [latency('DE', 'a', 25, 2000)] });
    assert.equal(cache.state.latency.size, 2);
    assert.equal(cache.state.latency.get('DE|a')!.rttMs, 25);
  });

  test('resync replaces everything', () => {
    const cache = new StateCache();
    cache.apply({ kind: 'region', name: 'old', registration: registration('old', 1) });
    cache.apply({ kind: 'drain', name: 'old', drain: { since: 1 } });
    cache.apply({ kind: 'probes', states: [[probeKey('old', '127.0.0.41', 'n'), st({ at: 1 })]] });
    const data = emptyState();
    data.regions.set('new', registration('new', 1, '127.0.0.43'));
    data.probes.set(probeKey('new', '127.0.0.43', 'n'), st({ at: 9 }));
    cache.apply({ kind: 'resync', data });
    assert.deepEqual([...cache.state.regions.keys()], ['new']);
    assert.equal(cache.state.drains.size, 0);
    assert.deepEqual(
      cache.apiRegions().map((r) => r.name),
      ['new'],
    );
    assert.deepEqual([...cache.probeIndex().keys()], ['new|127.0.0.43']);
  });

  test('applyLocally (store down): runs rise/fall, records into unsynced, and survives a resync', () => {
    const cache = new StateCache();
    const k = probeKey('a', '127.0.0.11', 'node-a');
    // The store knew this endpoint up.
    cache.apply({ kind: 'probes', states: [[k, st({ at: 1000, okStreak: 5 })]] });
    const u = { region: 'a', endpoint: '127.0.0.11', prober: 'node-a', ok: false, error: 'HTTP 500', rttMs: 3, rise: 2, fall: 2 };
    cache.applyLocally([u], 2000);
    assert.equal(cache.state.probes.get(k)!.up, true, 'one failure of fall 2');
    cache.applyLocally([u], 3000);
    const local = cache.state.probes.get(k)!;
    assert.equal(local.up, false);
    assert.equal(local.transitions, 1);
    assert.equal(local.lastError, 'HTTP 500');
    assert.equal(cache.unsynced.get(k), local);
    assert.equal(cache.probeIndex().get('a|127.0.0.11')!.get('node-a'), local, 'the index sees the local state');

    // A resync from a store that missed all of it: the local view survives.
    const data = emptyState();
    data.probes.set(k, st({ at: 1000, okStreak: 5 }));
    data.probes.set(probeKey('b', '127.0.0.21', 'probe-1'), st({ at: 1500 }));
    cache.apply({ kind: 'resync', data });
    assert.equal(cache.state.probes.get(k), local);
    assert.equal(cache.state.probes.size, 2);
    assert.equal(cache.unsynced.size, 1);
    assert.equal(cache.probeIndex().get('a|127.0.0.11')!.get('node-a'), local);
  });

  test('a state from the store for an unsynced key supersedes the local one (no stale re-apply at resync)', () => {
    const cache = new StateCache();
    const k = probeKey('a', '127.0.0.11', 'node-a');
    cache.applyLocally([{ region: 'a', endpoint: '127.0.0.11', prober: 'node-a', ok: false, rise: 1, fall: 1 }], 1000);
    assert.equal(cache.unsynced.size, 1);
    // The store is back and accepted a newer result for the same key.
    const fromStore = st({ at: 5000, up: true });
    cache.apply({ kind: 'probes', states: [[k, fromStore]] });
    assert.equal(cache.unsynced.size, 0);
    const data = emptyState();
    data.probes.set(k, fromStore);
    cache.apply({ kind: 'resync', data });
    assert.equal(cache.state.probes.get(k), fromStore, 'the old local state is not re-applied');

    // A deleted region's local states do not come back at the next resync either.
    const k2 = probeKey('gone', '127.0.0.51', 'node-a');
    cache.applyLocally([{ region: 'gone', endpoint: '127.0.0.51', prober: 'node-a', ok: true, rise: 1, fall: 1 }], 6000);
    cache.apply({ kind: 'probes', states: [[k2, null]] });
    cache.apply({ kind: 'resync', data: emptyState() });
    assert.equal(cache.state.probes.has(k2), false);
  });

  test('apiRegions() returns the same array until a region change', () => {
    const cache = new StateCache();
    cache.apply({ kind: 'region', name: 'r1', registration: registration('r1', 1) });
    const first = cache.apiRegions();
    assert.equal(cache.apiRegions(), first);
    cache.apply({ kind: 'drain', name: 'r1', drain: { since: 1 } });
    cache.apply({ kind: 'probes', states: [[probeKey('r1', '127.0.0.41', 'n'), st({ at: 1 })]] });
    cache.apply({ kind: 'latency', values: [latency('DE', 'r1', 1, 1)] });
    cache.applyLocally([{ region: 'r1', endpoint: '127.0.0.41', prober: 'n', ok: true, rise: 1, fall: 1 }], 2);
    assert.equal(cache.apiRegions(), first, 'other kinds of change keep the array');
    cache.apply({ kind: 'region', name: 'r2', registration: registration('r2', 1, '127.0.0.44') });
    const second = cache.apiRegions();
    assert.notEqual(second, first);
    assert.equal(second.length, 2);
    // The unchanged registration keeps its converted Region object.
    assert.equal(second.find((r) => r.name === 'r1'), first[0]);
    assert.equal(cache.apiRegions(), second);
  });

  test('measured(now) drops expired values and unreadable clients', () => {
    const cache = new StateCache();
    const now = 100 * LATENCY_MAX_AGE_MS;
    cache.apply({
      kind: 'latency',
      values: [
        latency('127.0.0.0/24', 'a', 10, now - 1000),
        latency('DE', 'a', 20, now - LATENCY_MAX_AGE_MS),
        latency('continent:EU', 'a', 30, now - LATENCY_MAX_AGE_MS - 1),
        latency('not a client', 'a', 40, now),
      ],
    });
    const m = cache.measured(now);
    assert.deepEqual(
      m.map((x) => [x.client.text, x.rttMs]),
      [
        ['127.0.0.0/24', 10],
        ['DE', 20],
      ],
    );
    assert.equal(cache.measured(now + 1).length, 1, 'DE expires 1 ms later');
  });

  test('nextLatencyExpiry: the earliest future expiry; already expired values are not "next"', () => {
    const cache = new StateCache();
    const now = 100 * LATENCY_MAX_AGE_MS;
    assert.equal(cache.nextLatencyExpiry(LATENCY_MAX_AGE_MS, now), undefined);
    cache.apply({ kind: 'latency', values: [latency('DE', 'a', 20, now - 2 * LATENCY_MAX_AGE_MS)] });
    assert.equal(cache.nextLatencyExpiry(LATENCY_MAX_AGE_MS, now), undefined, 'only an expired value');
    cache.apply({ kind: 'latency', values: [latency('FR', 'a', 20, now - 1000), latency('US', 'a', 20, now - 500)] });
    const next = cache.nextLatencyExpiry(LATENCY_MAX_AGE_MS, now)!;
    assert.equal(next, now - 1000 + LATENCY_MAX_AGE_MS + 1);
    // The moment it names is the first moment measured() no longer has FR.
    assert.equal(
      cache.measured(next - 1).some((l) => l.client.text === 'FR'),
      true,
    );
    assert.equal(
      cache.measured(next).some((l) => l.client.text === 'FR'),
      false,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// SnapshotManager with a fake clock
// ---------------------------------------------------------------------------------------------------------

describe('SnapshotManager', () => {
  afterEach(() => mock.timers.reset());

  function setup(coalesceMs = 100) {
    let now = NOW;
    const cache = new StateCache();
    const manager = new SnapshotManager(zoneSet(), { nodeId: 'n', locator: new Locator([]), cache, log: silent, coalesceMs, now: () => now });
    return {
      cache,
      manager,
      health: () => manager.holder.current().health,
      advance: (ms: number) => {
        now += ms;
      },
      now: () => now,
    };
  }

  test('rebuildState() bumps the version and reflects probe states', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { cache, manager, health } = setup();
    try {
      const v0 = manager.holder.version;
      assert.equal(manager.holder.current().version, v0);
      assert.equal(health().region('c').up, true);
      cache.apply({ kind: 'probes', states: [[probeKey('c', C_EP, 'n'), st({ at: NOW - 10, up: false, lastError: 'HTTP 500' })]] });
      assert.equal(health().region('c').up, true, 'not before a rebuild');
      manager.rebuildState();
      assert.equal(manager.holder.version, v0 + 1);
      assert.equal(health().region('c').up, false);
      assert.match(health().explain('c', C_EP, NOW).reason, /HTTP 500/);
      cache.apply({ kind: 'drain', name: 'a', drain: { since: NOW } });
      manager.rebuildState();
      assert.equal(manager.holder.version, v0 + 2);
      assert.equal(health().region('a').drained, true);
      // Zones are shared, not rebuilt.
      assert.equal(manager.holder.current().zones, manager.holder.current().zones);
    } finally {
      manager.stop();
    }
  });

  test('stateChanged() coalesces a burst into one rebuild', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { cache, manager, health } = setup(100);
    try {
      const v0 = manager.holder.version;
      const swaps: number[] = [];
      manager.holder.onSwap((s) => swaps.push(s.version));
      for (let i = 0; i < 20; i++) {
        cache.apply({ kind: 'probes', states: [[probeKey('a', A_EPS[i % 3]!, `p${i}`), st({ at: NOW, up: false })]] });
        manager.stateChanged();
      }
      mock.timers.tick(99);
      assert.equal(manager.holder.version, v0, 'nothing before the window ends');
      mock.timers.tick(1);
      assert.deepEqual(swaps, [v0 + 1], 'exactly one rebuild');
      assert.equal(health().region('a').up, false);
      mock.timers.tick(1000);
      assert.deepEqual(swaps, [v0 + 1], 'and no more');
      // A new burst gets a new rebuild.
      manager.stateChanged();
      manager.stateChanged();
      mock.timers.tick(100);
      assert.deepEqual(swaps, [v0 + 1, v0 + 2]);
      // An explicit rebuild inside a window cancels the pending one.
      manager.stateChanged();
      manager.rebuildState();
      mock.timers.tick(200);
      assert.deepEqual(swaps, [v0 + 1, v0 + 2, v0 + 3]);
    } finally {
      manager.stop();
    }
  });

  test('a report going stale triggers a rebuild when due (fake clock + mock timers)', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { cache, manager, health, advance } = setup();
    try {
      cache.apply({ kind: 'probes', states: [[probeKey('c', C_EP, 'n'), st({ at: NOW, up: false })]] });
      manager.rebuildState();
      const v = manager.holder.version;
      assert.equal(health().region('c').up, false);
      assert.equal(health().nextChangeAt, NOW + F_B + 1);
      advance(F_B + 1);
      mock.timers.tick(F_B + 1 + 5);
      assert.equal(manager.holder.version, v + 1);
      assert.equal(health().region('c').up, true, 'stale: up (unverified)');
      mock.timers.tick(10 * F_B);
      assert.equal(manager.holder.version, v + 1, 'nothing further to do');
    } finally {
      manager.stop();
    }
  });

  test('an expired learned latency in the state does not cause endless rebuilds', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { cache, manager } = setup();
    try {
      cache.apply({ kind: 'latency', values: [latency('DE', 'a', 20, NOW - 2 * LATENCY_MAX_AGE_MS)] });
      manager.rebuildState();
      const v = manager.holder.version;
      mock.timers.tick(1000);
      assert.equal(manager.holder.version, v, 'no timed rebuilds for a value that already expired');
    } finally {
      manager.stop();
    }
  });

  test('a learned latency expiring triggers one rebuild when due', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { cache, manager, advance } = setup();
    try {
      cache.apply({ kind: 'latency', values: [latency('DE', 'a', 20, NOW - LATENCY_MAX_AGE_MS + 1000)] });
      manager.rebuildState();
      const v = manager.holder.version;
      assert.equal(manager.holder.current().latency.lookup('a', Buffer.alloc(16), 4, 32, 'DE', 'EU')?.entry.rttMs, 20);
      advance(1001);
      mock.timers.tick(1001 + 5);
      assert.equal(manager.holder.version, v + 1);
      assert.equal(manager.holder.current().latency.lookup('a', Buffer.alloc(16), 4, 32, 'DE', 'EU'), undefined);
      mock.timers.tick(5000);
      assert.equal(manager.holder.version, v + 1);
    } finally {
      manager.stop();
    }
  });
});

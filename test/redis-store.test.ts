/**
 * The two Store implementations against the same table of cases: RedisStore (against a spawned redis-server
 * on loopback) and EmbeddedStore (in a temp dir). The Redis store runs the rise/fall machine and the latency
 * EWMA in Lua; both must give exactly what health/machine.ts applyResult and store/latency.ts give.
 * Then what only one of them does: pub/sub between stores, namespaces, URL forms, outages (Redis), the file
 * (embedded).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { applyResult } from '../src/health/machine.js';
import { EmbeddedStore } from '../src/store/embedded.js';
import { LATENCY_ALPHA, LATENCY_MAX_AGE_MS, smoothLatency } from '../src/store/latency.js';
import { parseRedisUrl, type ClientOptions } from '../src/store/redis-connect.js';
import { RedisStore } from '../src/store/redis.js';
import { SharedState } from '../src/store/shared-state.js';
import { StateCache } from '../src/store/state-cache.js';
import { probeKey } from '../src/store/keys.js';
import { ReplicationShortfallError, StoreUnavailableError, type LearnedLatency, type RegionRegistration, type StateData, type Store, type StoreChange } from '../src/store/types.js';
import type { ProbeUpdate, ProberState } from '../src/health/probe-state.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

const silentLogger = pino({ level: 'silent' });
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z: 13 digits, as Date.now() gives

let redis: RedisServer;
const closers: (() => Promise<void>)[] = [];
const tempDirs: string[] = [];
let nsCounter = 0;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  await redis.stop();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gslb-store-'));
  tempDirs.push(d);
  return d;
}

/** A Redis store on its own namespace (or a given one), closed after the file. */
function redisStore(ns = `ns${++nsCounter}-${process.pid}`): Store {
  const s = new RedisStore(parseRedisUrl(redis.namespacedUrl(ns)), silentLogger);
  closers.push(() => s.close());
  return s;
}

async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3000, stepMs = 10): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

interface Opened {
  store: Store;
  initial: StateData;
  /** Every change the store's listener received. */
  changes: StoreChange[];
  /** A second instance over the same data (same dir / same namespace), started after the first one's writes. */
  reopen(): Promise<StateData>;
}

interface Kind {
  name: 'embedded' | 'redis';
  open(): Promise<Opened>;
}

const KINDS: Kind[] = [
  {
    name: 'embedded',
    open: async () => {
      const dir = tempDir();
      const store = new EmbeddedStore(dir, silentLogger);
      closers.push(() => store.close());
      const changes: StoreChange[] = [];
      store.onChange((c) => changes.push(c));
      const initial = await store.start();
      return {
        store,
        initial,
        changes,
        reopen: async () => {
          const again = new EmbeddedStore(dir, silentLogger);
          closers.push(() => again.close());
          return again.start();
        },
      };
    },
  },
  {
    name: 'redis',
    open: async () => {
      const ns = `ns${++nsCounter}-${process.pid}`;
      const store = redisStore(ns);
      const changes: StoreChange[] = [];
      store.onChange((c) => changes.push(c));
      const initial = await store.start();
      return { store, initial, changes, reopen: () => redisStore(ns).start() };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------
// The probe machine table: each step is one result; the expected states are applyResult's, step by step.

interface Step {
  ok: boolean;
  rtt?: number;
  err?: string;
  /** Milliseconds after the previous step. */
  dt?: number;
}
interface ProbeCase {
  name: string;
  rise: number;
  fall: number;
  steps: Step[];
  /** What the final state must show, on top of matching applyResult (undefined: absent). */
  expect: { [K in keyof ProberState]?: ProberState[K] | undefined };
}

const ok = (rtt?: number): Step => (rtt === undefined ? { ok: true } : { ok: true, rtt });
const fail = (err?: string): Step => (err === undefined ? { ok: false } : { ok: false, err });

const PROBE_CASES: ProbeCase[] = [
  { name: 'first result ok decides up', rise: 2, fall: 3, steps: [ok(12)], expect: { up: true, okStreak: 1, failStreak: 0, transitions: 0, rttMs: 12 } },
  { name: 'first result failing decides down at once', rise: 2, fall: 3, steps: [fail('connect ECONNREFUSED')], expect: { up: false, failStreak: 1, transitions: 0, lastError: 'connect ECONNREFUSED' } },
  { name: 'up stays up for fall-1 failures, goes down on the fall-th', rise: 2, fall: 3, steps: [ok(), fail(), fail()], expect: { up: true, failStreak: 2, transitions: 0, lastError: 'check failed' } },
  { name: 'down after fall consecutive failures', rise: 2, fall: 3, steps: [ok(), fail('a'), fail('b'), fail('c')], expect: { up: false, failStreak: 3, transitions: 1, lastError: 'c' } },
  { name: 'an ok in between resets the failure streak', rise: 2, fall: 3, steps: [ok(), fail(), fail(), ok(), fail(), fail()], expect: { up: true, failStreak: 2, okStreak: 0 } },
  { name: 'down needs rise successes; lastError kept after recovery', rise: 2, fall: 3, steps: [fail('timeout'), ok(5), ok(6)], expect: { up: true, okStreak: 2, transitions: 1, lastError: 'timeout', rttMs: 6 } },
  { name: 'one ok is not enough with rise 2', rise: 2, fall: 3, steps: [fail('x'), ok(5)], expect: { up: false, okStreak: 1 } },
  { name: 'rise 1 / fall 1 flaps on every change', rise: 1, fall: 1, steps: [ok(), fail('e1'), ok(), fail('e2'), ok()], expect: { up: true, transitions: 4, lastError: 'e2' } },
  { name: 'rise 3 / fall 1', rise: 3, fall: 1, steps: [ok(), fail(), ok(), ok(), ok(), ok()], expect: { up: true, transitions: 2, okStreak: 4 } },
  { name: 'rtt 0 is kept; an rtt is not carried to a result without one', rise: 2, fall: 3, steps: [ok(0), ok(0)], expect: { rttMs: 0 } },
  { name: 'rtt not carried over', rise: 2, fall: 3, steps: [ok(7), ok()], expect: { up: true, okStreak: 2 } },
  { name: 'fractional rtt', rise: 2, fall: 3, steps: [ok(12.5), fail(), ok(0.25)], expect: { rttMs: 0.25 } },
  { name: 'a failing result with rtt keeps both', rise: 2, fall: 2, steps: [ok(3), { ok: false, rtt: 2000, err: 'HTTP 503' }], expect: { up: true, rttMs: 2000, lastError: 'HTTP 503' } },
  { name: 'an error text with quotes, slashes, backslashes and non-ASCII survives', rise: 2, fall: 3, steps: [fail('HTTP 503 "Service Unavailable" at /health \\ — Zürich ✓')], expect: { lastError: 'HTTP 503 "Service Unavailable" at /health \\ — Zürich ✓' } },
  { name: 'cold start: rising until rise successes in a row, through a failure', rise: 3, fall: 3, steps: [ok(), fail(), ok(), ok()], expect: { up: true, okStreak: 2, rising: true } },
  { name: 'cold start ends on the rise-th success in a row and does not come back', rise: 3, fall: 3, steps: [ok(), ok(), ok(), fail(), ok()], expect: { up: true, okStreak: 1, rising: undefined } },
  { name: 'cold start of a down endpoint ends when it comes up', rise: 2, fall: 3, steps: [fail(), ok(), ok()], expect: { up: true, transitions: 1, rising: undefined } },
  { name: 'rise 1: never rising', rise: 1, fall: 3, steps: [ok()], expect: { up: true, rising: undefined } },
  { name: 'since moves only on transitions', rise: 2, fall: 2, steps: [ok(), { ok: true, dt: 500 }, { ok: false, dt: 700 }, { ok: false, dt: 900 }, { ok: false, dt: 1100 }], expect: { up: false, transitions: 1 } },
];

function expectedChain(c: ProbeCase): { states: ProberState[]; times: number[] } {
  let t = T0;
  let prev: ProberState | undefined;
  const states: ProberState[] = [];
  const times: number[] = [];
  for (const s of c.steps) {
    t += s.dt ?? 1000;
    prev = applyResult(prev, s.ok, t, c.rise, c.fall, s.rtt, s.err);
    states.push(prev);
    times.push(t);
  }
  return { states, times };
}

function update(region: string, endpoint: string, prober: string, c: { rise: number; fall: number }, s: Step): ProbeUpdate {
  return { region, endpoint, prober, ok: s.ok, rise: c.rise, fall: c.fall, ...(s.rtt !== undefined ? { rttMs: s.rtt } : {}), ...(s.err !== undefined ? { error: s.err } : {}) };
}

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

function assertLatency(actual: LearnedLatency, expected: LearnedLatency, what: string): void {
  const { rttMs: a, ...restA } = actual;
  const { rttMs: e, ...restE } = expected;
  assert.deepEqual(restA, restE, what);
  // Redis' cjson keeps 14 significant digits: the Lua EWMA agrees with the TS one to ~1e-12, not bit for bit.
  assertClose(a, e, `${what} rttMs`);
}

const region = (name: string, extra: Partial<RegionRegistration> = {}): RegionRegistration => ({
  name,
  location: { lat: 51.5, lon: -0.12 },
  endpoints: [{ address: '198.51.100.77' }, { address: '198.51.100.78', weight: 2 }],
  services: ['app.gslb.example.test'],
  updatedAt: T0,
  ...extra,
});

for (const kind of KINDS) {
  describe(`${kind.name} store: shared behaviour`, () => {
    test('starts empty', async () => {
      const { initial, store } = await kind.open();
      assert.equal(store.kind, kind.name);
      assert.ok(store.available());
      assert.deepEqual([initial.regions.size, initial.drains.size, initial.probes.size, initial.latency.size], [0, 0, 0, 0]);
    });

    for (const c of PROBE_CASES) {
      test(`applyProbes = applyResult: ${c.name}`, async () => {
        const { store, reopen } = await kind.open();
        const { states, times } = expectedChain(c);
        for (let i = 0; i < c.steps.length; i++) {
          const got = await store.applyProbes([update('eu-west', '198.51.100.10', 'p1', c, c.steps[i]!)], times[i]!, true);
          assert.deepEqual(got, [[probeKey('eu-west', '198.51.100.10', 'p1'), states[i]]], `step ${i + 1} of ${c.name}`);
        }
        const final = states[states.length - 1]!;
        for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(final[k as keyof ProberState], v, `${k} of the final state`);
        // What a node starting now reads back is the same state.
        const back = await reopen();
        assert.deepEqual(back.probes.get(probeKey('eu-west', '198.51.100.10', 'p1')), final);
      });
    }

    test('applyProbes: a batch updates several keys, the same key twice in order, and streaks cap at 1000', async () => {
      const { store } = await kind.open();
      const c = { rise: 2, fall: 3 };
      const batch: ProbeUpdate[] = [
        update('r1', '192.0.2.1', 'p1', c, ok(1)),
        update('r1', '192.0.2.1', 'p2', c, fail('refused')),
        update('r1', '192.0.2.1', 'p1', c, fail('second in batch')),
        update('r2', '2001:db8::1', 'p1', c, ok(3)),
      ];
      const got = await store.applyProbes(batch, T0, true);
      const s11 = applyResult(undefined, true, T0, 2, 3, 1);
      assert.deepEqual(got, [
        ['r1|192.0.2.1|p1', s11],
        ['r1|192.0.2.1|p2', applyResult(undefined, false, T0, 2, 3, undefined, 'refused')],
        ['r1|192.0.2.1|p1', applyResult(s11, false, T0, 2, 3, undefined, 'second in batch')],
        ['r2|2001:db8::1|p1', applyResult(undefined, true, T0, 2, 3, 3)],
      ]);
      const many = Array.from({ length: 1005 }, () => update('r3', '192.0.2.3', 'p1', c, ok()));
      const capped = await store.applyProbes(many, T0 + 1, true);
      assert.equal(capped.length, 1005);
      let expected: ProberState | undefined;
      for (let i = 0; i < 1005; i++) expected = applyResult(expected, true, T0 + 1, 2, 3);
      assert.deepEqual(capped[1004]![1], expected);
      assert.equal(expected!.okStreak, 1000);
      assert.deepEqual(await store.applyProbes([], T0 + 2, true), []);
    });

    test('recordLatency: EWMA with alpha 0.3, per (client, region), restarted after the max age', async () => {
      const { store, reopen } = await kind.open();
      assert.equal(LATENCY_ALPHA, 0.3);
      const seq: [client: string, region: string, rtt: number, at: number][] = [
        ['198.51.100.0/24', 'eu-west', 100, T0],
        ['198.51.100.0/24', 'eu-west', 50, T0 + 1000],
        ['198.51.100.0/24', 'eu-west', 80.5, T0 + 2000],
        ['DE', 'eu-west', 25, T0 + 2000],
        ['198.51.100.0/24', 'us-east', 90, T0 + 3000],
        // exactly the max age later: still smoothed
        ['198.51.100.0/24', 'eu-west', 10, T0 + 2000 + LATENCY_MAX_AGE_MS],
        // more than the max age later: starts again from this sample
        ['198.51.100.0/24', 'eu-west', 42, T0 + 2000 + 2 * LATENCY_MAX_AGE_MS + 1],
        ['198.51.100.0/24', 'eu-west', 44, T0 + 2000 + 2 * LATENCY_MAX_AGE_MS + 2],
      ];
      const model = new Map<string, LearnedLatency>();
      for (const [client, reg, rtt, at] of seq) {
        const key = `${client}|${reg}`;
        const want = smoothLatency(model.get(key), client, reg, rtt, at);
        model.set(key, want);
        const [got, ...rest] = await store.recordLatency([{ client, region: reg, rttMs: rtt }], at);
        assert.equal(rest.length, 0);
        assertLatency(got!, want, `${client} -> ${reg} at +${at - T0}`);
      }
      const eu = model.get('198.51.100.0/24|eu-west')!;
      assert.equal(eu.samples, 2, 'restarted after the max age, then one more sample');
      assertClose(eu.rttMs, 42 + 0.3 * (44 - 42), 'EWMA after restart');
      assertClose(model.get('DE|eu-west')!.rttMs, 25, 'another client is separate');
      // A batch: the second sample of one key sees the first.
      const batch = await store.recordLatency(
        [
          { client: 'continent:EU', region: 'eu-west', rttMs: 30 },
          { client: 'continent:EU', region: 'eu-west', rttMs: 60 },
        ],
        T0 + 5000,
      );
      assert.equal(batch.length, 2);
      assertClose(batch[1]!.rttMs, 30 + 0.3 * 30, 'second in batch');
      assert.equal(batch[1]!.samples, 2);
      const back = await reopen();
      assert.equal(back.latency.size, 4);
      assertLatency(back.latency.get('198.51.100.0/24|eu-west')!, eu, 'read back');
    });

    test('putRegion / setDrain / deleteRegion (which forgets its drain and probe states, not a neighbour\'s)', async () => {
      const { store, changes, reopen } = await kind.open();
      const c = { rise: 2, fall: 3 };
      await store.putRegion(region('lon-1'));
      await store.putRegion(region('lon-10'));
      await store.putRegion(region('lon-1', { weight: 3, updatedAt: T0 + 1 }));
      await store.setDrain('lon-1', { since: T0, reason: 'maintenance' });
      await store.setDrain('lon-10', { since: T0 });
      await store.setDrain('eu-west', { since: T0 });
      await store.setDrain('eu-west', null);
      await store.applyProbes(
        [update('lon-1', '198.51.100.77', 'p1', c, fail()), update('lon-1', '198.51.100.78', 'p2', c, ok()), update('lon-10', '198.51.100.77', 'p1', c, ok())],
        T0,
        true,
      );
      let data = await reopen();
      assert.deepEqual([...data.regions.keys()].sort(), ['lon-1', 'lon-10']);
      assert.deepEqual(data.regions.get('lon-1'), region('lon-1', { weight: 3, updatedAt: T0 + 1 }), 'replaced');
      assert.deepEqual(Object.fromEntries(data.drains), { 'lon-1': { since: T0, reason: 'maintenance' }, 'lon-10': { since: T0 } });
      assert.equal(data.probes.size, 3);

      const before = changes.length;
      await store.deleteRegion('lon-1');
      data = await reopen();
      assert.deepEqual([...data.regions.keys()], ['lon-10']);
      assert.deepEqual([...data.drains.keys()], ['lon-10']);
      assert.deepEqual([...data.probes.keys()], ['lon-10|198.51.100.77|p1']);
      // The listener heard the deletion: region, drain and the probe states gone.
      const del = await waitFor('the deletion events', () => {
        const after = changes.slice(before);
        const probes = after.find((ch): ch is Extract<StoreChange, { kind: 'probes' }> => ch.kind === 'probes');
        return after.some((ch) => ch.kind === 'region' && ch.name === 'lon-1' && ch.registration === null) &&
          after.some((ch) => ch.kind === 'drain' && ch.name === 'lon-1' && ch.drain === null) &&
          probes
          ? probes
          : undefined;
      });
      assert.deepEqual(del.states.map(([k, s]) => [k, s]).sort(), [
        ['lon-1|198.51.100.77|p1', null],
        ['lon-1|198.51.100.78|p2', null],
      ]);
      // Deleting what does not exist is harmless.
      await store.deleteRegion('never-there');
      assert.deepEqual([...(await reopen()).regions.keys()], ['lon-10']);
    });

    test('onChange delivers every change, in the order made', async () => {
      const { store, changes } = await kind.open();
      const c = { rise: 2, fall: 3 };
      await store.putRegion(region('r-a'));
      await store.setDrain('r-a', { since: T0 });
      const [[key, state]] = (await store.applyProbes([update('r-a', '198.51.100.77', 'p1', c, ok(4))], T0, true)) as [[string, ProberState]];
      const [lat] = await store.recordLatency([{ client: 'GB', region: 'r-a', rttMs: 9 }], T0);
      await store.restoreProbes([['r-a|198.51.100.78|p9', state]]);
      await store.setDrain('r-a', null);
      await store.deleteRegion('r-a');
      const expected: StoreChange[] = [
        { kind: 'region', name: 'r-a', registration: region('r-a') },
        { kind: 'drain', name: 'r-a', drain: { since: T0 } },
        { kind: 'probes', states: [[key, state]] },
        { kind: 'latency', values: [lat!] },
        { kind: 'probes', states: [['r-a|198.51.100.78|p9', state]] },
        { kind: 'drain', name: 'r-a', drain: null },
        { kind: 'region', name: 'r-a', registration: null },
        { kind: 'drain', name: 'r-a', drain: null },
        {
          kind: 'probes',
          states: [
            [key, null],
            ['r-a|198.51.100.78|p9', null],
          ],
        },
      ];
      // The Redis store applies its own change at once and hears it again from pub/sub: a subsequence check
      // (every change, in order; duplicates allowed) fits both.
      const norm = (ch: StoreChange): string =>
        JSON.stringify(ch.kind === 'probes' ? { ...ch, states: [...ch.states].sort((a, b) => a[0].localeCompare(b[0])) } : ch);
      await waitFor('every change', () => {
        let i = 0;
        for (const ch of changes) if (i < expected.length && norm(ch) === norm(expected[i]!)) i++;
        return i === expected.length;
      });
      if (kind.name === 'embedded') assert.equal(changes.length, expected.length, 'exactly once each');
    });
  });
}

// ---------------------------------------------------------------------------------------------------------

describe('redis store: --redis-min-replicas with a replica missing', () => {
  // The redis-server here has no replica, so every WAIT runs its full timeout. Concurrent writes used to queue
  // their WAITs behind each other on the one command connection until the command timeout fired, and the
  // node then declared Redis down (status flapping, writes answered "timed out").
  test('concurrent writes each answer the replica shortfall; the store is never declared down', async () => {
    const ns = `minrep-${process.pid}`;
    const store = new RedisStore(parseRedisUrl(redis.namespacedUrl(ns)), silentLogger, 1);
    closers.push(() => store.close());
    await store.start();
    const downs: boolean[] = [];
    store.onStatusChange((up) => downs.push(up));
    const reg = (name: string): RegionRegistration => ({
      name,
      location: { lat: 1, lon: 2 },
      endpoints: [{ address: '192.0.2.1' }],
      services: [],
      updatedAt: T0,
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => store.putRegion(reg(`r${i}`))));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const err = (r as PromiseRejectedResult).reason as Error;
      assert.ok(err instanceof ReplicationShortfallError, `a shortfall, not a timeout: ${err.message}`);
      assert.match(err.message, /0 of 1 replicas confirmed the write/);
    }
    assert.deepEqual(downs, [], 'no down/up transitions');
    assert.equal(store.available(), true);
    // The writes are on the primary all the same (what the 503 text says).
    const direct = new Redis(redis.url);
    closers.push(async () => void direct.disconnect());
    assert.equal(await direct.hlen(`{${ns}}:regions`), 4);
  });
});

describe('redis store: several nodes on one Redis', () => {
  test('a second store on the namespace receives the first one\'s changes, in order', async () => {
    const ns = `order-${process.pid}`;
    const a = redisStore(ns);
    const b = redisStore(ns);
    await Promise.all([a.start(), b.start()]);
    const seen: StoreChange[] = [];
    b.onChange((c) => seen.push(c));
    // Make sure b's subscription is live before counting (the subscriber connects on its own).
    await a.setDrain('warmup', { since: 0 });
    await waitFor('b subscribed', () => seen.some((c) => c.kind === 'drain' && c.name === 'warmup'));
    seen.length = 0;
    for (let i = 0; i < 50; i++) await a.setDrain('eu-west', { since: T0 + i, reason: `n${i}` });
    await a.putRegion(region('late'));
    await a.deleteRegion('late');
    await waitFor('all 53 changes at b', () => seen.length >= 53);
    const drains = seen.filter((c): c is Extract<StoreChange, { kind: 'drain' }> => c.kind === 'drain' && c.name === 'eu-west');
    assert.deepEqual(
      drains.map((d) => d.drain?.reason),
      Array.from({ length: 50 }, (_, i) => `n${i}`),
    );
    assert.deepEqual(
      seen.slice(50).map((c) => c.kind + ':' + ('name' in c ? c.name : '')),
      ['region:late', 'region:late', 'drain:late'],
    );
  });

  async function twoNodes(ns: string) {
    const nodes = [redisStore(ns), redisStore(ns)];
    const caches = [new StateCache(), new StateCache()];
    for (let i = 0; i < 2; i++) {
      nodes[i]!.onChange((c) => caches[i]!.apply(c));
      caches[i]!.apply({ kind: 'resync', data: await nodes[i]!.start() });
    }
    // Both subscriptions live.
    await nodes[0]!.setDrain('warmup', { since: 0 });
    await waitFor('both subscribed', () => caches.every((c) => c.state.drains.has('warmup')));
    const plain = new Redis(redis.url);
    plain.on('error', () => undefined);
    closers.push(async () => void plain.disconnect());
    return { nodes, caches, plain };
  }

  test('200 probe updates to one key from two stores, alternating: both end with the state in Redis (= the TS machine)', async () => {
    const ns = `alt-${process.pid}`;
    const { nodes, caches, plain } = await twoNodes(ns);
    const c = { rise: 2, fall: 3 };
    let model: ProberState | undefined;
    for (let i = 0; i < 200; i++) {
      const s: Step = i % 7 < 3 ? fail(`e${i}`) : ok(i);
      model = applyResult(model, s.ok, T0 + i, 2, 3, s.rtt, s.err);
      await nodes[i % 2]!.applyProbes([update('eu-west', '198.51.100.10', 'p1', c, s)], T0 + i, true);
    }
    const key = probeKey('eu-west', '198.51.100.10', 'p1');
    const inRedis = JSON.parse((await plain.hget(`{${ns}}:probes`, key))!) as ProberState;
    assert.deepEqual(inRedis, model, 'the Lua machine gave what the TS machine gives');
    for (let i = 0; i < 2; i++) await waitFor(`node ${i} converged`, () => JSON.stringify(caches[i]!.state.probes.get(key)) === JSON.stringify(inRedis) || undefined);
    // and it stays there (no late stale notification overwrites it)
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 2; i++) assert.deepEqual(caches[i]!.state.probes.get(key), inRedis, `node ${i}`);
  });

  test('200 concurrent probe updates to one key from two stores: both end with the state in Redis', async () => {
    const ns = `conc-${process.pid}`;
    const { nodes, caches, plain } = await twoNodes(ns);
    const c = { rise: 1, fall: 1 };
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => nodes[i % 2]!.applyProbes([update('eu-west', '198.51.100.10', 'p1', c, i % 2 ? fail(`e${i}`) : ok(i))], T0 + i, true)),
    );
    const key = probeKey('eu-west', '198.51.100.10', 'p1');
    const inRedis = JSON.parse((await plain.hget(`{${ns}}:probes`, key))!) as ProberState;
    assert.equal(inRedis.okStreak + inRedis.failStreak > 0, true);
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 2; i++) assert.deepEqual(caches[i]!.state.probes.get(key), inRedis, `node ${i} holds the state Redis has`);
  });

  test('a subscriber connection lost alone: what was published meanwhile is caught up on resubscribe', async () => {
    const ns = `subgap-${process.pid}`;
    const { nodes, caches, plain } = await twoNodes(ns);
    const resyncs: number[] = [];
    nodes[1]!.onChange((c) => {
      if (c.kind === 'resync') resyncs.push(Date.now());
    });
    // The command connections stay up; every subscriber connection of the server is dropped.
    const killed = (await plain.call('CLIENT', 'KILL', 'TYPE', 'pubsub')) as number;
    assert.ok(killed >= 2);
    // Published while node 1 has no subscription (its client reconnects after ~100 ms).
    await nodes[0]!.putRegion(region('during-gap'));
    await nodes[0]!.setDrain('eu-west', { since: T0, reason: 'during gap' });
    assert.ok(caches[0]!.state.regions.has('during-gap'), 'the writer applied its own change');
    // Well within the periodic safety-net resync (10 s or more).
    const waited = Date.now();
    await waitFor('node 1 caught up', () => caches[1]!.state.regions.has('during-gap') && caches[1]!.state.drains.get('eu-west')?.reason === 'during gap', 3000);
    assert.ok(Date.now() - waited < 3000);
    assert.ok(resyncs.length >= 1, 'by a resync after resubscribing');
    // And notifications flow again.
    await nodes[0]!.deleteRegion('during-gap');
    await waitFor('node 1 hears the delete', () => !caches[1]!.state.regions.has('during-gap'));
  });

  test('start() of a store started later returns everything written before', async () => {
    const ns = `late-${process.pid}`;
    const a = redisStore(ns);
    await a.start();
    await a.putRegion(region('lon-1'));
    await a.setDrain('us-east', { since: T0, reason: 'x' });
    const [[key, state]] = (await a.applyProbes([update('eu-west', '198.51.100.10', 'p1', { rise: 2, fall: 3 }, fail('down'))], T0, true)) as [[string, ProberState]];
    const [lat] = await a.recordLatency([{ client: 'GB', region: 'lon-1', rttMs: 7 }], T0);
    const data = await redisStore(ns).start();
    assert.deepEqual(data.regions.get('lon-1'), region('lon-1'));
    assert.deepEqual(data.drains.get('us-east'), { since: T0, reason: 'x' });
    assert.deepEqual(data.probes.get(key), state);
    assert.deepEqual(data.latency.get('GB|lon-1'), lat);
  });

  test('namespaces isolate: ?namespace=a and ?namespace=b share one Redis, not their state', async () => {
    const a = redisStore(`a-${process.pid}`);
    const witness = redisStore(`a-${process.pid}`);
    const b = redisStore(`b-${process.pid}`);
    await Promise.all([a.start(), b.start(), witness.start()]);
    const heardByB: StoreChange[] = [];
    b.onChange((c) => heardByB.push(c));
    const heardByWitness: StoreChange[] = [];
    witness.onChange((c) => heardByWitness.push(c));
    await a.putRegion(region('only-in-a'));
    await a.setDrain('eu-west', { since: T0 });
    // Once another store on namespace a heard both over pub/sub, b would have too if it were listening to a.
    await waitFor('the witness heard both', () => heardByWitness.length >= 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(heardByB, []);
    const bData = await redisStore(`b-${process.pid}`).start();
    assert.equal(bData.regions.size + bData.drains.size, 0);
    const aData = await redisStore(`a-${process.pid}`).start();
    assert.deepEqual([...aData.regions.keys()], ['only-in-a']);
    assert.deepEqual([...aData.drains.keys()], ['eu-west']);
  });
});

describe('parseRedisUrl', () => {
  /** Build the client without connecting (lazyConnect) and read back the options it was given. */
  function optionsOf(url: string): Record<string, unknown> {
    const client = parseRedisUrl(url).create({ lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 100, commandTimeout: 1000, autoResendUnfulfilledCommands: false, retryStrategy: () => 1000 } as ClientOptions);
    const o = { ...(client as unknown as { options: Record<string, unknown> }).options };
    client.disconnect();
    return o;
  }

  test('redis:// single server: host, port, db, credentials, namespace; display hides the password', () => {
    const t = parseRedisUrl('redis://127.0.0.1:6390');
    assert.deepEqual([t.kind, t.namespace, t.display], ['single', 'gslb', 'redis://127.0.0.1:6390']);
    const o = optionsOf('redis://app:s%40cret@127.0.0.1:6391/3?namespace=prod-eu');
    assert.deepEqual([o.host, o.port, o.db, o.username, o.password, o.tls], ['127.0.0.1', 6391, 3, 'app', 's@cret', undefined]);
    const t2 = parseRedisUrl('redis://app:s%40cret@127.0.0.1:6391/3?namespace=prod-eu');
    assert.equal(t2.namespace, 'prod-eu');
    assert.equal(t2.display, 'redis://***@127.0.0.1:6391/3?namespace=prod-eu');
    assert.ok(!t2.display.includes('cret'));
    const d = optionsOf('redis://127.0.0.1');
    assert.deepEqual([d.port, d.db], [6379, 0], 'defaults');
    const p = optionsOf('redis://:only-pass@[::1]:6392');
    assert.deepEqual([p.host, p.port, p.password, p.username ?? undefined], ['::1', 6392, 'only-pass', undefined]);
  });

  test('rediss:// turns TLS on', () => {
    const t = parseRedisUrl('rediss://127.0.0.1:6380');
    assert.equal(t.kind, 'single');
    assert.deepEqual(optionsOf('rediss://127.0.0.1:6380').tls, {});
  });

  test('redis-sentinel://h1:26379,h2:26379/mymaster', () => {
    const t = parseRedisUrl('redis-sentinel://h1:26379,h2:26379/mymaster');
    assert.deepEqual([t.kind, t.namespace], ['sentinel', 'gslb']);
    const o = optionsOf('redis-sentinel://:pw@127.0.0.1:26379,[::1]/mymaster/2?namespace=n1');
    assert.deepEqual(o.sentinels, [
      { host: '127.0.0.1', port: 26379 },
      { host: '::1', port: 26379 },
    ]);
    assert.deepEqual([o.name, o.db, o.password, o.sentinelPassword], ['mymaster', 2, 'pw', 'pw']);
    assert.equal(parseRedisUrl('redis-sentinel://:pw@h1/mymaster?namespace=n1').display, 'redis-sentinel://***@h1/mymaster?namespace=n1');
  });

  test('redis-cluster://h1:6379,h2:6380', () => {
    // Not created: a Cluster client connects as soon as it exists.
    const t = parseRedisUrl('redis-cluster://:pw@h1:6379,h2:6380,h3?namespace=c');
    assert.deepEqual([t.kind, t.namespace, t.display], ['cluster', 'c', 'redis-cluster://***@h1:6379,h2:6380,h3?namespace=c']);
  });

  const bad: [string, RegExp][] = [
    ['http://127.0.0.1:6379', /is not a redis:\/\/, rediss:\/\/, redis-sentinel:\/\/ or redis-cluster:\/\/ URL/],
    ['redis://', /is not a redis/],
    ['127.0.0.1:6379', /is not a redis/],
    ['redis://h:port', /"h:port" is not host\[:port\]/],
    ['redis://h:99999', /port/],
    ['redis://h/x', /database "x" is not a number/],
    ['redis://h/-1', /database "-1" is not a number/],
    ['redis-sentinel://h1:26379,h2:26379', /needs the master name/],
    ['redis-sentinel://h1/mymaster/x', /database "x" is not a number/],
    ['redis-cluster://h1:6379,,h2', /"" is not host\[:port\]/],
    ['redis://h?namespace=has space', /namespace "has space" must be/],
    ['redis://h?namespace=', /namespace "" must be/],
  ];
  for (const [url, message] of bad) {
    test(`rejects ${url}`, () => {
      assert.throws(() => parseRedisUrl(url), message);
    });
  }
});

// Last: kills and restarts the shared redis-server.
describe('redis store: outage', () => {
  test('kill: unavailable, writes refused fast; restart: available, resync, local check results pushed', async (t) => {
    const ns = `outage-${process.pid}`;
    const store = redisStore(ns);
    const changes: StoreChange[] = [];
    store.onChange((c) => changes.push(c));
    const cache = new StateCache();
    let changed = 0;
    const shared = new SharedState(store, cache, () => changed++, silentLogger);
    await shared.start();
    await store.putRegion(region('before'));
    const c = { rise: 2, fall: 3 };
    await shared.recordLocal([update('eu-west', '198.51.100.10', 'node-a', c, ok(5))]);
    assert.equal(cache.unsynced.size, 0, 'stored while Redis is there');
    const prevEu = await waitFor('own change applied', () => cache.state.probes.get('eu-west|198.51.100.10|node-a'));

    await redis.kill();
    const killedAt = Date.now();
    // A write issued right away, before the client may have noticed, must fail fast too.
    const first = await store.putRegion(region('during')).then(
      () => 'stored',
      (err: unknown) => err,
    );
    const firstMs = Date.now() - killedAt;
    assert.ok(first instanceof StoreUnavailableError, `rejected with StoreUnavailableError, got ${String(first)}`);
    await waitFor('available() false', () => !store.available(), 2000, 5);
    const downMs = Date.now() - killedAt;
    const t1 = Date.now();
    const writes: [string, () => Promise<unknown>][] = [
      ['putRegion', () => store.putRegion(region('during'))],
      ['deleteRegion', () => store.deleteRegion('before')],
      ['setDrain', () => store.setDrain('eu-west', { since: T0 })],
      ['applyProbes', () => store.applyProbes([update('eu-west', '198.51.100.10', 'p1', c, ok())], T0, true)],
      ['recordLatency', () => store.recordLatency([{ client: 'GB', region: 'eu-west', rttMs: 1 }], T0)],
      ['restoreProbes', () => store.restoreProbes([['eu-west|198.51.100.10|p1', applyResult(undefined, true, T0, 2, 3)]])],
    ];
    for (const [name, w] of writes) await assert.rejects(w(), StoreUnavailableError, name);
    const refuseMs = Date.now() - t1;
    // Without the fail-fast path a write waits in ioredis's offline queue until Redis is back (for ever here), so
    // a bound far above the store's own deadline still tells the two apart on a loaded machine (1 s failed in CI).
    assert.ok(firstMs < 5000 && refuseMs < 5000, `writes refused in ${firstMs} ms / ${refuseMs} ms for six`);

    // The node's own checks keep working on its local view.
    const before = changed;
    await shared.recordLocal([update('eu-west', '198.51.100.10', 'node-a', c, fail('timeout')), update('us-east', '192.0.2.10', 'node-a', c, fail('refused'))]);
    await shared.recordLocal([update('us-east', '192.0.2.10', 'node-a', c, fail('refused again'))]);
    assert.ok(changed > before, 'the node rebuilds from its local view');
    assert.equal(cache.unsynced.size, 2);
    const localEu = cache.state.probes.get('eu-west|198.51.100.10|node-a')!;
    const localUs = cache.state.probes.get('us-east|192.0.2.10|node-a')!;
    assert.deepEqual(localEu, applyResult(prevEu, false, localEu.at, 2, 3, undefined, 'timeout'), 'the same machine, on the local view');
    assert.equal(localEu.up, true, 'one failure after an ok: still up (fall 3)');
    assert.equal(localUs.up, false, 'first result decided');
    assert.equal(localUs.failStreak, 2);
    assert.equal(localUs.lastError, 'refused again');

    const resyncsBefore = changes.filter((ch) => ch.kind === 'resync').length;
    await redis.restart();
    const restartedAt = Date.now();
    await waitFor('available() again', () => store.available(), 8000);
    const upMs = Date.now() - restartedAt;
    const resync = await waitFor('a resync event', () => changes.filter((ch): ch is Extract<StoreChange, { kind: 'resync' }> => ch.kind === 'resync')[resyncsBefore], 8000);
    // Redis came back empty (not persisted): this node re-seeded it from its last synced state (the region
    // registered before the outage) and pushed its local check results.
    assert.deepEqual([...resync.data.regions.keys()], ['before']);
    assert.deepEqual(resync.data.probes.get('eu-west|198.51.100.10|node-a'), localEu);
    assert.equal(cache.unsynced.size, 0, 'pushed, so no longer unsynced');
    const plain = new Redis(redis.url);
    try {
      const stored = await plain.hgetall(`{${ns}}:probes`);
      assert.deepEqual(
        Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, JSON.parse(v) as ProberState])),
        { 'eu-west|198.51.100.10|node-a': localEu, 'us-east|192.0.2.10|node-a': localUs },
      );
    } finally {
      plain.disconnect();
    }
    // Writes work again, and a store that starts now sees the pushed states.
    await store.putRegion(region('after'));
    const fresh = await redisStore(ns).start();
    assert.deepEqual([...fresh.regions.keys()].sort(), ['after', 'before']);
    assert.deepEqual(fresh.probes.get('us-east|192.0.2.10|node-a'), localUs);
    assert.ok(cache.state.regions.has('after'));
    t.diagnostic(`first write refused ${firstMs} ms after the kill; available() false after ${downMs} ms; six writes refused in ${refuseMs} ms; available ${upMs} ms after restart`);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('embedded store: the file', () => {
  test('state survives close and a new store on the same dir', async () => {
    const dir = tempDir();
    const a = new EmbeddedStore(dir, silentLogger);
    await a.start();
    await a.putRegion(region('lon-1'));
    await a.setDrain('eu-west', { since: T0, reason: 'r' });
    // Non-durable results (a node's own checks) reach the file on close.
    const [[key, state]] = (await a.applyProbes([update('eu-west', '198.51.100.10', 'node-a', { rise: 2, fall: 3 }, fail('x'))], T0, false)) as [[string, ProberState]];
    const [lat] = await a.recordLatency([{ client: 'GB', region: 'lon-1', rttMs: 3 }], T0);
    await a.close();
    const b = new EmbeddedStore(dir, silentLogger);
    const data = await b.start();
    await b.close();
    assert.deepEqual(data.regions.get('lon-1'), region('lon-1'));
    assert.deepEqual(data.drains.get('eu-west'), { since: T0, reason: 'r' });
    assert.deepEqual(data.probes.get(key), state);
    assert.deepEqual(data.latency.get('GB|lon-1'), lat);
  });

  test('written atomically: state.json, no temp file left; concurrent writes all land (group commit)', async () => {
    const dir = tempDir();
    const s = new EmbeddedStore(dir, silentLogger);
    await s.start();
    assert.equal(s.file, join(dir, 'state.json'));
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.putRegion(region(`r${i}`))));
    assert.deepEqual(readdirSync(dir).filter((f) => f !== 'gslb.lock'), ['state.json']);
    const file = JSON.parse(readFileSync(s.file, 'utf8')) as { format: number; regions: RegionRegistration[] };
    assert.equal(file.format, 1);
    assert.equal(file.regions.length, 50);
    await s.close();
    assert.ok(!existsSync(`${s.file}.tmp`));
  });

  test('a corrupt state file stops start() with a message naming it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'state.json'), '{"format": 1, "regions": [');
    await assert.rejects(new EmbeddedStore(dir, silentLogger).start(), /state\.json: .*move it away/);
  });

  test('a data dir under a regular file cannot start', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'plain-file'), 'x');
    await assert.rejects(new EmbeddedStore(join(dir, 'plain-file', 'data'), silentLogger).start(), /ENOTDIR|not a directory/);
  });

  test('a write that cannot reach the disk rejects with StoreUnavailableError; writable again -> available', async () => {
    const dir = join(tempDir(), 'data');
    const s = new EmbeddedStore(dir, silentLogger);
    await s.start();
    await s.putRegion(region('ok-1'));
    // As root, chmod does not stop writes: remove the directory so the temp-file write fails.
    rmSync(dir, { recursive: true, force: true });
    await assert.rejects(s.putRegion(region('lost-1')), (err: unknown) => err instanceof StoreUnavailableError && /cannot write .*state\.json/.test(err.message));
    assert.equal(s.available(), false);
    await assert.rejects(s.setDrain('ok-1', { since: T0 }), StoreUnavailableError);
    mkdirSync(dir);
    await s.putRegion(region('ok-2'));
    assert.equal(s.available(), true);
    assert.deepEqual(readdirSync(dir), ['state.json']);
    await s.close();
    const names = (await new EmbeddedStore(dir, silentLogger).start()).regions;
    assert.ok(names.has('ok-2') && names.has('ok-1'));
  });
});

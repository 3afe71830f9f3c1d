/**
 * No needless rebuilds (issue 10): a store resync that finds nothing new leaves the snapshot and its decision
 * cache alone, and a rebuild keeps the cached decisions its change cannot affect. Real server, real DNS over
 * UDP, real redis-server; what is observed is what an operator sees in /metrics and what clients are answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { EXAMPLE_ZONE, startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const Z = 'gslb.example.test';

/** One scrape of /metrics: a series' value by name and (a subset of) its labels; 0 when absent. */
async function metrics(api: string): Promise<(name: string, labels?: Record<string, string>) => number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  return (name, labels = {}) => {
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^([a-z_0-9]+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const have = m[2] ?? '';
      if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
    }
    return sum;
  };
}

/** Poll /metrics until `ok` holds for a scrape (a condition, not a deadline: the test's own timeout bounds it). */
async function until(api: string, ok: (m: Awaited<ReturnType<typeof metrics>>) => boolean): Promise<void> {
  for (;;) {
    if (ok(await metrics(api))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function post(api: string, path: string, body: unknown, method = 'POST'): Promise<void> {
  const res = await fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.text()}`);
}

const appQuery = (subnet: string, name = `app.${Z}`) => ({ name, type: RRType.A, edns: { options: [ecsOption(subnet, 24)] } });

describe('a Redis resync that finds nothing new', { timeout: 60_000 }, () => {
  let redis: RedisServer;
  let ts: TestServer;
  const ns = `rebuilds-${process.pid}`;
  /** One command on a connection of the test's own (not the node's: it must not hear of the write). */
  const redisCommand = async (run: (r: Redis) => Promise<unknown>) => {
    const r = new Redis(redis.url);
    try {
      await run(r);
    } finally {
      r.disconnect();
    }
  };
  before(async () => {
    redis = await startRedis();
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { args: ['--redis', redis.namespacedUrl(ns), '--probers', 'p1'], extras: { resyncMs: 100, coalesceMs: 20 } });
  });
  after(async () => {
    await ts?.stop();
    await redis?.stop();
  });

  test('rebuilds nothing and keeps every cached decision, over several resync periods', async () => {
    // Something of every kind in the shared state, so each comparison has data to compare.
    await post(ts.api, '/v1/regions/api-1', { location: { lat: 10, lon: 10 }, endpoints: [{ address: '192.0.2.99' }], services: [`app.${Z}`] }, 'PUT');
    await post(ts.api, '/v1/regions/v4only/drain', { reason: 'test' });
    await post(ts.api, '/v1/latency', { measurements: [{ client: '81.2.69.0/24', region: 'eu-west', rttMs: 12 }] });
    await post(ts.api, '/v1/probes', { prober: 'p1', results: [{ region: 'us-east', endpoint: '192.0.2.10', ok: true }] });
    // And a prober gone quiet a minute ago (stale states stay in the store until pruned), written behind the
    // node's back so that a resync finds it.
    const settled = await metrics(ts.api);
    const stale = { up: true, okStreak: 3, failStreak: 0, at: Date.now() - 60_000, since: Date.now() - 120_000, transitions: 0 };
    await redisCommand((r) => r.hset(`{${ns}}:probes`, 'eu-west|198.51.100.10|p1', JSON.stringify(stale)));
    await until(ts.api, (m) => m('gslb_store_resyncs_total', { result: 'changed' }) > settled('gslb_store_resyncs_total', { result: 'changed' }));
    // Two resyncs more: every write's rebuild (coalesced for 20 ms) is behind us.
    const found = (await metrics(ts.api))('gslb_store_resyncs_total');
    await until(ts.api, (m) => m('gslb_store_resyncs_total') >= found + 2);

    const first = await udpQuery(ts.udp, appQuery('81.2.69.0'));
    assert.equal(first.rcode, 0);
    const m0 = await metrics(ts.api);
    await until(ts.api, (m) => m('gslb_store_resyncs_total') >= m0('gslb_store_resyncs_total') + 3);
    const again = await udpQuery(ts.udp, appQuery('81.2.69.0'));
    const m1 = await metrics(ts.api);

    assert.deepEqual(again.answers, first.answers);
    const delta = (name: string, labels?: Record<string, string>) => m1(name, labels) - m0(name, labels);
    assert.ok(delta('gslb_store_resyncs_total') >= 3);
    assert.equal(delta('gslb_store_resyncs_total', { result: 'unchanged' }), delta('gslb_store_resyncs_total'), 'no resync found a change');
    assert.equal(m1('gslb_snapshot_version'), m0('gslb_snapshot_version'), 'the snapshot was not rebuilt');
    assert.equal(m1('gslb_snapshot_rebuild_duration_seconds_count', { kind: 'state' }), m0('gslb_snapshot_rebuild_duration_seconds_count', { kind: 'state' }));
    assert.equal(m1('gslb_decision_cache_entries'), m0('gslb_decision_cache_entries'));
    assert.ok(m0('gslb_decision_cache_entries') >= 1);
    assert.equal(m1('gslb_decision_cache_lookups_total', { result: 'hit' }) - m0('gslb_decision_cache_lookups_total', { result: 'hit' }), 1, 'the repeated query was a hit');
    assert.equal(m1('gslb_decision_cache_lookups_total', { result: 'miss' }), m0('gslb_decision_cache_lookups_total', { result: 'miss' }));
  });

  test('a resync that does find something (a write no notification told of) rebuilds', async () => {
    const m0 = await metrics(ts.api);
    // Written behind the nodes' backs: no pub/sub message, so only the resync can find it.
    await redisCommand((r) => r.hset(`{${ns}}:drains`, 'eu-west', JSON.stringify({ since: Date.now(), reason: 'behind its back' })));
    await until(ts.api, (m) => m('gslb_store_resyncs_total', { result: 'changed' }) > m0('gslb_store_resyncs_total', { result: 'changed' }));
    await until(ts.api, (m) => m('gslb_snapshot_version') > m0('gslb_snapshot_version'));
    const res = await fetch(`${ts.api}/v1/regions/eu-west`);
    assert.equal(((await res.json()) as { drained: boolean }).drained, true);
  });
});

describe('a rebuild keeps the cached decisions its change cannot affect', () => {
  const ZONE = `
${zoneHead(Z)}
regions:
  us-east: { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 192.0.2.10 }, { address: 192.0.2.11 } ] }
  eu-west: { location: { lat: 53.35, lon: -6.26 }, endpoints: [ { address: 198.51.100.10 } ] }
  sa: { location: { lat: -23.55, lon: -46.63 }, endpoints: [ { address: 203.0.113.10 } ] }
  ap: { location: { lat: 1.35, lon: 103.82 }, endpoints: [ { address: 203.0.113.20 } ] }
services:
  app: { policy: latency, regions: [us-east, eu-west] }
  other: { policy: latency, regions: [sa, ap] }
`;
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'z.yaml': ZONE }, { extras: { coalesceMs: 20 } });
  });
  after(async () => ts?.stop());

  /** Ask each question; say for each whether the cache answered it, and what the answer was. */
  async function ask(questions: [service: string, subnet: string][]): Promise<string[]> {
    const out: string[] = [];
    for (const [service, subnet] of questions) {
      const before = await metrics(ts.api);
      const msg = await udpQuery(ts.udp, appQuery(subnet, `${service}.${Z}`));
      const m = await metrics(ts.api);
      const hit = m('gslb_decision_cache_lookups_total', { result: 'hit' }) - before('gslb_decision_cache_lookups_total', { result: 'hit' });
      out.push(`${service} ${subnet} ${hit === 1 ? 'hit' : 'miss'} ${msg.answers.map((a) => (a.data as { address: string }).address).join(',')}`);
    }
    return out;
  }

  async function changed(write: () => Promise<void>): Promise<void> {
    const version = (await metrics(ts.api))('gslb_snapshot_version');
    await write();
    await until(ts.api, (m) => m('gslb_snapshot_version') > version);
  }

  const GB = '81.2.69.0';
  const US = '8.8.8.0';

  test('health of a region: only the services that use it lose their decisions', async () => {
    assert.deepEqual(await ask([['app', GB], ['app', US], ['other', GB]]), [
      `app ${GB} miss 198.51.100.10`,
      `app ${US} miss 192.0.2.10,192.0.2.11`,
      `other ${GB} miss 203.0.113.10`,
    ]);
    await changed(() => post(ts.api, '/v1/regions/sa/drain', { reason: 'test' }));
    assert.deepEqual(await ask([['app', GB], ['app', US], ['other', GB]]), [
      `app ${GB} hit 198.51.100.10`,
      `app ${US} hit 192.0.2.10,192.0.2.11`,
      `other ${GB} miss 203.0.113.20`,
    ]);
  });

  test('a latency measurement: only the decisions of clients it is about are made again', async () => {
    await changed(() => post(ts.api, '/v1/latency', { measurements: [{ client: `${US}/24`, region: 'eu-west', rttMs: 1 }] }));
    assert.deepEqual(await ask([['app', GB], ['app', US], ['other', US]]), [`app ${GB} hit 198.51.100.10`, `app ${US} miss 198.51.100.10`, `other ${US} miss 203.0.113.20`]);
    // By country: every client located in it, and only them.
    await changed(() => post(ts.api, '/v1/latency', { measurements: [{ client: 'GB', region: 'us-east', rttMs: 1 }] }));
    assert.deepEqual(await ask([['app', GB], ['app', US], ['other', US]]), [`app ${GB} miss 192.0.2.11,192.0.2.10`, `app ${US} hit 198.51.100.10`, `other ${US} hit 203.0.113.20`]);
  });
});

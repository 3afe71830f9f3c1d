/**
 * What the stores read back is validated, never cast: a corrupt entry in state.json or in Redis (written there
 * by hand, by an older or buggy version, by a disk or an operator) is reported once at warn with where it is
 * (the file or the Redis key, the entry, the field) and skipped, and the rest loads and is served by DNS.
 * A state.json that is not a state file at all is refused, naming the file (the node does not start on it).
 * Real files, a real redis-server, a real server answering real DNS queries.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { EmbeddedStore } from '../src/store/embedded.js';
import { RRType } from '../src/wire/constants.js';
import { udpQuery } from './helpers/dns-client.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const Z = 'c.example.test';
const ZONE = `
zone: ${Z}
ttl: 300
soa: { mname: ns1.${Z}, rname: hostmaster.${Z}, serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
ns: [ns1.${Z}]
records:
  ns1: { A: [192.0.2.53] }
regions:
  zr:
    location: { lat: 0, lon: 0 }
    endpoints: [ { address: 192.0.2.1 } ]
services:
  app:
    policy: failover
    regions: [zr]
    ttl: 30
    when-all-down: none
`;
const T = Date.now();

const good = { name: 'good', location: { lat: 1, lon: 1 }, endpoints: [{ address: '192.0.2.50' }], services: [`app.${Z}`], updatedAt: T };

/**
 * One good entry of each kind, and corrupt ones: the zone region `zr` is drained (validly), so the service
 * answers from the API region `good`, unless a corrupt entry gets through: a drain of `good` without a time,
 * a probe state without its fields, a latency without its numbers, a region whose payload or envelope is bad.
 */
const entries = {
  regions: {
    good: JSON.stringify(good),
    bad: JSON.stringify({ ...good, name: 'bad', location: { lat: 999, lon: 1 }, endpoints: [{ address: '192.0.2.51' }] }),
    nosvc: JSON.stringify({ name: 'nosvc', location: { lat: 1, lon: 1 }, endpoints: [{ address: '192.0.2.60' }], updatedAt: T }),
  },
  drains: { zr: JSON.stringify({ since: T, reason: 'maintenance' }), good: JSON.stringify({ since: 'yesterday' }) },
  probes: { 'good|192.0.2.50|p1': JSON.stringify({ up: false }) },
  latency: { '198.51.100.0/24|good': JSON.stringify({ client: '198.51.100.0/24', region: 'good', rttMs: 'fast' }) },
};

/** [where the entry is, entry, field] of every corrupt entry above, as the warn lines must name them. */
const CORRUPT: [kind: keyof typeof entries, entry: string, field: string][] = [
  ['regions', 'bad', 'location.lat'],
  ['regions', 'nosvc', 'services'],
  ['drains', 'good', 'since'],
  ['probes', 'good|192.0.2.50|p1', 'okStreak'],
  ['latency', '198.51.100.0/24|good', 'rttMs'],
];

interface Captured {
  log: Logger;
  lines: Record<string, unknown>[];
  warns(): Record<string, unknown>[];
}

function capture(): Captured {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines, warns: () => lines.filter((l) => l.level === 40) };
}

async function addresses(ts: TestServer): Promise<string[]> {
  const r = await udpQuery(ts.udp, { name: `app.${Z}`, type: RRType.A });
  return r.answers.map((a) => (a.data as { address: string }).address).sort();
}

async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What DNS and the API must show with the good entries loaded and the corrupt ones skipped. */
async function assertGoodServed(ts: TestServer): Promise<void> {
  assert.deepEqual(await addresses(ts), ['192.0.2.50'], 'the service answers from the good API region (zr drained, good not)');
  const view = await getJson(`${ts.api}/v1/regions/good`);
  assert.equal(view.status, 200, JSON.stringify(view.json));
  assert.equal(view.json.drained, false);
  const eps = view.json.endpoints as { address: string; probers: unknown[] }[];
  assert.deepEqual(eps.map((e) => [e.address, e.probers.length]), [['192.0.2.50', 0]], 'the corrupt probe state is not a prober');
  assert.equal((await getJson(`${ts.api}/v1/regions/bad`)).status, 404);
  assert.equal((await getJson(`${ts.api}/v1/regions/nosvc`)).status, 404);
  const latency = await getJson(`${ts.api}/v1/latency`);
  assert.equal(latency.status, 200, JSON.stringify(latency.json));
  assert.deepEqual(latency.json.measured, []);
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'gslb-corrupt-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('embedded store: a corrupt entry in state.json', () => {
  test('is reported once at warn with the file, the entry and the field, and skipped; the rest is served', async () => {
    const dataDir = mkdtempSync(join(work, 'embedded-'));
    const file = join(dataDir, 'state.json');
    const parsed = (o: Record<string, string>) => Object.values(o).map((v) => JSON.parse(v) as unknown);
    const pairs = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => [k, JSON.parse(v) as unknown]);
    writeFileSync(
      file,
      JSON.stringify({ format: 1, regions: parsed(entries.regions), drains: pairs(entries.drains), probes: pairs(entries.probes), latency: parsed(entries.latency) }),
    );
    const cap = capture();
    const ts = await startTestServer({ 'c.yaml': ZONE }, { dataDir, log: cap.log });
    try {
      await assertGoodServed(ts);
      const warns = cap.warns().filter((l) => l.file === file);
      const paths: Record<string, string> = { 'regions:bad': 'regions[1]', 'regions:nosvc': 'regions[2]', 'drains:good': 'drains[1]', 'probes:good|192.0.2.50|p1': 'probes[0]', 'latency:198.51.100.0/24|good': 'latency[0]' };
      for (const [kind, entry, field] of CORRUPT) {
        const at = paths[`${kind}:${entry}`];
        const seen = warns.filter((l) => l.entry === at);
        assert.equal(seen.length, 1, `one warn line for ${at} (${entry}); warn lines: ${JSON.stringify(cap.warns())}`);
        assert.equal(seen[0]!.field, field, JSON.stringify(seen[0]));
      }
      assert.equal(warns.length, CORRUPT.length, JSON.stringify(warns));
    } finally {
      await ts.stop();
    }
  });

  const refused: [string, string, RegExp][] = [
    ['not JSON at all', '{"format":1,"regions":[', /not JSON/],
    ['entries that are not a list', '{"format":1,"regions":{"good":{}}}', /regions: must be array/],
    ['another format', '{"format":2,"regions":[]}', /format/],
  ];
  for (const [what, text, why] of refused) {
    test(`a state file that is ${what} is refused, naming the file and why (no start on empty state)`, async () => {
      const dataDir = mkdtempSync(join(work, 'refused-'));
      writeFileSync(join(dataDir, 'state.json'), text);
      const store = new EmbeddedStore(dataDir, pino({ level: 'silent' }));
      await assert.rejects(store.start(), (err: Error) => {
        assert.ok(err.message.includes(join(dataDir, 'state.json')), err.message);
        assert.match(err.message, why);
        return true;
      });
      await store.close();
    });
  }
});

describe('redis store: a corrupt value in Redis', () => {
  let redis: RedisServer;
  let plain: Redis;
  before(async () => {
    redis = await startRedis();
    plain = new Redis(redis.port, '127.0.0.1');
  });
  after(async () => {
    plain?.disconnect();
    await redis?.stop();
  });

  test('is reported once at warn with the key, the entry and the field, and skipped, at start and at every resync', async () => {
    const ns = `corrupt${process.pid}`;
    const key = (k: string) => `{${ns}}:${k}`;
    for (const [k, fields] of Object.entries(entries)) await plain.hset(key(k), fields);
    // Not JSON at all: today one such value made every read of the store fail.
    await plain.hset(key('probes'), 'good|192.0.2.50|p2', 'not json{');
    const cap = capture();
    const ts = await startTestServer({ 'c.yaml': ZONE }, { log: cap.log, args: ['--redis', redis.namespacedUrl(ns), '--probers', 'p1,p2'] });
    try {
      await assertGoodServed(ts);
      const expected: [string, string, string][] = [...CORRUPT.map(([k, e, f]): [string, string, string] => [key(k), e, f]), [key('probes'), 'good|192.0.2.50|p2', '(value)']];
      const check = () => {
        for (const [k, entry, field] of expected) {
          const seen = cap.warns().filter((l) => l.key === k && l.entry === entry);
          assert.equal(seen.length, 1, `one warn line for ${k} ${entry}; warn lines: ${JSON.stringify(cap.warns())}`);
          assert.equal(seen[0]!.field, field, JSON.stringify(seen[0]));
        }
      };
      check();

      // A full re-read (another node re-seeded the store): a region written meanwhile appears, the corrupt entries
      // are not reported again.
      // (`later` serves no service: DNS answers stay the good region's.)
      await plain.hset(key('regions'), 'later', JSON.stringify({ ...good, name: 'later', endpoints: [{ address: '192.0.2.70' }], services: [] }));
      await plain.publish(key('changes'), JSON.stringify({ kind: 'reseeded', id: 'another-node.1' }));
      await until('the re-read region', async () => (await getJson(`${ts.api}/v1/regions/later`)).status === 200);
      check();
      await assertGoodServed(ts);

      // A corrupt change notification is reported with the channel and not applied; the next good one is.
      await plain.publish(key('changes'), JSON.stringify({ kind: 'drain', name: 'good', drain: { since: 'now' } }));
      await plain.publish(key('changes'), 'not json{');
      await plain.hset(key('drains'), 'later', JSON.stringify({ since: T }));
      await plain.publish(key('changes'), JSON.stringify({ kind: 'drain', name: 'later', drain: { since: T } }));
      await until('the good drain notification', async () => (await getJson(`${ts.api}/v1/regions/later`)).json.drained === true);
      assert.equal((await getJson(`${ts.api}/v1/regions/good`)).json.drained, false, 'a corrupt drain notification was applied');
      const notes = cap.warns().filter((l) => l.key === key('changes'));
      assert.deepEqual(notes.map((l) => l.field), ['drain.since', '(value)'], JSON.stringify(notes));
      assert.deepEqual(await addresses(ts), ['192.0.2.50']);
    } finally {
      await ts.stop();
    }
  });

  test('a probe report or a latency measurement over a corrupt stored value replaces it (no 503 forever)', async () => {
    const ns = `overwrite${process.pid}`;
    const key = (k: string) => `{${ns}}:${k}`;
    await plain.hset(key('regions'), 'good', entries.regions.good);
    await plain.hset(key('probes'), 'good|192.0.2.50|p1', 'not json{', 'good|192.0.2.50|p2', JSON.stringify({ up: 'no', okStreak: 'x' }));
    await plain.hset(key('latency'), '198.51.100.0/24|good', entries.latency['198.51.100.0/24|good']);
    const cap = capture();
    const ts = await startTestServer({ 'c.yaml': ZONE }, { log: cap.log, args: ['--redis', redis.namespacedUrl(ns), '--probers', 'p1,p2'] });
    try {
      for (const prober of ['p1', 'p2']) {
        const r = await post(`${ts.api}/v1/probes`, { prober, results: [{ region: 'good', endpoint: '192.0.2.50', ok: false }] });
        assert.equal(r.status, 200, `${prober}: ${JSON.stringify(r.json)}`);
        const stored = JSON.parse((await plain.hget(key('probes'), `good|192.0.2.50|${prober}`))!) as Record<string, unknown>;
        assert.deepEqual([stored.up, stored.okStreak, stored.failStreak, stored.transitions], [false, 0, 1, 0], `${prober}: a fresh state`);
      }
      const l = await post(`${ts.api}/v1/latency`, { measurements: [{ client: '198.51.100.0/24', region: 'good', rttMs: 20 }] });
      assert.equal(l.status, 200, JSON.stringify(l.json));
      assert.deepEqual(l.json.values, [{ client: '198.51.100.0/24', region: 'good', rttMs: 20, samples: 1 }]);
    } finally {
      await ts.stop();
    }
  });
});

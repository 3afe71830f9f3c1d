/**
 * Redis Cluster for real: three masters with one replica each on loopback, two gslb nodes on a
 * `redis-cluster://` URL with `--redis-min-replicas 1`. Registrations, drains, undrains, probe reports and
 * deletes made on one node reach the other node's DNS through pub/sub; and still do after a master failover
 * (`CLUSTER FAILOVER` on the replica of the master holding the gslb slot), after the slot is migrated to
 * another master, and after that master is SIGKILLed (its replica promoted by the cluster itself).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { SERVE_OPTIONS } from '../src/config.js';
import { RRType } from '../src/wire/constants.js';
import { decodeMessage } from '../src/wire/decode.js';
import { buildQuery, ecsOption, udpRaw } from './helpers/dns-client.js';
import { apiRegions, call, cli, dnsLoad, HA_SKIP, startClusterSetup, waitUntil, type ClusterSetup } from './helpers/redis-ha.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

const APP = 'app.gslb.example.test';
const LONDON = ecsOption('81.2.69.0', 24);
const EU_WEST = '198.51.100.10';
/** Each round registers its own address, so a round never sees what an earlier one left behind. */
let round = 70;
const PROBERS = ['probe-ha-1', 'probe-ha-2'];
/** Under the 10 s periodic resync: a change seen this fast came through the notification. */
const PROPAGATION_MS = 5000;

const ns = `hc${process.pid}`;
let cluster: ClusterSetup;
let slot: number;
let a: TestServer;
let b: TestServer;

async function setUp(): Promise<void> {
  cluster = await startClusterSetup();
  slot = await cluster.keyslot(`{${ns}}`);
  const args = ['--redis', cluster.url(ns), '--redis-min-replicas', '1'];
  // Where the build knows probers (configured or registered), name ours; elsewhere every prober counts.
  if ('probers' in SERVE_OPTIONS) args.push('--probers', PROBERS.join(','));
  a = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { nodeId: 'node-a', args });
  b = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { nodeId: 'node-b', args });
}
async function tearDown(): Promise<void> {
  await Promise.all([a, b].map((n) => n?.stop().catch(() => undefined)));
  await cluster?.stop();
}

async function londonAnswer(n: TestServer): Promise<string[]> {
  const raw = await udpRaw(n.udp, buildQuery({ name: APP, type: RRType.A, edns: { options: [LONDON] } }), 3000);
  if (!raw) return ['(no reply)'];
  const msg = decodeMessage(raw);
  return msg.answers.filter((x) => x.type === RRType.A).map((x) => (x.data as { address: string }).address).sort();
}

/** Wait until `n` answers London clients with `expected`; resolves with how long it took. */
async function answersWith(n: TestServer, expected: string, what: string): Promise<number> {
  const start = Date.now();
  await waitUntil(`${what}: ${n.api} answers London with ${expected}`, async () => ((await londonAnswer(n)).includes(expected) ? true : undefined), PROPAGATION_MS, 10);
  return Date.now() - start;
}

async function ok(r: Promise<{ status: number; json: Record<string, unknown> }>, what: string): Promise<void> {
  const res = await r;
  assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${JSON.stringify(res.json)}`);
}

/** Subscribers to the change channel across every live cluster node (PUBSUB NUMSUB is per node). */
async function subscribers(): Promise<number> {
  let total = 0;
  for (const [port, p] of cluster.servers) {
    if (!p.alive()) continue;
    const out = (await cli(port, ['PUBSUB', 'NUMSUB', `{${ns}}:changes`])).split('\n');
    total += Number(out[1] ?? 0);
  }
  return total;
}

/**
 * One of every kind of change, each made on one node and checked on the other's DNS: register (A -> B),
 * drain (B -> A), undrain (A -> B), probe reports saying down (B -> A), delete (A -> B).
 */
/**
 * With --redis-min-replicas 1 a write is acknowledged only once the gslb slot's master has a replica in sync:
 * after a node is revived, wait for that before asking for more writes (else they 503, correctly).
 */
async function slotReplicaOnline(): Promise<void> {
  await waitUntil(
    'the gslb slot master has a replica in sync',
    async () => ((await cli((await cluster.ownersOf(slot)).master, ['INFO', 'replication'])).includes('state=online') ? true : undefined),
    30_000,
    100,
  );
}

async function everyChangeReachesTheOtherNode(t: TestContext, label: string): Promise<void> {
  const name = `london-${label}`;
  const LONDON_REGION = `198.51.100.${++round}`;
  const times: Record<string, number> = {};
  await waitUntil('both nodes subscribed', async () => ((await subscribers()) === 2 ? true : undefined), 10_000, 100);

  await ok(call(a.api, 'PUT', `/v1/regions/${name}`, { location: { lat: 51.5, lon: -0.12 }, endpoints: [{ address: LONDON_REGION }], services: [APP] }), 'PUT on A');
  times.register = await answersWith(b, LONDON_REGION, 'registered on A');

  await ok(call(b.api, 'POST', `/v1/regions/${name}/drain`, { reason: label }), 'drain on B');
  times.drain = await answersWith(a, EU_WEST, 'drained on B');

  await ok(call(a.api, 'POST', `/v1/regions/${name}/undrain`, {}), 'undrain on A');
  times.undrain = await answersWith(b, LONDON_REGION, 'undrained on A');

  for (let i = 0; i < 3; i++)
    for (const prober of PROBERS)
      await ok(call(b.api, 'POST', '/v1/probes', { prober, results: [{ region: name, endpoint: LONDON_REGION, ok: false, error: 'HTTP 503' }] }), `probe report from ${prober} on B`);
  times.probesDown = await answersWith(a, EU_WEST, 'probed down on B');

  await ok(call(a.api, 'DELETE', `/v1/regions/${name}`), 'DELETE on A');
  const start = Date.now();
  await waitUntil(`${b.api} forgets ${name}`, async () => (!(await apiRegions(b.api)).has(name) ? true : undefined), PROPAGATION_MS, 10);
  times.delete = Date.now() - start;
  assert.deepEqual(await londonAnswer(b), [EU_WEST]);
  t.diagnostic(`${label}: propagation to the other node's DNS (ms): ${JSON.stringify(times)}`);
}

/** The registrations hash as the master serving the gslb slot holds it (read with a plain cluster client). */
async function storedRegions(): Promise<Set<string>> {
  const { master } = await cluster.ownersOf(slot);
  const r = new Redis({ host: '127.0.0.1', port: master, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    return new Set(Object.keys(await r.hgetall(`{${ns}}:regions`)));
  } finally {
    r.disconnect();
  }
}

/** Until `stop`: PUT new regions through `api` one at a time; returns the names answered 2xx and the refusals. */
function writeLoad(api: string, prefix: string, stop: Promise<void>): Promise<{ accepted: string[]; refused: number[]; refusedAt: number[]; lastError: string; slowestMs: number }> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  return (async () => {
    const out = { accepted: [] as string[], refused: [] as number[], refusedAt: [] as number[], lastError: '', slowestMs: 0 };
    for (let i = 0; !stopped && i < 100_000; i++) {
      const name = `${prefix}-${i}`;
      const sent = Date.now();
      const r = await call(api, 'PUT', `/v1/regions/${name}`, { location: { lat: -33.8, lon: 151.2 }, endpoints: [{ address: '203.0.113.9' }], services: [APP] });
      out.slowestMs = Math.max(out.slowestMs, Date.now() - sent);
      if (r.status === 200 || r.status === 201) out.accepted.push(name);
      else {
        out.refused.push(r.status);
        out.refusedAt.push(Date.now());
        out.lastError = String(r.json.error);
        await new Promise((res) => setTimeout(res, 20));
      }
    }
    return out;
  })();
}

/** Runs `fault` while both nodes write; then every acknowledged write must be in Redis and on both nodes. */
async function underWriteLoad(t: TestContext, label: string, fault: () => Promise<void>): Promise<void> {
  let stopLoad!: () => void;
  const stop = new Promise<void>((r) => (stopLoad = r));
  const loads = [writeLoad(a.api, `${label}-a`, stop), writeLoad(b.api, `${label}-b`, stop)];
  const dns = [dnsLoad(a.udp, APP, LONDON, stop), dnsLoad(b.udp, APP, LONDON, stop)];
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  await fault();
  const faultMs = Date.now() - started;
  // Let writes resume on the new owner before stopping.
  let lastRefusal = '';
  await waitUntil(
    `writes accepted again after ${label}`,
    async () => {
      const r = await call(a.api, 'PUT', `/v1/regions/${label}-check`, { location: { lat: -33.8, lon: 151.2 }, endpoints: [{ address: '203.0.113.9' }], services: [APP] });
      lastRefusal = JSON.stringify(r.json);
      return r.status === 201 || r.status === 200 ? true : undefined;
    },
    30_000,
    100,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last answer ${lastRefusal}`);
  });
  stopLoad();
  const results = await Promise.all(loads);
  const dnsResults = await Promise.all(dns);
  const accepted = results.flatMap((r) => r.accepted);
  const refused = results.flatMap((r) => r.refused);
  const refusedAt = results.flatMap((r) => r.refusedAt);
  const window = refusedAt.length ? `refused from +${Math.min(...refusedAt) - started} to +${Math.max(...refusedAt) - started} ms` : 'none refused';
  t.diagnostic(`${label}: ${window}; slowest API answer ${Math.max(...results.map((r) => r.slowestMs))} ms; dns ${dnsResults.reduce((n, d) => n + d.ok, 0)} answered, ${dnsResults.reduce((n, d) => n + d.failed.length, 0)} failed`);
  assert.deepEqual(dnsResults.flatMap((d) => d.failed), [], `no DNS query fails during ${label}`);
  t.diagnostic(`${label}: fault took ${faultMs} ms; writes ${accepted.length} accepted, ${refused.length} refused (${[...new Set(refused)].join(',')}; last: ${results.map((r) => r.lastError).join(' | ')})`);
  assert.ok(refused.every((s) => s === 503), `refusals are 503s: ${[...new Set(refused)].join(',')}`);
  const held = await storedRegions();
  assert.deepEqual(accepted.filter((n) => !held.has(n)), [], `no acknowledged write lost in ${label}`);
  for (const n of [a, b])
    await waitUntil(`${n.api} lists every acknowledged write after ${label}`, async () => {
      const known = await apiRegions(n.api);
      return accepted.every((w) => known.has(w)) ? true : undefined;
    }, 15_000, 100);
  for (const name of [...accepted, `${label}-check`]) await ok(call(a.api, 'DELETE', `/v1/regions/${name}`), `clean up ${name}`);
}

describe('Redis Cluster: three masters, a replica each, two gslb nodes', { skip: HA_SKIP }, () => {
  before(setUp);
  after(tearDown);
  test('writes, drains, probe reports and deletes reach the other node', async (t) => {
    await everyChangeReachesTheOtherNode(t, 'steady');
  });

  test('--redis-min-replicas 1: WAIT asks the master of the gslb slot, so its stalled replica turns a write into 503', async () => {
    const { replicas } = await cluster.ownersOf(slot);
    const replica = cluster.servers.get(replicas[0]!)!;
    const body = { location: { lat: -33.8, lon: 151.2 }, endpoints: [{ address: '203.0.113.9' }], services: [APP] };
    // Stalled for about the 1 s WAIT only: well under cluster-node-timeout, so the cluster itself does not react.
    replica.pause();
    let refused;
    try {
      refused = await call(a.api, 'PUT', '/v1/regions/stalled-replica', body);
    } finally {
      replica.resume();
    }
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    assert.match(String(refused.json.error), /0 of 1 replicas confirmed the write .*safe to retry/);
    await waitUntil('the retry is acknowledged once the replica is back', async () => {
      const r = await call(a.api, 'PUT', '/v1/regions/stalled-replica', body);
      return r.status === 200 || r.status === 201 ? true : undefined;
    }, 10_000, 100);
    await ok(call(a.api, 'DELETE', '/v1/regions/stalled-replica'), 'clean up');
  });

  test('a change published while the subscriber connection drops is picked up at once, not by the 10 s safety net', async (t) => {
    // ioredis' Cluster client moves its subscriber to another node silently when the connection drops (here:
    // CLIENT KILL TYPE pubsub, as Redis does to a subscriber over its output-buffer limit): whatever B wrote
    // in between never reached A until the next periodic resync.
    await waitUntil('both nodes subscribed', async () => ((await subscribers()) === 2 ? true : undefined), 10_000, 100);
    let stopLoad!: () => void;
    const stop = new Promise<void>((r) => (stopLoad = r));
    const load = writeLoad(b.api, 'gap', stop);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) {
      for (const [port, p] of cluster.servers) if (p.alive()) await cli(port, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await new Promise((r) => setTimeout(r, 300));
    }
    stopLoad();
    const { accepted } = await load;
    const sentAt = Date.now();
    let missing: string[] = [];
    await waitUntil(
      'A knows every region B wrote',
      async () => {
        const known = await apiRegions(a.api);
        missing = accepted.filter((n) => !known.has(n));
        return missing.length === 0 ? true : undefined;
      },
      3000,
      50,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: A still misses ${missing.length} of ${accepted.length} (${missing.slice(0, 5).join(', ')})`);
    });
    t.diagnostic(`subscriber dropped 3 times during ${accepted.length} writes on B: A had all of them ${Date.now() - sentAt} ms after the last`);
    for (const name of accepted) await ok(call(b.api, 'DELETE', `/v1/regions/${name}`), `clean up ${name}`);
  });

  test("the node holding the subscribers is SIGKILLed: they move to another node, changes keep flowing", async (t) => {
    let host: number | undefined;
    for (const [port, p] of cluster.servers)
      if (p.alive() && (await cli(port, ['CLIENT', 'LIST', 'TYPE', 'pubsub'])).trim() !== '') host = port;
    assert.ok(host !== undefined, 'some node holds a subscriber');
    const killedAt = Date.now();
    await cluster.servers.get(host)!.kill();
    await waitUntil('both nodes subscribed again on live nodes', async () => ((await subscribers()) === 2 ? true : undefined), 20_000, 50);
    t.diagnostic(`subscribers back on other nodes ${Date.now() - killedAt} ms after SIGKILL of ${host}`);
    await cluster.revive(host);
    await slotReplicaOnline();
    await everyChangeReachesTheOtherNode(t, 'after-subscriber-node-kill');
  });

  test('across CLUSTER FAILOVER of the master holding the gslb slot', async (t) => {
    const before = await cluster.ownersOf(slot);
    const replica = before.replicas[0];
    assert.ok(replica !== undefined, 'the slot master has a replica');
    await underWriteLoad(t, 'failover', () => cluster.failover(replica));
    assert.equal((await cluster.ownersOf(slot)).master, replica, 'the replica now serves the slot');
    await everyChangeReachesTheOtherNode(t, 'after-failover');
  });

  test('across a migration of the gslb slot to another master', async (t) => {
    const from = (await cluster.ownersOf(slot)).master;
    const to = (await cluster.masters()).find((p) => p !== from)!;
    await underWriteLoad(t, 'migration', () => cluster.migrateSlot(slot, to));
    assert.equal((await cluster.ownersOf(slot)).master, to, 'the other master now serves the slot');
    await everyChangeReachesTheOtherNode(t, 'after-migration');
  });

  test('across SIGKILL of the master holding the gslb slot (the cluster promotes its replica)', async (t) => {
    const owners = await cluster.ownersOf(slot);
    const replica = owners.replicas[0];
    assert.ok(replica !== undefined, 'the slot master has a replica');
    await underWriteLoad(t, 'sigkill', async () => {
      const killedAt = Date.now();
      await cluster.servers.get(owners.master)!.kill();
      await waitUntil('the replica is promoted', async () => ((await cluster.ownersOf(slot)).master === replica ? true : undefined), 30_000, 50);
      t.diagnostic(`sigkill: replica promoted ${Date.now() - killedAt} ms after the kill`);
      // With --redis-min-replicas 1 the promoted master needs a replica again before writes are acknowledged:
      // the killed node comes back and rejoins as its replica.
      await cluster.revive(owners.master);
    });
    await slotReplicaOnline();
    await everyChangeReachesTheOtherNode(t, 'after-sigkill');
  });
});

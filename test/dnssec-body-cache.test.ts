/**
 * The signer's body cache (answer/signed.ts): a warm signed answer is the kept body, found without a signature
 * lookup; repeated DO=1 queries get the very bytes of the first (apart from the ID), which validate; a drain
 * changes the steered answer (and the new one validates); two clients whose decisions share one body (the same
 * CNAME target) get their own ECS scope; a rollover moving on by time gives the new signer's RRSIGs at once,
 * though the old ones were kept a moment before. Real UDP packets against a running server, as
 * dnssec-serve.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EDNS_DO, RRType } from '../src/wire/constants.js';
import type { DecodedMessage, DecodedRecord } from '../src/wire/decode.js';
import type { OpaqueData } from '../src/wire/records.js';
import { verifyRRset } from '../src/dnssec/rrsig.js';
import { keyTag } from '../src/dnssec/dnskey.js';
import { SigningKey } from '../src/dnssec/algorithms.js';
import { Responder } from '../src/answer/responder.js';
import { BODY_MAX_AGE_MS, Signer } from '../src/answer/signed.js';
import { Locator, openDatabase } from '../src/geo/locator.js';
import { loadZoneSources } from '../src/model/loader.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { ParsedQuery } from '../src/wire/query.js';
import { buildQuery, ecsOption, tcpQuery, udpRaw, udpQuery } from './helpers/dns-client.js';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const Z = 'bodies.example.test';
// TTL 1 s: a rollover's publish phase lasts the DNSKEY TTL + the propagation (2 s here).
const ZONE = `
${zoneHead(Z).replace('ttl: 300', 'ttl: 1\ndnssec: { algorithm: ECDSAP256SHA256 }')}
  www: { A: [192.0.2.80] }
  alias: { CNAME: app }
regions:
  east: { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 192.0.2.10 }, { address: 192.0.2.11 } ] }
  west: { location: { lat: 37.77, lon: -122.42 }, endpoints: [ { address: 198.51.100.10 } ] }
  cdn:  { location: { lat: 1, lon: 1 }, endpoints: [ { address: edge.cdn.example.net } ] }
services:
  app: { policy: latency, regions: [east, west], ttl: 30, answers: 2 }
  edge: { policy: geo, regions: [cdn], ttl: 30 }
  legacy: { policy: failover, regions: [east, west], ttl: 20 }
`;
/** Ashburn (8.8.8.0/24 in the geo fixture, near east) and San Francisco (64.0.0.0/16, near west). */
const ASHBURN = '8.8.8.0';
const SAN_FRANCISCO = '64.0.5.0';

let ts: TestServer;

before(async () => {
  ts = await startTestServer({ 'zone.yaml': ZONE }, { extras: { dnssecKeyPollMs: 500 } });
});

after(async () => {
  await ts?.stop();
});

const packet = (name: string, type: number, id: number, ecs?: string) =>
  buildQuery({ name, type, id, edns: { flags: EDNS_DO, udpSize: 4096, ...(ecs ? { options: [ecsOption(ecs, 24)] } : {}) } });
const ask = (name: string, type: number, ecs?: string) => udpQuery(ts.udp, packet(name, type, 1, ecs));
const addresses = (m: DecodedMessage) => m.answers.filter((a) => a.type === RRType.A).map((a) => (a.data as { address: string }).address);
const scopeOf = (m: DecodedMessage) => m.edns?.options.find((o) => o.code === 8)?.data[3];
const rrsigTags = (records: DecodedRecord[]) => records.filter((r) => r.type === RRType.RRSIG).map((r) => (r.data as OpaqueData).raw.readUInt16BE(16));

async function dnskeys(): Promise<Buffer[]> {
  const r = await tcpQuery(ts.tcp, { name: Z, type: RRType.DNSKEY, edns: { flags: EDNS_DO } });
  return r.answers.filter((a) => a.type === RRType.DNSKEY).map((a) => (a.data as OpaqueData).raw);
}

/** Every RRset of `records` (but RRSIGs) has RRSIGs, each verifying with the published DNSKEY of its key tag. */
function assertSigned(records: DecodedRecord[], keys: Buffer[], where: string): void {
  const now = Date.now() / 1000;
  const sets = new Map<string, DecodedRecord[]>();
  for (const r of records) if (r.type !== RRType.RRSIG) sets.set(`${r.name}|${r.type}`, [...(sets.get(`${r.name}|${r.type}`) ?? []), r]);
  assert.ok(sets.size > 0, `${where}: records`);
  for (const [k, set] of sets) {
    const [owner, type] = [set[0]!.name, set[0]!.type];
    const sigs = records.filter((r) => r.type === RRType.RRSIG && r.name === owner && (r.data as OpaqueData).raw.readUInt16BE(0) === type);
    assert.ok(sigs.length > 0, `${where}: an RRSIG for ${k}`);
    for (const sig of sigs) {
      const raw = (sig.data as OpaqueData).raw;
      const key = keys.find((dnskey) => keyTag(dnskey) === raw.readUInt16BE(16));
      assert.ok(key, `${where}: the RRSIG of ${k} names a published key`);
      assert.ok(verifyRRset({ owner, type, ttl: set[0]!.ttl, records: set.map((r) => r.data) }, raw, key, now), `${where}: the RRSIG of ${k} verifies`);
    }
  }
}

describe('signed answers from the body cache', () => {
  test('in-process: a warm signed answer is the kept body, found without a signature lookup', () => {
    const zs = loadZoneSources([{ file: 'zone.yaml', text: ZONE }]).zoneSet!;
    const key = SigningKey.generate('ECDSAP256SHA256');
    const locator = new Locator([openDatabase(join(ts.dir, 'fixture.mmdb'))]);
    const snap = buildSnapshot(zs, { version: 1, nodeId: 'n', keys: () => ({ keys: [key] }), state: { locator } });
    const signer = new Signer();
    const responder = new Responder(() => snap, Math.random, undefined, signer);
    const stats = signer.cacheFor(zs.zones[0]!.dnssec!.validitySeconds).stats;
    const q = new ParsedQuery();
    const peer = { address: '127.0.0.1', family: 4 as const };
    for (const [name, ecs] of [[`www.${Z}`], [`app.${Z}`, ASHBURN], [`alias.${Z}`, SAN_FRANCISCO], [`edge.${Z}`, ASHBURN], [`nope.${Z}`]] as const) {
      const p = packet(name, RRType.A, 7, ecs);
      const first = responder.respond(q, q.parse(p), p, peer, 'udp')!;
      // The second query makes the decision cache hit (the first filled it), the third finds that body kept.
      responder.respond(q, q.parse(p), p, peer, 'udp');
      const lookups = stats.hits + stats.misses + stats.refreshes;
      const third = responder.respond(q, q.parse(p), p, peer, 'udp')!;
      assert.equal(stats.hits + stats.misses + stats.refreshes, lookups, `${name}: no signature looked up for a kept body`);
      assert.deepEqual(third, first, name);
    }
  });

  test('in-process: a kept body is made again after BODY_MAX_AGE_MS, so refreshed signatures reach it', () => {
    const zs = loadZoneSources([{ file: 'zone.yaml', text: ZONE }]).zoneSet!;
    const key = SigningKey.generate('ECDSAP256SHA256');
    const snap = buildSnapshot(zs, { version: 1, nodeId: 'n', keys: () => ({ keys: [key] }) });
    let now = Date.now();
    const signer = new Signer(undefined, () => now);
    const responder = new Responder(() => snap, Math.random, undefined, signer);
    const stats = signer.cacheFor(zs.zones[0]!.dnssec!.validitySeconds).stats;
    const q = new ParsedQuery();
    const p = packet(`www.${Z}`, RRType.A, 7);
    const lookups = () => stats.hits + stats.misses + stats.refreshes;
    const ask = () => responder.respond(q, q.parse(p), p, { address: '127.0.0.1', family: 4 }, 'udp')!;
    const first = ask();
    const made = lookups();
    now += BODY_MAX_AGE_MS - 1;
    assert.deepEqual(ask(), first);
    assert.equal(lookups(), made, 'still kept');
    now += 1;
    assert.deepEqual(ask(), first, 'the same signature, from the signature cache');
    assert.equal(lookups(), made + 1, 'made again: its signature looked up');
    now -= 10_000;
    ask();
    assert.equal(lookups(), made + 2, 'a clock set back makes it again too');
  });

  test('repeated DO=1 queries get the same bytes as the first (apart from the ID), and they validate', async () => {
    const keys = await dnskeys();
    for (const [name, type, ecs] of [
      [`www.${Z}`, RRType.A],
      [`app.${Z}`, RRType.A, ASHBURN],
      [`app.${Z}`, RRType.A, SAN_FRANCISCO],
      [`alias.${Z}`, RRType.A, ASHBURN],
      [`app.${Z}`, RRType.AAAA, ASHBURN],
      [`edge.${Z}`, RRType.A, SAN_FRANCISCO],
      [`nope.${Z}`, RRType.A],
      [`www.${Z}`, RRType.TXT],
      [Z, RRType.DNSKEY],
    ] as const) {
      const where = `${name} ${type}${ecs ? ` ECS ${ecs}` : ''}`;
      const replies: Buffer[] = [];
      for (let id = 1; id <= 4; id++) {
        const reply = await udpRaw(ts.udp, packet(name, type, id, ecs));
        assert.ok(reply, `${where}: answered`);
        assert.equal(reply.readUInt16BE(0), id);
        replies.push(reply);
      }
      for (const reply of replies.slice(1)) assert.equal(reply.subarray(2).toString('hex'), replies[0]!.subarray(2).toString('hex'), where);
      const m = await ask(name, type, ecs);
      assertSigned([...m.answers, ...m.authority], keys, where);
    }
  });

  test("a failover service's per-query rotation of its records goes on, each order signed", async () => {
    const keys = await dnskeys();
    const orders = new Set<string>();
    for (let i = 0; i < 40 && orders.size < 2; i++) {
      const m = await ask(`legacy.${Z}`, RRType.A);
      assert.deepEqual(addresses(m).sort(), ['192.0.2.10', '192.0.2.11']);
      assertSigned(m.answers, keys, `legacy, query ${i}`);
      orders.add(addresses(m).join(' '));
    }
    assert.equal(orders.size, 2, 'both orders are answered');
  });

  test('after the chosen region is drained the signed answer moves, and validates; undrained it moves back', async () => {
    const keys = await dnskeys();
    const before = await ask(`app.${Z}`, RRType.A, ASHBURN);
    assert.deepEqual(addresses(before).sort(), ['192.0.2.10', '192.0.2.11']);
    const legacyBefore = addresses(await ask(`legacy.${Z}`, RRType.A));
    assert.ok(legacyBefore.length > 0 && legacyBefore.every((a) => a.startsWith('192.0.2.')), 'legacy answers from east');
    const moved = async (want: (m: DecodedMessage) => boolean, what: string) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const m = await ask(`app.${Z}`, RRType.A, ASHBURN);
        if (want(m)) return m;
        assert.ok(Date.now() < deadline, what);
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    const drained = await fetch(`${ts.api}/v1/regions/east/drain`, { method: 'POST' });
    assert.ok(drained.status < 300, await drained.text());
    try {
      const after = await moved((m) => addresses(m).includes('198.51.100.10'), 'the answer moves to west');
      assert.deepEqual(addresses(after), ['198.51.100.10']);
      assertSigned(after.answers, keys, 'drained: app');
      // The failover service (a decision per query) moves too.
      const legacy = await ask(`legacy.${Z}`, RRType.A);
      assert.deepEqual(addresses(legacy), ['198.51.100.10']);
      assertSigned(legacy.answers, keys, 'drained: legacy');
      const alias = await ask(`alias.${Z}`, RRType.A, ASHBURN);
      assert.deepEqual(addresses(alias), ['198.51.100.10']);
      assertSigned(alias.answers, keys, 'drained: alias');
    } finally {
      await fetch(`${ts.api}/v1/regions/east/undrain`, { method: 'POST' });
    }
    const back = await moved((m) => addresses(m).includes('192.0.2.10'), 'the answer moves back to east');
    assert.deepEqual(back.answers, before.answers, 'the same signed answer as before the drain');
  });

  test('two clients whose decisions share one body (the same CNAME target) each get their own ECS scope', async () => {
    // San Francisco is located by a /16, Ashburn by a /24: the same CNAME to the one hostname, scopes 16 and 24.
    // The body kept for the first client (asked twice: the second answer is the decision cache's) must not
    // bring its decision's scope to the second.
    for (const [first, second, scopes] of [
      [SAN_FRANCISCO, ASHBURN, [16, 24]],
      [ASHBURN, SAN_FRANCISCO, [24, 16]],
    ] as const) {
      const name = `edge.${Z}`;
      const a1 = await ask(name, RRType.A, first);
      const a2 = await ask(name, RRType.A, first);
      const b = await ask(name, RRType.A, second);
      assert.deepEqual([scopeOf(a1), scopeOf(a2)], [scopes[0], scopes[0]], `${first}: its own scope`);
      assert.equal(scopeOf(b), scopes[1], `${second} after ${first}: its own scope`);
      assert.deepEqual(b.answers, a2.answers, 'one body: the same signed CNAME');
      // Each kept body now: the first client again gets its own scope.
      assert.equal(scopeOf(await ask(name, RRType.A, first)), scopes[0]);
    }
  });

  test("a rollover's phase change gives the new signer's RRSIGs, though the old ones were kept a moment before", async () => {
    const info = async () => (await (await fetch(`${ts.api}/v1/zones/${Z}/dnssec`)).json()) as { phase: string; keyTag: number };
    const oldTag = (await info()).keyTag;
    const started = await fetch(`${ts.api}/v1/zones/${Z}/dnssec/rollover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"propagation":"2s","parentWait":"1h"}',
    });
    assert.equal(started.status, 202, await started.text());
    // The snapshot gets the new key (published, not signing) when the keeper reads the rollover back.
    const deadline = Date.now() + 15_000;
    while ((await dnskeys()).length < 2) {
      assert.ok(Date.now() < deadline, 'the new key is published');
      await new Promise((res) => setTimeout(res, 50));
    }
    const questions = [
      [`www.${Z}`, RRType.A],
      [`app.${Z}`, RRType.A, ASHBURN],
      [`nope.${Z}`, RRType.A],
    ] as const;
    // In the publish phase (3 s): the old key signs, and these bodies are kept (asked twice).
    assert.equal((await info()).phase, 'publish');
    for (const [name, type, ecs] of questions) {
      for (let i = 0; i < 2; i++) {
        const m = await ask(name, type, ecs);
        assert.deepEqual([...new Set(rrsigTags([...m.answers, ...m.authority]))], [oldTag], `${name}: the old key signs while the new one is published`);
      }
    }
    while ((await info()).phase !== 'parent') {
      assert.ok(Date.now() < deadline, 'the rollover reaches the parent phase');
      await new Promise((res) => setTimeout(res, 50));
    }
    const now = await info();
    assert.notEqual(now.keyTag, oldTag);
    const keys = await dnskeys();
    for (const [name, type, ecs] of questions) {
      const m = await ask(name, type, ecs);
      const records = [...m.answers, ...m.authority];
      assert.deepEqual([...new Set(rrsigTags(records))], [now.keyTag], `${name}: signed by the new key alone`);
      assertSigned(records, keys, `${name} in the parent phase`);
    }
  });
});

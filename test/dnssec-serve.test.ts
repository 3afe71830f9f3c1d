/**
 * A signed zone served end to end (real UDP/TCP packets, real HTTP): DO=0 answers are byte-identical to an
 * unsigned zone's; DO=1 answers carry RRSIGs that verify with the published DNSKEY, compact denial (RFC 9824),
 * DNSKEY/CDS/CDNSKEY at the apex and a referral's proof of no DS; the key is kept in the data directory (0600)
 * and survives a restart; `GET /v1/zones/:zone/dnssec` and `gslb dnssec ds` show the public parts only.
 * The validating-resolver test is dnssec-unbound.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDNS_DO, RRType } from '../src/wire/constants.js';
import type { DecodedMessage, DecodedRecord } from '../src/wire/decode.js';
import type { OpaqueData } from '../src/wire/records.js';
import { verifyRRset } from '../src/dnssec/rrsig.js';
import { decodeTypeBitmap } from '../src/dnssec/type-bitmap.js';
import { readWireName, labelsToName } from '../src/dnssec/names.js';
import { NXNAME } from '../src/dnssec/denial.js';
import { buildQuery, ecsOption, tcpQuery, udpRaw, udpQuery, type EdnsSpec } from './helpers/dns-client.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';
import { runCliAsync } from './helpers/process.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

const APEX = 'gslb.example.test';
const SIGNED_ZONE = EXAMPLE_ZONE.replace('\nttl: 300\n', '\nttl: 300\ndnssec: { algorithm: ECDSAP256SHA256 }\n');

let signed: TestServer;
let unsigned: TestServer;
let dataDir: string;

before(async () => {
  assert.notEqual(SIGNED_ZONE, EXAMPLE_ZONE, 'the fixture must gain the dnssec key');
  dataDir = mkdtempSync(join(tmpdir(), 'gslb-dnssec-data-'));
  signed = await startTestServer({ 'zone.yaml': SIGNED_ZONE }, { dataDir });
  unsigned = await startTestServer({ 'zone.yaml': EXAMPLE_ZONE });
});

after(async () => {
  await signed?.stop();
  await unsigned?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function dnskeyOf(ts: TestServer): Promise<Buffer> {
  const r = await tcpQuery(ts.tcp, { name: APEX, type: RRType.DNSKEY, edns: { flags: EDNS_DO } });
  const key = r.answers.find((a) => a.type === RRType.DNSKEY);
  assert.ok(key, 'the apex has a DNSKEY');
  return (key.data as OpaqueData).raw;
}

/** Every RRset of `records` (but RRSIGs) has an RRSIG that verifies with `dnskey`; returns the types seen. */
function assertSigned(records: DecodedRecord[], dnskey: Buffer, where: string): string[] {
  const now = Date.now() / 1000;
  const sets = new Map<string, DecodedRecord[]>();
  for (const r of records) {
    if (r.type === RRType.RRSIG) continue;
    const k = `${r.name}|${r.type}`;
    sets.set(k, [...(sets.get(k) ?? []), r]);
  }
  const seen: string[] = [];
  for (const [k, set] of sets) {
    const [owner, type] = [set[0]!.name, set[0]!.type];
    const sigs = records.filter((r) => r.type === RRType.RRSIG && r.name === owner && (r.data as OpaqueData).raw.readUInt16BE(0) === type);
    assert.equal(sigs.length, 1, `${where}: one RRSIG for ${k}`);
    const rrset = { owner, type, ttl: set[0]!.ttl, records: set.map((r) => r.data) };
    assert.ok(verifyRRset(rrset, (sigs[0]!.data as OpaqueData).raw, dnskey, now), `${where}: the RRSIG of ${k} verifies`);
    seen.push(k);
  }
  return seen;
}

function nsecOf(msg: DecodedMessage): { owner: string; next: string; types: number[] } {
  const nsec = msg.authority.find((r) => r.type === RRType.NSEC);
  assert.ok(nsec, 'an NSEC in authority');
  const raw = (nsec.data as OpaqueData).raw;
  const [labels, end] = readWireName(raw, 0);
  return { owner: nsec.name, next: labelsToName(labels), types: decodeTypeBitmap(raw.subarray(end)) };
}

const doQuery = (name: string, type: number, extra: { ecs?: string } = {}) =>
  udpQuery(signed.udp, { name, type, edns: { flags: EDNS_DO, udpSize: 4096, ...(extra.ecs ? { options: [ecsOption(extra.ecs, 24)] } : {}) } });

describe('DO=0: nothing changes', () => {
  test('answers from a signed zone are byte-identical to the same zone unsigned', async () => {
    const questions: [string, number][] = [
      [APEX, RRType.SOA],
      [APEX, RRType.NS],
      [APEX, RRType.TXT],
      [`app.${APEX}`, RRType.A],
      [`app.${APEX}`, RRType.AAAA],
      [`www.${APEX}`, RRType.A],
      [`nope.${APEX}`, RRType.A],
      [`ns1.${APEX}`, RRType.TXT],
      [`x.wild.${APEX}`, RRType.A],
      [`host.sub.${APEX}`, RRType.A],
      [`b.c.${APEX}`, RRType.A],
      [`big.${APEX}`, RRType.TXT],
    ];
    for (const [name, type] of questions) {
      const ednsVariants: (EdnsSpec | false)[] = [false, {}, { options: [ecsOption('198.51.100.0', 24)] }];
      for (const edns of ednsVariants) {
        const packet = buildQuery({ name, type, id: 4242, edns });
        const [a, b] = await Promise.all([udpRaw(signed.udp, packet), udpRaw(unsigned.udp, packet)]);
        assert.ok(a && b, `${name} ${type}: both answer`);
        assert.equal(a.toString('hex'), b.toString('hex'), `${name} type ${type} edns ${JSON.stringify(edns)}`);
      }
    }
  });


  test('DO=0 asking for the apex keys gets them, without signatures', async () => {
    for (const type of [RRType.DNSKEY, RRType.CDS, RRType.CDNSKEY]) {
      for (const edns of [false, {}] as const) {
        const r = await udpQuery(signed.udp, { name: APEX, type, edns });
        assert.deepEqual(r.answers.map((a) => a.type), [type], `type ${type}`);
        assert.deepEqual(r.authority, []);
      }
    }
  });
});

describe('DO=1: signed answers', () => {
  test('static, steered, CNAME-chained and wildcard answers carry RRSIGs that verify with the DNSKEY', async () => {
    const dnskey = await dnskeyOf(signed);
    for (const [name, type] of [
      [APEX, RRType.TXT],
      [APEX, RRType.SOA],
      [`ns2.${APEX}`, RRType.AAAA],
      [`_https._tcp.${APEX}`, RRType.SRV],
      [`app.${APEX}`, RRType.A],
      [`app.${APEX}`, RRType.AAAA],
      [`www.${APEX}`, RRType.A],
      [`alias.${APEX}`, RRType.A],
      [`x.wild.${APEX}`, RRType.A],
      [APEX, RRType.DNSKEY],
      [APEX, RRType.CDS],
      [APEX, RRType.CDNSKEY],
    ] as const) {
      const r = await doQuery(name, type);
      assert.equal(r.rcode, 0, name);
      assert.ok(r.answers.some((a) => a.type === type), `${name} ${type}: answered`);
      assertSigned(r.answers, dnskey, `${name} ${type}`);
    }
    const wild = await doQuery(`x.wild.${APEX}`, RRType.A);
    assert.ok(wild.answers.every((a) => a.name === `x.wild.${APEX}`), 'a wildcard answer is owned (and signed) by the query name');
  });

  test('steered answers for clients in different regions are signed, each with its own RRset', async () => {
    const dnskey = await dnskeyOf(signed);
    const eu = await doQuery(`app.${APEX}`, RRType.A, { ecs: '198.51.100.0' });
    const us = await doQuery(`app.${APEX}`, RRType.A, { ecs: '203.0.113.0' });
    const addrs = (m: DecodedMessage) => m.answers.filter((a) => a.type === RRType.A).map((a) => (a.data as { address: string }).address);
    assert.notDeepEqual(addrs(eu), addrs(us), 'the two clients get different regions');
    assertSigned(eu.answers, dnskey, 'eu');
    assertSigned(us.answers, dnskey, 'us');
  });

  test('a name that does not exist: NOERROR, signed SOA and an NSEC with NXNAME (compact denial)', async () => {
    const dnskey = await dnskeyOf(signed);
    const r = await doQuery(`nope.${APEX}`, RRType.A);
    assert.equal(r.rcode, 0, 'compact denial answers NOERROR');
    assert.deepEqual(r.answers, []);
    const types = assertSigned(r.authority, dnskey, 'nxdomain');
    assert.deepEqual(types.sort(), [`${APEX}|${RRType.SOA}`, `nope.${APEX}|${RRType.NSEC}`].sort());
    const nsec = nsecOf(r);
    assert.equal(nsec.next, `\\000.nope.${APEX}`, 'the next name is the immediate successor');
    assert.deepEqual(nsec.types, [RRType.RRSIG, RRType.NSEC, NXNAME]);
  });

  test('NODATA: the NSEC lists what exists at the name; an empty non-terminal only RRSIG and NSEC', async () => {
    const dnskey = await dnskeyOf(signed);
    const r = await doQuery(`ns2.${APEX}`, RRType.TXT);
    assert.deepEqual(r.answers, []);
    assertSigned(r.authority, dnskey, 'nodata');
    assert.deepEqual(nsecOf(r).types, [RRType.A, RRType.AAAA, RRType.RRSIG, RRType.NSEC]);
    const ent = await doQuery(`c.${APEX}`, RRType.A);
    assertSigned(ent.authority, dnskey, 'empty non-terminal');
    assert.deepEqual(nsecOf(ent).types, [RRType.RRSIG, RRType.NSEC]);
    const apex = await doQuery(APEX, RRType.A);
    const apexTypes = nsecOf(apex).types;
    for (const t of [RRType.SOA, RRType.NS, RRType.DNSKEY, RRType.CDS, RRType.CDNSKEY]) assert.ok(apexTypes.includes(t), `apex bitmap has ${t}`);
  });

  test('a referral: NS unsigned, a signed NSEC without DS, glue; DS at the cut is signed NODATA', async () => {
    const dnskey = await dnskeyOf(signed);
    const r = await doQuery(`host.sub.${APEX}`, RRType.A);
    assert.equal(r.aa, false);
    assert.ok(r.authority.some((a) => a.type === RRType.NS && a.name === `sub.${APEX}`));
    const nsecs = r.authority.filter((a) => a.type !== RRType.NS);
    assertSigned(nsecs, dnskey, 'referral');
    const nsec = nsecOf(r);
    assert.equal(nsec.owner, `sub.${APEX}`);
    assert.ok(!nsec.types.includes(RRType.DS) && nsec.types.includes(RRType.NS));
    assert.ok(r.additional.some((a) => a.name === `ns.sub.${APEX}`), 'glue');
    const ds = await doQuery(`sub.${APEX}`, RRType.DS);
    assert.deepEqual(ds.answers, []);
    assertSigned(ds.authority, dnskey, 'ds');
  });

  test('a signed answer too big for the client is truncated, and complete over TCP', async () => {
    const packet = buildQuery({ name: `big.${APEX}`, type: RRType.TXT, edns: { flags: EDNS_DO, udpSize: 1232 } });
    const udp = await udpQuery(signed.udp, packet);
    assert.equal(udp.tc, true);
    const tcp = await tcpQuery(signed.tcp, packet);
    assertSigned(tcp.answers, await dnskeyOf(signed), 'big over tcp');
  });
});

describe('the key', () => {
  test('kept in the data directory with mode 0600; the API and the CLI show public parts only', async () => {
    const files = readdirSync(join(dataDir, 'dnssec'));
    assert.deepEqual(files, [`${APEX}.json`]);
    assert.equal(statSync(join(dataDir, 'dnssec', files[0]!)).mode & 0o777, 0o600);
    const res = await fetch(`${signed.api}/v1/zones/${APEX}/dnssec`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.doesNotMatch(text, /private/i);
    const body = JSON.parse(text) as { signed: boolean; algorithm: string; dnskey: string[]; ds: string[] };
    assert.equal(body.signed, true);
    assert.equal(body.algorithm, 'ECDSAP256SHA256');
    assert.match(body.dnskey[0]!, new RegExp(`^${APEX.replace(/\./g, '\\.')}\\. 300 IN DNSKEY 257 3 13 `));
    assert.match(body.ds[0]!, / IN DS \d+ 13 2 [0-9A-F]{64}$/);
    const un = (await (await fetch(`${unsigned.api}/v1/zones/${APEX}/dnssec`)).json()) as { signed: boolean };
    assert.equal(un.signed, false);
    assert.equal((await fetch(`${signed.api}/v1/zones/other.test/dnssec`)).status, 404);
    const cli = await runCliAsync(['dnssec', 'ds', APEX, '--api', signed.api]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout, [...body.ds, ...body.dnskey].join('\n') + '\n');
    const notSigned = await runCliAsync(['dnssec', 'ds', APEX, '--api', unsigned.api]);
    assert.equal(notSigned.status, 1);
    assert.match(notSigned.stderr, /not signed/);
    const explained = (await (await fetch(`${signed.api}/v1/explain?name=app.${APEX}&client=198.51.100.7`)).json()) as { dnssec?: { keyTag: number } };
    assert.equal(explained.dnssec?.keyTag, Number(/ DS (\d+) /.exec(body.ds[0]!)![1]));
  });

  test('a restart with the same data directory signs with the same key', async () => {
    const before = await dnskeyOf(signed);
    await signed.stop();
    signed = await startTestServer({ 'zone.yaml': SIGNED_ZONE }, { dataDir });
    assert.deepEqual(await dnskeyOf(signed), before);
  });
});

describe('rollover requests that are refused', () => {
  test('a bad or too short duration is 400 naming the field; an unsigned zone is 409; nothing starts', async () => {
    const post = (ts: TestServer, body: string) =>
      fetch(`${ts.api}/v1/zones/${APEX}/dnssec/rollover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const [body, field] of [
      ['{"propagation":"soon"}', 'propagation'],
      ['{"parentWait":"-1d"}', 'parentWait'],
      // Shorter than two key polls (30 s each): another node might sign with a key it never published.
      ['{"propagation":"1s"}', 'propagation'],
    ] as const) {
      const res = await post(signed, body);
      assert.equal(res.status, 400, body);
      assert.equal(((await res.json()) as { field: string }).field, field, body);
    }
    assert.equal(((await (await fetch(`${signed.api}/v1/zones/${APEX}/dnssec`)).json()) as { phase: string }).phase, 'stable');
    assert.equal((await post(unsigned, '{}')).status, 409);
  });
});

describe('nodes sharing one Redis', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('sign with the same key, whichever node made it', async () => {
    const url = redis.namespacedUrl('dnssec-shared');
    const [a, b] = await Promise.all([
      startTestServer({ 'zone.yaml': SIGNED_ZONE }, { args: ['--redis', url], nodeId: 'a' }),
      startTestServer({ 'zone.yaml': SIGNED_ZONE }, { args: ['--redis', url], nodeId: 'b' }),
    ]);
    try {
      const [ka, kb] = [await dnskeyOf(a), await dnskeyOf(b)];
      assert.deepEqual(ka, kb);
      // And the key is not the one of a node with a store of its own.
      assert.notDeepEqual(ka, await dnskeyOf(signed));
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('agree on the keys after a rollover started on one of them (the other reads it), and refuse a second one', async () => {
    const url = redis.namespacedUrl('dnssec-roll');
    const extras = { dnssecKeyPollMs: 200 };
    const [a, b] = await Promise.all([
      startTestServer({ 'zone.yaml': SIGNED_ZONE }, { args: ['--redis', url], nodeId: 'a', extras }),
      startTestServer({ 'zone.yaml': SIGNED_ZONE }, { args: ['--redis', url], nodeId: 'b', extras }),
    ]);
    try {
      const first = await dnskeyOf(a);
      const post = (ts: TestServer) =>
        fetch(`${ts.api}/v1/zones/${APEX}/dnssec/rollover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"parentWait":"1h"}' });
      const started = await post(a);
      assert.equal(started.status, 202, await started.text());
      // Node b learns it from Redis (its key poll), without being told.
      const tagsOf = async (ts: TestServer) => {
        const r = await tcpQuery(ts.tcp, { name: APEX, type: RRType.DNSKEY, edns: { flags: EDNS_DO } });
        return r.answers.filter((x) => x.type === RRType.DNSKEY).map((x) => (x.data as OpaqueData).raw.toString('hex')).sort();
      };
      const deadline = Date.now() + 30_000;
      while ((await tagsOf(b)).length < 2) {
        assert.ok(Date.now() < deadline, 'node b publishes the new key');
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.deepEqual(await tagsOf(b), await tagsOf(a));
      assert.ok((await tagsOf(a)).includes(first.toString('hex')), 'the old key stays published');
      const [ia, ib] = await Promise.all([a, b].map(async (ts) => (await fetch(`${ts.api}/v1/zones/${APEX}/dnssec`)).json()));
      assert.deepEqual(ib, ia, 'same keys, states, phase and next step on both nodes');
      assert.equal((ia as { phase: string }).phase, 'publish');
      const second = await post(b);
      assert.equal(second.status, 409, 'a rollover started on another node is running');
      assert.doesNotMatch(JSON.stringify(ia), /privateKey|PRIVATE/i);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

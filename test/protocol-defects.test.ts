/**
 * The protocol defects of issue 9, each over real UDP/TCP packets to a running server (and the zone loader for
 * the `answers` bound): CNAME chains into wildcards, truncation that drops the additional section before the
 * answer, bare BADVERS, and compression pointers in TCP answers past 16 KB.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dns2 from 'dns2';
import { RRType } from '../src/wire/constants.js';
import { loadZoneSources } from '../src/model/loader.js';
import { formatError } from '../src/model/types.js';
import { buildQuery, ecsOption, rrText, tcpRaw, udpQuery, udpRaw } from './helpers/dns-client.js';
import { decodeMessage } from '../src/wire/decode.js';
import { cookieOption, metric } from './helpers/dns-source.js';
import { runCliAsync } from './helpers/process.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const Z = 'defects.test';
const MX_COUNT = 18;
/** Enough MX records with distinct exchanges that the answer section alone passes 0x3FFF (16383) bytes. */
const BIG_MX_COUNT = 900;
/** The last 100 exchanges have addresses: their glue's owner names would point past 0x3FFF. */
const BIG_MX_GLUE = Array.from({ length: 100 }, (_, i) => `exchange-0${800 + i}.${Z}`);

const SOA = `soa: { mname: ns1.${Z}, rname: hostmaster.${Z}, serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }`;

const ZONE = `
zone: ${Z}
ttl: 300
${SOA}
ns: [ns1.${Z}]
records:
  ns1: { A: [192.0.2.53] }
  www: { CNAME: foo }
  chain1: { CNAME: chain2 }
  chain2: { CNAME: chain3 }
  chain3: { CNAME: bar }
  loop1: { CNAME: x.loop }
  "*.loop": { CNAME: loop1 }
  "*": { A: [192.0.2.77], TXT: ["from the wildcard"] }
  mx: { MX: [${Array.from({ length: MX_COUNT }, (_, i) => `"10 mx${String(i).padStart(2, '0')}"`).join(', ')}] }
${Array.from({ length: MX_COUNT }, (_, i) => `  mx${String(i).padStart(2, '0')}: { A: [192.0.2.${100 + i}] }`).join('\n')}
  bigmx: { MX: [${Array.from({ length: BIG_MX_COUNT }, (_, i) => `"10 exchange-${String(i).padStart(4, '0')}"`).join(', ')}] }
${Array.from({ length: 100 }, (_, i) => `  exchange-0${800 + i}: { A: [198.51.100.${i + 1}] }`).join('\n')}
  sub: { NS: [ns.sub.${Z}] }
  ns.sub: { A: [${Array.from({ length: 40 }, (_, i) => `192.0.2.${i + 1}`).join(', ')}] }
`;

let ts: TestServer;
before(async () => {
  ts = await startTestServer({ 'defects.yaml': ZONE }, { nodeId: 'node-defects-1' });
});
after(() => ts.stop());

describe('CNAME chains into a wildcard (RFC 1034 4.3.2 + RFC 4592)', () => {
  test('www CNAME foo, "*" A: the CNAME and foo A 192.0.2.77', async () => {
    const r = await udpQuery(ts.udp, { name: `www.${Z}`, type: RRType.A });
    assert.equal(r.rcode, 0);
    assert.deepEqual(rrText(r), [`www.${Z} 300 5 foo.${Z}`, `foo.${Z} 300 1 192.0.2.77`]);
    assert.deepEqual(r.authority, [], 'no SOA: this is not NODATA');
  });

  test('a chain of several CNAMEs ending under the wildcard, for A and for TXT', async () => {
    const a = await udpQuery(ts.udp, { name: `chain1.${Z}`, type: RRType.A });
    assert.deepEqual(rrText(a), [`chain1.${Z} 300 5 chain2.${Z}`, `chain2.${Z} 300 5 chain3.${Z}`, `chain3.${Z} 300 5 bar.${Z}`, `bar.${Z} 300 1 192.0.2.77`]);
    const txt = await udpQuery(ts.udp, { name: `chain1.${Z}`, type: RRType.TXT });
    assert.equal(txt.answers.at(-1)?.name, `bar.${Z}`);
    assert.equal(txt.answers.at(-1)?.type, RRType.TXT);
    // A type the wildcard does not have stays NODATA after the chain.
    const aaaa = await udpQuery(ts.udp, { name: `chain1.${Z}`, type: RRType.AAAA });
    assert.equal(aaaa.rcode, 0);
    assert.equal(aaaa.answers.length, 3);
    assert.equal(aaaa.authority[0]?.type, RRType.SOA);
  });

  test('a CNAME loop through a wildcard (the loader cannot see it) is answered, bounded, and the server keeps answering', async () => {
    const r = await udpQuery(ts.udp, { name: `loop1.${Z}`, type: RRType.A });
    assert.equal(r.rcode, 0);
    assert.ok(r.answers.length >= 1 && r.answers.length <= 9, `bounded chain, got ${r.answers.length}`);
    assert.ok(r.answers.every((rr) => rr.type === RRType.CNAME));
    const after = await udpQuery(ts.udp, { name: `ns1.${Z}`, type: RRType.A });
    assert.deepEqual(rrText(after), [`ns1.${Z} 300 1 192.0.2.53`]);
  });
});

describe('truncation drops the additional section first (RFC 2181 9)', () => {
  const expectAllMx = (raw: Buffer, limit: number) => {
    assert.ok(raw.length <= limit, `${raw.length} bytes, limit ${limit}`);
    const m = decodeMessage(raw);
    assert.equal(m.tc, false, `TC set on a ${raw.length}-byte reply whose answer fits`);
    assert.equal(m.answers.length, MX_COUNT);
    assert.ok(m.answers.every((rr) => rr.type === RRType.MX));
    // Whatever glue is left is whole A records of the exchanges (the header count matches the records).
    for (const rr of m.additional.filter((x) => x.type !== RRType.OPT)) {
      assert.equal(rr.type, RRType.A);
      assert.match(rr.name, new RegExp(`^mx\\d\\d\\.${Z.replace('.', '\\.')}$`));
    }
    return m;
  };

  test(`${MX_COUNT} MX without EDNS: every MX, TC=0, within 512 bytes`, async () => {
    const raw = await udpRaw(ts.udp, buildQuery({ name: `mx.${Z}`, type: RRType.MX, edns: false }));
    assert.ok(raw, 'no reply');
    const m = expectAllMx(raw, 512);
    assert.equal(m.edns, undefined);
  });

  test('with EDNS at 512 bytes and a client cookie: every MX, TC=0, and the OPT with the server cookie stays', async () => {
    const client = Buffer.from('0123456789abcdef', 'hex');
    const raw = await udpRaw(ts.udp, buildQuery({ name: `mx.${Z}`, type: RRType.MX, edns: { udpSize: 512, options: [cookieOption(client)] } }));
    assert.ok(raw, 'no reply');
    const m = expectAllMx(raw, 512);
    assert.ok(m.edns, 'OPT kept');
    const cookie = m.edns.options.find((o) => o.code === 10);
    assert.ok(cookie && cookie.data.length > 8 && cookie.data.subarray(0, 8).equals(client), 'client cookie echoed with a server cookie');
  });

  test('with room (EDNS 1232) the glue is all there', async () => {
    const m = await udpQuery(ts.udp, { name: `mx.${Z}`, type: RRType.MX, edns: { udpSize: 1232 } });
    assert.equal(m.tc, false);
    assert.equal(m.answers.length, MX_COUNT);
    assert.equal(m.additional.filter((x) => x.type === RRType.A).length, MX_COUNT);
  });

  test('a referral whose in-domain glue does not fit is still TC=1 (RFC 9471), and complete over TCP', async () => {
    const raw = await udpRaw(ts.udp, buildQuery({ name: `host.sub.${Z}`, type: RRType.A, edns: false }));
    assert.ok(raw);
    const m = decodeMessage(raw);
    assert.equal(m.tc, true);
    const [tcp] = await tcpRaw(ts.tcp, [buildQuery({ name: `host.sub.${Z}`, type: RRType.A, edns: false })]);
    const full = decodeMessage(tcp!);
    assert.equal(full.tc, false);
    assert.equal(full.authority.length, 1);
    assert.equal(full.additional.length, 40);
  });
});

describe('BADVERS (RFC 6891 6.1.3)', () => {
  test('version 1 with ECS, NSID and a cookie: BADVERS with a bare OPT of version 0', async () => {
    const client = Buffer.from('fedcba9876543210', 'hex');
    const r = await udpQuery(ts.udp, {
      name: `ns1.${Z}`,
      edns: { version: 1, options: [ecsOption('198.51.100.0', 24), { code: 3, data: Buffer.alloc(0) }, cookieOption(client)] },
    });
    assert.equal(r.rcode, 16);
    assert.ok(r.edns);
    assert.equal(r.edns.version, 0);
    assert.deepEqual(r.edns.options, [], 'no ECS, NSID or cookie in a BADVERS reply');
    assert.deepEqual(r.answers, []);
    assert.deepEqual(r.additional.filter((x) => x.type !== RRType.OPT), []);
  });
});

describe('compression pointers only below 0x3FFF (RFC 1035 4.1.4: 14-bit offsets)', () => {
  test(`${BIG_MX_COUNT} MX over TCP (> 16 KB): every exchange name decodes right, with our decoder and dns2`, async () => {
    const [raw] = await tcpRaw(ts.tcp, [buildQuery({ name: `bigmx.${Z}`, type: RRType.MX, edns: false })], 1, 10_000);
    assert.ok(raw && raw.length > 0x3fff, `reply of ${raw?.length} bytes should pass 0x3FFF`);
    const expected = Array.from({ length: BIG_MX_COUNT }, (_, i) => `exchange-${String(i).padStart(4, '0')}.${Z}`);
    const ours = decodeMessage(raw);
    assert.equal(ours.tc, false);
    assert.deepEqual(
      ours.answers.map((rr) => (rr.data as { exchange: string }).exchange),
      expected,
    );
    assert.deepEqual(
      ours.additional.map((rr) => rr.name),
      BIG_MX_GLUE,
    );
    const theirs = dns2.Packet.parse(raw) as unknown as { answers: { exchange: string }[]; additionals: { name: string }[] };
    assert.deepEqual(
      theirs.answers.map((a) => a.exchange.toLowerCase()),
      expected,
    );
    assert.deepEqual(
      theirs.additionals.map((a) => a.name.toLowerCase()),
      BIG_MX_GLUE,
    );
  });
});

describe('service answers that can never fit 1232 bytes are refused at load time', () => {
  const zoneWith = (answers: number) => `zone: ${Z}
ttl: 300
${SOA}
ns: [ns1.${Z}]
records:
  ns1: { A: [192.0.2.53] }
regions:
  r1:
    location: { lat: 50, lon: 8 }
    endpoints: [ { address: "2001:db8::1" } ]
services:
  app:
    regions: [r1]
    answers: ${answers}
`;

  test('answers: 64 (64 AAAA = 1800+ bytes) is an error at its line', () => {
    const result = loadZoneSources([{ file: 'big.yaml', text: zoneWith(64) }]);
    const errors = result.errors.map(formatError);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^big\.yaml:14: services\.app\.answers: .*1232/);
  });

  test('the largest count that fits is accepted, one more is refused', () => {
    // app.defects.test: 12 header + 18 name + 4 question + 11 OPT; 28 bytes per AAAA: (1232 - 45) / 28 = 42.
    assert.deepEqual(loadZoneSources([{ file: 'ok.yaml', text: zoneWith(42) }]).errors.map(formatError), []);
    assert.equal(loadZoneSources([{ file: 'no.yaml', text: zoneWith(43) }]).errors.length, 1);
  });

  test('`gslb check` prints it as file:line and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gslb-answers-'));
    try {
      writeFileSync(join(dir, 'big.yaml'), zoneWith(64));
      const r = await runCliAsync(['check', '--zones', dir]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /big\.yaml:14: services\.app\.answers: 64 AAAA records make a \d+-byte answer .*at most 42/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a reload to such a zone is refused and the previous zone keeps answering', async () => {
    const server = await startTestServer({ 'app.yaml': zoneWith(2) });
    try {
      const before = await udpQuery(server.udp, { name: `app.${Z}`, type: RRType.AAAA });
      assert.deepEqual(rrText(before), [`app.${Z} 30 28 2001:db8::1`]);
      const rejected = () => metric(server.api, 'gslb_zone_reloads_rejected_total', { reason: 'invalid' });
      const start = await rejected();
      writeFileSync(join(server.dir, 'app.yaml'), zoneWith(64));
      const deadline = Date.now() + 20_000;
      while ((await rejected()) === start && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await rejected(), start + 1, 'reload not rejected within 20 s');
      const afterReload = await udpQuery(server.udp, { name: `app.${Z}`, type: RRType.AAAA });
      assert.deepEqual(rrText(afterReload), [`app.${Z} 30 28 2001:db8::1`]);
    } finally {
      await server.stop();
    }
  });
});

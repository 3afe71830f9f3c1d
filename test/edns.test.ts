/** EDNS0 (RFC 6891), Client Subnet (RFC 7871), NSID (RFC 5001) and truncation, over real packets. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { buildQuery, ecsOption, tcpQuery, udpQuery, udpRaw } from './helpers/dns-client.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { nodeId: 'node-fra-1' });
});
after(() => ts.stop());

const Z = 'gslb.example.test';

describe('EDNS0', () => {
  test('no OPT in the reply when the query had none', async () => {
    const r = await udpQuery(ts.udp, { name: `ns1.${Z}`, edns: false });
    assert.equal(r.edns, undefined);
    assert.equal(r.additional.length, 0);
  });

  test('OPT in reply: version 0, 1232 bytes advertised, DO copied, unknown flags and options not echoed, cookies answered', async () => {
    const r = await udpQuery(ts.udp, {
      name: `ns1.${Z}`,
      edns: { udpSize: 4096, flags: 0x8000 | 0x4000 | 0x0001, options: [{ code: 65001, data: Buffer.from('hello') }, { code: 10, data: Buffer.alloc(8, 1) }] },
    });
    assert.ok(r.edns);
    assert.equal(r.edns.version, 0);
    assert.equal(r.edns.udpSize, 1232);
    assert.equal(r.edns.flags, 0x8000);
    // The cookie is understood (RFC 7873: answered with the client cookie + a server cookie); 65001 is not echoed.
    assert.deepEqual(r.edns.options.map((o) => [o.code, o.data.length]), [[10, 24]]);
    assert.equal(r.answers.length, 1);
  });

  test('EDNS version > 0 gets BADVERS with an OPT of version 0 and no answer', async () => {
    const r = await udpQuery(ts.udp, { name: `ns1.${Z}`, edns: { version: 1 } });
    assert.equal(r.rcode, 16);
    assert.equal(r.edns?.version, 0);
    assert.equal(r.edns?.extendedRcode, 1);
    assert.deepEqual(r.answers, []);
  });

  test('a malformed OPT (two of them, or options overrunning it) is FORMERR', async () => {
    const q = buildQuery({ name: `ns1.${Z}`, id: 5 });
    const twoOpts = Buffer.concat([q, q.subarray(q.length - 11)]);
    twoOpts.writeUInt16BE(2, 10);
    const r1 = await udpRaw(ts.udp, twoOpts);
    assert.equal(r1!.readUInt16BE(2) & 0xf, 1);
    const overrun = Buffer.from(q);
    overrun.writeUInt16BE(4, overrun.length - 2); // rdlength 4 with nothing after it
    const r2 = await udpRaw(ts.udp, overrun);
    assert.equal(r2!.readUInt16BE(2) & 0xf, 1);
  });
});

describe('EDNS Client Subnet', () => {
  test('echoed with scope 0 for static answers; IPv4 /24', async () => {
    const r = await udpQuery(ts.udp, { name: `ns1.${Z}`, edns: { options: [ecsOption('198.51.100.0', 24)] } });
    const ecs = r.edns!.options.find((o) => o.code === 8)!;
    assert.deepEqual([...ecs.data], [0, 1, 24, 0, 198, 51, 100]);
  });

  test('IPv6 /56 is echoed byte for byte (a case dns2 mis-encodes)', async () => {
    const r = await udpQuery(ts.udp, { name: `ns2.${Z}`, type: RRType.AAAA, edns: { options: [ecsOption('2001:db8:1234:5600::', 56)] } });
    const ecs = r.edns!.options.find((o) => o.code === 8)!;
    assert.deepEqual([...ecs.data], [0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56]);
    assert.equal(r.answers.length, 1);
  });

  test('source prefix 0 is valid and echoed with no address bytes', async () => {
    const r = await udpQuery(ts.udp, { name: `app.${Z}`, edns: { options: [ecsOption('0.0.0.0', 0)] } });
    const ecs = r.edns!.options.find((o) => o.code === 8)!;
    assert.deepEqual([...ecs.data], [0, 1, 0, 0]);
  });

  test('malformed ECS gets FORMERR: bits past the prefix, bad family, prefix too long, wrong length', async () => {
    const bad = [
      { code: 8, data: Buffer.from([0, 1, 24, 0, 198, 51, 100, 1]) }, // 4 bytes for a /24
      { code: 8, data: Buffer.from([0, 1, 23, 0, 198, 51, 101]) }, // bit 24 set beyond /23
      { code: 8, data: Buffer.from([0, 3, 8, 0, 10]) }, // family 3
      { code: 8, data: Buffer.from([0, 1, 33, 0, 1, 2, 3, 4, 5]) }, // /33 for IPv4
      { code: 8, data: Buffer.from([0, 1]) }, // truncated
    ];
    for (const opt of bad) {
      const reply = await udpRaw(ts.udp, buildQuery({ name: `app.${Z}`, id: 99, edns: { options: [opt] } }));
      assert.ok(reply, `reply for ${opt.data.toString('hex')}`);
      assert.equal(reply.readUInt16BE(0), 99);
      assert.equal(reply.readUInt16BE(2) & 0xf, 1, `FORMERR for ${opt.data.toString('hex')}`);
    }
  });

  test('no ECS option is added when the query had none', async () => {
    const r = await udpQuery(ts.udp, { name: `app.${Z}`, edns: {} });
    assert.deepEqual(r.edns!.options, []);
  });
});

describe('NSID', () => {
  test('returns the node id when asked, and only then', async () => {
    const r = await udpQuery(ts.udp, { name: `ns1.${Z}`, edns: { options: [{ code: 3, data: Buffer.alloc(0) }] } });
    const nsid = r.edns!.options.find((o) => o.code === 3)!;
    assert.equal(nsid.data.toString(), 'node-fra-1');
  });
});

describe('truncation', () => {
  test('an answer over 512 bytes without EDNS is sent empty with TC=1, and whole over TCP', async () => {
    const udp = await udpQuery(ts.udp, { name: `medium.${Z}`, type: RRType.TXT, edns: false });
    assert.ok(udp.tc);
    assert.deepEqual(udp.answers, []);
    assert.equal(udp.questions.length, 1);
    const tcp = await tcpQuery(ts.tcp, { name: `medium.${Z}`, type: RRType.TXT, edns: false });
    assert.ok(!tcp.tc);
    assert.equal(tcp.answers.length, 5);
  });

  test('with EDNS the client size counts, capped at our 1232', async () => {
    const fits = await udpQuery(ts.udp, { name: `medium.${Z}`, type: RRType.TXT, edns: { udpSize: 1232 } });
    assert.ok(!fits.tc);
    assert.equal(fits.answers.length, 5);
    const tooSmall = await udpQuery(ts.udp, { name: `medium.${Z}`, type: RRType.TXT, edns: { udpSize: 600 } });
    assert.ok(tooSmall.tc);
    // A client size under 512 is treated as 512 (RFC 6891 6.2.5).
    const tiny = await udpQuery(ts.udp, { name: `long.${Z}`, type: RRType.TXT, edns: { udpSize: 100 } });
    assert.ok(!tiny.tc);
    const big = await udpQuery(ts.udp, { name: `big.${Z}`, type: RRType.TXT, edns: { udpSize: 4096 } });
    assert.ok(big.tc, 'over 1232 bytes even though the client offers 4096');
    assert.deepEqual(big.answers, []);
    assert.ok(big.edns, 'the OPT is kept in a truncated reply');
    const tcp = await tcpQuery(ts.tcp, { name: `big.${Z}`, type: RRType.TXT, edns: {} });
    assert.equal(tcp.answers.length, 12);
  });
});

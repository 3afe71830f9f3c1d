/**
 * Seeded, deterministic fuzzing of the query path, short enough for `npm test`: random bytes and mutated valid
 * queries (EDNS, ECS, NSID, cookies) through ParsedQuery + Responder in-process (>= 100 000 packets), then a
 * share of the same packets against the real server over UDP and TCP, after which it must still answer
 * correctly. `npm run fuzz` runs the same generator over 1 000 000 packets (test/fuzz/million.ts).
 *
 * Reproduce a failure: the assertion message carries the case number, the generator kind and the packet as hex;
 * FUZZ_SEED=<n> picks another seed (the default is fixed so CI runs are identical).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { RRType } from '../src/wire/constants.js';
import { decodeMessage } from '../src/wire/decode.js';
import { expectsAnswer, nextCase, Rng, SEED } from './fuzz/generator.js';
import { assertCoverage, runInProcess, summary } from './fuzz/in-process.js';
import { ecsOption, tcpQuery, tcpRaw, udpQuery, rrText } from './helpers/dns-client.js';
import { EXAMPLE_ZONE, startTestServer } from './helpers/server.js';

const IN_PROCESS_PACKETS = 120_000;
const UDP_PACKETS = 3_000;
const TCP_PACKETS = 200;

test('fuzz: parser + responder never throw and always produce well-formed answers', (t) => {
  const stats = runInProcess(IN_PROCESS_PACKETS, SEED);
  t.diagnostic(summary(stats));
  assert.ok(stats.total >= 100_000);
  assertCoverage(stats);
});

test('fuzz: the real server survives fuzzed UDP and TCP traffic and still answers', async (t) => {
  const ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { nodeId: 'fuzz' });
  const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  try {
    // A different seed from the in-process test, same generator.
    const rng = new Rng(SEED ^ 0xa5a5a5a5);
    const udpCases = Array.from({ length: UDP_PACKETS }, () => nextCase(rng));
    const tcpCases = Array.from({ length: TCP_PACKETS }, () => nextCase(rng)).filter((c) => c.packet.length <= 65535);

    // UDP: batches of 100, paced, counting replies as they come; nothing waits on an individual reply.
    const wantIds = new Set<number>();
    let wanted = 0;
    for (const c of udpCases) {
      if (!expectsAnswer(c.packet)) continue;
      wanted++;
      wantIds.add(c.packet.readUInt16BE(0));
    }
    let received = 0;
    const bad: string[] = [];
    sock.on('message', (reply) => {
      received++;
      try {
        const m = decodeMessage(reply);
        if (!m.qr || m.ra || !wantIds.has(m.id)) bad.push(`qr=${m.qr} ra=${m.ra} id=${m.id}: ${reply.toString('hex')}`);
      } catch (err) {
        bad.push(`undecodable (${(err as Error).message}): ${reply.toString('hex')}`);
      }
    });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const deadline = Date.now() + 8_000;
    for (let i = 0; i < udpCases.length && Date.now() < deadline; i += 100) {
      await Promise.all(
        udpCases.slice(i, i + 100).map(
          (c) => new Promise<void>((resolve) => sock.send(c.packet, ts.udp.port, '127.0.0.1', () => resolve())),
        ),
      );
      await new Promise((r) => setTimeout(r, 2));
    }
    const settle = Date.now() + 3_000;
    while (received < wanted && Date.now() < settle) await new Promise((r) => setTimeout(r, 20));
    t.diagnostic(`UDP: ${udpCases.length} sent, ${wanted} answerable, ${received} replies`);
    assert.deepEqual(bad, [], 'malformed UDP replies');
    assert.ok(received <= wanted, `${received} UDP replies for ${wanted} answerable packets`);
    // Loopback with paced batches should lose nothing; allow a little for a loaded CI box.
    assert.ok(received >= wanted * 0.95, `only ${received} of ${wanted} UDP replies`);

    // TCP: 10 connections of pipelined fuzzed messages, each correctly framed. Every answerable message gets
    // exactly one answer, in order.
    for (let i = 0; i < tcpCases.length; i += 20) {
      const batch = tcpCases.slice(i, i + 20).map((c) => c.packet);
      const expected = batch.filter(expectsAnswer);
      if (expected.length === 0) continue;
      const replies = await tcpRaw(ts.tcp, batch, expected.length, 3_000);
      assert.equal(replies.length, expected.length, `TCP batch ${i / 20}: ${replies.length} of ${expected.length} replies`);
      replies.forEach((reply, k) => {
        const m = decodeMessage(reply);
        assert.equal(m.qr, true);
        assert.equal(m.ra, false);
        assert.equal(m.id, expected[k]!.readUInt16BE(0), `TCP batch ${i / 20} reply ${k} out of order`);
      });
    }

    // Still alive and still right, on both transports.
    for (const send of [udpQuery, tcpQuery]) {
      const app = await send(ts.udp, { name: 'app.gslb.example.test', type: RRType.A, id: 4242 });
      assert.equal(app.id, 4242);
      assert.equal(app.rcode, 0);
      assert.equal(app.aa, true);
      // Both endpoints; their order is the client block's rendezvous order, not what this test is about.
      assert.deepEqual(rrText(app).sort(), ['app.gslb.example.test 30 1 192.0.2.10', 'app.gslb.example.test 30 1 192.0.2.11']);
      const ns1 = await send(ts.udp, { name: 'NS1.gslb.example.test', type: RRType.A, edns: { options: [ecsOption('198.51.100.0', 24)] } });
      assert.equal(ns1.rcode, 0);
      assert.deepEqual(rrText(ns1), ['NS1.gslb.example.test 300 1 192.0.2.53']);
      const nx = await send(ts.udp, { name: 'nope.gslb.example.test', type: RRType.A });
      assert.equal(nx.rcode, 3);
    }
  } finally {
    sock.close();
    await ts.stop();
  }
});

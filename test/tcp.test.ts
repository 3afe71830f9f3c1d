/** DNS over TCP (RFC 7766): framing, pipelining, split frames, idle timeout, connection cap and per-client limit. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeMessage } from '../src/wire/decode.js';
import { clientKeys } from '../src/net/tcp-clients.js';
import { buildQuery, tcpRaw } from './helpers/dns-client.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { extras: { tcpLimits: { idleTimeoutMs: 300, maxConnections: 3 } } });
});
after(() => ts.stop());

const Z = 'gslb.example.test';

function frame(p: Buffer): Buffer {
  const l = Buffer.alloc(2);
  l.writeUInt16BE(p.length);
  return Buffer.concat([l, p]);
}

describe('TCP', () => {
  test('pipelined queries on one connection are all answered, in order', async () => {
    const names = ['ns1', 'ns2', 'mail', 'nope', 'app'].map((n) => `${n}.${Z}`);
    const replies = await tcpRaw(ts.tcp, names.map((name, i) => buildQuery({ name, id: 1000 + i })));
    assert.equal(replies.length, 5);
    replies.forEach((r, i) => {
      const m = decodeMessage(r);
      assert.equal(m.id, 1000 + i);
      assert.equal(m.questions[0]!.name, names[i]);
    });
  });

  test('a frame split across writes is reassembled', async () => {
    const sock = connect(ts.tcp);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const bytes = frame(buildQuery({ name: `ns1.${Z}`, id: 31337 }));
    const got = new Promise<Buffer>((resolve) => {
      let acc = Buffer.alloc(0);
      sock.on('data', (c) => {
        acc = Buffer.concat([acc, c]);
        if (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) resolve(acc.subarray(2));
      });
    });
    sock.write(bytes.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 30));
    sock.write(bytes.subarray(1, 9));
    await new Promise((r) => setTimeout(r, 30));
    sock.write(bytes.subarray(9));
    const m = decodeMessage(await got);
    sock.destroy();
    assert.equal(m.id, 31337);
    assert.equal(m.answers.length, 1);
  });

  test('an idle connection is closed by the server', async () => {
    const sock = connect(ts.tcp);
    const closed = await new Promise<boolean>((resolve) => {
      const guard = setTimeout(() => resolve(false), 5000);
      sock.on('close', () => {
        clearTimeout(guard);
        resolve(true);
      });
      sock.on('error', () => undefined);
    });
    assert.ok(closed, 'closed after the idle timeout');
  });

  test('over the cap, the oldest idle connection gives way; connections inside a query are never taken', async () => {
    const capped = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { extras: { tcpLimits: { idleTimeoutMs: 20_000, maxConnections: 3 } } });
    const opened: ReturnType<typeof connect>[] = [];
    const openOne = () =>
      new Promise<ReturnType<typeof connect>>((resolve) => {
        const s = connect(capped.tcp, () => resolve(s));
        s.on('error', () => undefined);
        opened.push(s);
      });
    const closed = (s: ReturnType<typeof connect>, ms = 3000) =>
      new Promise<boolean>((resolve) => {
        if (s.destroyed) return resolve(true);
        const t = setTimeout(() => resolve(false), ms);
        s.once('close', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
    try {
      const first = await openOne();
      await new Promise((r) => setTimeout(r, 20));
      const others = [await openOne(), await openOne()];
      const fourth = await openOne();
      assert.ok(await closed(first), 'the connection idle the longest is closed to admit the fourth');
      // Every remaining connection starts a query (one byte of a frame): none is idle, so a fifth is refused.
      const busy = [...others, fourth];
      const q = frame(buildQuery({ name: `ns1.${Z}`, id: 7 }));
      for (const s of busy) s.write(q.subarray(0, 1));
      await new Promise((r) => setTimeout(r, 100));
      const fifth = await openOne();
      assert.ok(await closed(fifth), 'the fifth connection is refused');
      for (const s of busy) assert.equal(s.destroyed, false);
      const reply = await new Promise<Buffer>((resolve) => {
        busy[0]!.on('data', (c: Buffer) => resolve(c));
        busy[0]!.write(q.subarray(1));
      });
      assert.equal(decodeMessage(reply.subarray(2)).id, 7, 'a busy connection finishes its query');
    } finally {
      for (const s of opened) s.destroy();
      await capped.stop();
    }
  });

  test('a client over its per-address limit has its new connections closed at once; others still connect', async () => {
    const limited = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { extras: { tcpLimits: { idleTimeoutMs: 20_000, maxConnections: 100, maxPerAddress: 2 } } });
    const opened: ReturnType<typeof connect>[] = [];
    const openFrom = (localAddress: string) =>
      new Promise<boolean>((resolve) => {
        const s = connect({ ...limited.tcp, localAddress });
        s.on('error', () => undefined);
        opened.push(s);
        // Accepted connections stay open; one over the limit is closed right after it connects.
        s.once('close', () => resolve(false));
        s.once('connect', () => setTimeout(() => resolve(!s.destroyed), 300));
      });
    try {
      assert.deepEqual([await openFrom('127.0.0.2'), await openFrom('127.0.0.2'), await openFrom('127.0.0.2')], [true, true, false]);
      assert.equal(await openFrom('127.0.0.3'), true);
      const [reply] = await tcpRaw(limited.tcp, [buildQuery({ name: `ns1.${Z}`, id: 9 })]);
      assert.equal(decodeMessage(reply!).id, 9);
    } finally {
      for (const s of opened) s.destroy();
      await limited.stop();
    }
  });

  test('clients are grouped by address and by /24 (IPv4) or /56 (IPv6)', () => {
    assert.deepEqual(clientKeys('192.0.2.7'), { address: '192.0.2.7', network: '192.0.2/24' });
    assert.deepEqual(clientKeys('::ffff:192.0.2.8'), { address: '192.0.2.8', network: '192.0.2/24' });
    const net = (a: string) => clientKeys(a).network;
    assert.equal(net('2001:db8:1:100::1'), net('2001:db8:1:1ff:ffff::2'));
    assert.notEqual(net('2001:db8:1:100::1'), net('2001:db8:1:200::1'));
    assert.equal(clientKeys('2001:db8::1').address, '2001:db8::1');
  });

  test('a runt or a response inside a frame gets nothing, and the connection goes on', async () => {
    const replies = await tcpRaw(ts.tcp, [Buffer.from([1, 2, 3]), buildQuery({ name: Z, flags: 0x8000 }), buildQuery({ name: `ns1.${Z}`, id: 77 })], 1);
    assert.equal(replies.length, 1);
    assert.equal(decodeMessage(replies[0]!).id, 77);
  });
});

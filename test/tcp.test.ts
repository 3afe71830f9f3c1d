/** DNS over TCP (RFC 7766): framing, pipelining, split frames, idle timeout, connection cap. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeMessage } from '../src/dns/decode.js';
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

  test('connections over the cap are refused while the others keep working', async () => {
    const open = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const s = connect(ts.tcp, () => resolve(s));
          }),
      ),
    );
    const extra = connect(ts.tcp);
    const extraClosed = await new Promise<boolean>((resolve) => {
      extra.on('close', () => resolve(true));
      extra.on('error', () => undefined);
      setTimeout(() => resolve(false), 2000);
    });
    assert.ok(extraClosed, 'the fourth connection is dropped');
    const reply = await new Promise<Buffer>((resolve) => {
      open[0]!.on('data', (c) => resolve(c));
      open[0]!.write(frame(buildQuery({ name: `ns1.${Z}`, id: 1 })));
    });
    assert.equal(decodeMessage(reply.subarray(2)).id, 1);
    for (const s of open) s.destroy();
    // Once they are gone, new connections are served again (the server notices the closes asynchronously).
    let served = false;
    for (let i = 0; i < 20 && !served; i++) {
      served = (await tcpRaw(ts.tcp, [buildQuery({ name: `ns1.${Z}` })], 1, 200)).length === 1;
    }
    assert.ok(served);
  });

  test('a runt or a response inside a frame gets nothing, and the connection goes on', async () => {
    const replies = await tcpRaw(ts.tcp, [Buffer.from([1, 2, 3]), buildQuery({ name: Z, flags: 0x8000 }), buildQuery({ name: `ns1.${Z}`, id: 77 })], 1);
    assert.equal(replies.length, 1);
    assert.equal(decodeMessage(replies[0]!).id, 77);
  });
});

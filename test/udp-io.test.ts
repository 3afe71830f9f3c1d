/**
 * `--udp-io` and the batch module (native/udp_batch.c), through running servers and real packets: which I/O
 * runs (log line, /metrics), IPv6, datagrams longer than the receive slot, a burst of 500 queries (also with
 * sends that would block), closing while queries arrive, SO_REUSEPORT, errno-named errors, no descriptor
 * left behind (also when a worker thread exits with a socket open), and the fallback
 * to dgram when the module does not load. The other DNS test files run under both modes through
 * GSLB_TEST_UDP_IO (test/helpers/udp-io.ts); this file chooses the mode in each test.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino, type Logger } from 'pino';
import { parseServeOptions, UsageError } from '../src/config.js';
import { Rcode, RRType } from '../src/wire/constants.js';
import { decodeMessage } from '../src/wire/decode.js';
import { loadBatchAddon } from '../src/net/udp-batch-addon.js';
import { BatchUdpListener } from '../src/net/udp-batch.js';
import { DatagramAnswerer } from '../src/net/udp-answer.js';
import { Responder } from '../src/answer/responder.js';
import { buildQuery, udpQuery, udpRaw } from './helpers/dns-client.js';
import { metric } from './helpers/dns-source.js';
import { runCliAsync } from './helpers/process.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

const ZONES = { 'example.yaml': EXAMPLE_ZONE };
const silent = pino({ level: 'silent' });

/** A logger that keeps its JSON lines. */
function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

async function withServer(opts: Parameters<typeof startTestServer>[1], body: (ts: TestServer) => Promise<void>): Promise<void> {
  const ts = await startTestServer(ZONES, opts);
  try {
    await body(ts);
  } finally {
    await ts.stop();
  }
}

async function openClient(host: string): Promise<Socket> {
  const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, host, () => resolve());
  });
  return sock;
}

/** Sends every packet at once (no waiting between them) and collects replies by ID until all came or `maxMs`. */
async function blast(target: { host: string; port: number }, packets: Buffer[], maxMs = 10_000): Promise<Map<number, Buffer>> {
  const sock = await openClient(target.host);
  const replies = new Map<number, Buffer>();
  const all = new Promise<void>((resolve) => {
    sock.on('message', (m) => {
      replies.set(m.readUInt16BE(0), m);
      if (replies.size === packets.length) resolve();
    });
  });
  for (const p of packets) sock.send(p, target.port, target.host);
  await Promise.race([all, new Promise((r) => setTimeout(r, maxMs))]);
  sock.close();
  return replies;
}

const appQuery = (id: number) => buildQuery({ name: 'app.gslb.example.test', id, edns: { udpSize: 1232 } });

test('udp-io: --udp-io and GSLB_UDP_IO take auto, batch or dgram (default auto); anything else is a usage error naming the flag', () => {
  assert.equal(parseServeOptions([], {}).udpIo, 'auto');
  assert.equal(parseServeOptions(['--udp-io', 'dgram'], {}).udpIo, 'dgram');
  assert.equal(parseServeOptions([], { GSLB_UDP_IO: 'batch' }).udpIo, 'batch');
  assert.equal(parseServeOptions(['--udp-io=dgram'], { GSLB_UDP_IO: 'batch' }).udpIo, 'dgram', 'the flag wins');
  assert.throws(() => parseServeOptions(['--udp-io', 'fast'], {}), (e: Error) => e instanceof UsageError && /--udp-io: "fast" is not one of auto, batch, dgram/.test(e.message));
  assert.throws(() => parseServeOptions([], { GSLB_UDP_IO: 'recvmmsg' }), /--udp-io: "recvmmsg"/);
  assert.throws(() => parseServeOptions(['--udp-io', 'batch', '--udp-io', 'dgram'], {}), /--udp-io may be given once/);
});

test('udp-io: the batch module was built at install and loads', () => {
  const load = loadBatchAddon();
  assert.ok('addon' in load, `not loaded: ${'error' in load ? load.error : ''} (build it with: node native/build.mjs)`);
  assert.equal(load.addon.MAX_BATCH, 64);
});

for (const mode of ['batch', 'dgram'] as const) {
  test(`udp-io ${mode}: logged at start, shown in /metrics as gslb_udp_io_info{mode="${mode}"} 1, and it answers`, async () => {
    const { log, lines } = capturingLogger();
    await withServer({ args: ['--udp-io', mode], log }, async (ts) => {
      const line = lines.find((l) => l.msg === `udp io: ${mode}`);
      assert.ok(line, `log lines: ${lines.map((l) => String(l.msg)).join(' | ')}`);
      assert.equal(line.udpIo, mode);
      assert.equal(lines.filter((l) => (l.level as number) >= 40).length, 0, 'no warning');
      assert.equal(await metric(ts.api, 'gslb_udp_io_info', { mode }), 1);
      assert.equal(await metric(ts.api, 'gslb_udp_io_info', { mode: mode === 'batch' ? 'dgram' : 'batch' }), 0);
      const r = await udpQuery(ts.udp, { name: 'app.gslb.example.test' });
      assert.equal(r.rcode, Rcode.NOERROR);
      assert.ok(r.answers.length > 0);
    });
  });

  test(`udp-io ${mode}: a datagram longer than 4096 bytes is answered FORMERR with its ID (a response that long is dropped)`, async () => {
    await withServer({ args: ['--udp-io', mode] }, async (ts) => {
      const query = buildQuery({ name: 'app.gslb.example.test', id: 0x4242, edns: { udpSize: 1232 } });
      // A well-formed query followed by junk: only the length is wrong.
      const long = Buffer.concat([query, Buffer.alloc(5000 - query.length, 0xab)]);
      const reply = await udpRaw(ts.udp, long);
      assert.ok(reply, 'a reply');
      const m = decodeMessage(reply);
      assert.equal(m.id, 0x4242);
      assert.equal(m.rcode, Rcode.FORMERR);
      const response = Buffer.from(long);
      response.writeUInt16BE(0x8000 | response.readUInt16BE(2), 2);
      assert.equal(await udpRaw(ts.udp, response, 300), undefined, 'QR=1: never answered');
      // 4096 bytes exactly is still read whole: trailing bytes after the OPT record are FORMERR for another reason,
      // so pad inside an EDNS option (RFC 7830 padding) to keep it a valid query.
      const padded = buildQuery({ name: 'app.gslb.example.test', id: 7, edns: { udpSize: 1232, options: [{ code: 12, data: Buffer.alloc(0) }] } });
      const fill = 4096 - padded.length;
      const exact = buildQuery({ name: 'app.gslb.example.test', id: 7, edns: { udpSize: 1232, options: [{ code: 12, data: Buffer.alloc(fill) }] } });
      assert.equal(exact.length, 4096);
      const ok = decodeMessage((await udpRaw(ts.udp, exact))!);
      assert.equal(ok.rcode, Rcode.NOERROR);
      assert.ok(ok.answers.length > 0);
      assert.equal(await metric(ts.api, 'gslb_udp_oversized_queries_total'), 2);
    });
  });
}

test('udp-io batch: IPv6 on [::1]; the source address reaches the query path (query log)', async () => {
  const { log, lines } = capturingLogger();
  await withServer({ dns: '[::1]:0', args: ['--udp-io', 'batch', '--query-log', '1'], log }, async (ts) => {
    assert.equal(ts.udp.host, '::1');
    const r = await udpQuery(ts.udp, { name: 'app.gslb.example.test', type: RRType.AAAA, id: 99 });
    assert.equal(r.id, 99);
    assert.equal(r.rcode, Rcode.NOERROR);
    assert.deepEqual(
      r.answers.map((a) => a.type),
      [RRType.AAAA],
    );
    const q = lines.find((l) => l.msg === 'query');
    assert.equal(q?.client, '::1');
    assert.equal(q?.transport, 'udp');
  });
});

test('udp-io batch: datagrams of one batch from different sources each reach the query path with their own source (query log)', async () => {
  const { log, lines } = capturingLogger();
  await withServer({ args: ['--udp-io', 'batch', '--query-log', '1'], log }, async (ts) => {
    const sources = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const socks = await Promise.all(sources.map((host) => openClient(host)));
    try {
      const replies = new Promise<void>((resolve) => {
        let left = 30;
        for (const sock of socks) sock.on('message', () => --left === 0 && resolve());
      });
      // Interleaved and sent before the server (in this process) reads: they arrive in one batch, the source
      // changing from one datagram to the next, and again repeating an earlier one.
      for (let i = 0; i < 30; i++) {
        const n = [0, 0, 1, 2, 1, 0][i % 6]!;
        socks[n]!.send(buildQuery({ name: `s${n}.gslb.example.test`, id: i + 1 }), ts.udp.port, ts.udp.host);
      }
      await Promise.race([replies, new Promise((r) => setTimeout(r, 10_000))]);
    } finally {
      for (const sock of socks) sock.close();
    }
    const logged = lines.filter((l) => l.msg === 'query');
    assert.equal(logged.length, 30);
    for (const l of logged) assert.equal(l.client, sources[Number(/^s(\d)\./.exec(String(l.qname))![1])], `client of ${String(l.qname)}`);
  });
});

test('udp-io batch: a burst of 500 queries sent at once is all answered, in batches (fewer receive calls than datagrams)', async () => {
  await withServer({ args: ['--udp-io', 'batch'] }, async (ts) => {
    const packets = Array.from({ length: 500 }, (_, i) => appQuery(i + 1));
    const replies = await blast(ts.udp, packets);
    assert.equal(replies.size, 500, `${500 - replies.size} of 500 unanswered`);
    for (const r of replies.values()) assert.equal(decodeMessage(r).rcode, Rcode.NOERROR);
    const received = await metric(ts.api, 'gslb_udp_batch_datagrams_total', { op: 'recv' });
    const calls = await metric(ts.api, 'gslb_udp_batch_calls_total', { op: 'recv' });
    assert.equal(received, 500);
    assert.equal(await metric(ts.api, 'gslb_udp_batch_datagrams_total', { op: 'send' }), 500);
    // The server shares this process: it reads only after the loop above queued all 500 in the kernel.
    assert.ok(calls < received, `${calls} recvmmsg calls for ${received} datagrams`);
  });
});

test('udp-io batch: when a send would block, the rest of the batch waits for writability and nothing is dropped', async () => {
  await withServer({ args: ['--udp-io', 'batch'], extras: { udpBatch: { fakeEagainEvery: 2 } } }, async (ts) => {
    const packets = Array.from({ length: 500 }, (_, i) => appQuery(i + 1));
    const replies = await blast(ts.udp, packets);
    assert.equal(replies.size, 500, `${500 - replies.size} of 500 unanswered`);
    assert.ok((await metric(ts.api, 'gslb_udp_send_waits_total')) > 0, 'sends waited');
    assert.equal(await metric(ts.api, 'gslb_udp_send_errors_total'), 0);
  });
});

test('udp-io batch: closing while queries arrive: no crash, no query answered after close, the port is free again', async () => {
  const ts = await startTestServer(ZONES, { args: ['--udp-io', 'batch'] });
  const target = ts.udp;
  const client = await openClient('127.0.0.1');
  let sending = true;
  let sent = 0;
  const flood = (async () => {
    while (sending) {
      for (let i = 0; i < 50; i++) client.send(appQuery(sent++ & 0xffff), target.port, target.host);
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    const total = () => ts.server.telemetry.dns.queries.reduce((n, v) => n + v, 0);
    while (total() < 200) await new Promise((r) => setTimeout(r, 5));
    await ts.stop();
    const atClose = total();
    const sentAtClose = sent;
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(sent > sentAtClose + 100, 'queries kept arriving after close');
    assert.equal(total(), atClose, 'no query answered after close');
    // The descriptor is closed: the port binds again, without SO_REUSEPORT.
    const again = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(target.port, target.host, () => resolve());
    });
    again.close();
  } finally {
    sending = false;
    await flood;
    client.close();
  }
});

test('udp-io batch: SO_REUSEPORT lets two sockets share a port; without it the second fails with an errno-named error', async () => {
  const load = loadBatchAddon();
  assert.ok('addon' in load);
  const answerer = () => new DatagramAnswerer(new Responder(() => assert.fail('no query expected')), silent);
  const first = new BatchUdpListener({ host: '127.0.0.1', port: 0 }, load.addon, answerer(), silent, { reusePort: true });
  const port = await first.listen();
  const second = new BatchUdpListener({ host: '127.0.0.1', port }, load.addon, answerer(), silent, { reusePort: true });
  try {
    assert.equal(await second.listen(), port);
    const third = new BatchUdpListener({ host: '127.0.0.1', port }, load.addon, answerer(), silent);
    await assert.rejects(third.listen(), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && e.syscall === 'bind' && /bind EADDRINUSE 127\.0\.0\.1:\d+/.test(e.message));
  } finally {
    await second.close();
    await first.close();
  }
});

test('udp-io batch: a DNS port in use stops the server with the errno name', async () => {
  const holder = await openClient('127.0.0.1');
  const port = holder.address().port;
  try {
    await assert.rejects(startTestServer(ZONES, { dns: `127.0.0.1:${port}`, args: ['--udp-io', 'batch'] }), /cannot listen for DNS: bind EADDRINUSE 127\.0\.0\.1:\d+ \(Address already in use\)/);
  } finally {
    holder.close();
  }
});

test('udp-io fallback: with a module that does not load, auto runs dgram with one warn line saying why, and /metrics says dgram', async (t) => {
  const dir = (await import('node:os')).tmpdir();
  const notAModule = join(dir, `gslb-not-a-module-${process.pid}.node`);
  writeFileSync(notAModule, 'not an ELF file\n');
  for (const [what, path] of [
    ['missing', join(dir, 'gslb-no-such-module.node')],
    ['not a shared object', notAModule],
  ] as const) {
    const { log, lines } = capturingLogger();
    await withServer({ dns: '127.0.0.1:0,[::1]:0', args: ['--udp-io', 'auto'], env: { GSLB_UDP_IO_MODULE: path }, log }, async (ts) => {
      const warns = lines.filter((l) => (l.level as number) === 40);
      assert.equal(warns.length, 1, `${what}: one warn line for two listeners: ${JSON.stringify(warns)}`);
      assert.equal(warns[0]!.udpIo, 'dgram');
      assert.match(String(warns[0]!.msg), /--udp-io auto: using dgram, the batch module does not load: /);
      assert.match(String(warns[0]!.reason), what === 'missing' ? /not found \(not built at install: run node native\/build\.mjs\)/ : /invalid ELF header|file too short/);
      t.diagnostic(`${what}: ${String(warns[0]!.msg)}`);
      assert.ok(lines.some((l) => l.msg === 'udp io: dgram'));
      assert.equal(await metric(ts.api, 'gslb_udp_io_info', { mode: 'dgram' }), 1);
      assert.equal(await metric(ts.api, 'gslb_udp_io_info', { mode: 'batch' }), 0);
      assert.equal((await udpQuery(ts.udp, { name: 'app.gslb.example.test' })).rcode, Rcode.NOERROR);
    });
  }
});

test('udp-io fallback: --udp-io batch with a module that does not load does not start (exit 1, naming the flag and why)', async () => {
  const r = await runCliAsync(['serve', '--zones', 'zones', '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--udp-io', 'batch'], { GSLB_UDP_IO_MODULE: '/nonexistent/udp_batch.node' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^gslb: --udp-io batch: the native batch module does not load: \/nonexistent\/udp_batch\.node not found/m);
});

test('udp-io batch: sockets opened and closed leave no descriptor behind, and a worker thread may exit with one open', async () => {
  const load = loadBatchAddon();
  assert.ok('addon' in load);
  const { UdpSocket } = load.addon;
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  // Half with the coalescing timer (a timerfd of its own).
  for (let i = 0; i < 200; i++)
    await new Promise<void>((resolve) => new UdpSocket({ host: i % 2 ? '::1' : '127.0.0.1', port: 0, coalesceMicros: i % 4 < 2 ? 500 : 0 }, () => 0).close(resolve));
  assert.equal(fds(), before);
  // In a child process, so a crash is a failed assertion rather than this test run dying: the worker's
  // environment closes the socket and waits for it before the module is unloaded.
  const script = `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(\`
      const a = require(\${JSON.stringify(${JSON.stringify(load.path)})});
      new a.UdpSocket({ host: '127.0.0.1', port: 0 }, () => 0);
      new a.UdpSocket({ host: '127.0.0.1', port: 0, coalesceMicros: 500 }, () => 0);
      const closing = new a.UdpSocket({ host: '::1', port: 0, coalesceMicros: 500 }, () => 0);
      closing.close();
      process.exit(0);
    \`, { eval: true });
    w.on('exit', (code) => { console.log('worker exited', code); });
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /worker exited 0/);
});

/**
 * A steady stream from another process (so the server in this one is not the sender's event loop): `count`
 * queries one per `gapMicros` (busy-waited, a send per event-loop turn), replies counted by ID.
 */
async function pacedStream(target: { host: string; port: number }, count: number, gapMicros: number): Promise<number> {
  const query = appQuery(0).toString('hex');
  const script = `
    // A roomy receive buffer: the replies of one timer read arrive together while this loop spins.
    const s = require('node:dgram').createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    const q = Buffer.from('${query}', 'hex');
    const got = new Set();
    s.on('message', (m) => { got.add(m.readUInt16BE(0)); if (got.size === ${count}) done(); });
    const done = () => { console.log(got.size); process.exit(0); };
    setTimeout(done, 10000);
    let i = 0;
    let next = process.hrtime.bigint();
    const step = () => {
      while (process.hrtime.bigint() < next) {}
      q.writeUInt16BE(i + 1, 0);
      s.send(Buffer.from(q), ${target.port}, '${target.host}');
      next += ${gapMicros}000n;
      if (++i < ${count}) setImmediate(step);
    };
    s.bind(0, '127.0.0.1', step);
  `;
  const r = await runNode(script);
  return Number(r.trim());
}

function runNode(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => resolve(out));
  });
}

test('udp-io batch: --udp-coalesce: a stream faster than one query per period is read on the timer, every query answered; when it stops, reading goes back to arrivals', async () => {
  await withServer({ args: ['--udp-io', 'batch', '--udp-coalesce', '2ms'] }, async (ts) => {
    assert.equal(await pacedStream(ts.udp, 1000, 200), 1000, 'every query answered');
    assert.ok((await metric(ts.api, 'gslb_udp_coalesce_starts_total')) >= 1, 'coalescing began');
    const ticks = await metric(ts.api, 'gslb_udp_coalesce_ticks_total');
    assert.ok(ticks > 0, 'reads on the timer');
    // Datagrams over reads: the timer's reads carry several queries each (a read per arrival would be ~1).
    const received = await metric(ts.api, 'gslb_udp_batch_datagrams_total', { op: 'recv' });
    const calls = await metric(ts.api, 'gslb_udp_batch_calls_total', { op: 'recv' });
    assert.ok(received / calls > 2, `${received} datagrams in ${calls} reads`);
    // Idle now: the first empty tick stops the timer, so the count stops growing (a timer left running would
    // add 500 a second and this would time out).
    let last = -1;
    const deadline = Date.now() + 5000;
    for (;;) {
      const now = await metric(ts.api, 'gslb_udp_coalesce_ticks_total');
      if (now === last) break;
      assert.ok(Date.now() < deadline, `the timer keeps reading an idle socket (${now} ticks)`);
      last = now;
      await new Promise((r) => setTimeout(r, 20));
    }
    // And a lone query is read on arrival, not on a timer.
    const r = await udpQuery(ts.udp, { name: 'app.gslb.example.test' });
    assert.equal(r.rcode, Rcode.NOERROR);
    assert.equal(await metric(ts.api, 'gslb_udp_coalesce_ticks_total'), last, 'no tick for a lone query');
  });
});

test('udp-io batch: --udp-coalesce: a send that would block while reading on the timer waits for writability, and nothing is dropped', async () => {
  await withServer({ args: ['--udp-io', 'batch', '--udp-coalesce', '2ms'], extras: { udpBatch: { fakeEagainEvery: 3 } } }, async (ts) => {
    assert.equal(await pacedStream(ts.udp, 1000, 200), 1000, 'every query answered');
    assert.ok((await metric(ts.api, 'gslb_udp_coalesce_ticks_total')) > 0, 'reads on the timer');
    assert.ok((await metric(ts.api, 'gslb_udp_send_waits_total')) > 0, 'sends waited');
    assert.equal(await metric(ts.api, 'gslb_udp_send_errors_total'), 0);
  });
});

test('udp-io batch: --udp-coalesce 0 reads every arrival, even under the same stream', async () => {
  await withServer({ args: ['--udp-io', 'batch', '--udp-coalesce', '0'] }, async (ts) => {
    assert.equal(await pacedStream(ts.udp, 500, 200), 500);
    assert.equal(await metric(ts.api, 'gslb_udp_coalesce_ticks_total'), 0);
    assert.equal(await metric(ts.api, 'gslb_udp_coalesce_starts_total'), 0);
  });
});

test('udp-io: --udp-coalesce and GSLB_UDP_COALESCE take a period in us or ms up to 10ms, or 0 (default 500us); anything else is a usage error naming the flag', () => {
  assert.equal(parseServeOptions([], {}).udpCoalesceMicros, 500);
  assert.equal(parseServeOptions(['--udp-coalesce', '1ms'], {}).udpCoalesceMicros, 1000);
  assert.equal(parseServeOptions(['--udp-coalesce', '0.25ms'], {}).udpCoalesceMicros, 250);
  assert.equal(parseServeOptions([], { GSLB_UDP_COALESCE: '0' }).udpCoalesceMicros, 0);
  assert.equal(parseServeOptions([], { GSLB_UDP_COALESCE: '200us' }).udpCoalesceMicros, 200);
  for (const bad of ['500', '20ms', 'fast', '-1us', '1s'])
    assert.throws(() => parseServeOptions(['--udp-coalesce', bad], {}), (e: Error) => e instanceof UsageError && e.message.startsWith(`--udp-coalesce: "${bad}" is not a period`), bad);
});

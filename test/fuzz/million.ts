/**
 * `npm run fuzz`: at least 1 000 000 seeded packets through the query path in-process (random, random bodies,
 * valid and mutated queries with EDNS options and cookies; plain, long-NSID and cookie+RRL responders), then
 * FUZZ_UDP packets (default 50 000) of the same generator over real UDP to a running server configured with a
 * cookie secret and --rrl-exempt none, after which the server must still be up and answer correctly over
 * UDP and TCP. Prints how long each part took. Exit status 0 = passed.
 *
 *   FUZZ_PACKETS=n   in-process packets (default 1 000 000)
 *   FUZZ_UDP=n       packets sent over UDP (default 50 000)
 *   FUZZ_SEED=n      another seed (the default is fixed so runs are identical)
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { pino } from 'pino';
import { RRType } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { expectsAnswer, nextCase, Rng, SEED } from './generator.js';
import { assertCoverage, FUZZ_COOKIE_SECRET, runInProcess, summary } from './in-process.js';
import { tcpQuery, udpQuery } from '../helpers/dns-client.js';
import { startEnvServer } from '../helpers/dns-source.js';
import { EXAMPLE_ZONE } from '../helpers/server.js';

const PACKETS = Number(process.env.FUZZ_PACKETS ?? 1_000_000);
const UDP_PACKETS = Number(process.env.FUZZ_UDP ?? 50_000);

async function overUdp(): Promise<string> {
  const errors: string[] = [];
  // Limits on and nothing exempt, so the real listener's RRL and cookie paths run too.
  const ts = await startEnvServer(
    { 'example.yaml': EXAMPLE_ZONE },
    { GSLB_RRL: '1000', GSLB_RRL_EXEMPT: 'none', GSLB_COOKIE_SECRET: FUZZ_COOKIE_SECRET.toString('hex') },
    [],
    'fuzz',
    // The listeners catch a throwing query (it costs one answer, not the process) and log it: count those.
    pino({ level: 'error' }, { write: (line: string) => errors.push(line) }),
  );
  const sock = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  let received = 0;
  const bad: string[] = [];
  sock.on('message', (reply) => {
    received++;
    try {
      const m = decodeMessage(reply);
      if (!m.qr || m.ra) bad.push(`qr=${m.qr} ra=${m.ra}: ${reply.toString('hex')}`);
    } catch (err) {
      bad.push(`undecodable (${(err as Error).message}): ${reply.toString('hex')}`);
    }
  });
  try {
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.2', resolve));
    const rng = new Rng(SEED ^ 0x3c3c3c3c);
    let answerable = 0;
    for (let i = 0; i < UDP_PACKETS; i += 200) {
      const batch = Array.from({ length: Math.min(200, UDP_PACKETS - i) }, () => nextCase(rng).packet);
      answerable += batch.filter(expectsAnswer).length;
      await Promise.all(batch.map((p) => new Promise<void>((resolve) => sock.send(p, ts.udp.port, '127.0.0.1', () => resolve()))));
      await new Promise((r) => setTimeout(r, 2));
    }
    const settle = Date.now() + 3000;
    let last = -1;
    while (received !== last && Date.now() < settle) {
      last = received;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.deepEqual(bad.slice(0, 5), [], 'malformed UDP replies');
    assert.deepEqual(errors.slice(0, 5), [], 'the server logged errors (a query threw)');
    assert.ok(received <= answerable, `${received} replies for ${answerable} answerable packets`);
    // Still alive and right on both transports (127.0.0.1 is not exempt here, so this also shows the limiter
    // did not lock out another network).
    for (const send of [udpQuery, tcpQuery]) {
      const ns1 = await send(ts.udp, { name: 'ns1.gslb.example.test', type: RRType.A, id: 4242 });
      assert.equal(ns1.id, 4242);
      assert.equal(ns1.rcode, 0);
      assert.equal(ns1.answers.length, 1);
    }
    return `UDP: ${UDP_PACKETS} sent from 127.0.0.2, ${answerable} answerable, ${received} replies (the rest rate limited), all well-formed`;
  } finally {
    sock.close();
    await ts.stop();
  }
}

const t0 = performance.now();
const stats = runInProcess(PACKETS, SEED);
const inProcessS = (performance.now() - t0) / 1000;
console.log(summary(stats));
assertCoverage(stats);
console.log(`in-process: ${PACKETS} packets in ${inProcessS.toFixed(1)} s (${Math.round(PACKETS / inProcessS)} packets/s), seed ${SEED}`);
const t1 = performance.now();
console.log(await overUdp());
console.log(`real UDP part: ${((performance.now() - t1) / 1000).toFixed(1)} s; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log('fuzz: 1 passed, 0 failed');

/**
 * `npm run bench:amplification`: the reflection an attacker gets from one spoofed source, before and after
 * RRL. For each of TXT (a ~1.1 KB record) and NS (apex NS + glue): 2 000 identical EDNS(4096) queries from
 * 127.0.0.2 (not exempt: --rrl-exempt none) paced over about one second, against a node with --rrl 0 and one
 * with the default --rrl; prints bytes in, bytes out and out/in, and how the responses were split.
 * Everything stays on loopback; each node is stopped at the end.
 */
import { decodeMessage } from '../src/wire/decode.js';
import { DEFAULT_RRL } from '../src/config.js';
import { buildQuery } from '../test/helpers/dns-client.js';
import { startEnvServer } from '../test/helpers/dns-source.js';
import { createSocket } from 'node:dgram';

const ZONE = `
zone: amp.example.test
ttl: 300
soa: { mname: ns1.amp.example.test, rname: hostmaster.example.test, serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
ns: [ns1.amp.example.test, ns2.amp.example.test, ns3.amp.example.test, ns4.amp.example.test]
records:
  ns1: { A: [192.0.2.53], AAAA: ["2001:db8::53"] }
  ns2: { A: [192.0.2.54], AAAA: ["2001:db8::54"] }
  ns3: { A: [192.0.2.55], AAAA: ["2001:db8::55"] }
  ns4: { A: [192.0.2.56], AAAA: ["2001:db8::56"] }
  txt: { TXT: [[${Array.from({ length: 9 }, (_, i) => `"${i}${'t'.repeat(119)}"`).join(', ')}]] }
`;
const QUERIES = 2000;
const SOURCE = '127.0.0.2';

interface Result {
  bytesIn: number;
  bytesOut: number;
  full: number;
  slipped: number;
  dropped: number;
  seconds: number;
  /** ms from the end of the flood to the first full answer to the same source (-1 when not measured). */
  recoveryMs: number;
}

async function flood(port: number, name: string, type: number, measureRecovery: boolean): Promise<Result> {
  const sock = createSocket('udp4');
  const r: Result = { bytesIn: 0, bytesOut: 0, full: 0, slipped: 0, dropped: 0, seconds: 0, recoveryMs: -1 };
  let replies = 0;
  sock.on('message', (m) => {
    replies++;
    r.bytesOut += m.length;
    if (decodeMessage(m).tc) r.slipped++;
    else r.full++;
  });
  await new Promise<void>((resolve) => sock.bind(0, SOURCE, resolve));
  const t0 = performance.now();
  // 20 batches of 100, 50 ms apart: ~1 s.
  for (let b = 0; b < QUERIES / 100; b++) {
    const batch = Array.from({ length: 100 }, (_, i) => buildQuery({ name, type, id: (b * 100 + i) & 0xffff, edns: { udpSize: 4096 } }));
    for (const p of batch) {
      r.bytesIn += p.length;
      await new Promise<void>((resolve) => sock.send(p, port, '127.0.0.1', () => resolve()));
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  r.seconds = (performance.now() - t0) / 1000;
  if (measureRecovery) r.recoveryMs = await recovery(port, name, type);
  let last = -1;
  for (let i = 0; i < 20 && replies !== last; i++) {
    last = replies;
    await new Promise((res) => setTimeout(res, 200));
  }
  sock.close();
  r.dropped = QUERIES - replies;
  return r;
}

/** Right after a flood: ms until the same source gets a full answer again (one query every 10 ms, at most 5 s). */
async function recovery(port: number, name: string, type: number): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, SOURCE, resolve));
  const t0 = performance.now();
  let done = -1;
  sock.on('message', (m) => {
    if (m.readUInt16BE(0) < 60000) return;
    const d = decodeMessage(m);
    if (!d.tc && d.answers.length > 0 && done < 0) done = performance.now() - t0;
  });
  for (let i = 0; done < 0 && i < 500; i++) {
    sock.send(buildQuery({ name, type, id: 60000 + i, edns: { udpSize: 4096 } }), port, '127.0.0.1');
    await new Promise((res) => setTimeout(res, 10));
  }
  sock.close();
  return Math.round(done);
}

const rows: string[] = [];
for (const rrl of ['0', String(DEFAULT_RRL)]) {
  const ts = await startEnvServer({ 'amp.yaml': ZONE }, { GSLB_RRL: rrl, GSLB_RRL_EXEMPT: 'none' });
  try {
    for (const [label, name, type] of [['TXT 1.1 KB', 'txt.amp.example.test', 16], ['NS + glue', 'amp.example.test', 2]] as const) {
      const r = await flood(ts.udp.port, name, type, rrl !== '0');
      const recovered = r.recoveryMs < 0 ? '' : `; full answers again ${r.recoveryMs} ms after it stopped`;
      rows.push(
        `${`--rrl ${rrl}`.padEnd(10)} ${label.padEnd(11)} in ${String(r.bytesIn).padStart(7)} B  out ${String(r.bytesOut).padStart(8)} B  ` +
          `x${(r.bytesOut / r.bytesIn).toFixed(2).padStart(6)}  full ${r.full}, slipped ${r.slipped}, dropped ${r.dropped} (${r.seconds.toFixed(2)} s)${recovered}`,
      );
    }
  } finally {
    await ts.stop();
  }
}
console.log(`${QUERIES} identical queries from ${SOURCE} in about 1 s, EDNS udp 4096:`);
for (const row of rows) console.log(row);

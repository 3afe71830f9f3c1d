/**
 * `npm run bench:path`: the query path alone (parse + answer, no sockets), in-process, per case: how many
 * microseconds one query costs. Unlike dnsperf over loopback this does not depend on the kernel's UDP stack or
 * on what else shares the two cores, so it is the figure to compare between versions.
 */
import { buildQuery, ecsOption } from '../test/helpers/dns-client.js';
import { EXAMPLE_ZONE } from '../test/helpers/server.js';
import { ParsedQuery } from '../src/wire/query.js';
import { Responder } from '../src/answer/responder.js';
import { defaultDatabasePaths, Locator, openDatabase } from '../src/geo/locator.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { loadZoneSources } from '../src/model/loader.js';
import { EDNS_DO, RRType } from '../src/wire/constants.js';
import { SigningKey } from '../src/dnssec/algorithms.js';

const zs = loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE }]).zoneSet!;
// The databases a node uses without --geoip; GSLB_BENCH_GEOIP=a.mmdb,b.mmdb compares others (e.g. the country one alone).
const geoip = process.env.GSLB_BENCH_GEOIP ? process.env.GSLB_BENCH_GEOIP.split(',') : defaultDatabasePaths();
const snap = buildSnapshot(zs, { version: 1, nodeId: 'bench', state: { locator: new Locator(geoip.map(openDatabase)) } });
const unsignedResponder = new Responder(() => snap);
const q = new ParsedQuery();
const Z = 'gslb.example.test';

// The same zone signed (a fresh key), answered to DO=1 queries: the signature cache is warm after the warm-up.
const signedZs = loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE.replace('\nttl: 300\n', '\nttl: 300\ndnssec: { algorithm: ECDSAP256SHA256 }\n') }]).zoneSet!;
const key = SigningKey.generate('ECDSAP256SHA256');
const signedSnap = buildSnapshot(signedZs, { version: 1, nodeId: 'bench', keys: () => ({ keys: [key] }), state: { locator: snap.locator } });
const signedResponder = new Responder(() => signedSnap);
const DO = { flags: EDNS_DO };

const cases: [string, Buffer[], Responder?][] = [
  ['static A', [buildQuery({ name: `ns1.${Z}`, id: 1 })]],
  ['NXDOMAIN', [buildQuery({ name: `nope.${Z}`, id: 1 })]],
  ['service A, no ECS', [buildQuery({ name: `app.${Z}`, id: 1 })]],
  ['service A, one ECS /24', [buildQuery({ name: `app.${Z}`, id: 1, edns: { options: [ecsOption('81.2.69.0', 24)] } })]],
  [
    'service A, ECS over 65536 /24s (cache misses on first pass)',
    Array.from({ length: 65536 }, (_, i) => buildQuery({ name: `app.${Z}`, id: 1, edns: { options: [ecsOption(`${1 + (i >> 8)}.${i & 255}.7.0`, 24)] } })),
  ],
  [
    'service A, ECS over 4096 /24s (warm, as in dnsperf)',
    Array.from({ length: 4096 }, (_, i) => buildQuery({ name: `app.${Z}`, id: 1, edns: { options: [ecsOption(`${10 + (i >> 8)}.${i & 255}.9.0`, 24)] } })),
  ],
  ['service AAAA, ECS IPv6 /56', [buildQuery({ name: `app.${Z}`, type: RRType.AAAA, id: 1, edns: { options: [ecsOption('2a00:1450:4001:800::', 56)] } })]],
  ['service A, one ECS /24, DO=1 (unsigned zone)', [buildQuery({ name: `app.${Z}`, id: 1, edns: { ...DO, options: [ecsOption('81.2.69.0', 24)] } })]],
  ['signed: static A, DO=1', [buildQuery({ name: `ns1.${Z}`, id: 1, edns: DO })], signedResponder],
  ['signed: missing name, DO=1 (compact denial, one name)', [buildQuery({ name: `nope.${Z}`, id: 1, edns: DO })], signedResponder],
  ['signed: service A, one ECS /24, DO=1', [buildQuery({ name: `app.${Z}`, id: 1, edns: { ...DO, options: [ecsOption('81.2.69.0', 24)] } })], signedResponder],
  [
    'signed: service A, ECS over 4096 /24s, DO=1 (warm)',
    Array.from({ length: 4096 }, (_, i) => buildQuery({ name: `app.${Z}`, id: 1, edns: { ...DO, options: [ecsOption(`${10 + (i >> 8)}.${i & 255}.9.0`, 24)] } })),
    signedResponder,
  ],
  ['signed: service A, one ECS /24, DO=0', [buildQuery({ name: `app.${Z}`, id: 1, edns: { options: [ecsOption('81.2.69.0', 24)] } })], signedResponder],
];

const peer = { address: '127.0.0.1', family: 4 as const };
console.log('case                                                   µs/query   queries/s (one core)');
for (const [name, packets, responder = unsignedResponder] of cases) {
  const n = Math.max(200_000, packets.length * 4);
  for (let i = 0; i < 20_000; i++) {
    const p = packets[i % packets.length]!;
    responder.respond(q, q.parse(p), p, peer, 'udp');
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const p = packets[i % packets.length]!;
    responder.respond(q, q.parse(p), p, peer, 'udp');
  }
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(`${name.padEnd(55)} ${(ns / 1000).toFixed(2).padStart(8)}   ${Math.round(1e9 / ns).toLocaleString('en-US').padStart(12)}`);
}

// A cache miss: a new name each time (a signature per query, as compact denial of random names costs).
{
  const n = 20_000;
  const packets = Array.from({ length: n }, (_, i) => buildQuery({ name: `miss${i}.${Z}`, id: 1, edns: DO }));
  const start = process.hrtime.bigint();
  for (const p of packets) signedResponder.respond(q, q.parse(p), p, peer, 'udp');
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(`${'signed: missing name, DO=1, new name each (signs NSEC)'.padEnd(55)} ${(ns / 1000).toFixed(2).padStart(8)}   ${Math.round(1e9 / ns).toLocaleString('en-US').padStart(12)}`);
}

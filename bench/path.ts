/**
 * `npm run bench:path`: the query path alone (parse + answer, no sockets), in-process, per case: how many
 * microseconds one query costs. Unlike dnsperf over loopback this does not depend on the kernel's UDP stack or
 * on what else shares the two cores, so it is the figure to compare between versions.
 */
import { buildQuery, ecsOption } from '../test/helpers/dns-client.js';
import { EXAMPLE_ZONE } from '../test/helpers/server.js';
import { ParsedQuery } from '../src/wire/query.js';
import { Responder } from '../src/answer/responder.js';
import { bundledDatabasePath, Locator, openDatabase } from '../src/geo/locator.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { loadZoneSources } from '../src/model/loader.js';
import { RRType } from '../src/wire/constants.js';

const zs = loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE }]).zoneSet!;
const snap = buildSnapshot(zs, { version: 1, nodeId: 'bench', state: { locator: new Locator([openDatabase(bundledDatabasePath())]) } });
const responder = new Responder(() => snap);
const q = new ParsedQuery();
const Z = 'gslb.example.test';

const cases: [string, Buffer[]][] = [
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
];

const peer = { address: '127.0.0.1', family: 4 as const };
console.log('case                                                   µs/query   queries/s (one core)');
for (const [name, packets] of cases) {
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

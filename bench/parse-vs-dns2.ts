/**
 * `npm run bench:parse`: the query-path parser (src/dns/query.ts) against dns2's decoder on the same query
 * packets, parse only. The reason the query path has a codec of its own; dns2 stays as the independent decoder
 * of the codec tests (a devDependency).
 */
import dns2 from 'dns2';
import { buildQuery, ecsOption } from '../test/helpers/dns-client.js';
import { ParsedQuery } from '../src/wire/query.js';
const q = new ParsedQuery();
const cases: [string, Buffer][] = [
  ['A, no EDNS', buildQuery({ name: 'ns1.gslb.example.test', id: 1, edns: false })],
  ['A, EDNS + ECS /24', buildQuery({ name: 'app.gslb.example.test', id: 1, edns: { options: [ecsOption('81.2.69.0', 24)] } })],
];
for (const [name, p] of cases) {
  for (const [who, f] of [['ours', () => q.parse(p)], ['dns2', () => dns2.Packet.parse(p)]] as const) {
    const n = who === 'ours' ? 2_000_000 : 200_000;
    for (let i = 0; i < 20_000; i++) f();
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    console.log(`${name.padEnd(20)} ${who}: ${(Number(process.hrtime.bigint() - t) / n / 1000).toFixed(3)} µs/packet`);
  }
}

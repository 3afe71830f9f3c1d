/**
 * `npm run bench:dnssec`: what online signing costs, in-process, in CPU time (process.cpuUsage, so other load on
 * the machine counts less than in wall time): a signature cache miss (canonical form + signature) and a hit (the
 * cache key + one lookup) for a steered A RRset of two addresses, per algorithm; the unsigned steered ECS query
 * of `bench:path` alone and with a warm signature lookup and the RRSIG copied into a reply buffer added, which
 * estimates what a signed steered answer costs over an unsigned one; the real signed steered query through the
 * responder (its body from the signer's body cache); and the memory a full signature cache and a full body cache
 * hold (the script runs node with --expose-gc for that).
 */
import { buildQuery, ecsOption } from '../test/helpers/dns-client.js';
import { EXAMPLE_ZONE } from '../test/helpers/server.js';
import { Responder } from '../src/answer/responder.js';
import { Signer } from '../src/answer/signed.js';
import { bundledDatabasePath, Locator, openDatabase } from '../src/geo/locator.js';
import { loadZoneSources } from '../src/model/loader.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { ParsedQuery } from '../src/wire/query.js';
import { SigningKey, type AlgorithmName } from '../src/dnssec/algorithms.js';
import { SignatureCache } from '../src/dnssec/cache.js';
import { signatureWindow, signRRset, type RRset } from '../src/dnssec/rrsig.js';
import { EDNS_DO, RRType } from '../src/wire/constants.js';

const ZONE = 'gslb.example.test';
const DAY = 86400;
const now = Math.floor(Date.now() / 1000);
const rrset = (i: number): RRset => ({
  owner: `app.${ZONE}`,
  type: RRType.A,
  ttl: 30,
  records: [
    { type: RRType.A, address: `192.0.${(i >> 8) & 255}.${i & 255}` },
    { type: RRType.A, address: `198.51.${(i >> 8) & 255}.${i & 255}` },
  ],
});
const options = { validitySeconds: 14 * DAY, refreshSeconds: 3 * DAY };

/** CPU µs (user + system) per call of `f`, after a warm-up. */
function time(n: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 20_000); i++) f(i);
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) f(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}
const row = (label: string, us: number) => console.log(`${label.padEnd(50)}${us.toFixed(2).padStart(7)}`);

// The unsigned steered query of bench:path ("service A, ECS over 4096 /24s (warm)").
const zs = loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE }]).zoneSet!;
const snap = buildSnapshot(zs, { version: 1, nodeId: 'bench', state: { locator: new Locator([openDatabase(bundledDatabasePath())]) } });
const responder = new Responder(() => snap);
const q = new ParsedQuery();
const peer = { address: '127.0.0.1', family: 4 as const };
const packets = Array.from({ length: 4096 }, (_, i) => buildQuery({ name: `app.${ZONE}`, id: 1, edns: { options: [ecsOption(`${10 + (i >> 8)}.${i & 255}.9.0`, 24)] } }));
const query = (i: number) => {
  const p = packets[i & 4095]!;
  responder.respond(q, q.parse(p), p, peer, 'udp');
};
const reply = Buffer.alloc(1232);

console.log('case (CPU µs per operation)                          µs');
const unsigned = time(400_000, query);
row('unsigned steered ECS query (bench:path, warm)', unsigned);
for (const algorithm of ['ECDSAP256SHA256', 'ED25519'] as AlgorithmName[]) {
  const key = SigningKey.generate(algorithm);
  const window = signatureWindow(now, options);
  row(`${algorithm}: miss, sign a new RRset`, time(20_000, (i) => signRRset(rrset(i), key, ZONE, window)));
  const cache = new SignatureCache(options);
  const hot = Array.from({ length: 64 }, (_, i) => rrset(i));
  for (const r of hot) cache.sign(r, key, ZONE, now);
  row(`${algorithm}: hit, the same records array`, time(1_000_000, (i) => cache.sign(hot[i & 63]!, key, ZONE, now)));
  row(`${algorithm}: hit, records built anew`, time(1_000_000, (i) => cache.sign({ ...hot[i & 63]!, records: [...hot[i & 63]!.records] }, key, ZONE, now)));
  const signed = time(400_000, (i) => {
    query(i);
    cache.sign(hot[i & 63]!, key, ZONE, now).rdata.copy(reply, 100);
  });
  row(`${algorithm}: query + warm signature + copy`, signed);
  console.log(`${''.padEnd(50)}${(signed / unsigned).toFixed(2).padStart(6)}x`);
}

// The real thing: the same steered queries with DO=1 to the zone signed, through the responder's signed path
// (answer/signed.ts: the signed body kept in its body cache, found for the decision; steering as unsigned).
const signedZs = loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE.replace('\nttl: 300\n', '\nttl: 300\ndnssec: { algorithm: ECDSAP256SHA256 }\n') }]).zoneSet!;
const signedKey = SigningKey.generate('ECDSAP256SHA256');
const signedSnap = buildSnapshot(signedZs, { version: 1, nodeId: 'bench', keys: () => ({ keys: [signedKey] }), state: { locator: snap.locator } });
{
  const signedResponder = new Responder(() => signedSnap);
  const doPackets = Array.from({ length: 4096 }, (_, i) =>
    buildQuery({ name: `app.${ZONE}`, id: 1, edns: { flags: EDNS_DO, options: [ecsOption(`${10 + (i >> 8)}.${i & 255}.9.0`, 24)] } }),
  );
  const signedQuery = time(400_000, (i) => {
    const p = doPackets[i & 4095]!;
    signedResponder.respond(q, q.parse(p), p, peer, 'udp');
  });
  row('signed steered ECS query, DO=1 (responder, warm)', signedQuery);
  console.log(`${''.padEnd(50)}${(signedQuery / unsigned).toFixed(2).padStart(6)}x`);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  const capacity = 10_000;
  const key = SigningKey.generate('ECDSAP256SHA256');
  gc();
  const m0 = process.memoryUsage();
  const before = m0.heapUsed + m0.arrayBuffers;
  const cache = new SignatureCache({ ...options, capacity });
  // One short of a rotation of the two generations: the most the cache holds.
  for (let i = 0; i < capacity - 1; i++) cache.sign(rrset(i), key, ZONE, now);
  gc();
  const m1 = process.memoryUsage();
  const after = m1.heapUsed + m1.arrayBuffers;
  console.log(`(heap ${((m1.heapUsed - m0.heapUsed) / 2 ** 20).toFixed(1)} MiB, buffers ${((m1.arrayBuffers - m0.arrayBuffers) / 2 ** 20).toFixed(1)} MiB)`);
  const perEntry = (after - before) / cache.size;
  console.log(`signature cache, capacity ${capacity}: ${cache.size} held, ${((after - before) / 2 ** 20).toFixed(1)} MiB, ${Math.round(perEntry)} B each`);

  // The body cache of one zone when full (2 x 4096 - 1 bodies): wildcard answers, each its own name, so its own
  // body (an A and its RRSIG, as a steered answer of one address); a signature cache of 2, so that what stays
  // is (nearly) the body cache alone.
  const bodySigner = new Signer(2);
  const bodyResponder = new Responder(() => signedSnap, Math.random, undefined, bodySigner);
  const held = 2 * 4096 - 1;
  gc();
  const b0 = process.memoryUsage();
  for (let i = 0; i < held; i++) {
    const p = buildQuery({ name: `x${i}.wild.${ZONE}`, id: 1, edns: { flags: EDNS_DO } });
    bodyResponder.respond(q, q.parse(p), p, peer, 'udp');
  }
  gc();
  const b1 = process.memoryUsage();
  const bodyBytes = b1.heapUsed + b1.arrayBuffers - (b0.heapUsed + b0.arrayBuffers);
  console.log(`body cache, one zone full: ${held} held, ${(bodyBytes / 2 ** 20).toFixed(1)} MiB, ${Math.round(bodyBytes / held)} B each`);
} else {
  console.log('(run with node --expose-gc for the memory figure)');
}

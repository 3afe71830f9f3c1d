/**
 * One Responder answers every query of a listener with one reused ResponseBuilder: nothing of one response
 * (appended endpoint records, additional-section cuts, ECS scope, AA, TC, the OPT position a slip keeps) may
 * leak into the next. Checked in process: a long mixed sequence through one responder gives, byte for byte,
 * what a fresh responder gives for each query alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Responder, type Transport } from '../src/answer/responder.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { loadZoneSources } from '../src/model/loader.js';
import { RRClass, RRType } from '../src/wire/constants.js';
import { ParsedQuery } from '../src/wire/query.js';
import { seededRng } from '../src/util/rng.js';
import { buildQuery, ecsOption, type QuerySpec } from './helpers/dns-client.js';
import { EXAMPLE_ZONE } from './helpers/server.js';

const Z = 'gslb.example.test';
const NSID = { code: 3, data: Buffer.alloc(0) };

const QUERIES: [QuerySpec, Transport][] = [
  [{ name: `app.${Z}`, edns: { options: [ecsOption('81.2.69.0', 24)] } }, 'udp'],
  [{ name: `app.${Z}`, type: RRType.AAAA, edns: { options: [ecsOption('2a00:1450:4001:800::', 56), NSID] } }, 'udp'],
  [{ name: `legacy.${Z}`, type: RRType.AAAA }, 'udp'], // service NODATA: SOA TTL capped per answer
  [{ name: `cdn.${Z}`, edns: false }, 'udp'], // service CNAME
  [{ name: `www.${Z}` }, 'udp'], // CNAME chain into a service
  [{ name: Z, type: RRType.MX, edns: false }, 'udp'], // MX with its additional address
  [{ name: `sub.${Z}`, type: RRType.A }, 'udp'], // referral with glue
  [{ name: `big.${Z}`, type: RRType.TXT, edns: false }, 'udp'], // does not fit: empty, TC=1
  [{ name: `big.${Z}`, type: RRType.TXT, edns: false }, 'tcp'],
  [{ name: `medium.${Z}`, type: RRType.TXT, edns: { udpSize: 512, options: [NSID] } }, 'udp'],
  [{ name: `nope.${Z}` }, 'udp'], // NXDOMAIN
  [{ name: `x.wild.${Z}`, type: RRType.TXT }, 'udp'],
  [{ name: 'example.org' }, 'udp'], // REFUSED
  [{ name: Z, type: RRType.AXFR }, 'tcp'],
  [{ name: Z, type: RRType.ANY }, 'udp'],
  [{ name: 'id.server', type: RRType.TXT, class: RRClass.CH }, 'udp'],
  [{ name: Z, type: RRType.SOA, edns: { version: 1, options: [ecsOption('81.2.69.0', 24)] } }, 'udp'], // BADVERS
  [{ name: `ns1.${Z}`, type: RRType.OPT }, 'udp'], // FORMERR with the question
];

const MALFORMED = Buffer.from('abcd0100000100000000000003', 'hex'); // question cut short: header-only FORMERR

describe('Responder reuse', () => {
  const loaded = loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE }]);
  assert.deepEqual(loaded.errors, []);
  const snap = buildSnapshot(loaded.zoneSet!, { version: 1, nodeId: 'reuse-node' });
  const peer = { address: '198.51.100.7', family: 4 as const };
  const packets = [...QUERIES.map(([spec, t]) => [buildQuery({ id: 0x1234, ...spec }), t] as const), [MALFORMED, 'udp'] as const];

  function answer(r: Responder, msg: Buffer, transport: Transport) {
    const q = new ParsedQuery();
    const out = r.respond(q, q.parse(msg), msg, peer, transport);
    return { out: out?.toString('hex'), rcode: r.info.rcode, truncated: r.info.truncated, service: r.info.service };
  }

  test('a long mixed sequence through one responder answers each query as a fresh responder would', () => {
    const reused = new Responder(() => snap, () => 0);
    const order = seededRng(7);
    for (let i = 0; i < 2000; i++) {
      const [msg, transport] = packets[Math.floor(order() * packets.length)]!;
      const fresh = answer(new Responder(() => snap, () => 0), msg, transport);
      assert.deepEqual(answer(reused, msg, transport), fresh, `query #${i}: ${msg.toString('hex')} over ${transport}`);
    }
  });

  test('the sequence covers what a response can carry: steered records, NODATA, TC, cuts, BADVERS, header only', () => {
    const seen = packets.map(([msg, transport]) => answer(new Responder(() => snap, () => 0), msg, transport));
    assert.ok(seen.some((s) => s.service === 'app.gslb.example.test'));
    assert.ok(seen.some((s) => s.truncated));
    assert.deepEqual(new Set(seen.map((s) => s.rcode)), new Set([0, 1, 3, 5, 16]));
  });
});

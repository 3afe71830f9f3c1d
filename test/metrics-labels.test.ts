/**
 * `gslb_dns_queries_total` speaks the ecosystem's words: `rcode` carries names (NOERROR, NXDOMAIN, REFUSED…)
 * as CoreDNS's `coredns_dns_responses_total` does, `qtype` carries mnemonics (PTR, HTTPS, not TYPE12), and
 * both label sets are bounded (anything else is OTHER). Real UDP/TCP queries to a running server, then a
 * real scrape of /metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { DnsCounters, RCODE_LABELS, TYPE_LABELS } from '../src/metrics/dns-counters.js';
import { buildQuery, tcpQuery, udpQuery } from './helpers/dns-client.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

const Z = 'gslb.example.test';

/** `gslb_dns_queries_total` samples of one scrape, keyed `qtype/rcode/transport`. */
async function queryCounters(api: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${api}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('gslb_dns_queries_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    out.set(`${labels.qtype}/${labels.rcode}/${labels.transport}`, value);
  }
  return out;
}

function deltas(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

describe('query counter labels', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE });
  });
  after(async () => {
    await ts.stop();
  });

  test('rcode and qtype labels are names, as CoreDNS exposes them', async () => {
    const before = await queryCounters(ts.api);
    assert.equal((await udpQuery(ts.udp, { name: `ns1.${Z}`, type: RRType.A })).rcode, 0);
    assert.equal((await udpQuery(ts.udp, { name: `nothing-here.${Z}`, type: RRType.A })).rcode, 3);
    assert.equal((await udpQuery(ts.udp, { name: 'www.example.org', type: RRType.A })).rcode, 5);
    const formerr = buildQuery({ name: `ns1.${Z}`, type: RRType.A, edns: false });
    formerr.writeUInt16BE(2, 4); // QDCOUNT 2 with one question: a readable header, a broken body
    assert.equal((await udpQuery(ts.udp, formerr)).rcode, 1);
    const notimp = buildQuery({ name: `ns1.${Z}`, type: RRType.A, flags: 2 << 11, edns: false }); // opcode STATUS
    assert.equal((await udpQuery(ts.udp, notimp)).rcode, 4);
    assert.equal((await tcpQuery(ts.tcp, { name: `ns1.${Z}`, type: RRType.A, edns: { version: 1 } })).rcode, 16);
    // Types the counter tracks by name although the codec has no constant for them, and one it does not track.
    assert.equal((await udpQuery(ts.udp, { name: `ns1.${Z}`, type: 12 })).rcode, 0);
    assert.equal((await udpQuery(ts.udp, { name: `ns1.${Z}`, type: 65 })).rcode, 0);
    assert.equal((await udpQuery(ts.udp, { name: `ns1.${Z}`, type: 999 })).rcode, 0);
    const after = await queryCounters(ts.api);
    assert.deepEqual(deltas(before, after), {
      'A/NOERROR/udp': 1,
      'A/NXDOMAIN/udp': 1,
      'A/REFUSED/udp': 1,
      // The question of a FORMERR or NOTIMP query is not read, so its type is not known.
      'OTHER/FORMERR/udp': 1,
      'OTHER/NOTIMP/udp': 1,
      'A/BADVERS/tcp': 1,
      'PTR/NOERROR/udp': 1,
      'HTTPS/NOERROR/udp': 1,
      'OTHER/NOERROR/udp': 1,
    });
    // Every series ever exposed stays inside the two fixed label sets.
    for (const key of after.keys()) {
      const [qtype, rcode] = key.split('/');
      assert.ok(TYPE_LABELS.includes(qtype!), `qtype "${qtype}" is not a bounded name`);
      assert.ok(RCODE_LABELS.includes(rcode!), `rcode "${rcode}" is not a bounded name`);
    }
  });
});

describe('label sets are bounded', () => {
  test('an rcode or a type without a slot of its own is counted as OTHER', () => {
    const counters = new DnsCounters();
    counters.countQuery(0, 4095, 4242); // the largest extended rcode, an unassigned type
    counters.countQuery(1, 17, 1); // BADKEY: a TSIG code this server never sends
    counters.countQuery(1, 23, 28);
    const seen = [...counters.queryEntries()].map(([l, v]) => `${l.qtype}/${l.rcode}/${l.transport}=${v}`).sort();
    assert.deepEqual(seen, ['A/OTHER/tcp=1', 'AAAA/BADCOOKIE/tcp=1', 'OTHER/OTHER/udp=1']);
    assert.ok(RCODE_LABELS.length <= 16 && TYPE_LABELS.length <= 16, 'a handful of labels each');
    for (const l of [...RCODE_LABELS, ...TYPE_LABELS]) assert.match(l, /^[A-Z]+$/);
  });
});

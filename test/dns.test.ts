/** Authoritative behaviour over real UDP and TCP packets against a running server (RFC 1034/1035/2181/2308/4592/8482). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { buildQuery, rrText, tcpQuery, udpQuery, udpRaw, type Target } from './helpers/dns-client.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;
let v6: Target;
before(async () => {
  ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { dns: '127.0.0.1:0,[::1]:0' });
  v6 = ts.server.dns[1]!;
});
after(() => ts.stop());

const Z = 'gslb.example.test';
const SOA_LINE = `${Z} 60 6 ns1.${Z} hostmaster.example.test 2026112801 3600 600 604800 60`;

for (const transport of ['udp', 'tcp'] as const) {
  const ask = (name: string, type: number = RRType.A, extra: Partial<Parameters<typeof buildQuery>[0]> = {}) =>
    (transport === 'udp' ? udpQuery : tcpQuery)(ts.udp, { name, type, ...extra });

  describe(`authoritative answers over ${transport}`, () => {
    test('static A: AA set, RA clear, ID and question case echoed', async () => {
      const r = await ask(`Ns1.GSLB.Example.TEST`, RRType.A, { id: 4242, flags: 0x0100 });
      assert.equal(r.id, 4242);
      assert.ok(r.qr && r.aa && !r.ra && !r.tc);
      assert.ok(r.rd, 'RD is copied from the query');
      assert.equal(r.rcode, 0);
      assert.deepEqual(r.questions, [{ name: 'Ns1.GSLB.Example.TEST', type: 1, class: 1 }]);
      assert.deepEqual(rrText(r), [`Ns1.GSLB.Example.TEST 300 1 192.0.2.53`]);
    });

    test('apex SOA and NS, with glue for in-zone name servers in additional', async () => {
      const soa = await ask(Z, RRType.SOA);
      assert.deepEqual(rrText(soa), [`${Z} 300 6 ns1.${Z} hostmaster.example.test 2026112801 3600 600 604800 60`]);
      const ns = await ask(Z, RRType.NS);
      assert.deepEqual(rrText(ns), [`${Z} 300 2 ns1.${Z}`, `${Z} 300 2 ns2.${Z}`]);
      assert.deepEqual(rrText(ns, 'additional'), [`ns1.${Z} 300 1 192.0.2.53`, `ns2.${Z} 300 1 192.0.2.54`, `ns2.${Z} 300 28 2001:db8::54`]);
    });

    test('NXDOMAIN and NODATA carry the SOA with TTL = min(SOA TTL, minimum)', async () => {
      const nx = await ask(`nope.${Z}`);
      assert.equal(nx.rcode, 3);
      assert.ok(nx.aa);
      assert.deepEqual(nx.answers, []);
      assert.deepEqual(rrText(nx, 'authority'), [SOA_LINE]);
      const nodata = await ask(`ns1.${Z}`, RRType.AAAA);
      assert.equal(nodata.rcode, 0);
      assert.deepEqual(nodata.answers, []);
      assert.deepEqual(rrText(nodata, 'authority'), [SOA_LINE]);
    });

    test('an empty non-terminal is NODATA, not NXDOMAIN', async () => {
      const r = await ask(`b.c.${Z}`);
      assert.equal(r.rcode, 0);
      assert.deepEqual(rrText(r, 'authority'), [SOA_LINE]);
    });

    test('names outside every zone are REFUSED without AA', async () => {
      for (const name of ['example.org', 'example.test', 'xgslb.example.test', '']) {
        const r = await ask(name);
        assert.equal(r.rcode, 5, name);
        assert.ok(!r.aa);
        assert.deepEqual(r.answers, []);
      }
    });

    test('CNAME chains are followed inside the zone, down to a service', async () => {
      const r = await ask(`alias.${Z}`);
      const lines = rrText(r);
      assert.deepEqual(lines.slice(0, 2), [`alias.${Z} 300 5 www.${Z}`, `www.${Z} 300 5 app.${Z}`]);
      // Endpoint order rotates per client subnet; the set is what counts.
      assert.deepEqual(lines.slice(2).sort(), [`app.${Z} 30 1 192.0.2.10`, `app.${Z} 30 1 192.0.2.11`]);
      const cnameOnly = await ask(`www.${Z}`, RRType.CNAME);
      assert.deepEqual(rrText(cnameOnly), [`www.${Z} 300 5 app.${Z}`]);
    });

    test('a CNAME out of the zone is answered alone; a dangling one is NXDOMAIN with the CNAME (RFC 6604)', async () => {
      const out = await ask(`docs.${Z}`);
      assert.equal(out.rcode, 0);
      assert.deepEqual(rrText(out), [`docs.${Z} 300 5 docs.example.org`]);
      const dangling = await ask(`dangling.${Z}`);
      assert.equal(dangling.rcode, 3);
      assert.deepEqual(rrText(dangling), [`dangling.${Z} 300 5 missing.${Z}`]);
      assert.deepEqual(rrText(dangling, 'authority'), [SOA_LINE]);
    });

    test('wildcards synthesize answers owned by the query name (RFC 4592)', async () => {
      const r = await ask(`Foo.wild.${Z}`);
      assert.deepEqual(rrText(r), [`Foo.wild.${Z} 300 1 192.0.2.77`]);
      const deep = await ask(`a.b.wild.${Z}`, RRType.TXT);
      assert.deepEqual(rrText(deep), [`a.b.wild.${Z} 300 16 wildcard`]);
      const nodata = await ask(`foo.wild.${Z}`, RRType.AAAA);
      assert.equal(nodata.rcode, 0);
      assert.deepEqual(rrText(nodata, 'authority'), [SOA_LINE]);
      // The wildcard does not cover names whose closest encloser is elsewhere.
      assert.equal((await ask(`foo.nowild.${Z}`)).rcode, 3);
    });

    test('below a delegation: a referral with AA clear, NS in authority and glue', async () => {
      for (const name of [`www.sub.${Z}`, `sub.${Z}`, `ns.sub.${Z}`]) {
        const r = await ask(name);
        assert.equal(r.rcode, 0, name);
        assert.ok(!r.aa, `${name}: not authoritative below a cut`);
        assert.deepEqual(r.answers, []);
        assert.deepEqual(rrText(r, 'authority'), [`sub.${Z} 300 2 ns.sub.${Z}`, `sub.${Z} 300 2 ns.other.example`]);
        assert.deepEqual(rrText(r, 'additional'), [`ns.sub.${Z} 300 1 192.0.2.200`]);
      }
      const ds = await ask(`sub.${Z}`, RRType.DS);
      assert.ok(ds.aa, 'DS at the cut is answered by the parent side');
      assert.deepEqual(rrText(ds, 'authority'), [SOA_LINE]);
    });

    test('MX with the exchange address in additional, SRV, CAA, split TXT', async () => {
      const mx = await ask(Z, RRType.MX);
      assert.deepEqual(rrText(mx), [`${Z} 300 15 10 mail.${Z}`]);
      assert.deepEqual(rrText(mx, 'additional'), [`mail.${Z} 300 1 192.0.2.25`]);
      const srv = await ask(`_https._tcp.${Z}`, RRType.SRV);
      assert.deepEqual(rrText(srv), [`_https._tcp.${Z} 300 33 10 5 443 app.${Z}`]);
      const caa = await ask(`caa.${Z}`, RRType.CAA);
      assert.deepEqual(rrText(caa), [`caa.${Z} 300 257 0 issue letsencrypt.org`]);
      const txt = await ask(`long.${Z}`, RRType.TXT);
      const data = txt.answers[0]!.data as { strings: Buffer[] };
      assert.deepEqual(
        data.strings.map((s) => s.length),
        [255, 45],
      );
    });

    test('ANY is answered with one synthesized HINFO (RFC 8482)', async () => {
      const r = await ask(Z, RRType.ANY);
      assert.deepEqual(rrText(r), [`${Z} 300 13 RFC8482 `]);
      const nx = await ask(`nope.${Z}`, RRType.ANY);
      assert.equal(nx.rcode, 3);
    });

    test('unknown query types get NODATA', async () => {
      const r = await ask(`ns1.${Z}`, 65280);
      assert.equal(r.rcode, 0);
      assert.deepEqual(r.answers, []);
      assert.deepEqual(rrText(r, 'authority'), [SOA_LINE]);
    });

    test('service names answer with endpoint addresses of the family asked, TTL of the service', async () => {
      assert.deepEqual(rrText(await ask(`app.${Z}`)).sort(), [`app.${Z} 30 1 192.0.2.10`, `app.${Z} 30 1 192.0.2.11`]);
      assert.deepEqual(rrText(await ask(`APP.${Z}`, RRType.AAAA)), [`APP.${Z} 30 28 2001:db8::10`]);
      const v4only = await ask(`legacy.${Z}`, RRType.AAAA);
      assert.equal(v4only.rcode, 0);
      assert.deepEqual(v4only.answers, [], 'a service without IPv6 endpoints in any region answers AAAA with NODATA');
      // ...whose SOA TTL is no longer than the service's TTL (20 s), not the zone's negative TTL (60 s).
      assert.deepEqual(rrText(v4only, 'authority'), [SOA_LINE.replace(` 60 6 `, ` 20 6 `)]);
      assert.deepEqual(rrText(await ask(`app.${Z}`, RRType.TXT), 'authority'), [SOA_LINE]);
      assert.deepEqual(rrText(await ask(`cdn.${Z}`)), [`cdn.${Z} 30 5 edge.cdn.example.net`]);
    });

    test('CHAOS id.server gives the node id; other classes are REFUSED', async () => {
      const id = await ask('id.server', RRType.TXT, { class: 3 });
      assert.deepEqual(rrText(id), ['id.server 0 16 test-node']);
      assert.equal((await ask('version.bind', RRType.TXT, { class: 3 })).rcode, 5);
      assert.equal((await ask(Z, RRType.A, { class: 4 })).rcode, 5);
    });

    test('zone transfers are refused; meta types are FORMERR or NOTIMP', async () => {
      assert.equal((await ask(Z, RRType.AXFR)).rcode, 5);
      assert.equal((await ask(Z, RRType.IXFR)).rcode, 5);
      assert.equal((await ask(Z, RRType.OPT)).rcode, 1);
      assert.equal((await ask(Z, RRType.MAILB)).rcode, 4);
    });

    test('the header Z bit is ignored and cleared; CD is copied', async () => {
      const r = await ask(`ns1.${Z}`, RRType.A, { flags: 0x0040 | 0x0010 });
      assert.equal(r.flags & 0x0040, 0);
      assert.equal(r.flags & 0x0010, 0x0010);
      assert.equal(r.answers.length, 1);
    });
  });
}

describe('malformed and unusual packets', () => {
  test('a readable header with a broken body gets FORMERR with the ID echoed', async () => {
    const good = buildQuery({ name: `ns1.${Z}`, id: 777, edns: false });
    const broken = good.subarray(0, good.length - 3);
    const reply = await udpRaw(ts.udp, broken);
    assert.ok(reply);
    assert.equal(reply.readUInt16BE(0), 777);
    assert.equal(reply.readUInt16BE(2) & 0x800f, 0x8001);
  });

  test('unknown opcode gets NOTIMP', async () => {
    const q = buildQuery({ name: Z, id: 9, flags: 5 << 11, edns: false });
    const reply = await udpRaw(ts.udp, q);
    assert.ok(reply);
    assert.equal(reply.readUInt16BE(2) & 0xf, 4);
    assert.equal((reply.readUInt16BE(2) >> 11) & 0xf, 5, 'opcode echoed');
  });

  test('responses (QR=1) and runts are dropped', async () => {
    assert.equal(await udpRaw(ts.udp, buildQuery({ name: Z, flags: 0x8000 }), 300), undefined);
    assert.equal(await udpRaw(ts.udp, Buffer.from([1, 2, 3, 4, 5]), 300), undefined);
    assert.equal(await udpRaw(ts.udp, Buffer.alloc(0), 300), undefined);
    // And the server is still there.
    assert.equal((await udpQuery(ts.udp, { name: `ns1.${Z}` })).answers.length, 1);
  });

  test('the IPv6 listener answers like the IPv4 one', async () => {
    const r = await udpQuery(v6, { name: `app.${Z}`, type: RRType.AAAA });
    assert.deepEqual(rrText(r), [`app.${Z} 30 28 2001:db8::10`]);
    const t = await tcpQuery(v6, { name: Z, type: RRType.SOA });
    assert.equal(t.answers.length, 1);
  });
});

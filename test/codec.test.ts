/**
 * Wire codec: BlockWriter (encoder with compression), decodeMessage (strict reference decoder) and
 * ParsedQuery (the query-path parser). dns2 serves as an independent decoder for simple messages.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import dns2 from 'dns2';
import { RRClass, RRType } from '../src/wire/constants.js';
import { DecodeError, decodeMessage, readName, type DecodedMessage, type DecodedRecord } from '../src/wire/decode.js';
import { bytesToIpv6, ipFamily, ipv6ToBytes } from '../src/wire/ip.js';
import { nameToWire, wireLength } from '../src/wire/name.js';
import { ParsedQuery, ParseOutcome } from '../src/wire/query.js';
import type { OpaqueData, RecordData, ResourceRecord } from '../src/wire/records.js';
import { BlockWriter } from '../src/wire/writer.js';
import { buildQuery, ecsOption, optRecord } from './helpers/dns-client.js';

const { Packet } = dns2;

const QNAME = 'www.example.test';
const HEADER = 12;

function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

function question(name: string, type: number = RRType.A, klass: number = RRClass.IN): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(klass, 2);
  return Buffer.concat([nameToWire(name), tail]);
}

interface Sections {
  answers?: ResourceRecord[];
  authority?: ResourceRecord[];
  additional?: ResourceRecord[];
}

/** A full response: header with counts, one question (name known to the writer), then the records. */
function buildResponse(sections: Sections, qname = QNAME, qtype: number = RRType.A, id = 0x1234): { msg: Buffer; block: Buffer } {
  const q = question(qname, qtype);
  const w = new BlockWriter(HEADER + q.length, 16);
  w.knowName(qname, HEADER);
  const all = [...(sections.answers ?? []), ...(sections.authority ?? []), ...(sections.additional ?? [])];
  for (const rr of all) w.recordOf(rr);
  const block = w.finish();
  assert.equal(block.length, w.length);
  const h = header(id, 0x8400, 1, sections.answers?.length ?? 0, sections.authority?.length ?? 0, sections.additional?.length ?? 0);
  return { msg: Buffer.concat([h, q, block]), block };
}

/** Decoded data back to the writer's model (decoded names keep wire case; ours are already canonical). */
function toRecord(d: DecodedRecord): ResourceRecord {
  assert.ok(!('raw' in d.data), `type ${d.type} decoded as opaque`);
  return { name: d.name, ttl: d.ttl, data: d.data as RecordData };
}

function roundTrip(rrs: ResourceRecord[]): DecodedMessage {
  const { msg, block } = buildResponse({ answers: rrs });
  const decoded = decodeMessage(msg);
  assert.equal(decoded.id, 0x1234);
  assert.equal(decoded.qr, true);
  assert.equal(decoded.aa, true);
  assert.equal(decoded.rcode, 0);
  assert.deepEqual(decoded.questions, [{ name: QNAME, type: RRType.A, class: RRClass.IN }]);
  assert.equal(decoded.answers.length, rrs.length);
  decoded.answers.forEach((d, i) => {
    const rr = rrs[i]!;
    assert.equal(d.name, rr.name);
    assert.equal(d.type, rr.data.type);
    assert.equal(d.class, RRClass.IN);
    assert.equal(d.ttl, rr.ttl);
  });
  // Re-encoding what was decoded gives the very same bytes.
  const again = buildResponse({ answers: decoded.answers.map(toRecord) });
  assert.deepEqual(again.block, block);
  assert.deepEqual(again.msg, msg);
  return decoded;
}

function only(rr: ResourceRecord): RecordData | OpaqueData {
  const decoded = roundTrip([rr]);
  return decoded.answers[0]!.data;
}

describe('round trip of every record type', () => {
  test('A', () => {
    assert.deepEqual(only({ name: QNAME, ttl: 300, data: { type: RRType.A, address: '192.0.2.1' } }), { type: RRType.A, address: '192.0.2.1' });
    assert.deepEqual(only({ name: 'a.example.test', ttl: 0, data: { type: RRType.A, address: '0.0.0.0' } }), { type: RRType.A, address: '0.0.0.0' });
    assert.deepEqual(only({ name: 'b.example.test', ttl: 2147483647, data: { type: RRType.A, address: '255.255.255.255' } }), {
      type: RRType.A,
      address: '255.255.255.255',
    });
  });

  test('A rdata bytes', () => {
    const { block } = buildResponse({ answers: [{ name: QNAME, ttl: 60, data: { type: RRType.A, address: '10.20.30.40' } }] });
    // pointer to the question name, type, class, ttl, rdlength 4, address
    assert.deepEqual([...block], [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 20, 30, 40]);
  });

  const aaaa: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8::', '2001:db8::'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, text] of aaaa) {
    test(`AAAA ${input}`, () => {
      const data = only({ name: QNAME, ttl: 30, data: { type: RRType.AAAA, address: input } });
      assert.deepEqual(data, { type: RRType.AAAA, address: text });
      assert.equal(ipFamily(text), 6);
      assert.deepEqual(ipv6ToBytes(text), ipv6ToBytes(input));
    });
  }

  test('AAAA v4-mapped bytes', () => {
    assert.deepEqual([...ipv6ToBytes('::ffff:192.0.2.1')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
    assert.equal(bytesToIpv6(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]), 0), '::ffff:c000:201');
  });

  test('bytesToIpv6 follows RFC 5952 (first longest run, no :: for a single zero group)', () => {
    const text = (groups: number[]): string => {
      const b = Buffer.alloc(16);
      groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
      return bytesToIpv6(b, 0);
    };
    assert.equal(text([1, 0, 0, 2, 0, 0, 3, 4]), '1::2:0:0:3:4');
    assert.equal(text([1, 0, 2, 3, 4, 5, 6, 7]), '1:0:2:3:4:5:6:7');
    assert.equal(text([1, 0, 0, 2, 0, 0, 0, 3]), '1:0:0:2::3');
    assert.equal(text([0, 0, 0, 0, 0, 0, 0, 0]), '::');
  });

  test('NS and CNAME', () => {
    assert.deepEqual(only({ name: 'example.test', ttl: 3600, data: { type: RRType.NS, target: 'ns1.example.test' } }), {
      type: RRType.NS,
      target: 'ns1.example.test',
    });
    assert.deepEqual(only({ name: QNAME, ttl: 3600, data: { type: RRType.CNAME, target: 'cdn.provider.example' } }), {
      type: RRType.CNAME,
      target: 'cdn.provider.example',
    });
  });

  test('a name equal to the root', () => {
    assert.deepEqual(only({ name: QNAME, ttl: 1, data: { type: RRType.CNAME, target: '' } }), { type: RRType.CNAME, target: '' });
    assert.deepEqual(only({ name: QNAME, ttl: 1, data: { type: RRType.MX, preference: 0, exchange: '' } }), { type: RRType.MX, preference: 0, exchange: '' });
  });

  test('SOA', () => {
    const soa: RecordData = {
      type: RRType.SOA,
      mname: 'ns1.example.test',
      rname: 'hostmaster.example.test',
      serial: 4294967295,
      refresh: 3600,
      retry: 600,
      expire: 604800,
      minimum: 60,
    };
    assert.deepEqual(only({ name: 'example.test', ttl: 60, data: soa }), soa);
  });

  test('TXT with several strings, an empty string, binary bytes and 255 bytes', () => {
    const strings = [Buffer.from('v=spf1 -all'), Buffer.alloc(0), Buffer.from([0, 1, 0xff, 0x22, 0x5c]), Buffer.alloc(255, 0x61)];
    const data = only({ name: QNAME, ttl: 300, data: { type: RRType.TXT, strings } });
    assert.deepEqual(data, { type: RRType.TXT, strings });
  });

  test('TXT of one empty string', () => {
    assert.deepEqual(only({ name: QNAME, ttl: 300, data: { type: RRType.TXT, strings: [Buffer.alloc(0)] } }), { type: RRType.TXT, strings: [Buffer.alloc(0)] });
  });

  test('MX', () => {
    assert.deepEqual(only({ name: 'example.test', ttl: 300, data: { type: RRType.MX, preference: 10, exchange: 'mail.example.test' } }), {
      type: RRType.MX,
      preference: 10,
      exchange: 'mail.example.test',
    });
    assert.deepEqual(only({ name: 'example.test', ttl: 300, data: { type: RRType.MX, preference: 65535, exchange: 'mx.other.example' } }), {
      type: RRType.MX,
      preference: 65535,
      exchange: 'mx.other.example',
    });
  });

  test('SRV', () => {
    const srv: RecordData = { type: RRType.SRV, priority: 10, weight: 60, port: 5060, target: 'sip.example.test' };
    assert.deepEqual(only({ name: '_sip._tcp.example.test', ttl: 300, data: srv }), srv);
  });

  test('CAA', () => {
    const caa: RecordData = { type: RRType.CAA, flags: 128, tag: 'issue', value: Buffer.from('letsencrypt.org; validationmethods=dns-01') };
    assert.deepEqual(only({ name: 'example.test', ttl: 300, data: caa }), caa);
    const empty: RecordData = { type: RRType.CAA, flags: 0, tag: 'issuewild', value: Buffer.alloc(0) };
    assert.deepEqual(only({ name: 'example.test', ttl: 300, data: empty }), empty);
  });

  test('HINFO', () => {
    const hinfo: RecordData = { type: RRType.HINFO, cpu: 'RFC8482', os: '' };
    assert.deepEqual(only({ name: QNAME, ttl: 3600, data: hinfo }), hinfo);
    const other: RecordData = { type: RRType.HINFO, cpu: 'x86-64', os: 'Linux' };
    assert.deepEqual(only({ name: QNAME, ttl: 3600, data: other }), other);
  });

  test('every type in one message, in all three sections', () => {
    const answers: ResourceRecord[] = [
      { name: QNAME, ttl: 30, data: { type: RRType.CNAME, target: 'app.example.test' } },
      { name: 'app.example.test', ttl: 30, data: { type: RRType.A, address: '192.0.2.10' } },
      { name: 'app.example.test', ttl: 30, data: { type: RRType.AAAA, address: '2001:db8::10' } },
    ];
    const authority: ResourceRecord[] = [
      { name: 'example.test', ttl: 60, data: { type: RRType.SOA, mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 } },
      { name: 'example.test', ttl: 60, data: { type: RRType.NS, target: 'ns1.example.test' } },
    ];
    const additional: ResourceRecord[] = [
      { name: 'ns1.example.test', ttl: 60, data: { type: RRType.A, address: '192.0.2.53' } },
      { name: 'example.test', ttl: 60, data: { type: RRType.MX, preference: 5, exchange: 'mail.example.test' } },
      { name: 'example.test', ttl: 60, data: { type: RRType.TXT, strings: [Buffer.from('a'), Buffer.from('b')] } },
      { name: '_x._tcp.example.test', ttl: 60, data: { type: RRType.SRV, priority: 1, weight: 2, port: 3, target: 'app.example.test' } },
      { name: 'example.test', ttl: 60, data: { type: RRType.CAA, flags: 0, tag: 'issue', value: Buffer.from('ca.example') } },
      { name: QNAME, ttl: 60, data: { type: RRType.HINFO, cpu: 'c', os: 'o' } },
    ];
    const { msg } = buildResponse({ answers, authority, additional });
    const d = decodeMessage(msg);
    const strip = (r: DecodedRecord): ResourceRecord => toRecord(r);
    assert.deepEqual(d.answers.map(strip), answers);
    assert.deepEqual(d.authority.map(strip), authority);
    assert.deepEqual(d.additional.map(strip), additional);
    assert.equal(d.edns, undefined);
  });

  test('unknown types decode as opaque rdata', () => {
    const rr = Buffer.concat([Buffer.from([0xc0, 12]), Buffer.from([0, 99, 0, 1, 0, 0, 0, 5, 0, 3, 1, 2, 3])]);
    const msg = Buffer.concat([header(1, 0x8000, 1, 1, 0, 0), question(QNAME), rr]);
    const d = decodeMessage(msg);
    assert.deepEqual(d.answers[0], { name: QNAME, type: 99, class: 1, ttl: 5, data: { type: 99, raw: Buffer.from([1, 2, 3]) } });
  });

  test('decodeMessage reads the OPT record into edns, with the extended rcode', () => {
    const opt = optRecord({ udpSize: 1232, options: [{ code: 3, data: Buffer.from('node-a') }] });
    // extended rcode 1 (BADVERS = 16 with header rcode 0) in the OPT TTL's top byte
    opt[5] = 1;
    const msg = Buffer.concat([header(9, 0x8000, 1, 0, 0, 1), question(QNAME), opt]);
    const d = decodeMessage(msg);
    assert.equal(d.rcode, 16);
    assert.deepEqual(d.edns, { udpSize: 1232, extendedRcode: 1, version: 0, flags: 0, options: [{ code: 3, data: Buffer.from('node-a') }] });
    assert.deepEqual(d.additional, []);
  });

  test('decodeMessage header bits', () => {
    const d = decodeMessage(header(0xbeef, 0x8000 | (2 << 11) | 0x0400 | 0x0200 | 0x0100 | 0x0080 | 3, 0, 0, 0, 0));
    assert.deepEqual([d.id, d.qr, d.opcode, d.aa, d.tc, d.rd, d.ra, d.rcode], [0xbeef, true, 2, true, true, true, true, 3]);
  });
});

describe('compression', () => {
  test('repeated names are written as pointers, and the message is shorter than uncompressed', () => {
    const rrs: ResourceRecord[] = [
      { name: 'app.example.test', ttl: 30, data: { type: RRType.A, address: '192.0.2.1' } },
      { name: 'app.example.test', ttl: 30, data: { type: RRType.A, address: '192.0.2.2' } },
      { name: 'example.test', ttl: 30, data: { type: RRType.NS, target: 'ns1.example.test' } },
      { name: 'example.test', ttl: 30, data: { type: RRType.NS, target: 'ns2.example.test' } },
    ];
    const w = new BlockWriter(HEADER);
    for (const rr of rrs) w.recordOf(rr);
    const block = w.finish();
    const uncompressed = rrs.reduce((n, rr) => n + wireLength(rr.name) + 10 + (rr.data.type === RRType.A ? 4 : wireLength((rr.data as { target: string }).target)), 0);
    assert.ok(block.length < uncompressed, `${block.length} < ${uncompressed}`);
    // First owner in full at 12; the second is a pointer to it.
    assert.deepEqual([...block.subarray(0, 18)], [...nameToWire('app.example.test')]);
    const second = 18 + 10 + 4;
    assert.deepEqual([...block.subarray(second, second + 2)], [0xc0, 12]);
    // "example.test" is a suffix of the first name: pointer to offset 12 + 4.
    const third = second + 2 + 10 + 4;
    assert.deepEqual([...block.subarray(third, third + 2)], [0xc0, 16]);
    // ns1.example.test: one label, then a pointer to example.test.
    const rdata3 = third + 2 + 10;
    assert.deepEqual([...block.subarray(rdata3, rdata3 + 6)], [3, 0x6e, 0x73, 0x31, 0xc0, 16]);
    const msg = Buffer.concat([header(1, 0x8000, 0, 4, 0, 0), block]);
    const d = decodeMessage(msg);
    assert.deepEqual(d.answers.map(toRecord), rrs);
  });

  test('knowName: pointers into the question decode correctly', () => {
    const qname = 'deep.www.example.test';
    const q = question(qname);
    const w = new BlockWriter(HEADER + q.length);
    w.knowName(qname, HEADER);
    assert.equal(w.offsetOf(qname), 12);
    assert.equal(w.offsetOf('www.example.test'), 17);
    assert.equal(w.offsetOf('example.test'), 21);
    assert.equal(w.offsetOf('test'), 29);
    assert.equal(w.offsetOf('other.test'), undefined);
    const rrs: ResourceRecord[] = [
      { name: qname, ttl: 5, data: { type: RRType.CNAME, target: 'www.example.test' } },
      { name: 'www.example.test', ttl: 5, data: { type: RRType.CNAME, target: 'x.example.test' } },
      { name: 'x.example.test', ttl: 5, data: { type: RRType.A, address: '192.0.2.7' } },
      { name: 'y.test', ttl: 5, data: { type: RRType.TXT, strings: [Buffer.from('t')] } },
    ];
    for (const rr of rrs) w.recordOf(rr);
    const block = w.finish();
    assert.deepEqual([...block.subarray(0, 2)], [0xc0, 12], 'owner = question name');
    assert.deepEqual([...block.subarray(12, 14)], [0xc0, 17], 'CNAME target = suffix of the question name');
    const msg = Buffer.concat([header(2, 0x8000, 1, rrs.length, 0, 0), q, block]);
    assert.ok(msg.length < HEADER + q.length + rrs.reduce((n, rr) => n + wireLength(rr.name) + 10, 0) + 4 + 4 + 2);
    const d = decodeMessage(msg);
    assert.deepEqual(d.answers.map(toRecord), rrs);
  });

  test('knowName with the question name mid-message, and owner given as an offset', () => {
    const w = new BlockWriter(100);
    w.knowName('a.b.c', 40);
    w.record(40, 7, { type: RRType.A, address: '1.2.3.4' });
    w.name('b.c');
    const block = w.finish();
    assert.deepEqual([...block.subarray(0, 2)], [0xc0, 40]);
    assert.deepEqual([...block.subarray(block.length - 2)], [0xc0, 42]);
  });

  test('the SRV target is never compressed', () => {
    const rrs: ResourceRecord[] = [
      { name: '_sip._tcp.example.test', ttl: 300, data: { type: RRType.SRV, priority: 1, weight: 1, port: 5060, target: QNAME } },
      { name: '_sip._udp.example.test', ttl: 300, data: { type: RRType.SRV, priority: 1, weight: 1, port: 5060, target: 'example.test' } },
    ];
    const { msg, block } = buildResponse({ answers: rrs });
    const d = decodeMessage(msg);
    assert.deepEqual(d.answers.map(toRecord), rrs);
    // Walk the block: owner (compressed against the question), 10 bytes, rdata = 6 + full target.
    let pos = 0;
    for (const rr of rrs) {
      const target = (rr.data as { target: string }).target;
      const [, afterOwner] = readName(msg, msg.length - block.length + pos);
      pos = afterOwner - (msg.length - block.length);
      const rdlen = block.readUInt16BE(pos + 8);
      assert.equal(rdlen, 6 + wireLength(target), 'SRV rdata carries the whole target name');
      assert.deepEqual(block.subarray(pos + 16, pos + 10 + rdlen), nameToWire(target));
      pos += 10 + rdlen;
    }
    assert.equal(pos, block.length);
  });

  test('names past offset 0x3fff are not pointed at (pointers have 14 bits)', () => {
    const w = new BlockWriter(0x4000);
    w.name('far.example.test');
    w.name('far.example.test');
    const block = w.finish();
    assert.deepEqual(block, Buffer.concat([nameToWire('far.example.test'), nameToWire('far.example.test')]));
    const k = new BlockWriter(20);
    k.knowName('x.test', 0x3ffe);
    assert.equal(k.offsetOf('x.test'), 0x3ffe);
    assert.equal(k.offsetOf('test'), undefined, 'suffix would sit past 0x3fff');
  });

  test('the writer grows past its initial capacity', () => {
    const w = new BlockWriter(HEADER, 4);
    const strings = Array.from({ length: 20 }, (_, i) => Buffer.alloc(255, 0x41 + i));
    w.record('big.example.test', 1, { type: RRType.TXT, strings });
    const msg = Buffer.concat([header(1, 0x8000, 0, 1, 0, 0), w.finish()]);
    assert.deepEqual(decodeMessage(msg).answers[0]!.data, { type: RRType.TXT, strings });
  });
});

describe('decodeMessage rejects malformed messages', () => {
  const rejects = (msg: Buffer, re: RegExp): void => {
    assert.throws(() => decodeMessage(msg), (err: unknown) => err instanceof DecodeError && re.test(err.message));
  };

  test('shorter than a header', () => {
    rejects(Buffer.alloc(11), /header/);
  });

  test('a pointer to itself', () => {
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), /pointer/);
  });

  test('a forward pointer', () => {
    const body = Buffer.concat([Buffer.from([0xc0, 14]), nameToWire('a.test'), Buffer.from([0, 1, 0, 1])]);
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), body]), /pointer/);
  });

  test('a pointer loop between two names', () => {
    // at 12: pointer to 14; at 14: pointer back to 12. Entered from either end, it must not spin.
    const loop = Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([0xc0, 14, 0xc0, 12, 0, 1, 0, 1])]);
    rejects(loop, /pointer/);
    assert.throws(() => readName(loop, 14), DecodeError);
    // "a" followed by a pointer to the label itself
    assert.throws(() => readName(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([1, 0x61, 0xc0, 12])]), 12), DecodeError);
    // Backward pointers may chain: the second owner (at 40) points at the first (at 24), which points at 12.
    const ok = Buffer.concat([header(1, 0, 1, 2, 0, 0), question('a.test'), Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]), Buffer.from([0xc0, 24, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4])]);
    const d = decodeMessage(ok);
    assert.deepEqual(
      d.answers.map((a) => a.name),
      ['a.test', 'a.test'],
    );
  });

  test('an unknown label type (0x40, 0x80)', () => {
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([0x41, 0, 0, 1, 0, 1])]), /label type/);
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([0x80, 0, 0, 1, 0, 1])]), /label type/);
  });

  test('a name longer than 255 bytes, directly or through pointers', () => {
    const labels = Array.from({ length: 5 }, () => 'a'.repeat(50)).join('.'); // 5 * 51 + 1 = 256
    assert.equal(wireLength(labels), 256);
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), nameToWire(labels), Buffer.from([0, 1, 0, 1])]), /255/);
    // 4 labels of 50 in the question (205 bytes), then an answer owner adding 51 bytes before a pointer to it.
    const four = Array.from({ length: 4 }, () => 'b'.repeat(50)).join('.');
    const owner = Buffer.concat([Buffer.from([50]), Buffer.alloc(50, 0x63), Buffer.from([0xc0, 12])]);
    const rr = Buffer.concat([owner, Buffer.from([0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4])]);
    rejects(Buffer.concat([header(1, 0, 1, 1, 0, 0), question(four), rr]), /255/);
    // 255 exactly is fine
    const max = [...Array.from({ length: 4 }, () => 'd'.repeat(62)), 'e'.repeat(2)].join('.');
    assert.equal(wireLength(max), 4 * 63 + 3 + 1);
    assert.equal(decodeMessage(Buffer.concat([header(1, 0, 1, 0, 0, 0), question(max.slice(0, -1))])).questions[0]!.name, max.slice(0, -1));
  });

  test('a name running past the end', () => {
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([3, 0x61, 0x62])]), /past the end/);
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([1, 0x61])]), /past the end/);
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([0xc0])]), /pointer/);
  });

  test('a truncated question', () => {
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 0), nameToWire('a.test'), Buffer.from([0, 1, 0])]), /truncated question/);
    rejects(header(1, 0, 1, 0, 0, 0), /past the end/);
  });

  test('truncated records', () => {
    const base = (an: number): Buffer => Buffer.concat([header(1, 0x8000, 1, an, 0, 0), question(QNAME)]);
    const full = buildResponse({ answers: [{ name: QNAME, ttl: 1, data: { type: RRType.A, address: '1.2.3.4' } }] }).msg;
    assert.doesNotThrow(() => decodeMessage(full));
    // count says one answer, there is none
    rejects(base(1), /past the end/);
    // record header cut short
    rejects(full.subarray(0, full.length - 8), /truncated record header/);
    // rdata cut short
    rejects(full.subarray(0, full.length - 1), /truncated rdata/);
    // A with 3 bytes of rdata
    rejects(Buffer.concat([base(1), Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3])]), /expected 4/);
    // AAAA with 4
    rejects(Buffer.concat([base(1), Buffer.from([0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4])]), /expected 16/);
  });

  test('rdata whose contents overrun or underrun its length', () => {
    const base = Buffer.concat([header(1, 0x8000, 1, 1, 0, 0), question(QNAME)]);
    const rr = (type: number, rdata: number[]): Buffer => {
      const h = Buffer.from([0xc0, 12, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
      h.writeUInt16BE(type, 2);
      h.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([base, h, Buffer.from(rdata)]);
    };
    // TXT character-string longer than the rdata
    rejects(rr(RRType.TXT, [5, 0x61, 0x62]), /character-string/);
    // HINFO with only the cpu string
    rejects(rr(RRType.HINFO, [1, 0x61]), /character-string/);
    rejects(rr(RRType.HINFO, [0]), /character-string/);
    // HINFO with a byte after os
    rejects(rr(RRType.HINFO, [0, 0, 9]), /HINFO/);
    // CNAME whose name runs past the rdata (the name continues into nothing)
    rejects(rr(RRType.CNAME, [1, 0x61]), /past/);
    // CNAME/NS/MX/SRV with bytes after the name
    rejects(rr(RRType.CNAME, [1, 0x61, 0, 7]), /after the name/);
    rejects(rr(RRType.NS, [0xc0, 12, 0]), /after the name/);
    rejects(rr(RRType.MX, [0, 1, 0, 9]), /after the name/);
    rejects(rr(RRType.SRV, [0, 1, 0, 1, 0, 1, 0, 9]), /after the name/);
    // short MX / SRV / CAA
    rejects(rr(RRType.MX, [0, 1]), /short MX/);
    rejects(rr(RRType.SRV, [0, 1, 0, 1, 0, 1]), /short SRV/);
    rejects(rr(RRType.CAA, [0]), /short CAA/);
    rejects(rr(RRType.CAA, [0, 9, 0x61]), /CAA tag/);
    // SOA with missing timers
    rejects(rr(RRType.SOA, [0, 0, 0, 0, 0, 1]), /SOA/);
  });

  test('OPT in the wrong section, or twice', () => {
    const opt = optRecord({});
    rejects(Buffer.concat([header(1, 0, 1, 1, 0, 0), question(QNAME), opt]), /OPT/);
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 2), question(QNAME), opt, opt]), /OPT/);
    const badOpt = optRecord({ options: [{ code: 8, data: Buffer.from([0, 1]) }] });
    badOpt.writeUInt16BE(badOpt.readUInt16BE(9) - 1, 9); // option claims more than the OPT holds
    rejects(Buffer.concat([header(1, 0, 1, 0, 0, 1), question(QNAME), badOpt.subarray(0, badOpt.length - 1)]), /EDNS option/);
  });
});

describe('ParsedQuery', () => {
  const parse = (msg: Buffer): { outcome: ParseOutcome; q: ParsedQuery } => {
    const q = new ParsedQuery();
    return { outcome: q.parse(msg), q };
  };
  const outcomeOf = (msg: Buffer): ParseOutcome => parse(msg).outcome;

  test('a valid query with OPT, ECS and NSID', () => {
    const msg = buildQuery({
      name: 'WWW.Example.TEST',
      type: RRType.AAAA,
      id: 0xabcd,
      flags: 0x0100,
      edns: { udpSize: 4096, flags: 0x8000, options: [ecsOption('198.51.100.0', 24), { code: 3, data: Buffer.alloc(0) }] },
    });
    const { outcome, q } = parse(msg);
    assert.equal(outcome, ParseOutcome.OK);
    assert.equal(q.id, 0xabcd);
    assert.equal(q.flags, 0x0100);
    assert.equal(q.opcode, 0);
    assert.equal(q.qname, 'www.example.test');
    assert.equal(q.qtype, RRType.AAAA);
    assert.equal(q.qclass, RRClass.IN);
    assert.equal(q.qnameEnd, 12 + wireLength('www.example.test'));
    assert.equal(q.questionEnd, q.qnameEnd + 4);
    assert.equal(q.hasEdns, true);
    assert.equal(q.udpSize, 4096);
    assert.equal(q.ednsVersion, 0);
    assert.equal(q.ednsFlags, 0x8000);
    assert.equal(q.wantsNsid, true);
    assert.equal(q.hasEcs, true);
    assert.equal(q.ecs.family, 1);
    assert.equal(q.ecs.sourcePrefix, 24);
    assert.deepEqual([...q.ecs.address.subarray(0, 4)], [198, 51, 100, 0]);
    assert.ok(q.ecs.address.subarray(4).every((b) => b === 0));
  });

  test('IPv6 ECS with a prefix that is not a whole number of bytes', () => {
    const { outcome, q } = parse(buildQuery({ name: 'a.test', edns: { options: [ecsOption('2001:db8:ab80::', 41)] } }));
    assert.equal(outcome, ParseOutcome.OK);
    assert.equal(q.ecs.family, 2);
    assert.equal(q.ecs.sourcePrefix, 41);
    assert.deepEqual(q.ecs.address, ipv6ToBytes('2001:db8:ab80::'));
  });

  test('ECS source prefix 0', () => {
    const { outcome, q } = parse(buildQuery({ name: 'a.test', edns: { options: [ecsOption('0.0.0.0', 0)] } }));
    assert.equal(outcome, ParseOutcome.OK);
    assert.equal(q.hasEcs, true);
    assert.equal(q.ecs.sourcePrefix, 0);
  });

  test('without EDNS; and a reused parser forgets the previous query', () => {
    const q = new ParsedQuery();
    assert.equal(q.parse(buildQuery({ name: 'a.test', edns: { udpSize: 1400, options: [ecsOption('192.0.2.0', 24), { code: 3, data: Buffer.alloc(0) }] } })), ParseOutcome.OK);
    assert.equal(q.hasEcs, true);
    assert.equal(q.parse(buildQuery({ name: 'B.test', type: RRType.TXT, edns: false })), ParseOutcome.OK);
    assert.equal(q.qname, 'b.test');
    assert.equal(q.qtype, RRType.TXT);
    assert.equal(q.hasEdns, false);
    assert.equal(q.hasEcs, false);
    assert.equal(q.wantsNsid, false);
    assert.equal(q.udpSize, 0);
  });

  test('the root name', () => {
    const { outcome, q } = parse(buildQuery({ name: '.', type: RRType.NS, edns: false }));
    assert.equal(outcome, ParseOutcome.OK);
    assert.equal(q.qname, '');
    assert.equal(q.qnameEnd, 13);
  });

  test('odd bytes in labels are escaped so they never match a zone name', () => {
    const msg = Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([3, 0x61, 0x2e, 0x20, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 1, 0, 1])]);
    const { outcome, q } = parse(msg);
    assert.equal(outcome, ParseOutcome.OK);
    assert.equal(q.qname, 'a\\046\\032.test');
    assert.equal(q.qnameEnd, 12 + 10);
  });

  test('question names: lowercased, odd bytes as three decimal digits (\\DDD), labels joined by dots', () => {
    const cases: [number[][], string][] = [
      [[[0x41, 0x70, 0x50], [0x54, 0x65, 0x53, 0x74]], 'app.test'],
      [[[0x00, 0x09, 0x7f, 0xff]], '\\000\\009\\127\\255'],
      [[[0x5c, 0x2e], [0x5a, 0x40, 0x5b, 0x60, 0x7b]], '\\092\\046.z@[`{'],
      [[Array.from({ length: 63 }, () => 0xc8), Array.from({ length: 63 }, () => 0x61)], '\\200'.repeat(63) + '.' + 'a'.repeat(63)],
    ];
    for (const [labels, text] of cases) {
      const name = labels.flatMap((l) => [l.length, ...l]);
      const msg = Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([...name, 0, 0, 1, 0, 1])]);
      const { outcome, q } = parse(msg);
      assert.equal(outcome, ParseOutcome.OK);
      assert.equal(q.qname, text);
    }
  });

  test('unknown EDNS options are skipped', () => {
    const { outcome, q } = parse(buildQuery({ name: 'a.test', edns: { options: [{ code: 10, data: Buffer.alloc(8, 1) }, { code: 65001, data: Buffer.from('x') }] } }));
    assert.equal(outcome, ParseOutcome.OK);
    assert.equal(q.hasEcs, false);
    assert.equal(q.wantsNsid, false);
  });

  test('DROP: shorter than a header, or a response', () => {
    assert.equal(outcomeOf(Buffer.alloc(0)), ParseOutcome.DROP);
    assert.equal(outcomeOf(Buffer.alloc(11)), ParseOutcome.DROP);
    assert.equal(outcomeOf(buildQuery({ name: 'a.test', flags: 0x8000 })), ParseOutcome.DROP);
    assert.equal(outcomeOf(buildQuery({ name: 'a.test', flags: 0x8000 | (4 << 11) })), ParseOutcome.DROP, 'QR=1 wins over opcode');
  });

  test('NOTIMP: opcode other than QUERY (NOTIFY = 4, UPDATE = 5, IQUERY = 1)', () => {
    for (const opcode of [1, 2, 4, 5]) {
      const { outcome, q } = parse(buildQuery({ name: 'a.test', flags: opcode << 11 }));
      assert.equal(outcome, ParseOutcome.NOTIMP, `opcode ${opcode}`);
      assert.equal(q.opcode, opcode);
    }
  });

  describe('FORMERR', () => {
    const formerr = (msg: Buffer, why: string): void => assert.equal(outcomeOf(msg), ParseOutcome.FORMERR, why);

    test('QDCOUNT is not 1', () => {
      const two = Buffer.concat([header(1, 0, 2, 0, 0, 0), question('a.test'), question('b.test')]);
      formerr(two, 'QDCOUNT=2');
      formerr(header(1, 0, 0, 0, 0, 0), 'QDCOUNT=0');
    });

    test('truncated question', () => {
      const full = buildQuery({ name: 'www.example.test', edns: false });
      for (let cut = 13; cut < full.length; cut++) formerr(full.subarray(0, cut), `cut at ${cut}`);
      formerr(header(1, 0, 1, 0, 0, 0), 'no question at all');
    });

    test('a compression pointer in the question', () => {
      formerr(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])]), 'pointer after a label');
      formerr(Buffer.concat([header(1, 0, 1, 0, 0, 0), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), 'pointer as the name');
    });

    test('a question name over 255 bytes', () => {
      const long = Array.from({ length: 5 }, () => 'a'.repeat(50)).join('.');
      formerr(Buffer.concat([header(1, 0, 1, 0, 0, 0), question(long)]), '256 bytes');
    });

    test('ECS with bits set beyond the source prefix', () => {
      const data = Buffer.from([0, 1, 20, 0, 10, 0, 0x1f]); // /20 but the last byte has bits 21-24 set
      formerr(buildQuery({ name: 'a.test', edns: { options: [{ code: 8, data }] } }), 'bits past /20');
      const v6 = Buffer.from([0, 2, 9, 0, 0x20, 0xff]);
      formerr(buildQuery({ name: 'a.test', edns: { options: [{ code: 8, data: v6 }] } }), 'bits past /9');
    });

    test('ECS family 3', () => {
      formerr(buildQuery({ name: 'a.test', edns: { options: [{ code: 8, data: Buffer.from([0, 3, 8, 0, 10]) }] } }), 'family 3');
    });

    test('ECS source prefix too long for the family', () => {
      formerr(buildQuery({ name: 'a.test', edns: { options: [{ code: 8, data: Buffer.from([0, 1, 33, 0, 1, 2, 3, 4, 0]) }] } }), 'IPv4 /33');
      formerr(buildQuery({ name: 'a.test', edns: { options: [{ code: 8, data: Buffer.concat([Buffer.from([0, 2, 129, 0]), Buffer.alloc(17)]) }] } }), 'IPv6 /129');
    });

    test('ECS address length does not match the source prefix', () => {
      formerr(buildQuery({ name: 'a.test', edns: { options: [{ code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2, 0]) }] } }), '4 bytes for /24');
      formerr(buildQuery({ name: 'a.test', edns: { options: [{ code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0]) }] } }), '2 bytes for /24');
      formerr(buildQuery({ name: 'a.test', edns: { options: [{ code: 8, data: Buffer.from([0, 1, 24]) }] } }), 'option shorter than 4');
    });

    test('two ECS options', () => {
      formerr(buildQuery({ name: 'a.test', edns: { options: [ecsOption('192.0.2.0', 24), ecsOption('192.0.2.0', 24)] } }), 'two ECS');
    });

    test('an EDNS option that runs past the OPT rdata', () => {
      const opt = optRecord({ options: [{ code: 3, data: Buffer.alloc(4) }] });
      opt.writeUInt16BE(6, 9); // rdlength covers only part of the option
      formerr(Buffer.concat([header(1, 0, 1, 0, 0, 1), question('a.test'), opt.subarray(0, 11 + 6)]), 'option past OPT');
    });

    test('two OPT records', () => {
      const msg = Buffer.concat([header(1, 0, 1, 0, 0, 2), question('a.test'), optRecord({}), optRecord({})]);
      formerr(msg, 'two OPT');
    });

    test('OPT with a non-root owner', () => {
      const opt = optRecord({});
      const owned = Buffer.concat([nameToWire('a.test'), opt.subarray(1)]);
      formerr(Buffer.concat([header(1, 0, 1, 0, 0, 1), question('a.test'), owned]), 'OPT owned by a.test');
      // the owner written as a pointer to the question is not the root either
      const pointed = Buffer.concat([Buffer.from([0xc0, 12]), opt.subarray(1)]);
      formerr(Buffer.concat([header(1, 0, 1, 0, 0, 1), question('a.test'), pointed]), 'OPT owner pointer');
    });

    test('trailing garbage', () => {
      formerr(Buffer.concat([buildQuery({ name: 'a.test', edns: false }), Buffer.from([0])]), 'one byte after the question');
      formerr(Buffer.concat([buildQuery({ name: 'a.test' }), Buffer.from([1, 2, 3])]), 'bytes after the OPT');
    });

    test('counts that promise records that are not there, or truncated records', () => {
      const q = buildQuery({ name: 'a.test', edns: false });
      const claims = (an: number, ns: number, ar: number): Buffer => {
        const m = Buffer.from(q);
        m.writeUInt16BE(an, 6);
        m.writeUInt16BE(ns, 8);
        m.writeUInt16BE(ar, 10);
        return m;
      };
      formerr(claims(1, 0, 0), 'ANCOUNT=1 without a record');
      formerr(claims(0, 1, 0), 'NSCOUNT=1 without a record');
      formerr(claims(0, 0, 1), 'ARCOUNT=1 without a record');
      const opt = optRecord({ options: [{ code: 3, data: Buffer.alloc(0) }] });
      const withOpt = Buffer.concat([header(1, 0, 1, 0, 0, 1), question('a.test'), opt]);
      assert.equal(outcomeOf(withOpt), ParseOutcome.OK);
      for (let cut = 1; cut < opt.length; cut++) formerr(withOpt.subarray(0, withOpt.length - cut), `OPT cut by ${cut}`);
    });
  });

  test('an answer record in a query (e.g. a prerequisite-like record) is skipped, not misread', () => {
    const an = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    const msg = Buffer.concat([header(1, 0, 1, 1, 0, 1), question('a.test'), an, optRecord({ udpSize: 2048 })]);
    const { outcome, q } = parse(msg);
    assert.equal(outcome, ParseOutcome.OK);
    assert.equal(q.udpSize, 2048);
  });

  test('agrees with decodeMessage on the question of queries it accepts', () => {
    for (const name of ['a.test', 'Mixed.Case.Example', 'x'.repeat(63) + '.test', '_sip._tcp.example.test']) {
      for (const type of [RRType.A, RRType.AAAA, RRType.TXT, RRType.ANY]) {
        const msg = buildQuery({ name, type, edns: { options: [ecsOption('203.0.113.0', 24)] } });
        const { outcome, q } = parse(msg);
        assert.equal(outcome, ParseOutcome.OK);
        const d = decodeMessage(msg);
        assert.equal(q.qname, d.questions[0]!.name.toLowerCase());
        assert.equal(q.qtype, d.questions[0]!.type);
        assert.equal(q.udpSize, d.edns?.udpSize);
        assert.deepEqual(d.edns?.options[0]?.data, Buffer.from([0, 1, 24, 0, 203, 0, 113]));
      }
    }
  });
});

describe('dns2 as an independent decoder', () => {
  test('A records', () => {
    const { msg } = buildResponse({
      answers: [
        { name: QNAME, ttl: 300, data: { type: RRType.A, address: '192.0.2.1' } },
        { name: QNAME, ttl: 300, data: { type: RRType.A, address: '198.51.100.254' } },
      ],
    });
    const p = Packet.parse(msg);
    assert.equal(p.header.id, 0x1234);
    assert.equal(p.header.qr, 1);
    assert.equal(p.header.aa, 1);
    assert.equal(p.questions[0]?.name, QNAME);
    assert.deepEqual(
      p.answers.map((a) => [a.name, a.type, a.class, a.ttl, a.address]),
      [
        [QNAME, 1, 1, 300, '192.0.2.1'],
        [QNAME, 1, 1, 300, '198.51.100.254'],
      ],
    );
  });

  test('TXT records (dns2 keeps the character-string boundaries)', () => {
    const { msg } = buildResponse(
      {
        answers: [
          { name: QNAME, ttl: 60, data: { type: RRType.TXT, strings: [Buffer.from('v=spf1'), Buffer.from('-all')] } },
          { name: QNAME, ttl: 60, data: { type: RRType.TXT, strings: [Buffer.from('hello world')] } },
        ],
      },
      QNAME,
      RRType.TXT,
    );
    const p = Packet.parse(msg);
    assert.deepEqual(
      p.answers.map((a) => [a.name, a.type, a.data]),
      [
        [QNAME, RRType.TXT, ['v=spf1', '-all']],
        [QNAME, RRType.TXT, ['hello world']],
      ],
    );
  });

  test('MX records with compressed exchanges', () => {
    const { msg } = buildResponse(
      {
        answers: [
          { name: 'example.test', ttl: 3600, data: { type: RRType.MX, preference: 10, exchange: 'mail.example.test' } },
          { name: 'example.test', ttl: 3600, data: { type: RRType.MX, preference: 20, exchange: 'mail2.example.test' } },
        ],
      },
      'example.test',
      RRType.MX,
    );
    const p = Packet.parse(msg);
    assert.deepEqual(
      p.answers.map((a) => [a.name, a.type, a.ttl, a.priority, a.exchange]),
      [
        ['example.test', RRType.MX, 3600, 10, 'mail.example.test'],
        ['example.test', RRType.MX, 3600, 20, 'mail2.example.test'],
      ],
    );
  });

  test('an authority SOA and additional glue', () => {
    const { msg } = buildResponse({
      authority: [
        { name: 'example.test', ttl: 60, data: { type: RRType.SOA, mname: 'ns1.example.test', rname: 'hostmaster.example.test', serial: 2026112801, refresh: 3600, retry: 600, expire: 604800, minimum: 60 } },
      ],
      additional: [{ name: 'ns1.example.test', ttl: 60, data: { type: RRType.A, address: '192.0.2.53' } }],
    });
    const p = Packet.parse(msg);
    const soa = p.authorities[0]!;
    assert.deepEqual(
      [soa.name, soa.primary, soa.admin, soa.serial, soa.refresh, soa.retry, soa.expiration, soa.minimum],
      ['example.test', 'ns1.example.test', 'hostmaster.example.test', 2026112801, 3600, 600, 604800, 60],
    );
    assert.deepEqual([p.additionals[0]?.name, p.additionals[0]?.address], ['ns1.example.test', '192.0.2.53']);
  });
});

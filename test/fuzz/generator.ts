/**
 * The seeded packet generator behind the fuzz runs (test/fuzz.test.ts, kept short for `npm test`, and
 * test/fuzz/million.ts, `npm run fuzz`): random bytes, random bodies behind plausible headers, valid queries
 * (zone names, odd types and classes, EDNS with ECS, NSID, cookies valid and not, QDCOUNT=0 cookie
 * queries) and those queries mutated 1-3 times; plus the checks every reply must pass.
 */
import assert from 'node:assert/strict';
import { CLASSIC_UDP_PAYLOAD, EdnsOption, HEADER_SIZE, OUR_UDP_PAYLOAD, RRClass, RRType } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { ParseOutcome, type ParsedQuery } from '../../src/wire/query.js';
import { RrlOutcome, type AnswerInfo, type Peer, type Transport } from '../../src/answer/responder.js';
import { buildSnapshot } from '../../src/snapshot/build.js';
import { seededRng } from '../../src/util/rng.js';
import { loadZoneSources } from '../../src/model/loader.js';
import { buildQuery, ecsOption, type EdnsSpec } from '../helpers/dns-client.js';
import { EXAMPLE_ZONE } from '../helpers/server.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_d15c) >>> 0;

/** The project's seeded generator (src/util/rng.ts) with the draws the generator needs: a seed replays a run. */
export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRng(seed);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export const APEX = 'gslb.example.test';
const ZONE_NAMES = [
  '',
  'ns1',
  'ns2',
  'mail',
  'docs',
  'www',
  'alias',
  'dangling',
  'missing',
  'a.b.c',
  'b.c',
  'c',
  'x.wild',
  'deep.er.wild',
  'wild',
  '*.wild',
  '_https._tcp',
  '_tcp',
  'caa',
  'long',
  'big',
  'sub',
  'deep.sub',
  'ns.sub',
  'app',
  'legacy',
  'cdn',
  'nonexistent',
  'x.app',
].map((n) => (n === '' ? APEX : `${n}.${APEX}`));
const OTHER_NAMES = ['', 'example.test', 'test', 'example.org', 'docs.example.org', 'id.server', 'hostname.bind', 'version.bind'];
const TYPES = [
  RRType.A, RRType.AAAA, RRType.TXT, RRType.NS, RRType.SOA, RRType.MX, RRType.SRV, RRType.CAA, RRType.CNAME, RRType.ANY,
  RRType.DS, RRType.OPT, RRType.AXFR, RRType.IXFR, RRType.MAILA, RRType.MAILB, RRType.TKEY, RRType.TSIG, RRType.HINFO,
  RRType.RRSIG, 0, 99, 65535,
];
const ODD_CLASSES = [RRClass.CH, RRClass.ANY, RRClass.NONE, 0, 2, 4, 65535];
export const PEERS: Peer[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '192.0.2.1', family: 4 },
  { address: '::1', family: 6 },
  { address: '2001:db8::1', family: 6 },
  { address: '::ffff:10.1.2.3', family: 6 },
];

function randomCase(rng: Rng, name: string): string {
  if (!rng.chance(0.3)) return name;
  return [...name].map((c) => (rng.chance(0.5) ? c.toUpperCase() : c)).join('');
}

/** A random but well-formed wire name (labels 1-63 bytes, any byte values, at most 255 bytes). */
function randomWireName(rng: Rng, suffix: string | undefined, long = false): Buffer {
  const tail = suffix === undefined ? Buffer.from([0]) : wireOf(suffix);
  const parts: Buffer[] = [];
  let wire = tail.length;
  const labels = long ? 8 : rng.range(1, 6);
  for (let i = 0; i < labels; i++) {
    const max = Math.min(63, 255 - wire - 1);
    if (max < 1) break;
    const len = long || rng.chance(0.1) ? max : rng.range(1, Math.min(max, 20));
    const label = rng.chance(0.7)
      ? Buffer.from(Array.from({ length: len }, () => rng.pick([...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_*'])).join(''), 'latin1')
      : rng.bytes(len);
    parts.push(Buffer.from([len]), label);
    wire += len + 1;
  }
  return Buffer.concat([...parts, tail]);
}

function wireOf(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  return Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

export function randomIpv4(rng: Rng): string {
  return [rng.int(256), rng.int(256), rng.int(256), rng.int(256)].join('.');
}

export function randomIpv6(rng: Rng): string {
  return Array.from({ length: 8 }, () => rng.int(65536).toString(16)).join(':');
}

/**
 * Makes a server cookie (16 bytes) that the responder under test accepts for `client` and the current peer,
 * or undefined when the run has no cookie secret. Set by the runner before each case.
 */
export const cookieContext: { serverCookie: ((client: Buffer) => Buffer) | undefined } = { serverCookie: undefined };

/** COOKIE option data: client only, a valid server cookie, a damaged one, or random bytes of a legal length. */
function cookieData(rng: Rng): Buffer {
  const client = rng.bytes(8);
  const r = rng.int(6);
  const make = cookieContext.serverCookie;
  if (r <= 1 || !make) return r === 0 || !make ? client : Buffer.concat([client, rng.bytes(rng.pick([8, 16, 24, 32]))]);
  const server = make(client);
  if (r <= 3) return Buffer.concat([client, server]);
  // Damaged: one byte changed (version, reserved, timestamp or hash) or the right cookie for another client.
  if (r === 4) {
    const bad = Buffer.from(server);
    const at = rng.int(16);
    bad[at] = bad[at]! ^ (1 + rng.int(255));
    return Buffer.concat([client, bad]);
  }
  return Buffer.concat([rng.bytes(8), server]);
}

function randomEdns(rng: Rng): EdnsSpec | false {
  if (rng.chance(0.3)) return false;
  const options: { code: number; data: Buffer }[] = [];
  const n = rng.pick([0, 1, 1, 1, 2, 3]);
  for (let i = 0; i < n; i++) {
    const kind = rng.int(10);
    if (kind < 5) {
      const v6 = rng.chance(0.35);
      options.push(ecsOption(v6 ? randomIpv6(rng) : randomIpv4(rng), v6 ? rng.pick([0, 32, 48, 56, 64, 128, rng.int(129)]) : rng.pick([0, 8, 16, 24, 32, rng.int(33)])));
    } else if (kind < 7) options.push({ code: EdnsOption.NSID, data: Buffer.alloc(0) });
    else if (kind < 8) options.push({ code: EdnsOption.COOKIE, data: rng.chance(0.3) ? rng.bytes(rng.pick([8, 16, 24, 40])) : cookieData(rng) });
    else options.push({ code: rng.int(65536), data: rng.bytes(rng.int(20)) });
  }
  return {
    udpSize: rng.pick([0, 1, 256, 512, 1232, 1400, 4096, 65535, rng.int(65536)]),
    version: rng.chance(0.9) ? 0 : rng.range(1, 255),
    flags: rng.pick([0, 0x8000, rng.int(65536)]),
    options,
  };
}

/** A well-formed query for zone names, names around it, random names and random types/classes. */
export function validQuery(rng: Rng): Buffer {
  const id = rng.int(65536);
  const flags = rng.pick([0, 0x0100, 0x0100, 0x0010, 0x0020, 0x0100 | 0x0010, 0x0200 | 0x0040 | 0x0080, rng.int(65536) & 0x7fff]);
  const type = rng.chance(0.85) ? rng.pick(TYPES) : rng.int(65536);
  const klass = rng.chance(0.85) ? RRClass.IN : rng.pick(ODD_CLASSES);
  const edns = randomEdns(rng);
  const r = rng.int(10);
  if (r === 9 && rng.chance(0.2)) {
    // RFC 7873 5.4: no question, an OPT with a cookie (and sometimes more options, or none at all).
    const base = buildQuery({ name: '', id, flags, edns: edns || { options: [] } });
    const options: { code: number; data: Buffer }[] = rng.chance(0.9) ? [{ code: EdnsOption.COOKIE, data: cookieData(rng) }] : [];
    if (rng.chance(0.3)) options.push({ code: EdnsOption.NSID, data: Buffer.alloc(0) });
    const opt = buildQuery({ name: '', edns: { ...(edns || {}), options } }).subarray(HEADER_SIZE + 5);
    const header = Buffer.from(base.subarray(0, HEADER_SIZE));
    header.writeUInt16BE(0, 4);
    header.writeUInt16BE(1, 10);
    return Buffer.concat([header, opt]);
  }
  if (r === 0 && rng.chance(0.3)) {
    // Near the size limits: a name of up to 255 bytes with NSID and a long ECS address, against a small
    // UDP payload size, so that even an empty truncated answer is big.
    const options = [ecsOption(randomIpv6(rng), rng.pick([56, 64, 128])), { code: EdnsOption.NSID, data: Buffer.alloc(0) }];
    if (rng.chance(0.5)) options.reverse();
    const base = buildQuery({ name: '', type: rng.pick([RRType.A, RRType.AAAA, RRType.TXT, RRType.NS]), id, flags, edns: { udpSize: rng.pick([0, 512, 600]), options } });
    const wname = randomWireName(rng, rng.pick([APEX, `wild.${APEX}`, `sub.${APEX}`]), true);
    return Buffer.concat([base.subarray(0, HEADER_SIZE), wname, base.subarray(HEADER_SIZE + 1)]);
  }
  if (r < 7) {
    const name = randomCase(rng, r < 6 ? rng.pick(ZONE_NAMES) : rng.pick(OTHER_NAMES));
    return buildQuery({ name, type, class: klass, id, flags, edns });
  }
  // A random wire name, half of them under the zone (so they reach NXDOMAIN / wildcard / referral plans).
  const base = buildQuery({ name: '', type, class: klass, id, flags, edns });
  const wname = randomWireName(rng, rng.chance(0.5) ? rng.pick([APEX, `wild.${APEX}`, `sub.${APEX}`, `app.${APEX}`]) : undefined);
  return Buffer.concat([base.subarray(0, HEADER_SIZE), wname, base.subarray(HEADER_SIZE + 1)]);
}

/** Offsets in a query built by buildQuery: end of QNAME, start of the OPT RR (or -1). */
function layout(p: Buffer): { qnameEnd: number; opt: number } {
  let pos = HEADER_SIZE;
  while (pos < p.length && p[pos] !== 0) pos += 1 + p[pos]!;
  const qnameEnd = pos + 1;
  const opt = p.length >= HEADER_SIZE && p.readUInt16BE(10) > 0 && qnameEnd + 4 + 11 <= p.length ? qnameEnd + 4 : -1;
  return { qnameEnd, opt };
}

/** A resource record appended after the question (answer/authority/additional junk or a second OPT). */
function extraRecord(rng: Rng): Buffer {
  const kind = rng.int(6);
  const owner = kind === 0 ? Buffer.from([0xc0, 0x0c]) : kind === 1 ? Buffer.from([0]) : kind === 2 ? Buffer.from([0xc0, rng.int(256)]) : randomWireName(rng, undefined);
  const type = rng.pick([RRType.A, RRType.OPT, RRType.TSIG, RRType.SOA, rng.int(65536)]);
  const rdata = rng.bytes(rng.int(24));
  const h = Buffer.alloc(10);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(rng.pick([1, 1232, rng.int(65536)]), 2);
  h.writeUInt32BE(rng.int(2 ** 32), 4);
  h.writeUInt16BE(rng.chance(0.8) ? rdata.length : rng.int(65536), 8);
  return Buffer.concat([owner, h, rdata]);
}

type Mutator = (rng: Rng, p: Buffer) => Buffer;

const MUTATORS: [string, Mutator][] = [
  [
    'bitflip',
    (rng, p) => {
      if (p.length === 0) return p;
      const out = Buffer.from(p);
      for (let i = rng.range(1, 8); i > 0; i--) {
        const at = rng.int(out.length);
        out[at] = out[at]! ^ (1 << rng.int(8));
      }
      return out;
    },
  ],
  ['truncate', (rng, p) => p.subarray(0, rng.int(p.length + 1))],
  [
    'insert',
    (rng, p) => {
      const at = rng.int(p.length + 1);
      return Buffer.concat([p.subarray(0, at), rng.bytes(rng.range(1, 16)), p.subarray(at)]);
    },
  ],
  [
    'delete',
    (rng, p) => {
      if (p.length === 0) return p;
      const at = rng.int(p.length);
      return Buffer.concat([p.subarray(0, at), p.subarray(Math.min(p.length, at + rng.range(1, 8)))]);
    },
  ],
  [
    'byte',
    (rng, p) => {
      if (p.length === 0) return p;
      const out = Buffer.from(p);
      out[rng.int(out.length)] = rng.pick([0, 1, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff, rng.int(256)]);
      return out;
    },
  ],
  [
    'counts',
    (rng, p) => {
      if (p.length < HEADER_SIZE) return p;
      const out = Buffer.from(p);
      const field = rng.pick([4, 6, 8, 10]);
      out.writeUInt16BE(rng.pick([0, 1, 2, 3, 0xff, 0xffff, rng.int(65536)]), field);
      return out;
    },
  ],
  [
    'opt-length',
    (rng, p) => {
      const { opt } = layout(p);
      if (opt < 0) return p;
      const out = Buffer.from(p);
      const rdlen = out.readUInt16BE(opt + 9);
      out.writeUInt16BE(rng.pick([0, 1, 3, 4, rdlen - 1, rdlen + 1, rdlen + 4, 0xffff, rng.int(65536)]) & 0xffff, opt + 9);
      return out;
    },
  ],
  [
    'option-length',
    (rng, p) => {
      const { opt } = layout(p);
      if (opt < 0) return p;
      const out = Buffer.from(p);
      // Walk to a random option and change its length field.
      const end = Math.min(out.length, opt + 11 + out.readUInt16BE(opt + 9));
      const starts: number[] = [];
      for (let o = opt + 11; o + 4 <= end; o += 4 + out.readUInt16BE(o + 2)) starts.push(o);
      if (starts.length === 0) return out;
      const o = rng.pick(starts);
      const olen = out.readUInt16BE(o + 2);
      out.writeUInt16BE(rng.pick([0, 1, 2, 3, 4, 5, olen - 1, olen + 1, 20, 0xffff, rng.int(65536)]) & 0xffff, o + 2);
      return out;
    },
  ],
  [
    'ecs-fields',
    (rng, p) => {
      const { opt } = layout(p);
      if (opt < 0) return p;
      const out = Buffer.from(p);
      const end = Math.min(out.length, opt + 11 + out.readUInt16BE(opt + 9));
      for (let o = opt + 11; o + 4 <= end; o += 4 + out.readUInt16BE(o + 2)) {
        if (out.readUInt16BE(o) !== EdnsOption.ECS || o + 8 > out.length) continue;
        const which = rng.int(4);
        if (which === 0) out.writeUInt16BE(rng.pick([0, 1, 2, 3, rng.int(65536)]), o + 4); // family
        else if (which === 1) out[o + 6] = rng.pick([0, 1, 7, 8, 9, 24, 25, 32, 33, 64, 128, 129, 255]); // source prefix
        else if (which === 2) out[o + 7] = rng.int(256); // scope
        else if (o + 8 < out.length) out[rng.range(o + 8, Math.min(out.length, o + 8 + 16) - 1)] = rng.int(256); // address bits
        break;
      }
      return out;
    },
  ],
  [
    'cookie-fields',
    (rng, p) => {
      const { opt } = layout(p);
      if (opt < 0) return p;
      const out = Buffer.from(p);
      const end = Math.min(out.length, opt + 11 + out.readUInt16BE(opt + 9));
      for (let o = opt + 11; o + 4 <= end; o += 4 + out.readUInt16BE(o + 2)) {
        if (out.readUInt16BE(o) !== EdnsOption.COOKIE) continue;
        const len = Math.min(out.readUInt16BE(o + 2), out.length - o - 4);
        if (len > 0) out[o + 4 + rng.int(len)] = rng.int(256);
        break;
      }
      return out;
    },
  ],
  [
    'edns-header',
    (rng, p) => {
      const { opt } = layout(p);
      if (opt < 0) return p;
      const out = Buffer.from(p);
      const which = rng.int(4);
      if (which === 0) out[opt] = rng.int(256); // owner not root
      else if (which === 1) out.writeUInt16BE(rng.int(65536), opt + 3); // udp size
      else if (which === 2) out[opt + 6] = rng.int(256); // version
      else out[opt + 5] = rng.int(256); // extended rcode
      return out;
    },
  ],
  [
    'append-record',
    (rng, p) => {
      if (p.length < HEADER_SIZE) return p;
      const out = Buffer.concat([p, extraRecord(rng)]);
      const field = rng.pick([6, 8, 10]);
      out.writeUInt16BE((out.readUInt16BE(field) + 1) & 0xffff, field);
      return out;
    },
  ],
  [
    'label-length',
    (rng, p) => {
      if (p.length <= HEADER_SIZE) return p;
      const out = Buffer.from(p);
      out[HEADER_SIZE] = rng.pick([0, 1, 62, 63, 64, 0x80, 0xc0, 0xff, rng.int(256)]);
      return out;
    },
  ],
  [
    'opcode',
    (rng, p) => {
      if (p.length < 4) return p;
      const out = Buffer.from(p);
      out[2] = (out[2]! & 0x87) | (rng.int(16) << 3);
      return out;
    },
  ],
  [
    'qr',
    (_rng, p) => {
      if (p.length < 3) return p;
      const out = Buffer.from(p);
      out[2] = out[2]! | 0x80;
      return out;
    },
  ],
  [
    'splice',
    (rng, p) => {
      const other = validQuery(rng);
      return Buffer.concat([p.subarray(0, rng.int(p.length + 1)), other.subarray(rng.int(other.length + 1))]);
    },
  ],
];

export interface FuzzCase {
  kind: string;
  packet: Buffer;
}

/** The i-th packet of the stream: ~25% random bytes, ~15% valid, the rest mutated (1-3 stacked mutations). */
export function nextCase(rng: Rng): FuzzCase {
  const r = rng.next();
  if (r < 0.2) return { kind: 'random', packet: rng.bytes(rng.range(0, 600)) };
  if (r < 0.25) {
    // Random body behind a plausible header, so the parser gets past the header checks.
    const p = rng.bytes(rng.range(12, 600));
    p[2] = p[2]! & 0x01;
    p.writeUInt16BE(1, 4);
    p.writeUInt16BE(rng.int(3), 6);
    p.writeUInt16BE(rng.int(3), 8);
    p.writeUInt16BE(rng.int(3), 10);
    return { kind: 'random-header', packet: p };
  }
  let packet = validQuery(rng);
  if (r < 0.4) return { kind: 'valid', packet };
  const kinds: string[] = [];
  for (let n = rng.pick([1, 1, 1, 2, 3]); n > 0; n--) {
    const [name, mutate] = rng.pick(MUTATORS);
    kinds.push(name);
    packet = mutate(rng, packet);
  }
  return { kind: kinds.join('+'), packet };
}

export function zoneSnapshot(nodeId = 'fuzz') {
  const loaded = loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE }]);
  assert.ok(loaded.zoneSet, loaded.errors.map((e) => e.message).join('\n'));
  return buildSnapshot(loaded.zoneSet, { version: 1, nodeId });
}

/**
 * decodeMessage stops after the counted records and does not notice trailing bytes; this walks the same
 * structure and returns where it ends, so a count that disagrees with the body is caught.
 */
export function messageEnd(m: Buffer): number {
  const skipName = (pos: number): number => {
    for (;;) {
      const l = m[pos]!;
      if (l === 0) return pos + 1;
      if ((l & 0xc0) === 0xc0) return pos + 2;
      pos += 1 + l;
    }
  };
  let pos = HEADER_SIZE;
  for (let i = m.readUInt16BE(4); i > 0; i--) pos = skipName(pos) + 4;
  for (let i = m.readUInt16BE(6) + m.readUInt16BE(8) + m.readUInt16BE(10); i > 0; i--) {
    pos = skipName(pos);
    pos += 10 + m.readUInt16BE(pos + 8);
  }
  return pos;
}

/** Would the server answer this packet at all? (Used to know how many replies to expect on the wire.) */
export function expectsAnswer(p: Buffer): boolean {
  return p.length >= HEADER_SIZE && (p[2]! & 0x80) === 0;
}

export function describe(i: number, c: FuzzCase, transport: Transport): string {
  return `case #${i} (${c.kind}, ${transport}, seed ${SEED}): ${c.packet.toString('hex')}`;
}

/**
 * Everything a reply to `msg` must be; throws an AssertionError naming the case. `out` is undefined when the
 * responder sent nothing, which is right only for runts, responses and rate-limited drops.
 */
export function checkReply(msg: Buffer, q: ParsedQuery, outcome: ParseOutcome, out: Buffer | undefined, info: AnswerInfo, transport: Transport, what: () => string, cookies: boolean): void {
  if (!expectsAnswer(msg)) {
    assert.equal(out, undefined, `a runt or a response got an answer: ${what()}`);
    return;
  }
  if (out === undefined) {
    assert.equal(info.rrl, RrlOutcome.DROPPED, `no answer to a query: ${what()}`);
    assert.equal(transport, 'udp', `a TCP answer was rate limited: ${what()}`);
    return;
  }
  let decoded;
  try {
    decoded = decodeMessage(out);
  } catch (err) {
    assert.fail(`response does not decode (${(err as Error).message}): ${out.toString('hex')}\n${what()}`);
  }
  assert.equal(decoded.qr, true, `QR clear: ${what()}`);
  assert.equal(decoded.id, msg.readUInt16BE(0), `ID changed: ${what()}`);
  assert.equal(decoded.ra, false, `RA set: ${what()}`);
  assert.equal(messageEnd(out), out.length, `section counts disagree with the body: ${out.toString('hex')}\n${what()}`);
  // An authoritative-only server never echoes more than the one question it understood.
  assert.ok(decoded.questions.length <= 1, `more than one question: ${what()}`);
  if (outcome === ParseOutcome.OK) {
    // The question comes back byte for byte (case kept), EDNS is answered with EDNS, ECS is echoed with a
    // scope no wider than the source prefix.
    assert.ok(out.subarray(HEADER_SIZE, q.questionEnd).equals(msg.subarray(HEADER_SIZE, q.questionEnd)), `question not echoed: ${what()}`);
    assert.equal(decoded.edns !== undefined, q.hasEdns, `EDNS presence differs: ${what()}`);
    const ecs = decoded.edns?.options.find((o) => o.code === EdnsOption.ECS);
    // BADVERS (RFC 6891 6.1.3) carries a bare OPT: the options of a version we do not speak are not echoed.
    if (q.hasEdns && q.ednsVersion > 0) {
      assert.equal(decoded.rcode, 16, `EDNS version ${q.ednsVersion} not answered BADVERS: ${what()}`);
      assert.deepEqual(decoded.edns?.options, [], `options echoed in a BADVERS reply: ${what()}`);
    } else assert.equal(ecs !== undefined, q.hasEcs, `ECS echo differs: ${what()}`);
    if (ecs) {
      assert.equal(ecs.data.readUInt16BE(0), q.ecs.family);
      assert.equal(ecs.data[2], q.ecs.sourcePrefix);
      assert.ok(ecs.data[3]! <= q.ecs.sourcePrefix, `ECS scope wider than source: ${what()}`);
      assert.equal(ecs.data.length, 4 + ((q.ecs.sourcePrefix + 7) >> 3));
    }
  }
  if (outcome === ParseOutcome.NO_QUESTION) {
    assert.equal(decoded.questions.length, 0, `a question-less query got a question back: ${what()}`);
    if (cookies) assert.ok(decoded.rcode === 0 || decoded.rcode === 23 || decoded.rcode === 16, `rcode ${decoded.rcode} to a cookie query: ${what()}`);
  }
  // RFC 7873: a reply to a query with a cookie carries the client cookie and our 16-byte server cookie.
  if (cookies && q.hasCookie && q.ednsVersion === 0 && (outcome === ParseOutcome.OK || outcome === ParseOutcome.NO_QUESTION)) {
    const cookie = decoded.edns?.options.find((o) => o.code === EdnsOption.COOKIE);
    assert.ok(cookie && cookie.data.length === 24, `no 24-byte cookie in the reply: ${out.toString('hex')}\n${what()}`);
    assert.ok(cookie.data.subarray(0, 8).equals(msg.subarray(q.cookie.at, q.cookie.at + 8)), `client cookie not echoed: ${what()}`);
  }
  if (transport === 'udp') {
    const limit = outcome === ParseOutcome.OK && q.hasEdns ? Math.min(Math.max(q.udpSize, CLASSIC_UDP_PAYLOAD), OUR_UDP_PAYLOAD) : CLASSIC_UDP_PAYLOAD;
    assert.ok(out.length <= limit, `UDP answer of ${out.length} bytes over the ${limit}-byte limit: ${what()}`);
  }
  if (info.rrl === RrlOutcome.SLIPPED) {
    assert.ok(decoded.tc || decoded.rcode === 23, `a slipped reply is neither TC=1 nor BADCOOKIE: ${what()}`);
    assert.equal(decoded.answers.length + decoded.authority.length, 0, `a slipped reply carries records: ${what()}`);
  }
}

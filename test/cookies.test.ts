/**
 * DNS cookies (RFC 7873) with RFC 9018 server cookies, observed on the wire: the server cookie a node returns
 * is recomputed here with our own SipHash-2-4 and the secret the node was given; it is accepted by the node
 * and by another node with the same secret, and after a rotation that keeps it as the previous secret.
 * "Accepted" is what a client sees: a valid cookie lifts the rate limit (--rrl 1, no exemption), and a
 * QDCOUNT=0 cookie query answers NOERROR for a valid cookie and BADCOOKIE for one that is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CookieVerdict, ServerCookies } from '../src/protect/cookies.js';
import { decodeMessage, type DecodedMessage } from '../src/wire/decode.js';
import { siphash24 } from '../src/protect/siphash.js';
import { buildQuery } from './helpers/dns-client.js';
import { cookieOption, metric, noQuestionQuery, startEnvServer, tcpFrom, udpBurst, udpFrom } from './helpers/dns-source.js';
import { EXAMPLE_ZONE } from './helpers/server.js';
import type { TestServer } from './helpers/server.js';

const SECRET_1 = 'e5e973e5a6b2a43f48e7dc849e37bfcf';
const SECRET_2 = '445536bcd2513298075a5d379663c962';
const SOURCE = '127.0.0.2';
const BADCOOKIE = 23;

test('siphash-2-4: the reference vectors of the SipHash paper', () => {
  const key = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
  const out = Buffer.alloc(8);
  const expected: [number, string][] = [
    [0, '726fdb47dd0e0e31'],
    [1, '74f839c593dc67fd'],
    [7, 'ab0200f58b01d137'],
    [8, '93f5f5799a932462'],
    [15, 'a129ca6149be45e5'], // the paper's Appendix A example
    [63, '958a324ceb064572'],
  ];
  for (const [n, hex] of expected) {
    const msg = Buffer.from(Array.from({ length: n }, (_, i) => i));
    siphash24(key, msg, 0, n, out, 0);
    assert.equal(out.readBigUInt64LE(0).toString(16).padStart(16, '0'), hex, `${n}-byte message`);
  }
});

test('server cookies: RFC 9018 Appendix A vectors, made and verified', () => {
  const ip4 = (t: string) => Buffer.from(t.split('.').map(Number));
  const v6 = Buffer.from('20010db80220000159ded0f4876982b8', 'hex');
  const cases = [
    { secret: SECRET_1, client: '2464c4abcf10c957', ip: ip4('198.51.100.100'), at: 1559731985, server: '010000005cf79f111f8130c3eee29480' },
    { secret: SECRET_1, client: '2464c4abcf10c957', ip: ip4('198.51.100.100'), at: 1559734385, server: '010000005cf7a871d4a564a1442aca77' },
    { secret: SECRET_1, client: 'fc93fc62807ddb86', ip: ip4('203.0.113.203'), at: 1559734700, server: '010000005cf7a9acf73a7810aca2381e' },
    { secret: SECRET_2, client: '22681ab97d52c298', ip: v6, at: 1559741961, server: '010000005cf7c609a6bb79d16625507a' },
  ];
  for (const c of cases) {
    const cookies = new ServerCookies([Buffer.from(c.secret, 'hex')], () => c.at);
    const query = Buffer.from(c.client, 'hex');
    const out = Buffer.alloc(24);
    cookies.write(out, 0, query, { at: 0, length: 8 }, c.ip);
    assert.equal(out.toString('hex'), c.client + c.server);
    assert.equal(cookies.verify(out, { at: 0, length: 24 }, c.ip), CookieVerdict.VALID);
    const later = new ServerCookies([Buffer.from(c.secret, 'hex')], () => c.at + 3601);
    assert.equal(later.verify(out, { at: 0, length: 24 }, c.ip), CookieVerdict.INVALID, 'older than an hour');
    const earlier = new ServerCookies([Buffer.from(c.secret, 'hex')], () => c.at - 301);
    assert.equal(earlier.verify(out, { at: 0, length: 24 }, c.ip), CookieVerdict.INVALID, 'more than 5 minutes ahead');
  }
  // RFC 9018 A.3: the cookie that client held (stamped 0x5cf78f71, with reserved bytes set, which are part of
  // the hash) was valid when made, for that address only, and is stale at 1559734700, when A.3 renews it.
  const a3 = Buffer.from('fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5', 'hex');
  const whenMade = new ServerCookies([Buffer.from(SECRET_1, 'hex')], () => 0x5cf78f71 + 60);
  assert.equal(whenMade.verify(a3, { at: 0, length: 24 }, ip4('203.0.113.203')), CookieVerdict.VALID);
  assert.equal(whenMade.verify(a3, { at: 0, length: 24 }, ip4('203.0.113.204')), CookieVerdict.INVALID);
  assert.equal(new ServerCookies([Buffer.from(SECRET_1, 'hex')], () => 1559734700).verify(a3, { at: 0, length: 24 }, ip4('203.0.113.203')), CookieVerdict.INVALID);
  // A.4: the IPv6 client's cookie from before the rollover verifies with the previous secret.
  const a4 = Buffer.from('22681ab97d52c298010000005cf7c57926556bd0934c72f8', 'hex');
  const previous = Buffer.from('dd3bdf9344b678b185a6f5cb60fca715', 'hex');
  assert.equal(new ServerCookies([Buffer.from(SECRET_2, 'hex'), previous], () => 1559741961).verify(a4, { at: 0, length: 24 }, v6), CookieVerdict.VALID);
  assert.equal(new ServerCookies([Buffer.from(SECRET_2, 'hex')], () => 1559741961).verify(a4, { at: 0, length: 24 }, v6), CookieVerdict.INVALID);
});

/** The server cookie a node with `secretHex` must return to `client` from `ip` at `stamp`. */
function expectedServerCookie(secretHex: string, client: Buffer, ip: Buffer, stamp: number): Buffer {
  const head = Buffer.from([1, 0, 0, 0, stamp >>> 24, (stamp >>> 16) & 0xff, (stamp >>> 8) & 0xff, stamp & 0xff]);
  const hash = Buffer.alloc(8);
  const input = Buffer.concat([client, head, ip]);
  siphash24(Buffer.from(secretHex, 'hex'), input, 0, input.length, hash, 0);
  return Buffer.concat([head, hash]);
}

function cookieOf(m: DecodedMessage): Buffer | undefined {
  return m.edns?.options.find((o) => o.code === 10)?.data;
}

/** The reply cookie is the client cookie + an RFC 9018 server cookie made with `secretHex` for 127.0.0.2 now. */
function assertCookieFrom(m: DecodedMessage, client: Buffer, secretHex: string): Buffer {
  const c = cookieOf(m);
  assert.ok(c, 'no COOKIE option in the reply');
  assert.equal(c.length, 8 + 16, 'client cookie (8) + version 1 server cookie (16)');
  assert.ok(c.subarray(0, 8).equals(client), 'client cookie echoed');
  const server = c.subarray(8);
  assert.equal(server[0], 1, 'version 1');
  assert.deepEqual([...server.subarray(1, 4)], [0, 0, 0], 'reserved');
  const stamp = server.readUInt32BE(4);
  assert.ok(Math.abs(stamp - Date.now() / 1000) < 30, `timestamp ${stamp} is not now`);
  assert.equal(server.toString('hex'), expectedServerCookie(secretHex, client, Buffer.from([127, 0, 0, 2]), stamp).toString('hex'));
  return server;
}

async function ask(ts: TestServer, packet: Buffer): Promise<DecodedMessage> {
  const reply = await udpFrom(ts.udp, SOURCE, packet, 2000);
  assert.ok(reply, 'no reply');
  return decodeMessage(reply);
}

/** How many of 8 identical queries carrying `cookie` get a full answer from a node limited to 1/s. */
async function answeredOf8(ts: TestServer, idBase: number, client: Buffer, server?: Buffer): Promise<number> {
  const burst = Array.from({ length: 8 }, (_, i) => buildQuery({ name: 'gslb.example.test', type: 16, id: idBase + i, edns: { options: [cookieOption(client, server)] } }));
  const { replies } = await udpBurst(ts.udp, SOURCE, burst);
  return [...replies.values()].map(decodeMessage).filter((m) => m.rcode === 0 && !m.tc && m.answers.length > 0).length;
}

test('cookies: returned, accepted on the next query, by a node with the same secret, and across a rotation', async () => {
  const env = { GSLB_RRL: '1', GSLB_RRL_EXEMPT: 'none' };
  const nodeA = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, { ...env, GSLB_COOKIE_SECRET: SECRET_1 }, [], 'node-a');
  const nodeB = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, env, ['--cookie-secret', SECRET_1], 'node-b');
  // Rotation: the new secret first, the old one still accepted.
  const rotated = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, env, ['--cookie-secret', SECRET_2, '--cookie-secret', SECRET_1], 'node-c');
  // After the rotation is over: only the new secret.
  const newOnly = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, { ...env, GSLB_COOKIE_SECRET: SECRET_2 }, [], 'node-d');
  try {
    const client = Buffer.from('2464c4abcf10c957', 'hex');
    const first = await ask(nodeA, buildQuery({ name: 'mail.gslb.example.test', type: 1, id: 7, edns: { options: [cookieOption(client)] } }));
    assert.equal(first.rcode, 0);
    assert.equal(first.answers.length, 1);
    const server = assertCookieFrom(first, client, SECRET_1);

    // Accepted: with it, 8 of 8 are answered at --rrl 1; with only the client cookie, most are not.
    assert.equal(await answeredOf8(nodeA, 100, client, server), 8, 'node A accepts its own cookie');
    assert.ok((await answeredOf8(nodeA, 200, client)) < 8, 'without the server cookie the node limits');
    assert.ok((await metric(nodeA.api, 'gslb_dns_cookies_total', { result: 'valid' })) >= 8);

    // Node B, same secret: accepts A's cookie, and returns one made with the same secret.
    assert.equal(await answeredOf8(nodeB, 300, client, server), 8, 'node B accepts node A\'s cookie');
    const fromB = await ask(nodeB, buildQuery({ name: 'mail.gslb.example.test', type: 1, id: 8, edns: { options: [cookieOption(client, server)] } }));
    assertCookieFrom(fromB, client, SECRET_1);

    // The rotated node accepts the cookie made with the previous secret and hands out one with the new secret.
    assert.equal(await answeredOf8(rotated, 400, client, server), 8, 'the previous secret is still accepted');
    const fromC = await ask(rotated, noQuestionQuery(9, [cookieOption(client, server)]));
    assert.equal(fromC.rcode, 0);
    assertCookieFrom(fromC, client, SECRET_2);

    // A node that no longer has the old secret: the old cookie is invalid. A normal query is still answered
    // (RFC 7873 5.2.4 -> 5.2.3) with a fresh cookie; a QDCOUNT=0 query says BADCOOKIE (5.4).
    const normal = await ask(newOnly, buildQuery({ name: 'mail.gslb.example.test', type: 1, id: 10, edns: { options: [cookieOption(client, server)] } }));
    assert.equal(normal.rcode, 0);
    assert.equal(normal.answers.length, 1);
    assertCookieFrom(normal, client, SECRET_2);
    const bad = await ask(newOnly, noQuestionQuery(11, [cookieOption(client, server)]));
    assert.equal(bad.rcode, BADCOOKIE);
    assert.equal(bad.questions.length, 0);
    const fresh = assertCookieFrom(bad, client, SECRET_2);
    // Retrying with the fresh cookie works.
    const retry = await ask(newOnly, noQuestionQuery(12, [cookieOption(client, fresh)]));
    assert.equal(retry.rcode, 0);
    assert.ok((await metric(newOnly.api, 'gslb_dns_cookies_total', { result: 'invalid' })) >= 2);
  } finally {
    await Promise.all([nodeA.stop(), nodeB.stop(), rotated.stop(), newOnly.stop()]);
  }
});

test('cookies: QDCOUNT=0 with a client cookie is NOERROR with the server cookie (RFC 7873 5.4); malformed cookies are FORMERR; TCP gets cookies too', async () => {
  const ts = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, { GSLB_COOKIE_SECRET: SECRET_1, GSLB_RRL_EXEMPT: 'none' });
  try {
    const client = Buffer.from('0011223344556677', 'hex');
    const m = await ask(ts, noQuestionQuery(4321, [cookieOption(client)]));
    assert.equal(m.id, 4321);
    assert.equal(m.qr, true);
    assert.equal(m.rcode, 0, `rcode ${m.rcode}`);
    assert.equal(m.questions.length, 0);
    assert.equal(m.answers.length, 0);
    assertCookieFrom(m, client, SECRET_1);

    // A server cookie we made over two hours ago is out of the RFC 9018 window.
    const old = Math.floor(Date.now() / 1000) - 7200;
    const stale = await ask(ts, noQuestionQuery(4322, [cookieOption(client, expectedServerCookie(SECRET_1, client, Buffer.from([127, 0, 0, 2]), old))]));
    assert.equal(stale.rcode, BADCOOKIE);
    // One made for another client address is not valid for this one.
    const elsewhere = expectedServerCookie(SECRET_1, client, Buffer.from([127, 0, 0, 3]), Math.floor(Date.now() / 1000));
    assert.equal((await ask(ts, noQuestionQuery(4323, [cookieOption(client, elsewhere)]))).rcode, BADCOOKIE);

    // Without a cookie a question-less query is still FORMERR.
    assert.equal((await ask(ts, noQuestionQuery(4324, []))).rcode, 1);
    // RFC 7873 5.2.2: a cookie of a length no cookie can have, or two COOKIE options, is FORMERR.
    for (const len of [0, 7, 9, 15, 41]) {
      const r = await ask(ts, buildQuery({ name: 'mail.gslb.example.test', type: 1, id: 50 + len, edns: { options: [{ code: 10, data: Buffer.alloc(len, 1) }] } }));
      assert.equal(r.rcode, 1, `cookie of ${len} bytes`);
    }
    const twice = await ask(ts, buildQuery({ name: 'mail.gslb.example.test', type: 1, id: 99, edns: { options: [cookieOption(client), cookieOption(client)] } }));
    assert.equal(twice.rcode, 1);
    assert.ok((await metric(ts.api, 'gslb_dns_cookies_total', { result: 'malformed' })) >= 6);

    // Over TCP the cookie comes back as well.
    const [viaTcp] = await tcpFrom(ts.tcp, SOURCE, [buildQuery({ name: 'mail.gslb.example.test', type: 1, id: 77, edns: { options: [cookieOption(client)] } })]);
    assert.ok(viaTcp);
    assertCookieFrom(decodeMessage(viaTcp), client, SECRET_1);
  } finally {
    await ts.stop();
  }
});

test('cookies: --cookie-secret must be 16 bytes of hex, at most two', async () => {
  for (const [env, message] of [
    [{ GSLB_COOKIE_SECRET: 'abc' }, /--cookie-secret: "abc" is not 16 bytes of hex/],
    [{ GSLB_COOKIE_SECRET: `${SECRET_1},${SECRET_2},${SECRET_1}` }, /at most two/],
  ] as const) {
    await assert.rejects(startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, env), message);
  }
});

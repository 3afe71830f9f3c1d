/**
 * Response rate limiting, observed on the wire: bursts of identical UDP queries from a non-exempt loopback
 * source (127.0.0.2; all of 127/8 is local) against a node started with a low --rrl and --rrl-exempt none
 * (given through GSLB_* variables), counting what came back: full answers, slipped replies (TC=1, no
 * records) and nothing (dropped), and /metrics agreeing with what the client saw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage } from '../src/wire/decode.js';
import { RateLimiter, ResponseKind, RrlAction, RRL_BUCKET_BYTES } from '../src/protect/rrl.js';
import { buildQuery } from './helpers/dns-client.js';
import { cookieOption, metric, startEnvServer, tcpFrom, udpBurst, udpFrom } from './helpers/dns-source.js';
import { EXAMPLE_ZONE, startTestServer } from './helpers/server.js';

const APEX_TXT = (id: number, options: { code: number; data: Buffer }[] = []) =>
  buildQuery({ name: 'gslb.example.test', type: 16, id, edns: { udpSize: 1232, options } });

interface Tally {
  answered: number;
  slipped: number;
  dropped: number;
}

function tally(packets: Buffer[], replies: Map<number, Buffer>): Tally {
  const t = { answered: 0, slipped: 0, dropped: 0 };
  for (const p of packets) {
    const reply = replies.get(p.readUInt16BE(0));
    if (!reply) {
      t.dropped++;
      continue;
    }
    const m = decodeMessage(reply);
    if (m.tc) {
      assert.equal(m.answers.length + m.authority.length, 0, 'a slipped reply carries no records');
      t.slipped++;
    } else {
      assert.equal(m.rcode, 0);
      assert.ok(m.answers.length > 0, 'a full answer has its records');
      t.answered++;
    }
  }
  return t;
}

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

test('rrl: a burst from one network is limited to the rate, every 2nd limited response slips with TC=1, the rest are dropped', async () => {
  const RATE = 5;
  const ts = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, { GSLB_RRL: String(RATE), GSLB_RRL_EXEMPT: 'none' });
  try {
    const burst = ids(1000, 40).map((id) => APEX_TXT(id));
    const t0 = Date.now();
    const { replies } = await udpBurst(ts.udp, '127.0.0.2', burst);
    const seconds = (Date.now() - t0) / 1000;
    const seen = tally(burst, replies);
    // The bucket holds one second's worth and refills at RATE/s while the burst lasts.
    assert.ok(seen.answered >= RATE, `only ${seen.answered} answered`);
    assert.ok(seen.answered <= RATE + Math.ceil(RATE * seconds) + 1, `${seen.answered} answered in ${seconds} s at ${RATE}/s`);
    const limited = seen.slipped + seen.dropped;
    assert.ok(limited > 0, `none of 40 limited: ${JSON.stringify(seen)}`);
    assert.equal(seen.slipped, Math.floor(limited / 2), `slip 2: every 2nd limited response slips: ${JSON.stringify(seen)}`);
    // What the operator sees is what the client saw.
    assert.equal(await metric(ts.api, 'gslb_rrl_responses_total', { action: 'answered' }), seen.answered);
    assert.equal(await metric(ts.api, 'gslb_rrl_responses_total', { action: 'slipped' }), seen.slipped);
    assert.equal(await metric(ts.api, 'gslb_rrl_responses_total', { action: 'dropped' }), seen.dropped);
    assert.ok((await metric(ts.api, 'gslb_rrl_table_bytes')) > 0);

    // Another /24 has its own bucket: answered at once. The same /24 (127.0.0.9) shares the exhausted one.
    const other = await udpFrom(ts.udp, '127.0.1.5', APEX_TXT(2000));
    assert.ok(other, 'no reply to 127.0.1.5');
    assert.equal(decodeMessage(other).tc, false);
    assert.ok(decodeMessage(other).answers.length > 0);
    const sameNet = ids(3000, 4 * RATE).map((id) => APEX_TXT(id));
    const { replies: sameReplies } = await udpBurst(ts.udp, '127.0.0.9', sameNet);
    const same = tally(sameNet, sameReplies);
    assert.ok(same.slipped + same.dropped > 0, `127.0.0.9 shares 127.0.0.2's /24 bucket: ${JSON.stringify(same)}`);

    // TCP is never limited: 30 pipelined queries from the limited source, 30 full answers.
    const viaTcp = await tcpFrom(ts.tcp, '127.0.0.2', ids(4000, 30).map((id) => APEX_TXT(id)));
    assert.equal(viaTcp.length, 30);
    for (const r of viaTcp) {
      const m = decodeMessage(r);
      assert.equal(m.tc, false);
      assert.ok(m.answers.length > 0);
    }
  } finally {
    await ts.stop();
  }
});

test('rrl: a query with a valid server cookie is never limited; a limited cookie query slips as BADCOOKIE with a fresh cookie', async () => {
  const ts = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, { GSLB_RRL: '2', GSLB_RRL_EXEMPT: 'none' });
  try {
    const client = Buffer.from('0123456789abcdef', 'hex');
    // Learn the server cookie (on another name, so the TXT bucket stays full for the burst below).
    const first = await udpFrom(ts.udp, '127.0.0.2', buildQuery({ name: 'mail.gslb.example.test', type: 1, id: 1, edns: { options: [cookieOption(client)] } }));
    assert.ok(first);
    const echoed = decodeMessage(first).edns?.options.find((o) => o.code === 10)?.data;
    assert.ok(echoed && echoed.length === 24, 'a client cookie gets a server cookie back');
    assert.ok(echoed.subarray(0, 8).equals(client));
    const serverCookie = echoed.subarray(8);

    // Without the server cookie, 20 queries are limited to about the rate...
    const plain = ids(100, 20).map((id) => APEX_TXT(id, [cookieOption(client)]));
    const { replies: plainReplies } = await udpBurst(ts.udp, '127.0.0.2', plain);
    const badCookie = [...plainReplies.values()].map(decodeMessage).filter((m) => m.rcode === 23);
    assert.ok(plainReplies.size < 20, `${plainReplies.size} of 20 answered without a valid cookie`);
    // ...and the slipped ones are BADCOOKIE (not TC=1) carrying a fresh server cookie to retry with.
    assert.ok(badCookie.length > 0, 'no BADCOOKIE slip');
    for (const m of badCookie) {
      assert.equal(m.tc, false);
      assert.equal(m.answers.length, 0);
      assert.equal(m.edns?.options.find((o) => o.code === 10)?.data.length, 24);
    }

    // With it, every one of 20 is answered in full although the bucket is empty.
    const withCookie = ids(200, 20).map((id) => APEX_TXT(id, [cookieOption(client, serverCookie)]));
    const { replies } = await udpBurst(ts.udp, '127.0.0.2', withCookie);
    assert.equal(replies.size, 20, `${replies.size} of 20 answered with a valid server cookie`);
    for (const r of replies.values()) {
      const m = decodeMessage(r);
      assert.equal(m.tc, false);
      assert.equal(m.rcode, 0);
      assert.ok(m.answers.length > 0);
    }
    assert.ok((await metric(ts.api, 'gslb_dns_cookies_total', { result: 'valid' })) >= 20);
  } finally {
    await ts.stop();
  }
});

test('rrl: loopback is exempt by default, and --rrl 0 turns limiting off', async () => {
  for (const [env, source] of [
    [{ GSLB_RRL: '2' }, '127.0.0.2'],
    [{ GSLB_RRL: '0', GSLB_RRL_EXEMPT: 'none' }, '127.0.0.2'],
  ] as const) {
    const ts = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, env);
    try {
      const burst = ids(1, 30).map((id) => APEX_TXT(id));
      const { replies } = await udpBurst(ts.udp, source, burst);
      const seen = tally(burst, replies);
      assert.deepEqual(seen, { answered: 30, slipped: 0, dropped: 0 }, JSON.stringify(env));
    } finally {
      await ts.stop();
    }
  }
});

test('rrl: bad options are usage errors naming the option', async () => {
  for (const [args, message] of [
    [['--rrl', 'fast'], /--rrl: "fast"/],
    [['--rrl-slip', '-1'], /--rrl-slip/],
    [['--rrl-exempt', '10.0.0.0/33'], /--rrl-exempt:.*invalid prefix/],
    [['--rrl-exempt', '10.0.0.1/8'], /--rrl-exempt:.*bits set/],
  ] as const) {
    await assert.rejects(startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { args: [...args] }), message);
  }
});

test('rrl table: token bucket per network and kind, fixed memory however many networks', () => {
  let now = 0;
  const rrl = new RateLimiter({ rate: 10, slip: 2, slots: 1024 }, () => now, 1);
  const a = Buffer.from([192, 0, 2, 1]);
  const sameNet = Buffer.from([192, 0, 2, 200]);
  const otherNet = Buffer.from([192, 0, 3, 1]);
  const actions = Array.from({ length: 16 }, () => rrl.account(a, ResponseKind.ANSWER, 7));
  assert.deepEqual(actions.slice(0, 10), Array(10).fill(RrlAction.PASS));
  assert.deepEqual(actions.slice(10), [RrlAction.DROP, RrlAction.SLIP, RrlAction.DROP, RrlAction.SLIP, RrlAction.DROP, RrlAction.SLIP]);
  assert.equal(rrl.account(sameNet, ResponseKind.ANSWER, 7), RrlAction.DROP, 'the /24 shares the bucket');
  assert.equal(rrl.account(otherNet, ResponseKind.ANSWER, 7), RrlAction.PASS);
  assert.equal(rrl.account(a, ResponseKind.NXDOMAIN, 0), RrlAction.PASS, 'another kind, another bucket');
  assert.equal(rrl.account(a, ResponseKind.ANSWER, 8), RrlAction.PASS, 'another question, another bucket');
  now += 100; // one token back at 10/s
  assert.equal(rrl.account(a, ResponseKind.ANSWER, 7), RrlAction.PASS);
  assert.notEqual(rrl.account(a, ResponseKind.ANSWER, 7), RrlAction.PASS);
  // A flood from a million spoofed networks changes nothing about the table's size.
  const before = rrl.tableBytes;
  const spoofed = Buffer.alloc(4);
  for (let i = 0; i < 1_000_000; i++) {
    spoofed.writeUInt32BE(i << 8);
    rrl.account(spoofed, ResponseKind.ANSWER, 7);
  }
  assert.equal(rrl.tableBytes, before);
  assert.equal(before, 1024 * RRL_BUCKET_BYTES);
  // IPv6 clients count per /56.
  const v6a = Buffer.alloc(16, 0x20);
  const v6b = Buffer.from(v6a);
  v6b[7] = 0xff; // same /56
  const v6c = Buffer.from(v6a);
  v6c[6] = 0x00; // another /56
  for (let i = 0; i < 10; i++) rrl.account(v6a, ResponseKind.ERROR, 0);
  assert.notEqual(rrl.account(v6b, ResponseKind.ERROR, 0), RrlAction.PASS);
  assert.equal(rrl.account(v6c, ResponseKind.ERROR, 0), RrlAction.PASS);
});

test('rrl: IPv6 clients are limited per /56 and ::1 is exempt by default', async (t) => {
  const probe = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, { GSLB_RRL: '3', GSLB_RRL_EXEMPT: 'none' }, ['--dns', '[::1]:0']).catch((err: Error) => err);
  if (probe instanceof Error) {
    t.skip(`no IPv6 loopback here: ${probe.message}`);
    return;
  }
  try {
    const v6 = probe.server.dns.find((d) => d.host.includes(':'))!;
    const burst = ids(500, 20).map((id) => APEX_TXT(id));
    const seen = tally(burst, (await udpBurst(v6, '::1', burst)).replies);
    assert.ok(seen.slipped > 0 && seen.dropped > 0, `::1 not limited with --rrl-exempt none: ${JSON.stringify(seen)}`);
  } finally {
    await probe.stop();
  }
  const defaults = await startEnvServer({ 'example.yaml': EXAMPLE_ZONE }, { GSLB_RRL: '3' }, ['--dns', '[::1]:0']);
  try {
    const v6 = defaults.server.dns.find((d) => d.host.includes(':'))!;
    const burst = ids(600, 20).map((id) => APEX_TXT(id));
    assert.deepEqual(tally(burst, (await udpBurst(v6, '::1', burst)).replies), { answered: 20, slipped: 0, dropped: 0 });
  } finally {
    await defaults.stop();
  }
});

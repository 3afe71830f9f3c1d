/**
 * The in-process fuzz loop: generated packets through ParsedQuery + Responder, every reply checked. Three
 * responders take turns: a plain one (no cookies, no RRL, as before this existed), one whose node id is the
 * maximum 255 bytes (big NSID answers against the UDP size limit), and a guarded one with a cookie secret
 * and a low rate limit, so cookie verification, BADCOOKIE and TC slips, and drops are all exercised.
 */
import assert from 'node:assert/strict';
import { CookieVerdict, ServerCookies } from '../../src/protect/cookies.js';
import { QueryGuard } from '../../src/protect/guard.js';
import { ParseOutcome, ParsedQuery } from '../../src/wire/query.js';
import { Responder, RrlOutcome, type Transport } from '../../src/answer/responder.js';
import { RateLimiter } from '../../src/protect/rrl.js';
import { parseCidr, type Cidr } from '../../src/util/cidr.js';
import { checkReply, cookieContext, describe, expectsAnswer, nextCase, PEERS, Rng, zoneSnapshot } from './generator.js';

export const FUZZ_COOKIE_SECRET = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

export interface FuzzStats {
  total: number;
  answered: number;
  dropped: number;
  ok: number;
  formerr: number;
  noQuestion: number;
  truncated: number;
  byRcode: Map<number, number>;
  cookies: number[];
  rrl: number[];
}

export function runInProcess(packets: number, seed: number): FuzzStats {
  const snap = zoneSnapshot();
  const plain = new Responder(() => snap);
  const longSnap = zoneSnapshot('n'.repeat(255));
  const long = new Responder(() => longSnap);
  const cookies = new ServerCookies([FUZZ_COOKIE_SECRET]);
  const exempt = [parseCidr('127.0.0.0/8') as Cidr];
  const guard = new QueryGuard({ cookies, rrl: new RateLimiter({ rate: 50, slip: 2, slots: 1024 }), exempt });
  const guarded = new Responder(() => snap, Math.random, guard);
  // The server cookie a peer would have learned, for cookieData's "valid" cases.
  const maker = new QueryGuard({ cookies, rrl: undefined, exempt: [] });
  const scratch = Buffer.alloc(24);
  const q = new ParsedQuery();
  const rng = new Rng(seed);
  const stats: FuzzStats = {
    total: 0, answered: 0, dropped: 0, ok: 0, formerr: 0, noQuestion: 0, truncated: 0, byRcode: new Map(),
    cookies: [0, 0, 0, 0, 0], rrl: [0, 0, 0, 0],
  };

  for (let i = 0; i < packets; i++) {
    const peer = rng.pick(PEERS);
    const pick = rng.int(10);
    const r = pick === 0 ? long : pick < 5 ? plain : guarded;
    maker.setPeer(peer.address, peer.family);
    cookieContext.serverCookie = r === guarded ? (client) => {
      maker.writeCookie(scratch, 0, client, { at: 0, length: 8 });
      return Buffer.from(scratch.subarray(8));
    } : undefined;
    const c = nextCase(rng);
    const transport: Transport = rng.chance(0.8) ? 'udp' : 'tcp';
    const msg = c.packet;
    let out: Buffer | undefined;
    let outcome: ParseOutcome;
    try {
      outcome = q.parse(msg);
      out = r.respond(q, outcome, msg, peer, transport);
    } catch (err) {
      assert.fail(`threw ${(err as Error).stack ?? String(err)}\n${describe(i, c, transport)}`);
    }
    stats.total++;
    if (outcome === ParseOutcome.OK) stats.ok++;
    else if (outcome === ParseOutcome.FORMERR) stats.formerr++;
    else if (outcome === ParseOutcome.NO_QUESTION) stats.noQuestion++;
    checkReply(msg, q, outcome, out, r.info, transport, () => describe(i, c, transport), r === guarded);
    if (r === guarded) {
      stats.cookies[r.info.cookie]!++;
      stats.rrl[r.info.rrl]!++;
    }
    if (!expectsAnswer(msg) || !out) {
      stats.dropped++;
      continue;
    }
    stats.answered++;
    if (out.readUInt16BE(2) & 0x0200) stats.truncated++;
    const rcode = r.info.rcode;
    stats.byRcode.set(rcode, (stats.byRcode.get(rcode) ?? 0) + 1);
  }
  cookieContext.serverCookie = undefined;
  return stats;
}

export function summary(s: FuzzStats): string {
  return (
    `${s.total} packets: ${s.answered} answered, ${s.dropped} dropped, parse OK ${s.ok}, FORMERR ${s.formerr}, QDCOUNT=0 cookie ${s.noQuestion}, TC ${s.truncated}; ` +
    `rcodes ${[...s.byRcode].sort((a, b) => a[0] - b[0]).map(([r, n]) => `${r}:${n}`).join(' ')}; ` +
    `cookies none/client/valid/invalid/malformed ${s.cookies.join('/')}; rrl not-limited/answered/slipped/dropped ${s.rrl.join('/')}`
  );
}

/** The generator must reach the deep paths, not only bounce off the header checks. */
export function assertCoverage(s: FuzzStats): void {
  assert.ok(s.ok > s.total / 10, `only ${s.ok} packets parsed OK`);
  assert.ok(s.formerr > s.total / 10, `only ${s.formerr} FORMERR`);
  assert.ok(s.noQuestion > 0, 'no QDCOUNT=0 cookie query parsed');
  for (const rcode of [0, 1, 3, 4, 5, 16, 23]) assert.ok((s.byRcode.get(rcode) ?? 0) > 0, `rcode ${rcode} never produced`);
  for (const v of [CookieVerdict.CLIENT_ONLY, CookieVerdict.VALID, CookieVerdict.INVALID, CookieVerdict.MALFORMED]) assert.ok(s.cookies[v]! > 0, `cookie verdict ${v} never reached`);
  for (const o of [RrlOutcome.ANSWERED, RrlOutcome.SLIPPED, RrlOutcome.DROPPED]) assert.ok(s.rrl[o]! > 0, `RRL outcome ${o} never reached`);
}

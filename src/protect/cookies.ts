/**
 * DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018): every node given the same secret makes
 * and accepts the same cookies, so a resolver that learned a cookie from one anycast node is recognised by
 * the others.
 *
 * Server cookie (16 bytes): version 1 | 3 reserved bytes | 32-bit timestamp | 8-byte hash, where
 * hash = SipHash-2-4(client cookie | version | reserved | timestamp | client IP, secret) and the client IP
 * is 4 bytes for IPv4 (also for IPv4-mapped IPv6 peers) or 16 for IPv6.
 */
import { randomBytes } from 'node:crypto';
import { siphash24 } from './siphash.js';
import { CLIENT_COOKIE_LEN, type CookieSpan } from '../wire/cookie-option.js';

export const SERVER_COOKIE_LEN = 16;
/** Option data we send: the client cookie echoed and a fresh server cookie. */
export const COOKIE_REPLY_LEN = CLIENT_COOKIE_LEN + SERVER_COOKIE_LEN;
export const COOKIE_SECRET_LEN = 16;
const VERSION = 1;
/** RFC 9018 4.3: accept cookies stamped up to an hour ago and up to five minutes ahead (clock skew between nodes). */
export const MAX_AGE_S = 3600;
export const MAX_SKEW_S = 300;

/** What a query's COOKIE option proved. */
export const CookieVerdict = {
  /** No COOKIE option. */
  NONE: 0,
  /** A client cookie alone (RFC 7873 5.2.3). */
  CLIENT_ONLY: 1,
  /** A server cookie we made, within the time window (5.2.5): the source address is not spoofed. */
  VALID: 2,
  /** A server cookie that is not ours, too old, from the future or of another version (5.2.4). */
  INVALID: 3,
  /** A COOKIE option of an impossible length, or two of them (5.2.2): FORMERR. */
  MALFORMED: 4,
} as const;
export type CookieVerdict = (typeof CookieVerdict)[keyof typeof CookieVerdict];

/** Parse `--cookie-secret` text: 32 hex digits. Returns an error message on failure. */
export function parseCookieSecret(text: string): Buffer | string {
  if (!/^[0-9a-fA-F]{32}$/.test(text)) return `"${text.length > 40 ? text.slice(0, 40) + '…' : text}" is not ${COOKIE_SECRET_LEN} bytes of hex (32 hex digits)`;
  return Buffer.from(text, 'hex');
}

export function randomCookieSecret(): Buffer {
  return randomBytes(COOKIE_SECRET_LEN);
}

/** Makes and checks server cookies with the current secret, accepting the previous one during a rotation. */
export class ServerCookies {
  /** client cookie (8) | version, reserved (4) | timestamp (4) | client IP (4 or 16). */
  private readonly input = Buffer.alloc(CLIENT_COOKIE_LEN + 8 + 16);
  private readonly hash = Buffer.alloc(8);

  /**
   * `secrets`: the current secret first, then (optionally) the previous one. `nowSeconds` is injectable so
   * tests can move the clock.
   */
  constructor(
    private readonly secrets: readonly Buffer[],
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    if (secrets.length < 1 || secrets.length > 2) throw new RangeError('one or two cookie secrets');
    for (const s of secrets) if (s.length !== COOKIE_SECRET_LEN) throw new RangeError('cookie secrets are 16 bytes');
  }

  /** Judge the COOKIE option at `span` in `msg`, for a query from `ip` (4 or 16 bytes). */
  verify(msg: Buffer, span: CookieSpan, ip: Buffer): CookieVerdict {
    if (span.length === CLIENT_COOKIE_LEN) return CookieVerdict.CLIENT_ONLY;
    if (span.length !== COOKIE_REPLY_LEN) return CookieVerdict.INVALID;
    const server = span.at + CLIENT_COOKIE_LEN;
    if (msg[server] !== VERSION) return CookieVerdict.INVALID;
    const stamp = msg.readUInt32BE(server + 4);
    // RFC 1982 serial arithmetic: the signed 32-bit difference, so the window works across the 2106 wrap.
    const age = (this.nowSeconds() - stamp) | 0;
    if (age > MAX_AGE_S || age < -MAX_SKEW_S) return CookieVerdict.INVALID;
    const n = this.fillInput(msg, span.at, msg, server, ip);
    for (const secret of this.secrets) {
      siphash24(secret, this.input, 0, n, this.hash, 0);
      if (this.hash.equals(msg.subarray(server + 8, server + 16))) return CookieVerdict.VALID;
    }
    return CookieVerdict.INVALID;
  }

  /**
   * Write the 24-byte reply cookie (the query's client cookie, then a fresh server cookie made with the
   * current secret and the current time) into `out` at `o`; returns the offset after it.
   */
  write(out: Buffer, o: number, msg: Buffer, span: CookieSpan, ip: Buffer): number {
    msg.copy(out, o, span.at, span.at + CLIENT_COOKIE_LEN);
    const server = o + CLIENT_COOKIE_LEN;
    out[server] = VERSION;
    out[server + 1] = 0;
    out[server + 2] = 0;
    out[server + 3] = 0;
    out.writeUInt32BE(this.nowSeconds() >>> 0, server + 4);
    const n = this.fillInput(out, o, out, server, ip);
    siphash24(this.secrets[0]!, this.input, 0, n, out, server + 8);
    return o + COOKIE_REPLY_LEN;
  }

  /** The hash input for a client cookie at `cc` and a server cookie header at `sc`; returns its length. */
  private fillInput(ccBuf: Buffer, cc: number, scBuf: Buffer, sc: number, ip: Buffer): number {
    const input = this.input;
    ccBuf.copy(input, 0, cc, cc + CLIENT_COOKIE_LEN);
    scBuf.copy(input, CLIENT_COOKIE_LEN, sc, sc + 8);
    ip.copy(input, 16);
    return 16 + ip.length;
  }
}

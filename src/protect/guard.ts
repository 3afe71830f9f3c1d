/**
 * The query path's abuse protection, composed from cookies and RRL: one instance per node, shared by the
 * UDP and TCP responders (calls are synchronous, so its scratch buffers are never used by two at once).
 *
 * Policy (RFC 7873 5.2 leaves the choice for client-only and invalid server cookies to the server):
 *  - a COOKIE option is always answered with the client cookie and a fresh server cookie;
 *  - a valid server cookie proves the address: that query is never rate limited;
 *  - a client-only or invalid server cookie is answered normally (5.2.3 choice 3) while under the rate
 *    limit; over it, the slipped reply is BADCOOKIE with the fresh cookie (as BIND does) instead of TC=1,
 *    so a cookie-aware resolver retries over UDP with the cookie and is no longer limited;
 *  - TCP is never limited; networks in the exemption list are never limited.
 */
import { type Cidr, inPrefix } from '../util/cidr.js';
import type { CookieSpan } from '../wire/cookie-option.js';
import { CookieVerdict, ServerCookies } from './cookies.js';
import { ipv4ToBytes, ipv6ToBytes } from '../wire/ip.js';
import type { RateLimiter, ResponseKind, RrlAction } from './rrl.js';

export interface GuardOptions {
  cookies: ServerCookies;
  /** Undefined when RRL is off (`--rrl 0`). */
  rrl: RateLimiter | undefined;
  /** Networks never rate limited. */
  exempt: readonly Cidr[];
}

export class QueryGuard {
  readonly cookies: ServerCookies;
  readonly rrl: RateLimiter | undefined;
  private readonly exempt: readonly Cidr[];
  private readonly v4 = Buffer.alloc(4);
  private readonly v6 = Buffer.alloc(16);
  /** The current peer's address bytes (a view of v4 or v6). */
  private peer: Buffer = this.v4;

  constructor(opts: GuardOptions) {
    this.cookies = opts.cookies;
    this.rrl = opts.rrl;
    this.exempt = opts.exempt;
  }

  /** Remember the source of the query being answered; IPv4-mapped IPv6 counts as IPv4 (same cookie, same /24). */
  setPeer(address: string, family: 4 | 6): void {
    if (family === 4) {
      ipv4ToBytes(address, this.v4, 0);
      this.peer = this.v4;
      return;
    }
    const bytes = ipv6ToBytes(address);
    if (isV4Mapped(bytes)) {
      bytes.copy(this.v4, 0, 12, 16);
      this.peer = this.v4;
    } else {
      bytes.copy(this.v6);
      this.peer = this.v6;
    }
  }

  verifyCookie(msg: Buffer, span: CookieSpan): CookieVerdict {
    return this.cookies.verify(msg, span, this.peer);
  }

  writeCookie(out: Buffer, o: number, msg: Buffer, span: CookieSpan): number {
    return this.cookies.write(out, o, msg, span, this.peer);
  }

  /** RRL verdict for one UDP response to the current peer; undefined when RRL is off or the peer is exempt. */
  limit(kind: ResponseKind, nameHash: number): RrlAction | undefined {
    const rrl = this.rrl;
    if (!rrl) return undefined;
    const peer = this.peer;
    const family = peer.length === 4 ? 4 : 6;
    for (const net of this.exempt) if (net.family === family && inPrefix(peer, net.network, net.prefix)) return undefined;
    return rrl.account(peer, kind, nameHash);
  }
}

function isV4Mapped(b: Buffer): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

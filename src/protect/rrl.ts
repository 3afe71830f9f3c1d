/**
 * Response rate limiting (RRL) in the manner of BIND, Knot and NSD: a token bucket per (client network,
 * response kind[, question]) that refills at `rate` responses per second and holds at most one second's
 * worth. A response over the limit is dropped, except every `slip`-th one, which the caller sends as a tiny
 * TC=1 (or BADCOOKIE) reply so a real resolver behind a spoofed-against address still gets through over TCP
 * or with a cookie.
 *
 * Buckets are keyed by:
 *  - answers (NOERROR, AA): network + qname + qtype, as BIND does: a reflection attack repeats one big
 *    answer, while a busy resolver network asking for many different names is not punished for it;
 *  - NXDOMAIN, referrals, errors: network + kind alone, so random-subdomain floods share one bucket.
 *
 * Memory is fixed at construction: a 4-way set-associative table of `slots` buckets in typed arrays
 * (14 bytes a bucket). A new key takes the least recently used bucket of its set, so a flood from millions
 * of spoofed networks costs no memory; it can only evict (and so un-limit) buckets, never grow the table.
 */
import { fmix32, fnv1aString, FNV_OFFSET, FNV_PRIME } from '../util/hash.js';

/** What kind of response is being limited. */
export const ResponseKind = { ANSWER: 0, NXDOMAIN: 1, REFERRAL: 2, ERROR: 3 } as const;
export type ResponseKind = (typeof ResponseKind)[keyof typeof ResponseKind];

/** The limiter's verdict on one response. */
export const RrlAction = { PASS: 0, SLIP: 1, DROP: 2 } as const;
export type RrlAction = (typeof RrlAction)[keyof typeof RrlAction];

export interface RrlConfig {
  /** Responses per second per bucket (> 0). */
  rate: number;
  /** Every `slip`-th limited response is slipped; 0 = drop them all. */
  slip: number;
  /** Buckets in the table, a power of two (default 65 536). */
  slots?: number;
}

export const DEFAULT_RRL_SLOTS = 1 << 16;
/** Bytes a bucket costs: fingerprint (4) + last refill time (4) + tokens (4) + slip counter (2). */
export const RRL_BUCKET_BYTES = 14;
const WAYS = 4;

export class RateLimiter {
  readonly rate: number;
  readonly slip: number;
  readonly slots: number;
  private readonly keys: Uint32Array;
  private readonly stamps: Uint32Array;
  private readonly tokens: Float32Array;
  private readonly slips: Uint16Array;
  private readonly seed: number;
  private readonly epoch: number;

  /** `nowMs`: a monotonic clock in milliseconds, injectable for tests. */
  constructor(
    config: RrlConfig,
    private readonly nowMs: () => number = () => performance.now(),
    seed: number = (Math.random() * 0x100000000) >>> 0,
  ) {
    const slots = config.slots ?? DEFAULT_RRL_SLOTS;
    if (!(config.rate > 0)) throw new RangeError('RRL rate must be positive');
    if (slots < WAYS || (slots & (slots - 1)) !== 0) throw new RangeError('RRL slots must be a power of two >= 4');
    this.rate = config.rate;
    this.slip = config.slip;
    this.slots = slots;
    this.keys = new Uint32Array(slots);
    this.stamps = new Uint32Array(slots);
    this.tokens = new Float32Array(slots);
    this.slips = new Uint16Array(slots);
    this.seed = seed;
    this.epoch = nowMs();
  }

  /** Memory held by the table, fixed for the limiter's life. */
  get tableBytes(): number {
    return this.slots * RRL_BUCKET_BYTES;
  }

  /**
   * Charge one response to the bucket of (`address` (4 or 16 bytes), `kind`, `nameHash`) and say what to do
   * with it. IPv4 addresses count per /24, IPv6 per /56.
   */
  account(address: Buffer, kind: ResponseKind, nameHash: number): RrlAction {
    const prefixBytes = address.length === 4 ? 3 : 7;
    // Two independent 32-bit hashes of the key: one picks the set, the other is the stored fingerprint.
    let h1 = (this.seed ^ FNV_OFFSET) >>> 0;
    let h2 = (this.seed ^ 0x5bd1e995) >>> 0;
    for (let i = 0; i < prefixBytes; i++) {
      const b = address[i]!;
      h1 = Math.imul(h1 ^ b, FNV_PRIME);
      h2 = Math.imul(h2 ^ b, 0x5bd1e995);
    }
    const tail = (kind << 8) | address.length;
    h1 = Math.imul(h1 ^ tail, FNV_PRIME) ^ nameHash;
    h2 = Math.imul(h2 ^ tail, 0x5bd1e995) ^ Math.imul(nameHash, 0x9e3779b1);
    h1 = fmix32(h1);
    const fingerprint = (fmix32(h2) | 1) >>> 0; // never 0, which marks an empty bucket
    const now = (this.nowMs() - this.epoch) >>> 0;

    const set = (h1 & (this.slots - 1)) & ~(WAYS - 1);
    let slot = -1;
    let oldest = set;
    for (let i = set; i < set + WAYS; i++) {
      if (this.keys[i] === fingerprint) {
        slot = i;
        break;
      }
      if (this.keys[i] === 0 || ((now - this.stamps[i]!) >>> 0) > ((now - this.stamps[oldest]!) >>> 0)) oldest = i;
      if (this.keys[i] === 0) break;
    }
    if (slot < 0) {
      // A new key (or one evicted earlier): a full bucket, minus this response.
      slot = oldest;
      this.keys[slot] = fingerprint;
      this.stamps[slot] = now;
      this.tokens[slot] = this.rate - 1;
      this.slips[slot] = 0;
      return RrlAction.PASS;
    }
    const elapsed = (now - this.stamps[slot]!) >>> 0;
    this.stamps[slot] = now;
    const tokens = Math.min(this.rate, this.tokens[slot]! + (elapsed * this.rate) / 1000);
    if (tokens >= 1) {
      this.tokens[slot] = tokens - 1;
      return RrlAction.PASS;
    }
    this.tokens[slot] = tokens;
    if (this.slip === 0) return RrlAction.DROP;
    const n = (this.slips[slot]! + 1) % this.slip;
    this.slips[slot] = n;
    return n === 0 ? RrlAction.SLIP : RrlAction.DROP;
  }
}

/** FNV-1a of a question (canonical name and type), for answer buckets. */
export function questionHash(qname: string, qtype: number): number {
  return fnv1aString(qname, FNV_OFFSET ^ qtype);
}

/**
 * The signature cache: steered answers are a small number of distinct RRsets (one per endpoint set), so each is
 * signed once and the query path signs only on a miss. Keyed by key, signer, owner, type, class, TTL and the
 * rdata set, so the same RRset is found whatever order its records came in, and a new key (a rollover) misses
 * instead of reusing the old key's signatures; so one cache can serve every zone and outlive many snapshots.
 * Bounded by a two-generation map; a signature within `refreshSeconds` of its expiry is made again.
 *
 * A caller that passes the same `records` array for the same answer (kept with its routing decision, or in a
 * snapshot) gets a hit for one WeakMap lookup, without building the key; such an array must not be changed
 * after it has been signed.
 */
import { RRClass, RRType } from '../wire/constants.js';
import { TwoGenerationMap } from '../util/two-generations.js';
import type { SigningKey } from './algorithms.js';
import { canonicalRdataSet } from './canonical.js';
import { signatureWindow, signRRset, type RRset, type Rrsig, type WindowOptions } from './rrsig.js';

export interface SignatureCacheOptions extends WindowOptions {
  /** At most this many signatures are held (default 10 000). */
  capacity?: number;
  /** A cached signature with less than this left before it expires is made again. */
  refreshSeconds: number;
}

export const DEFAULT_SIGNATURE_CAPACITY = 10_000;

export interface SignatureCacheStats {
  hits: number;
  /** Signatures made because none was cached. */
  misses: number;
  /** Signatures made again because the cached one was close to expiry (or not yet valid). */
  refreshes: number;
}

/** The last signature made or found for one `records` array, with what else it was for. */
interface Memo {
  owner: string;
  type: number;
  ttl: number;
  keyId: string;
  signer: string;
  rrsig: Rrsig;
}

export class SignatureCache {
  private readonly entries: TwoGenerationMap<Rrsig>;
  private readonly byRecords = new WeakMap<RRset['records'], Memo>();
  readonly stats: SignatureCacheStats = { hits: 0, misses: 0, refreshes: 0 };

  constructor(private readonly options: SignatureCacheOptions) {
    if (options.refreshSeconds >= options.validitySeconds) {
      throw new Error('the refresh window must be shorter than the validity');
    }
    const capacity = options.capacity ?? DEFAULT_SIGNATURE_CAPACITY;
    this.entries = new TwoGenerationMap(Math.max(1, Math.floor(capacity / 2)));
  }

  /** The RRSIG of `rrset` by `key` for the zone `signer` at `nowSeconds`: the cached one, or a new one. */
  sign(rrset: RRset, key: SigningKey, signer: string, nowSeconds: number): Rrsig {
    const now = Math.floor(nowSeconds);
    const memo = this.byRecords.get(rrset.records);
    if (
      memo !== undefined &&
      memo.owner === rrset.owner &&
      memo.type === rrset.type &&
      memo.ttl === rrset.ttl &&
      memo.keyId === key.id &&
      memo.signer === signer &&
      this.fresh(memo.rrsig, now)
    ) {
      this.stats.hits++;
      return memo.rrsig;
    }
    const rrsig = this.lookup(rrset, key, signer, now);
    this.byRecords.set(rrset.records, { owner: rrset.owner, type: rrset.type, ttl: rrset.ttl, keyId: key.id, signer, rrsig });
    return rrsig;
  }

  private lookup(rrset: RRset, key: SigningKey, signer: string, now: number): Rrsig {
    const cacheKey = keyOf(rrset, key, signer);
    const cached = this.entries.get(cacheKey);
    if (cached !== undefined) {
      if (this.fresh(cached, now)) {
        this.stats.hits++;
        return cached;
      }
      this.stats.refreshes++;
    } else {
      this.stats.misses++;
    }
    const rrsig = signRRset(rrset, key, signer, signatureWindow(now, this.options));
    this.entries.set(cacheKey, rrsig);
    return rrsig;
  }

  private fresh(rrsig: Rrsig, now: number): boolean {
    return rrsig.expiration - now > this.options.refreshSeconds && rrsig.inception <= now;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Text fields are joined by "\n", which no name in the text form contains (names.ts). The data part is what
 * makes the key cheap on a hit: A and AAAA records (the steered answers) by their address text, sorted, as
 * distinct addresses never share a text (the same address written two ways only costs a second entry);
 * other types by their canonical rdata set, each rdata prefixed by its length so no two sets share a key.
 */
function keyOf(rrset: RRset, key: SigningKey, signer: string): string {
  return `${key.id}\n${signer}\n${rrset.owner}\n${rrset.type}\n${RRClass.IN}\n${rrset.ttl}\n${dataKey(rrset.records)}`;
}

function dataKey(records: RRset['records']): string {
  const first = records[0];
  if (first !== undefined && !('raw' in first) && (first.type === RRType.A || first.type === RRType.AAAA)) {
    const addresses = records.map((r) => ('address' in r ? r.address : ''));
    if (addresses.length > 1) addresses.sort();
    let out = '';
    for (let i = 0; i < addresses.length; i++) if (i === 0 || addresses[i] !== addresses[i - 1]) out += addresses[i] + ' ';
    return out;
  }
  let out = '=';
  for (const rdata of canonicalRdataSet(records)) {
    out += String.fromCharCode(rdata.length >> 8, rdata.length & 0xff) + rdata.toString('latin1');
  }
  return out;
}

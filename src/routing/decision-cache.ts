/**
 * The per-snapshot decision cache of the located policies (latency, geo). A decision holds for every client in
 * the block its ECS scope names (the matched GeoIP or custom network, a latency CIDR, the /24 or /56 a rotation
 * depends on; decide.ts makes it so), so it is kept once for that block: a flood of distinct ECS subnets inside
 * known blocks adds nothing, and each entry is the answer alone (tens of bytes, where a whole Decision with its
 * explanation was kilobytes).
 *
 * The block is known only once the decision is made, so a lookup tries the block lengths the cache holds for
 * that service, answer family and client family (a few dozen at most, usually a handful), the most common
 * first; a map per IPv4 block length, keyed by a small integer, keeps each try cheap. Any entry found is
 * right: blocks that overlap hold the same decision for the addresses they share. An entry made for an ECS
 * source prefix no longer than its scope ("incomplete": the client could not be told apart within it) holds
 * only for that same source prefix.
 *
 * Bounded as before, by generations: each entry notes the generation it was last stored or found in; when
 * `generation` entries have entered the current one, a new one begins and the entries of the one before the
 * previous are dropped (at most 2 x `generation` entries stay, any working set up to `generation` blocks stays
 * cached). One Map per partition, not two per generation, so each try is one lookup. Entries live in one
 * partition per (service, answer family), so that a snapshot rebuild can hand the partitions its change cannot
 * affect to the next snapshot (carry) and drop the others whole.
 */
import type { Client, Decision } from './decision.js';
import type { EndpointIndex, RegionIndex } from '../model/indexes.js';
import type { Cidr } from '../util/cidr.js';

/** What a decision needs beyond its answer for invalidation: its client's country and continent, as small ids. */
const placeIds = new Map<string, number>();
/** A small number for a country or continent code (0: none), the same for the life of the process. */
export function placeId(code: string | undefined): number {
  if (code === undefined) return 0;
  let id = placeIds.get(code);
  if (id === undefined) placeIds.set(code, (id = placeIds.size + 1));
  return id;
}

class Entry implements Decision {
  constructor(
    readonly region: RegionIndex | undefined,
    readonly endpoints: EndpointIndex[],
    readonly cname: EndpointIndex | undefined,
    readonly ttl: number,
    readonly scope: number,
    /** The decision did not depend on the client's source prefix: it holds for any client in the block. */
    readonly complete: boolean,
    readonly country: number,
    readonly continent: number,
    /** The cache generation it was last stored or found in. */
    public gen: number,
  ) {}
}

/**
 * Whether `d` came from a decision cache: then it is the same object (and endpoints array) for every query of
 * its block until it is evicted or its partition dropped, so what is made from it can be kept by its identity.
 */
export function isCachedDecision(d: Decision): boolean {
  return d instanceof Entry;
}

const MASK4 = Array.from({ length: 33 }, (_, p) => (p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0));

/**
 * An IPv4 block's key in the map of its length: the masked address as a signed 32-bit integer, which V8 keeps
 * as a small integer. (One map for all lengths, keyed prefix * 2^32 + address, made a heap number per try,
 * ~280 bytes of garbage per lookup of a new subnet that tried every length.)
 */
function key4(addr: number, prefix: number): number {
  return addr & MASK4[prefix]!;
}

function key6(addr: Buffer, prefix: number): string {
  const whole = prefix >> 3;
  const rest = prefix & 7;
  const head = String.fromCharCode(prefix) + addr.toString('latin1', 0, whole);
  return rest ? head + String.fromCharCode(addr[whole]! & ((0xff << (8 - rest)) & 0xff)) : head;
}

/** Does the block a key of length `prefix` names overlap `cidr` (the shorter of the two prefixes agrees)? */
function keyMeets(key: number | string, prefix: number, cidr: Cidr): boolean {
  if (typeof key === 'number') {
    if (cidr.family !== 4) return false;
    const mask = MASK4[Math.min(prefix, cidr.prefix)]!;
    return ((key & mask) >>> 0) === ((cidr.network.readUInt32BE(0) & mask) >>> 0);
  }
  if (cidr.family !== 6) return false;
  const bits = Math.min(key.charCodeAt(0), cidr.prefix);
  for (let i = 0; i < bits; i += 8) {
    const mask = bits - i >= 8 ? 0xff : (0xff << (8 - (bits - i))) & 0xff;
    if (((key.charCodeAt(1 + (i >> 3)) ^ cidr.network[i >> 3]!) & mask) !== 0) return false;
  }
  return true;
}

/** Which entries a carried partition loses: those whose block meets a CIDR, or whose client was located in a place. */
export interface EntryFilter {
  cidrs: readonly Cidr[];
  /** Ids from placeId. */
  places: ReadonlySet<number>;
}

/** Per partition, on carry: keep every entry, drop them all, or drop those an EntryFilter names. */
export type CarryPlan = 'keep' | 'drop' | EntryFilter;

/** Block lengths are tried most entries first; recounted when the set of lengths changes and every so many inserts. */
const RESORT_EVERY = 4096;

/** The entries of one (service, answer family), by block, and how many there are of each block length. */
class Partition {
  /** By block length: key4's key -> entry. */
  readonly v4: (Map<number, Entry> | undefined)[] = new Array<Map<number, Entry> | undefined>(33).fill(undefined);
  readonly v6 = new Map<string, Entry>();
  private readonly counts = { 4: new Int32Array(33), 6: new Int32Array(129) };
  private order: { 4: number[] | undefined; 6: number[] | undefined } = { 4: undefined, 6: undefined };
  private changes = 0;
  /** Entries of the cache's current generation. */
  young = 0;

  lengths(family: 4 | 6): number[] {
    const have = this.order[family];
    if (have) return have;
    const counts = this.counts[family];
    const order: number[] = [];
    for (let p = 0; p < counts.length; p++) if (counts[p]! > 0) order.push(p);
    order.sort((a, b) => counts[b]! - counts[a]! || b - a);
    this.order[family] = order;
    return order;
  }

  added(family: 4 | 6, prefix: number): void {
    if (++this.counts[family][prefix]! === 1 || ++this.changes % RESORT_EVERY === 0) this.order[family] = undefined;
  }

  removed(family: 4 | 6, prefix: number): void {
    if (--this.counts[family][prefix]! === 0) this.order[family] = undefined;
  }

  get size(): number {
    let n = this.v6.size;
    for (const m of this.v4) n += m?.size ?? 0;
    return n;
  }
}

export class DecisionCache {
  /** A cache that holds nothing: explain's view (it wants every decision made in full, with its `why`). */
  static readonly NONE = new DecisionCache(0, false);

  /** By service ordinal * 2 + (AAAA ? 1 : 0). */
  private parts: (Partition | undefined)[] = [];
  private gen = 0;
  /** Entries stored or found in the current generation. */
  private youngSize = 0;

  constructor(
    private readonly generation: number,
    /** False once the entries were carried to the next snapshot's cache (and for NONE): holds nothing more. */
    private active = true,
  ) {}

  get enabled(): boolean {
    return this.active;
  }

  get(ordinal: number, v6: boolean, client: Client): Decision | undefined {
    const part = this.parts[ordinal * 2 + (v6 ? 1 : 0)];
    if (!part) return undefined;
    const source = client.sourcePrefix;
    let e: Entry | undefined;
    if (client.family === 4) {
      const addr = client.address.readUInt32BE(0);
      // Indexed, not for-of: the array iterator was ~260 bytes of garbage per lookup (a sampled allocation
      // profile of a spray of new subnets), and garbage is what makes the scavenges a flood's queries wait on.
      const lengths = part.lengths(4);
      for (let i = 0; i < lengths.length; i++) {
        const prefix = lengths[i]!;
        if (prefix > source) continue;
        e = part.v4[prefix]?.get(key4(addr, prefix));
        if (e !== undefined && (e.complete || prefix === source)) break;
        e = undefined;
      }
    } else {
      const lengths = part.lengths(6);
      for (let i = 0; i < lengths.length; i++) {
        const prefix = lengths[i]!;
        if (prefix > source) continue;
        e = part.v6.get(key6(client.address, prefix));
        if (e !== undefined && (e.complete || prefix === source)) break;
        e = undefined;
      }
    }
    if (e !== undefined && e.gen !== this.gen) this.renew(part, e);
    return e;
  }

  /** Keep `d` (made for `client`) for the block its scope names. */
  set(ordinal: number, v6: boolean, client: Client, d: Decision): void {
    if (!this.active) return;
    const part = (this.parts[ordinal * 2 + (v6 ? 1 : 0)] ??= new Partition());
    const prefix = d.scope;
    const location = d.why?.location;
    const entry = new Entry(d.region, d.endpoints, d.cname, d.ttl, prefix, prefix < client.sourcePrefix, placeId(location?.country), placeId(location?.continent), -1);
    const family = client.family;
    const key = family === 4 ? key4(client.address.readUInt32BE(0), prefix) : key6(client.address, prefix);
    const map: Map<number | string, Entry> = family === 4 ? (part.v4[prefix] ??= new Map<number, Entry>()) : part.v6;
    const had = map.get(key);
    // Of two decisions for one block, the one that holds for any source prefix stays.
    if (had !== undefined && had.complete && !entry.complete) return;
    map.set(key, entry);
    if (had === undefined) part.added(family, prefix);
    else if (had.gen === this.gen) {
      // Replaced within the generation: renew counts the new one instead.
      part.young--;
      this.youngSize--;
    }
    this.renew(part, entry);
  }

  /** `e` enters the current generation; a full generation ages the cache (evict). */
  private renew(part: Partition, e: Entry): void {
    e.gen = this.gen;
    part.young++;
    if (++this.youngSize < this.generation) return;
    // The old generation is dropped: every entry neither stored nor found since the last turn.
    this.gen++;
    this.youngSize = 0;
    for (const p of this.parts) {
      if (!p) continue;
      p.young = 0;
      dropWhere(p, (_, x) => x.gen < this.gen - 1);
    }
  }

  /**
   * The cache of the next snapshot: this one's partitions as `plan` says for each (service ordinal, AAAA),
   * for a rebuild whose service indexes are the same. This cache then holds nothing more: its entries, and
   * what later queries add to them, belong to the next snapshot.
   */
  carry(plan: (ordinal: number, v6: boolean) => CarryPlan): DecisionCache {
    const next = new DecisionCache(this.generation);
    next.gen = this.gen;
    this.parts.forEach((part, index) => {
      if (!part) return;
      const p = plan(index >> 1, (index & 1) === 1);
      if (p === 'drop') return;
      if (p !== 'keep') {
        const places = p.places;
        const cidrs = p.cidrs;
        dropWhere(part, (key, e) => places.has(e.country) || places.has(e.continent) || cidrs.some((c) => keyMeets(key, e.scope, c)), this.gen);
      }
      next.parts[index] = part;
      next.youngSize += part.young;
    });
    this.parts = [];
    this.youngSize = 0;
    this.active = false;
    return next;
  }

  get size(): number {
    let n = 0;
    for (const p of this.parts) n += p?.size ?? 0;
    return n;
  }
}

/** Delete the entries `gone` names (`young`: the current generation, whose count it keeps). */
function dropWhere(part: Partition, gone: (key: number | string, e: Entry) => boolean, young?: number): void {
  for (const map of part.v4) {
    if (!map) continue;
    for (const [key, e] of map) {
      if (!gone(key, e)) continue;
      map.delete(key);
      part.removed(4, e.scope);
      if (e.gen === young) part.young--;
    }
  }
  for (const [key, e] of part.v6) {
    if (!gone(key, e)) continue;
    part.v6.delete(key);
    part.removed(6, e.scope);
    if (e.gen === young) part.young--;
  }
}

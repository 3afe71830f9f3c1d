/**
 * Longest-prefix match over IPv4/IPv6 networks, plus the ECS scope helper: how long a prefix must be so that
 * the block it names contains no more specific entry that would have changed the answer.
 */
import { inPrefix } from '../util/cidr.js';

export interface PrefixEntry<T> {
  family: 4 | 6;
  prefix: number;
  /** Network address bytes (4 or 16), host bits zero. */
  network: Buffer;
  value: T;
}

export interface PrefixMatch<T> {
  entry: PrefixEntry<T>;
  prefix: number;
}

function keyOf(addr: Buffer, prefix: number): string {
  const whole = prefix >> 3;
  let key = addr.toString('latin1', 0, whole);
  const rest = prefix & 7;
  if (rest) key += String.fromCharCode(addr[whole]! & ((0xff << (8 - rest)) & 0xff));
  return key;
}

/** Common leading bits of two addresses, up to `limit`. */
function commonBits(a: Buffer, b: Buffer, limit: number): number {
  for (let i = 0; i < limit; i++) {
    if (((a[i >> 3]! ^ b[i >> 3]!) & (0x80 >> (i & 7))) !== 0) return i;
  }
  return limit;
}

export class PrefixMap<T> {
  private readonly byFamily = { 4: new Map<number, Map<string, PrefixEntry<T>>>(), 6: new Map<number, Map<string, PrefixEntry<T>>>() };
  private readonly lengths = { 4: [] as number[], 6: [] as number[] };
  private readonly all = { 4: [] as PrefixEntry<T>[], 6: [] as PrefixEntry<T>[] };

  /** Adds an entry; a second entry for the same network replaces the first. */
  add(entry: PrefixEntry<T>): void {
    const maps = this.byFamily[entry.family];
    let m = maps.get(entry.prefix);
    if (!m) {
      maps.set(entry.prefix, (m = new Map<string, PrefixEntry<T>>()));
      this.lengths[entry.family] = [...maps.keys()].sort((a, b) => b - a);
    }
    const key = keyOf(entry.network, entry.prefix);
    const old = m.get(key);
    if (old) this.all[entry.family].splice(this.all[entry.family].indexOf(old), 1, entry);
    else this.all[entry.family].push(entry);
    m.set(key, entry);
  }

  /** Every entry, IPv4 first, in the order added. */
  entries(): PrefixEntry<T>[] {
    return [...this.all[4], ...this.all[6]];
  }

  get size(): number {
    return this.all[4].length + this.all[6].length;
  }

  /** Longest entry containing `addr`, considering only prefixes up to `maxPrefix` (the ECS source length). */
  lookup(addr: Buffer, family: 4 | 6, maxPrefix: number): PrefixMatch<T> | undefined {
    const maps = this.byFamily[family];
    for (const len of this.lengths[family]) {
      if (len > maxPrefix) continue;
      const e = maps.get(len)!.get(keyOf(addr, len));
      if (e) return { entry: e, prefix: len };
    }
    return undefined;
  }

  /**
   * The shortest prefix >= `prefix` whose block around `addr` holds no entry more specific than `prefix`
   * (which would answer differently for part of the block).
   */
  narrowScope(addr: Buffer, family: 4 | 6, prefix: number): number {
    let scope = prefix;
    for (const e of this.all[family]) {
      if (e.prefix <= prefix || !inPrefix(e.network, addr, prefix)) continue;
      const common = commonBits(addr, e.network, e.prefix);
      // Outside e: the block must be small enough to exclude it. Inside e: small enough to lie within it.
      scope = Math.max(scope, common < e.prefix ? common + 1 : e.prefix);
    }
    return scope;
  }
}

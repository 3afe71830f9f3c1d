/**
 * Where a signed zone's keys live: one combined signing key (CSK) per zone, made on first use and kept in the
 * store so every node signs with the same key, and the rollover to the next one (dnssec/rollover.ts) when one
 * was started. `ZoneKeyStore` is what the stores implement (dnssec-keys-file.ts for the embedded store,
 * dnssec-keys-redis.ts for Redis): read, create once, replace only what was read (compare and set), so two
 * nodes starting a rollover at once cannot both win. `ZoneKeyring` holds the keys read so far for the snapshot
 * builder, which is synchronous. Keys are secret: nothing here logs them.
 */
import { SigningKey, type AlgorithmName, type StoredKey } from '../dnssec/algorithms.js';
import { planRollover, type RolloverTimings, type ZoneKeys } from '../dnssec/rollover.js';
import type { ZoneSet } from '../model/types.js';

export interface ZoneKeyStore {
  /** The stored record of `zone` (JSON text), or undefined when there is none. */
  read(zone: string): Promise<string | undefined>;
  /** Stores `text` when the zone has no record yet; false when one was there. */
  create(zone: string, text: string): Promise<boolean>;
  /** Replaces the record with `text` if it is still `expected`; false when it changed meanwhile. */
  replace(zone: string, expected: string, text: string): Promise<boolean>;
}

/** What is stored per zone (JSON): the keys, the one that signs first, and a rollover when one was started. */
export interface StoredZoneKeys {
  version: 1;
  keys: StoredKey[];
  rollover?: { key: StoredKey; startedAt: number; signAt: number; retireAt: number };
}

export function newZoneKeys(algorithm: AlgorithmName): StoredZoneKeys {
  return { version: 1, keys: [SigningKey.generate(algorithm).toStored()] };
}

function storedOf(keys: ZoneKeys): StoredZoneKeys {
  const r = keys.rollover;
  return {
    version: 1,
    keys: keys.keys.map((k) => k.toStored()),
    ...(r ? { rollover: { key: r.key.toStored(), startedAt: r.startedAt, signAt: r.signAt, retireAt: r.retireAt } } : {}),
  };
}

/** The keys of a stored record; throws when it is unreadable or of another algorithm than the zone asks for. */
export function parseZoneKeys(zone: string, text: string, algorithm: AlgorithmName): ZoneKeys {
  const data = JSON.parse(text) as Partial<StoredZoneKeys>;
  if (data.version !== 1 || !Array.isArray(data.keys) || data.keys.length === 0) throw new Error(`stored DNSSEC keys of ${zone} are unreadable`);
  const keys = data.keys.map((k) => SigningKey.fromStored(k));
  const r = data.rollover;
  if (r !== undefined && !(Number.isFinite(r.startedAt) && r.startedAt <= r.signAt && r.signAt <= r.retireAt)) {
    throw new Error(`stored DNSSEC rollover of ${zone} is unreadable`);
  }
  const rollover = r ? { key: SigningKey.fromStored(r.key), startedAt: r.startedAt, signAt: r.signAt, retireAt: r.retireAt } : undefined;
  if ([...keys, ...(rollover ? [rollover.key] : [])].some((k) => k.algorithm !== algorithm)) {
    // An algorithm rollover needs both algorithms' signatures for a while; switching at once would go bogus.
    throw new Error(`zone ${zone} is signed with ${keys[0]!.algorithm} in the store, not ${algorithm}: algorithm changes are not supported`);
  }
  return rollover ? { keys, rollover } : { keys };
}

/** The zone's stored record: the one there, or a new key stored now if there was none (the first writer wins). */
export async function getOrCreateZoneKeys(store: ZoneKeyStore, zone: string, algorithm: AlgorithmName): Promise<{ text: string; keys: ZoneKeys }> {
  let text = await store.read(zone);
  if (text === undefined) {
    await store.create(zone, JSON.stringify(newZoneKeys(algorithm)));
    text = await store.read(zone);
    if (text === undefined) throw new Error(`DNSSEC keys of ${zone} vanished from the store as they were stored`);
  }
  return { text, keys: parseZoneKeys(zone, text, algorithm) };
}

export class RolloverConflict extends Error {}

/**
 * Records a rollover of `zone` to a new key starting at `nowMs` (compare and set, retried when the record
 * changed meanwhile); throws RolloverConflict while one is running, whoever started it.
 */
export async function startRollover(
  store: ZoneKeyStore,
  zone: string,
  algorithm: AlgorithmName,
  timings: RolloverTimings,
  now: () => number = Date.now,
): Promise<{ text: string; keys: ZoneKeys }> {
  const next = SigningKey.generate(algorithm);
  for (;;) {
    const current = await getOrCreateZoneKeys(store, zone, algorithm);
    const planned = planRollover(current.keys, next, now(), timings);
    if (!planned) throw new RolloverConflict(`a key rollover of ${zone} is already running`);
    const text = JSON.stringify(storedOf(planned));
    if (await store.replace(zone, current.text, text)) return { text, keys: planned };
  }
}

interface Held {
  algorithm: AlgorithmName;
  /** The stored text the keys were read from: a re-read that finds the same text changes nothing. */
  text: string;
  keys: ZoneKeys;
}

/** The keys read for the zones of the current zone set, by apex; the snapshot builder reads it synchronously. */
export class ZoneKeyring {
  private readonly held = new Map<string, Held>();
  /** `store` undefined: the keys only come through `put` (a worker, told by its primary). */
  constructor(private readonly store: ZoneKeyStore | undefined) {}

  /** Reads (or makes) the keys of every signed zone of `zoneSet` not read yet; rejects when the store cannot. */
  async load(zoneSet: ZoneSet): Promise<void> {
    await this.read(zoneSet, (apex, algorithm) => this.held.get(apex)?.algorithm !== algorithm);
  }

  /** Reads every signed zone's record again (another node may have started a rollover); true when one changed. */
  async refresh(zoneSet: ZoneSet): Promise<boolean> {
    return this.read(zoneSet, () => true);
  }

  private async read(zoneSet: ZoneSet, wanted: (apex: string, algorithm: AlgorithmName) => boolean): Promise<boolean> {
    const store = this.store;
    if (!store) return false;
    const changed = await Promise.all(
      zoneSet.zones.map(async (zone) => {
        const dnssec = zone.dnssec;
        if (!dnssec || !wanted(zone.apex, dnssec.algorithm)) return false;
        const { text, keys } = await getOrCreateZoneKeys(store, zone.apex, dnssec.algorithm);
        return this.put(zone.apex, dnssec.algorithm, text, keys);
      }),
    );
    return changed.includes(true);
  }

  /** Keeps `keys` (read from `text`) for `apex`; false when they are the ones held already. */
  put(apex: string, algorithm: AlgorithmName, text: string, keys: ZoneKeys): boolean {
    const held = this.held.get(apex);
    if (held?.algorithm === algorithm && held.text === text) return false;
    this.held.set(apex, { algorithm, text, keys });
    return true;
  }

  /** Whether `load(zoneSet)` has keys to read. */
  needsLoad(zoneSet: ZoneSet): boolean {
    return zoneSet.zones.some((zone) => zone.dnssec !== undefined && this.held.get(zone.apex)?.algorithm !== zone.dnssec.algorithm);
  }

  /** The keys of `apex`, when they have been loaded. */
  get(apex: string): ZoneKeys | undefined {
    return this.held.get(apex)?.keys;
  }

  /** Every zone's stored record as read, for workers (which parse it themselves). Holds private keys. */
  records(): { apex: string; algorithm: AlgorithmName; text: string }[] {
    return [...this.held].map(([apex, h]) => ({ apex, algorithm: h.algorithm, text: h.text }));
  }
}

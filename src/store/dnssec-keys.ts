/**
 * Where a signed zone's keys live: one combined signing key (CSK) per zone, made on first use and kept in the
 * store so every node signs with the same key. `ZoneKeyStore` is the interface the stores implement
 * (dnssec-keys-file.ts for the embedded store, dnssec-keys-redis.ts for Redis); `ZoneKeyring` holds the keys
 * read so far for the snapshot builder, which is synchronous. Keys are secret: nothing here logs them.
 */
import { SigningKey, type AlgorithmName, type StoredKey } from '../dnssec/algorithms.js';
import type { ZoneSet } from '../model/types.js';

export interface ZoneKeyStore {
  /** The zone's keys, the signing key first: the stored ones, or a new key stored now if there were none. */
  getOrCreateZoneKeys(zone: string, algorithm: AlgorithmName): Promise<SigningKey[]>;
}

/** What is stored per zone (JSON): the keys, the one that signs first. */
export interface StoredZoneKeys {
  version: 1;
  keys: StoredKey[];
}

export function newZoneKeys(algorithm: AlgorithmName): StoredZoneKeys {
  return { version: 1, keys: [SigningKey.generate(algorithm).toStored()] };
}

/** The keys of a stored record; throws when it is unreadable or of another algorithm than the zone asks for. */
export function parseZoneKeys(zone: string, text: string, algorithm: AlgorithmName): SigningKey[] {
  const data = JSON.parse(text) as Partial<StoredZoneKeys>;
  if (data.version !== 1 || !Array.isArray(data.keys) || data.keys.length === 0) throw new Error(`stored DNSSEC keys of ${zone} are unreadable`);
  const keys = data.keys.map((k) => SigningKey.fromStored(k));
  if (keys[0]!.algorithm !== algorithm) {
    // An algorithm rollover needs both algorithms' signatures for a while; switching at once would go bogus.
    throw new Error(`zone ${zone} is signed with ${keys[0]!.algorithm} in the store, not ${algorithm}: algorithm changes are not supported`);
  }
  return keys;
}

/** The keys read for the zones of the current zone set, by apex; the snapshot builder reads it synchronously. */
export class ZoneKeyring {
  private readonly keys = new Map<string, { algorithm: AlgorithmName; keys: SigningKey[] }>();
  constructor(private readonly store: ZoneKeyStore) {}

  /** Reads (or makes) the keys of every signed zone of `zoneSet` not read yet; rejects when the store cannot. */
  async load(zoneSet: ZoneSet): Promise<void> {
    await Promise.all(
      zoneSet.zones.map(async (zone) => {
        const dnssec = zone.dnssec;
        if (!dnssec || this.keys.get(zone.apex)?.algorithm === dnssec.algorithm) return;
        const keys = await this.store.getOrCreateZoneKeys(zone.apex, dnssec.algorithm);
        this.keys.set(zone.apex, { algorithm: dnssec.algorithm, keys });
      }),
    );
  }

  /** Whether `load(zoneSet)` has keys to read. */
  needsLoad(zoneSet: ZoneSet): boolean {
    return zoneSet.zones.some((zone) => zone.dnssec !== undefined && this.keys.get(zone.apex)?.algorithm !== zone.dnssec.algorithm);
  }

  /** The keys of `apex`, signing key first, when they have been loaded. */
  get(apex: string): readonly SigningKey[] | undefined {
    return this.keys.get(apex)?.keys;
  }
}

/**
 * Zone keys in Redis: `{namespace}:dnssec:<zone>`, set once with SET NX and then read back, so nodes that
 * start together agree on the key whichever of them wrote it.
 */
import type { Cluster, Redis } from 'ioredis';
import type { AlgorithmName, SigningKey } from '../dnssec/algorithms.js';
import { newZoneKeys, parseZoneKeys, type ZoneKeyStore } from './dnssec-keys.js';
import { redisZoneKeysKey } from './keys.js';

export class RedisZoneKeys implements ZoneKeyStore {
  /** `namespace`: the store's `?namespace=`. */
  constructor(
    private readonly client: Redis | Cluster,
    private readonly namespace: string,
  ) {}

  keyOf(zone: string): string {
    return redisZoneKeysKey(this.namespace, zone);
  }

  async getOrCreateZoneKeys(zone: string, algorithm: AlgorithmName): Promise<SigningKey[]> {
    const key = this.keyOf(zone);
    let text = await this.client.get(key);
    if (text === null) {
      await this.client.set(key, JSON.stringify(newZoneKeys(algorithm)), 'NX');
      text = await this.client.get(key);
      if (text === null) throw new Error(`DNSSEC keys of ${zone} vanished from Redis as they were stored`);
    }
    return parseZoneKeys(zone, text, algorithm);
  }
}

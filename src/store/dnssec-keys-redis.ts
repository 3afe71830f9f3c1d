/**
 * Zone keys in Redis: `{namespace}:dnssec:<zone>`, created with SET NX and replaced only by a compare-and-set
 * script, so nodes that start together agree on the key, and two rollovers started at once cannot both win.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ZoneKeyStore } from './dnssec-keys.js';
import { redisZoneKeysKey } from './keys.js';

/** KEYS[1] the record; ARGV[1] what the caller read, ARGV[2] what replaces it. */
const COMPARE_AND_SET = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;

export class RedisZoneKeys implements ZoneKeyStore {
  /** `namespace`: the store's `?namespace=`. */
  constructor(
    private readonly client: Redis | Cluster,
    private readonly namespace: string,
  ) {}

  keyOf(zone: string): string {
    return redisZoneKeysKey(this.namespace, zone);
  }

  async read(zone: string): Promise<string | undefined> {
    return (await this.client.get(this.keyOf(zone))) ?? undefined;
  }

  async create(zone: string, text: string): Promise<boolean> {
    return (await this.client.set(this.keyOf(zone), text, 'NX')) === 'OK';
  }

  async replace(zone: string, expected: string, text: string): Promise<boolean> {
    return (await this.client.eval(COMPARE_AND_SET, 1, this.keyOf(zone), expected, text)) === 1;
  }
}

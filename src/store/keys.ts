/**
 * Every name the stores file things under, in one place: the Redis keys of a namespace, the fields of the
 * probe and latency hashes (also the keys of StateData's maps and of state.json's entries), and the files of
 * the embedded store's data directory. The Lua scripts get these names as arguments; they build none.
 */
import { join } from 'node:path';

/** The Redis keys of one `?namespace=`. */
export interface RedisKeys {
  regions: string;
  drains: string;
  probes: string;
  latency: string;
  /** Load reports by region. */
  load: string;
  epoch: string;
  /** The pub/sub channel every write publishes its change on. */
  channel: string;
}

/**
 * All keys share one hash tag (`{namespace}:…`), so multi-key scripts and transactions work on Cluster too
 * (every key of a namespace lives in the same slot).
 */
export function redisKeys(namespace: string): RedisKeys {
  const ns = `{${namespace}}`;
  return {
    regions: `${ns}:regions`,
    drains: `${ns}:drains`,
    probes: `${ns}:probes`,
    latency: `${ns}:latency`,
    load: `${ns}:load`,
    epoch: `${ns}:epoch`,
    channel: `${ns}:changes`,
  };
}

/** A signed zone's keys (dnssec-keys-redis.ts), in the namespace's slot like every other key. */
export function redisZoneKeysKey(namespace: string, zone: string): string {
  return `{${namespace}}:dnssec:${zone}`;
}

/** `${region}|${endpoint}|${prober}`: region names and addresses cannot contain "|". */
export function probeKey(region: string, endpoint: string, prober: string): string {
  return `${region}|${endpoint}|${prober}`;
}

/** Every probe key of a region starts with this. */
export function probeKeyPrefix(region: string): string {
  return `${region}|`;
}

/** HSCAN MATCH pattern for the probe keys of a region (glob characters in the name escaped). */
export function probeKeyPattern(region: string): string {
  return `${probeKeyPrefix(region).replace(/[*?[\]\\]/g, '\\$&')}*`;
}

/** The probe key's parts; `undefined` for a key that is not one (fewer than two "|"). */
export function parseProbeKey(key: string): [region: string, endpoint: string, prober: string] | undefined {
  const a = key.indexOf('|');
  const b = a < 0 ? -1 : key.indexOf('|', a + 1);
  if (a <= 0 || b < 0) return undefined;
  return [key.slice(0, a), key.slice(a + 1, b), key.slice(b + 1)];
}

/** The parts of a key made by probeKey (every key in a StateData was checked when it was read). */
export function splitProbeKey(key: string): [region: string, endpoint: string, prober: string] {
  return parseProbeKey(key) ?? [key, '', ''];
}

/** `${region}|${endpoint}`: the probe states of one endpoint, all probers together. */
export function endpointKey(region: string, endpoint: string): string {
  return `${region}|${endpoint}`;
}

/** Beacon averages are filed apart from `POST /v1/latency` ones for the same client and region (see LearnedLatency.source). */
export function latencyKey(v: { client: string; region: string; source?: 'beacon' | undefined }): string {
  return v.source === 'beacon' ? `${v.client}|${v.region}|beacon` : `${v.client}|${v.region}`;
}

/** The embedded store's files in its data directory. */
export interface DataFiles {
  /** The whole state, replaced atomically (written to `temp`, renamed over it). */
  state: string;
  temp: string;
  /** Who holds the directory (dir-lock.ts). */
  lock: string;
}

/** A signed zone's keys in the data directory (dnssec-keys-file.ts): the zone name never becomes a path. */
export function zoneKeysFile(dir: string, zone: string): string {
  return join(dir, 'dnssec', `${encodeURIComponent(zone)}.json`);
}

export function dataFiles(dir: string): DataFiles {
  const state = join(dir, 'state.json');
  return { state, temp: `${state}.tmp`, lock: join(dir, 'gslb.lock') };
}

/**
 * Reading the whole shared state from Redis, checked against the store's epoch (redis-reseed.ts): a store
 * that lost its data (restarted empty, flushed, failed over to an empty replica) is re-seeded from this
 * node's last synced state instead of wiping it.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { probeKeyPattern, type RedisKeys } from './keys.js';
import type { RedisLink } from './redis-link.js';
import { parseJson, readDrain, readLatency, readLoad, readProberState, readRegistration, warnCorrupt, type Read } from './records.js';
import { entryCount, RESEED_SCRIPT, reseedPayload } from './redis-reseed.js';
import type { RedisWriter } from './redis-writer.js';
import { emptyState, StoreUnavailableError, type LearnedLatency, type LoadReport, type RegionRegistration, type StateData } from './types.js';
import type { DrainRecord, ProberState } from '../health/probe-state.js';

export interface ReaderDeps {
  link: RedisLink;
  writer: RedisWriter;
  keys: RedisKeys;
  /** For logs: the URL without its password. */
  display: string;
  log: Logger;
  /** This node's last synced state, written back when the store turns out to have lost its data. */
  lastSynced: () => StateData | undefined;
  /** A change id of this node (the re-seed's notification carries it, so this node ignores its echo). */
  nextId: () => string;
}

/** A hash value as last read: its text, and what it read to (`undefined`: corrupt, reported). */
interface Seen<V> {
  raw: string;
  value: V | undefined;
}

export class RedisReader {
  /** What each hash held at the last read (fields gone since are dropped with it). */
  private readonly seen = {
    regions: new Map<string, Seen<RegionRegistration>>(),
    drains: new Map<string, Seen<DrainRecord>>(),
    probes: new Map<string, Seen<ProberState>>(),
    latency: new Map<string, Seen<LearnedLatency>>(),
    load: new Map<string, Seen<LoadReport>>(),
  };
  /** The store's epoch this node last synced with (undefined until the first read). */
  epoch: string | undefined;
  /** Re-seeds done by this node (for metrics and tests). */
  reseeds = 0;
  private reseeding: Promise<unknown> | undefined;

  constructor(private readonly d: ReaderDeps) {}

  /**
   * Everything, and the epoch, in one atomic read. Each hash value is validated (records.ts): a corrupt one is
   * reported once, with its key and field, and skipped. A value seen before as it is now is not read again
   * (the cache holds what it read to: the record, or nothing for a corrupt one), so a resync every 10 s
   * costs no parsing, nor warning, for what did not change.
   */
  private async readAll(): Promise<{ data: StateData; epoch: string | null }> {
    const k = this.d.keys;
    const res = await this.d.link.run(() => this.d.link.cmd.multi().hgetall(k.regions).hgetall(k.drains).hgetall(k.probes).hgetall(k.latency).get(k.epoch).hgetall(k.load).exec());
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw new StoreUnavailableError(`redis: ${failed?.[0]?.message ?? 'read aborted'}`);
    const reply = (i: number): unknown => res[i]?.[1];
    const epoch = reply(4);
    if (epoch !== null && typeof epoch !== 'string') throw new StoreUnavailableError(`redis: ${k.epoch} is not a string`);
    const data = emptyState();
    const seen = this.seen;
    seen.regions = this.read(reply(0), k.regions, seen.regions, (field, v) => readRegistration(v, field), data.regions);
    seen.drains = this.read(reply(1), k.drains, seen.drains, (_field, v) => readDrain(v), data.drains);
    seen.probes = this.read(reply(2), k.probes, seen.probes, readProberState, data.probes);
    seen.latency = this.read(reply(3), k.latency, seen.latency, (field, v) => readLatency(v, field), data.latency);
    seen.load = this.read(reply(5), k.load, seen.load, (field, v) => readLoad(v, field), data.load);
    return { data, epoch };
  }

  /** One hash's fields into `into`, through its cache (see readAll); returns the cache for the next read. */
  private read<V>(hash: unknown, key: string, seen: Map<string, Seen<V>>, readValue: (field: string, value: unknown) => Read<V>, into: Map<string, V>): Map<string, Seen<V>> {
    if (typeof hash !== 'object' || hash === null) throw new StoreUnavailableError(`redis: ${key} did not read as a hash`);
    const report = warnCorrupt(this.d.log, { key });
    const now = new Map<string, Seen<V>>();
    for (const [field, raw] of Object.entries(hash)) {
      if (typeof raw !== 'string') continue;
      let entry = seen.get(field);
      if (entry?.raw !== raw) {
        const json = parseJson(raw);
        const r = json.problem ? json : readValue(field, json.value);
        if (r.problem) report(field, r.problem, raw);
        entry = { raw, value: r.problem ? undefined : r.value };
      }
      now.set(field, entry);
      if (entry.value !== undefined) into.set(field, entry.value);
    }
    return now;
  }

  /** The probe keys of a region (HSCAN: a region's keys are found without reading every state). */
  probeKeysOf(region: string): Promise<string[]> {
    return this.d.link.run(async () => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await this.d.link.cmd.hscan(this.d.keys.probes, cursor, 'MATCH', probeKeyPattern(region), 'COUNT', 1000);
        cursor = next;
        for (let i = 0; i < batch.length; i += 2) found.push(batch[i]!);
      } while (cursor !== '0');
      return found;
    });
  }

  /**
   * readAll, checked against the epoch this node synced with. The first read adopts the store's epoch (or
   * stamps a new one on a store that has none). Later, a missing or different epoch means the data this
   * node synced with is gone: write this node's last synced state back (newest copy of each entry wins, see
   * redis-reseed.ts), adopt the resulting epoch, and read again, so an empty store never wipes this node.
   */
  async syncedRead(again = false): Promise<StateData> {
    const first = await this.readAll();
    if (first.epoch !== null && (this.epoch === undefined || first.epoch === this.epoch)) {
      this.epoch = first.epoch;
      return first.data;
    }
    if (this.reseeding && !again) {
      // Another read of this node found the same loss and is re-seeding: read once it is done.
      await this.reseeding.catch(() => undefined);
      return this.syncedRead(true);
    }
    const mine = this.epoch !== undefined ? this.d.lastSynced() : undefined;
    if (!mine) {
      // First read of this node: nothing of its own to lose.
      this.epoch = first.epoch ?? (await this.stampEpoch());
      return first.data;
    }
    const lost = first.epoch === null;
    const reseeding = this.reseed(mine, first.epoch);
    this.reseeding = reseeding;
    let epoch: string;
    let written: number;
    try {
      ({ epoch, written } = await reseeding);
    } finally {
      if (this.reseeding === reseeding) this.reseeding = undefined;
    }
    this.d.log.error(
      { redis: this.d.display, previousEpoch: this.epoch, foundEpoch: first.epoch, epoch, entries: entryCount(mine), written, foundEntries: entryCount(first.data) },
      lost
        ? 'redis lost its data (restarted empty, flushed, or failed over to an empty replica): re-seeded it from this node\'s last synced state'
        : 'redis was re-seeded or replaced by another node: merged this node\'s last synced state into it (newest entries win)',
    );
    this.reseeds++;
    this.epoch = epoch;
    return (await this.readAll()).data;
  }

  /** A store without an epoch gets one (the first node to ask wins; nothing is published: no data changed). */
  private async stampEpoch(): Promise<string> {
    const k = this.d.keys;
    // SET NX: harmless whenever it lands, so it needs no deadline.
    const res = await this.d.writer.write(() => this.d.link.cmd.multi().set(k.epoch, randomBytes(8).toString('hex'), 'NX').get(k.epoch).exec());
    const epoch = res?.[1]?.[1];
    if (typeof epoch !== 'string') throw new StoreUnavailableError('redis: could not read the epoch back');
    return epoch;
  }

  private async reseed(state: StateData, found: string | null): Promise<{ epoch: string; written: number }> {
    const proposed = found ?? randomBytes(8).toString('hex');
    const k = this.d.keys;
    const res = await this.d.writer.write((deadline) =>
      this.d.link.cmd.eval(RESEED_SCRIPT, 5, k.regions, k.drains, k.probes, k.latency, k.epoch, k.channel, proposed, reseedPayload(state), this.d.nextId(), deadline),
    );
    if (!Array.isArray(res) || typeof res[0] !== 'string' || typeof res[1] !== 'number') throw new StoreUnavailableError('redis: unexpected reply to the re-seed');
    return { epoch: res[0], written: res[1] };
  }
}

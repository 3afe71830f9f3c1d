/**
 * The shared store on Redis (ioredis; single server, Sentinel or Cluster). Slightly over ~300 lines: it is
 * the Store interface's methods over the parts below, each a few lines. All keys share one hash tag
 * (keys.ts) so multi-key transactions work on Cluster too. Every write publishes the resulting state on the
 * namespace's channel *inside the same atomic step* (Lua script), so subscribers see changes in the order
 * they were made. Commands fail fast while disconnected: the API answers 503 and DNS keeps serving the last
 * snapshot; on reconnect, and every 10 s as a safety net, the node re-reads all.
 *
 * The parts: redis-link.ts (the two connections, faults, status), redis-writer.ts (deadlines and replicas of
 * every write: a 503 is safe to retry and never applied later), redis-read.ts (full reads checked against the
 * store's epoch, re-seeding a store that lost its data), redis-own-changes.ts (own writes heard twice),
 * redis-scripts.ts (the writes computed in Lua). This file is the Store on top of them.
 */
import type { Logger } from 'pino';
import { published, readNotification, scriptChange, type PublishedChange } from './change-message.js';
import { latencyKey, probeKey, redisKeys, type RedisKeys } from './keys.js';
import { LATENCY_ALPHA, LATENCY_MAX_AGE_MS } from './latency.js';
import type { RedisTarget } from './redis-connect.js';
import { RedisLink, type Client } from './redis-link.js';
import { OwnChanges } from './redis-own-changes.js';
import { RedisReader } from './redis-read.js';
import { LATENCY_SCRIPT, PROBE_SCRIPT, PRUNE_SCRIPT } from './redis-scripts.js';
import { RedisWriter } from './redis-writer.js';
import { warnCorrupt, type ReportCorrupt } from './records.js';
import { RedisZoneKeys } from './dnssec-keys-redis.js';
import type { StoreStatus } from './store-status.js';
import { emptyState, type LatencySample, type LearnedLatency, type LoadReport, type RegionRegistration, type StateData, type Store, type StoreChange } from './types.js';
import type { DrainRecord, ProbeUpdate, ProberState } from '../health/probe-state.js';

/** The safety net for missed notifications: a full re-read this often. */
const RESYNC_MS = 10_000;

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly keys: RedisKeys;
  private readonly link: RedisLink;
  private readonly writer: RedisWriter;
  private readonly reader: RedisReader;
  private readonly own = new OwnChanges();
  private readonly listeners: ((c: StoreChange) => void)[] = [];
  private readonly reportNotification: ReportCorrupt;
  private readonly reportProbes: ReportCorrupt;
  private readonly reportLatency: ReportCorrupt;
  private timer: NodeJS.Timeout | undefined;
  /**
   * Notifications may have been missed (a connection dropped, or start() could not read): re-read everything
   * once BOTH connections are back. Re-reading as soon as the command connection is back, before the
   * subscriber has resubscribed, would lose whatever other nodes write in between until the periodic resync.
   */
  private resyncOwed = false;
  private catchingUp = false;
  /** Notifications received while a resync reads, to replay after it (see resync). */
  private replay: StoreChange[] | undefined;
  /** Called after a reconnect, before the resync: lets the node push what it learned while Redis was away. */
  beforeResync: (() => Promise<void>) | undefined;
  /** This node's last synced state, written back when the store turns out to have lost its data. */
  lastSynced: (() => StateData) | undefined;

  /** Where signed zones' keys are kept (dnssec-keys-redis.ts), in this store's namespace. */
  zoneKeys(): RedisZoneKeys {
    return new RedisZoneKeys(this.link.cmd, this.target.namespace);
  }

  constructor(
    private readonly target: RedisTarget,
    private readonly log: Logger,
    /** `--redis-min-replicas`: replicas that must hold a write before it is acknowledged (0 = the primary alone). */
    minReplicas = 0,
    /** How often everything is re-read (tests make it short to see several resyncs). */
    private readonly resyncMs = RESYNC_MS,
  ) {
    this.keys = redisKeys(target.namespace);
    this.reportNotification = warnCorrupt(log, { key: this.keys.channel }, 'corrupt change notification: not applied (or that part of it)');
    this.reportProbes = warnCorrupt(log, { key: this.keys.probes });
    this.reportLatency = warnCorrupt(log, { key: this.keys.latency });
    this.link = new RedisLink(
      target,
      this.keys.channel,
      this.keys.epoch,
      {
        message: (text) => this.onMessage(text),
        missed: () => {
          this.resyncOwed = true;
        },
        up: () => void this.catchUp(),
        heartbeat: (cmd) => this.checkEpoch(cmd),
      },
      log,
    );
    this.writer = new RedisWriter(this.link, this.keys.regions, minReplicas);
    this.reader = new RedisReader({
      link: this.link,
      writer: this.writer,
      keys: this.keys,
      display: target.display,
      log,
      lastSynced: () => this.lastSynced?.(),
      nextId: () => this.own.nextId(),
    });
  }

  /** Re-seeds done by this node (for metrics and tests). */
  get reseeds(): number {
    return this.reader.reseeds;
  }

  /** A notification (read back validated, change-message.ts): a change, or another node's re-seed. */
  private onMessage(message: string): void {
    const n = readNotification(message, this.reportNotification);
    if (!n) return;
    if (n.change.kind === 'reseeded') {
      // Another node re-seeded a store that lost its data: merge ours too and re-read (see resync).
      if (n.id !== undefined && !this.own.isOwn(n.id)) this.requestResync();
      return;
    }
    if (n.id !== undefined) this.own.heard(n.id);
    this.replay?.push(n.change);
    this.emit(n.change);
  }

  /** A write of ours was acknowledged: apply its change now unless pub/sub already delivered it (see OwnChanges). */
  private emitOwn(id: string, change: StoreChange): void {
    if (this.own.acknowledged(id)) this.emit(change);
  }

  async start(): Promise<StateData> {
    // Read only once subscribed too: a change made between the read and the SUBSCRIBE would be missed.
    await this.link.settle(5000);
    this.timer = setInterval(() => {
      if (this.link.available()) this.resync().catch((err: unknown) => this.log.warn({ err }, 'periodic resync failed'));
    }, this.resyncMs);
    this.timer.unref();
    this.link.start();
    if (!this.link.subscribed) this.resyncOwed = true;
    if (!this.link.available()) {
      this.log.warn({ redis: this.target.display }, 'redis not reachable yet: serving zone-file configuration, will resync when it is');
      this.resyncOwed = true;
      return emptyState();
    }
    return this.reader.syncedRead();
  }

  /** After a reconnect (or a start without Redis), once both connections are up: push local results, re-read. */
  private async catchUp(): Promise<void> {
    // A loop, not one pass: a resync asked for while one runs (another node re-seeded) must still happen.
    for (let i = 0; i < 10 && this.resyncOwed && this.link.available() && this.link.subscribed && !this.catchingUp && !this.link.closed; i++) {
      this.resyncOwed = false;
      this.catchingUp = true;
      try {
        await this.beforeResync?.();
        await this.resync();
      } catch (err) {
        this.resyncOwed = true;
        this.log.warn({ err }, 'resync after reconnect failed');
        return;
      } finally {
        this.catchingUp = false;
      }
    }
  }

  private requestResync(): void {
    this.resyncOwed = true;
    void this.catchUp();
  }

  /** The heartbeat on the command connection: a store that lost or replaced its data is noticed within a second. */
  private async checkEpoch(cmd: Client): Promise<void> {
    const epoch = await cmd.get(this.keys.epoch);
    const mine = this.reader.epoch;
    if (this.link.available() && mine !== undefined && epoch !== mine && !this.catchingUp) {
      this.log.warn({ redis: this.target.display, expected: mine, found: epoch }, 'redis epoch changed: the store lost or replaced its data; resyncing');
      this.requestResync();
    }
  }

  available(): boolean {
    return this.link.available();
  }

  status(): StoreStatus {
    return this.link.status();
  }

  /** Called with `false` when the store becomes unreachable and `true` when it is back. */
  onStatusChange(listener: (up: boolean) => void): void {
    this.link.onStatusChange(listener);
  }

  onChange(listener: (c: StoreChange) => void): void {
    this.listeners.push(listener);
  }

  private emit(c: StoreChange): void {
    for (const l of this.listeners) l(c);
  }

  /**
   * Re-read everything, then replay the notifications that arrived while reading: the read may have run
   * before some of them were written, and notifications arrive in write order, so replaying them in order
   * leaves every key at its latest state (without this, a change made during the read was lost until the
   * next change or resync).
   */
  private async resync(): Promise<void> {
    const replay: StoreChange[] = [];
    this.replay = replay;
    try {
      const data = await this.reader.syncedRead();
      this.emit({ kind: 'resync', data });
      for (const c of replay) this.emit(c);
    } finally {
      if (this.replay === replay) this.replay = undefined;
    }
  }

  async putRegion(reg: RegionRegistration): Promise<void> {
    const change: PublishedChange = { kind: 'region', name: reg.name, registration: reg };
    const id = this.own.nextId();
    await this.writer.transaction((m) => m.hset(this.keys.regions, reg.name, JSON.stringify(reg)).publish(this.keys.channel, published(change, id)));
    this.emitOwn(id, change);
  }

  async deleteRegion(name: string): Promise<void> {
    const fields = await this.reader.probeKeysOf(name);
    const changes: [string, PublishedChange][] = [
      [this.own.nextId(), { kind: 'region', name, registration: null }],
      [this.own.nextId(), { kind: 'drain', name, drain: null }],
    ];
    if (fields.length > 0) changes.push([this.own.nextId(), { kind: 'probes', states: fields.map((f): [string, null] => [f, null]) }]);
    await this.writer.transaction((m) => {
      m.hdel(this.keys.regions, name).hdel(this.keys.drains, name);
      if (fields.length > 0) m.hdel(this.keys.probes, ...fields);
      for (const [id, change] of changes) m.publish(this.keys.channel, published(change, id));
    });
    for (const [id, change] of changes) this.emitOwn(id, change);
  }

  async setDrain(name: string, drain: DrainRecord | null): Promise<void> {
    const change: PublishedChange = { kind: 'drain', name, drain };
    const id = this.own.nextId();
    await this.writer.transaction((m) => {
      if (drain) m.hset(this.keys.drains, name, JSON.stringify(drain));
      else m.hdel(this.keys.drains, name);
      m.publish(this.keys.channel, published(change, id));
    });
    this.emitOwn(id, change);
  }

  async applyProbes(updates: ProbeUpdate[], now: number, durable = true): Promise<[string, ProberState][]> {
    if (updates.length === 0) return [];
    const payload = updates.map((u) => ({
      k: probeKey(u.region, u.endpoint, u.prober),
      ok: u.ok,
      rise: u.rise,
      fall: u.fall,
      ...(u.rttMs !== undefined ? { rtt: u.rttMs } : {}),
      ...(u.error !== undefined ? { err: u.error } : {}),
    }));
    const id = this.own.nextId();
    // A node's own checks (durable: false) are repeated every interval, so they do not wait for replicas.
    const msg = await this.writer.write(async (deadline) => {
      const out = await this.link.cmd.eval(PROBE_SCRIPT, 1, this.keys.probes, this.keys.channel, String(now), JSON.stringify(payload), id, deadline);
      if (durable) await this.writer.replicated();
      return out;
    });
    const change = scriptChange(msg, 'probes', this.reportProbes);
    // Our own change, applied now rather than when the notification comes back (unless it came already).
    this.emitOwn(id, change);
    return change.states.filter((s): s is [string, ProberState] => s[1] !== null);
  }

  async recordLatency(samples: LatencySample[], now: number): Promise<LearnedLatency[]> {
    const payload = samples.map((s) => ({ k: latencyKey(s), client: s.client, region: s.region, rtt: s.rttMs, ...(s.source ? { source: s.source } : {}) }));
    const id = this.own.nextId();
    const msg = await this.writer.write(async (deadline) => {
      const out = await this.link.cmd.eval(LATENCY_SCRIPT, 1, this.keys.latency, this.keys.channel, String(now), String(LATENCY_ALPHA), String(LATENCY_MAX_AGE_MS), JSON.stringify(payload), id, deadline);
      await this.writer.replicated();
      return out;
    });
    const change = scriptChange(msg, 'latency', this.reportLatency);
    this.emitOwn(id, change);
    return change.values;
  }

  async recordLoad(reports: LoadReport[]): Promise<void> {
    if (reports.length === 0) return;
    const id = this.own.nextId();
    const change: PublishedChange = { kind: 'load', reports };
    // The latest report replaces the previous one: nothing to compute where the data lives, so no script.
    await this.writer.transaction((m) => m.hset(this.keys.load, ...reports.flatMap((r) => [r.region, JSON.stringify(r)])).publish(this.keys.channel, published(change, id)));
    this.emitOwn(id, change);
  }

  async restoreProbes(states: [string, ProberState][]): Promise<void> {
    if (states.length === 0) return;
    const change: StoreChange = { kind: 'probes', states };
    await this.writer.transaction((m) => {
      m.hset(this.keys.probes, ...states.flatMap(([k, v]) => [k, JSON.stringify(v)]));
      m.publish(this.keys.channel, JSON.stringify(change));
      // Re-pushed check results are refreshed by the next checks anyway; waiting for replicas here would let a
      // missing replica block the resync after a reconnect.
    }, false);
  }

  async pruneProbes(stale: [string, number][]): Promise<string[]> {
    if (stale.length === 0) return [];
    const id = this.own.nextId();
    const msg = await this.writer.write((deadline) => this.link.cmd.eval(PRUNE_SCRIPT, 1, this.keys.probes, this.keys.channel, id, JSON.stringify(stale), deadline));
    if (msg === '') return [];
    const change = scriptChange(msg, 'probes', this.reportProbes);
    this.emitOwn(id, change);
    return change.states.map(([key]) => key);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.link.close();
  }
}


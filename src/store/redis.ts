/**
 * The shared store on Redis (ioredis; single server, Sentinel or Cluster). All keys share one hash tag
 * (`{namespace}:…`) so multi-key transactions work on Cluster too. Every write publishes the resulting state
 * on `{namespace}:changes` *inside the same atomic step* (Lua script or MULTI), so subscribers see changes in
 * the order they were made. Commands fail fast while disconnected (no offline queue): the API answers 503 and
 * DNS keeps serving the last snapshot; on reconnect, and every 10 s as a safety net, the node re-reads all.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LATENCY_ALPHA, LATENCY_MAX_AGE_MS } from './latency.js';
import type { ClientOptions, RedisTarget } from './redis-connect.js';
import {
  emptyState,
  StoreUnavailableError,
  type DrainRecord,
  type LatencySample,
  type LearnedLatency,
  type ProbeUpdate,
  type ProberState,
  type RegionRegistration,
  type StateData,
  type Store,
  type StoreChange,
} from './types.js';

/** Same machine as health/machine.ts applyResult, run where the data lives so concurrent reporters cannot race. */
const PROBE_SCRIPT = `
local now = tonumber(ARGV[2])
local updates = cjson.decode(ARGV[3])
local out = {}
for _, u in ipairs(updates) do
  local cur = redis.call('HGET', KEYS[1], u.k)
  local s
  if cur then
    local p = cjson.decode(cur)
    local okS, failS = 0, 0
    if u.ok then okS = math.min(p.okStreak + 1, 1000) else failS = math.min(p.failStreak + 1, 1000) end
    local up, since, tr = p.up, p.since, (p.transitions or 0)
    if (up and failS >= u.fall) or ((not up) and okS >= u.rise) then
      up = not up; since = now; tr = math.min(tr + 1, 1000)
    end
    s = { up = up, okStreak = okS, failStreak = failS, at = now, since = since, transitions = tr }
    if p.lastError then s.lastError = p.lastError; s.lastErrorAt = p.lastErrorAt end
  else
    if u.ok then s = { up = true, okStreak = 1, failStreak = 0, at = now, since = now, transitions = 0 }
    else s = { up = false, okStreak = 0, failStreak = 1, at = now, since = now, transitions = 0 } end
  end
  if u.rtt then s.rttMs = u.rtt end
  if not u.ok then s.lastError = u.err or 'check failed'; s.lastErrorAt = now end
  redis.call('HSET', KEYS[1], u.k, cjson.encode(s))
  out[#out + 1] = cjson.encode({ u.k, s })
end
local msg = '{"kind":"probes","id":"' .. ARGV[4] .. '","states":[' .. table.concat(out, ',') .. ']}'
redis.call('PUBLISH', ARGV[1], msg)
return msg
`;

/** Same arithmetic as store/latency.ts smoothLatency. */
const LATENCY_SCRIPT = `
local now, alpha, maxAge = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local samples = cjson.decode(ARGV[5])
local out = {}
for _, s in ipairs(samples) do
  local key = s.client .. '|' .. s.region
  local cur = redis.call('HGET', KEYS[1], key)
  local v = { client = s.client, region = s.region, rttMs = s.rtt, samples = 1, updatedAt = now }
  if cur then
    local p = cjson.decode(cur)
    if now - p.updatedAt <= maxAge then
      v.rttMs = p.rttMs + alpha * (s.rtt - p.rttMs)
      v.samples = p.samples + 1
    end
  end
  local enc = cjson.encode(v)
  redis.call('HSET', KEYS[1], key, enc)
  out[#out + 1] = enc
end
local msg = '{"kind":"latency","id":"' .. ARGV[6] .. '","values":[' .. table.concat(out, ',') .. ']}'
redis.call('PUBLISH', ARGV[1], msg)
return msg
`;

/** Delete probe states not reported since the given time (see Store.pruneProbes), and publish the deletions. */
const PRUNE_SCRIPT = `
local stale = cjson.decode(ARGV[3])
local gone = {}
for _, e in ipairs(stale) do
  local cur = redis.call('HGET', KEYS[1], e[1])
  if cur and tonumber(cjson.decode(cur).at) <= tonumber(e[2]) then
    redis.call('HDEL', KEYS[1], e[1])
    gone[#gone + 1] = '[' .. cjson.encode(e[1]) .. ',null]'
  end
end
if #gone == 0 then return '' end
local msg = '{"kind":"probes","id":"' .. ARGV[2] .. '","states":[' .. table.concat(gone, ',') .. ']}'
redis.call('PUBLISH', ARGV[1], msg)
return msg
`;

/** The safety net for missed notifications: a full re-read this often. */
const RESYNC_MS = 10_000;
/**
 * How long a write waits (Redis WAIT) for `--redis-min-replicas` replicas before it answers 503: short enough to
 * stay inside the API's ~2 s answer budget, long enough for a healthy replica on the same network (~1 ms).
 */
const REPLICA_WAIT_MS = 1000;
/** Bound on the ids remembered for the own-change bookkeeping below (only grows while pub/sub is away). */
const MAX_PENDING_IDS = 10_000;

type Client = Redis | Cluster;

// ioredis' option types do not satisfy its own constructor under exactOptionalPropertyTypes (as in redis-connect.ts).
const NewRedis = Redis as unknown as new (options: object) => Redis;

/** A published change carries the id of the write that made it (stripped before listeners see it). */
type Published = StoreChange & { id?: string };

function boundedAdd(set: Set<string>, id: string): void {
  set.add(id);
  if (set.size > MAX_PENDING_IDS) set.delete(set.values().next().value as string);
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly cmd: Client;
  /** Replaced on Cluster when its node is gone (see clusterSubscriber). */
  private sub: Client | undefined;
  private subNode = 0;
  private readonly options: ClientOptions;
  private readonly keys: { regions: string; drains: string; probes: string; latency: string; channel: string };
  private readonly listeners: ((c: StoreChange) => void)[] = [];
  private ready = false;
  private everReady = false;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  /** The subscriber's SUBSCRIBE is confirmed: notifications published from now on reach this node. */
  private subscribed = false;
  /**
   * Notifications may have been missed (a connection dropped, or start() could not read): re-read everything
   * once BOTH connections are back. Re-reading as soon as the command connection is back, before the
   * subscriber has resubscribed, would lose whatever other nodes write in between until the periodic resync.
   */
  private resyncOwed = false;
  private catchingUp = false;
  /** Notifications received while a resync reads, to replay after it (see resync). */
  private replay: StoreChange[] | undefined;
  private readonly waiters = new Set<() => void>();
  /**
   * Every write applies its own change when Redis acknowledges it (so the API reads its own write) and hears it
   * again over pub/sub. The acknowledgement and the notification arrive on different connections, in either
   * order. If the notification came first it was applied in order, possibly followed by newer changes from
   * other nodes; applying the acknowledged change again then would put an older state over them until the next
   * change or resync. So writes are tagged with ids: `echoedFirst` holds own ids already delivered by pub/sub
   * (the acknowledgement then applies nothing), `appliedFirst` own ids applied on acknowledgement (their
   * notification is then not remembered).
   */
  private readonly idPrefix = randomBytes(6).toString('hex');
  private idCounter = 0;
  private readonly echoedFirst = new Set<string>();
  private readonly appliedFirst = new Set<string>();
  /** Called after a reconnect, before the resync: lets the node push what it learned while Redis was away. */
  beforeResync: (() => Promise<void>) | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly log: Logger,
    /** `--redis-min-replicas`: replicas that must hold a write before it is acknowledged (0 = the primary alone). */
    private readonly minReplicas = 0,
  ) {
    const ns = `{${target.namespace}}`;
    this.keys = { regions: `${ns}:regions`, drains: `${ns}:drains`, probes: `${ns}:probes`, latency: `${ns}:latency`, channel: `${ns}:changes` };
    const options: ClientOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // Keep trying forever, at most every 2 s: Redis coming back must be noticed without a restart.
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
    };
    this.options = options;
    this.cmd = target.create(options);
    // On Cluster the subscriber is made once the cluster's nodes are known (clusterSubscriber).
    if (!(this.cmd instanceof Cluster)) this.attachSubscriber(target.create({ ...options, enableOfflineQueue: true }));
    this.cmd.on('ready', () => void this.onReady());
    for (const ev of ['close', 'end'] as const) this.cmd.on(ev, () => this.onDown());
    this.cmd.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis error'));
  }

  /**
   * On Cluster, the subscriber is a plain connection to one node (a PUBLISH reaches every node of a cluster).
   * ioredis' own Cluster subscriber moves to another node silently when its connection drops, so nothing
   * told this store that notifications published meanwhile were missed: the other nodes' changes then waited
   * for the 10 s resync. A plain connection reports close/ready like the other modes (so the catch-up below
   * runs); when its node stays unreachable, the next known node is tried.
   */
  private clusterSubscriber(cluster: Cluster): void {
    const nodes = cluster.nodes('all');
    const node = nodes[this.subNode++ % Math.max(nodes.length, 1)];
    if (!node || this.closing) return;
    const { host, port, username, password, tls } = node.options;
    const sub = new NewRedis({
      ...this.options,
      enableOfflineQueue: true,
      host,
      port,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(tls ? { tls } : {}),
      // A few quick retries on this node, then another one.
      retryStrategy: (times: number) => (times > 3 ? null : 200 * times),
    });
    sub.on('end', () => {
      if (this.sub !== sub || this.closing) return;
      this.sub = undefined;
      setTimeout(() => this.clusterSubscriber(cluster), 100).unref();
    });
    this.attachSubscriber(sub);
  }

  private attachSubscriber(sub: Client): void {
    this.sub = sub;
    for (const ev of ['close', 'end'] as const)
      sub.on(ev, () => {
        // Whatever is published until the subscription is back is missed: catch up then.
        if (this.subscribed) this.resyncOwed = true;
        this.subscribed = false;
      });
    sub.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis subscriber error'));
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.channel) return;
      let change: Published;
      try {
        change = JSON.parse(message) as Published;
      } catch (err) {
        this.log.warn({ err }, 'unreadable change notification');
        return;
      }
      const id = change.id;
      if (id !== undefined) {
        delete change.id;
        if (id.startsWith(`${this.idPrefix}.`) && !this.appliedFirst.delete(id)) boundedAdd(this.echoedFirst, id);
      }
      this.replay?.push(change);
      this.emit(change);
    });
    sub.on('ready', () => {
      sub.subscribe(this.keys.channel).then(
        () => {
          this.subscribed = true;
          this.wake();
          void this.catchUp();
        },
        (err: unknown) => this.log.warn({ err }, 'subscribe failed'),
      );
    });
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  private nextId(): string {
    return `${this.idPrefix}.${++this.idCounter}`;
  }

  /** A write of ours was acknowledged: apply its change now unless pub/sub already delivered it (see above). */
  private emitOwn(id: string, change: StoreChange): void {
    if (this.echoedFirst.delete(id)) return;
    boundedAdd(this.appliedFirst, id);
    this.emit(change);
  }

  /** The JSON published for a change made by a MULTI write. */
  private published(change: StoreChange, id: string): string {
    return JSON.stringify({ ...change, id });
  }

  async start(): Promise<StateData> {
    // Read only once subscribed too: a change made between the read and the SUBSCRIBE would be missed.
    await new Promise<void>((resolve) => {
      const done = () => {
        if (!(this.ready && this.subscribed)) return;
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(() => {
        this.waiters.delete(done);
        resolve();
      }, 5000);
      this.waiters.add(done);
      done();
    });
    this.timer = setInterval(() => {
      if (this.ready) this.resync().catch((err: unknown) => this.log.warn({ err }, 'periodic resync failed'));
    }, RESYNC_MS);
    this.timer.unref();
    if (!this.subscribed) this.resyncOwed = true;
    if (!this.ready) {
      this.log.warn({ redis: this.target.display }, 'redis not reachable yet: serving zone-file configuration, will resync when it is');
      this.resyncOwed = true;
      return emptyState();
    }
    return this.readAll();
  }

  private onReady(): void {
    if (this.cmd instanceof Cluster && !this.sub) this.clusterSubscriber(this.cmd);
    const wasReady = this.everReady;
    this.ready = true;
    this.everReady = true;
    this.log.info({ redis: this.target.display }, 'redis connected');
    this.wake();
    if (wasReady) this.resyncOwed = true;
    void this.catchUp();
  }

  /** After a reconnect (or a start without Redis), once both connections are up: push local results, re-read. */
  private async catchUp(): Promise<void> {
    if (!this.resyncOwed || !this.ready || !this.subscribed || this.catchingUp || this.closing) return;
    this.resyncOwed = false;
    this.catchingUp = true;
    try {
      await this.beforeResync?.();
      await this.resync();
    } catch (err) {
      this.resyncOwed = true;
      this.log.warn({ err }, 'resync after reconnect failed');
    } finally {
      this.catchingUp = false;
    }
  }

  private onDown(): void {
    if (this.ready && !this.closing) this.log.warn({ redis: this.target.display }, 'redis connection lost: writes answer 503, DNS keeps serving');
    this.ready = false;
  }

  available(): boolean {
    return this.ready;
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
      const data = await this.readAll();
      this.emit({ kind: 'resync', data });
      for (const c of replay) this.emit(c);
    } finally {
      if (this.replay === replay) this.replay = undefined;
    }
  }

  private async readAll(): Promise<StateData> {
    const [regions, drains, probes, latency] = await this.run(() =>
      Promise.all([this.cmd.hgetall(this.keys.regions), this.cmd.hgetall(this.keys.drains), this.cmd.hgetall(this.keys.probes), this.cmd.hgetall(this.keys.latency)]),
    );
    const data = emptyState();
    for (const [k, v] of Object.entries(regions)) data.regions.set(k, JSON.parse(v) as RegionRegistration);
    for (const [k, v] of Object.entries(drains)) data.drains.set(k, JSON.parse(v) as DrainRecord);
    for (const [k, v] of Object.entries(probes)) data.probes.set(k, JSON.parse(v) as ProberState);
    for (const [k, v] of Object.entries(latency)) data.latency.set(k, JSON.parse(v) as LearnedLatency);
    return data;
  }

  /** Runs Redis calls, turning every failure into StoreUnavailableError. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.ready) throw new StoreUnavailableError(`redis ${this.target.display} is not connected`);
    try {
      return await fn();
    } catch (err) {
      throw new StoreUnavailableError(`redis: ${(err as Error).message}`);
    }
  }

  private async transaction(build: (m: ReturnType<Client['multi']>) => void, replicate = true): Promise<void> {
    await this.run(async () => {
      const m = this.cmd.multi();
      build(m);
      const res = await m.exec();
      const failed = res?.find(([err]) => err);
      if (!res || failed) throw failed?.[0] ?? new Error('transaction aborted');
      if (replicate) await this.replicated();
    });
  }

  /**
   * With `--redis-min-replicas N`: resolve only once N replicas hold every write this connection made so far
   * (WAIT counts replicas that reached this connection's replication offset, so it covers the write just made).
   * Replication is asynchronous, so without this a write the primary acknowledged can vanish in a failover.
   * On Cluster the WAIT rides in a pipeline with a read of one of our keys: ioredis routes that pipeline to
   * the master serving the `{namespace}` slot, the node (and connection) that took the write.
   * A shortfall rejects (-> 503): the write may exist on the primary, but retrying it is safe.
   */
  private async replicated(): Promise<void> {
    if (this.minReplicas === 0) return;
    const res = await this.cmd.pipeline().exists(this.keys.regions).wait(this.minReplicas, REPLICA_WAIT_MS).exec();
    const [err, acked] = res?.[1] ?? [new Error('WAIT not answered')];
    if (err) throw err;
    if (Number(acked) < this.minReplicas)
      throw new Error(`only ${Number(acked)} of ${this.minReplicas} replicas confirmed the write within ${REPLICA_WAIT_MS} ms (safe to retry)`);
  }

  async putRegion(reg: RegionRegistration): Promise<void> {
    const change: StoreChange = { kind: 'region', name: reg.name, registration: reg };
    const id = this.nextId();
    await this.transaction((m) => m.hset(this.keys.regions, reg.name, JSON.stringify(reg)).publish(this.keys.channel, this.published(change, id)));
    this.emitOwn(id, change);
  }

  async deleteRegion(name: string): Promise<void> {
    const fields = await this.run(async () => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await this.cmd.hscan(this.keys.probes, cursor, 'MATCH', `${name.replace(/[*?[\]\\]/g, '\\$&')}|*`, 'COUNT', 1000);
        cursor = next;
        for (let i = 0; i < batch.length; i += 2) found.push(batch[i]!);
      } while (cursor !== '0');
      return found;
    });
    const changes: [string, StoreChange][] = [
      [this.nextId(), { kind: 'region', name, registration: null }],
      [this.nextId(), { kind: 'drain', name, drain: null }],
    ];
    if (fields.length > 0) changes.push([this.nextId(), { kind: 'probes', states: fields.map((f): [string, null] => [f, null]) }]);
    await this.transaction((m) => {
      m.hdel(this.keys.regions, name).hdel(this.keys.drains, name);
      if (fields.length > 0) m.hdel(this.keys.probes, ...fields);
      for (const [id, change] of changes) m.publish(this.keys.channel, this.published(change, id));
    });
    for (const [id, change] of changes) this.emitOwn(id, change);
  }

  async setDrain(name: string, drain: DrainRecord | null): Promise<void> {
    const change: StoreChange = { kind: 'drain', name, drain };
    const id = this.nextId();
    await this.transaction((m) => {
      if (drain) m.hset(this.keys.drains, name, JSON.stringify(drain));
      else m.hdel(this.keys.drains, name);
      m.publish(this.keys.channel, this.published(change, id));
    });
    this.emitOwn(id, change);
  }

  async applyProbes(updates: ProbeUpdate[], now: number, durable = true): Promise<[string, ProberState][]> {
    if (updates.length === 0) return [];
    const payload = updates.map((u) => ({
      k: `${u.region}|${u.endpoint}|${u.prober}`,
      ok: u.ok,
      rise: u.rise,
      fall: u.fall,
      ...(u.rttMs !== undefined ? { rtt: u.rttMs } : {}),
      ...(u.error !== undefined ? { err: u.error } : {}),
    }));
    const id = this.nextId();
    // A node's own checks (durable: false) are repeated every interval, so they do not wait for replicas.
    const msg = await this.run(async () => {
      const out = await this.cmd.eval(PROBE_SCRIPT, 1, this.keys.probes, this.keys.channel, String(now), JSON.stringify(payload), id);
      if (durable) await this.replicated();
      return out;
    });
    const { id: _id, ...change } = JSON.parse(msg as string) as Extract<StoreChange, { kind: 'probes' }> & { id: string };
    // Our own change, applied now rather than when the notification comes back (unless it came already).
    this.emitOwn(id, change);
    return change.states.filter((s): s is [string, ProberState] => s[1] !== null);
  }

  async recordLatency(samples: LatencySample[], now: number): Promise<LearnedLatency[]> {
    const payload = samples.map((s) => ({ client: s.client, region: s.region, rtt: s.rttMs }));
    const id = this.nextId();
    const msg = await this.run(async () => {
      const out = await this.cmd.eval(LATENCY_SCRIPT, 1, this.keys.latency, this.keys.channel, String(now), String(LATENCY_ALPHA), String(LATENCY_MAX_AGE_MS), JSON.stringify(payload), id);
      await this.replicated();
      return out;
    });
    const { id: _id, ...change } = JSON.parse(msg as string) as Extract<StoreChange, { kind: 'latency' }> & { id: string };
    this.emitOwn(id, change);
    return change.values;
  }

  async restoreProbes(states: [string, ProberState][]): Promise<void> {
    if (states.length === 0) return;
    const change: StoreChange = { kind: 'probes', states };
    await this.transaction((m) => {
      m.hset(this.keys.probes, ...states.flatMap(([k, v]) => [k, JSON.stringify(v)]));
      m.publish(this.keys.channel, JSON.stringify(change));
      // Re-pushed check results are refreshed by the next checks anyway; waiting for replicas here would let a
      // missing replica block the resync after a reconnect.
    }, false);
  }

  async pruneProbes(stale: [string, number][]): Promise<string[]> {
    if (stale.length === 0) return [];
    const id = this.nextId();
    const msg = await this.run(() => this.cmd.eval(PRUNE_SCRIPT, 1, this.keys.probes, this.keys.channel, id, JSON.stringify(stale)));
    if (msg === '') return [];
    const { id: _id, ...change } = JSON.parse(msg as string) as Extract<StoreChange, { kind: 'probes' }> & { id: string };
    this.emitOwn(id, change);
    return change.states.map(([key]) => key);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    this.cmd.disconnect();
    this.sub?.disconnect();
  }
}


/**
 * The shared store on Redis (ioredis; single server, Sentinel or Cluster). All keys share one hash tag
 * (`{namespace}:…`) so multi-key transactions work on Cluster too. Every write publishes the resulting state
 * on `{namespace}:changes` *inside the same atomic step* (Lua script or MULTI), so subscribers see changes in
 * the order they were made. Commands fail fast while disconnected (no offline queue): the API answers 503 and
 * DNS keeps serving the last snapshot; on reconnect, and every 10 s as a safety net, the node re-reads all.
 *
 * Faults: every command has a timeout, and a command in flight when its connection drops is never sent again
 * (no offline queue, no resend after reconnect), so a write answered 503 is not applied later. Both connections
 * are pinged every second; a ping or command that times out drops its connection with a TCP reset, which
 * discards whatever the kernel still held for Redis (a graceful close would deliver it once the link is back).
 * A write that timed out may still have reached Redis before the cut: that is why writes are idempotent and a
 * 503 is safe to retry. Every read checks the store's epoch (redis-reseed.ts): a store that lost its data is
 * re-seeded from this node's last synced state instead of wiping it.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LATENCY_ALPHA, LATENCY_MAX_AGE_MS } from './latency.js';
import type { ClientOptions, RedisTarget } from './redis-connect.js';
import { clockOffset, DEADLINE_GUARD, OPS_SCRIPT, WriteOps } from './redis-deadline.js';
import { entryCount, RESEED_SCRIPT, reseedPayload } from './redis-reseed.js';
import { RedisZoneKeys } from './dnssec-keys-redis.js';
import type { StoreStatus } from './store-status.js';
import { emptyState, ReplicationShortfallError, StoreUnavailableError, type LatencySample, type LearnedLatency, type RegionRegistration, type StateData, type Store, type StoreChange } from './types.js';
import type { DrainRecord, ProbeUpdate, ProberState } from '../health/probe-state.js';

/** Same machine as health/machine.ts applyResult, run where the data lives so concurrent reporters cannot race. */
const PROBE_SCRIPT = `${DEADLINE_GUARD}
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
const LATENCY_SCRIPT = `${DEADLINE_GUARD}
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
const PRUNE_SCRIPT = `${DEADLINE_GUARD}
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
/** Both connections are pinged this often: a cut link is noticed within PING_INTERVAL_MS + COMMAND_TIMEOUT_MS. */
const PING_INTERVAL_MS = 1000;
/** A command (or ping) without a reply after this long fails and its connection is reset: the API answers 503. */
const COMMAND_TIMEOUT_MS = 1500;
/** Redis refuses a write that reaches it later than this after it was sent (redis-deadline.ts). */
const WRITE_DEADLINE_MS = 1400;
/** Bound on the ids remembered for the own-change bookkeeping below (only grows while pub/sub is away). */
const MAX_PENDING_IDS = 10_000;

type Client = Redis | Cluster;

// ioredis' option types do not satisfy its own constructor under exactOptionalPropertyTypes (as in redis-connect.ts).
const NewRedis = Redis as unknown as new (options: object) => Redis;

/** A published change carries the id of the write that made it (stripped before listeners see it). */
type Published = (StoreChange | { kind: 'reseeded' }) & { id?: string };

/**
 * Drop a connection with a TCP reset: the kernel discards what it had not delivered yet, so a command that
 * timed out on a cut link cannot reach Redis when the link returns. ioredis then reconnects as usual.
 */
function resetConnection(client: Client): void {
  for (const r of client instanceof Cluster ? client.nodes() : [client]) {
    const stream = r.stream;
    if (!stream || stream.destroyed) continue;
    try {
      stream.resetAndDestroy();
    } catch {
      stream.destroy();
    }
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed out/i.test(err.message);
}

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
  private readonly keys: { regions: string; drains: string; probes: string; latency: string; epoch: string; channel: string };
  private readonly listeners: ((c: StoreChange) => void)[] = [];
  private waitInFlight: Promise<number> | undefined;
  private waitNext: Promise<number> | undefined;
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
  /** This node's last synced state, written back when the store turns out to have lost its data. */
  lastSynced: (() => StateData) | undefined;
  /** The store's epoch this node last synced with (undefined until the first read). */
  private epoch: string | undefined;
  /** Up/down as /v1/status shows it; `since` is when it last changed. */
  private statusSince = Date.now();
  private statusError: string | undefined = 'not connected yet';
  private readonly statusListeners: ((up: boolean) => void)[] = [];
  private watchdog: NodeJS.Timeout | undefined;
  private readonly pinging = new Set<Client>();
  /** Re-seeds done by this node (for metrics and tests). */
  reseeds = 0;
  private reseeding: Promise<unknown> | undefined;
  /** Redis clock minus this node's clock, measured on the current command connection (redis-deadline.ts). */
  private clock = { offsetMs: 0, uncertaintyMs: 0 };
  private readying = false;

  /** Where signed zones' keys are kept (dnssec-keys-redis.ts), in this store's namespace. */
  zoneKeys(): RedisZoneKeys {
    return new RedisZoneKeys(this.cmd, `{${this.target.namespace}}`);
  }

  constructor(
    private readonly target: RedisTarget,
    private readonly log: Logger,
    /** `--redis-min-replicas`: replicas that must hold a write before it is acknowledged (0 = the primary alone). */
    private readonly minReplicas = 0,
  ) {
    const ns = `{${target.namespace}}`;
    this.keys = {
      regions: `${ns}:regions`,
      drains: `${ns}:drains`,
      probes: `${ns}:probes`,
      latency: `${ns}:latency`,
      epoch: `${ns}:epoch`,
      channel: `${ns}:changes`,
    };
    const options: ClientOptions = {
      // Nothing is queued while disconnected, nothing in flight is retried or resent after a reconnect: a
      // command either gets its reply on the connection it was sent on, or fails (and the API answers 503).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 2000,
      // Keep trying forever, at most every 2 s: Redis coming back must be noticed without a restart.
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
    };
    this.options = options;
    this.cmd = target.create(options);
    // On Cluster the subscriber is made once the cluster's nodes are known (clusterSubscriber). It subscribes
    // on each 'ready' (below), so it needs no offline queue either.
    if (!(this.cmd instanceof Cluster)) this.attachSubscriber(target.create(options));
    this.cmd.on('ready', () => void this.onReady());
    for (const ev of ['close', 'end'] as const) this.cmd.on(ev, () => this.onDown('connection closed'));
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
        if (change.kind === 'reseeded') {
          // Another node re-seeded a store that lost its data: merge ours too and re-read (see resync).
          if (!id.startsWith(`${this.idPrefix}.`)) this.requestResync();
          return;
        }
        if (id.startsWith(`${this.idPrefix}.`) && !this.appliedFirst.delete(id)) boundedAdd(this.echoedFirst, id);
      }
      if (change.kind === 'reseeded') return;
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
    this.watchdog = setInterval(() => this.checkConnections(), PING_INTERVAL_MS);
    this.watchdog.unref();
    if (!this.subscribed) this.resyncOwed = true;
    if (!this.ready) {
      this.log.warn({ redis: this.target.display }, 'redis not reachable yet: serving zone-file configuration, will resync when it is');
      this.resyncOwed = true;
      return emptyState();
    }
    return this.syncedRead();
  }

  private async onReady(): Promise<void> {
    if (this.cmd instanceof Cluster && !this.sub && !this.closing) this.clusterSubscriber(this.cmd);
    if (this.readying || this.ready || this.closing) return;
    this.readying = true;
    try {
      // Writes carry deadlines in Redis' clock: learn it on this connection before taking any write.
      // Pipelined with a read of one of our keys so that, on Cluster, TIME comes from the master of the gslb slot,
      // the node whose clock checks the deadlines (a keyless TIME goes to any node).
      const sentAt = Date.now();
      const res = await this.cmd.pipeline().exists(this.keys.epoch).time().exec();
      const [err, time] = res?.[1] ?? [new Error('TIME not answered')];
      if (err) throw err;
      this.clock = clockOffset(sentAt, Date.now(), time as [string, string]);
    } catch (err) {
      // The connection went again; the watchdog retries once ioredis says it is ready.
      this.log.debug({ err: (err as Error).message }, 'redis TIME failed');
      return;
    } finally {
      this.readying = false;
    }
    const wasReady = this.everReady;
    this.ready = true;
    this.everReady = true;
    this.statusSince = Date.now();
    this.statusError = undefined;
    this.log.info({ redis: this.target.display }, wasReady ? 'redis reachable again: writes accepted, resyncing' : 'redis connected');
    this.wake();
    for (const l of this.statusListeners) l(true);
    if (wasReady) this.resyncOwed = true;
    void this.catchUp();
  }

  /** After a reconnect (or a start without Redis), once both connections are up: push local results, re-read. */
  private async catchUp(): Promise<void> {
    // A loop, not one pass: a resync asked for while one runs (another node re-seeded) must still happen.
    for (let i = 0; i < 10 && this.resyncOwed && this.ready && this.subscribed && !this.catchingUp && !this.closing; i++) {
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

  private onDown(reason: string): void {
    if (this.closing) return;
    if (this.ready) {
      this.statusSince = Date.now();
      this.statusError = reason;
      this.log.warn({ redis: this.target.display, reason }, 'redis unreachable: writes answer 503, DNS keeps serving, own checks decide locally');
      this.ready = false;
      for (const l of this.statusListeners) l(false);
    }
    this.ready = false;
  }

  /** A ping or command timed out: the link is gone or Redis hangs. Reset the connection (see resetConnection). */
  private lost(client: Client, err: unknown): void {
    if (this.closing) return;
    const which = client === this.cmd ? 'command' : 'subscriber';
    const reason = `${which} connection: ${(err as Error).message}`;
    if (client === this.cmd) this.onDown(reason);
    else {
      if (this.subscribed) this.resyncOwed = true;
      this.subscribed = false;
      // One warning per outage: when the command connection is down too, that one already said it.
      if (this.ready) this.log.warn({ redis: this.target.display, reason }, 'redis subscriber unreachable: reconnecting, will resync');
      else this.log.debug({ redis: this.target.display, reason }, 'redis subscriber unreachable');
    }
    resetConnection(client);
  }

  /**
   * Every PING_INTERVAL_MS: a command on each connection (the command connection reads the epoch, so a store
   * that lost its data is noticed within a second; the subscriber PINGs). A timeout drops the connection.
   */
  private checkConnections(): void {
    if (this.closing) return;
    const probe = (client: Client, fn: () => Promise<unknown>) => {
      if (this.pinging.has(client) || client.status !== 'ready') return;
      this.pinging.add(client);
      fn()
        .catch((err: unknown) => {
          if (isTimeout(err)) this.lost(client, err);
        })
        .finally(() => this.pinging.delete(client));
    };
    if (!this.ready && this.cmd.status === 'ready') void this.onReady();
    probe(this.cmd, async () => {
      const epoch = await this.cmd.get(this.keys.epoch);
      if (this.ready && this.epoch !== undefined && epoch !== this.epoch && !this.catchingUp) {
        this.log.warn({ redis: this.target.display, expected: this.epoch, found: epoch }, 'redis epoch changed: the store lost or replaced its data; resyncing');
        this.requestResync();
      }
    });
    const sub = this.sub;
    if (this.subscribed && sub) probe(sub, () => sub.ping());
  }

  available(): boolean {
    return this.ready;
  }

  status(): StoreStatus {
    return { kind: 'redis', up: this.ready, since: new Date(this.statusSince).toISOString(), ...(!this.ready && this.statusError ? { error: this.statusError } : {}) };
  }

  /** Called with `false` when the store becomes unreachable and `true` when it is back. */
  onStatusChange(listener: (up: boolean) => void): void {
    this.statusListeners.push(listener);
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
      const data = await this.syncedRead();
      this.emit({ kind: 'resync', data });
      for (const c of replay) this.emit(c);
    } finally {
      if (this.replay === replay) this.replay = undefined;
    }
  }

  /** Everything, and the epoch, in one atomic read. */
  private async readAll(): Promise<{ data: StateData; epoch: string | null }> {
    const res = await this.run(() =>
      this.cmd.multi().hgetall(this.keys.regions).hgetall(this.keys.drains).hgetall(this.keys.probes).hgetall(this.keys.latency).get(this.keys.epoch).exec(),
    );
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw new StoreUnavailableError(`redis: ${failed?.[0]?.message ?? 'read aborted'}`);
    const [regions, drains, probes, latency] = res.slice(0, 4).map(([, v]) => v as Record<string, string>) as [Record<string, string>, Record<string, string>, Record<string, string>, Record<string, string>];
    const data = emptyState();
    for (const [k, v] of Object.entries(regions)) data.regions.set(k, JSON.parse(v) as RegionRegistration);
    for (const [k, v] of Object.entries(drains)) data.drains.set(k, JSON.parse(v) as DrainRecord);
    for (const [k, v] of Object.entries(probes)) data.probes.set(k, JSON.parse(v) as ProberState);
    for (const [k, v] of Object.entries(latency)) data.latency.set(k, JSON.parse(v) as LearnedLatency);
    return { data, epoch: (res[4]![1] as string | null) ?? null };
  }

  /**
   * readAll, checked against the epoch this node synced with. The first read adopts the store's epoch (or
   * stamps a new one on a store that has none). Later, a missing or different epoch means the data this
   * node synced with is gone: write this node's last synced state back (newest copy of each entry wins, see
   * redis-reseed.ts), adopt the resulting epoch, and read again, so an empty store never wipes this node.
   */
  private async syncedRead(again = false): Promise<StateData> {
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
    const mine = this.epoch !== undefined ? this.lastSynced?.() : undefined;
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
    this.log.error(
      { redis: this.target.display, previousEpoch: this.epoch, foundEpoch: first.epoch, epoch, entries: entryCount(mine), written, foundEntries: entryCount(first.data) },
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
    // SET NX: harmless whenever it lands, so it needs no deadline.
    const res = await this.write(() => this.cmd.multi().set(this.keys.epoch, randomBytes(8).toString('hex'), 'NX').get(this.keys.epoch).exec());
    const epoch = res?.[1]?.[1];
    if (typeof epoch !== 'string') throw new StoreUnavailableError('redis: could not read the epoch back');
    return epoch;
  }

  private async reseed(state: StateData, found: string | null): Promise<{ epoch: string; written: number }> {
    const proposed = found ?? randomBytes(8).toString('hex');
    const k = this.keys;
    const res = (await this.write((deadline) =>
      this.cmd.eval(RESEED_SCRIPT, 5, k.regions, k.drains, k.probes, k.latency, k.epoch, k.channel, proposed, reseedPayload(state), this.nextId(), deadline),
    )) as [string, number];
    return { epoch: res[0], written: res[1] };
  }

  /** Runs Redis calls, turning every failure into StoreUnavailableError (and a timeout into a reset link). */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.ready) throw new StoreUnavailableError(`redis ${this.target.display} is not connected`);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ReplicationShortfallError) throw err;
      if (isTimeout(err)) this.lost(this.cmd, err);
      throw new StoreUnavailableError(`redis: ${(err as Error).message}`);
    }
  }

  /**
   * The one way a mutating command reaches Redis: every write (transactions, scripts, re-seeding) goes
   * through here, so what a write must wait for before it counts as stored is decided in one place. `fn`
   * gets the deadline (ms, Redis' clock) its script must check; if the write fails after it was sent, the
   * failure is reported only once that deadline has passed, so that Redis refuses the write if it is
   * delivered after all (redis-deadline.ts): a 503 means "not applied, ever".
   */
  private async write<T>(fn: (deadline: string) => Promise<T>): Promise<T> {
    const localDeadline = Date.now() + WRITE_DEADLINE_MS;
    const deadline = String(Math.floor(localDeadline + this.clock.offsetMs));
    let sent = false;
    try {
      return await this.run(() => {
        sent = true;
        return fn(deadline);
      });
    } catch (err) {
      // A replica shortfall comes after the write was applied: there is nothing left for the deadline to refuse.
      if (err instanceof ReplicationShortfallError) throw err;
      const wait = localDeadline + this.clock.uncertaintyMs + 20 - Date.now();
      if (sent && wait > 0) await new Promise((r) => setTimeout(r, wait));
      throw err;
    }
  }

  /** Hash writes and publishes, all or nothing, as one deadline-checked script (redis-deadline.ts). */
  private async transaction(build: (m: WriteOps) => void, replicate = true): Promise<void> {
    const m = new WriteOps();
    build(m);
    await this.write(async (deadline) => {
      await this.cmd.eval(OPS_SCRIPT, m.keys.length, ...m.keys, JSON.stringify(m.ops), deadline);
      if (replicate) await this.replicated();
    });
  }

  /**
   * With `--redis-min-replicas N`: resolve only once N replicas hold every write this connection made so far
   * (WAIT counts replicas that reached this connection's replication offset, so it covers the write just made).
   * Replication is asynchronous, so without this a write the primary acknowledged can vanish in a failover.
   * On Cluster the WAIT rides in a pipeline with a read of one of our keys: ioredis routes that pipeline to
   * the master serving the `{namespace}` slot, the node (and connection) that took the write.
   * A shortfall rejects with ReplicationShortfallError (-> 503): the write is on the primary, retrying is safe.
   */
  private async replicated(): Promise<void> {
    if (this.minReplicas === 0) return;
    const acked = await this.replicaAcks();
    if (acked < this.minReplicas)
      throw new ReplicationShortfallError(
        `only ${acked} of ${this.minReplicas} replicas confirmed the write within ${REPLICA_WAIT_MS} ms (it is on the primary and every node applies it, but a failover could lose it)`,
      );
  }

  /**
   * WAIT blocks its connection for up to REPLICA_WAIT_MS, and every write, ping and check result shares this
   * connection: several WAITs queued behind each other would push the last past COMMAND_TIMEOUT_MS, and that
   * timeout would declare Redis down while it is only a replica that lags. So one WAIT is in flight at a time;
   * writers that finished while it was in flight share the next one (a WAIT sent after their write covers it).
   */
  private replicaAcks(): Promise<number> {
    if (!this.waitInFlight) {
      this.waitInFlight = this.sendWait().finally(() => {
        this.waitInFlight = undefined;
      });
      return this.waitInFlight;
    }
    this.waitNext ??= this.waitInFlight
      .catch(() => 0)
      .then(() => {
        this.waitNext = undefined;
        return this.replicaAcks();
      });
    return this.waitNext;
  }

  private async sendWait(): Promise<number> {
    const res = await this.cmd.pipeline().exists(this.keys.regions).wait(this.minReplicas, REPLICA_WAIT_MS).exec();
    const [err, acked] = res?.[1] ?? [new Error('WAIT not answered')];
    if (err) throw err;
    return Number(acked);
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
    const msg = await this.write(async (deadline) => {
      const out = await this.cmd.eval(PROBE_SCRIPT, 1, this.keys.probes, this.keys.channel, String(now), JSON.stringify(payload), id, deadline);
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
    const msg = await this.write(async (deadline) => {
      const out = await this.cmd.eval(LATENCY_SCRIPT, 1, this.keys.latency, this.keys.channel, String(now), String(LATENCY_ALPHA), String(LATENCY_MAX_AGE_MS), JSON.stringify(payload), id, deadline);
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
    const msg = await this.write((deadline) => this.cmd.eval(PRUNE_SCRIPT, 1, this.keys.probes, this.keys.channel, id, JSON.stringify(stale), deadline));
    if (msg === '') return [];
    const { id: _id, ...change } = JSON.parse(msg as string) as Extract<StoreChange, { kind: 'probes' }> & { id: string };
    this.emitOwn(id, change);
    return change.states.map(([key]) => key);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    clearInterval(this.watchdog);
    this.cmd.disconnect();
    this.sub?.disconnect();
  }
}


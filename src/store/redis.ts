/**
 * The shared store on Redis (ioredis; single server, Sentinel or Cluster). All keys share one hash tag
 * (`{namespace}:…`) so multi-key transactions work on Cluster too. Every write publishes the resulting state
 * on `{namespace}:changes` *inside the same atomic step* (Lua script or MULTI), so subscribers see changes in
 * the order they were made. Commands fail fast while disconnected (no offline queue): the API answers 503 and
 * DNS keeps serving the last snapshot; on reconnect, and every 30 s as a safety net, the node re-reads all.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LATENCY_ALPHA, LATENCY_MAX_AGE_MS } from './latency.js';
import type { RedisTarget } from './redis-connect.js';
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
local msg = '{"kind":"probes","states":[' .. table.concat(out, ',') .. ']}'
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
local msg = '{"kind":"latency","values":[' .. table.concat(out, ',') .. ']}'
redis.call('PUBLISH', ARGV[1], msg)
return msg
`;

const RESYNC_MS = 30_000;

type Client = Redis | Cluster;

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly cmd: Client;
  private readonly sub: Client;
  private readonly keys: { regions: string; drains: string; probes: string; latency: string; channel: string };
  private readonly listeners: ((c: StoreChange) => void)[] = [];
  private ready = false;
  private everReady = false;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  /** Called after a reconnect, before the resync: lets the node push what it learned while Redis was away. */
  beforeResync: (() => Promise<void>) | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly log: Logger,
  ) {
    const ns = `{${target.namespace}}`;
    this.keys = { regions: `${ns}:regions`, drains: `${ns}:drains`, probes: `${ns}:probes`, latency: `${ns}:latency`, channel: `${ns}:changes` };
    const options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // Keep trying forever, at most every 2 s: Redis coming back must be noticed without a restart.
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
    };
    this.cmd = target.create(options);
    // The subscriber may queue its SUBSCRIBE until connected; it never carries writes.
    this.sub = target.create({ ...options, enableOfflineQueue: true });
    this.cmd.on('ready', () => void this.onReady());
    for (const ev of ['close', 'end'] as const) this.cmd.on(ev, () => this.onDown());
    this.cmd.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis error'));
    this.sub.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis subscriber error'));
    this.sub.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.channel) return;
      try {
        this.emit(JSON.parse(message) as StoreChange);
      } catch (err) {
        this.log.warn({ err }, 'unreadable change notification');
      }
    });
    this.sub.on('ready', () => {
      this.sub.subscribe(this.keys.channel).catch((err: unknown) => this.log.warn({ err }, 'subscribe failed'));
    });
  }

  async start(): Promise<StateData> {
    const ready = await new Promise<boolean>((resolve) => {
      if (this.ready) return resolve(true);
      const t = setTimeout(() => resolve(false), 5000);
      this.cmd.once('ready', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    this.timer = setInterval(() => {
      if (this.ready) this.resync().catch((err: unknown) => this.log.warn({ err }, 'periodic resync failed'));
    }, RESYNC_MS);
    this.timer.unref();
    if (!ready) {
      this.log.warn({ redis: this.target.display }, 'redis not reachable yet: serving zone-file configuration, will resync when it is');
      return emptyState();
    }
    return this.readAll();
  }

  private async onReady(): Promise<void> {
    const wasReady = this.everReady;
    this.ready = true;
    this.everReady = true;
    this.log.info({ redis: this.target.display }, 'redis connected');
    if (!wasReady) return;
    try {
      await this.beforeResync?.();
      await this.resync();
    } catch (err) {
      this.log.warn({ err }, 'resync after reconnect failed');
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

  private async resync(): Promise<void> {
    this.emit({ kind: 'resync', data: await this.readAll() });
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

  private async transaction(build: (m: ReturnType<Client['multi']>) => void): Promise<void> {
    await this.run(async () => {
      const m = this.cmd.multi();
      build(m);
      const res = await m.exec();
      const failed = res?.find(([err]) => err);
      if (!res || failed) throw failed?.[0] ?? new Error('transaction aborted');
    });
  }

  async putRegion(reg: RegionRegistration): Promise<void> {
    const change: StoreChange = { kind: 'region', name: reg.name, registration: reg };
    await this.transaction((m) => m.hset(this.keys.regions, reg.name, JSON.stringify(reg)).publish(this.keys.channel, JSON.stringify(change)));
    this.emit(change);
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
    await this.transaction((m) => {
      m.hdel(this.keys.regions, name).hdel(this.keys.drains, name);
      if (fields.length > 0) m.hdel(this.keys.probes, ...fields);
      m.publish(this.keys.channel, JSON.stringify({ kind: 'region', name, registration: null } satisfies StoreChange));
      m.publish(this.keys.channel, JSON.stringify({ kind: 'drain', name, drain: null } satisfies StoreChange));
      if (fields.length > 0) m.publish(this.keys.channel, JSON.stringify({ kind: 'probes', states: fields.map((f) => [f, null]) } satisfies StoreChange));
    });
    this.emit({ kind: 'region', name, registration: null });
    this.emit({ kind: 'drain', name, drain: null });
    if (fields.length > 0) this.emit({ kind: 'probes', states: fields.map((f): [string, null] => [f, null]) });
  }

  async setDrain(name: string, drain: DrainRecord | null): Promise<void> {
    const change: StoreChange = { kind: 'drain', name, drain };
    await this.transaction((m) => {
      if (drain) m.hset(this.keys.drains, name, JSON.stringify(drain));
      else m.hdel(this.keys.drains, name);
      m.publish(this.keys.channel, JSON.stringify(change));
    });
    this.emit(change);
  }

  async applyProbes(updates: ProbeUpdate[], now: number): Promise<[string, ProberState][]> {
    if (updates.length === 0) return [];
    const payload = updates.map((u) => ({
      k: `${u.region}|${u.endpoint}|${u.prober}`,
      ok: u.ok,
      rise: u.rise,
      fall: u.fall,
      ...(u.rttMs !== undefined ? { rtt: u.rttMs } : {}),
      ...(u.error !== undefined ? { err: u.error } : {}),
    }));
    const msg = await this.run(() => this.cmd.eval(PROBE_SCRIPT, 1, this.keys.probes, this.keys.channel, String(now), JSON.stringify(payload)));
    const change = JSON.parse(msg as string) as Extract<StoreChange, { kind: 'probes' }>;
    // Our own change, applied now rather than when the notification comes back.
    this.emit(change);
    return change.states.filter((s): s is [string, ProberState] => s[1] !== null);
  }

  async recordLatency(samples: LatencySample[], now: number): Promise<LearnedLatency[]> {
    const payload = samples.map((s) => ({ client: s.client, region: s.region, rtt: s.rttMs }));
    const msg = await this.run(() =>
      this.cmd.eval(LATENCY_SCRIPT, 1, this.keys.latency, this.keys.channel, String(now), String(LATENCY_ALPHA), String(LATENCY_MAX_AGE_MS), JSON.stringify(payload)),
    );
    const change = JSON.parse(msg as string) as Extract<StoreChange, { kind: 'latency' }>;
    this.emit(change);
    return change.values;
  }

  async restoreProbes(states: [string, ProberState][]): Promise<void> {
    if (states.length === 0) return;
    const change: StoreChange = { kind: 'probes', states };
    await this.transaction((m) => {
      m.hset(this.keys.probes, ...states.flatMap(([k, v]) => [k, JSON.stringify(v)]));
      m.publish(this.keys.channel, JSON.stringify(change));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}


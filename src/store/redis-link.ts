/**
 * The Redis store's two connections (commands, and the pub/sub subscriber) and what it knows about them:
 * ready or not, subscribed or not, the clock offset, the up/down status with its time and reason.
 *
 * Commands fail fast while disconnected (no offline queue), and a command in flight when its connection drops
 * is never sent again (no resend after reconnect), so a write answered 503 is not applied later. Both
 * connections are pinged every second; a ping or command that times out drops its connection with a TCP
 * reset, which discards whatever the kernel still held for Redis (a graceful close would deliver it once the
 * link is back). The store is told when notifications may have been missed and when both connections are
 * back (LinkEvents); it decides what to re-read.
 */
import { Cluster, type Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NewRedis, STORE_CLIENT_OPTIONS, type ClientOptions, type RedisTarget } from './redis-connect.js';
import { clockOffset } from './redis-deadline.js';
import type { StoreStatus } from './store-status.js';
import { ReplicationShortfallError, StoreUnavailableError } from './types.js';

/** Both connections are pinged this often: a cut link is noticed within this + the command timeout (redis-connect.ts). */
const PING_INTERVAL_MS = 1000;

export type Client = Redis | Cluster;


export interface LinkEvents {
  /** A notification on the channel. */
  message(text: string): void;
  /** Notifications published from now until both connections are back may be missed: re-read then. */
  missed(): void;
  /** A connection came (back): if both are up now, catch up on what was missed. */
  up(): void;
  /** Run on the command connection every ping interval, in place of a PING (the store reads its epoch). */
  heartbeat(cmd: Client): Promise<unknown>;
}

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

export function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed out/i.test(err.message);
}

export class RedisLink {
  readonly cmd: Client;
  /** Replaced on Cluster when its node is gone (see clusterSubscriber). */
  private sub: Client | undefined;
  private subNode = 0;
  private readonly options: ClientOptions;
  private ready = false;
  private everReady = false;
  private readying = false;
  private closing = false;
  /** The subscriber's SUBSCRIBE is confirmed: notifications published from now on reach this node. */
  subscribed = false;
  private readonly waiters = new Set<() => void>();
  /** Up/down as /v1/status shows it; `since` is when it last changed. */
  private statusSince = Date.now();
  private statusError: string | undefined = 'not connected yet';
  private readonly statusListeners: ((up: boolean) => void)[] = [];
  private watchdog: NodeJS.Timeout | undefined;
  private readonly pinging = new Set<Client>();
  /** Redis clock minus this node's clock, measured on the current command connection (redis-deadline.ts). */
  clock = { offsetMs: 0, uncertaintyMs: 0 };

  constructor(
    private readonly target: RedisTarget,
    private readonly channel: string,
    /** A key of ours: a pipeline reading it goes, on Cluster, to the master of our slot (see onReady). */
    private readonly slotKey: string,
    private readonly events: LinkEvents,
    private readonly log: Logger,
  ) {
    const options = STORE_CLIENT_OPTIONS;
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
   * for the 10 s resync. A plain connection reports close/ready like the other modes (so the catch-up runs);
   * when its node stays unreachable, the next known node is tried.
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
        if (this.subscribed) this.events.missed();
        this.subscribed = false;
      });
    sub.on('error', (err: Error) => this.log.debug({ err: err.message }, 'redis subscriber error'));
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.events.message(message);
    });
    sub.on('ready', () => {
      sub.subscribe(this.channel).then(
        () => {
          this.subscribed = true;
          this.wake();
          this.events.up();
        },
        (err: unknown) => this.log.warn({ err }, 'subscribe failed'),
      );
    });
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** Resolves once both connections are up (commands ready, subscription confirmed), or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        if (!(this.ready && this.subscribed)) return;
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(() => {
        this.waiters.delete(done);
        resolve();
      }, timeoutMs);
      this.waiters.add(done);
      done();
    });
  }

  /** Start pinging both connections. */
  start(): void {
    this.watchdog = setInterval(() => this.checkConnections(), PING_INTERVAL_MS);
    this.watchdog.unref();
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
      const res = await this.cmd.pipeline().exists(this.slotKey).time().exec();
      const [err, time] = res?.[1] ?? [new Error('TIME not answered')];
      if (err) throw err;
      if (!Array.isArray(time) || !time.every((t) => typeof t === 'string')) throw new Error(`unreadable TIME reply ${JSON.stringify(time)}`);
      this.clock = clockOffset(sentAt, Date.now(), time);
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
    if (wasReady) this.events.missed();
    this.events.up();
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
      if (this.subscribed) this.events.missed();
      this.subscribed = false;
      // One warning per outage: when the command connection is down too, that one already said it.
      if (this.ready) this.log.warn({ redis: this.target.display, reason }, 'redis subscriber unreachable: reconnecting, will resync');
      else this.log.debug({ redis: this.target.display, reason }, 'redis subscriber unreachable');
    }
    resetConnection(client);
  }

  /**
   * Every PING_INTERVAL_MS: a command on each connection (the command connection runs the store's heartbeat,
   * which reads the epoch, so a store that lost its data is noticed within a second; the subscriber PINGs).
   * A timeout drops the connection.
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
    probe(this.cmd, () => this.events.heartbeat(this.cmd));
    const sub = this.sub;
    if (this.subscribed && sub) probe(sub, () => sub.ping());
  }

  /** Runs Redis calls, turning every failure into StoreUnavailableError (and a timeout into a reset link). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.ready) throw new StoreUnavailableError(`redis ${this.target.display} is not connected`);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ReplicationShortfallError) throw err;
      if (isTimeout(err)) this.lost(this.cmd, err);
      throw new StoreUnavailableError(`redis: ${(err as Error).message}`);
    }
  }

  available(): boolean {
    return this.ready;
  }

  get closed(): boolean {
    return this.closing;
  }

  status(): StoreStatus {
    return { kind: 'redis', up: this.ready, since: new Date(this.statusSince).toISOString(), ...(!this.ready && this.statusError ? { error: this.statusError } : {}) };
  }

  /** Called with `false` when the store becomes unreachable and `true` when it is back. */
  onStatusChange(listener: (up: boolean) => void): void {
    this.statusListeners.push(listener);
  }

  close(): void {
    this.closing = true;
    clearInterval(this.watchdog);
    this.cmd.disconnect();
    this.sub?.disconnect();
  }
}

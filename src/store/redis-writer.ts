/**
 * The one way a mutating command reaches Redis: every write (transactions, scripts, re-seeding) goes through
 * RedisWriter.write, so what a write must wait for before it counts as stored is decided in one place: its
 * deadline (redis-deadline.ts: a write answered 503 is never applied later) and, with
 * `--redis-min-replicas`, the replicas that must hold it.
 */
import { OPS_SCRIPT, WriteOps } from './redis-deadline.js';
import type { RedisLink } from './redis-link.js';
import { ReplicationShortfallError } from './types.js';

/**
 * How long a write waits (Redis WAIT) for `--redis-min-replicas` replicas before it answers 503: short enough to
 * stay inside the API's ~2 s answer budget, long enough for a healthy replica on the same network (~1 ms).
 */
const REPLICA_WAIT_MS = 1000;
/** Redis refuses a write that reaches it later than this after it was sent (redis-deadline.ts). */
const WRITE_DEADLINE_MS = 1400;

export class RedisWriter {
  private waitInFlight: Promise<number> | undefined;
  private waitNext: Promise<number> | undefined;

  constructor(
    private readonly link: RedisLink,
    /** A key of ours: the WAIT rides with a read of it, to the master of our slot (see replicated). */
    private readonly slotKey: string,
    /** `--redis-min-replicas`: replicas that must hold a write before it is acknowledged (0 = the primary alone). */
    private readonly minReplicas: number,
  ) {}

  /**
   * `fn` gets the deadline (ms, Redis' clock) its script must check; if the write fails after it was sent, the
   * failure is reported only once that deadline has passed, so that Redis refuses the write if it is
   * delivered after all (redis-deadline.ts): a 503 means "not applied, ever".
   */
  async write<T>(fn: (deadline: string) => Promise<T>): Promise<T> {
    const localDeadline = Date.now() + WRITE_DEADLINE_MS;
    const deadline = String(Math.floor(localDeadline + this.link.clock.offsetMs));
    let sent = false;
    try {
      return await this.link.run(() => {
        sent = true;
        return fn(deadline);
      });
    } catch (err) {
      // A replica shortfall comes after the write was applied: there is nothing left for the deadline to refuse.
      if (err instanceof ReplicationShortfallError) throw err;
      const wait = localDeadline + this.link.clock.uncertaintyMs + 20 - Date.now();
      if (sent && wait > 0) await new Promise((r) => setTimeout(r, wait));
      throw err;
    }
  }

  /** Hash writes and publishes, all or nothing, as one deadline-checked script (redis-deadline.ts). */
  async transaction(build: (m: WriteOps) => void, replicate = true): Promise<void> {
    const m = new WriteOps();
    build(m);
    await this.write(async (deadline) => {
      await this.link.cmd.eval(OPS_SCRIPT, m.keys.length, ...m.keys, JSON.stringify(m.ops), deadline);
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
  async replicated(): Promise<void> {
    if (this.minReplicas === 0) return;
    const acked = await this.replicaAcks();
    if (acked < this.minReplicas)
      throw new ReplicationShortfallError(
        `only ${acked} of ${this.minReplicas} replicas confirmed the write within ${REPLICA_WAIT_MS} ms (it is on the primary and every node applies it, but a failover could lose it)`,
      );
  }

  /**
   * WAIT blocks its connection for up to REPLICA_WAIT_MS, and every write, ping and check result shares this
   * connection: several WAITs queued behind each other would push the last past the command timeout, and that
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
    const res = await this.link.cmd.pipeline().exists(this.slotKey).wait(this.minReplicas, REPLICA_WAIT_MS).exec();
    const [err, acked] = res?.[1] ?? [new Error('WAIT not answered')];
    if (err) throw err;
    return Number(acked);
  }
}

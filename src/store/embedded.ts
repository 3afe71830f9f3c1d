/**
 * The embedded store: state in memory, persisted to `<data>/state.json`. Persist first: a write is applied to
 * a copy of the state, the copy is written to a temp file, fsynced, renamed over state.json and the directory
 * fsynced; only then does the change reach memory and the change feed (DNS, the API). A write whose file
 * could not be written is applied nowhere, and no later flush carries it. Concurrent writes share one file
 * write (group commit): each batch is everything queued while the previous write ran.
 *
 * The node's own check results are not API-acknowledged writes: they are applied at once and reach the file
 * with the next commit, or the background flush. A lock on the directory (dir-lock.ts) keeps a second process
 * from writing the same file.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import { applyResult } from '../health/machine.js';
import { DataDirLock } from './dir-lock.js';
import { smoothLatency } from './latency.js';
import { fromFile, toFile } from './serialize.js';
import { applyChange, cloneState } from './state-change.js';
import { dataFiles, latencyKey, probeKey, probeKeyPrefix, type DataFiles } from './keys.js';
import { emptyState, StoreUnavailableError, type LatencySample, type LearnedLatency, type RegionRegistration, type StateData, type Store, type StoreChange } from './types.js';
import type { DrainRecord, ProbeUpdate, ProberState } from '../health/probe-state.js';

/** Own check results, and a retry after a failed write, reach the file at this pace. */
const BACKGROUND_FLUSH_MS = 5000;

/** Errors that mean "this directory takes no writes now" rather than a configuration mistake. */
const CANNOT_WRITE = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

/** A durable write waiting for the next commit. */
interface QueuedWrite {
  /** The write's changes, computed against the state as it will be when this write lands (earlier ones applied). */
  compute(draft: StateData): StoreChange[];
  resolve(): void;
  reject(err: unknown): void;
}

export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  private data: StateData = emptyState();
  private readonly listeners: ((c: StoreChange) => void)[] = [];
  private queue: QueuedWrite[] = [];
  private committing: Promise<void> | undefined;
  /** A commit without writes of its own is wanted (background flush of own check results, retry). */
  private flushWanted = false;
  /** Own check results in memory that are not in the file yet. */
  private dirty = false;
  private writeFailed = false;
  private timer: NodeJS.Timeout | undefined;
  private lock: DataDirLock | undefined;
  /** Why the directory could not be locked for writing (set: read-only, writes answer 503). */
  private readOnly: string | undefined;
  private locking = false;
  private closed = false;
  private readonly files: DataFiles;
  readonly file: string;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.files = dataFiles(dir);
    this.file = this.files.state;
  }

  async start(): Promise<StateData> {
    mkdirSync(this.dir, { recursive: true });
    await this.takeLock();
    let text: string | undefined;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      try {
        this.data = fromFile(JSON.parse(text));
      } catch (err) {
        throw new Error(`${this.file}: ${(err as Error).message}; move it away to start empty`, { cause: err });
      }
      this.log.info({ file: this.file, regions: this.data.regions.size, drains: this.data.drains.size }, 'embedded store loaded');
    }
    this.timer = setInterval(() => {
      if (this.readOnly !== undefined) this.takeLock().catch((err: unknown) => this.log.error({ err }, 'data directory lock retry failed'));
      // After a failed write, rewriting what memory holds also undoes a rename whose directory fsync failed.
      else if (this.dirty || this.writeFailed) this.flush();
    }, BACKGROUND_FLUSH_MS);
    this.timer.unref();
    return this.data;
  }

  /**
   * Without space for the lock file (a restart on a full disk) the node still starts and serves what the file
   * holds, read-only: writes answer 503 until the lock can be taken (retried at the background pace). A
   * directory held by a live process still refuses the start.
   */
  private async takeLock(): Promise<void> {
    if (this.locking) return;
    this.locking = true;
    try {
      await this.tryLock();
    } finally {
      this.locking = false;
    }
  }

  private async tryLock(): Promise<void> {
    try {
      this.lock = await DataDirLock.acquire(this.dir, this.log);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (this.readOnly === undefined && !(code !== undefined && CANNOT_WRITE.has(code))) throw err;
      if (this.readOnly === undefined) {
        this.log.error({ err, dir: this.dir }, 'data directory not writable: serving the stored state read-only; API writes answer 503');
      }
      this.readOnly = `${this.dir} is not writable (${(err as Error).message})`;
      return;
    }
    if (this.closed) {
      this.lock.release();
      this.lock = undefined;
      return;
    }
    if (this.readOnly !== undefined) this.log.info({ dir: this.dir }, 'data directory writable again: taking writes');
    this.readOnly = undefined;
  }

  available(): boolean {
    return !this.writeFailed && this.readOnly === undefined;
  }

  onChange(listener: (c: StoreChange) => void): void {
    this.listeners.push(listener);
  }

  private emit(c: StoreChange): void {
    for (const l of this.listeners) l(c);
  }

  putRegion(reg: RegionRegistration): Promise<void> {
    return this.write(() => [{ kind: 'region', name: reg.name, registration: reg }]);
  }

  deleteRegion(name: string): Promise<void> {
    return this.write((draft) => {
      const gone: [string, null][] = [];
      for (const key of draft.probes.keys()) if (key.startsWith(probeKeyPrefix(name))) gone.push([key, null]);
      const changes: StoreChange[] = [
        { kind: 'region', name, registration: null },
        { kind: 'drain', name, drain: null },
      ];
      if (gone.length > 0) changes.push({ kind: 'probes', states: gone });
      return changes;
    });
  }

  setDrain(name: string, drain: DrainRecord | null): Promise<void> {
    return this.write(() => [{ kind: 'drain', name, drain }]);
  }

  async applyProbes(updates: ProbeUpdate[], now: number, durable: boolean): Promise<[string, ProberState][]> {
    const compute = (data: StateData): [string, ProberState][] => {
      const out: [string, ProberState][] = [];
      const seen = new Map<string, ProberState>();
      for (const u of updates) {
        const key = probeKey(u.region, u.endpoint, u.prober);
        const next = applyResult(seen.get(key) ?? data.probes.get(key), u.ok, now, u.rise, u.fall, u.rttMs, u.error);
        seen.set(key, next);
        out.push([key, next]);
      }
      return out;
    };
    if (!durable) {
      const out = compute(this.data);
      const change: StoreChange = { kind: 'probes', states: out };
      applyChange(this.data, change);
      this.emit(change);
      this.dirty = true;
      return out;
    }
    let out: [string, ProberState][] = [];
    await this.write((draft) => {
      out = compute(draft);
      return [{ kind: 'probes', states: out }];
    });
    return out;
  }

  async recordLatency(samples: LatencySample[], now: number): Promise<LearnedLatency[]> {
    let out: LearnedLatency[] = [];
    await this.write((draft) => {
      const seen = new Map<string, LearnedLatency>();
      out = samples.map((s) => {
        const key = latencyKey(s.client, s.region);
        const next = smoothLatency(seen.get(key) ?? draft.latency.get(key), s.client, s.region, s.rttMs, now);
        seen.set(key, next);
        return next;
      });
      return [{ kind: 'latency', values: out }];
    });
    return out;
  }

  restoreProbes(states: [string, ProberState][]): Promise<void> {
    return this.write(() => [{ kind: 'probes', states }]);
  }

  /**
   * Pruning is housekeeping, not an acknowledged write: like the node's own check results it is applied at once
   * and reaches the file with the next flush (a crash before that only means pruning again). Deciding on the
   * live state, not on a commit's draft, keeps a check result that arrives during a commit from being deleted.
   */
  pruneProbes(stale: [string, number][]): Promise<string[]> {
    const gone: [string, null][] = [];
    for (const [key, at] of stale) {
      const s = this.data.probes.get(key);
      if (s && s.at <= at) gone.push([key, null]);
    }
    if (gone.length === 0) return Promise.resolve([]);
    const change: StoreChange = { kind: 'probes', states: gone };
    applyChange(this.data, change);
    this.emit(change);
    this.dirty = true;
    return Promise.resolve(gone.map(([key]) => key));
  }

  /** Resolves once the change is in the file and then in memory; rejects (applied nowhere) if the file failed. */
  private write(compute: QueuedWrite['compute']): Promise<void> {
    if (this.readOnly !== undefined) return Promise.reject(new StoreUnavailableError(this.readOnly));
    return new Promise((resolve, reject) => {
      this.queue.push({ compute, resolve, reject });
      this.kick();
    });
  }

  private flush(): void {
    this.flushWanted = true;
    this.kick();
  }

  private kick(): void {
    this.committing ??= this.commitLoop()
      .catch((err: unknown) => this.log.error({ err }, 'embedded store commit failed'))
      .finally(() => {
        this.committing = undefined;
        // A write queued after the loop's last look (by a continuation of a resolved write) starts the next one.
        if (this.queue.length > 0 || this.flushWanted) this.kick();
      });
  }

  private async commitLoop(): Promise<void> {
    while (this.queue.length > 0 || this.flushWanted) {
      const batch = this.queue;
      this.queue = [];
      this.flushWanted = false;
      const draft = cloneState(this.data);
      const accepted: { w: QueuedWrite; changes: StoreChange[] }[] = [];
      for (const w of batch) {
        try {
          const changes = w.compute(draft);
          for (const c of changes) applyChange(draft, c);
          accepted.push({ w, changes });
        } catch (err) {
          w.reject(err);
        }
      }
      // Own check results applied from here on are not in this draft: they stay dirty for the next commit.
      const hadDirty = this.dirty;
      this.dirty = false;
      try {
        await this.writeFile(draft);
      } catch (err) {
        if (hadDirty) this.dirty = true;
        for (const { w } of accepted) w.reject(err);
        continue;
      }
      for (const { changes } of accepted) {
        for (const c of changes) {
          applyChange(this.data, c);
          this.emit(c);
        }
      }
      for (const { w } of accepted) w.resolve();
    }
  }

  private async writeFile(state: StateData): Promise<void> {
    const text = JSON.stringify(toFile(state));
    const tmp = this.files.temp;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
      const dir = await open(this.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      if (this.writeFailed) this.log.info({ file: this.file }, 'embedded store writable again');
      this.writeFailed = false;
    } catch (err) {
      // A partial temp file holds space a full disk needs back.
      await unlink(tmp).catch(() => undefined);
      if (!this.writeFailed) this.log.error({ err, file: this.file }, 'embedded store write failed: writes answer 503 and are not applied');
      this.writeFailed = true;
      throw new StoreUnavailableError(`cannot write ${this.file}: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    if (this.dirty && this.readOnly === undefined) this.flush();
    await this.committing;
    this.lock?.release();
    this.lock = undefined;
  }
}

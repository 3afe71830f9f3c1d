/**
 * The embedded store: state in memory, persisted to `<data>/state.json` (state-file.ts), persist first: a
 * write reaches memory and the change feed only once the file holds it, and concurrent writes share one file
 * write (group-commit.ts).
 *
 * The node's own check results are not API-acknowledged writes: they are applied at once and reach the file
 * with the next commit, or the background flush. A lock on the directory (dir-lock.ts) keeps a second process
 * from writing the same file.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { applyResult } from '../health/machine.js';
import { DataDirLock } from './dir-lock.js';
import { GroupCommit, type ComputeChanges } from './group-commit.js';
import { dataFiles, latencyKey, probeKey, probeKeyPrefix } from './keys.js';
import { smoothLatency } from './latency.js';
import { applyChange } from './state-change.js';
import { StateFile } from './state-file.js';
import { emptyState, StoreUnavailableError, type LatencySample, type LearnedLatency, type LoadReport, type RegionRegistration, type StateData, type Store, type StoreChange } from './types.js';
import type { DrainRecord, ProbeUpdate, ProberState } from '../health/probe-state.js';

/** Own check results, and a retry after a failed write, reach the file at this pace. */
const BACKGROUND_FLUSH_MS = 5000;

/** Errors that mean "this directory takes no writes now" rather than a configuration mistake. */
const CANNOT_WRITE = new Set(['ENOSPC', 'EDQUOT', 'EROFS']);

export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  private data: StateData = emptyState();
  private readonly listeners: ((c: StoreChange) => void)[] = [];
  private readonly stateFile: StateFile;
  private readonly commits: GroupCommit;
  private timer: NodeJS.Timeout | undefined;
  private lock: DataDirLock | undefined;
  /** Why the directory could not be locked for writing (set: read-only, writes answer 503). */
  private readOnly: string | undefined;
  private locking = false;
  private closed = false;
  readonly file: string;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.stateFile = new StateFile(dir, dataFiles(dir), log);
    this.file = this.stateFile.path;
    this.commits = new GroupCommit({
      current: () => this.data,
      persist: (state) => this.stateFile.write(state),
      land: (c) => {
        applyChange(this.data, c);
        this.emit(c);
      },
      log,
    });
  }

  async start(): Promise<StateData> {
    mkdirSync(this.dir, { recursive: true });
    await this.takeLock();
    const stored = this.stateFile.read();
    if (stored) {
      this.data = stored;
      this.log.info({ file: this.file, regions: this.data.regions.size, drains: this.data.drains.size }, 'embedded store loaded');
    }
    this.timer = setInterval(() => {
      if (this.readOnly !== undefined) this.takeLock().catch((err: unknown) => this.log.error({ err }, 'data directory lock retry failed'));
      // After a failed write, rewriting what memory holds also undoes a rename whose directory fsync failed.
      else if (this.commits.dirty || this.stateFile.failed) this.commits.flush();
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
    return !this.stateFile.failed && this.readOnly === undefined;
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
      this.commits.dirty = true;
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
        const key = latencyKey(s);
        const next = smoothLatency(seen.get(key) ?? draft.latency.get(key), s.client, s.region, s.rttMs, now, s.source);
        seen.set(key, next);
        return next;
      });
      return [{ kind: 'latency', values: out }];
    });
    return out;
  }

  recordLoad(reports: LoadReport[]): Promise<void> {
    return this.write(() => [{ kind: 'load', reports }]);
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
    this.commits.dirty = true;
    return Promise.resolve(gone.map(([key]) => key));
  }

  /** Resolves once the change is in the file and then in memory; rejects (applied nowhere) if the file failed. */
  private write(compute: ComputeChanges): Promise<void> {
    if (this.readOnly !== undefined) return Promise.reject(new StoreUnavailableError(this.readOnly));
    return this.commits.submit(compute);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    if (this.commits.dirty && this.readOnly === undefined) this.commits.flush();
    await this.commits.settled();
    this.lock?.release();
    this.lock = undefined;
  }
}

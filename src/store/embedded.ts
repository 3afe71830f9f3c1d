/**
 * The embedded store: state in memory, persisted to `<data>/state.json` by write-to-temp, fsync, rename and a
 * directory fsync, so a crash leaves either the old file or the new one. Concurrent writes share one flush
 * (group commit): a caller's promise resolves once a flush that started after its change has completed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { applyResult } from '../health/machine.js';
import { smoothLatency } from './latency.js';
import { fromFile, toFile } from './serialize.js';
import {
  emptyState,
  latencyKey,
  probeKey,
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

/** A node's own check results are not API-acknowledged writes: they reach the file at this pace. */
const BACKGROUND_FLUSH_MS = 5000;

export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  private data: StateData = emptyState();
  private readonly listeners: ((c: StoreChange) => void)[] = [];
  private pending: Promise<void> | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private writeFailed = false;
  private timer: NodeJS.Timeout | undefined;
  readonly file: string;

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.file = join(dir, 'state.json');
  }

  async start(): Promise<StateData> {
    mkdirSync(this.dir, { recursive: true });
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
        throw new Error(`${this.file}: ${(err as Error).message}; move it away to start empty`);
      }
      this.log.info({ file: this.file, regions: this.data.regions.size, drains: this.data.drains.size }, 'embedded store loaded');
    }
    this.timer = setInterval(() => {
      if (this.dirty) this.persist().catch(() => undefined);
    }, BACKGROUND_FLUSH_MS);
    this.timer.unref();
    return this.data;
  }

  available(): boolean {
    return !this.writeFailed;
  }

  onChange(listener: (c: StoreChange) => void): void {
    this.listeners.push(listener);
  }

  private emit(c: StoreChange): void {
    for (const l of this.listeners) l(c);
  }

  async putRegion(reg: RegionRegistration): Promise<void> {
    this.data.regions.set(reg.name, reg);
    this.emit({ kind: 'region', name: reg.name, registration: reg });
    await this.persist();
  }

  async deleteRegion(name: string): Promise<void> {
    this.data.regions.delete(name);
    this.data.drains.delete(name);
    const gone: [string, null][] = [];
    for (const key of this.data.probes.keys()) {
      if (key.startsWith(name + '|')) {
        this.data.probes.delete(key);
        gone.push([key, null]);
      }
    }
    this.emit({ kind: 'region', name, registration: null });
    this.emit({ kind: 'drain', name, drain: null });
    if (gone.length > 0) this.emit({ kind: 'probes', states: gone });
    await this.persist();
  }

  async setDrain(name: string, drain: DrainRecord | null): Promise<void> {
    if (drain) this.data.drains.set(name, drain);
    else this.data.drains.delete(name);
    this.emit({ kind: 'drain', name, drain });
    await this.persist();
  }

  async applyProbes(updates: ProbeUpdate[], now: number, durable: boolean): Promise<[string, ProberState][]> {
    const out: [string, ProberState][] = [];
    for (const u of updates) {
      const key = probeKey(u.region, u.endpoint, u.prober);
      const next = applyResult(this.data.probes.get(key), u.ok, now, u.rise, u.fall, u.rttMs, u.error);
      this.data.probes.set(key, next);
      out.push([key, next]);
    }
    this.emit({ kind: 'probes', states: out });
    if (durable) await this.persist();
    else this.dirty = true;
    return out;
  }

  async recordLatency(samples: LatencySample[], now: number): Promise<LearnedLatency[]> {
    const out = samples.map((s) => {
      const key = latencyKey(s.client, s.region);
      const next = smoothLatency(this.data.latency.get(key), s.client, s.region, s.rttMs, now);
      this.data.latency.set(key, next);
      return next;
    });
    this.emit({ kind: 'latency', values: out });
    await this.persist();
    return out;
  }

  async restoreProbes(states: [string, ProberState][]): Promise<void> {
    for (const [k, v] of states) this.data.probes.set(k, v);
    this.emit({ kind: 'probes', states });
    await this.persist();
  }

  async pruneProbes(stale: [string, number][]): Promise<string[]> {
    const gone: [string, null][] = [];
    for (const [key, at] of stale) {
      const s = this.data.probes.get(key);
      if (s && s.at <= at) {
        this.data.probes.delete(key);
        gone.push([key, null]);
      }
    }
    if (gone.length === 0) return [];
    this.emit({ kind: 'probes', states: gone });
    await this.persist();
    return gone.map(([key]) => key);
  }

  /** Resolves when a flush that began after this call has reached the disk. */
  private persist(): Promise<void> {
    this.pending ??= (async () => {
      await this.running?.catch(() => undefined);
      this.pending = undefined;
      const p = this.writeFile();
      this.running = p;
      await p;
    })();
    return this.pending;
  }

  private async writeFile(): Promise<void> {
    this.dirty = false;
    const text = JSON.stringify(toFile(this.data));
    const tmp = `${this.file}.tmp`;
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
      this.dirty = true;
      if (!this.writeFailed) this.log.error({ err, file: this.file }, 'embedded store write failed');
      this.writeFailed = true;
      throw new StoreUnavailableError(`cannot write ${this.file}: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.dirty) await this.persist().catch(() => undefined);
    await this.pending?.catch(() => undefined);
  }
}

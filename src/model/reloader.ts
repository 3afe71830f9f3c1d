/**
 * Hot reload: watch the zones directory (and take SIGHUP through `reload()`), re-validate every file, and hand
 * a good ZoneSet on. What is refused, the last good configuration outliving it:
 * - a configuration with errors (each logged as `file:line: message`);
 * - a configuration without any zone while the serving one has some (an emptied directory, every file deleted,
 *   a ConfigMap mounted empty): answering REFUSED for everything is never what an operator meant.
 *
 * A watched change is read only once the files have been unchanged for `settleMs` (a file written in two parts
 * is never loaded half-way), and again later if it changed while being read. The watch compares fingerprints of
 * the resolved files (see dir-fingerprint.ts) on every inotify event and on a slow poll, so symlink swaps of the
 * files' target directory (ConfigMap `..data`) and of the zones directory itself are noticed too.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { fingerprintZoneDir, type DirFingerprint } from './dir-fingerprint.js';
import { loadZoneDir, type LoadResult } from './loader.js';
import { formatError, type ConfigError, type ZoneSet } from './types.js';

/** Why a reload was refused; a fixed set, used as a metric label. */
export const RELOAD_REJECT_REASONS = ['invalid', 'no_zones'] as const;
export type ReloadRejectReason = (typeof RELOAD_REJECT_REASONS)[number];

export interface ReloadOutcome {
  ok: boolean;
  errors: ConfigError[];
  /** Set when `ok` is false. */
  reason?: ReloadRejectReason;
}

export interface ReloaderOptions {
  dir: string;
  apply: (zoneSet: ZoneSet) => void;
  log: Logger;
  onOutcome?: (o: ReloadOutcome) => void;
  /** How long the zone files must stay unchanged before a watched change is read. */
  settleMs: number;
  /** Zones the server started with: an empty directory is only refused once some zone has been served. */
  initialZones: number;
  /**
   * The directory as it was just before the startup load read it; without it, the state at start() is taken,
   * and a change made between the two would wait for the next one.
   */
  initialState?: DirFingerprint;
}

export class ZoneReloader {
  private watcher: FSWatcher | undefined;
  private watchedDir = '';
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  /** The state last read (applied or refused): the watch acts only on something newer. */
  private loaded: DirFingerprint | undefined;
  /** The state last observed, and since when it has been that. */
  private seen: DirFingerprint | undefined;
  private seenSince = 0;
  private servingZones: number;
  private readonly pollMs: number;

  constructor(private readonly o: ReloaderOptions) {
    this.servingZones = o.initialZones;
    // inotify sees edits at once; the poll is for what it cannot see (a re-pointed directory link).
    this.pollMs = Math.min(1000, Math.max(50, o.settleMs / 2));
  }

  start(): void {
    this.loaded = this.o.initialState ?? fingerprintZoneDir(this.o.dir);
    this.seen = this.loaded;
    this.seenSince = Date.now();
    this.watchDir(fingerprintZoneDir(this.o.dir).realDir);
    this.poller = setInterval(() => this.check(), this.pollMs);
    this.poller.unref();
  }

  /** inotify follows the directory it resolved when it started: watch again when the path points elsewhere. */
  private watchDir(realDir: string): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.watchedDir = realDir;
    if (realDir === '') return;
    try {
      const w = watch(realDir, { persistent: false }, () => this.check());
      w.on('error', (err) => {
        this.log.warn({ err, dir: realDir }, 'zone directory watch failed; polling and SIGHUP still reload');
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch (err) {
      this.log.warn({ err, dir: realDir }, 'cannot watch the zone directory; polling and SIGHUP still reload');
    }
  }

  private get log(): Logger {
    return this.o.log;
  }

  private wake(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), Math.max(0, ms));
    this.timer.unref();
  }

  private check(): void {
    if (!this.poller) return;
    const now = Date.now();
    const fp = fingerprintZoneDir(this.o.dir);
    if (fp.realDir !== this.watchedDir) this.watchDir(fp.realDir);
    if (fp.text !== this.seen?.text) {
      this.seen = fp;
      this.seenSince = now;
      this.wake(this.o.settleMs);
      return;
    }
    if (fp.text === this.loaded?.text) return;
    const quiet = now - this.seenSince;
    if (quiet < this.o.settleMs) return this.wake(this.o.settleMs - quiet);
    this.reloadSettled();
  }

  private reloadSettled(): void {
    const before = fingerprintZoneDir(this.o.dir);
    const result = loadZoneDir(this.o.dir);
    const after = fingerprintZoneDir(this.o.dir);
    if (after.text !== before.text) {
      // Written while we read: what we read may be a mix of old and new. Wait for quiet again.
      this.seen = after;
      this.seenSince = Date.now();
      this.wake(this.o.settleMs);
      return;
    }
    this.conclude('watch', before, result);
  }

  /** Read and apply now, without waiting for the files to settle (SIGHUP, tests). `trigger` is for the log. */
  reload(trigger = 'request'): ReloadOutcome {
    const before = fingerprintZoneDir(this.o.dir);
    return this.conclude(trigger, before, loadZoneDir(this.o.dir));
  }

  private conclude(trigger: string, state: DirFingerprint, result: LoadResult): ReloadOutcome {
    clearTimeout(this.timer);
    // Refused or applied, this state has been read: the watch does not retry it until something changes.
    this.loaded = this.seen = state;
    let outcome: ReloadOutcome;
    const zoneSet = result.zoneSet;
    if (zoneSet && (zoneSet.zones.length > 0 || this.servingZones === 0)) {
      this.o.apply(zoneSet);
      this.servingZones = zoneSet.zones.length;
      this.log.info({ trigger, zones: zoneSet.zones.map((z) => z.apex), files: result.files.length }, 'zones reloaded');
      outcome = { ok: true, errors: [] };
    } else if (zoneSet) {
      this.log.error(
        { trigger, reason: 'no_zones', dir: this.o.dir, files: result.files.length, serving: this.servingZones },
        'zone reload rejected; still serving the last good configuration',
      );
      outcome = { ok: false, errors: [], reason: 'no_zones' };
    } else {
      for (const e of result.errors) this.log.error({ file: e.file, line: e.line }, `zone reload rejected: ${formatError(e)}`);
      this.log.error({ trigger, reason: 'invalid', errors: result.errors.length }, 'zone reload rejected; still serving the last good configuration');
      outcome = { ok: false, errors: result.errors, reason: 'invalid' };
    }
    this.o.onOutcome?.(outcome);
    return outcome;
  }

  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.poller);
    this.poller = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/**
 * Hot reload: watch the zones directory (and take SIGHUP through `reload()`), re-validate every file, and hand
 * a good ZoneSet on. A bad change is logged as `file:line: message` and the last good configuration stays.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { loadZoneDir } from './loader.js';
import { formatError, type ConfigError, type ZoneSet } from './types.js';

export interface ReloadOutcome {
  ok: boolean;
  errors: ConfigError[];
}

export class ZoneReloader {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Editors write in bursts (temp file, rename, chmod): wait for quiet before reading. */
  private readonly debounceMs = 150;

  constructor(
    private readonly dir: string,
    private readonly apply: (zoneSet: ZoneSet) => void,
    private readonly log: Logger,
    private readonly onOutcome?: (o: ReloadOutcome) => void,
  ) {}

  start(): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, file) => {
        if (file && !/\.ya?ml$/.test(file.toString())) return;
        this.schedule();
      });
      this.watcher.on('error', (err) => this.log.warn({ err }, 'zone directory watch failed; SIGHUP still reloads'));
    } catch (err) {
      this.log.warn({ err, dir: this.dir }, 'cannot watch the zone directory; SIGHUP still reloads');
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload('watch'), this.debounceMs);
  }

  /** `trigger` says what asked for it (file watch, SIGHUP, API), for the log. */
  reload(trigger = 'request'): ReloadOutcome {
    clearTimeout(this.timer);
    const result = loadZoneDir(this.dir);
    let outcome: ReloadOutcome;
    if (result.zoneSet) {
      this.apply(result.zoneSet);
      this.log.info({ trigger, zones: result.zoneSet.zones.map((z) => z.apex), files: result.files.length }, 'zones reloaded');
      outcome = { ok: true, errors: [] };
    } else {
      for (const e of result.errors) this.log.error({ file: e.file, line: e.line }, `zone reload rejected: ${formatError(e)}`);
      this.log.error({ trigger, errors: result.errors.length }, 'zone reload rejected; still serving the last good configuration');
      outcome = { ok: false, errors: result.errors };
    }
    this.onOutcome?.(outcome);
    return outcome;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/**
 * `<data>/state.json`, the embedded store's whole state: read once at start, replaced atomically at each
 * commit (written to a temp file, fsynced, renamed over it, the directory fsynced), so a crash leaves either
 * the previous state or the new one, never a mix.
 */
import { readFileSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { syncDir, writeSynced } from '../util/synced-file.js';
import type { Logger } from 'pino';
import type { DataFiles } from './keys.js';
import { parseJson, warnCorrupt } from './records.js';
import { fromFile, toFile } from './serialize.js';
import { StoreUnavailableError, type StateData } from './types.js';

export class StateFile {
  /** The last write failed: writes answer 503 until one succeeds. */
  failed = false;

  constructor(
    private readonly dir: string,
    private readonly files: DataFiles,
    private readonly log: Logger,
  ) {}

  get path(): string {
    return this.files.state;
  }

  /**
   * What the file holds; `undefined` when there is no file yet. A file that is not a state file (not JSON,
   * another format) throws, naming the file: starting on empty state instead would lose everything it holds
   * with the next write. A corrupt entry is reported at warn and skipped.
   */
  read(): StateData | undefined {
    let text: string;
    try {
      text = readFileSync(this.files.state, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const json = parseJson(text);
    const refuse = (why: string, cause?: unknown) => new Error(`${this.files.state}: ${why}; move it away to start empty`, { cause });
    if (json.problem) throw refuse(json.problem.message);
    try {
      return fromFile(json.value, warnCorrupt(this.log, { file: this.files.state }));
    } catch (err) {
      throw refuse((err as Error).message, err);
    }
  }

  /** Replace the file with `state`; rejects with StoreUnavailableError (and logs the first failure) if it cannot. */
  async write(state: StateData): Promise<void> {
    const text = JSON.stringify(toFile(state));
    const tmp = this.files.temp;
    try {
      await writeSynced(tmp, text, 'w', 0o600);
      await rename(tmp, this.files.state);
      await syncDir(this.dir);
      if (this.failed) this.log.info({ file: this.files.state }, 'embedded store writable again');
      this.failed = false;
    } catch (err) {
      // A partial temp file holds space a full disk needs back.
      await unlink(tmp).catch(() => undefined);
      if (!this.failed) this.log.error({ err, file: this.files.state }, 'embedded store write failed: writes answer 503 and are not applied');
      this.failed = true;
      throw new StoreUnavailableError(`cannot write ${this.files.state}: ${(err as Error).message}`);
    }
  }
}

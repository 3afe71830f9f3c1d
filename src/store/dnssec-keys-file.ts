/**
 * Zone keys of the embedded store: `<data>/dnssec/<zone>.json`, mode 0600 in a 0700 directory. Created
 * atomically and only once: the file is written and fsynced under a temporary name, then hard-linked to its
 * final name, which fails when another process made it first. A replacement (a rollover) is written the same
 * way and renamed over the file; the data directory belongs to one process (dir-lock.ts), so a queue in this
 * process is all the compare-and-set needs.
 */
import { mkdir, readFile, link, rename, unlink } from 'node:fs/promises';
import { syncDir, writeSynced } from '../util/synced-file.js';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { ZoneKeyStore } from './dnssec-keys.js';
import { zoneKeysFile } from './keys.js';

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

export class FileZoneKeys implements ZoneKeyStore {
  private readonly dir: string;
  private queue: Promise<unknown> = Promise.resolve();
  constructor(private readonly dataDir: string) {
    this.dir = join(dataDir, 'dnssec');
  }

  /** The file of `zone`: names are checked by the loader, but a name must never become a path elsewhere. */
  fileOf(zone: string): string {
    return zoneKeysFile(this.dataDir, zone);
  }

  async read(zone: string): Promise<string | undefined> {
    try {
      return await readFile(this.fileOf(zone), 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async create(zone: string, text: string): Promise<boolean> {
    const file = this.fileOf(zone);
    const tmp = await this.written(file, text);
    try {
      await link(tmp, file);
      return true;
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
      return false;
    } finally {
      await unlink(tmp);
    }
  }

  replace(zone: string, expected: string, text: string): Promise<boolean> {
    const run = this.queue.then(async () => {
      const file = this.fileOf(zone);
      if ((await this.read(zone)) !== expected) return false;
      await rename(await this.written(file, text), file);
      await syncDir(dirname(file));
      return true;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** `text` in a new fsynced file (mode 0600) beside `file`: its name. */
  private async written(file: string, text: string): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeSynced(tmp, text, 'wx', 0o600);
    return tmp;
  }
}

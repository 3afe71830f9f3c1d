/**
 * Zone keys of the embedded store: `<data>/dnssec/<zone>.json`, mode 0600 in a 0700 directory. Created
 * atomically and only once: the file is written and fsynced under a temporary name, then hard-linked to its
 * final name, which fails when another process made it first; then the final file is what counts.
 */
import { mkdir, open, readFile, link, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AlgorithmName, SigningKey } from '../dnssec/algorithms.js';
import { newZoneKeys, parseZoneKeys, type ZoneKeyStore } from './dnssec-keys.js';
import { zoneKeysFile } from './keys.js';

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

export class FileZoneKeys implements ZoneKeyStore {
  private readonly dir: string;
  constructor(private readonly dataDir: string) {
    this.dir = join(dataDir, 'dnssec');
  }

  /** The file of `zone`: names are checked by the loader, but a name must never become a path elsewhere. */
  fileOf(zone: string): string {
    return zoneKeysFile(this.dataDir, zone);
  }

  async getOrCreateZoneKeys(zone: string, algorithm: AlgorithmName): Promise<SigningKey[]> {
    const file = this.fileOf(zone);
    try {
      return parseZoneKeys(zone, await readFile(file, 'utf8'), algorithm);
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(newZoneKeys(algorithm)));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, file);
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
    } finally {
      await unlink(tmp);
    }
    return parseZoneKeys(zone, await readFile(file, 'utf8'), algorithm);
  }
}

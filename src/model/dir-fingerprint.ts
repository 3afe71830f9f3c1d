/**
 * A cheap summary of what `loadZoneDir` would read: the directory's real path and, for every zone file, the
 * identity and version of the file it resolves to (symlinks followed). Two equal fingerprints mean nothing a
 * reload reads has changed; the reloader compares them to know when writes have settled.
 *
 * Following symlinks is the point: a Kubernetes ConfigMap update leaves `app.yaml -> ..data/app.yaml` alone and
 * atomically renames a new `..data` link, so only the resolved file's inode changes; a zones directory that is
 * itself a link re-pointed elsewhere changes the real path.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface DirFingerprint {
  /** The directory the path resolves to now ('' when it cannot be resolved). */
  realDir: string;
  /** Comparable summary of the directory and its zone files. */
  text: string;
}

const isZoneFile = (name: string) => name.endsWith('.yaml') || name.endsWith('.yml');

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'error';
}

export function fingerprintZoneDir(dir: string): DirFingerprint {
  let realDir: string;
  let names: string[];
  try {
    realDir = realpathSync(dir);
    names = readdirSync(dir).filter(isZoneFile).sort();
  } catch (err) {
    return { realDir: '', text: `!${errCode(err)}` };
  }
  const parts = [realDir];
  for (const name of names) {
    try {
      const st = statSync(join(dir, name), { bigint: true });
      // Nanosecond times beside the size: a rewrite of the same length is still a change.
      parts.push(`${name} ${st.dev}:${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`);
    } catch (err) {
      parts.push(`${name} !${errCode(err)}`);
    }
  }
  return { realDir, text: parts.join('\n') };
}

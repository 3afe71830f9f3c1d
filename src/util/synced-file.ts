/**
 * Files that must survive a crash or a power cut once a write is acknowledged: the data is fsynced before the
 * rename that makes it visible, and the directory after it, so the new name itself is on disk.
 */
import { open } from 'node:fs/promises';

/** `text` in `path`, flushed to disk before this resolves. `wx` fails when the file exists. */
export async function writeSynced(path: string, text: string, flags: 'w' | 'wx', mode: number): Promise<void> {
  const fh = await open(path, flags, mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Flush a directory's entries (a rename or link in it) to disk. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

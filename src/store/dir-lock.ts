/**
 * One process per data directory. `<dir>/gslb.lock` names its holder (pid, process start time, boot id, PID
 * namespace, host) and is published whole with link(2), so a reader never sees it half-written. The holder
 * refreshes its mtime every HEARTBEAT_MS.
 *
 * A lock left behind (SIGKILL, power loss) must not block the next start. Whether its holder still lives:
 * - same boot and PID namespace: decided at once from the pid: gone, a zombie, or started at another time than
 *   recorded (the pid was reused) means stale, and so does our own pid;
 * - anywhere else (another container: every container start is PID 1 of a new namespace, so the pid says
 *   nothing; another host sharing the volume; an unreadable lock): by the heartbeat. The lock is watched for
 *   STALE_MS; an mtime that moves means a live holder, one that does not means it is gone.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync, statSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { dataFiles } from './keys.js';
import { parseJson } from './records.js';

const HEARTBEAT_MS = 1000;
/** Several missed heartbeats: a holder whose event loop stalls briefly is not robbed. */
const STALE_MS = 5000;
const ATTEMPTS = 5;

interface LockInfo {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot): tells a reused pid from the holder. */
  startTime?: string;
  bootId?: string;
  pidNamespace?: string;
  host: string;
  since: string;
  token: string;
}

export class DataDirLockedError extends Error {}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function procStat(pid: number | 'self'): { state: string; startTime: string } | undefined {
  const text = readOptional(`/proc/${pid}/stat`);
  if (!text) return undefined;
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  return state && startTime ? { state, startTime } : undefined;
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** This process as a lock names it. */
function withIdentity(info: LockInfo): LockInfo {
  const self = procStat('self');
  const ns = pidNamespace();
  const boot = readOptional('/proc/sys/kernel/random/boot_id');
  return {
    ...info,
    ...(self ? { startTime: self.startTime } : {}),
    ...(boot ? { bootId: boot } : {}),
    ...(ns ? { pidNamespace: ns } : {}),
  };
}

/** What a lock file must hold to name its holder (host and since are only shown). */
const StoredLock = Compile(
  Type.Object({
    pid: Type.Integer({ minimum: 1 }),
    token: Type.String(),
    startTime: Type.Optional(Type.String()),
    bootId: Type.Optional(Type.String()),
    pidNamespace: Type.Optional(Type.String()),
    host: Type.Optional(Type.String()),
    since: Type.Optional(Type.String()),
  }),
);

/** The lock's holder, or `undefined` for a lock that does not name one (then its heartbeat decides). */
function parseInfo(text: string): LockInfo | undefined {
  const json = parseJson(text);
  if (json.problem || !StoredLock.Check(json.value)) return undefined;
  const v = json.value;
  return { ...v, host: v.host ?? '?', since: v.since ?? '?' };
}

/** Is the holder named by a lock from this boot and PID namespace still running? */
function localHolderAlive(info: LockInfo): boolean {
  // Our own pid: a lock from an earlier life of this pid, or a second store in this process (tests reading a
  // directory back); either way no other process holds it.
  if (info.pid === process.pid) return false;
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = procStat(info.pid);
  if (!now) return true;
  if (now.state === 'Z' || now.state === 'X') return false;
  return info.startTime === undefined || info.startTime === now.startTime;
}

function sameNamespace(info: LockInfo, mine: LockInfo): boolean {
  return info.host === mine.host && info.bootId === mine.bootId && info.pidNamespace === mine.pidNamespace;
}

/** Watch the lock's mtime for STALE_MS: true if its holder refreshed it (alive). */
async function heartbeatSeen(file: string, ino: number, mtimeMs: number): Promise<boolean> {
  const end = Date.now() + STALE_MS;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 250));
    let s;
    try {
      s = await stat(file);
    } catch {
      return false;
    }
    if (s.ino !== ino || s.mtimeMs !== mtimeMs) return true;
  }
  return false;
}

export class DataDirLock {
  private heartbeat: NodeJS.Timeout | undefined;
  private lost = false;

  private constructor(
    readonly file: string,
    private readonly ino: number,
    private readonly log: Logger,
  ) {}

  /**
   * Take the lock on `dir` (which must exist) or throw DataDirLockedError naming the holder. Without room for
   * the lock file the filesystem's error is thrown (ENOSPC, EROFS…), unless a live process holds the directory.
   */
  static async acquire(dir: string, log: Logger): Promise<DataDirLock> {
    const file = dataFiles(dir).lock;
    const mine = withIdentity({ pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(8).toString('hex') });
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      let published: boolean;
      try {
        published = await publish(file, mine);
      } catch (err) {
        const held = await judge(file, dir, mine, log);
        if (held?.alive) throw lockedError(dir, file, held.holder);
        throw err;
      }
      if (published) {
        const s = await stat(file);
        const back = parseInfo(await readFile(file, 'utf8'));
        if (back?.token !== mine.token) continue;
        const lock = new DataDirLock(file, s.ino, log);
        lock.startHeartbeat();
        log.info({ dir, file, pid: process.pid }, 'data directory locked');
        return lock;
      }
      const held = await judge(file, dir, mine, log);
      if (!held) continue;
      if (held.alive) throw lockedError(dir, file, held.holder);
      log.warn({ dir, file, holder: held.holder }, 'data directory lock left by a process that is gone: taking it over');
      await takeOver(file, held.ino);
    }
    throw new DataDirLockedError(`data directory ${dir}: could not take the lock ${file} (other processes keep changing it)`);
  }

  private startHeartbeat(): void {
    this.heartbeat = setInterval(() => {
      const now = new Date();
      stat(this.file)
        .then((s) => {
          if (s.ino !== this.ino) throw Object.assign(new Error('replaced by another process'), { code: 'EREPLACED' });
          return utimes(this.file, now, now);
        })
        .catch((err: unknown) => {
          if (this.lost) return;
          this.lost = true;
          this.log.error({ err, file: this.file }, 'data directory lock lost: another process may be writing this directory');
        });
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Clean shutdown: remove the lock if it is still ours. */
  release(): void {
    clearInterval(this.heartbeat);
    try {
      if (statSync(this.file).ino === this.ino) unlinkSync(this.file);
    } catch {
      /* already gone */
    }
  }
}

function lockedError(dir: string, file: string, holder: string): DataDirLockedError {
  return new DataDirLockedError(
    `data directory ${dir} is in use by ${holder}; one process per --data directory (lock ${file}; ` +
      `remove it only if that process is certainly gone)`,
  );
}

/** The existing lock's holder and whether it lives; undefined when there is no lock file. */
async function judge(file: string, dir: string, mine: LockInfo, log: Logger): Promise<{ alive: boolean; holder: string; ino: number } | undefined> {
  let text: string;
  let s;
  try {
    s = await stat(file);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const held = parseInfo(text);
  const holder = held ? `gslb pid ${held.pid} on ${held.host} (since ${held.since})` : `an unreadable lock (${JSON.stringify(text.slice(0, 80))})`;
  if (held && sameNamespace(held, mine)) return { alive: localHolderAlive(held), holder, ino: s.ino };
  log.warn({ dir, file, holder }, `data directory lock held from another PID namespace or host; watching its heartbeat for ${STALE_MS / 1000}s`);
  return { alive: await heartbeatSeen(file, s.ino, s.mtimeMs), holder, ino: s.ino };
}

/** Publish a complete lock file atomically; false if one exists. */
async function publish(file: string, info: LockInfo): Promise<boolean> {
  const tmp = `${file}.${info.pid}.${info.token}`;
  await writeFile(tmp, JSON.stringify(info) + '\n', { mode: 0o644 });
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Move a stale lock aside; if what was moved is not the lock judged stale (a race), put it back. */
async function takeOver(file: string, staleIno: number): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const s = await stat(aside);
  if (s.ino !== staleIno) await link(aside, file).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

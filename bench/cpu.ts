/**
 * CPU time of running processes, read from /proc as the kernel accounts it: utime+stime of a process and all
 * its descendants (so a server's worker processes count), and how long its threads waited on a run queue
 * (the core was busy with something else: on a shared machine that is the other tenants).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second, the unit of /proc/PID/stat's times (getconf CLK_TCK; 100 on Linux in practice). */
export const CLK_TCK = ((): number => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** The fields of a /proc/PID/stat line after the command name (which may hold spaces and parentheses). */
export function statFields(line: string): string[] {
  return line.slice(line.lastIndexOf(')') + 2).trim().split(' ');
}

/** Field numbers of proc(5), 1-based, minus 3: statFields() starts at field 3 (state). */
const PPID = 4 - 3;
const UTIME = 14 - 3;
const STIME = 15 - 3;
const CUTIME = 16 - 3;
const CSTIME = 17 - 3;

/** utime+stime of one process (all its threads), in ticks; undefined once it is gone. */
function ownTicks(pid: number): { ticks: number; ppid: number } | undefined {
  try {
    const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { ticks: Number(f[UTIME]) + Number(f[STIME]), ppid: Number(f[PPID]) };
  } catch {
    return undefined;
  }
}

/** cutime+cstime of a stat line: the CPU of the children that process has waited for, in ticks. */
export function waitedChildrenTicks(line: string): number {
  const f = statFields(line);
  return Number(f[CUTIME]) + Number(f[CSTIME]);
}

/** Nanoseconds the threads of `pid` spent waiting on a run queue (/proc/PID/task/TID/schedstat, field 2). */
function runQueueWaitNs(pid: number): number {
  let sum = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // the process ended
  }
  return sum;
}

/** One reading of a process tree: CPU ticks per live PID, and run-queue wait summed over every thread. */
export interface TreeSample {
  ticks: Map<number, number>;
  waitNs: number;
}

/** `root` and every live descendant of it (found by scanning /proc for parent PIDs). */
export function sampleTree(root: number): TreeSample {
  const parent = new Map<number, { ticks: number; ppid: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = ownTicks(Number(name));
    if (s) parent.set(Number(name), s);
  }
  const inTree = new Set<number>([root]);
  // Parents usually have lower PIDs, but not always (PID wrap): repeat until no process joins.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, s] of parent) {
      if (!inTree.has(pid) && inTree.has(s.ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  const ticks = new Map<number, number>();
  let waitNs = 0;
  for (const pid of inTree) {
    const s = parent.get(pid);
    if (!s) continue;
    ticks.set(pid, s.ticks);
    waitNs += runQueueWaitNs(pid);
  }
  return { ticks, waitNs };
}

/** CPU used between two samples, per PID (a process born in between counts from zero), in microseconds. */
export function cpuBetween(before: TreeSample, after: TreeSample): { totalUs: number; perPidUs: Map<number, number>; waitUs: number } {
  const perPidUs = new Map<number, number>();
  let totalUs = 0;
  for (const [pid, t] of after.ticks) {
    const us = ((t - (before.ticks.get(pid) ?? 0)) * 1e6) / CLK_TCK;
    perPidUs.set(pid, us);
    totalUs += us;
  }
  return { totalUs, perPidUs, waitUs: Math.max(0, (after.waitNs - before.waitNs) / 1e3) };
}

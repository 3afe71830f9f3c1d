/**
 * One measured run: dnsperf pinned to its own core against a server pinned to another, the server's CPU read
 * from /proc before and after, dnsperf's own CPU read exactly (the wrapping shell's cutime+cstime once it has
 * waited for dnsperf), and a verdict on what limited the run.
 */
import { cpuBetween, CLK_TCK, sampleTree, waitedChildrenTicks } from './cpu.js';
import { parseDnsperfWithSizes, runDnsperf, type DnsperfResult, type PacketSizes } from './lib.js';

/** The cores: the server on one, dnsperf on the other (the machine has two). */
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';

/** A server at or above this share of its core was the limit. */
const SERVER_FULL = 0.9;
/** dnsperf at or above this share of its core could not have sent faster. */
const LOADGEN_FULL = 0.95;

export interface RunFigures extends DnsperfResult, PacketSizes {
  /** The offered rate (dnsperf -Q), or undefined for an unthrottled run. */
  rate: number | undefined;
  runTimeS: number;
  /** Server CPU (the whole process tree) during the run, µs; per answered query; share of one core. */
  serverCpuUs: number;
  usPerQuery: number;
  serverBusy: number;
  /** CPU per process of the server's tree (a primary and its workers), µs. */
  perPidUs: Map<number, number>;
  /** Share of the run the server's threads waited on a run queue: its core was busy with other work. */
  serverWaited: number;
  loadgenBusy: number;
  verdict: string;
}

/** dnsperf's parsed output and its own CPU in µs, from the stat line the pinning shell prints (lib.ts PINNED). */
function parsePinned(out: string, err: string): { result: DnsperfResult & PacketSizes; cpuUs: number } {
  const stat = /BENCH_SHELL_STAT (.*)/.exec(err);
  if (!stat) throw new Error(`no CPU figure for dnsperf:\n${err}`);
  return { result: parseDnsperfWithSizes(out), cpuUs: (waitedChildrenTicks(stat[1]!) * 1e6) / CLK_TCK };
}

/** Run dnsperf (`args` plus -l seconds, and -Q rate when given) against `serverPid` listening on `port`. */
export async function measure(serverPid: number, port: number, seconds: number, rate: number | undefined, args: string[]): Promise<RunFigures> {
  const load = rate === undefined ? [] : ['-Q', String(rate)];
  const before = sampleTree(serverPid);
  const { result, cpuUs } = await runDnsperf(port, ['-l', String(seconds), ...load, ...args], (seconds + 20) * 1000, parsePinned, LOAD_CORE);
  const after = sampleTree(serverPid);
  const cpu = cpuBetween(before, after);
  // dnsperf's run time is -l; the wait for late answers after it is idle for both sides.
  const runUs = seconds * 1e6;
  const f = {
    ...result,
    rate,
    runTimeS: seconds,
    serverCpuUs: cpu.totalUs,
    usPerQuery: result.completed > 0 ? cpu.totalUs / result.completed : NaN,
    serverBusy: cpu.totalUs / runUs,
    perPidUs: cpu.perPidUs,
    serverWaited: cpu.waitUs / runUs,
    loadgenBusy: cpuUs / runUs,
  };
  return { ...f, verdict: verdict(f) };
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

/** The short form for a table: who limited a run. */
export function limitedBy(f: RunFigures): string {
  if (f.serverBusy >= SERVER_FULL) return 'server';
  if (f.loadgenBusy >= LOADGEN_FULL) return 'dnsperf';
  return f.serverBusy + f.serverWaited >= SERVER_FULL ? 'core shared' : 'neither (round trips)';
}

/** Whether a fixed-rate run reached the rate it offered. */
export function reachedRate(f: RunFigures): boolean {
  return f.rate === undefined || f.sent >= 0.97 * f.rate * f.runTimeS;
}

/** What limited a run, from who was busy: the server, the load generator, other processes, or none of them. */
export function verdict(f: Omit<RunFigures, 'verdict'>): string {
  const busy = `server ${pct(f.serverBusy)}, dnsperf ${pct(f.loadgenBusy)} of a core`;
  const shared = f.serverWaited >= 0.1 ? `; the server waited ${pct(f.serverWaited)} of the run for its core` : '';
  const lost = f.lost > 0 ? `, ${f.lost} lost` : '';
  const why = `(${busy}${lost})${shared}`;
  // Running plus waiting to run: a server whose core other processes took was not idle for want of queries.
  const starved = f.serverBusy < SERVER_FULL && f.serverBusy + f.serverWaited >= SERVER_FULL;
  const who = () =>
    f.serverBusy >= SERVER_FULL
      ? 'the server was the limit'
      : f.loadgenBusy >= LOADGEN_FULL
        ? 'dnsperf was the limit, not the server'
        : starved
          ? 'the server\'s core was shared: other processes, not dnsperf, were the limit'
          : 'neither core was full: dnsperf held back at its outstanding cap waiting for late answers (or its own core was shared: its wait is not measured)';
  if (f.rate !== undefined) {
    if (f.sent < 0.97 * f.rate * f.runTimeS) return `offered only ${Math.round(f.sent / f.runTimeS)} q/s of ${f.rate}: ${who()} ${why}`;
    if (f.completed < 0.99 * f.sent) return `answered ${f.completed} of ${f.sent}: ${who()} ${why}`;
    return `ok ${why}`;
  }
  return `${who()} ${why}`;
}

/**
 * What `npm run bench` (run.ts) and `npm run bench:checks` (checks.ts) share: the build step, the watchdog and
 * the ways out, the children they start and kill by PID, loopback ports, DNS on the wire, running and parsing
 * dnsperf, and the printed table.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Every bench socket binds or sends here. */
export const HOST = '127.0.0.1';
export const ZONE = 'gslb.example.test';

// ---------------------------------------------------------------------------------------------- a bench's life

/**
 * Run `main` as the bench called `label` (the prefix of its error lines). On SIGINT/SIGTERM or an error, every
 * tracked child is killed and `cleanup` runs before the process exits (130 on a signal, 1 on an error).
 */
export function runBench(label: string, main: () => Promise<void>, cleanup: () => void = () => {}): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      cleanup();
      process.exit(130);
    });
  }
  main().catch((err: unknown) => {
    killAll();
    cleanup();
    process.stderr.write(`${label}: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}

/** After `ms`, kill every tracked child, run `cleanup` and exit 1. Unref'd; clear it when the bench is over. */
export function startWatchdog(label: string, ms: number, cleanup: () => void = () => {}): NodeJS.Timeout {
  const watchdog = setTimeout(() => {
    process.stderr.write(`${label}: watchdog after ${ms / 1000} s, stopping\n`);
    killAll();
    cleanup();
    process.exit(1);
  }, ms);
  watchdog.unref();
  return watchdog;
}

/** Build dist/ with tsc, unless npm already did for `script` (the package.json script that runs this bench). */
export function buildUnlessNpmDid(script: string): void {
  if (process.env.npm_lifecycle_event === script) return;
  process.stdout.write('building (tsc -p tsconfig.json)...\n');
  const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  if (b.status !== 0) throw new Error('build failed');
}

// ---------------------------------------------------------------------------------------------- children

const children = new Set<ChildProcess>();
/** Children spawned `detached` (a process group of their own, led by them): killAll kills the whole group. */
const groupLeaders = new WeakSet<ChildProcess>();

/** SIGKILL every tracked child that is still running (and, for a group leader, what it started). */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(groupLeaders.has(child) ? -child.pid : child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

/**
 * Remember `child` for killAll until it exits. `group`: it was spawned `detached` and leads its own process
 * group (a shell wrapping the real program), so killAll kills the group by its id rather than orphaning it.
 */
export function track(child: ChildProcess, opts: { group?: boolean } = {}): ChildProcess {
  children.add(child);
  if (opts.group) groupLeaders.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stop one child by PID: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stop(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A loopback port free for both UDP and TCP right now. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = createServer();
    const port = await new Promise<number>((res, rej) => {
      tcp.once('error', rej);
      tcp.listen(0, HOST, () => {
        const a = tcp.address();
        res(typeof a === 'object' && a ? a.port : 0);
      });
    });
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((res) => {
      udp.once('error', () => res(false));
      udp.bind(port, HOST, () => res(true));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) await new Promise<void>((r) => udp.close(() => r()));
    else udp.close();
    if (ok) return port;
  }
  throw new Error('no free loopback port');
}

// ---------------------------------------------------------------------------------------------- DNS

export function nameWire(name: string): Buffer {
  return Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

/** Poll with `query` (a real query) until the server answers it with NOERROR (or give up). */
export async function waitForDns(port: number, timeoutMs: number, server: ChildProcess, query: Buffer): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    const answered = await new Promise<boolean>((res) => {
      const s = createSocket('udp4');
      const timer = setTimeout(() => {
        s.close();
        res(false);
      }, 200);
      s.on('message', (m) => {
        clearTimeout(timer);
        s.close();
        res(m.length >= 12 && (m[2]! & 0x80) !== 0 && (m[3]! & 0x0f) === 0);
      });
      s.send(query, port, HOST);
    });
    if (answered) return;
    await sleep(100);
  }
  throw new Error(`server did not answer on ${HOST}:${port} within ${timeoutMs} ms`);
}

// ---------------------------------------------------------------------------------------------- dnsperf

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  avgLatencyMs: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  stddevLatencyMs: number;
  rcodes: Record<string, number>;
}

export interface PacketSizes {
  avgRequestBytes: number;
  avgResponseBytes: number;
}

/** dnsperf's load options: `-l seconds -c clients -Q maxQps -q outstanding -t timeoutS`. */
export interface DnsperfLoad {
  seconds: number;
  clients: number;
  maxQps: number;
  outstanding: number;
  timeoutS: number;
}

/** The load both benches apply for `seconds`: 4 clients, 200 queries in flight, a cap far above what is reached. */
export function dnsperfLoad(seconds: number): DnsperfLoad {
  return { seconds, clients: 4, maxQps: 1_000_000, outstanding: 200, timeoutS: 2 };
}

export function loadArgs(l: DnsperfLoad): string[] {
  return ['-l', String(l.seconds), '-c', String(l.clients), '-Q', String(l.maxQps), '-q', String(l.outstanding), '-t', String(l.timeoutS)];
}

/** Seconds as printed by dnsperf -> milliseconds, rounded to the microsecond. */
export function ms(seconds: string): number {
  return Math.round(Number(seconds) * 1e6) / 1e3;
}

export function parseDnsperf(out: string): DnsperfResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`dnsperf output lacks ${re}:\n${out}`);
    return Number(m[1]);
  };
  const rcodes: Record<string, number> = {};
  const rc = /Response codes:\s+(.*)/.exec(out);
  if (rc) for (const m of rc[1]!.matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]!] = Number(m[2]);
  const lat = /Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)/.exec(out);
  const sd = /Latency StdDev \(s\):\s+([\d.]+)/.exec(out);
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: lat ? ms(lat[1]!) : NaN,
    minLatencyMs: lat ? ms(lat[2]!) : NaN,
    maxLatencyMs: lat ? ms(lat[3]!) : NaN,
    stddevLatencyMs: sd ? ms(sd[1]!) : NaN,
    rcodes,
  };
}

/** parseDnsperf plus the average request and response sizes (NaN when dnsperf did not print them). */
export function parseDnsperfWithSizes(out: string): DnsperfResult & PacketSizes {
  const pkt = /Average packet size:\s+request (\d+), response (\d+)/.exec(out);
  return { ...parseDnsperf(out), avgRequestBytes: pkt ? Number(pkt[1]) : NaN, avgResponseBytes: pkt ? Number(pkt[2]) : NaN };
}

/**
 * `sh -c` script that runs dnsperf on core $BENCH_CORE and then prints its own stat line to stderr after a
 * `BENCH_SHELL_STAT` marker: once the shell has waited for dnsperf, that line's cutime+cstime is dnsperf's CPU.
 */
const PINNED = 'taskset -c "$BENCH_CORE" dnsperf "$@"; rc=$?; read -r stat < /proc/$$/stat; echo "BENCH_SHELL_STAT $stat" >&2; exit $rc';

/**
 * Run `dnsperf -s HOST -p port ...args` as a tracked child and parse what it prints (stdout, stderr) with
 * `parse`. With `core`, dnsperf runs pinned to that CPU through a shell that leads its own process group (see
 * PINNED; a kill by the group's id takes both). `-l` bounds the run; one still running after `hangMs` is killed.
 */
export function runDnsperf<R>(port: number, args: string[], hangMs: number, parse: (out: string, err: string) => R, core?: string): Promise<R> {
  const argv = ['-s', HOST, '-p', String(port), ...args];
  return new Promise((res, rej) => {
    const child =
      core === undefined
        ? track(spawn('dnsperf', argv, { stdio: ['ignore', 'pipe', 'pipe'] }))
        : track(spawn('sh', ['-c', PINNED, 'sh', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, BENCH_CORE: core } }), { group: true });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(core === undefined ? child.pid : -child.pid, 'SIGKILL');
    }, hangMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return rej(new Error(`dnsperf ${argv.join(' ')} exited with ${code ?? signal}\n${err}${out}`));
      try {
        res(parse(out, err));
      } catch (e) {
        rej(e as Error);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------- output

export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

export function rcodeText(r: Record<string, number>): string {
  return Object.entries(r)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/** How a column's cells are padded to its width: 'left' pads the end, 'right' the start, 'none' not at all. */
export type Align = 'left' | 'right' | 'none';

/** A header, a rule of dashes as wide as each column, then the rows; columns two spaces apart. */
export function table(head: string[], rows: string[][], align: Align[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const pad = (c: string, i: number) => {
    const a = align[i] ?? 'none';
    return a === 'left' ? c.padEnd(widths[i]!) : a === 'right' ? c.padStart(widths[i]!) : c;
  };
  const line = (cells: string[]) => cells.map(pad).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

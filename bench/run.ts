/**
 * `npm run bench`: CPU per query and max q/s of gslb against gdnsd and a bare Node echo, side by side, one run.
 *
 * Method (the README's Benchmarks section says the same):
 *   - Every server answers the same query: app.gslb.example.test A with ECS 81.2.69.0/24 (dnsperf -E), the
 *     steered service of the example zone (latency policy), located by the same MMDB (test/helpers'
 *     fixture, City-style records; 81.2.69.0/24 is London, so both answer eu-west's 198.51.100.10). gdnsd is
 *     configured here: plugin_geoip, a map over that MMDB in city-auto-mode with the regions' coordinates,
 *     a DYNA resource for `app`, edns_client_subnet on, one UDP thread.
 *   - Rows: gslb --udp-io dgram, gslb --udp-io batch (default --udp-coalesce 500us), the same with
 *     --udp-coalesce 0 (every arrival read at once), a bare Node dgram echo (no DNS work: Node's floor),
 *     gdnsd 3.x (skipped, with how to install it, when /usr/sbin/gdnsd is missing), gslb with --workers 2
 *     (printed as "not available: <its error>" when serve refuses it).
 *   - The server runs under `taskset -c 0`, dnsperf under `taskset -c 1`. Each server is warmed at 15 k q/s for
 *     BENCH_WARMUP_SECONDS (default 10: a Node server's first seconds cost it 20-50 % more per query than its
 *     steady state, JIT and heap sizing; gdnsd gets the same), then dnsperf offers a fixed rate (-Q 15000, then
 *     -Q 40000) for BENCH_SECONDS, BENCH_ROUNDS times (default 3; the summary shows each rate's median round,
 *     the details every round: on a shared VM one round can be off by a third), then runs unthrottled
 *     (-c 4 -q 200) for max q/s. All servers run at once (idle but one) and each round goes through all of
 *     them in turn (benchAll), so drift in the host falls on every row alike.
 *   - Server CPU: utime+stime from /proc/PID/stat of the server and its descendants, before and after each
 *     run, ticks to µs by getconf CLK_TCK, divided by the queries answered. dnsperf's CPU: the cutime+cstime
 *     of the shell that waited for it. Each run says what limited it: the server (≥ 90 % of its core), dnsperf
 *     (≥ 95 % of its core while the server was below), or neither (answered < offered with the server under
 *     90 %: the generator held back, or the machine is shared), and how long the server's threads waited for
 *     their core (run-queue time from /proc/PID/task/TID/schedstat: other processes on core 0).
 *   - Ratio: CPU per query of each row over gdnsd's, at 15 k and 40 k; beside it dnsperf's mean latency of
 *     those runs (what coalescing trades for CPU).
 *
 * Bounded: BENCH_SECONDS (1-10, default 5) per run, BENCH_ROUNDS (1-5), BENCH_WARMUP_SECONDS (1-30), a watchdog, loopback only, every process killed by PID
 * (dnsperf's wrapping shell by its process group's id). Writes .bench/results.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUnlessNpmDid, fmt, HOST, killAll, ROOT, runBench, startWatchdog, stop, table } from './lib.js';
import { ecsHex } from './ecs.js';
import { limitedBy, measure, reachedRate, type RunFigures } from './measure.js';
import { NotAvailable, QUERY, SERVERS, type ServerSpec, type Started } from './servers.js';

const bounded = (name: string, fallback: number, min: number, max: number) => Math.min(max, Math.max(min, Number(process.env[name] ?? fallback) || fallback));
const SECONDS = bounded('BENCH_SECONDS', 5, 1, 10);
const ROUNDS = bounded('BENCH_ROUNDS', 3, 1, 5);
const WARMUP_S = bounded('BENCH_WARMUP_SECONDS', 10, 1, 30);
const RATES = [15_000, 40_000] as const;
/** Per server: warm-up, the rounds at each rate, the unthrottled run, and start/stop; twice that, and 60 s. */
const WATCHDOG_MS = (60 + 2 * SERVERS.length * (WARMUP_S + (ROUNDS * RATES.length + 1) * (SECONDS + 3))) * 1000;
const STOP_GRACE_MS = 3000;
/** Fixed rate: enough clients and room in flight that dnsperf can keep the rate through a server's stall. */
const FIXED = ['-c', '4', '-q', '500', '-t', '2'];
const UNTHROTTLED = ['-c', '4', '-q', '200', '-t', '2'];

interface Row {
  label: string;
  skipped?: string;
  /** `fixed`: the median round of each rate (by CPU per query); `rounds`: every round, rate by rate. */
  runs?: { warmUp: RunFigures; fixed: RunFigures[]; rounds: RunFigures[][]; max: RunFigures };
}

/** The round whose CPU per query is the median (the lower middle one of an even count). */
function medianRound(rounds: RunFigures[]): RunFigures {
  const sorted = [...rounds].sort((a, b) => a.usPerQuery - b.usPerQuery);
  return sorted[(sorted.length - 1) >> 1]!;
}

/** A server started for the bench: its row, process and the dnsperf arguments of its runs. */
interface Live {
  row: Row & { runs: NonNullable<Row['runs']> };
  child: Started['child'];
  pid: number;
  port: number;
  queryArgs: string[];
}

/** Starts one server and warms it up; a row that cannot run says why instead. */
async function startServer(spec: ServerSpec, dir: string, sharedQueryArgs: string[]): Promise<Live | Row> {
  const missing = spec.missing?.();
  if (missing) return { label: spec.label, skipped: `skipped: ${missing}` };
  let started: Started;
  try {
    started = await spec.start(dir);
  } catch (e) {
    if (e instanceof NotAvailable) return { label: spec.label, skipped: `not available: ${e.message}` };
    throw e;
  }
  const { child, port } = started;
  const pid = child.pid!;
  const queryArgs = [...sharedQueryArgs, ...(spec.queryArgs ?? [])];
  process.stdout.write(`  ${spec.label}: warm-up ${WARMUP_S} s at ${RATES[0] / 1000} k q/s...`);
  const warmUp = await measure(pid, port, WARMUP_S, RATES[0], [...FIXED, ...queryArgs]);
  process.stdout.write(` ${fmt(warmUp.usPerQuery, 1)} µs/query\n`);
  const runs = { warmUp, fixed: [], rounds: RATES.map(() => []), max: warmUp };
  return { row: { label: spec.label, runs }, child, pid, port, queryArgs };
}

/**
 * Every server is started and warmed first; then each round offers each rate to every server in turn, so
 * that a change in what the host gives this VM (seen here: the same server 30 % apart from one minute to the
 * next) falls on all rows alike rather than on whichever ran then. Idle servers wait on core 0 meanwhile
 * (a gslb node's idle timers cost it ~6 ms of CPU a second).
 */
async function benchAll(specs: readonly ServerSpec[], dir: string, queryArgs: string[]): Promise<Row[]> {
  const slots: (Live | Row)[] = [];
  try {
    for (const spec of specs) slots.push(await startServer(spec, dir, queryArgs));
    const live = slots.filter((x): x is Live => 'child' in x);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, rate] of RATES.entries()) {
        for (const l of live) {
          process.stdout.write(`  round ${round + 1}, ${rate / 1000} k q/s: ${l.row.label}...`);
          l.row.runs.rounds[i]!.push(await measure(l.pid, l.port, SECONDS, rate, [...FIXED, ...l.queryArgs]));
          process.stdout.write(` ${fmt(l.row.runs.rounds[i]!.at(-1)!.usPerQuery, 1)} µs/query\n`);
        }
      }
    }
    for (const l of live) {
      process.stdout.write(`  unthrottled: ${l.row.label}...`);
      l.row.runs.max = await measure(l.pid, l.port, SECONDS, undefined, [...UNTHROTTLED, ...l.queryArgs]);
      process.stdout.write(` ${fmt(l.row.runs.max.qps)} q/s\n`);
      l.row.runs.fixed = l.row.runs.rounds.map(medianRound);
      if (l.child.exitCode !== null) throw new Error(`${l.row.label} exited during the runs`);
    }
    return slots.map((x) => ('child' in x ? x.row : x));
  } finally {
    for (const x of slots) if ('child' in x) await stop(x.child, STOP_GRACE_MS);
  }
}

function summary(rows: Row[]): string {
  const ref = rows.find((r) => r.label.startsWith('gdnsd'))?.runs;
  // A rate that was not reached is marked: that figure is CPU per query at a lower rate.
  const perQuery = (r: RunFigures) => fmt(r.usPerQuery, 1) + (reachedRate(r) ? ' ' : '*');
  const ratio = (r: RunFigures, i: number) => (ref ? fmt(r.usPerQuery / ref.fixed[i]!.usPerQuery, 2) + '×' : '-');
  const head = ['server', 'µs/q 15k', 'vs gdnsd', 'µs/q 40k', 'vs gdnsd', 'avg ms 15k/40k', 'max q/s', 'µs/q max', 'max limited by'];
  const body = rows.map((r) => {
    if (!r.runs) return [r.label, '', '', '', '', '', '', '', ''];
    const [a, b] = r.runs.fixed as [RunFigures, RunFigures];
    const m = r.runs.max;
    // dnsperf's mean latency of those runs: what --udp-coalesce trades for CPU.
    const latency = `${fmt(a.avgLatencyMs, 2)} / ${fmt(b.avgLatencyMs, 2)}`;
    return [r.label, perQuery(a), ratio(a, 0), perQuery(b), ratio(b, 1), latency, fmt(m.qps), fmt(m.usPerQuery, 1), limitedBy(m)];
  });
  const lines = table(head, body, ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left']).split('\n');
  // A row that did not run says why after its label, across the figures' columns.
  rows.forEach((r, i) => {
    if (r.skipped) lines[2 + i] = lines[2 + i]!.slice(0, Math.max(...rows.map((x) => x.label.length))) + '  ' + r.skipped;
  });
  const note = rows.some((r) => r.runs?.fixed.some((f) => !reachedRate(f))) ? '\n* the offered rate was not reached (see the verdicts below): CPU per query at the rate that was' : '';
  return lines.map((l) => l.trimEnd()).join('\n') + note;
}

function details(rows: Row[]): string {
  const head = ['server', 'run', 'sent', 'answered', 'q/s', 'resp B', 'srv CPU', 'verdict'];
  const body: string[][] = [];
  for (const r of rows) {
    if (!r.runs) continue;
    const runs = [['warm-up', r.runs.warmUp] as const, ...r.runs.rounds.flatMap((rs) => rs.map((f, i) => [`-Q ${f.rate} #${i + 1}${f === r.runs!.fixed.find((m) => m.rate === f.rate) ? ' (median)' : ''}`, f] as const)), ['max', r.runs.max] as const];
    for (const [run, f] of runs) {
      const procs = f.perPidUs.size > 1 ? ` [per process: ${[...f.perPidUs.values()].map((us) => `${Math.round((100 * us) / f.serverCpuUs)} %`).join(' / ')}]` : '';
      body.push([r.label, run, String(f.sent), String(f.completed), fmt(f.qps), fmt(f.avgResponseBytes), `${fmt(f.serverCpuUs / 1000)} ms`, f.verdict + procs]);
    }
  }
  return table(head, body, ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'none']);
}

async function main(): Promise<void> {
  const started = Date.now();
  const watchdog = startWatchdog('bench', WATCHDOG_MS);
  buildUnlessNpmDid('bench');
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'gslb-bench-'));
  try {
    const queries = join(dir, 'queries.txt');
    writeFileSync(queries, `${QUERY.name} ${QUERY.qtype}\n`);
    const queryArgs = ['-d', queries, '-E', ecsHex(...QUERY.ecs)];
    process.stdout.write(
      `${QUERY.name} ${QUERY.qtype} with ECS ${QUERY.ecs.join('.')}.0/24 to ${HOST}; server on core 0, dnsperf on core 1; ` +
        `warm-up ${WARMUP_S} s, then ${ROUNDS} rounds of ${SECONDS} s per rate (median shown); load average ${loadBefore.toFixed(1)}\n`,
    );
    const rows = await benchAll(SERVERS, dir, queryArgs);
    const loadAfter = loadavg()[0]!;

    process.stdout.write(`\n${summary(rows)}\n\n${details(rows)}\n\n`);
    process.stdout.write(
      `load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after on ${(await import('node:os')).cpus().length} cores: ` +
        'with other work on the machine the figures are noisy; the verdicts say where a core was shared.\n',
    );
    const out = join(ROOT, '.bench');
    mkdirSync(out, { recursive: true });
    const report = {
      date: new Date().toISOString(),
      node: process.version,
      seconds: SECONDS,
      rounds: ROUNDS,
      warmUpSeconds: WARMUP_S,
      loadAverage: [loadBefore, loadAfter],
      rows: rows.map((r) => ({
        ...r,
        runs: r.runs && { warmUp: plain(r.runs.warmUp), fixed: r.runs.fixed.map(plain), rounds: r.runs.rounds.map((rs) => rs.map(plain)), max: plain(r.runs.max) },
      })),
      totalSeconds: (Date.now() - started) / 1000,
    };
    writeFileSync(join(out, 'results.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`wrote .bench/results.json (${report.totalSeconds.toFixed(1)} s total)\n`);
  } finally {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
}

/** A run as JSON can hold it (the per-process map as an object). */
function plain(f: RunFigures): Omit<RunFigures, 'perPidUs'> & { perPidUs: Record<string, number> } {
  return { ...f, perPidUs: Object.fromEntries(f.perPidUs) };
}

runBench('bench', main);

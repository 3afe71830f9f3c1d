/**
 * `npm run bench`: CPU per query and max q/s of gslb against gdnsd and a bare Node echo, side by side, one run.
 *
 * Method (the README's Benchmarks section says the same):
 *   - Every server answers the same query: app.gslb.example.test A with ECS 81.2.69.0/24 (dnsperf -E), the
 *     steered service of the example zone (latency policy), located by the same MMDB (test/helpers'
 *     fixture, City-style records; 81.2.69.0/24 is London, so both answer eu-west's 198.51.100.10). gdnsd is
 *     configured here: plugin_geoip, a map over that MMDB in city-auto-mode with the regions' coordinates,
 *     a DYNA resource for `app`, edns_client_subnet on, one UDP thread.
 *   - Rows: gslb --udp-io dgram, gslb --udp-io batch, a bare Node dgram echo (no DNS work: Node's floor),
 *     gdnsd 3.x (skipped, with how to install it, when /usr/sbin/gdnsd is missing), gslb with --workers 2
 *     (printed as "not available: <its error>" when serve refuses it).
 *   - The server runs under `taskset -c 0`, dnsperf under `taskset -c 1`. Each server is warmed for 1 s, then
 *     dnsperf offers a fixed rate (-Q 15000, then -Q 40000) for BENCH_SECONDS, then runs unthrottled
 *     (-c 4 -q 200) for max q/s.
 *   - Server CPU: utime+stime from /proc/PID/stat of the server and its descendants, before and after each
 *     run, ticks to µs by getconf CLK_TCK, divided by the queries answered. dnsperf's CPU: the cutime+cstime
 *     of the shell that waited for it. Each run says what limited it: the server (≥ 90 % of its core), dnsperf
 *     (≥ 95 % of its core while the server was below), or neither (answered < offered with the server under
 *     90 %: the generator held back, or the machine is shared), and how long the server's threads waited for
 *     their core (run-queue time from /proc/PID/task/TID/schedstat: other processes on core 0).
 *   - Ratio: CPU per query of each row over gdnsd's, at 15 k and 40 k.
 *
 * Bounded: BENCH_SECONDS (1-10, default 5) per run, a watchdog, loopback only, every process killed by PID
 * (dnsperf's wrapping shell by its process group's id). Writes .bench/results.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUnlessNpmDid, fmt, HOST, killAll, ROOT, runBench, startWatchdog, stop, table } from './lib.js';
import { ecsHex } from './ecs.js';
import { limitedBy, measure, reachedRate, type RunFigures } from './measure.js';
import { NotAvailable, QUERY, SERVERS, type ServerSpec } from './servers.js';

const SECONDS = Math.min(10, Math.max(1, Number(process.env.BENCH_SECONDS ?? 5) || 5));
const RATES = [15_000, 40_000] as const;
const WARMUP_S = 1;
/** Well under 3 minutes at the default 5 s per run (≈ 2 minutes expected); 15 s more per extra second. */
const WATCHDOG_MS = (170 + 15 * Math.max(0, SECONDS - 5)) * 1000;
const STOP_GRACE_MS = 3000;
/** Fixed rate: enough clients and room in flight that dnsperf can keep the rate through a server's stall. */
const FIXED = ['-c', '4', '-q', '500', '-t', '2'];
const UNTHROTTLED = ['-c', '4', '-q', '200', '-t', '2'];

interface Row {
  label: string;
  skipped?: string;
  runs?: { fixed: RunFigures[]; max: RunFigures };
}

async function benchServer(spec: ServerSpec, dir: string, queryArgs: string[]): Promise<Row> {
  const missing = spec.missing?.();
  if (missing) return { label: spec.label, skipped: `skipped: ${missing}` };
  let started;
  try {
    started = await spec.start(dir);
  } catch (e) {
    if (e instanceof NotAvailable) return { label: spec.label, skipped: `not available: ${e.message}` };
    throw e;
  }
  const { child, port } = started;
  const pid = child.pid!;
  try {
    await measure(pid, port, WARMUP_S, RATES[0], [...FIXED, ...queryArgs]);
    const fixed: RunFigures[] = [];
    for (const rate of RATES) {
      process.stdout.write(`  ${spec.label}: ${rate / 1000} k q/s...`);
      fixed.push(await measure(pid, port, SECONDS, rate, [...FIXED, ...queryArgs]));
      process.stdout.write(` ${fmt(fixed.at(-1)!.usPerQuery, 1)} µs/query\n`);
    }
    process.stdout.write(`  ${spec.label}: unthrottled...`);
    const max = await measure(pid, port, SECONDS, undefined, [...UNTHROTTLED, ...queryArgs]);
    process.stdout.write(` ${fmt(max.qps)} q/s\n`);
    if (child.exitCode !== null) throw new Error(`${spec.label} exited during the runs`);
    return { label: spec.label, runs: { fixed, max } };
  } finally {
    await stop(child, STOP_GRACE_MS);
  }
}

function summary(rows: Row[]): string {
  const ref = rows.find((r) => r.label.startsWith('gdnsd'))?.runs;
  // A rate that was not reached is marked: that figure is CPU per query at a lower rate.
  const perQuery = (r: RunFigures) => fmt(r.usPerQuery, 1) + (reachedRate(r) ? ' ' : '*');
  const ratio = (r: RunFigures, i: number) => (ref ? fmt(r.usPerQuery / ref.fixed[i]!.usPerQuery, 2) + '×' : '-');
  const head = ['server', 'µs/q 15k', 'vs gdnsd', 'µs/q 40k', 'vs gdnsd', 'max q/s', 'µs/q max', 'max limited by'];
  const body = rows.map((r) => {
    if (!r.runs) return [r.label, '', '', '', '', '', '', ''];
    const [a, b] = r.runs.fixed as [RunFigures, RunFigures];
    const m = r.runs.max;
    return [r.label, perQuery(a), ratio(a, 0), perQuery(b), ratio(b, 1), fmt(m.qps), fmt(m.usPerQuery, 1), limitedBy(m)];
  });
  const lines = table(head, body, ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'left']).split('\n');
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
    for (const f of [...r.runs.fixed, r.runs.max]) {
      const procs = f.perPidUs.size > 1 ? ` [per process: ${[...f.perPidUs.values()].map((us) => `${Math.round((100 * us) / f.serverCpuUs)} %`).join(' / ')}]` : '';
      body.push([r.label, f.rate ? `-Q ${f.rate}` : 'max', String(f.sent), String(f.completed), fmt(f.qps), fmt(f.avgResponseBytes), `${fmt(f.serverCpuUs / 1000)} ms`, f.verdict + procs]);
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
    process.stdout.write(`${QUERY.name} ${QUERY.qtype} with ECS ${QUERY.ecs.join('.')}.0/24 to ${HOST}; server on core 0, dnsperf on core 1; ${SECONDS} s per run; load average ${loadBefore.toFixed(1)}\n`);
    const rows: Row[] = [];
    for (const spec of SERVERS) rows.push(await benchServer(spec, dir, queryArgs));
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
      loadAverage: [loadBefore, loadAfter],
      rows: rows.map((r) => ({ ...r, runs: r.runs && { fixed: r.runs.fixed.map(plain), max: plain(r.runs.max) } })),
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

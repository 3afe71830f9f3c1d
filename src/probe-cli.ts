/**
 * `gslb probe`: a remote prober. It reads the regions and their checks from a node's API, checks every
 * endpoint from where it runs, and reports the results through `POST /v1/probes`, so health is decided by a
 * quorum of vantage points rather than by the nodes alone.
 */
import { hostname } from 'node:os';
import { onlyValue, parseFlags, UsageError } from './config.js';
import { runCheck } from './health/checker.js';
import type { HealthCheck } from './model/types.js';
import { parseDuration } from './util/duration.js';

export const PROBE_HELP = `Usage: gslb probe --api URL[,URL…] [--name NAME] [--interval 5s] [--api-token TOKEN] [--concurrency 64] [--once]

Checks every endpoint of every region that has a check, as the regions' check settings say, and reports
the results to the API (the first URL that answers). Runs until SIGTERM/SIGINT; --once does one round.

  --api URL,…         node APIs to read regions from and report to      [GSLB_API or http://127.0.0.1:8080]
  --name NAME         this prober's name in reports                       [probe-<hostname>]
  --interval D        time between rounds                                  [5s]
  --api-token TOKEN   bearer token when the nodes require one              [GSLB_API_TOKEN]
  --concurrency N     checks in flight at once                             [64]
  --once              one round, then exit (0 when every report was accepted)`;

/** `MAX_RESULTS_PER_REPORT` of the API (src/api/routes/probes.ts). */
const REPORT_BATCH = 1000;

interface RegionView {
  name: string;
  check?: HealthCheck;
  endpoints: { address: string }[];
}

export async function probeCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const flags = parseFlags(argv, ['--api', '--name', '--interval', '--api-token', '--concurrency'], ['--once']);
  const apis = (onlyValue(flags, '--api') ?? (env.GSLB_API ? `http://${env.GSLB_API}` : 'http://127.0.0.1:8080')).split(',').map((u) => u.trim());
  for (const a of apis) {
    try {
      new URL(a);
    } catch {
      throw new UsageError(`--api: "${a}" is not a URL`);
    }
  }
  const name = onlyValue(flags, '--name') ?? `probe-${hostname()}`;
  if (!/^[A-Za-z0-9_.:@-]{1,128}$/.test(name)) throw new UsageError('--name: 1-128 letters, digits, "_", ".", ":", "@" or "-"');
  const intervalMs = parseDuration(onlyValue(flags, '--interval') ?? '5s');
  if (intervalMs === undefined || intervalMs < 100) throw new UsageError('--interval: a duration of at least 100ms, like 5s');
  const concurrency = Number(onlyValue(flags, '--concurrency') ?? 64);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 4096) throw new UsageError('--concurrency: an integer from 1 to 4096');
  const token = onlyValue(flags, '--api-token') ?? env.GSLB_API_TOKEN;
  const once = flags.has('--once');

  let stop = false;
  const stopNow = () => {
    stop = true;
  };
  process.on('SIGTERM', stopNow);
  process.on('SIGINT', stopNow);
  for (;;) {
    const started = Date.now();
    const ok = await round(apis, name, token, concurrency);
    if (once) return ok ? 0 : 1;
    // Sleep in slices of at most 200 ms (so SIGTERM is noticed soon), but never past the next round's start:
    // fixed 200 ms slices overshot it by up to 200 ms (rounds every ~400 ms with --interval 300ms).
    while (!stop && Date.now() - started < intervalMs)
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(200, intervalMs - (Date.now() - started)))));
    if (stop) return 0;
  }
}

async function round(apis: string[], prober: string, token: string | undefined, concurrency: number): Promise<boolean> {
  for (const api of apis) {
    let regions: RegionView[];
    try {
      const res = await fetch(new URL('/v1/regions', api));
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      regions = ((await res.json()) as { regions: RegionView[] }).regions;
    } catch (err) {
      process.stderr.write(`gslb probe: ${api}: ${(err as Error).message}\n`);
      continue;
    }
    const targets = regions.flatMap((r) => (r.check ? r.endpoints.map((e) => ({ region: r.name, endpoint: e.address, check: r.check! })) : []));
    const results: { region: string; endpoint: string; ok: boolean; rttMs: number; error?: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, targets.length) }, async () => {
        while (next < targets.length) {
          const t = targets[next++]!;
          const family = t.endpoint.includes(':') ? 6 : /^[\d.]+$/.test(t.endpoint) ? 4 : 0;
          const r = await runCheck(t.endpoint, family, t.check);
          results.push({ region: t.region, endpoint: t.endpoint, ok: r.ok, rttMs: Math.round(r.rttMs * 10) / 10, ...(r.error ? { error: r.error } : {}) });
        }
      }),
    );
    if (results.length === 0) return true;
    try {
      // The API takes at most REPORT_BATCH results per report (each report is handled in one go).
      for (let i = 0; i < results.length; i += REPORT_BATCH) {
        const res = await fetch(new URL('/v1/probes', api), {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ prober, results: results.slice(i, i + REPORT_BATCH) }),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
      const down = results.filter((r) => !r.ok).length;
      process.stdout.write(`${new Date().toISOString()} ${prober}: reported ${results.length} result(s), ${down} failing, to ${api}\n`);
      return true;
    } catch (err) {
      process.stderr.write(`gslb probe: reporting to ${api}: ${(err as Error).message}\n`);
    }
  }
  return false;
}

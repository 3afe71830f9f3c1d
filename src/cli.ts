#!/usr/bin/env node
/** `gslb` command line: serve, check. */
import { readFileSync } from 'node:fs';
import { onlyValue, parseFlags, parseServeOptions, UsageError } from './config.js';
import { createLogger } from './log.js';
import { EXPLAIN_HELP, explainCommand } from './explain-cli.js';
import { DNSSEC_HELP, dnssecCommand } from './dnssec-cli.js';
import { PROBE_HELP, probeCommand } from './probe-cli.js';
import { startServer, StartupError } from './server.js';
import { isDnsWorker, runWorker } from './worker.js';
import { loadZoneDir } from './model/loader.js';
import { formatError } from './model/types.js';

const HELP = {
  main: `Usage: gslb <command> [options]

Commands:
  serve     run the authoritative DNS server and the HTTP API
  check     validate zone files (exit 1 and print file:line: message on errors)
  explain   show the routing decision a running server makes for a name and a client
  probe     run a remote prober that checks the registered endpoints and reports to the API
  dnssec    a signed zone's DS and DNSKEY records for the parent (ds), or a key rollover (rollover)

Run "gslb <command> --help" for a command's options.`,
  serve: `Usage: gslb serve [options]        (each option also from the environment variable shown)

  --zones DIR          GSLB_ZONES       zone files *.yaml                     [./zones]
  --reload-settle DUR  GSLB_RELOAD_SETTLE  read zone changes once quiet this long [2s]
  --dns HOST:PORT,...  GSLB_DNS         UDP+TCP listeners, [::1]:PORT for v6  [127.0.0.1:8053]
  --api HOST:PORT      GSLB_API         HTTP API                              [127.0.0.1:8080]
  --geoip FILE,...     GSLB_GEOIP       MMDB files, first match wins          [bundled database]
  --networks FILE      GSLB_NETWORKS    custom client networks                [./geoip/networks.yaml if present]
  --redis URL          GSLB_REDIS       shared store                          [embedded store]
  --redis-min-replicas N  GSLB_REDIS_MIN_REPLICAS  2xx only once N replicas hold a write (WAIT)  [0]
  --data DIR           GSLB_DATA        embedded store directory              [./data]
  --node-id NAME       GSLB_NODE_ID     node name, returned as NSID           [hostname]
  --api-token TOKEN    GSLB_API_TOKEN   bearer token for mutating API calls   [none]
  --log-level LEVEL    GSLB_LOG_LEVEL   fatal|error|warn|info|debug|trace     [info]
  --query-log RATE     GSLB_QUERY_LOG   log this fraction of queries (0-1)    [0: off]
  --probers NAME,...   GSLB_PROBERS     remote probers whose reports count    [none; a token lets reports register]
  --rrl RATE           GSLB_RRL         UDP responses/s per /24 or /56 + kind [200; 0: off]
  --rrl-slip N         GSLB_RRL_SLIP    every Nth limited response TC=1       [2; 0: drop all]
  --rrl-exempt CIDRS   GSLB_RRL_EXEMPT  never rate limited, comma-separated   [127.0.0.0/8,::1/128; none]
  --trusted-proxies CIDRS  GSLB_TRUSTED_PROXIES  proxies whose X-Forwarded-For beacons believe  [none]
  --cookie-secret HEX  GSLB_COOKIE_SECRET  server-cookie secret (32 hex digits); twice: NEW, OLD  [random per start]
  --udp-io MODE        GSLB_UDP_IO      auto|batch|dgram: native recvmmsg/sendmmsg or Node dgram  [auto: batch if built]
  --udp-coalesce T     GSLB_UDP_COALESCE  batch, under load: read UDP every T, not per datagram  [500us; 0: off]
  --workers N|auto     GSLB_WORKERS     DNS worker processes sharing each --dns port (auto: one per core)  [1]

Signals: SIGHUP reloads zone files; SIGTERM/SIGINT stop gracefully (exit 0).`,
  check: `Usage: gslb check [--zones DIR]

Validates every zone file in DIR (default ./zones, or GSLB_ZONES). Exit 0 when all are valid; otherwise
prints "file:line: message" for each error and exits 1.`,
  explain: EXPLAIN_HELP,
  probe: PROBE_HELP,
  dnssec: DNSSEC_HELP,
} as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function serve(argv: string[]): Promise<number> {
  const opts = parseServeOptions(argv);
  const log = createLogger(opts.logLevel, opts.nodeId);
  if (isDnsWorker()) {
    // A DNS worker of `--workers N`, forked by the primary with the same command line (worker-pool.ts).
    await runWorker(opts, log);
    return -1;
  }
  let server;
  try {
    server = await startServer(opts, log);
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`gslb: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const running = server;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    running.close().then(
      () => {
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => running.reload('SIGHUP'));
  return -1;
}

function check(argv: string[]): number {
  const flags = parseFlags(argv, ['--zones']);
  const dir = onlyValue(flags, '--zones') ?? (process.env.GSLB_ZONES || './zones');
  const result = loadZoneDir(dir);
  if (!result.zoneSet) {
    for (const e of result.errors) process.stdout.write(formatError(e) + '\n');
    process.stderr.write(`gslb check: ${result.errors.length} error(s) in ${dir}\n`);
    return 1;
  }
  const zs = result.zoneSet;
  process.stdout.write(
    `ok: ${zs.zones.length} zone(s) (${zs.zones.map((z) => z.apex).join(', ') || 'none'}), ${zs.regions.size} region(s), ` +
      `${zs.zones.reduce((n, z) => n + z.services.length, 0)} service(s) in ${result.files.length} file(s)\n`,
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP.main + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  if (command !== 'serve' && command !== 'check' && command !== 'explain' && command !== 'probe' && command !== 'dnssec') {
    process.stderr.write(`gslb: unknown command "${command}"\n\n${HELP.main}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP[command] + '\n');
    return 0;
  }
  try {
    if (command === 'explain') return await explainCommand(rest);
    if (command === 'probe') return await probeCommand(rest);
    if (command === 'dnssec') return await dnssecCommand(rest);
    return command === 'serve' ? await serve(rest) : check(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`gslb ${command}: ${err.message}\n(see "gslb ${command} --help")\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gslb: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

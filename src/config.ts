/**
 * `gslb serve` options: flags, then environment variables, then defaults (the embedded single-node mode).
 * Every option of the contract is parsed and validated here, in one place.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { isIP } from 'node:net';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UDP_IO_SETTINGS, type ListenAddress, type UdpIoSetting } from './net/udp-io.js';
import { parseRedisUrl } from './store/redis-connect.js';
import { parseDuration } from './util/duration.js';
import { parseCookieSecret } from './protect/cookies.js';
import { type Cidr, parseCidr } from './util/cidr.js';

export interface ServeOptions {
  zonesDir: string;
  dns: ListenAddress[];
  api: ListenAddress;
  /** MMDB files, first match wins; empty = the bundled database. */
  geoip: string[];
  networks: string | undefined;
  redis: string | undefined;
  dataDir: string;
  nodeId: string;
  apiToken: string | undefined;
  logLevel: string;
  /** Fraction of queries written to the query log (0 = off). */
  queryLog: number;
  /** Remote probers whose reports count (`--probers`); more may register with an authenticated report. */
  probers: string[];
  /** Zone-file changes are read once the files have been unchanged this long. */
  reloadSettleMs: number;
  /** Response rate limit: UDP responses per second per client network and response kind; 0 = off. */
  rrl: number;
  /** Every Nth rate-limited response is slipped (TC=1 / BADCOOKIE); 0 = drop them all. */
  rrlSlip: number;
  /** Networks never rate limited. */
  rrlExempt: Cidr[];
  /** Proxies whose `X-Forwarded-For` the API believes when it attributes a beacon to a browser's network. */
  trustedProxies: Cidr[];
  /** DNS server-cookie secrets, current first, then the previous one; empty = a random secret per start. */
  cookieSecrets: Buffer[];
  /** Replicas that must confirm (Redis WAIT) a write before it answers 2xx; 0 = the primary's acknowledgement. */
  redisMinReplicas: number;
  /** UDP I/O: the batch module where it loads (auto), always (batch: else no start), or Node's dgram. */
  udpIo: UdpIoSetting;
  /**
   * Batch mode: under load, read the socket every this many µs instead of on each datagram's arrival (0 = off);
   * see native/udp_batch.c (start_ticking).
   */
  udpCoalesceMicros: number;
  /** GSLB_UDP_IO_MODULE: load the batch module from this file instead of where the install builds it. */
  udpIoModule: string | undefined;
  /** DNS worker processes (1 = this process answers DNS itself; more = node:cluster workers, see worker-pool.ts). */
  workers: number;
}

export class UsageError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface OptionSpec {
  flag: string;
  env: string;
  repeatable?: boolean;
}

export const SERVE_OPTIONS = {
  zones: { flag: '--zones', env: 'GSLB_ZONES' },
  dns: { flag: '--dns', env: 'GSLB_DNS', repeatable: true },
  api: { flag: '--api', env: 'GSLB_API' },
  geoip: { flag: '--geoip', env: 'GSLB_GEOIP', repeatable: true },
  networks: { flag: '--networks', env: 'GSLB_NETWORKS' },
  redis: { flag: '--redis', env: 'GSLB_REDIS' },
  data: { flag: '--data', env: 'GSLB_DATA' },
  nodeId: { flag: '--node-id', env: 'GSLB_NODE_ID' },
  apiToken: { flag: '--api-token', env: 'GSLB_API_TOKEN' },
  logLevel: { flag: '--log-level', env: 'GSLB_LOG_LEVEL' },
  queryLog: { flag: '--query-log', env: 'GSLB_QUERY_LOG' },
  probers: { flag: '--probers', env: 'GSLB_PROBERS', repeatable: true },
  reloadSettle: { flag: '--reload-settle', env: 'GSLB_RELOAD_SETTLE' },
  rrl: { flag: '--rrl', env: 'GSLB_RRL' },
  rrlSlip: { flag: '--rrl-slip', env: 'GSLB_RRL_SLIP' },
  rrlExempt: { flag: '--rrl-exempt', env: 'GSLB_RRL_EXEMPT' },
  trustedProxies: { flag: '--trusted-proxies', env: 'GSLB_TRUSTED_PROXIES' },
  cookieSecret: { flag: '--cookie-secret', env: 'GSLB_COOKIE_SECRET', repeatable: true },
  redisMinReplicas: { flag: '--redis-min-replicas', env: 'GSLB_REDIS_MIN_REPLICAS' },
  udpIo: { flag: '--udp-io', env: 'GSLB_UDP_IO' },
  udpCoalesce: { flag: '--udp-coalesce', env: 'GSLB_UDP_COALESCE' },
  workers: { flag: '--workers', env: 'GSLB_WORKERS' },
} as const satisfies Record<string, OptionSpec>;

export const DEFAULT_DNS = '127.0.0.1:8053';
export const DEFAULT_API = '127.0.0.1:8080';
/** NSD's default: far above what one resolver network asks for one name (answers are cached for their TTL). */
export const DEFAULT_RRL = 200;
export const DEFAULT_RRL_SLIP = 2;
export const DEFAULT_RRL_EXEMPT = '127.0.0.0/8,::1/128';
/** --udp-coalesce: a wakeup then carries ~7 queries at 15 k q/s, for at most this much added latency. */
export const DEFAULT_UDP_COALESCE = '500us';
/** Longer than this would add more latency than any CPU it saves is worth. */
export const MAX_UDP_COALESCE_MICROS = 10_000;

/**
 * Split argv into `--flag value` / `--flag=value` pairs with node:util `parseArgs`; every value of a flag is
 * kept in order (a command that takes a flag once asks `onlyValue`). `booleans` are switches without a value.
 * parseArgs runs non-strict and the tokens are checked here, so every error is worded the same way, names the
 * flag, and is a UsageError (exit 2) rather than parseArgs's own TypeError.
 */
export function parseFlags(argv: readonly string[], known: readonly string[], booleans: readonly string[] = []): Map<string, string[]> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const flag of known) options[flag.slice(2)] = { type: 'string', multiple: true };
  for (const flag of booleans) options[flag.slice(2)] = { type: 'boolean' };
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const out = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind === 'positional') throw new UsageError(`unexpected argument "${token.value}"`);
    if (token.kind === 'option-terminator') throw new UsageError('unexpected argument "--"');
    const flag = token.rawName;
    if (booleans.includes(flag)) {
      if (token.value !== undefined) throw new UsageError(`option ${flag} takes no value`);
      out.set(flag, ['true']);
      continue;
    }
    if (!known.includes(flag)) throw new UsageError(`unknown option ${flag}`);
    // parseArgs takes the next argument as the value even when it is the next flag: `--zones --api x`
    // means --zones lacks its value, not a directory called "--api".
    const value = token.value;
    if (value === undefined || value === '' || (!token.inlineValue && value.startsWith('--'))) throw new UsageError(`option ${flag} needs a value`);
    const list = out.get(flag) ?? [];
    list.push(value);
    out.set(flag, list);
  }
  return out;
}

/** The value of a flag that may be given at most once. */
export function onlyValue(flags: ReadonlyMap<string, readonly string[]>, flag: string): string | undefined {
  const values = flags.get(flag);
  if (values && values.length > 1) throw new UsageError(`${flag} may be given once`);
  return values?.[0];
}

/** `HOST:PORT` or `[v6]:PORT`. */
export function parseListen(text: string, what: string): ListenAddress {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) throw new UsageError(`${what}: "${text}" is not HOST:PORT (use [::1]:PORT for IPv6)`);
  const host = m[1]!;
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`${what}: port ${port} is out of range`);
  if (isIP(host) === 0 && host !== 'localhost') throw new UsageError(`${what}: "${host}" is not an IP address`);
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

/** What a prober may be called (the same rule as `gslb probe --name` and the `POST /v1/probes` schema). */
export const PROBER_NAME = /^[A-Za-z0-9_.:@-]{1,128}$/;
/** At most this many probers are configured, and at most this many more registered through the API. */
export const MAX_PROBERS = 64;

function parseProbers(names: string[]): string[] {
  const out = [...new Set(names)];
  for (const n of out) if (!PROBER_NAME.test(n)) throw new UsageError(`--probers: "${n}" is not a prober name (1-128 letters, digits, "_", ".", ":", "@" or "-")`);
  if (out.length > MAX_PROBERS) throw new UsageError(`--probers: ${out.length} names, at most ${MAX_PROBERS}`);
  return out;
}

function isUdpIoSetting(text: string): text is UdpIoSetting {
  return (UDP_IO_SETTINGS as readonly string[]).includes(text);
}

export function parseServeOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeOptions {
  const flags = parseFlags(
    argv,
    Object.values(SERVE_OPTIONS).map((o) => o.flag),
  );
  const get = (spec: OptionSpec): string[] | undefined => {
    const fromFlag = flags.get(spec.flag);
    if (fromFlag) return fromFlag;
    const fromEnv = env[spec.env];
    return fromEnv !== undefined && fromEnv !== '' ? [fromEnv] : undefined;
  };
  const one = (spec: OptionSpec): string | undefined => {
    const v = get(spec);
    if (v && v.length > 1) throw new UsageError(`${spec.flag} may be given once`);
    return v?.[0];
  };
  const list = (spec: OptionSpec): string[] | undefined =>
    get(spec)
      ?.flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');

  const dns = (list(SERVE_OPTIONS.dns) ?? [DEFAULT_DNS]).map((t) => parseListen(t, '--dns'));
  const api = parseListen(one(SERVE_OPTIONS.api) ?? DEFAULT_API, '--api');

  const geoip = list(SERVE_OPTIONS.geoip) ?? [];
  for (const f of geoip) if (!existsSync(f)) throw new UsageError(`--geoip: ${f} does not exist`);

  let networks = one(SERVE_OPTIONS.networks);
  if (networks !== undefined && !existsSync(networks)) throw new UsageError(`--networks: ${networks} does not exist`);
  if (networks === undefined && existsSync('geoip/networks.yaml')) networks = 'geoip/networks.yaml';

  const redis = one(SERVE_OPTIONS.redis);
  if (redis !== undefined) {
    try {
      parseRedisUrl(redis);
    } catch (err) {
      throw new UsageError(`--redis: ${(err as Error).message}`);
    }
  }

  const minReplicasText = one(SERVE_OPTIONS.redisMinReplicas) ?? '0';
  const redisMinReplicas = Number(minReplicasText);
  if (!/^\d{1,3}$/.test(minReplicasText) || redisMinReplicas > 100)
    throw new UsageError(`--redis-min-replicas: "${minReplicasText}" is not a number of replicas from 0 to 100`);
  if (redisMinReplicas > 0 && redis === undefined) throw new UsageError('--redis-min-replicas: needs --redis (the embedded store has no replicas)');

  const nodeId = one(SERVE_OPTIONS.nodeId) ?? hostname();
  if (Buffer.byteLength(nodeId) === 0 || Buffer.byteLength(nodeId) > 255) throw new UsageError('--node-id: must be 1-255 bytes');

  const apiToken = one(SERVE_OPTIONS.apiToken);
  if (apiToken !== undefined && apiToken.length < 8) throw new UsageError('--api-token: use at least 8 characters');

  const logLevel = one(SERVE_OPTIONS.logLevel) ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  const queryLogText = one(SERVE_OPTIONS.queryLog) ?? '0';
  const queryLog = Number(queryLogText);
  if (!/^\d*\.?\d+$/.test(queryLogText) || !(queryLog >= 0 && queryLog <= 1))
    throw new UsageError(`--query-log: "${queryLogText}" is not a sampling rate from 0 (off) to 1 (every query)`);

  const probers = parseProbers(list(SERVE_OPTIONS.probers) ?? []);
  const reloadSettleText = one(SERVE_OPTIONS.reloadSettle) ?? '2s';
  const reloadSettleMs = parseDuration(reloadSettleText);
  if (reloadSettleMs === undefined || reloadSettleMs > 3_600_000)
    throw new UsageError(`--reload-settle: "${reloadSettleText}" is not a duration from 0s to 1h (e.g. 500ms, 2s)`);

  const rrlText = one(SERVE_OPTIONS.rrl) ?? String(DEFAULT_RRL);
  if (!/^\d{1,7}$/.test(rrlText) || Number(rrlText) > 1_000_000)
    throw new UsageError(`--rrl: "${rrlText}" is not a rate from 0 (off) to 1000000 responses per second`);
  const slipText = one(SERVE_OPTIONS.rrlSlip) ?? String(DEFAULT_RRL_SLIP);
  if (!/^\d{1,3}$/.test(slipText) || Number(slipText) > 100)
    throw new UsageError(`--rrl-slip: "${slipText}" is not a number from 0 (drop every limited response) to 100`);
  const exemptList = list(SERVE_OPTIONS.rrlExempt) ?? DEFAULT_RRL_EXEMPT.split(',');
  const rrlExempt = exemptList.length === 1 && exemptList[0] === 'none' ? [] : cidrList(exemptList, '--rrl-exempt', 'CIDR[,CIDR...] or none');
  const trustedProxies = cidrList(list(SERVE_OPTIONS.trustedProxies) ?? [], '--trusted-proxies', 'CIDR[,CIDR...]');
  const cookieSecrets: Buffer[] = [];
  for (const text of list(SERVE_OPTIONS.cookieSecret) ?? []) {
    const secret = parseCookieSecret(text);
    if (typeof secret === 'string') throw new UsageError(`--cookie-secret: ${secret}`);
    cookieSecrets.push(secret);
  }
  if (cookieSecrets.length > 2) throw new UsageError('--cookie-secret: give at most two, the current secret and then the previous one');

  const udpIoText = one(SERVE_OPTIONS.udpIo) ?? 'auto';
  if (!isUdpIoSetting(udpIoText)) throw new UsageError(`--udp-io: "${udpIoText}" is not one of ${UDP_IO_SETTINGS.join(', ')}`);

  const udpCoalesceMicros = parseCoalesce(one(SERVE_OPTIONS.udpCoalesce) ?? DEFAULT_UDP_COALESCE);
  const workers = parseWorkers(one(SERVE_OPTIONS.workers) ?? '1');

  return {
    workers,
    udpIo: udpIoText,
    udpCoalesceMicros,
    udpIoModule: env.GSLB_UDP_IO_MODULE || undefined,
    probers,
    rrl: Number(rrlText),
    rrlSlip: Number(slipText),
    rrlExempt,
    trustedProxies,
    cookieSecrets,
    queryLog,
    reloadSettleMs,
    redisMinReplicas,
    zonesDir: one(SERVE_OPTIONS.zones) ?? './zones',
    dns,
    api,
    geoip,
    networks,
    redis,
    dataDir: one(SERVE_OPTIONS.data) ?? './data',
    nodeId,
    apiToken,
    logLevel,
  };
}

/** `--udp-coalesce 500us|1ms|0`: microseconds, 0 = off. A duration as elsewhere, plus microseconds. */
export function parseCoalesce(text: string): number {
  const us = /^(\d+)us$/.exec(text.trim());
  const micros = text.trim() === '0' ? 0 : us ? Number(us[1]) : Math.round((parseDuration(text) ?? NaN) * 1000);
  if (!(micros >= 0 && micros <= MAX_UDP_COALESCE_MICROS))
    throw new UsageError(`--udp-coalesce: "${text}" is not a period from 0 (off) to ${MAX_UDP_COALESCE_MICROS / 1000}ms (e.g. 500us, 1ms)`);
  return micros;
}

/** More than this is a typo, not a machine: each worker holds a full snapshot. */
export const MAX_WORKERS = 256;

/** `--workers N|auto`: `auto` is one per core the process may use (os.availableParallelism). */
export function parseWorkers(text: string): number {
  if (text === 'auto') return availableParallelism();
  const n = Number(text);
  if (!/^\d{1,3}$/.test(text) || n < 1 || n > MAX_WORKERS)
    throw new UsageError(`--workers: "${text}" is not a number of worker processes from 1 to ${MAX_WORKERS}, or auto (one per CPU core)`);
  return n;
}

function cidrList(texts: string[], flag: string, syntax: string): Cidr[] {
  return texts.map((text) => {
    const net = parseCidr(text);
    if (typeof net === 'string') throw new UsageError(`${flag}: ${net} (use ${syntax})`);
    return net;
  });
}

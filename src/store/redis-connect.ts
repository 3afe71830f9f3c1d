/**
 * `--redis` URLs -> ioredis clients. Forms:
 *   redis://[user:pass@]host:6379[/db]               a single server (rediss:// for TLS)
 *   redis-sentinel://[:pass@]h1:26379,h2:26379/name[/db]   Sentinel: the master called `name`
 *   redis-cluster://[:pass@]h1:6379,h2:6379          Redis Cluster
 * A `?namespace=NAME` query keeps several deployments apart in one Redis (default `gslb`).
 */
import { Redis, Cluster } from 'ioredis';

/** The connection behaviour the store asks for; the rest comes from the URL. */
export interface ClientOptions {
  enableOfflineQueue: boolean;
  maxRetriesPerRequest: number | null;
  connectTimeout: number;
  /** A command without a reply after this long is rejected (ioredis: otherwise it waits forever). */
  commandTimeout: number;
  /** False: a command in flight when the connection dropped is never sent again after the reconnect. */
  autoResendUnfulfilledCommands: boolean;
  retryStrategy: (times: number) => number;
}

/** A command (or ping) without a reply after this long fails and its connection is reset: the API answers 503. */
const COMMAND_TIMEOUT_MS = 1500;

/** How the store's connections behave (redis-link.ts). */
export const STORE_CLIENT_OPTIONS: ClientOptions = {
  // Nothing is queued while disconnected, nothing in flight is retried or resent after a reconnect: a
  // command either gets its reply on the connection it was sent on, or fails (and the API answers 503).
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: 2000,
  // Keep trying forever, at most every 2 s: Redis coming back must be noticed without a restart.
  retryStrategy: (times: number) => Math.min(100 * times, 2000),
};

// ioredis' option types are not written for exactOptionalPropertyTypes (its RedisOptions does not satisfy its
// own constructor's signature under it); the objects built here are plain option bags, so the constructors
// are typed once, here.
const opts = (o: object): object => o;
export const NewRedis = Redis as unknown as new (options: object) => Redis;
const NewCluster = Cluster as unknown as new (nodes: { host: string; port: number }[], options: object) => Cluster;

export interface RedisTarget {
  kind: 'single' | 'sentinel' | 'cluster';
  namespace: string;
  create(extra: ClientOptions): Redis | Cluster;
  /** For logs: the URL without its password. */
  display: string;
}

function hosts(list: string, defaultPort: number): { host: string; port: number }[] {
  return list.split(',').map((h) => {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(h) ?? /^([^:]+)(?::(\d+))?$/.exec(h);
    if (!m) throw new Error(`"${h}" is not host[:port]`);
    const port = m[2] ? Number(m[2]) : defaultPort;
    // Caught here, not by the client: ioredis would retry an impossible port forever and the node would just
    // never become ready.
    if (port < 1 || port > 65535) throw new Error(`port ${m[2]} in "${h}" is not 1-65535`);
    return { host: m[1]!, port };
  });
}

export function parseRedisUrl(url: string): RedisTarget {
  const m = /^(redis|rediss|redis-sentinel|redis-cluster):\/\/(?:([^@/]*)@)?([^/?]+)(\/[^?]*)?(?:\?(.*))?$/.exec(url);
  if (!m) throw new Error(`"${url}" is not a redis://, rediss://, redis-sentinel:// or redis-cluster:// URL`);
  const [, scheme, auth, hostPart, path = '', query = ''] = m;
  const params = new URLSearchParams(query);
  const namespace = params.get('namespace') ?? 'gslb';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(namespace)) throw new Error(`namespace "${namespace}" must be 1-64 letters, digits, "_", "." or "-"`);
  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const colon = auth.indexOf(':');
    username = colon < 0 ? auth : auth.slice(0, colon) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(auth.slice(colon + 1));
    if (colon < 0) {
      password = decodeURIComponent(auth);
      username = undefined;
    }
  }
  const credentials = { ...(username ? { username } : {}), ...(password ? { password } : {}) };
  const display = url.replace(/\/\/[^@/]*@/, '//***@');
  const segments = path.split('/').filter((s) => s !== '');
  if (scheme === 'redis-sentinel') {
    const name = segments[0];
    if (!name) throw new Error('redis-sentinel:// needs the master name as its path: redis-sentinel://h1:26379,h2:26379/mymaster');
    const db = segments[1] ? Number(segments[1]) : 0;
    // Checked like the single-server form's database (a NaN db used to pass and fail only at SELECT time).
    if (!Number.isInteger(db) || db < 0) throw new Error(`database "${segments[1]}" is not a number`);
    const sentinels = hosts(hostPart!, 26379);
    return {
      kind: 'sentinel',
      namespace,
      display,
      create: (extra) => new NewRedis(opts({ ...extra, ...credentials, sentinels, name, db, ...(password ? { sentinelPassword: password } : {}) })),
    };
  }
  if (scheme === 'redis-cluster') {
    const nodes = hosts(hostPart!, 6379);
    return {
      kind: 'cluster',
      namespace,
      display,
      create: (extra) => new NewCluster(nodes, { redisOptions: opts({ ...extra, ...credentials }), enableOfflineQueue: extra.enableOfflineQueue }),
    };
  }
  const [first] = hosts(hostPart!, 6379);
  const db = segments[0] ? Number(segments[0]) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`database "${segments[0]}" is not a number`);
  return {
    kind: 'single',
    namespace,
    display,
    create: (extra) =>
      new NewRedis(opts({ ...extra, ...credentials, host: first!.host, port: first!.port, db, ...(scheme === 'rediss' ? { tls: {} } : {}) })),
  };
}

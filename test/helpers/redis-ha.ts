/**
 * Real highly-available Redis setups for tests, from Debian's redis-server and redis-cli:
 * - Sentinel: one master, one replica, three sentinels (`down-after-milliseconds 1000`), quorum 2;
 * - Cluster: three masters, each with one replica (so a master can fail over).
 * Everything listens on free loopback ports, keeps its files in a temp dir, and is stopped by PID.
 * The helpers throw when redis-server is missing: a Redis test must fail, not skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RRType } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { buildQuery, udpRaw } from './dns-client.js';
import { freePort } from './redis.js';

/**
 * These tests take about 80 s together, so `npm test` skips them and `npm run test:ha` (run by .ci/run) runs
 * them with GSLB_TEST_HA=1.
 */
export const HA_SKIP: string | false = process.env.GSLB_TEST_HA === '1' ? false : 'slow (real Sentinel/Cluster failovers): run with npm run test:ha';

/** One redis-server (or sentinel) process this helper started. */
export interface RedisProcess {
  port: number;
  /** SIGKILL: an outage, not a shutdown. Resolves once the process is gone. */
  kill(): Promise<void>;
  alive(): boolean;
  /** SIGSTOP / SIGCONT: a stalled process (long fork, paused VM) that keeps its sockets. */
  pause(): void;
  resume(): void;
}

function requireRedis(): void {
  for (const cmd of ['redis-server', 'redis-cli'])
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0)
      throw new Error(`${cmd} is not installed (apt-get install redis-server redis-tools); Redis HA tests cannot run`);
}

/** Poll `check` every `stepMs` until it returns a value, or throw after `timeoutMs` naming `what`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Run redis-cli against a loopback port; resolves with stdout (trimmed), rejects on a non-zero exit. */
export function cli(port: number, args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: exit ${code}: ${err || out}`));
    });
  });
}

/** `INFO replication` (or any INFO section) as a map. */
export async function info(port: number, section: string): Promise<Map<string, string>> {
  const text = await cli(port, ['INFO', section], 3000);
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

function launch(args: string[], port: number, logFile: string): Promise<RedisProcess> {
  const child: ChildProcess = spawn('redis-server', [...args, '--logfile', logFile], { stdio: 'ignore' });
  const proc: RedisProcess = {
    port,
    alive: () => child.exitCode === null && child.signalCode === null,
    kill: () =>
      new Promise<void>((resolve) => {
        if (!proc.alive()) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
  };
  return waitUntil(`redis-server on ${port} answers PING`, async () => ((await cli(port, ['PING'], 2000)) === 'PONG' ? proc : undefined), 10_000, 25).catch(
    async (err: unknown) => {
      await proc.kill();
      throw err;
    },
  );
}

const COMMON = ['--bind', '127.0.0.1', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'];

export interface SentinelSetup {
  /** `redis-sentinel://` URL naming the three sentinels and the master. */
  url(namespace: string): string;
  masterName: string;
  /** Data nodes by port (the initial master first). */
  servers: Map<number, RedisProcess>;
  sentinels: RedisProcess[];
  /** The master's port as the sentinels currently report it. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

/** Master + `replicas` replicas + three sentinels, all on loopback. Resolves once every sentinel sees the replicas and its peers. */
export async function startSentinelSetup(opts: { replicas?: number } = {}): Promise<SentinelSetup> {
  const replicas = opts.replicas ?? 1;
  requireRedis();
  const dir = mkdtempSync(join(tmpdir(), 'gslb-sentinel-'));
  const masterName = 'gslbha';
  const servers = new Map<number, RedisProcess>();
  const sentinels: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all([...sentinels, ...servers.values()].map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await freePort();
    servers.set(masterPort, await launch([...COMMON, '--port', String(masterPort), '--dir', dir], masterPort, join(dir, `${masterPort}.log`)));
    for (let i = 0; i < replicas; i++) {
      const replicaPort = await freePort();
      servers.set(
        replicaPort,
        await launch([...COMMON, '--port', String(replicaPort), '--dir', dir, '--replicaof', '127.0.0.1', String(masterPort)], replicaPort, join(dir, `${replicaPort}.log`)),
      );
      await waitUntil('replica in sync', async () => ((await info(replicaPort, 'replication')).get('master_link_status') === 'up' ? true : undefined), 10_000);
    }
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      // A sentinel rewrites its config file, so each gets its own.
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(await launch([conf, '--sentinel'], port, join(dir, `sentinel-${port}.log`)));
    }
    // Sentinels learn replicas from the master and each other over hello messages: wait for both, or the
    // first failover could find no quorum or no replica to promote.
    for (const s of sentinels)
      await waitUntil(
        `sentinel ${s.port} sees ${replicas} replica(s) and two peers`,
        async () => {
          const text = await cli(s.port, ['SENTINEL', 'master', masterName], 3000);
          const f = text.split('\n');
          const field = (k: string) => f[f.indexOf(k) + 1];
          return field('num-slaves') === String(replicas) && field('num-other-sentinels') === '2' ? true : undefined;
        },
        20_000,
        100,
      );
    return {
      url: (ns) => `redis-sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${masterName}?namespace=${ns}`,
      masterName,
      servers,
      sentinels,
      masterPort: async () => {
        for (const s of sentinels) {
          if (!s.alive()) continue;
          const [, port] = (await cli(s.port, ['SENTINEL', 'get-master-addr-by-name', masterName], 3000)).split('\n');
          return Number(port);
        }
        throw new Error('no sentinel alive');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface ClusterSetup {
  /** `redis-cluster://` URL naming every node (masters and replicas). */
  url(namespace: string): string;
  servers: Map<number, RedisProcess>;
  /** The slot a key (or `{hashtag}`) lives in. */
  keyslot(key: string): Promise<number>;
  /** The port of the master serving `slot`, and of its replica(s), from CLUSTER SHARDS-like data of a live node. */
  ownersOf(slot: number): Promise<{ master: number; replicas: number[] }>;
  /** Ports of every master. */
  masters(): Promise<number[]>;
  /** `CLUSTER FAILOVER` on a replica; resolves once it is master and every live node agrees. */
  failover(replicaPort: number): Promise<void>;
  /** Start a killed node again on its port with its own nodes.conf: it rejoins (a failed-over master as a replica). */
  revive(port: number): Promise<void>;
  /** Move one slot, keys and all, from one master to another (SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE). */
  migrateSlot(slot: number, toPort: number): Promise<void>;
  stop(): Promise<void>;
}

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  slots: string[];
}

function parseNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [id = '', addr = '', flags = '', masterId = '', , , , , ...slots] = l.trim().split(' ');
      return { id, port: Number(/:(\d+)@/.exec(addr)?.[1]), flags: flags.split(','), masterId, slots };
    });
}

function servesSlot(n: NodeLine, slot: number): boolean {
  return n.slots.some((r) => {
    if (r.startsWith('[')) return false;
    const [a, b = a] = r.split('-').map(Number);
    return a !== undefined && b !== undefined && slot >= a && slot <= b;
  });
}

/** Three masters with one replica each, `cluster-node-timeout 2000`. Resolves once every node reports cluster_state:ok. */
export async function startClusterSetup(): Promise<ClusterSetup> {
  requireRedis();
  const dir = mkdtempSync(join(tmpdir(), 'gslb-cluster-'));
  const servers = new Map<number, RedisProcess>();
  const commands = new Map<number, string[]>();
  const stop = async () => {
    await Promise.all([...servers.values()].map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  const live = () => [...servers.values()].filter((p) => p.alive());
  const nodes = async () => parseNodes(await cli(live()[0]!.port, ['CLUSTER', 'NODES'], 3000));
  const allOk = async (predicate?: (n: NodeLine[]) => boolean) => {
    for (const p of live()) {
      if ((await info(p.port, 'cluster').catch(() => new Map<string, string>())).get('cluster_enabled') !== '1') return undefined;
      const state = await cli(p.port, ['CLUSTER', 'INFO'], 3000);
      if (!/cluster_state:ok/.test(state)) return undefined;
      if (predicate && !predicate(parseNodes(await cli(p.port, ['CLUSTER', 'NODES'], 3000)))) return undefined;
    }
    return true;
  };
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      // The cluster bus gets a free port of its own (Redis 7 `cluster-port`), not port + 10000 which may be taken.
      const busPort = await freePort();
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const args = [...COMMON, '--port', String(port), '--dir', nodeDir, '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'];
      commands.set(port, args);
      servers.set(port, await launch(args, port, join(nodeDir, 'redis.log')));
    }
    const ports = [...servers.keys()];
    await cli(ports[0]!, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], 60_000);
    await waitUntil('cluster_state:ok on every node', () => allOk((n) => n.length === 6), 30_000, 100);
    // cluster_state:ok comes before the replicas' first sync: wait for that too, or the first WAIT finds none.
    await waitUntil(
      'every replica in sync',
      async () => {
        for (const p of ports) {
          const r = await info(p, 'replication');
          if (r.get('role') === 'slave' ? r.get('master_link_status') !== 'up' : r.get('connected_slaves') !== '1') return undefined;
        }
        return true;
      },
      30_000,
      100,
    );
    const setup: ClusterSetup = {
      url: (ns) => `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}?namespace=${ns}`,
      servers,
      keyslot: async (key) => Number(await cli(live()[0]!.port, ['CLUSTER', 'KEYSLOT', key], 3000)),
      ownersOf: async (slot) => {
        const all = await nodes();
        const master = all.find((n) => n.flags.includes('master') && !n.flags.includes('fail') && servesSlot(n, slot));
        if (!master) throw new Error(`no master serves slot ${slot}`);
        return { master: master.port, replicas: all.filter((n) => n.masterId === master.id && !n.flags.includes('fail')).map((n) => n.port) };
      },
      masters: async () => (await nodes()).filter((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots.length > 0).map((n) => n.port),
      failover: async (replicaPort) => {
        await cli(replicaPort, ['CLUSTER', 'FAILOVER']);
        await waitUntil(
          `${replicaPort} promoted and seen as master everywhere`,
          () => allOk((all) => all.find((n) => n.port === replicaPort)?.flags.includes('master') === true),
          30_000,
          100,
        );
      },
      revive: async (port) => {
        const args = commands.get(port);
        if (!args || servers.get(port)?.alive()) throw new Error(`${port} is not a killed node of this cluster`);
        servers.set(port, await launch(args, port, join(dir, String(port), 'redis.log')));
        await waitUntil(`${port} rejoined and cluster_state:ok everywhere`, () => allOk((all) => all.find((n) => n.port === port)?.flags.some((f) => f.startsWith('fail')) === false), 30_000, 100);
      },
      migrateSlot: async (slot, toPort) => {
        const all = await nodes();
        const from = all.find((n) => n.flags.includes('master') && servesSlot(n, slot));
        const to = all.find((n) => n.port === toPort);
        if (!from || !to) throw new Error(`cannot migrate slot ${slot} to ${toPort}`);
        await cli(to.port, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id]);
        await cli(from.port, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id]);
        for (let round = 0; round < 1000; round++) {
          const keys = (await cli(from.port, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])).split('\n').filter((k) => k !== '');
          if (keys.length === 0) break;
          await cli(from.port, ['MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys]);
        }
        // The owner is told first, then the source, then everyone: the order redis-cli --cluster uses.
        await cli(to.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id]);
        await cli(from.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id]);
        for (const n of all.filter((x) => x.flags.includes('master') && x.id !== to.id && x.id !== from.id))
          await cli(n.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id]).catch(() => undefined);
        await waitUntil(`slot ${slot} served by ${toPort} everywhere`, () => allOk((n) => n.find((x) => x.port === toPort) !== undefined && servesSlot(n.find((x) => x.port === toPort)!, slot)), 30_000, 100);
      },
      stop,
    };
    return setup;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Until `stop` resolves: one UDP query at a time to `target`; counts answers and failures (no reply in 3 s, or not NOERROR with an A). */
export function dnsLoad(target: { host: string; port: number }, name: string, ecs: { code: number; data: Buffer }, stop: Promise<void>): Promise<{ ok: number; failed: string[] }> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  return (async () => {
    const out = { ok: 0, failed: [] as string[] };
    for (let i = 0; !stopped && i < 1_000_000; i++) {
      const raw = await udpRaw(target, buildQuery({ name, type: RRType.A, edns: { options: [ecs] } }), 3000);
      const msg = raw ? decodeMessage(raw) : undefined;
      if (msg && msg.rcode === 0 && msg.answers.some((a) => a.type === RRType.A)) out.ok++;
      else out.failed.push(`${new Date().toISOString()} ${msg ? `rcode ${msg.rcode}, ${msg.answers.length} answers` : 'no reply'}`);
    }
    return out;
  })();
}

// ---- gslb nodes on top of these setups: the API and DNS as a user sees them ----

export interface Reply {
  status: number;
  json: Record<string, unknown>;
}

/** One HTTP call to a node's API; a network error or timeout resolves as status 0 (never throws). */
export async function call(api: string, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<Reply> {
  try {
    const res = await fetch(`${api}${path}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { text };
    }
    return { status: res.status, json };
  } catch (err) {
    return { status: 0, json: { error: (err as Error).message } };
  }
}

/** Names of the API-registered regions a node currently knows. */
export async function apiRegions(api: string): Promise<Set<string>> {
  const r = await call(api, 'GET', '/v1/regions');
  if (r.status !== 200) throw new Error(`GET /v1/regions: ${r.status}`);
  return new Set((r.json.regions as { name: string; source: string }[]).filter((x) => x.source === 'api').map((x) => x.name));
}

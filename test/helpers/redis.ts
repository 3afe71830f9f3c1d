/**
 * A real redis-server for tests: spawned on a free loopback port (or the one REDIS_URL names), killed by PID.
 * When redis-server is missing the helper throws: CI installs it, and a Redis test must fail, not skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

export interface RedisServer {
  url: string;
  port: number;
  /** Stop the server (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>;
  /** Start it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** A fresh namespace so tests sharing one server do not see each other's keys. */
  namespacedUrl(ns: string): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => {
        s.destroy();
        if (Date.now() > end) reject(new Error(`redis-server did not listen on ${port}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export async function startRedis(): Promise<RedisServer> {
  const given = process.env.REDIS_URL;
  if (given) {
    const port = Number(new URL(given).port || 6379);
    return {
      url: given,
      port,
      kill: () => Promise.reject(new Error('cannot kill a REDIS_URL server')),
      restart: () => Promise.reject(new Error('cannot restart a REDIS_URL server')),
      stop: async () => undefined,
      namespacedUrl: (ns) => `${given}${given.includes('?') ? '&' : '?'}namespace=${ns}`,
    };
  }
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
    throw new Error('redis-server is not installed (apt-get install redis-server); Redis tests cannot run');
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: 'ignore',
    });
    await waitForPort(port, 5000);
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await launch();
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    port,
    kill,
    restart: launch,
    stop: kill,
    namespacedUrl: (ns) => `${url}?namespace=${ns}`,
  };
}

/**
 * The composition root: options -> logger -> zones -> snapshot -> DNS listeners + API. Returns a handle that
 * tests drive in-process and that the CLI wires to signals.
 */
import type { Logger } from 'pino';
import { buildApp } from './api/app.js';
import type { ServeOptions } from './config.js';
import { ParsedQuery } from './dns/query.js';
import { Responder } from './dns/responder.js';
import { DEFAULT_TCP_LIMITS, TcpListener, type TcpLimits } from './dns/tcp.js';
import { UdpListener, type ListenAddress } from './dns/udp.js';
import { createLocator, describeErrors } from './geo/setup.js';
import type { SnapshotHolder } from './snapshot/holder.js';
import { SnapshotManager } from './snapshot/manager.js';
import { LatencyLearner } from './steering/latency-learner.js';
import { loadZoneDir } from './zone/loader.js';
import { ZoneReloader, type ReloadOutcome } from './zone/reloader.js';
import { formatError } from './zone/types.js';

export class StartupError extends Error {}

export interface RunningServer {
  /** Bound DNS addresses (ports resolved when 0 was asked for); UDP and TCP share each port. */
  dns: ListenAddress[];
  api: ListenAddress;
  holder: SnapshotHolder;
  manager: SnapshotManager;
  /** Re-read zone files, and (for SIGHUP) the GeoIP databases and custom networks. */
  reload(trigger?: string): ReloadOutcome;
  close(): Promise<void>;
}

export interface ServerExtras {
  tcpLimits?: TcpLimits;
}

export async function startServer(opts: ServeOptions, log: Logger, extras: ServerExtras = {}): Promise<RunningServer> {
  const initial = loadZoneDir(opts.zonesDir);
  if (!initial.zoneSet) throw new StartupError(initial.errors.map(formatError).join('\n'));
  if (initial.zoneSet.zones.length === 0) log.warn({ dir: opts.zonesDir }, 'no zone files: every query is REFUSED until one is added');
  if (opts.redis) log.warn({ redis: opts.redis }, 'shared Redis state is not implemented in this version; running on the embedded store');

  const geo = createLocator(opts.geoip, opts.networks);
  if (!geo.locator) throw new StartupError(describeErrors(geo.errors));
  const learner = new LatencyLearner();
  const manager = new SnapshotManager(initial.zoneSet, { nodeId: opts.nodeId, locator: geo.locator, learner, log: log.child({ module: 'snapshot' }) });
  const holder = manager.holder;
  const responderUdp = new Responder(holder.current);
  const responderTcp = new Responder(holder.current);
  const dnsLog = log.child({ module: 'dns' });

  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const bound: ListenAddress[] = [];
  const closeListeners = async () => {
    await Promise.all([...udp.map((l) => l.close()), ...tcp.map((l) => l.close())]);
  };
  try {
    for (const at of opts.dns) {
      const [u, t, port] = await bindPair(at, responderUdp, responderTcp, dnsLog, extras.tcpLimits ?? DEFAULT_TCP_LIMITS);
      udp.push(u);
      tcp.push(t);
      bound.push({ host: at.host, port });
      dnsLog.info({ host: at.host, port }, 'dns listening (udp+tcp)');
    }
  } catch (err) {
    await closeListeners();
    throw new StartupError(`cannot listen for DNS: ${(err as Error).message}`);
  }

  const reloader = new ZoneReloader(opts.zonesDir, (zs) => manager.applyZoneSet(zs), log.child({ module: 'zones' }));
  const reloadGeo = () => {
    const next = createLocator(opts.geoip, opts.networks);
    if (next.locator) manager.setLocator(next.locator);
    else for (const e of next.errors) log.error({ file: e.file, line: e.line }, `geo reload rejected: ${formatError(e)}`);
  };
  reloader.start();

  const app = buildApp({
    holder,
    manager,
    learner,
    log: log.child({ module: 'api' }),
    apiToken: opts.apiToken,
    notReadyReason: () => (holder.current().zones.size === 0 ? 'no zones loaded' : undefined),
  });
  let apiPort: number;
  try {
    await app.listen({ host: opts.api.host, port: opts.api.port });
    const addr = app.server.address();
    apiPort = typeof addr === 'object' && addr ? addr.port : opts.api.port;
  } catch (err) {
    reloader.stop();
    await closeListeners();
    throw new StartupError(`cannot listen for the API on ${opts.api.host}:${opts.api.port}: ${(err as Error).message}`);
  }
  log.info({ host: opts.api.host, port: apiPort }, 'api listening');

  return {
    dns: bound,
    api: { host: opts.api.host, port: apiPort },
    holder,
    manager,
    reload: (trigger?: string) => {
      if (trigger === 'SIGHUP') reloadGeo();
      return reloader.reload(trigger);
    },
    close: async () => {
      reloader.stop();
      manager.stop();
      await closeListeners();
      await app.close();
    },
  };
}

/** UDP and TCP on the same port; with port 0, take UDP's port for TCP (retrying if TCP finds it taken). */
async function bindPair(
  at: ListenAddress,
  ru: Responder,
  rt: Responder,
  log: Logger,
  limits: TcpLimits,
): Promise<[UdpListener, TcpListener, number]> {
  for (let attempt = 0; ; attempt++) {
    const u = new UdpListener(at, ru, log);
    const port = await u.listen();
    const t = new TcpListener({ host: at.host, port }, rt, log, limits);
    try {
      await t.listen();
      return [u, t, port];
    } catch (err) {
      await u.close();
      if (at.port !== 0 || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

export { ParsedQuery };

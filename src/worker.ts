/**
 * One DNS worker process (--workers N): answers DNS on every --dns address from its own snapshot, built from
 * the zone files and GeoIP databases it reads itself and the shared state the primary sends (worker-pool.ts).
 * It has no API, no checker and no store connection. Signals are the primary's business: a worker leaves
 * when told to stop, or when the primary's channel closes.
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { ServeOptions } from './config.js';
import { Responder } from './answer/responder.js';
import { chooseIo, listenDns, type DnsListeners } from './dns-setup.js';
import { createLocator, describeErrors } from './geo/setup.js';
import { createQueryGuard } from './guard-setup.js';
import { DnsTelemetry } from './metrics/dns-telemetry.js';
import { registerUdpIoMetrics, registerUdpSharingMetric } from './metrics/udp-io.js';
import { loadZoneDir } from './model/loader.js';
import { formatError } from './model/types.js';
import { DEFAULT_TCP_LIMITS } from './net/tcp.js';
import { workerUdpSharing } from './net/udp-sharing.js';
import { combineObservers, type QueryObserver } from './net/observer.js';
import { queryLogObserver } from './net/query-log.js';
import { SnapshotManager } from './snapshot/manager.js';
import { warmDecisionPath } from './answer/warm-up.js';
import { StateCache } from './store/state-cache.js';
import type { StateData } from './store/types.js';
import { parseZoneKeys, ZoneKeyring } from './store/dnssec-keys.js';
import { WORKER_INIT_ENV, workerNodeId, type FromWorker, type ToWorker, type WorkerInit, type WorkerZoneKeys } from './worker-messages.js';

export function isDnsWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_INIT_ENV] !== undefined;
}

function send(m: FromWorker): void {
  // Once the primary is gone there is nobody to tell ('disconnect' makes this worker leave).
  if (process.connected) process.send?.(m, undefined, undefined, () => {});
}

/** The primary's first state message (asked for with hello), and the zone keys it sends first, before anything is built. */
function firstState(keyring: ZoneKeyring): Promise<StateData> {
  return new Promise((resolve) => {
    const onMessage = (m: ToWorker) => {
      if (m.type === 'keys') putKeys(keyring, m.zones);
      if (m.type !== 'state') return;
      process.off('message', onMessage);
      resolve(m.data);
    };
    process.on('message', onMessage);
    send({ type: 'hello' });
  });
}

/** Keeps the zone keys the primary sent; true when any changed. */
function putKeys(keyring: ZoneKeyring, zones: readonly WorkerZoneKeys[]): boolean {
  let changed = false;
  for (const z of zones) if (keyring.put(z.apex, z.algorithm, z.text, parseZoneKeys(z.apex, z.text, z.algorithm))) changed = true;
  return changed;
}

export async function runWorker(base: ServeOptions, rootLog: Logger): Promise<void> {
  const init = JSON.parse(process.env[WORKER_INIT_ENV]!) as WorkerInit;
  const opts: ServeOptions = { ...base, dns: init.dns, ...(init.cookieSecret ? { cookieSecrets: [Buffer.from(init.cookieSecret, 'hex')] } : {}) };
  const log = rootLog.child({ worker: init.slot });
  // Ctrl-C reaches the whole process group: the primary decides, and tells this worker to stop.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
  let dns: DnsListeners | undefined;
  try {
    dns = await serveDns(opts, init.slot, log);
  } catch (err) {
    send({ type: 'failed', error: (err as Error).message });
    process.exit(1);
  }
  send({ type: 'ready', dns: dns.bound });
}

async function serveDns(opts: ServeOptions, slot: number, log: Logger): Promise<DnsListeners> {
  const dnsLog = log.child({ module: 'dns' });
  const io = chooseIo(opts, dnsLog.child({}, { level: 'warn' }));
  const zones = loadZoneDir(opts.zonesDir);
  if (!zones.zoneSet) throw new Error(zones.errors.map(formatError).join('\n'));
  const geo = createLocator(opts.geoip, opts.networks);
  if (!geo.locator) throw new Error(describeErrors(geo.errors));
  const cache = new StateCache();
  // Only the primary reads the store; signed zones' keys come from it, like the state.
  const keyring = new ZoneKeyring(undefined);
  cache.apply({ kind: 'resync', data: await firstState(keyring) });
  const mgr = new SnapshotManager(zones.zoneSet, {
    nodeId: workerNodeId(opts.nodeId, slot),
    locator: geo.locator,
    cache,
    keys: (apex) => keyring.get(apex),
    log: log.child({ module: 'snapshot' }),
  });
  const holder = mgr.holder;

  const telemetry = new DnsTelemetry(opts.nodeId, false);
  registerWorkerCounter(telemetry, slot);
  const observers: QueryObserver[] = [telemetry.observer];
  if (opts.queryLog > 0) observers.push(queryLogObserver(opts.queryLog, log.child({ module: 'query' })));
  const guard = createQueryGuard(opts, dnsLog.child({}, { level: 'warn' }));
  telemetry.protection.rrlTableBytes = guard.rrl?.tableBytes ?? 0;
  const sharing = workerUdpSharing(io.mode);
  const dns = await listenDns(opts.dns, {
    io,
    log: dnsLog,
    observer: combineObservers(observers),
    udpResponder: new Responder(holder.current, Math.random, guard),
    tcpResponder: new Responder(holder.current, Math.random, guard),
    tcpLimits: DEFAULT_TCP_LIMITS,
    // Each worker its own socket in one reuseport group where it can; else dgram takes the cluster's handle.
    batch: { reusePort: true, coalesceMicros: opts.udpCoalesceMicros },
    dgram: { reusePort: sharing === 'reuseport' },
  });
  telemetry.tcpListeners.push(...dns.tcp);
  registerUdpIoMetrics(telemetry.registry, io.mode, dns.udp);
  registerUdpSharingMetric(telemetry.registry, sharing);

  const warmUp = warmDecisionPath(holder.current);
  let zonesServed = zones.zoneSet.zones.length;
  const stop = () => {
    warmUp.stop();
    mgr.stop();
    void dns.close().then(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'state':
        cache.apply({ kind: 'resync', data: m.data });
        mgr.rebuildState();
        return;
      case 'keys':
        if (putKeys(keyring, m.zones)) mgr.applyZoneSet(holder.current().zoneSet);
        return;
      case 'reload':
        if (m.geo) {
          const next = createLocator(opts.geoip, opts.networks);
          if (next.locator) mgr.setLocator(next.locator);
          else log.error({ errors: next.errors.length }, 'geo reload rejected in the worker; still serving the last databases');
          return;
        }
        {
          // The primary read the same files a moment ago; the same rule: never go from some zones to none.
          const next = loadZoneDir(opts.zonesDir);
          if (next.zoneSet && (next.zoneSet.zones.length > 0 || zonesServed === 0)) {
            mgr.applyZoneSet(next.zoneSet);
            zonesServed = next.zoneSet.zones.length;
          } else log.error({ errors: next.errors.length }, 'zone reload rejected in the worker; still serving the last good configuration');
        }
        return;
      case 'metrics':
        void telemetry.registry.getMetricsAsJSON().then((json) => send({ type: 'metrics', id: m.id, json, answers: telemetry.dns.answers }));
        return;
      case 'stop':
        stop();
        return;
    }
  });
  return dns;
}

/** Queries this worker answered, labelled by its slot (at most N series): the share each worker takes. */
function registerWorkerCounter(telemetry: DnsTelemetry, slot: number): void {
  new Counter({
    name: 'gslb_dns_worker_queries_total',
    help: 'DNS queries answered by each worker process (--workers), by worker slot 1..N; a restarted worker keeps its slot and starts again from 0.',
    labelNames: ['worker'],
    registers: [telemetry.registry],
    collect() {
      this.reset();
      this.inc({ worker: String(slot) }, telemetry.dns.total());
    },
  });
}

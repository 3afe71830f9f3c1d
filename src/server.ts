/**
 * The composition root: options -> logger -> zones -> store -> snapshot -> DNS listeners + API + checker.
 * Returns a handle that tests drive in-process and that the CLI wires to signals.
 *
 * Longer than ~300 lines on purpose: it is the one place where every part is created and wired, in start-up
 * order, and splitting the wiring would only move the order out of sight.
 */
import type { Logger } from 'pino';
import { buildApp } from './api/app.js';
import type { ServeOptions } from './config.js';
import { Responder } from './answer/responder.js';
import { DEFAULT_TCP_LIMITS, type TcpLimits } from './net/tcp.js';
import type { ListenAddress } from './net/udp-io.js';
import type { BatchListenOptions } from './net/udp-batch.js';
import { chooseIo, listenDns, StartupError } from './dns-setup.js';
import { WorkerPool } from './worker-pool.js';
import { registerUdpIoMetrics } from './metrics/udp-io.js';
import { createLocator, describeErrors } from './geo/setup.js';
import { ActiveChecker, type CheckerOptions } from './health/checker.js';
import type { SnapshotHolder } from './snapshot/holder.js';
import { SnapshotManager } from './snapshot/manager.js';
import type { RegionIndex } from './model/indexes.js';
import { EmbeddedStore } from './store/embedded.js';
import { RedisStore } from './store/redis.js';
import { parseRedisUrl } from './store/redis-connect.js';
import { SharedState } from './store/shared-state.js';
import { StateCache } from './store/state-cache.js';
import { effectiveState } from './store/state-view.js';
import type { Store } from './store/types.js';
import { ProberRegistry } from './api/probers.js';
import { ProbePruner, type ProbePrunerOptions } from './store/probe-pruner.js';
import { combineObservers, type QueryObserver } from './net/observer.js';
import { queryLogObserver } from './net/query-log.js';
import { TransitionTracker } from './snapshot/transitions.js';
import { Telemetry } from './metrics/telemetry.js';
import { TrafficHistory } from './metrics/traffic.js';
import { warmDecisionPath, type WarmUp } from './answer/warm-up.js';
import { fingerprintZoneDir } from './model/dir-fingerprint.js';
import { loadZoneDir } from './model/loader.js';
import { ZoneReloader, type ReloadOutcome } from './model/reloader.js';
import { formatError, type ZoneSet } from './model/types.js';
import { FileZoneKeys } from './store/dnssec-keys-file.js';
import { ZoneKeysKeeper } from './store/dnssec-keys-keeper.js';
import { Signer } from './answer/signed.js';
import { createQueryGuard } from './guard-setup.js';

export { StartupError } from './dns-setup.js';

export interface RunningServer {
  /** Bound DNS addresses (ports resolved when 0 was asked for); UDP and TCP share each port. */
  dns: ListenAddress[];
  api: ListenAddress;
  holder: SnapshotHolder;
  manager: SnapshotManager;
  shared: SharedState;
  checker: ActiveChecker;
  telemetry: Telemetry;
  transitions: TransitionTracker;
  /** Re-read zone files, and (for SIGHUP) the GeoIP databases and custom networks. */
  reload(trigger?: string): ReloadOutcome;
  close(): Promise<void>;
}

export interface ServerExtras {
  tcpLimits?: TcpLimits;
  checker?: Partial<CheckerOptions>;
  /** How long state changes are coalesced before a snapshot rebuild. */
  coalesceMs?: number;
  /** How often stale probe states are pruned, and (tests) after how long a state is stale. */
  probers?: ProbePrunerOptions;
  /** Batch UDP I/O knobs (SO_REUSEPORT; tests: simulated would-block sends). */
  udpBatch?: BatchListenOptions;
  /** With `--redis`: how often the node re-reads the whole shared state (default 10 s). */
  resyncMs?: number;
  /** How often signed zones' keys are re-read from the store (default 30 s); a rollover's propagation is at least twice it. */
  dnssecKeyPollMs?: number;
  /** How long a load report counts (default 60 s; tests make it short to see reports go stale). */
  loadFreshMs?: number;
}

function createStore(opts: ServeOptions, log: Logger, resyncMs: number | undefined): Store {
  if (!opts.redis) return new EmbeddedStore(opts.dataDir, log);
  let target;
  try {
    target = parseRedisUrl(opts.redis);
  } catch (err) {
    throw new StartupError(`--redis: ${(err as Error).message}`);
  }
  return new RedisStore(target, log, opts.redisMinReplicas, resyncMs);
}

export async function startServer(opts: ServeOptions, log: Logger, extras: ServerExtras = {}): Promise<RunningServer> {
  const dnsLog = log.child({ module: 'dns' });
  const io = chooseIo(opts, dnsLog);
  const initialZoneState = fingerprintZoneDir(opts.zonesDir);
  const initial = loadZoneDir(opts.zonesDir);
  const initialZoneSet = initial.zoneSet;
  if (!initialZoneSet) throw new StartupError(initial.errors.map(formatError).join('\n'));
  if (initialZoneSet.zones.length === 0) log.warn({ dir: opts.zonesDir }, 'no zone files: every query is REFUSED until one is added');

  const geo = createLocator(opts.geoip, opts.networks);
  if (!geo.locator) throw new StartupError(describeErrors(geo.errors));

  const storeLog = log.child({ module: 'store' });
  const store = createStore(opts, storeLog, extras.resyncMs);
  const cache = new StateCache();
  let manager: SnapshotManager | undefined;
  let rebuildObserver: ((kind: 'zones' | 'state', ms: number) => void) | undefined;
  let pool: WorkerPool | undefined;
  const shared = new SharedState(
    store,
    cache,
    () => {
      manager?.stateChanged();
      pool?.stateChanged();
    },
    storeLog,
  );
  try {
    await shared.start();
  } catch (err) {
    await store.close();
    throw new StartupError(`store: ${(err as Error).message}`);
  }
  // Signed zones' keys are read (or made) before the first snapshot, so the first answers are signed already.
  const keeper = new ZoneKeysKeeper({
    store: store instanceof RedisStore ? store.zoneKeys() : new FileZoneKeys(opts.dataDir),
    log,
    zoneSet: () => manager?.holder.current().zoneSet ?? initialZoneSet,
    // A rollover started or read: the snapshot gets the new keys (its phases then follow the clock).
    onChange: () => {
      manager?.applyZoneSet(manager.holder.current().zoneSet);
      pool?.keysChanged();
    },
    ...(extras.dnssecKeyPollMs !== undefined ? { pollMs: extras.dnssecKeyPollMs } : {}),
  });
  const keyring = keeper.keyring;
  try {
    await keyring.load(initialZoneSet);
  } catch (err) {
    await store.close();
    throw new StartupError(`dnssec keys: ${(err as Error).message}`);
  }
  // Who may report probes: configured names, and (with a token) those registered in the store by any node.
  const probers = new ProberRegistry({ configured: opts.probers, nodeId: opts.nodeId, registration: opts.apiToken !== undefined });
  probers.seed(cache.state.probes);
  store.onChange((c) => probers.apply(c));
  const mgr = new SnapshotManager(initialZoneSet, {
    nodeId: opts.nodeId,
    locator: geo.locator,
    keys: (apex) => keyring.get(apex),
    cache,
    log: log.child({ module: 'snapshot' }),
    ...(extras.coalesceMs !== undefined ? { coalesceMs: extras.coalesceMs } : {}),
    ...(extras.loadFreshMs !== undefined ? { loadFreshMs: extras.loadFreshMs } : {}),
    // Telemetry needs the manager's holder, so it is created just after; rebuilds only happen later.
    onRebuild: (kind, ms) => rebuildObserver?.(kind, ms),
  });
  manager = mgr;
  const holder = mgr.holder;
  const transitions = new TransitionTracker(log.child({ module: 'health' }));
  transitions.observe(holder.current());
  holder.onSwap((snap) => transitions.observe(snap));
  const telemetry = new Telemetry({
    holder,
    transitions,
    store,
    nodeId: opts.nodeId,
    probers,
    storeReseeds: () => (store instanceof RedisStore ? store.reseeds : 0),
    resyncs: shared.resyncs,
  });
  probers.onGone((p) => telemetry.forgetProber(p));
  const pruner = new ProbePruner(
    {
      store,
      probes: () => cache.state.probes,
      regions: () => holder.current().regions,
      log: storeLog,
      onPruned: (n) => (telemetry.probePrune.states += n),
    },
    extras.probers,
  );
  pruner.start();
  rebuildObserver = (kind, ms) => telemetry.observeRebuild(kind, ms);
  // With --workers the workers answer: their counters come with their metrics (the pool asks every 10 s).
  const traffic = new TrafficHistory(async () => [{ source: 'self', epoch: 0, answers: telemetry.dns.answers }, ...((await pool?.answerTotals()) ?? [])]);
  traffic.start();
  const observers: QueryObserver[] = [telemetry.observer];
  if (opts.queryLog > 0) observers.push(queryLogObserver(opts.queryLog, log.child({ module: 'query' })));
  const observer = combineObservers(observers);

  const checker = new ActiveChecker(
    opts.nodeId,
    (updates) => {
      telemetry.countProbeReports(opts.nodeId, updates.length);
      return shared.recordLocal(updates);
    },
    log.child({ module: 'health' }),
    extras.checker,
  );
  let checkedRegions: Map<string, RegionIndex> | undefined;
  const syncTargets = () => {
    const regions = holder.current().regions;
    if (regions === checkedRegions) return;
    checkedRegions = regions;
    checker.setTargets(regions);
  };
  syncTargets();
  holder.onSwap(syncTargets);

  keeper.start();
  let warmUp: WarmUp | undefined;
  const stopCore = async () => {
    keeper.stop();
    warmUp?.stop();
    checker.stop();
    pruner.stop();
    traffic.stop();
    mgr.stop();
  };
  let dns: { bound: ListenAddress[]; close(): Promise<void> };
  if (opts.workers > 1) {
    // The workers answer DNS; this process keeps the API, the checker, the store, and tells them the state.
    const started = new WorkerPool({
      count: opts.workers,
      io,
      log: dnsLog,
      dns: opts.dns,
      coalesceMs: extras.coalesceMs ?? 200,
      state: () => effectiveState(cache),
      keys: () => keyring.records(),
      cookieSecrets: opts.cookieSecrets,
    });
    pool = started;
    telemetry.aggregate(() => started.metrics());
    try {
      await started.start();
    } catch (err) {
      await stopCore();
      await store.close();
      throw err;
    }
    dns = started;
  } else {
    const guard = createQueryGuard(opts, dnsLog);
    telemetry.protection.rrlTableBytes = guard.rrl?.tableBytes ?? 0;
    const signer = new Signer();
    try {
      const listeners = await listenDns(opts.dns, {
        io,
        log: dnsLog,
        observer,
        udpResponder: new Responder(holder.current, Math.random, guard, signer),
        tcpResponder: new Responder(holder.current, Math.random, guard, signer),
        tcpLimits: extras.tcpLimits ?? DEFAULT_TCP_LIMITS,
        batch: { coalesceMicros: opts.udpCoalesceMicros, ...extras.udpBatch },
      });
      telemetry.tcpListeners.push(...listeners.tcp);
      registerUdpIoMetrics(telemetry.registry, io.mode, listeners.udp);
      dns = listeners;
    } catch (err) {
      await stopCore();
      await store.close();
      throw err;
    }
  }
  for (const at of dns.bound) dnsLog.info({ host: at.host, port: at.port, workers: opts.workers }, 'dns listening (udp+tcp)');
  // This process answers DNS (no workers): its first burst of new ECS clients should meet optimized code.
  if (!pool) warmUp = warmDecisionPath(holder.current);
  const stopAll = async () => {
    await stopCore();
    await dns.close();
    await store.close();
  };

  // A reload that signs a new zone reads its keys first, and hands them to the workers before they re-read the
  // zone files (the channel keeps the order); only the latest zone set is applied.
  let reloads = 0;
  const applyWithKeys = (zs: ZoneSet) => {
    const n = ++reloads;
    if (!keyring.needsLoad(zs)) {
      mgr.applyZoneSet(zs);
      pool?.reload(false);
      return;
    }
    keyring.load(zs).then(
      () => {
        if (n !== reloads) return;
        mgr.applyZoneSet(zs);
        pool?.keysChanged();
        pool?.reload(false);
      },
      (err: unknown) => log.error({ module: 'zones' }, `reload not applied: dnssec keys: ${(err as Error).message}`),
    );
  };
  const reloader = new ZoneReloader({
    dir: opts.zonesDir,
    apply: applyWithKeys,
    log: log.child({ module: 'zones' }),
    settleMs: opts.reloadSettleMs,
    initialZones: initialZoneSet.zones.length,
    initialState: initialZoneState,
    onOutcome: (o) => {
      if (o.ok) telemetry.reloads.success++;
      else telemetry.reloads.failure++;
      if (o.reason) telemetry.reloadRejections[o.reason]++;
    },
  });
  reloader.start();
  const reloadGeo = () => {
    const next = createLocator(opts.geoip, opts.networks);
    if (next.locator) {
      mgr.setLocator(next.locator);
      pool?.reload(true);
    } else for (const e of next.errors) log.error({ file: e.file, line: e.line }, `geo reload rejected: ${formatError(e)}`);
  };

  const app = buildApp({
    holder,
    telemetry,
    transitions,
    traffic,
    manager: mgr,
    shared,
    log: log.child({ module: 'api' }),
    apiToken: opts.apiToken,
    trustedProxies: opts.trustedProxies,
    probers,
    dnssecKeys: keeper,
    notReadyReason: () => {
      // The store's state is in the body, not a reason to be unready (see /readyz).
      if (holder.current().zones.size === 0) return 'no zones loaded';
      return undefined;
    },
  });
  let apiPort: number;
  try {
    await app.listen({ host: opts.api.host, port: opts.api.port });
    const addr = app.server.address();
    apiPort = typeof addr === 'object' && addr ? addr.port : opts.api.port;
  } catch (err) {
    reloader.stop();
    await stopAll();
    throw new StartupError(`cannot listen for the API on ${opts.api.host}:${opts.api.port}: ${(err as Error).message}`);
  }
  log.info({ host: opts.api.host, port: apiPort, store: store.kind }, 'api listening');

  return {
    dns: dns.bound,
    api: { host: opts.api.host, port: apiPort },
    holder,
    manager: mgr,
    shared,
    checker,
    telemetry,
    transitions,
    reload: (trigger?: string) => {
      if (trigger === 'SIGHUP') reloadGeo();
      return reloader.reload(trigger);
    },
    close: async () => {
      reloader.stop();
      // Stop taking API writes first, then DNS, then flush the store.
      await app.close();
      await stopAll();
    },
  };
}

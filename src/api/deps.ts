/**
 * What the API's routes are given by the composition root, and the prober registry they share. Apart from
 * app.ts so the routes (which app.ts registers) do not import app.ts back.
 */
import type { Logger } from 'pino';
import type { Telemetry } from '../metrics/telemetry.js';
import type { TrafficHistory } from '../metrics/traffic.js';
import type { SnapshotHolder } from '../snapshot/holder.js';
import type { SnapshotManager } from '../snapshot/manager.js';
import type { TransitionTracker } from '../snapshot/transitions.js';
import type { SharedState } from '../store/shared-state.js';
import type { Cidr } from '../util/cidr.js';
import { ProberRegistry } from './probers.js';

export interface ApiDeps {
  holder: SnapshotHolder;
  telemetry?: Telemetry;
  transitions?: TransitionTracker;
  traffic?: TrafficHistory;
  manager: SnapshotManager;
  shared: SharedState;
  log: Logger;
  apiToken: string | undefined;
  /** Who may report probes; without it, no configured probers (see probers.ts). */
  probers?: ProberRegistry;
  /** `--trusted-proxies`: whose X-Forwarded-For names a beacon's client; none = the TCP peer always does. */
  trustedProxies?: readonly Cidr[];
  /** Why the node is not ready, or undefined when it is. */
  notReadyReason: () => string | undefined;
  /** Signed zones' keys (key rollover); without it no rollover can be started. */
  dnssecKeys?: DnssecKeysApi;
}

/** What the rollover route needs of the zone keys (store/dnssec-keys-keeper.ts). */
export interface DnssecKeysApi {
  /** Records a rollover of the signed zone `apex` and serves it here; 'running' when one is under way. */
  rollover(apex: string, timings: { propagationSeconds: number; parentWaitSeconds: number }): Promise<'started' | 'running'>;
  rolloverDefaults: { propagationSeconds: number; parentWaitSeconds: number; minPropagationSeconds: number };
}

const defaults = new WeakMap<object, ProberRegistry>();

/**
 * The registry the API uses: the one the composition root made (`deps.probers`), or, for an app built without
 * one, a registry with no configured probers that follows the app's store.
 */
export function proberRegistry(deps: ApiDeps): ProberRegistry {
  if (deps.probers) return deps.probers;
  let r = defaults.get(deps.shared);
  if (!r) {
    const registry = new ProberRegistry({ configured: [], nodeId: deps.holder.current().nodeId, registration: deps.apiToken !== undefined });
    registry.seed(deps.shared.cache.state.probes);
    deps.shared.store.onChange((c) => registry.apply(c));
    defaults.set(deps.shared, (r = registry));
  }
  return r;
}

/** ApiDeps over a real embedded store in a temp dir, for `app.inject()` tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ApiDeps } from '../../src/api/deps.js';
import { Locator } from '../../src/geo/locator.js';
import { SnapshotManager } from '../../src/snapshot/manager.js';
import { EmbeddedStore } from '../../src/store/embedded.js';
import { SharedState } from '../../src/store/shared-state.js';
import { StateCache } from '../../src/store/state-cache.js';
import type { ZoneSet } from '../../src/model/types.js';

export const silent = pino({ level: 'silent' });

export interface DepsOptions {
  apiToken?: string;
  coalesceMs?: number;
  locator?: Locator;
  notReadyReason?: () => string | undefined;
}

export async function makeApiDeps(zs: ZoneSet, opts: DepsOptions = {}): Promise<ApiDeps & { cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gslb-api-'));
  const store = new EmbeddedStore(dir, silent);
  const cache = new StateCache();
  let manager: SnapshotManager | undefined;
  const shared = new SharedState(store, cache, () => manager?.stateChanged(), silent);
  await shared.start();
  manager = new SnapshotManager(zs, {
    nodeId: 'test-node',
    locator: opts.locator ?? new Locator([]),
    cache,
    log: silent,
    coalesceMs: opts.coalesceMs ?? 60_000,
  });
  const m = manager;
  return {
    holder: m.holder,
    manager: m,
    shared,
    log: silent,
    apiToken: opts.apiToken,
    notReadyReason: opts.notReadyReason ?? (() => undefined),
    cleanup: async () => {
      m.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

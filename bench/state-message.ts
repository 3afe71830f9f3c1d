/**
 * What one --workers state message costs: the StateData a worker gets (N API regions, 4 endpoints each,
 * 3 probers per endpoint, a few drains, 200 learned latencies), structured-clone serialized as the cluster
 * channel sends it (`advanced` serialization), and the worker's side: deserialize, resync its StateCache,
 * rebuild its snapshot. Run: node --import tsx bench/state-message.ts [regions]
 */
import { deserialize, serialize } from 'node:v8';
import { pino } from 'pino';
import { Locator } from '../src/geo/locator.js';
import { loadZoneDir } from '../src/model/loader.js';
import { SnapshotManager } from '../src/snapshot/manager.js';
import { StateCache } from '../src/store/state-cache.js';
import { effectiveState } from '../src/store/state-view.js';
import { probeKey } from '../src/store/keys.js';
import { emptyState, type StateData } from '../src/store/types.js';

const regions = Number(process.argv[2] ?? 50);
const now = Date.now();
const data: StateData = emptyState();
for (let r = 0; r < regions; r++) {
  const name = `region-${r}`;
  const endpoints = Array.from({ length: 4 }, (_, e) => ({ address: `10.${r}.0.${e + 1}` }));
  data.regions.set(name, { name, location: { lat: r % 80, lon: r % 170 }, endpoints, services: ['app'], updatedAt: now });
  for (const ep of endpoints)
    for (const p of ['node-a', 'node-b', 'probe-1'])
      data.probes.set(probeKey(name, ep.address, p), { up: true, okStreak: 3, failStreak: 0, at: now, since: now - 60_000, transitions: 1, rttMs: 12 });
  if (r % 10 === 0) data.drains.set(name, { since: now, reason: 'maintenance' });
}
for (let i = 0; i < 200; i++) data.latency.set(`192.0.${i}.0/24|region-${i % regions}`, { client: `192.0.${i}.0/24`, region: `region-${i % regions}`, rttMs: 20, samples: 5, updatedAt: now });

const primary = new StateCache();
primary.apply({ kind: 'resync', data });
const zones = loadZoneDir('zones').zoneSet!;
const worker = new StateCache();
worker.apply({ kind: 'resync', data: emptyState() });
const mgr = new SnapshotManager(zones, { nodeId: 'bench/w1', locator: new Locator([]), cache: worker, log: pino({ level: 'silent' }) });

const rounds = 200;
let bytes = 0;
const t0 = performance.now();
for (let i = 0; i < rounds; i++) bytes = serialize({ type: 'state', data: effectiveState(primary) }).length;
const t1 = performance.now();
for (let i = 0; i < rounds; i++) {
  const m = deserialize(serialize({ type: 'state', data: effectiveState(primary) })) as { data: StateData };
  worker.apply({ kind: 'resync', data: m.data });
  mgr.rebuildState();
}
const t2 = performance.now();
mgr.stop();
const send = (t1 - t0) / rounds;
console.log(`${regions} regions, ${data.probes.size} probe states, ${data.drains.size} drains, ${data.latency.size} latencies`);
console.log(`message: ${bytes} bytes; primary (view + serialize): ${send.toFixed(3)} ms; worker (deserialize + resync + rebuild): ${((t2 - t1) / rounds - send).toFixed(3)} ms`);

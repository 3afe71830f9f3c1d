/** Applying store changes to a StateData: one place, so a committed batch lands in memory exactly as written. */
import { latencyKey } from './keys.js';
import type { StateData, StoreChange } from './types.js';

/** Maps copied, values shared: stored values are replaced, never mutated in place. */
export function cloneState(data: StateData): StateData {
  return { regions: new Map(data.regions), drains: new Map(data.drains), probes: new Map(data.probes), latency: new Map(data.latency), load: new Map(data.load) };
}

export function applyChange(data: StateData, c: StoreChange): void {
  switch (c.kind) {
    case 'region':
      if (c.registration) data.regions.set(c.name, c.registration);
      else data.regions.delete(c.name);
      return;
    case 'drain':
      if (c.drain) data.drains.set(c.name, c.drain);
      else data.drains.delete(c.name);
      return;
    case 'probes':
      for (const [k, s] of c.states) {
        if (s) data.probes.set(k, s);
        else data.probes.delete(k);
      }
      return;
    case 'latency':
      for (const v of c.values) data.latency.set(latencyKey(v), v);
      return;
    case 'load':
      for (const r of c.reports) data.load.set(r.region, r);
      return;
    case 'resync': {
      const next = cloneState(c.data);
      data.regions = next.regions;
      data.drains = next.drains;
      data.probes = next.probes;
      data.latency = next.latency;
      data.load = next.load;
      return;
    }
  }
}

/** StateData <-> JSON, for the embedded store's file and for full resyncs. */
import { latencyKey } from './keys.js';
import { emptyState, type StateData } from './types.js';

export interface StateFile {
  format: 1;
  regions: StateData['regions'] extends Map<string, infer V> ? V[] : never;
  drains: [string, StateData['drains'] extends Map<string, infer V> ? V : never][];
  probes: [string, StateData['probes'] extends Map<string, infer V> ? V : never][];
  latency: StateData['latency'] extends Map<string, infer V> ? V[] : never;
}

export function toFile(data: StateData): StateFile {
  return {
    format: 1,
    regions: [...data.regions.values()],
    drains: [...data.drains],
    probes: [...data.probes],
    latency: [...data.latency.values()],
  };
}

export function fromFile(raw: unknown): StateData {
  const f = raw as Partial<StateFile>;
  if (!f || typeof f !== 'object' || f.format !== 1) throw new Error('not a gslb state file (format 1)');
  const data = emptyState();
  for (const r of f.regions ?? []) data.regions.set(r.name, r);
  for (const [k, v] of f.drains ?? []) data.drains.set(k, v);
  for (const [k, v] of f.probes ?? []) data.probes.set(k, v);
  for (const l of f.latency ?? []) data.latency.set(latencyKey(l.client, l.region), l);
  return data;
}

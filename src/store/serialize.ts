/**
 * StateData <-> the embedded store's file (state.json). Reading it back validates: a file that is not a state
 * file (another format, entries that are not lists) is refused as a whole; a corrupt entry is reported (with
 * its path in the file, e.g. `probes[3]`, and the field) and skipped, and the rest loads.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { latencyKey } from './keys.js';
import { problemOf, readDrain, readLatency, readLoad, readProberState, readRegistration, type Read, type ReportCorrupt } from './records.js';
import { emptyState, type StateData } from './types.js';

export interface StateFile {
  format: 1;
  regions: StateData['regions'] extends Map<string, infer V> ? V[] : never;
  drains: [string, StateData['drains'] extends Map<string, infer V> ? V : never][];
  probes: [string, StateData['probes'] extends Map<string, infer V> ? V : never][];
  latency: StateData['latency'] extends Map<string, infer V> ? V[] : never;
  load?: StateData['load'] extends Map<string, infer V> ? V[] : never;
}

export function toFile(data: StateData): StateFile {
  return {
    format: 1,
    regions: [...data.regions.values()],
    drains: [...data.drains],
    probes: [...data.probes],
    latency: [...data.latency.values()],
    load: [...data.load.values()],
  };
}

const Format = Compile(Type.Object({ format: Type.Literal(1) }));
const Envelope = Compile(
  Type.Object({
    format: Type.Literal(1),
    regions: Type.Optional(Type.Array(Type.Unknown())),
    drains: Type.Optional(Type.Array(Type.Unknown())),
    probes: Type.Optional(Type.Array(Type.Unknown())),
    latency: Type.Optional(Type.Array(Type.Unknown())),
    load: Type.Optional(Type.Array(Type.Unknown())),
  }),
);
/** Drains and probe states are `[key, record]` pairs. */
const Pair = Compile(Type.Tuple([Type.String(), Type.Unknown()]));

/** Throws (the message names the field) when `raw` is not a state file; reports and skips corrupt entries. */
export function fromFile(raw: unknown, report: ReportCorrupt): StateData {
  if (!Format.Check(raw)) throw new Error('not a gslb state file (format 1)');
  if (!Envelope.Check(raw)) {
    const p = problemOf(Envelope, raw);
    throw new Error(`${p.field}: ${p.message}`);
  }
  const data = emptyState();
  const each = <V>(part: string, list: unknown[] | undefined, read: (v: unknown) => Read<V>, keep: (v: V) => void) =>
    list?.forEach((v, i) => {
      const r = read(v);
      if (r.problem) report(`${part}[${i}]`, r.problem, JSON.stringify(v));
      else keep(r.value);
    });
  /** A `[key, record]` entry, the record read with its key (a problem's field is the record's). */
  const pair =
    <V>(read: (key: string, v: unknown) => Read<V>) =>
    (e: unknown): Read<[string, V]> => {
      if (!Pair.Check(e)) return { problem: problemOf(Pair, e) };
      const r = read(e[0], e[1]);
      return r.problem ? { problem: r.problem } : { value: [e[0], r.value] };
    };
  each('regions', raw.regions, (v) => readRegistration(v), (r) => data.regions.set(r.name, r));
  each('drains', raw.drains, pair((_k, v) => readDrain(v)), ([k, d]) => data.drains.set(k, d));
  each('probes', raw.probes, pair(readProberState), ([k, s]) => data.probes.set(k, s));
  each('latency', raw.latency, (v) => readLatency(v), (l) => data.latency.set(latencyKey(l), l));
  each('load', raw.load, (v) => readLoad(v), (l) => data.load.set(l.region, l));
  return data;
}

/**
 * The schemas of what the stores keep, used on everything they read back (state.json, Redis hash values,
 * change notifications, script replies): a value is a record only once it validates, never by a cast. A
 * stored region's payload is checked by the same validator as API bodies (model/loader.ts readRegionJson).
 *
 * Records may carry properties this version does not know: nodes of two versions share one Redis during a
 * rolling upgrade, and an older node must not drop (nor, re-seeding, erase) what a newer one wrote.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { TLocalizedValidationError } from 'typebox/error';
import type { Logger } from 'pino';
import { readRegionJson } from '../model/loader.js';
import { latencyKey, parseProbeKey } from './keys.js';
import type { LearnedLatency, LoadReport, RegionRegistration } from './types.js';
import type { DrainRecord, ProberState } from '../health/probe-state.js';

/** What is wrong with a stored value: the dotted path inside it (`(value)`: the value as a whole) and why. */
export interface Problem {
  field: string;
  message: string;
}

export type Read<T> = { value: T; problem?: undefined } | { value?: undefined; problem: Problem };

/** What this file needs of a compiled TypeBox validator (its `Check` is a type guard). */
interface Checker<T> {
  Check(value: unknown): value is T;
  Errors(value: unknown): TLocalizedValidationError[];
}

/** The field of a value as a whole (not JSON, not an object, a key that does not match it). */
export const WHOLE = '(value)';

/** Milliseconds since the epoch, in the range a Date can show (the API prints them as ISO times). */
const Time = Type.Number({ minimum: 0, maximum: 8.64e15 });
const Count = Type.Integer({ minimum: 0 });

const DrainSchema = Compile(Type.Object({ since: Time, reason: Type.Optional(Type.String()) }));

const ProberStateSchemaObject = Type.Object({
  up: Type.Boolean(),
  okStreak: Count,
  failStreak: Count,
  at: Time,
  since: Time,
  // The Lua machine has always read a missing count as 0: so does this.
  transitions: Type.Optional(Count),
  rttMs: Type.Optional(Type.Number({ minimum: 0 })),
  rising: Type.Optional(Type.Literal(true)),
  lastError: Type.Optional(Type.String()),
  lastErrorAt: Type.Optional(Time),
});
const ProberStateSchema = Compile(ProberStateSchemaObject);

const LatencySchema = Compile(
  Type.Object({
    client: Type.String({ minLength: 1 }),
    region: Type.String({ minLength: 1 }),
    rttMs: Type.Number({ minimum: 0 }),
    samples: Type.Integer({ minimum: 1 }),
    updatedAt: Time,
    source: Type.Optional(Type.Literal('beacon')),
  }),
);

const LoadSchema = Compile(
  Type.Object({
    region: Type.String({ minLength: 1 }),
    utilization: Type.Number({ minimum: 0, maximum: 1 }),
    errorRatio: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    passive: Type.Optional(Type.Record(Type.String(), ProberStateSchemaObject)),
    at: Time,
  }),
);

/** A registration is its envelope plus the region body an API PUT carried (checked by readRegionJson). */
const RegistrationEnvelope = Compile(
  Type.Object({
    name: Type.String({ minLength: 1 }),
    services: Type.Array(Type.String()),
    updatedAt: Time,
  }),
);

/** `/endpoints/1/address` -> `endpoints[1].address`. */
function dotted(pointer: string): string {
  let out = '';
  for (const part of pointer.split('/').slice(1)) {
    const p = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  }
  return out;
}

/**
 * The most telling error of a value that failed: a wrong value before a missing one (a record with a bad
 * field is often missing others because of it), named by its path.
 */
export function problemOf<T>(schema: Checker<T>, value: unknown): Problem {
  const errors = schema.Errors(value);
  const first = errors.find((e) => e.keyword !== 'required') ?? errors[0];
  if (!first) return { field: WHOLE, message: 'does not validate' };
  const path = dotted(first.instancePath);
  if (first.keyword === 'required' && 'requiredProperties' in first.params && Array.isArray(first.params.requiredProperties)) {
    const missing = String(first.params.requiredProperties[0]);
    return { field: path === '' ? missing : `${path}.${missing}`, message: 'is missing' };
  }
  return { field: path || WHOLE, message: first.message };
}

/** `p`, found inside the part `prefix` of a larger value (a notification, a file entry). */
export function within(prefix: string, p: Problem): Problem {
  const field = p.field === WHOLE ? prefix : p.field.startsWith('[') ? `${prefix}${p.field}` : `${prefix}.${p.field}`;
  return { field, message: p.message };
}

export function parseJson(text: string): Read<unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return { value };
  } catch (err) {
    return { problem: { field: WHOLE, message: `is not JSON (${(err as Error).message})` } };
  }
}

/** Says that the entry `entry` (a hash field, a file path) could not be read, and what of it; it is then skipped. */
export type ReportCorrupt = (entry: string, problem: Problem, raw?: string) => void;

/**
 * Reports at warn, naming where the entry is: the state file, or the Redis key (a hash, or the channel of
 * change notifications), with the start of the value as it was read.
 */
export function warnCorrupt(log: Logger, where: { file: string } | { key: string }, what = 'corrupt stored entry skipped'): ReportCorrupt {
  return (entry, problem, raw) =>
    log.warn({ ...where, entry, field: problem.field, problem: problem.message, ...(raw !== undefined ? { value: raw.length > 200 ? `${raw.slice(0, 200)}…` : raw } : {}) }, what);
}

function check<T>(schema: Checker<T>, value: unknown): Read<T> {
  return schema.Check(value) ? { value } : { problem: problemOf(schema, value) };
}

export function readDrain(value: unknown): Read<DrainRecord> {
  return check(DrainSchema, value);
}

export function readProberState(key: string, value: unknown): Read<ProberState> {
  if (!parseProbeKey(key)) return { problem: { field: WHOLE, message: `"${key}" is not region|endpoint|prober` } };
  const r = check(ProberStateSchema, value);
  if (!r.value) return r;
  return { value: { ...r.value, transitions: r.value.transitions ?? 0 } };
}

/** `key`, when given, is where the value was filed: it must be the value's own (client|region). */
export function readLatency(value: unknown, key?: string): Read<LearnedLatency> {
  const r = check(LatencySchema, value);
  if (r.value && key !== undefined && latencyKey(r.value) !== key) {
    return { problem: { field: WHOLE, message: `filed under "${key}", not under its client|region[|beacon]` } };
  }
  return r;
}

/** `region`, when given, is where the value was filed: it must be the report's own region. */
export function readLoad(value: unknown, region?: string): Read<LoadReport> {
  const r = check(LoadSchema, value);
  if (!r.value) return r;
  if (region !== undefined && r.value.region !== region) return { problem: { field: 'region', message: `is "${r.value.region}", filed under "${region}"` } };
  const { passive, ...rest } = r.value;
  if (!passive) return { value: rest };
  const states: Record<string, ProberState> = {};
  for (const [service, s] of Object.entries(passive)) states[service] = { ...s, transitions: s.transitions ?? 0 };
  return { value: { ...rest, passive: states } };
}

/** `name`, when given, is where the value was filed: it must be the registration's own name. */
export function readRegistration(value: unknown, name?: string): Read<RegionRegistration> {
  if (!RegistrationEnvelope.Check(value)) return { problem: problemOf(RegistrationEnvelope, value) };
  if (name !== undefined && value.name !== name) return { problem: { field: 'name', message: `is "${value.name}", filed under "${name}"` } };
  const out: { problem?: Problem } = {};
  return hasRegionBody(value, out) ? { value } : { problem: out.problem ?? { field: WHOLE, message: 'is not a region registration' } };
}

/**
 * A type guard backed by the API's own validator: a registration whose region body (all but its envelope)
 * passes readRegionJson is a RegionRegistration. Why not, in `out`.
 */
function hasRegionBody(value: { name: string; services: string[]; updatedAt: number }, out: { problem?: Problem }): value is RegionRegistration {
  const { name, services: _s, updatedAt: _u, ...body } = value;
  const first = readRegionJson(name, body, 'api').errors[0];
  if (first) out.problem = { field: first.field || WHOLE, message: first.detail ?? first.message };
  return first === undefined;
}

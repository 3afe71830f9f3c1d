/**
 * The change notifications the Redis store publishes (and its scripts return): a StoreChange with the id of
 * the write that made it, or `reseeded`. Read back validated like stored entries (records.ts): a notification
 * that is not one is reported and ignored; a corrupt record inside one (a probe state of a batch) is reported
 * and left out, and the rest applies.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { parseJson, problemOf, readDrain, readLatency, readLoad, readProberState, readRegistration, within, type Problem, type Read, type ReportCorrupt } from './records.js';
import { StoreUnavailableError, type LearnedLatency, type LoadReport, type StoreChange } from './types.js';
import type { ProberState } from '../health/probe-state.js';

/** What a write publishes: any change but a resync (that one is made by reading). */
export type PublishedChange = Exclude<StoreChange, { kind: 'resync' }>;

export interface Notification {
  id?: string;
  change: PublishedChange | { kind: 'reseeded' };
}

const Head = Compile(Type.Object({ kind: Type.String(), id: Type.Optional(Type.String()) }));
const Named = Compile(Type.Object({ name: Type.String({ minLength: 1 }) }));
const States = Compile(Type.Object({ states: Type.Array(Type.Tuple([Type.String(), Type.Unknown()])) }));
const Values = Compile(Type.Object({ values: Type.Array(Type.Unknown()) }));
const Reports = Compile(Type.Object({ reports: Type.Array(Type.Unknown()) }));

function isKind<K extends PublishedChange['kind']>(c: Notification['change'] | undefined, kind: K): c is Extract<PublishedChange, { kind: K }> {
  return c?.kind === kind;
}

/**
 * The change a write script returned (and published): read back like a notification. A reply that is not
 * the change asked for cannot come from these scripts; it fails the call like any unreadable reply.
 */
export function scriptChange<K extends 'probes' | 'latency'>(reply: unknown, kind: K, report: ReportCorrupt): Extract<PublishedChange, { kind: K }> {
  const change = typeof reply === 'string' ? readNotification(reply, report)?.change : undefined;
  if (!isKind(change, kind)) throw new StoreUnavailableError(`redis: unexpected reply to a ${kind} write`);
  return change;
}

/** The JSON a write publishes for its change. */
export function published(change: PublishedChange, id: string): string {
  return JSON.stringify({ ...change, id });
}

/** `text` as a notification, or `undefined` (reported) when it is not one. */
export function readNotification(text: string, report: ReportCorrupt): Notification | undefined {
  const json = parseJson(text);
  if (json.problem) return void report('(notification)', json.problem, text);
  const msg = json.value;
  if (!Head.Check(msg)) return void report('(notification)', problemOf(Head, msg), text);
  const { kind, id } = msg;
  const withId = <C extends PublishedChange>(change: C): Notification => (id !== undefined ? { id, change } : { change });
  const bad = (p: Problem) => void report(kind, p, text);
  switch (kind) {
    case 'reseeded':
      return id !== undefined ? { id, change: { kind } } : bad({ field: 'id', message: 'is missing' });
    case 'region': {
      if (!Named.Check(msg)) return bad(problemOf(Named, msg));
      const raw = 'registration' in msg ? msg.registration : undefined;
      if (raw === null) return withId({ kind, name: msg.name, registration: null });
      const r = readRegistration(raw, msg.name);
      return r.problem ? bad(within('registration', r.problem)) : withId({ kind, name: msg.name, registration: r.value });
    }
    case 'drain': {
      if (!Named.Check(msg)) return bad(problemOf(Named, msg));
      const raw = 'drain' in msg ? msg.drain : undefined;
      if (raw === null) return withId({ kind, name: msg.name, drain: null });
      const r = readDrain(raw);
      return r.problem ? bad(within('drain', r.problem)) : withId({ kind, name: msg.name, drain: r.value });
    }
    case 'probes': {
      if (!States.Check(msg)) return bad(problemOf(States, msg));
      const state = ([key, s]: [string, unknown]): Read<[string, ProberState | null]> =>
        s === null ? { value: [key, null] } : mapRead(readProberState(key, s), (v): [string, ProberState | null] => [key, v], '[1]');
      const states = kept(msg.states, state, 'states', bad);
      return withId({ kind, states });
    }
    case 'latency': {
      if (!Values.Check(msg)) return bad(problemOf(Values, msg));
      return withId({ kind, values: kept<unknown, LearnedLatency>(msg.values, (v) => readLatency(v), 'values', bad) });
    }
    case 'load': {
      if (!Reports.Check(msg)) return bad(problemOf(Reports, msg));
      return withId({ kind, reports: kept<unknown, LoadReport>(msg.reports, (v) => readLoad(v), 'reports', bad) });
    }
    default:
      return bad({ field: 'kind', message: `"${kind}" is not a change` });
  }
}

/** `r`'s value through `f`; a problem is placed at `at` (the part of the item that was read). */
function mapRead<A, B>(r: Read<A>, f: (a: A) => B, at: string): Read<B> {
  return r.problem ? { problem: within(at, r.problem) } : { value: f(r.value) };
}

/** The items of a batch that read, each one that does not reported (with its index) and left out. */
function kept<I, V>(items: I[], read: (item: I) => Read<V>, part: string, bad: (p: Problem) => void): V[] {
  const out: V[] = [];
  items.forEach((item, i) => {
    const r = read(item);
    if (r.problem) bad(within(`${part}[${i}]`, r.problem));
    else out.push(r.value);
  });
  return out;
}

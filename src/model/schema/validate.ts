/**
 * Checking a plain value against one of the schemas, with messages for people: each problem is an Issue (the
 * path of the offending value and what is wrong with it) that the zone loader turns into `file:line: path:
 * message` and API code into `{ error, field }`. TypeBox's validator finds the problems; this module words
 * them from the schema that failed (its range, its annotations: see common.ts), so a message says what the
 * value must be rather than which keyword failed.
 */
import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { Settings } from 'typebox/system';
import { X_ERROR, X_UNKNOWN_KEY } from './common.js';

export type Path = readonly (string | number)[];

/** Where in a value: a path, and whether the key of its last element is meant rather than its value. */
export interface Place {
  path: Path;
  /** The key of the last path element (an unknown or badly named key) rather than its value. */
  at?: 'key';
}

export interface Issue extends Place {
  message: string;
  /** What to print before the message instead of the path (`service app.example.test`). */
  label?: string;
}

/** `records.www.A[0]`, `endpoints[1].address`. */
export function pathText(path: Path): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** True when `path` is `prefix` or below it. */
export function isUnder(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p);
}

/** Enough for any zone file a person writes; TypeBox stops at 8 by default. */
const MAX_ERRORS = 1000;

type SchemaObject = Record<string, unknown>;
interface RawError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: object;
  message: string;
}

/** Each schema compiled once (TypeBox's JIT: a large zone file is checked in milliseconds, not a second). */
const compiled = new WeakMap<TSchema, Validator>();
function validator(schema: TSchema): Validator {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = Compile(schema)));
  return v;
}

export function schemaIssues(schema: TSchema, value: unknown): Issue[] {
  if (validator(schema).Check(value)) return [];
  const errors = collectErrors(schema, value);
  const dropped = alternativesNotTaken(schema, value, errors);
  return errors.filter((e) => !dropped.has(e)).flatMap((e) => issuesOf(schema, value, e));
}

function collectErrors(schema: TSchema, value: unknown): RawError[] {
  const before = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: MAX_ERRORS });
  try {
    return validator(schema).Errors(value);
  } finally {
    Settings.Set({ maxErrors: before });
  }
}

const under = (pointer: string, prefix: string): boolean => pointer === prefix || pointer.startsWith(prefix + '/');

/**
 * An `anyOf` failed: every alternative did. Report only the alternative meant by the value's type (a list
 * for a list, a mapping for a mapping); when none is meant, one message for the whole `anyOf`. Returns the
 * errors not to report. (The same `anyOf` may fail for several list items: an alternative is identified by
 * its schema path and the value's instance path together.)
 */
function alternativesNotTaken(root: TSchema, value: unknown, errors: RawError[]): Set<RawError> {
  const notTaken: { schemaPath: string; instancePath: string }[] = [];
  const isNotTaken = (e: RawError): boolean => notTaken.some((n) => under(e.schemaPath, n.schemaPath) && under(e.instancePath, n.instancePath));
  const dropped = new Set<RawError>();
  // Outer alternatives first, so that an anyOf inside an alternative not taken is dropped with it.
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const e of anyOfs) {
    if (isNotTaken(e)) continue;
    const branches = (schemaAt(root, e.schemaPath)?.anyOf ?? []) as SchemaObject[];
    const chosen = chooseBranch(branches, locate(value, e.instancePath).value);
    branches.forEach((_, i) => {
      if (i !== chosen) notTaken.push({ schemaPath: `${e.schemaPath}/anyOf/${i}`, instancePath: e.instancePath });
    });
    if (chosen !== undefined) dropped.add(e);
  }
  for (const e of errors) if (isNotTaken(e)) dropped.add(e);
  return dropped;
}

function chooseBranch(branches: SchemaObject[], value: unknown): number | undefined {
  const t = jsonType(value);
  const direct = branches.findIndex((b) => typesOf(b, false).has(t));
  if (direct >= 0) return direct;
  const nested = branches.findIndex((b) => typesOf(b, true).has(t));
  return nested >= 0 ? nested : undefined;
}

/** JSON types a schema accepts (`integer` counted as `number`), looking into nested `anyOf` when `deep`. */
function typesOf(s: SchemaObject, deep: boolean): Set<string> {
  const out = new Set<string>();
  const add = (t: unknown): void => {
    if (typeof t === 'string') out.add(t === 'integer' ? 'number' : t);
  };
  if (Array.isArray(s.type)) s.type.forEach(add);
  else add(s.type);
  if (Array.isArray(s.enum)) for (const v of s.enum) out.add(jsonType(v));
  if (deep && Array.isArray(s.anyOf)) for (const b of s.anyOf as SchemaObject[]) for (const t of typesOf(b, true)) out.add(t);
  return out;
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v;
}

function issuesOf(root: TSchema, value: unknown, e: RawError): Issue[] {
  const schema = schemaAt(root, e.schemaPath) ?? {};
  const { path, value: at } = locate(value, e.instancePath);
  switch (e.keyword) {
    case 'boolean':
      // `additionalProperties: false` reports each extra key as a false schema, and then all of them at once:
      // the latter is used, below.
      return e.schemaPath.endsWith('/additionalProperties') ? [] : [{ path, message: messageFor(schema, e.keyword, at, e.message) }];
    case 'additionalProperties': {
      const keys = (e.params as { additionalProperties?: string[] }).additionalProperties ?? [];
      // Printed as the mapping's problem (`regions.r: unknown key "wieght"`), at the key's line.
      return keys.map((key) => ({ path: [...path, key], at: 'key' as const, label: pathText(path), message: unknownKeyMessage(schema, key) }));
    }
    case 'required': {
      const keys = (e.params as { requiredProperties?: string[] }).requiredProperties ?? [];
      const props = (schema.properties ?? {}) as Record<string, SchemaObject>;
      return keys.map((key) => {
        const hint = props[key]?.description;
        return { path, message: `missing required key "${key}"${typeof hint === 'string' ? ` (${hint})` : ''}` };
      });
    }
    default:
      return [{ path, message: messageFor(schema, e.keyword, at, e.message) }];
  }
}

function unknownKeyMessage(schema: SchemaObject, key: string): string {
  const custom = schema[X_UNKNOWN_KEY];
  if (typeof custom === 'string') return custom.replaceAll('{key}', key);
  // A property whose schema is `not` (never valid) is there for its message only, not an allowed key.
  const allowed = Object.entries((schema.properties ?? {}) as Record<string, SchemaObject>).filter(([, s]) => !('not' in s));
  return `unknown key "${key}" (allowed: ${allowed.map(([k]) => k).join(', ')})`;
}

function messageFor(schema: SchemaObject, keyword: string, value: unknown, fallback: string): string {
  const custom = schema[X_ERROR];
  const chosen = typeof custom === 'string' ? custom : custom && typeof custom === 'object' ? (custom as Record<string, unknown>)[keyword] : undefined;
  if (typeof chosen === 'string') return chosen.replaceAll('{value}', typeof value === 'string' ? value : JSON.stringify(value));
  const shape = describe(schema, keyword);
  return shape === undefined ? fallback : `must be ${shape}`;
}

/** What a value must be, after "must be ", from its schema; undefined when the schema says nothing simple. */
function describe(s: SchemaObject, keyword: string): string | undefined {
  const n = (k: string): number | undefined => (typeof s[k] === 'number' ? s[k] : undefined);
  switch (s.type) {
    case 'integer':
    case 'number': {
      const [min, max] = [n('minimum'), n('maximum')];
      const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` >= ${min}` : max !== undefined ? ` <= ${max}` : '';
      return `${s.type === 'integer' ? 'an integer' : 'a number'}${range}`;
    }
    case 'string':
      if (keyword === 'maxLength') return `at most ${n('maxLength')} characters long`;
      if (keyword === 'pattern') return `text matching ${String(s.pattern)}`;
      return (n('minLength') ?? 0) > 0 ? 'a non-empty string' : 'a string';
    case 'object':
      if (keyword === 'minProperties') return 'a mapping with at least one key';
      if (keyword === 'maxProperties') return `a mapping with at most ${n('maxProperties')} keys`;
      return 'a mapping';
    case 'array':
      if (keyword === 'minItems') return `a list of at least ${n('minItems')}`;
      if (keyword === 'maxItems') return `a list of at most ${n('maxItems')}`;
      return 'a list';
    case 'boolean':
      return 'true or false';
  }
  if (Array.isArray(s.enum)) return `one of: ${s.enum.map(String).join(', ')}`;
  if (Array.isArray(s.anyOf)) {
    const each = (s.anyOf as SchemaObject[]).map((b) => describe(b, 'type'));
    return each.every((d) => d !== undefined) ? each.join(' or ') : undefined;
  }
  return undefined;
}

/** The subschema a TypeBox `schemaPath` (a JSON pointer from the root, `#/properties/check`) names. */
function schemaAt(root: TSchema, pointer: string): SchemaObject | undefined {
  let at: unknown = root;
  for (const segment of segments(pointer.replace(/^#/, ''))) {
    if (!at || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[segment];
  }
  return at && typeof at === 'object' ? (at as SchemaObject) : undefined;
}

/** The value an `instancePath` (JSON pointer) names, and its path (list indexes as numbers). */
function locate(root: unknown, pointer: string): { path: (string | number)[]; value: unknown } {
  const path: (string | number)[] = [];
  let at = root;
  for (const segment of segments(pointer)) {
    if (Array.isArray(at)) {
      path.push(Number(segment));
      at = at[Number(segment)] as unknown;
    } else {
      path.push(segment);
      at = at && typeof at === 'object' ? (at as Record<string, unknown>)[segment] : undefined;
    }
  }
  return { path, value: at };
}

function segments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

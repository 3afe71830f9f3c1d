/**
 * Reading a plain value (a zone file's document, an API body, a value read back from a store) after its schema
 * was checked: each part is an Input that knows its path and whether the schema accepted it, so the rules
 * that JSON Schema cannot say (validators in this folder) run only on parts that are well-formed, and report
 * their own problems with a path. Nothing here knows about YAML, lines or HTTP.
 */
import type { Static, TSchema } from 'typebox';
import { isUnder, pathText, schemaIssues, type Issue, type Path } from './schema/validate.js';
import type { ConfigError } from './types.js';

export type { Issue, Path, Place } from './schema/validate.js';

/** Every problem found in one value, by its schema or by a rule, in the order they were found. */
export class Report {
  private readonly found: (Issue & { fromSchema: boolean })[] = [];

  get issues(): readonly Issue[] {
    return this.found;
  }

  /** The schema's problems with `value` (found at `at`, for values checked on their own, like MX strings). */
  checkSchema(schema: TSchema, value: unknown, at: Path = []): void {
    for (const i of schemaIssues(schema, value)) this.found.push({ ...i, path: [...at, ...i.path], fromSchema: true });
  }

  add(issue: Issue): undefined {
    this.found.push({ ...issue, fromSchema: false });
    return undefined;
  }

  /** Nothing the schema found at or under `path`. */
  wellFormed(path: Path): boolean {
    return !this.found.some((i) => i.fromSchema && isUnder(i.path, path));
  }

  /** Nothing at all found at or under `path`. */
  clean(path: Path): boolean {
    return !this.found.some((i) => isUnder(i.path, path));
  }
}

/** Issues as the API reports them (no file, no line): `field` is the path, `detail` the message alone. */
export function issueErrors(report: Report, source: string): ConfigError[] {
  return report.issues.map((i) => {
    const field = i.label ?? pathText(i.path);
    return { file: source, line: 0, message: field ? `${field}: ${i.message}` : i.message, field, detail: i.message };
  });
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Input {
  constructor(
    readonly value: unknown,
    readonly path: Path,
    readonly report: Report,
  ) {}

  /** A checked value from the start: `schema` is checked against `value` now. */
  static checked(schema: TSchema, value: unknown, report = new Report()): Input {
    report.checkSchema(schema, value);
    return new Input(value, [], report);
  }

  get present(): boolean {
    return this.value !== undefined;
  }

  /** The schema found nothing wrong here or below. */
  get wellFormed(): boolean {
    return this.report.wellFormed(this.path);
  }

  /** Neither the schema nor a rule found anything wrong here or below. */
  get clean(): boolean {
    return this.report.clean(this.path);
  }

  /** The child at `key`; its value is undefined when absent (or when this is not a mapping or list). */
  at(key: string | number): Input {
    const v = this.value;
    const child = typeof key === 'number' ? (Array.isArray(v) ? (v[key] as unknown) : undefined) : isMapping(v) ? v[key] : undefined;
    return new Input(child, [...this.path, key], this.report);
  }

  /**
   * This value, typed by `schema`, when present and well-formed. `schema` must be the one this part was
   * checked against (the type is only as true as that).
   */
  as<S extends TSchema>(_schema: S): Static<S> | undefined {
    return this.present && this.wellFormed ? (this.value as Static<S>) : undefined;
  }

  string(): string | undefined {
    return typeof this.value === 'string' && this.wellFormed ? this.value : undefined;
  }

  number(): number | undefined {
    return typeof this.value === 'number' && this.wellFormed ? this.value : undefined;
  }

  /** The items of a list; a lone value is a list of one (the schemas' OneOrMany); nothing when absent. */
  items(): Input[] {
    if (Array.isArray(this.value)) return this.value.map((_, i) => this.at(i));
    return this.present ? [this] : [];
  }

  /** The keys of a mapping, in order, each with its value. */
  entries(): [string, Input][] {
    return isMapping(this.value) ? Object.keys(this.value).map((k) => [k, this.at(k)]) : [];
  }

  has(key: string): boolean {
    return isMapping(this.value) && this.value[key] !== undefined;
  }

  /** A problem a rule found with this value (or with its key, `at: 'key'`). Returns undefined for `return x.issue(...)`. */
  issue(message: string, opts: { at?: 'key'; label?: string } = {}): undefined {
    return this.report.add({ path: this.path, message, ...opts });
  }
}

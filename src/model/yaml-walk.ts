/**
 * Typed reading of a YAML document with errors that carry the line of the offending node. The loader
 * validates by walking YAML nodes (not plain JS values) precisely so that every message can say `file:line`.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigError } from './types.js';

export interface Entry {
  keyNode: Node | null;
  value: Node | null;
}

export class YamlReader {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly errors: ConfigError[],
  ) {}

  lineOf(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  error(node: Node | null | undefined, path: string, message: string): undefined {
    this.errors.push({ file: this.file, line: this.lineOf(node), message: path ? `${path}: ${message}` : message, field: path, detail: message });
    return undefined;
  }

  private resolve(node: Node | null | undefined): Node | null {
    if (node && isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return node ?? null;
  }

  /** Map entries by key; unknown keys are errors naming the key and what is allowed. */
  map(node: Node | null | undefined, path: string, allowed?: readonly string[]): Map<string, Entry> | undefined {
    const n = this.resolve(node);
    if (!n || !isMap(n)) return this.error(n ?? node, path, 'must be a mapping');
    const out = new Map<string, Entry>();
    for (const pair of n.items) {
      const keyNode = (pair.key as Node | null) ?? null;
      const key = keyNode && isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined) {
        this.error(keyNode ?? n, path, 'keys must be plain strings');
        continue;
      }
      if (allowed && !allowed.includes(key)) {
        this.error(keyNode, path, `unknown key "${key}" (allowed: ${allowed.join(', ')})`);
        continue;
      }
      out.set(key, { keyNode, value: this.resolve(pair.value as Node | null) });
    }
    return out;
  }

  /** A sequence; with `scalarAsOne`, a lone scalar counts as a list of one. */
  seq(node: Node | null | undefined, path: string, scalarAsOne = false): Node[] | undefined {
    const n = this.resolve(node);
    if (n && isSeq(n)) return n.items.map((i) => this.resolve(i as Node)).filter((i): i is Node => i !== null);
    if (scalarAsOne && n && isScalar(n)) return [n];
    return this.error(n ?? node, path, 'must be a list');
  }

  isSeq(node: Node | null | undefined): boolean {
    const n = this.resolve(node);
    return n !== null && isSeq(n);
  }

  isMap(node: Node | null | undefined): boolean {
    const n = this.resolve(node);
    return n !== null && isMap(n);
  }

  scalar(node: Node | null | undefined): unknown {
    const n = this.resolve(node);
    return n && isScalar(n) ? n.value : undefined;
  }

  string(node: Node | null | undefined, path: string): string | undefined {
    const v = this.scalar(node);
    if (typeof v === 'string' && v.length > 0) return v;
    return this.error(node, path, 'must be a non-empty string');
  }

  /** Strings, numbers and booleans as text (TXT data, CAA values). */
  text(node: Node | null | undefined, path: string): string | undefined {
    const v = this.scalar(node);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    return this.error(node, path, 'must be a string');
  }

  number(
    node: Node | null | undefined,
    path: string,
    opts: { min?: number; max?: number; integer?: boolean } = {},
  ): number | undefined {
    const v = this.scalar(node);
    const { min = -Infinity, max = Infinity, integer = false } = opts;
    const kind = integer ? 'an integer' : 'a number';
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      const range = min > -Infinity && max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` >= ${min}` : '';
      return this.error(node, path, `must be ${kind}${range}`);
    }
    return v;
  }
}

/**
 * A YAML file as a plain value plus the way back from a path in that value to the line it was written on, so
 * problems found in the value (by a schema or a rule) are reported as `file:line: path: message`.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { pathText, type Issue, type Place } from './schema/validate.js';
import type { ConfigError } from './types.js';

export class YamlFile {
  private constructor(
    readonly file: string,
    readonly value: unknown,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The file's value, or its syntax errors (and keys that are not plain scalars) at their lines. */
  static parse(file: string, text: string): { yaml?: YamlFile; errors: ConfigError[] } {
    const lines = new LineCounter();
    // Duplicate keys are found below, in one pass: the parser's own check compares each key with every earlier
    // one, which made a 10 000-name file take seconds longer to read.
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
    // `linePos` is only filled in when prettyErrors is on, so the line comes from the error's offset.
    const at = (offset: number | undefined): number => (offset === undefined ? 1 : lines.linePos(offset).line);
    const errors: ConfigError[] = doc.errors.map((e) => ({ file, line: at(e.pos[0]), message: e.message.split('\n')[0] ?? e.message }));
    if (errors.length > 0) return { errors };
    visit(doc, {
      Map(_, map) {
        const seen = new Set<string>();
        for (const pair of map.items) {
          const key = pair.key as Node | null;
          if (key && !isScalar(key)) errors.push({ file, line: at(key.range?.[0]), message: 'keys must be plain strings' });
          if (!isScalar(key)) continue;
          // Stricter than YAML, for which 1 and "1" are two keys: in the value they are one, and the second
          // would silently replace the first.
          const id = String(key.value);
          if (seen.has(id)) errors.push({ file, line: at(key.range?.[0]), message: 'Map keys must be unique' });
          seen.add(id);
        }
      },
    });
    if (errors.length > 0) return { errors };
    try {
      return { yaml: new YamlFile(file, doc.toJS(), doc, lines), errors };
    } catch (err) {
      // Too many aliases (a "billion laughs" document) or an alias to nothing.
      return { errors: [{ file, line: 1, message: (err as Error).message }] };
    }
  }

  /** The line of the value (or key) at `place`; of the nearest enclosing node written when it is absent. */
  line(place: Place): number {
    let node = this.resolve(this.doc.contents);
    let found: Node | null = node;
    for (const [i, segment] of place.path.entries()) {
      if (node && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        if (i === place.path.length - 1 && place.at === 'key') {
          found = pair.key as Node;
          break;
        }
        node = this.resolve(pair.value as Node | null);
      } else if (node && isSeq(node) && typeof segment === 'number') {
        node = this.resolve((node.items[segment] as Node | undefined) ?? null);
      } else break;
      if (!node) break;
      found = node;
    }
    const offset = found?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  errorOf(issue: Issue): ConfigError {
    const field = issue.label ?? pathText(issue.path);
    return {
      file: this.file,
      line: this.line(issue),
      message: field ? `${field}: ${issue.message}` : issue.message,
      field,
      detail: issue.message,
    };
  }

  private resolve(node: Node | null): Node | null {
    if (node && isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return node;
  }
}

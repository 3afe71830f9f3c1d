/**
 * Names in zone files. Keys under `records` and `services` are relative to the zone ("@" is the apex, a
 * trailing dot makes a name absolute). Names inside record data (CNAME/NS/MX/SRV targets, SOA, `ns`) are
 * absolute when they contain a dot (the contract writes `ns1.gslb.example.test` without a trailing one),
 * relative when they are a single label, and "@" is the apex.
 */
import { canonical, isInZone, nameProblem } from '../wire/name.js';
import type { Input, Place } from './input.js';

export class NameResolver {
  constructor(readonly apex: string) {}

  /** Owner names: relative unless they end with a dot. */
  owner(text: string): string {
    if (text === '@') return this.apex;
    if (text.endsWith('.')) return canonical(text);
    return canonical(text) + '.' + this.apex;
  }

  /** Names in record data: absolute when they end with a dot or contain one; a single label is relative. */
  target(text: string): string {
    if (text === '@') return this.apex;
    if (text.endsWith('.') || text.includes('.')) return canonical(text);
    return canonical(text) + '.' + this.apex;
  }
}

/** The canonical owner name of the entry `entry` (its key is the name), or undefined after reporting why not. */
export function ownerName(entry: Input, key: string, names: NameResolver, allowWildcard: boolean): string | undefined {
  const name = names.owner(key);
  if (!isInZone(name, names.apex)) return entry.issue(`name ${name} is outside the zone ${names.apex}`, { at: 'key' });
  const problem = nameProblem(name, allowWildcard);
  if (problem) return entry.issue(`name "${key}" ${problem}`, { at: 'key' });
  return name;
}

/** A name in record data, canonical ("" for the root, as in the null MX "0 ."), or undefined after reporting why not. */
export function targetName(input: Input, names: NameResolver): string | undefined {
  const text = input.string();
  if (text === undefined) return undefined;
  const name = names.target(text);
  const problem = name === '' ? undefined : nameProblem(name);
  if (problem) return input.issue(`"${text}" ${problem}`);
  return name;
}

/** The zone's own name (`zone:`): not the root, and a valid name. */
export function apexName(input: Input): string | undefined {
  const text = input.string();
  if (text === undefined) return undefined;
  const apex = canonical(text);
  const problem = apex === '' ? 'must not be the root' : nameProblem(apex);
  if (problem) return input.issue(`"${text}" ${problem}`);
  return apex;
}

/**
 * The owner names of one zone, each with where it was first written (the key of its entry, or `zone:` for the
 * apex), so a second one is reported as a duplicate.
 */
export class OwnerNames {
  private readonly first = new Map<string, Place>();
  constructor(private readonly lineOf: (place: Place) => number) {}

  /** The apex is written once, by `zone:`; records may sit there beside the SOA and NS. */
  setApex(apex: string, zone: Input): void {
    this.first.set(apex, { path: zone.path });
  }

  /** Claim `name` for the entry `entry`; false, after reporting the duplicate, when another entry has it. */
  claim(name: string, entry: Input): boolean {
    const first = this.first.get(name);
    if (first) return entry.issue(`duplicate name ${name} (also on line ${this.lineOf(first)})`, { at: 'key' }) ?? false;
    this.first.set(name, { path: entry.path, at: 'key' });
    return true;
  }

  place(name: string): Place | undefined {
    return this.first.get(name);
  }
}

/** The zone's SOA (`soa:`) and name servers (`ns:`): schemas in schema/soa.ts and schema/zone.ts; names are rules. */
import { DEFAULTS } from './defaults.js';
import type { Input } from './input.js';
import { targetName, type NameResolver } from './names.js';
import { SoaSchema } from './schema/soa.js';
import type { Soa } from './types.js';

export function readSoa(input: Input, names: NameResolver): Soa | undefined {
  const mname = targetName(input.at('mname'), names);
  const rname = targetName(input.at('rname'), names);
  const s = input.as(SoaSchema);
  if (!s || mname === undefined || rname === undefined) return undefined;
  const t = DEFAULTS.soa;
  return { mname, rname, serial: s.serial, refresh: s.refresh ?? t.refresh, retry: s.retry ?? t.retry, expire: s.expire ?? t.expire, minimum: s.minimum ?? t.minimum };
}

/** The apex NS targets; the schema already wants at least one. */
export function readNs(input: Input, names: NameResolver): string[] {
  return input.items().flatMap((item) => targetName(item, names) ?? []);
}

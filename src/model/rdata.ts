/**
 * Record data of each type, from one list item of a record node (schema/records.ts): address syntax, names,
 * and the presentation form of MX, SRV and CAA (`10 mail.example.org.`), which is split into the fields of
 * the mapping form and checked against the same schema, so both forms get the same messages.
 */
import { RRType } from '../wire/constants.js';
import { canonicalIpv6, ipFamily } from '../wire/ip.js';
import { txtChunks, type RecordData } from '../wire/records.js';
import { Input } from './input.js';
import { targetName, type NameResolver } from './names.js';
import { CaaSchema, MxSchema, SrvSchema, type RecordTypeName } from './schema/records.js';

export function readRdata(type: RecordTypeName, item: Input, names: NameResolver): RecordData | undefined {
  switch (type) {
    case 'A':
    case 'AAAA': {
      const v = item.string();
      if (v === undefined) return undefined;
      const want = type === 'A' ? 4 : 6;
      // node:net accepts a scope id (fe80::1%eth0), which has no meaning in DNS data.
      if (ipFamily(v) !== want || v.includes('%')) return item.issue(`"${v}" is not an IPv${want} address`);
      // AAAA in RFC 5952 form, so that two spellings of one address are seen as the duplicate they are.
      return type === 'A' ? { type: RRType.A, address: v } : { type: RRType.AAAA, address: canonicalIpv6(v) };
    }
    case 'CNAME':
    case 'NS': {
      const target = targetName(item, names);
      return target === undefined ? undefined : { type: type === 'NS' ? RRType.NS : RRType.CNAME, target };
    }
    case 'TXT': {
      if (!item.wellFormed) return undefined;
      const texts = Array.isArray(item.value) ? (item.value as unknown[]) : [item.value];
      return { type: RRType.TXT, strings: texts.flatMap((t) => txtChunks(String(t))) };
    }
    case 'MX': {
      const f = fields(item, MxSchema);
      const exchange = f && targetName(f.at('exchange'), names);
      const m = f?.as(MxSchema);
      return m && exchange !== undefined ? { type: RRType.MX, preference: m.preference, exchange } : undefined;
    }
    case 'SRV': {
      const f = fields(item, SrvSchema);
      const target = f && targetName(f.at('target'), names);
      const s = f?.as(SrvSchema);
      return s && target !== undefined ? { type: RRType.SRV, priority: s.priority, weight: s.weight, port: s.port, target } : undefined;
    }
    case 'CAA': {
      const c = fields(item, CaaSchema)?.as(CaaSchema);
      return c ? { type: RRType.CAA, flags: c.flags, tag: c.tag.toLowerCase(), value: Buffer.from(String(c.value), 'utf8') } : undefined;
    }
  }
}

/**
 * Structured rdata as an Input over its fields: the mapping as written, or the presentation string split into
 * them (and then checked against `schema`, at the string's path, so that errors point at its line).
 */
function fields(item: Input, schema: typeof MxSchema | typeof SrvSchema | typeof CaaSchema): Input | undefined {
  if (!item.wellFormed) return undefined;
  if (typeof item.value !== 'string') return item;
  const keys = Object.keys(schema.properties);
  const parts = splitPresentation(item.value, keys.length);
  if (!parts) return item.issue(`"${item.value}" must have ${keys.length} fields: ${keys.join(' ')}`);
  const value = Object.fromEntries(keys.map((k, i) => [k, /^\d+$/.test(parts[i]!) ? Number(parts[i]) : parts[i]]));
  item.report.checkSchema(schema, value, item.path);
  return new Input(value, item.path, item.report);
}

function splitPresentation(text: string, count: number): string[] | undefined {
  const parts: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) parts.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return parts.length === count ? parts : undefined;
}

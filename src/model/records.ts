/**
 * Static records (`records:`): each key an owner name, each value a record node (schema/records.ts) read into
 * resource records. The rules here: owner names, one name per entry, CNAME alone and not at the apex, the
 * apex NS set only from `ns`, no duplicate records in an RRset.
 */
import type { RecordData, ResourceRecord } from '../wire/records.js';
import type { Input } from './input.js';
import { ownerName, type NameResolver, type OwnerNames } from './names.js';
import { readRdata } from './rdata.js';
import { RECORD_TYPES } from './schema/records.js';

export interface RecordsContext {
  names: NameResolver;
  zoneTtl: number;
  /** Where each owner name (and service name) was first written, for "duplicate name" messages. */
  owners: OwnerNames;
  out: ResourceRecord[];
}

export function readRecords(records: Input, ctx: RecordsContext): void {
  for (const [key, node] of records.entries()) {
    const owner = ownerName(node, key, ctx.names, true);
    if (owner === undefined) continue;
    if (owner !== ctx.names.apex && !ctx.owners.claim(owner, node)) continue;
    readRecordNode(node, owner, ctx);
  }
}

function readRecordNode(node: Input, owner: string, ctx: RecordsContext): void {
  const ttl = node.at('ttl').number() ?? ctx.zoneTtl;
  const types = RECORD_TYPES.filter((t) => node.has(t));
  if (owner === ctx.names.apex && types.includes('NS')) node.at('NS').issue('the apex name servers are the top-level "ns" key', { at: 'key' });
  if (types.includes('CNAME') && types.length > 1) return node.at('CNAME').issue('a CNAME cannot stand beside other data at the same name', { at: 'key' });
  if (types.includes('CNAME') && owner === ctx.names.apex) return node.at('CNAME').issue('a CNAME cannot be at the zone apex (it has SOA and NS)', { at: 'key' });
  for (const type of types) {
    if (type === 'NS' && owner === ctx.names.apex) continue;
    const seen = new Set<string>();
    for (const item of node.at(type).items()) {
      const data = readRdata(type, item, ctx.names);
      if (!data) continue;
      const key = rdataKey(data);
      if (seen.has(key)) {
        item.issue('duplicate record (an RRset holds each value once)');
        continue;
      }
      seen.add(key);
      ctx.out.push({ name: owner, ttl, data });
    }
  }
}

/** Identity of a record's data, for spotting duplicates in an RRset (Buffers compared by content). */
function rdataKey(data: RecordData): string {
  return Object.values(data)
    .map((v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : Array.isArray(v) ? v.map((b: Buffer) => b.toString('hex')).join(',') : String(v)))
    .join(' ');
}

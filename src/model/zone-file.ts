/**
 * One zone file's document (schema/zone.ts), already checked against its schema, read into a zone and the
 * regions, latency entries and service references it adds to the zone set (checked together in semantics.ts).
 */
import { RRType } from '../wire/constants.js';
import type { ResourceRecord } from '../wire/records.js';
import { DEFAULTS } from './defaults.js';
import type { Input, Path, Place } from './input.js';
import { readLatency } from './latency.js';
import { apexName, NameResolver, OwnerNames, ownerName } from './names.js';
import { readRecords } from './records.js';
import { readRegion } from './regions.js';
import { readService, type ServiceRead } from './services.js';
import { readNs, readSoa } from './soa.js';
import { readZoneDnssec } from './zone-dnssec.js';
import type { LatencyEntry, Region, Service, Zone } from './types.js';

export interface ZoneFileParts {
  /** Undefined when the zone itself (name, SOA) cannot be read. */
  zone?: Zone;
  owners?: OwnerNames;
  regions: { region: Region; path: Path }[];
  /** Every region name written, valid or not: a region with its own errors is still "declared", so services
   * and latency entries naming it do not get a second, false "not declared" error. */
  regionNames: string[];
  latency: { entry: LatencyEntry; path: Path }[];
  services: { name: string; refs: ServiceRead['refs'] }[];
}

export function readZoneFile(root: Input, file: string, line: (place: Place) => number): ZoneFileParts {
  const parts: ZoneFileParts = { regions: [], regionNames: [], latency: [], services: [] };
  for (const [name, node] of root.at('regions').entries()) {
    parts.regionNames.push(name);
    const region = readRegion(name, node, `${file}:${line({ path: node.path, at: 'key' })}`);
    if (region) parts.regions.push({ region, path: node.path });
  }
  const latency = root.at('latency');
  for (const item of Array.isArray(latency.value) ? latency.items() : []) {
    const entry = readLatency(item);
    if (entry) parts.latency.push({ entry, path: item.path });
  }

  const zoneName = root.at('zone');
  const apex = apexName(zoneName);
  if (apex === undefined) return parts;
  const names = new NameResolver(apex);
  const ttl = root.at('ttl').number() ?? DEFAULTS.zoneTtl;
  const soa = readSoa(root.at('soa'), names);
  const ns = readNs(root.at('ns'), names);
  const records: ResourceRecord[] = [];
  if (soa) records.push({ name: apex, ttl, data: { type: RRType.SOA, ...soa } });
  for (const target of ns) records.push({ name: apex, ttl, data: { type: RRType.NS, target } });
  const owners = new OwnerNames(line);
  owners.setApex(apex, zoneName);
  readRecords(root.at('records'), { names, zoneTtl: ttl, owners, out: records });

  const services: Service[] = [];
  for (const [key, node] of root.at('services').entries()) {
    const name = ownerName(node, key, names, false);
    if (name === undefined || !owners.claim(name, node)) continue;
    const read = readService(node, name, apex);
    if (read.service) services.push(read.service);
    parts.services.push({ name, refs: read.refs });
  }
  const dnssec = root.has('dnssec') ? readZoneDnssec(root.at('dnssec')) : undefined;
  if (soa) parts.zone = { apex, file, ttl, soa, ns, records, services, ...(dnssec ? { dnssec } : {}) };
  parts.owners = owners;
  return parts;
}

/** Checks that need the whole zone set: duplicates across files, references, delegations, glue, CNAME loops. */
import type { Node } from 'yaml';
import { RRType } from '../wire/constants.js';
import { isInZone } from '../wire/name.js';
import type { LatencyEntry, Region, Service, Zone } from './types.js';
import type { YamlReader } from './yaml-walk.js';

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- T names what was located, for the reader of `Located<Zone>`
interface Located<T> {
  reader: YamlReader;
  node: Node | null;
}

export interface ZoneSetParts {
  /** `owners`: the key node of each owner name, `nsNode`: the top-level `ns` value, for `file:line` of data errors. */
  zones: (Located<Zone> & { zone: Zone; owners: ReadonlyMap<string, Node | null>; nsNode: Node | null })[];
  regions: (Located<Region> & { region: Region })[];
  /** Every region name declared anywhere, including regions rejected for their own errors. */
  regionNames: ReadonlySet<string>;
  latency: (Located<LatencyEntry> & { entry: LatencyEntry })[];
  services: { service: Service; reader: YamlReader; nodes: (Node | null)[] }[];
}

export function checkZoneSet(parts: ZoneSetParts): void {
  const apexes = new Map<string, Located<Zone>>();
  for (const z of parts.zones) {
    const first = apexes.get(z.zone.apex);
    if (first) z.reader.error(z.node, 'zone', `zone ${z.zone.apex} is already defined in ${first.reader.file}:${first.reader.lineOf(first.node)}`);
    else apexes.set(z.zone.apex, z);
    checkZoneData(z.zone, z.reader, z.node, z.owners, z.nsNode);
  }
  const regions = new Map<string, Located<Region>>();
  for (const r of parts.regions) {
    const first = regions.get(r.region.name);
    if (first)
      r.reader.error(r.node, `regions.${r.region.name}`, `region "${r.region.name}" is already declared in ${first.reader.file}:${first.reader.lineOf(first.node)} (regions are global)`);
    else regions.set(r.region.name, r);
  }
  for (const s of parts.services) {
    s.service.regions.forEach((name, i) => {
      if (!parts.regionNames.has(name)) s.reader.error(s.nodes[i], `service ${s.service.name}`, `region "${name}" is not declared in any zone file`);
    });
  }
  for (const l of parts.latency) {
    if (!parts.regionNames.has(l.entry.region)) l.reader.error(l.node, 'latency', `region "${l.entry.region}" is not declared in any zone file`);
  }
}

function checkZoneData(zone: Zone, r: YamlReader, node: Node | null, owners: ReadonlyMap<string, Node | null>, nsNode: Node | null): void {
  const where = (name: string): string => `records.${name === zone.apex ? '@' : name.slice(0, -(zone.apex.length + 1))}`;
  // Errors about a name point at the line that declares it, not at the zone's first line.
  const lineNode = (name: string): Node | null => owners.get(name) ?? node;
  const byName = new Map<string, Set<number>>();
  for (const rr of zone.records) {
    let types = byName.get(rr.name);
    if (!types) byName.set(rr.name, (types = new Set()));
    types.add(rr.data.type);
  }
  const serviceNames = new Set(zone.services.map((s) => s.name));
  const cuts = [...byName].filter(([name, types]) => name !== zone.apex && types.has(RRType.NS)).map(([n]) => n);

  // Below a delegation only glue (A/AAAA) may exist; a service cannot live there at all.
  for (const [name, types] of byName) {
    const cut = cuts.find((c) => c !== name && isInZone(name, c));
    if (!cut) continue;
    if ([...types].some((t) => t !== RRType.A && t !== RRType.AAAA))
      r.error(lineNode(name), where(name), `${name} is below the delegation at ${cut}: only glue (A/AAAA) may exist there`);
  }
  for (const s of serviceNames) {
    const cut = cuts.find((c) => isInZone(s, c));
    if (cut) r.error(lineNode(s), `services`, `service ${s} is at or below the delegation at ${cut}`);
  }
  for (const cut of cuts) {
    if (byName.get(cut)!.size > 1) r.error(lineNode(cut), where(cut), `${cut} is a delegation (NS): it cannot hold other data`);
  }

  // In-zone name servers need addresses, or resolvers cannot reach them.
  const nsTargets = new Map<string, string>();
  for (const rr of zone.records) if (rr.data.type === RRType.NS && !nsTargets.has(rr.data.target)) nsTargets.set(rr.data.target, rr.name);
  for (const [target, owner] of nsTargets) {
    if (!isInZone(target, zone.apex)) continue;
    const types = byName.get(target);
    if (!types || !(types.has(RRType.A) || types.has(RRType.AAAA)))
      r.error(owner === zone.apex ? (nsNode ?? node) : lineNode(owner), owner === zone.apex ? 'ns' : `${where(owner)}.NS`, `name server ${target} is inside the zone but has no A or AAAA record (glue)`);
  }

  // CNAME chains must end: a loop inside the zone would answer forever.
  const cname = new Map<string, string>();
  for (const rr of zone.records) if (rr.data.type === RRType.CNAME) cname.set(rr.name, rr.data.target);
  for (const start of cname.keys()) {
    const seen = new Set<string>([start]);
    for (let at = cname.get(start); at !== undefined; at = cname.get(at)) {
      if (seen.has(at)) {
        r.error(lineNode(start), where(start), `CNAME loop: ${[...seen, at].join(' -> ')}`);
        break;
      }
      seen.add(at);
    }
  }
}

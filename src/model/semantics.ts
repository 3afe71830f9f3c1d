/** Checks that need the whole zone set: duplicates across files, references, delegations, glue, CNAME loops. */
import { RRType } from '../wire/constants.js';
import { isInZone } from '../wire/name.js';
import type { Path, Place, Report } from './input.js';
import type { OwnerNames } from './names.js';
import type { LatencyEntry, Region, Zone } from './types.js';

/** One zone file: its problems, and the line of a place in it (for "already defined in file:line"). */
export interface FileOf {
  file: string;
  report: Report;
  line: (place: Place) => number;
}

export interface ZoneSetParts {
  zones: { src: FileOf; zone: Zone; owners: OwnerNames }[];
  regions: { src: FileOf; region: Region; path: Path }[];
  /** Every region name declared anywhere, including regions rejected for their own errors. */
  regionNames: ReadonlySet<string>;
  latency: { src: FileOf; entry: LatencyEntry; path: Path }[];
  services: { src: FileOf; name: string; refs: { region: string; path: Path }[] }[];
}

const ZONE: Place = { path: ['zone'] };
const NS: Place = { path: ['ns'] };

export function checkZoneSet(parts: ZoneSetParts): void {
  const apexes = new Map<string, FileOf>();
  for (const z of parts.zones) {
    const first = apexes.get(z.zone.apex);
    if (first) z.src.report.add({ ...ZONE, message: `zone ${z.zone.apex} is already defined in ${first.file}:${first.line(ZONE)}` });
    else apexes.set(z.zone.apex, z.src);
    checkZoneData(z.zone, z.src.report, z.owners);
  }
  const regions = new Map<string, { src: FileOf; place: Place }>();
  for (const r of parts.regions) {
    const place: Place = { path: r.path, at: 'key' };
    const first = regions.get(r.region.name);
    if (first)
      r.src.report.add({ ...place, message: `region "${r.region.name}" is already declared in ${first.src.file}:${first.src.line(first.place)} (regions are global)` });
    else regions.set(r.region.name, { src: r.src, place });
  }
  for (const s of parts.services) {
    for (const ref of s.refs)
      if (!parts.regionNames.has(ref.region)) s.src.report.add({ path: ref.path, label: `service ${s.name}`, message: `region "${ref.region}" is not declared in any zone file` });
  }
  for (const l of parts.latency) {
    if (!parts.regionNames.has(l.entry.region)) l.src.report.add({ path: l.path, label: 'latency', message: `region "${l.entry.region}" is not declared in any zone file` });
  }
}

function checkZoneData(zone: Zone, report: Report, owners: OwnerNames): void {
  const where = (name: string): string => `records.${name === zone.apex ? '@' : name.slice(0, -(zone.apex.length + 1))}`;
  // Errors about a name point at the line that declares it, not at the zone's first line.
  const at = (name: string): Place => owners.place(name) ?? ZONE;
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
      report.add({ ...at(name), label: where(name), message: `${name} is below the delegation at ${cut}: only glue (A/AAAA) may exist there` });
  }
  for (const s of serviceNames) {
    const cut = cuts.find((c) => isInZone(s, c));
    if (cut) report.add({ ...at(s), label: 'services', message: `service ${s} is at or below the delegation at ${cut}` });
  }
  for (const cut of cuts) {
    if (byName.get(cut)!.size > 1) report.add({ ...at(cut), label: where(cut), message: `${cut} is a delegation (NS): it cannot hold other data` });
  }

  // In-zone name servers need addresses, or resolvers cannot reach them.
  const nsTargets = new Map<string, string>();
  for (const rr of zone.records) if (rr.data.type === RRType.NS && !nsTargets.has(rr.data.target)) nsTargets.set(rr.data.target, rr.name);
  for (const [target, owner] of nsTargets) {
    if (!isInZone(target, zone.apex)) continue;
    const types = byName.get(target);
    if (!types || !(types.has(RRType.A) || types.has(RRType.AAAA)))
      report.add({
        ...(owner === zone.apex ? NS : at(owner)),
        label: owner === zone.apex ? 'ns' : `${where(owner)}.NS`,
        message: `name server ${target} is inside the zone but has no A or AAAA record (glue)`,
      });
  }

  // CNAME chains must end: a loop inside the zone would answer forever.
  const cname = new Map<string, string>();
  for (const rr of zone.records) if (rr.data.type === RRType.CNAME) cname.set(rr.name, rr.data.target);
  for (const start of cname.keys()) {
    const seen = new Set<string>([start]);
    for (let next = cname.get(start); next !== undefined; next = cname.get(next)) {
      if (seen.has(next)) {
        report.add({ ...at(start), label: where(start), message: `CNAME loop: ${[...seen, next].join(' -> ')}` });
        break;
      }
      seen.add(next);
    }
  }
}

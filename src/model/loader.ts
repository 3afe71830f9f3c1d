/**
 * Zone files (`zones/*.yaml`) -> a validated ZoneSet, or every error as `file:line: message`.
 *
 * Each file is parsed (YAML), checked against the zone document's schema (schema/zone.ts), read part by part
 * by the rules of each thing (records, SOA, services, regions and checks, latency: one module each), and the
 * zone set is then checked as a whole (semantics.ts). The line of every problem comes from the YAML source.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Input, Report } from './input.js';
import { ZoneDocumentSchema } from './schema/zone.js';
import { checkZoneSet, type FileOf, type ZoneSetParts } from './semantics.js';
import { YamlFile } from './source-map.js';
import type { ConfigError, Region, Zone, ZoneSet } from './types.js';
import { readZoneFile } from './zone-file.js';

export { DEFAULTS } from './defaults.js';
export { parseLatencyClient } from './latency.js';
export { readRegionJson, regionNameProblem } from './regions.js';
export { RECORD_TYPES } from './schema/records.js';

export interface LoadResult {
  zoneSet?: ZoneSet;
  errors: ConfigError[];
  files: string[];
}

export interface SourceFile {
  file: string;
  text: string;
}

/** Every `*.yaml` / `*.yml` in `dir`, sorted so that reports and precedence are stable. */
export function listZoneFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}

export function loadZoneDir(dir: string): LoadResult {
  let files: string[];
  try {
    files = listZoneFiles(dir);
  } catch (err) {
    return { errors: [{ file: dir, line: 0, message: `cannot read directory: ${(err as Error).message}` }], files: [] };
  }
  const sources: SourceFile[] = [];
  const errors: ConfigError[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: readFileSync(file, 'utf8') });
    } catch (err) {
      errors.push({ file, line: 0, message: `cannot read: ${(err as Error).message}` });
    }
  }
  const result = loadZoneSources(sources);
  return { ...result, errors: [...errors, ...result.errors], files };
}

/** Parse and validate zone file texts together (regions and latency are shared by all of them). */
export function loadZoneSources(sources: SourceFile[]): LoadResult {
  const errors: ConfigError[] = [];
  const read: { yaml: YamlFile; src: FileOf }[] = [];
  const parts: ZoneSetParts & { regionNames: Set<string> } = { zones: [], regions: [], regionNames: new Set(), latency: [], services: [] };
  for (const { file, text } of sources) {
    const parsed = YamlFile.parse(file, text);
    errors.push(...parsed.errors);
    const yaml = parsed.yaml;
    if (!yaml) continue;
    const report = new Report();
    const src: FileOf = { file, report, line: (place) => yaml.line(place) };
    read.push({ yaml, src });
    const p = readZoneFile(Input.checked(ZoneDocumentSchema, yaml.value, report), file, src.line);
    if (p.zone && p.owners) parts.zones.push({ src, zone: p.zone, owners: p.owners });
    for (const r of p.regions) parts.regions.push({ src, ...r });
    for (const n of p.regionNames) parts.regionNames.add(n);
    for (const l of p.latency) parts.latency.push({ src, ...l });
    for (const s of p.services) parts.services.push({ src, ...s });
  }
  checkZoneSet(parts);
  for (const { yaml, src } of read) errors.push(...src.report.issues.map((i) => yaml.errorOf(i)));
  const files = sources.map((s) => s.file);
  if (errors.length > 0) return { errors: sortErrors(errors), files };
  const zones: Zone[] = parts.zones.map((z) => z.zone);
  const regions = new Map<string, Region>();
  for (const { region } of parts.regions) if (!regions.has(region.name)) regions.set(region.name, region);
  return { zoneSet: { zones, regions, latency: parts.latency.map((l) => l.entry) }, errors: [], files };
}

function sortErrors(errors: ConfigError[]): ConfigError[] {
  return [...errors].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
}

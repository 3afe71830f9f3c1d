/**
 * Custom client networks (`--networks`, default `geoip/networks.yaml`): locations that beat every database,
 * for private ranges, corporate resolvers, or where a database is wrong.
 *
 *   - { network: 10.20.0.0/16, lat: 50.11, lon: 8.68, country: DE, continent: EU }
 */
import { readFileSync } from 'node:fs';
import { Type } from 'typebox';
import { parseCidr } from '../util/cidr.js';
import { countryTable } from '../model/countries.js';
import { Input, Report } from '../model/input.js';
import { Closed, NonEmptyString } from '../model/schema/common.js';
import { LocationSchema } from '../model/schema/region.js';
import { YamlFile } from '../model/source-map.js';
import { CONTINENTS, type ConfigError } from '../model/types.js';
import type { PrefixEntry } from './prefix-map.js';

export interface CustomLocation {
  network: string;
  lat?: number;
  lon?: number;
  country?: string;
  continent?: string;
}

/** Country and continent are case-insensitive, so they are checked by the rules below, not by an enum. */
const NetworkSchema = Closed({
  network: NonEmptyString(),
  lat: Type.Optional(LocationSchema.properties.lat),
  lon: Type.Optional(LocationSchema.properties.lon),
  country: Type.Optional(NonEmptyString()),
  continent: Type.Optional(NonEmptyString()),
});
const NetworksSchema = Type.Array(NetworkSchema);

export function parseNetworks(file: string, text: string): { entries: PrefixEntry<CustomLocation>[]; errors: ConfigError[] } {
  const { yaml, errors } = YamlFile.parse(file, text);
  const entries: PrefixEntry<CustomLocation>[] = [];
  if (!yaml || yaml.value === null) return { entries, errors };
  const report = new Report();
  const root = Input.checked(NetworksSchema, yaml.value, report);
  for (const item of Array.isArray(root.value) ? root.items() : []) {
    const entry = readNetwork(item);
    if (entry) entries.push(entry);
  }
  // A problem with the whole file is reported as `networks: ...`.
  const all = report.issues.map((i) => yaml.errorOf(i.path.length === 0 && i.label === undefined ? { ...i, label: 'networks' } : i));
  return { entries, errors: all.sort((a, b) => a.line - b.line) };
}

/** One item, or undefined after its first problem. A key it does not know is reported but does not drop it. */
function readNetwork(item: Input): PrefixEntry<CustomLocation> | undefined {
  const text = item.at('network').string();
  if (text === undefined) return undefined;
  const cidr = parseCidr(text);
  if (typeof cidr === 'string') return item.at('network').issue(cidr);
  const loc: CustomLocation = { network: text };
  const [lat, lon] = [item.at('lat'), item.at('lon')];
  if (lat.present !== lon.present) return item.issue('give both "lat" and "lon", or neither');
  if (lat.present) {
    const [la, lo] = [lat.number(), lon.number()];
    if (la === undefined || lo === undefined) return undefined;
    loc.lat = la;
    loc.lon = lo;
  }
  const country = item.at('country');
  if (country.present) {
    const c = country.string()?.toUpperCase();
    if (c === undefined) return undefined;
    if (!countryTable().has(c)) return country.issue(`"${c}" is not an ISO 3166-1 alpha-2 country code`);
    loc.country = c;
  }
  const continent = item.at('continent');
  if (continent.present) {
    const c = continent.string()?.toUpperCase();
    if (c === undefined) return undefined;
    if (!(CONTINENTS as readonly string[]).includes(c)) return continent.issue(`must be one of ${CONTINENTS.join(', ')}`);
    loc.continent = c;
  }
  if (loc.lat === undefined && loc.country === undefined && loc.continent === undefined)
    return item.issue('needs a location: lat/lon, a country, or a continent');
  return { family: cidr.family, prefix: cidr.prefix, network: cidr.network, value: loc };
}

export function loadNetworksFile(file: string): { entries: PrefixEntry<CustomLocation>[]; errors: ConfigError[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { entries: [], errors: [{ file, line: 0, message: `cannot read: ${(err as Error).message}` }] };
  }
  return parseNetworks(file, text);
}

/**
 * Custom client networks (`--networks`, default `geoip/networks.yaml`): locations that beat every database,
 * for private ranges, corporate resolvers, or where a database is wrong.
 *
 *   - { network: 10.20.0.0/16, lat: 50.11, lon: 8.68, country: DE, continent: EU }
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { parseCidr } from '../util/cidr.js';
import { CONTINENTS, type ConfigError } from '../model/types.js';
import { YamlReader } from '../model/yaml-walk.js';
import { countryTable } from '../model/countries.js';
import type { PrefixEntry } from './prefix-map.js';

export interface CustomLocation {
  network: string;
  lat?: number;
  lon?: number;
  country?: string;
  continent?: string;
}

const KEYS = ['network', 'lat', 'lon', 'country', 'continent'] as const;

export function parseNetworks(file: string, text: string): { entries: PrefixEntry<CustomLocation>[]; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    // `linePos` is only filled in when prettyErrors is on (it is off here), so the line comes from the error's offset;
    // reading `linePos` reported every syntax error on line 1.
    return { entries: [], errors: doc.errors.map((e) => ({ file, line: lines.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? e.message })) };
  }
  const r = new YamlReader(file, doc, lines, errors);
  const entries: PrefixEntry<CustomLocation>[] = [];
  if (doc.contents === null) return { entries, errors };
  const items = r.seq(doc.contents, 'networks') ?? [];
  items.forEach((item, i) => {
    const path = `[${i}]`;
    const m = r.map(item, path, KEYS);
    if (!m) return;
    const ne = m.get('network');
    if (!ne) return r.error(item, path, 'missing required key "network"');
    const text = r.string(ne.value, `${path}.network`);
    if (text === undefined) return;
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') return r.error(ne.value, `${path}.network`, cidr);
    const loc: CustomLocation = { network: text };
    const lat = m.get('lat');
    const lon = m.get('lon');
    if ((lat === undefined) !== (lon === undefined)) return r.error(item, path, 'give both "lat" and "lon", or neither');
    if (lat && lon) {
      const la = r.number(lat.value, `${path}.lat`, { min: -90, max: 90 });
      const lo = r.number(lon.value, `${path}.lon`, { min: -180, max: 180 });
      if (la === undefined || lo === undefined) return;
      loc.lat = la;
      loc.lon = lo;
    }
    const country = m.get('country');
    if (country) {
      const c = r.string(country.value, `${path}.country`)?.toUpperCase();
      if (c === undefined) return;
      if (!countryTable().has(c)) return r.error(country.value, `${path}.country`, `"${c}" is not an ISO 3166-1 alpha-2 country code`);
      loc.country = c;
    }
    const continent = m.get('continent');
    if (continent) {
      const c = r.string(continent.value, `${path}.continent`)?.toUpperCase();
      if (c === undefined) return;
      if (!(CONTINENTS as readonly string[]).includes(c)) return r.error(continent.value, `${path}.continent`, `must be one of ${CONTINENTS.join(', ')}`);
      loc.continent = c;
    }
    if (loc.lat === undefined && loc.country === undefined && loc.continent === undefined)
      return r.error(item, path, 'needs a location: lat/lon, a country, or a continent');
    entries.push({ family: cidr.family, prefix: cidr.prefix, network: cidr.network, value: loc });
  });
  return { entries, errors };
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

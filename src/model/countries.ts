/**
 * Country -> representative point and continent, for databases that only give a country (the bundled one)
 * and for latency estimates from distance. Points come from the `world-countries` package (ODbL), continents
 * from `countries-list` (MIT); both are read at start-up, nothing is copied into this repository.
 */
import { createRequire } from 'node:module';
import { countries as countryList } from 'countries-list';

export interface CountryInfo {
  lat: number;
  lon: number;
  continent: string;
}

interface WorldCountry {
  cca2: string;
  latlng: number[];
}

let table: Map<string, CountryInfo> | undefined;

export function countryTable(): Map<string, CountryInfo> {
  if (table) return table;
  const require = createRequire(import.meta.url);
  const world = require('world-countries/countries.json') as WorldCountry[];
  const continents = countryList as Record<string, { continent: string }>;
  table = new Map();
  for (const c of world) {
    const [lat, lon] = c.latlng;
    const continent = continents[c.cca2]?.continent;
    if (lat === undefined || lon === undefined || continent === undefined) continue;
    table.set(c.cca2, { lat, lon, continent });
  }
  return table;
}

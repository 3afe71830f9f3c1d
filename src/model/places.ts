/**
 * Places a rule can name: an ISO 3166-1 alpha-2 country code (`DE`) or a continent (`continent:EU`). Latency
 * entries key measurements by them, geofenced regions (`serves`) name where their clients may be.
 */
import { countryTable } from './countries.js';
import { CONTINENTS } from './types.js';

export type Place = { kind: 'country'; text: string; country: string } | { kind: 'continent'; text: string; continent: string };

/** A country or continent; a string saying why not when `text` looks like one but names none; undefined otherwise. */
export function parsePlace(text: string): Place | string | undefined {
  if (text.startsWith('continent:')) {
    const c = text.slice('continent:'.length).toUpperCase();
    if (!(CONTINENTS as readonly string[]).includes(c)) return `"${text}" names no continent (one of: ${CONTINENTS.join(', ')})`;
    return { kind: 'continent', text: `continent:${c}`, continent: c };
  }
  if (/^[A-Za-z]{2}$/.test(text)) {
    const country = text.toUpperCase();
    if (!countryTable().has(country)) return `"${text}" is not an ISO 3166-1 alpha-2 country code`;
    return { kind: 'country', text: country, country };
  }
  return undefined;
}

/**
 * The world outlines the status page draws: Natural Earth 1:110m countries (the `world-atlas` package, public
 * domain) projected once with d3-geo onto the page's map coordinates (x = longitude, y = -latitude, so a
 * region at lat/lon is a dot at (lon, -lat)) and keyed by ISO 3166-1 alpha-2 code, the code steering uses.
 * Made on first request and kept: the page needs no map library and no network beyond this node.
 */
import { createRequire } from 'node:module';
import { geoEquirectangular, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';

/** topojson-client's own parameter types: its types package (topojson-specification) has no module to import. */
type Topology = Parameters<typeof feature>[0];
type CountriesObject = Extract<Parameters<typeof feature>[1], { type: 'GeometryCollection' }>;

export interface WorldOutline {
  /** Alpha-2 code, or undefined for the few Natural Earth units without one (N. Cyprus, Somaliland, Kosovo). */
  code?: string;
  name: string;
  /** SVG path data in map coordinates. */
  d: string;
}

export interface WorldMap {
  /** The SVG viewBox the outlines are drawn in. */
  viewBox: string;
  countries: WorldOutline[];
}

interface WorldCountry {
  cca2: string;
  ccn3: string;
}

let cached: WorldMap | undefined;

export function worldMap(): WorldMap {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const topology = require('world-atlas/countries-110m.json') as Topology & { objects: { countries: CountriesObject } };
  // world-atlas keys countries by ISO 3166-1 numeric code; world-countries has both codes.
  const alpha2 = new Map((require('world-countries/countries.json') as WorldCountry[]).map((c) => [c.ccn3, c.cca2]));
  // Scale 180/π: one degree is one unit, so the projection is (lon, -lat) around the origin.
  const path = geoPath(geoEquirectangular().scale(180 / Math.PI).translate([0, 0])).digits(1);
  const countries: WorldOutline[] = [];
  for (const f of feature(topology, topology.objects.countries).features) {
    const d = path(f);
    if (!d) continue;
    const code = f.id === undefined ? undefined : alpha2.get(String(f.id));
    countries.push({ ...(code ? { code } : {}), name: (f.properties as { name: string }).name, d });
  }
  cached = { viewBox: '-180 -90 360 180', countries };
  return cached;
}

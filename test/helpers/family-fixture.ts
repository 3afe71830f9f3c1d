/**
 * Client locations for the family-aware steering tests (test/family-health, test/pdns-recursor): a small GeoIP
 * database with New York, Singapore and Frankfurt networks, written with the same MMDB writer as the other
 * steering tests so every client's location is known exactly.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeMmdb, type MmdbEntry } from './mmdb-writer.js';

const city = (country: string, continent: string, latitude: number, longitude: number) => ({
  country: { iso_code: country },
  continent: { code: continent },
  location: { latitude, longitude, accuracy_radius: 50 },
});

/** Client networks (/16 each, so a located answer carries ECS scope 16). */
export const NEW_YORK = '20.1.0.0';
export const SINGAPORE = '20.2.0.0';
export const FRANKFURT = '20.3.0.0';

export const FAMILY_GEO: MmdbEntry[] = [
  { network: `${NEW_YORK}/16`, data: city('US', 'NA', 40.71, -74.01) },
  { network: `${SINGAPORE}/16`, data: city('SG', 'AS', 1.35, 103.82) },
  { network: `${FRANKFURT}/16`, data: city('DE', 'EU', 50.11, 8.68) },
];

/** Write the database into `dir`; pass the returned path as `--geoip`. */
export function writeFamilyGeo(dir: string): string {
  const file = join(dir, 'family.mmdb');
  writeFileSync(file, writeMmdb(FAMILY_GEO, { databaseType: 'GSLB-Test-City', buildEpoch: 1_700_000_000 }));
  return file;
}

/** A /24 inside one of the networks above, e.g. `client(NEW_YORK, 7)` = 20.1.7.0. */
export function subnet24(network: string, third: number): string {
  const [a, b] = network.split('.');
  return `${a}.${b}.${third}.0`;
}

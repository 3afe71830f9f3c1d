/**
 * A small GeoIP database for tests, so that no test depends on the bundled database's contents (which change
 * with every release of it). City-style, flat and country-only records, IPv4 and IPv6.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeMmdb, type MmdbEntry } from './mmdb-writer.js';

export const GEO_FIXTURE: MmdbEntry[] = [
  // London, City-style record with accuracy.
  { network: '81.2.69.0/24', data: { country: { iso_code: 'GB' }, continent: { code: 'EU' }, location: { latitude: 51.51, longitude: -0.13, accuracy_radius: 20 } } },
  // Frankfurt, flat record (DB-IP / ip-location-db style), a /16 with a /24 carved out for Berlin.
  { network: '5.10.0.0/16', data: { country_code: 'DE', latitude: 50.11, longitude: 8.68 } },
  { network: '5.10.20.0/24', data: { country_code: 'DE', latitude: 52.52, longitude: 13.4 } },
  // Ashburn, Virginia.
  { network: '8.8.8.0/24', data: { country: { iso_code: 'US' }, continent: { code: 'NA' }, location: { latitude: 39.04, longitude: -77.49, accuracy_radius: 100 } } },
  // San Francisco.
  { network: '64.0.0.0/16', data: { country: { iso_code: 'US' }, continent: { code: 'NA' }, location: { latitude: 37.77, longitude: -122.42, accuracy_radius: 50 } } },
  // Country only: coordinates come from the country table.
  { network: '203.0.113.0/24', data: { country_code: 'AU' } },
  // Tokyo, IPv6.
  { network: '2001:db8:1::/48', data: { country_code: 'JP', latitude: 35.68, longitude: 139.69 } },
  // Dublin, IPv6.
  { network: '2001:db8:2::/48', data: { country: { iso_code: 'IE' }, continent: { code: 'EU' }, location: { latitude: 53.35, longitude: -6.26 } } },
];

export function writeGeoFixture(dir: string, entries: MmdbEntry[] = GEO_FIXTURE): string {
  const file = join(dir, 'fixture.mmdb');
  writeFileSync(file, writeMmdb(entries, { databaseType: 'GSLB-Test-City', buildEpoch: 1_700_000_000 }));
  return file;
}

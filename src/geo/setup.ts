/** Build the Locator the server starts with, from `--geoip` files (or the bundled city and country databases) and `--networks`. */
import { formatError, type ConfigError } from '../model/types.js';
import { defaultDatabasePaths, Locator, openDatabase, type GeoDatabase } from './locator.js';
import { loadNetworksFile } from './networks.js';

export function createLocator(geoipFiles: readonly string[], networksFile: string | undefined): { locator?: Locator; errors: ConfigError[] } {
  const files = geoipFiles.length > 0 ? geoipFiles : defaultDatabasePaths();
  const databases: GeoDatabase[] = [];
  const errors: ConfigError[] = [];
  for (const file of files) {
    try {
      databases.push(openDatabase(file));
    } catch (err) {
      errors.push({ file, line: 0, message: `not a readable MMDB database: ${(err as Error).message}` });
    }
  }
  const networks = networksFile ? loadNetworksFile(networksFile) : { entries: [], errors: [] };
  errors.push(...networks.errors);
  if (errors.length > 0) return { errors };
  return { locator: new Locator(databases, networks.entries), errors };
}

export function describeErrors(errors: ConfigError[]): string {
  return errors.map(formatError).join('\n');
}

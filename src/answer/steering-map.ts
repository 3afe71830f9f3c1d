/**
 * Where a service sends each country's clients right now, for the status page's map: the decision function
 * DNS answers with (and explain reports), asked for a client at each country's representative point and for
 * each custom network, over the current snapshot without the decision cache.
 */
import { countryTable } from '../model/countries.js';
import { Locator, type ClientLocation } from '../geo/locator.js';
import { decide } from '../routing/decide.js';
import { DecisionCache } from '../routing/decision-cache.js';
import type { Client } from '../routing/decision.js';
import type { Snapshot } from '../snapshot/types.js';
import { RRType } from '../wire/constants.js';
import type { Rng } from '../util/rng.js';

export interface SteeringMap {
  snapshotVersion: number;
  /** Every service of the snapshot, for the page's select box. */
  services: string[];
  service: string;
  policy: string;
  type: 'A' | 'AAAA';
  /** Alpha-2 country code -> the region its clients are answered from (null: no answer). */
  countries: Record<string, string | null>;
  /** Custom networks (`--networks`) -> the region their clients are answered from. */
  networks: { network: string; region: string | null }[];
}

/** A client anywhere in the country: nothing is known of its address (ECS source /0), only where it is. */
const NOWHERE: Client = { address: Buffer.alloc(4), family: 4, sourcePrefix: 0, viaEcs: true };

/** Locates every client at one point: the country's. */
class PointLocator extends Locator {
  constructor(private readonly point: ClientLocation) {
    super([]);
  }

  override locate(): ClientLocation {
    return this.point;
  }
}

/** The map for `serviceName` (default: the first service), or undefined when there is no such service. */
export function steeringMap(snap: Snapshot, serviceName: string | undefined, type: 'A' | 'AAAA', rng: Rng = Math.random): SteeringMap | undefined {
  const services = [...snap.services.keys()];
  const name = serviceName ?? services[0];
  const svc = name === undefined ? undefined : snap.services.get(name);
  if (!svc) return undefined;
  const qtype = type === 'AAAA' ? RRType.AAAA : RRType.A;
  const uncached: Snapshot = { ...snap, decisions: DecisionCache.NONE };
  const countries: Record<string, string | null> = {};
  for (const [code, c] of countryTable()) {
    const point: ClientLocation = { lat: c.lat, lon: c.lon, country: code, continent: c.continent, prefixLength: 0, source: `country ${code}` };
    const d = decide({ ...uncached, locator: new PointLocator(point) }, svc, qtype, NOWHERE, rng);
    countries[code] = d.region?.region.name ?? null;
  }
  const networks = snap.locator.networks.entries().map((e) => {
    const client: Client = { address: e.network, family: e.family, sourcePrefix: e.prefix, viaEcs: true };
    const d = decide(snap, svc, qtype, client, rng, DecisionCache.NONE);
    return { network: e.value.network, region: d.region?.region.name ?? null };
  });
  return { snapshotVersion: snap.version, services, service: svc.service.name, policy: svc.service.policy, type, countries, networks };
}

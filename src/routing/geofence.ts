/**
 * Geofencing (a region's `serves`): which regions may answer a client, by where it is. A region that serves
 * places is a candidate only for clients located in one of them; a client located in a served place is answered
 * from the regions serving it first, and from the regions without `serves` only when none of those can answer
 * (never, with `geofence: strict`). An unlocated client is in no served place: regions without `serves` only.
 */
import type { ClientLocation } from '../geo/locator.js';
import type { RegionIndex } from '../model/indexes.js';

/** Per region: 0 serves the client's place, 1 serves anyone (the fallback of fenced-in clients), -1 fenced out. */
export type FenceTier = 0 | 1 | -1;

export interface Fence {
  /** The client is located in a place some region serves. */
  inArea: boolean;
  /** The client's place in words: `DE`, `DE (continent:EU)`, `not located`. */
  place: string;
  tiers: FenceTier[];
  /** Why a region is fenced out (tier -1), e.g. `serves continent:EU; client in US`. */
  reasons: (string | undefined)[];
}

/** True when some region of the list declares `serves` (else there is nothing to fence). */
export function fenced(regions: readonly RegionIndex[]): boolean {
  return regions.some((r) => r.region.serves !== undefined);
}

export function fenceRegions(regions: readonly RegionIndex[], location: ClientLocation | undefined): Fence {
  const country = location?.country;
  const continent = location?.continent === undefined ? undefined : `continent:${location.continent}`;
  const serving = (r: RegionIndex) => r.region.serves!.some((p) => p === country || p === continent);
  const place = country !== undefined ? `${country}${continent !== undefined ? ` (${continent})` : ''}` : continent ?? 'not located';
  const tiers: FenceTier[] = regions.map((r) => (r.region.serves === undefined ? 1 : serving(r) ? 0 : -1));
  const reasons = regions.map((r, i) =>
    tiers[i] === -1 ? `serves ${r.region.serves!.join(', ')}; client ${country === undefined && continent === undefined ? 'not located' : `in ${place}`}` : undefined,
  );
  return { inArea: tiers.includes(0), place, tiers, reasons };
}

/**
 * The indexes of the regions to choose among, of those `ok` accepts: the client's own regions, else (unless
 * strict, or when the client is in no served place) those without `serves`. `fellBack` says the latter
 * answered a fenced-in client.
 */
export function fencedPool(fence: Fence, ok: (i: number) => boolean, strict: boolean): { pool: number[]; fellBack: boolean } {
  const tier = (t: FenceTier) => fence.tiers.flatMap((x, i) => (x === t && ok(i) ? [i] : []));
  const own = tier(0);
  if (own.length > 0 || (fence.inArea && strict)) return { pool: own, fellBack: false };
  return { pool: tier(1), fellBack: fence.inArea };
}

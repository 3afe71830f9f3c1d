/**
 * Cold start (`unverified:` on a region, else on the service): with `wait`, an endpoint is not answered until a
 * prober has seen its first `rise` successes, unless nothing else is up: a region whose up endpoints are all
 * still waiting is a candidate only when no other region is (decide.ts), and within a region the endpoints
 * through their checks are answered before those still waiting.
 */
import type { HealthView } from '../health/view.js';
import type { EndpointIndex, RegionIndex } from '../model/indexes.js';
import type { Service } from '../model/types.js';

/** The region's option wins over the service's; the default is `serve`. */
export function waitsForRise(r: RegionIndex, service: Service): boolean {
  return (r.region.unverified ?? service.unverified) === 'wait';
}

/** Of a region's up endpoints, those to answer: with `wait`, the ones through their first checks when there are any. */
export function settledFirst(health: HealthView, region: string, up: EndpointIndex[], wait: boolean): EndpointIndex[] {
  if (!wait) return up;
  const settled = up.filter((e) => !health.endpointWaiting(region, e.address));
  return settled.length > 0 ? settled : up;
}

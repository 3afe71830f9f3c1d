/**
 * What steering may know about health: per region up/drained and per endpoint up, with the reason. The
 * deciding state machine fills it; the query path only reads it through the snapshot.
 */
/** Whether a region may answer one address family: enough of that family's endpoints are up. */
export interface FamilyHealth {
  up: boolean;
  /** E.g. `down: 0/2 endpoints up, min-healthy 1`. */
  reason: string;
}

export interface RegionHealth {
  /** Up for every family it has endpoints of (a region up for one family only is down here, and says so). */
  up: boolean;
  drained: boolean;
  /** Why, in words, for explain and the API. */
  reason: string;
  /** Down, or an endpoint changed state recently: services answer with a shorter TTL meanwhile. */
  unstable: boolean;
  /** Per family (A: ipv4, AAAA: ipv6); without it `up` holds for both families. */
  families?: Record<'ipv4' | 'ipv6', FamilyHealth>;
}

export interface HealthView {
  region(name: string): RegionHealth;
  endpointUp(region: string, address: string): boolean;
}

const UP: RegionHealth = { up: true, drained: false, reason: 'no health data: up', unstable: false };

/** Every region and endpoint up: what holds before any health data exists. */
export const ALL_UP: HealthView = {
  region: () => UP,
  endpointUp: () => true,
};

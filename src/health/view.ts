/**
 * What steering may know about health: per region up/drained and per endpoint up, with the reason. The
 * deciding state machine fills it; the query path only reads it through the snapshot.
 */
export interface RegionHealth {
  up: boolean;
  drained: boolean;
  /** Why, in words, for explain and the API. */
  reason: string;
  /** Down, or an endpoint changed state recently: services answer with a shorter TTL meanwhile. */
  unstable: boolean;
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

/**
 * What the snapshot knows about health: per region up/drained/unstable with the reason, per endpoint up, and
 * on demand the full verdict with the probers' views. One concrete type: `computeHealth` (computed.ts) makes
 * one from probe states and drains, `ALL_UP` is the one that holds before any health data exists. Steering,
 * the API, metrics and the transition log all read this same type.
 */
import { endpointVerdict, freshnessFor, type EndpointVerdict } from './machine.js';
import type { DrainRecord, ProberState } from './probe-state.js';

/** Whether a region may answer one address family: enough of that family's endpoints are up. */
export interface FamilyHealth {
  up: boolean;
  /** Up counting only endpoints through their first `rise` successes (what `unverified: wait` asks); absent: as `up`. */
  settled?: boolean;
  /** Up endpoints still waiting for their first `rise` successes. */
  waiting?: number;
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
  /** Per family (A: ipv4, AAAA: ipv6); without it (no health data) `up` holds for both families. */
  families?: Record<'ipv4' | 'ipv6', FamilyHealth> | undefined;
}

export interface EndpointState {
  up: boolean;
  /** No fresh report: up because there is no evidence against it. */
  unverified: boolean;
  /** Up, but not yet through its first `rise` successes (machine.ts isWaiting). */
  waiting: boolean;
  since: number | undefined;
}

/** A region's health with what it was computed from: its endpoints' states, its drain, its freshness window. */
/**
 * Made with every property present (drain and families undefined where there are none), in one order, as
 * NO_DATA is: one hidden class, so steering's optimized code does not meet a verdict of a class it has not
 * seen when a rebuild after health checks replaces the verdicts it was warmed on.
 */
export interface RegionVerdict extends RegionHealth {
  drain?: DrainRecord | undefined;
  /** By address; an endpoint missing here is up (no data). */
  endpoints: ReadonlyMap<string, EndpointState>;
  /** How many of `endpoints` are up. */
  upCount: number;
  freshnessMs: number;
}

/** Probe states by `${region}|${endpoint}`, then by prober (the store's ProbeIndex). */
type ProbeStates = ReadonlyMap<string, ReadonlyMap<string, ProberState>>;

const NO_DATA: RegionVerdict = {
  up: true,
  drained: false,
  reason: 'no health data: up',
  unstable: false,
  families: undefined,
  drain: undefined,
  endpoints: new Map(),
  upCount: 0,
  freshnessMs: freshnessFor(undefined),
};

export class HealthView {
  /**
   * `regions`: the verdicts (a region not in it is up, with no data); `probes`: the states they came from, for
   * `explain`; `nextChangeAt`: when the view changes by itself (a report going stale, instability ending), so
   * the snapshot is rebuilt then.
   */
  constructor(
    readonly regions: ReadonlyMap<string, RegionVerdict> = new Map(),
    private readonly probes: ProbeStates = new Map(),
    readonly nextChangeAt: number | undefined = undefined,
  ) {}

  region(name: string): RegionVerdict {
    return this.regions.get(name) ?? NO_DATA;
  }

  endpointUp(region: string, address: string): boolean {
    return this.regions.get(region)?.endpoints.get(address)?.up ?? true;
  }

  /** Up but not yet through its first `rise` successes (no health data: not waiting). */
  endpointWaiting(region: string, address: string): boolean {
    return this.regions.get(region)?.endpoints.get(address)?.waiting ?? false;
  }

  /** The full verdict with reasons and per-prober views, from the states as they are now. */
  explain(region: string, address: string, now = Date.now()): EndpointVerdict {
    const states = this.probes.get(`${region}|${address}`);
    return endpointVerdict(states ? [...states] : [], now, this.region(region).freshnessMs);
  }
}

/** Every region and endpoint up: what holds before any health data exists. */
export const ALL_UP = new HealthView();

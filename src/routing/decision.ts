/**
 * What steering decides, as data: the responder writes it, explain shows it, the decision cache keeps it.
 * Apart from decide.ts so the cache (which the routing view holds) does not import the function that fills it.
 */
import type { ClientLocation } from '../geo/locator.js';
import type { AddressFamily } from '../model/families.js';
import type { EndpointIndex, RegionIndex } from '../model/indexes.js';
import type { Policy } from '../model/types.js';

export interface Client {
  /** 4 or 16 bytes; only the first `sourcePrefix` bits are the client's (the rest are zero). */
  address: Buffer;
  family: 4 | 6;
  /** ECS source prefix length, or the full address length for a resolver address. */
  sourcePrefix: number;
  /** True when located by EDNS Client Subnet rather than by the resolver's own address. */
  viaEcs: boolean;
}

/** Whether a region may answer one address family, for explain. */
export interface FamilyEligibility {
  /** Endpoints that answer this family (families.ts: weight > 0; hostnames only in hostname-only regions). */
  endpoints: number;
  /** Has such endpoints, enough of them are up (min-healthy), and the region is not drained. */
  eligible: boolean;
  /** Up only with endpoints still waiting for their first checks (`unverified: wait`): eligible when nothing else is. */
  waiting?: true | undefined;
  reason: string;
}

/**
 * Every property is present from the start, the optional ones as undefined: one hidden class for every
 * candidate, with fields that never change representation. Added as they were found (rttMs a small integer
 * from a latency table for one client, a double from distance for the next), they made several classes and
 * a field generalization that deoptimized steering's code in the first seconds of an ECS spray (--trace-deopt).
 */
export interface Candidate {
  region: string;
  /** Eligible for the asked family: has its endpoints, enough of them up, not drained. */
  healthy: boolean;
  /** Has endpoints of the asked family at all (a region without them is no candidate for it). */
  hasFamily: boolean;
  families: Record<AddressFamily, FamilyEligibility>;
  drained: boolean;
  health: string;
  /** Passive health (max-error-ratio) fails the region for this service: why, e.g. `down (passive): error ratio 0.2 above max-error-ratio 0.05`. */
  passive: string | undefined;
  /** Down or recently changed: the service answers with half its TTL meanwhile. */
  unstable: boolean;
  weight: number;
  bias: number;
  /** Estimated RTT before bias, when one could be made. */
  rttMs: number | undefined;
  /** Where the RTT came from: `cidr 198.51.100.0/24 (zone)`, `country DE (measured)`, `distance 5432 km`. */
  rttSource: string | undefined;
  distanceKm: number | undefined;
  /** Its endpoints up for the asked family all still wait for their first checks (`unverified: wait`). */
  waiting: true | undefined;
  /** Why the geofence keeps this region from the client: `serves continent:EU; client in US`. */
  fenced: string | undefined;
  /** With `shed`: the region's reported utilization (fresh reports only). */
  utilization: number | undefined;
  /** With `shed`: the share of the region's clients shed at that utilization, and whether this client is one. */
  shedShare: number | undefined;
  shedThisClient: boolean | undefined;
  chosen: boolean;
}

/**
 * A steering decision: the answer (what the responder writes, and all the decision cache keeps: tens of bytes)
 * and, when it was made for this query rather than taken from the cache, why (for explain).
 */
export interface Decision {
  region?: RegionIndex | undefined;
  /** Address records to answer with (same family as the query). */
  endpoints: EndpointIndex[];
  /** Set when the chosen region is reached through a hostname: answer a CNAME to it. */
  cname?: EndpointIndex | undefined;
  ttl: number;
  /**
   * ECS scope prefix length: how much of the client address the decision depended on. Every client in that
   * block gets the same decision, which is what lets the cache keep one entry for the whole block.
   */
  scope: number;
  /** Absent on a decision from the cache; explain, which never uses the cache, always has it. */
  why?: DecisionWhy;
}

/** The reasoning behind a decision, as explain shows it. */
export interface DecisionWhy {
  service: string;
  policy: Policy;
  location?: ClientLocation;
  candidates: Candidate[];
  /** Every candidate was down and `when-all-down: all` answered as if all were up. */
  failOpen: boolean;
  reason: string;
}

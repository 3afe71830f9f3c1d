/**
 * Regions, services and endpoints as the query path indexes them (built into each snapshot): health,
 * routing and the store read these, so they live below all three.
 */
import type { AddressFamily } from './families.js';
import type { Region, Service } from './types.js';

export interface EndpointIndex {
  address: string;
  family: 4 | 6 | 0;
  weight: number;
  /** Precomputed rdata: 4 or 16 address bytes, or the uncompressed wire name of a hostname endpoint. */
  rdata: Buffer;
}

export interface RegionIndex {
  region: Region;
  v4: EndpointIndex[];
  v6: EndpointIndex[];
  hosts: EndpointIndex[];
  /** The endpoints that answer A (ipv4) and AAAA (ipv6) queries, by the rule in model/families.ts. */
  answering: Record<AddressFamily, EndpointIndex[]>;
}

export interface ServiceIndex {
  service: Service;
  /** Small number unique within the snapshot: keeps decision cache keys short. */
  ordinal: number;
  /** Candidate regions in declared order. */
  regions: RegionIndex[];
}

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
  /** Its half of every rendezvous pair (routing/rendezvous.ts keyHash of the address), made once per snapshot. */
  hash: number;
}

export interface RegionIndex {
  region: Region;
  /** rendezvous.ts keyHash of the name: tolerance sharing and shedding pair client blocks with it. */
  hash: number;
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
  /** Hash salts of its per-client-block choices (routing/select.ts subnetHash), made once per snapshot. */
  salts: { endpoints: string; shed: string };
}

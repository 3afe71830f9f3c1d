/**
 * Steering: which region and endpoints answer a service query for a client. A pure function of the snapshot,
 * the service, the query type and the client, so DNS answers and `explain` can never disagree.
 */
import { RRType } from '../dns/constants.js';
import type { EndpointIndex, RegionIndex, ServiceIndex, Snapshot } from '../snapshot/types.js';

export interface Client {
  /** 4 or 16 bytes; only the first `sourcePrefix` bits are meaningful. */
  address: Buffer;
  family: 4 | 6;
  /** ECS source prefix length, or the full address length for a resolver address. */
  sourcePrefix: number;
  /** True when located by EDNS Client Subnet rather than by the resolver's own address. */
  viaEcs: boolean;
}

export interface Decision {
  region?: RegionIndex;
  /** Address records to answer with (same family as the query). */
  endpoints: EndpointIndex[];
  /** Set when the chosen region is reached through a hostname: answer a CNAME to it. */
  cname?: EndpointIndex;
  ttl: number;
  /** ECS scope prefix length: how much of the client address the decision depended on. */
  scope: number;
}

/**
 * The first candidate region that can answer, in declared order. Location-aware policies replace the
 * ordering step; everything after it (family selection, answer count, hostname endpoints) stays.
 */
export function decide(_snapshot: Snapshot, svc: ServiceIndex, qtype: number, _client: Client): Decision {
  const { service } = svc;
  const region = svc.regions.find((r) => r.v4.length + r.v6.length + r.hosts.length > 0);
  if (!region) return { endpoints: [], ttl: service.ttl, scope: 0 };
  const family = qtype === RRType.AAAA ? region.v6 : region.v4;
  const usable = family.filter((e) => e.weight > 0);
  if (usable.length > 0) return { region, endpoints: usable.slice(0, service.answers), ttl: service.ttl, scope: 0 };
  const host = region.hosts.find((e) => e.weight > 0);
  if (host && region.v4.length === 0 && region.v6.length === 0) return { region, endpoints: [], cname: host, ttl: service.ttl, scope: 0 };
  return { region, endpoints: [], ttl: service.ttl, scope: 0 };
}

/**
 * Which endpoints answer which address family. One rule for the loader (checking `min-healthy`), health
 * (counting up endpoints per family) and steering (choosing the records), so they can never disagree:
 * A queries are answered by IPv4 endpoints, AAAA by IPv6 ones, both only by endpoints with weight > 0.
 * Hostname endpoints are answered as a CNAME for A and AAAA alike, but only in a region without address
 * endpoints (a name must not carry a CNAME for one type and addresses for another), so there they count for
 * both families and elsewhere for neither.
 */

export type AddressFamily = 'ipv4' | 'ipv6';

export const FAMILY_LABEL: Record<AddressFamily, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

interface Weighted {
  weight: number;
}

/** A region's endpoints split by kind (RegionIndex has this shape). */
export interface EndpointLists<T extends Weighted> {
  v4: readonly T[];
  v6: readonly T[];
  hosts: readonly T[];
}

export function familyEndpoints<T extends Weighted>(r: EndpointLists<T>, family: AddressFamily): T[] {
  const own = r.v4.length === 0 && r.v6.length === 0 ? r.hosts : family === 'ipv4' ? r.v4 : r.v6;
  return own.filter((e) => e.weight > 0);
}

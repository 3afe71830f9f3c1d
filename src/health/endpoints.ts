/** A region's endpoints of every kind, for the code that treats them alike: checks, health, the API, metrics. */

/** The IPv4, then the IPv6, then the hostname endpoints, each in declared order (a new array). */
export function allEndpoints<T>(r: { readonly v4: readonly T[]; readonly v6: readonly T[]; readonly hosts: readonly T[] }): T[] {
  return [...r.v4, ...r.v6, ...r.hosts];
}

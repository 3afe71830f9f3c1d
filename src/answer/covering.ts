/**
 * For a query name that is not a node of the zone: the delegation that covers it, or the wildcard at its
 * closest encloser, or neither (NXDOMAIN) — RFC 1034 4.3.2, RFC 4592. One walk for the unsigned lookup and
 * the signer, so the two cannot disagree about which rule answers a name.
 */
import type { NameNode, ZoneIndex } from '../snapshot/types.js';

export type Covering = { cut: NameNode; wildcard?: undefined } | { cut?: undefined; wildcard: NameNode } | undefined;

export function covering(zone: ZoneIndex, qname: string): Covering {
  let ce = qname;
  for (;;) {
    const dot = ce.indexOf('.');
    ce = dot < 0 ? '' : ce.slice(dot + 1);
    const encloser = zone.nodes.get(ce);
    if (!encloser) {
      if (ce === '') return undefined;
      continue;
    }
    if (encloser.cut) return { cut: encloser.cut };
    const wildcard = zone.nodes.get(`*.${ce}`);
    return wildcard ? { wildcard } : undefined;
  }
}

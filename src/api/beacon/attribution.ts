/**
 * Which client network a beacon report speaks for: the browser's /24 (IPv4) or /56 (IPv6), the granularity of
 * ECS and of the learned latency table. The address is the TCP peer's, unless the peer is one of the
 * `--trusted-proxies`: then it is the right-most `X-Forwarded-For` hop that is not itself a trusted proxy (each
 * proxy appends the address it saw, so hops left of an untrusted one may be anything the client wrote).
 */
import { addressBytes, addressText, inPrefix, maskBits, type Cidr } from '../../util/cidr.js';
import { ipFamily } from '../../wire/ip.js';

export const BEACON_PREFIX = { 4: 24, 6: 56 } as const;

export interface ClientNetwork {
  /** `198.51.100.0/24`, `2001:db8:1:100::/56`: the latency table's client key. */
  text: string;
  family: 4 | 6;
  /** The network address bytes (host bits zero). */
  network: Buffer;
}

/** A peer or hop address as a bare IP: IPv4-mapped IPv6 unwrapped; `[v6]:port` and `v4:port` (some proxies write them) stripped. */
function bareAddress(text: string): { address: string; family: 4 | 6 } | undefined {
  let t = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(t);
  if (bracketed) t = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(t)) t = t.slice(0, t.lastIndexOf(':'));
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(t)) t = t.slice(7);
  const family = ipFamily(t);
  return family === 0 ? undefined : { address: t, family };
}

function trusted(address: string, family: 4 | 6, proxies: readonly Cidr[]): boolean {
  const bytes = addressBytes(address, family);
  return proxies.some((p) => p.family === family && inPrefix(bytes, p.network, p.prefix));
}

function networkOf(address: string, family: 4 | 6): ClientNetwork {
  const prefix = BEACON_PREFIX[family];
  const bytes = maskBits(addressBytes(address, family), prefix);
  const text = `${addressText(bytes, family)}/${prefix}`;
  return { text, family, network: bytes };
}

/** The network, or why none can be named (an unparsable hop written by a trusted proxy). */
export function clientNetwork(peer: string, forwardedFor: string | string[] | undefined, proxies: readonly Cidr[]): ClientNetwork | string {
  const from = bareAddress(peer);
  if (!from) return `peer address "${peer}" is not an IP address`;
  if (proxies.length === 0 || forwardedFor === undefined || !trusted(from.address, from.family, proxies)) return networkOf(from.address, from.family);
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  let client = from;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = bareAddress(hops[i]!);
    if (!hop) return `hop "${hops[i]!.slice(0, 64)}" is not an IP address`;
    client = hop;
    if (!trusted(hop.address, hop.family, proxies)) break;
  }
  return networkOf(client.address, client.family);
}

/**
 * Latency entries (`latency:`) and the client they are measured from, shared with `POST /v1/latency` and the
 * stores: their schema is schema/latency.ts; the syntax of a client is a rule, here.
 */
import { parseCidr } from '../util/cidr.js';
import type { Input } from './input.js';
import { LatencyEntrySchema } from './schema/latency.js';
import { parsePlace } from './places.js';
import type { LatencyClient, LatencyEntry } from './types.js';

/** A CIDR (a bare address is a host route), an ISO 3166-1 country code, or `continent:XX`; else why not. */
export function parseLatencyClient(text: string): LatencyClient | string {
  const place = parsePlace(text);
  if (place !== undefined) return place;
  const cidr = parseCidr(text);
  if (typeof cidr === 'string') return `${cidr}; a client is a CIDR, an ISO country code (DE) or continent:XX`;
  return { kind: 'cidr', text, family: cidr.family, prefix: cidr.prefix, network: cidr.network };
}

export function readLatency(input: Input): LatencyEntry | undefined {
  const e = input.as(LatencyEntrySchema);
  if (!e) return undefined;
  const client = parseLatencyClient(e.client);
  if (typeof client === 'string') return input.at('client').issue(client);
  return { client, region: e.region, rttMs: e.rtt };
}

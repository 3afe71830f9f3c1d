/**
 * How many endpoint records a service answer can hold and still fit the EDNS UDP size we send (1232 bytes).
 *
 * A service whose `answers` is beyond this can never answer AAAA over UDP: every such answer is truncated and
 * every resolver has to retry over TCP. The loader refuses it (with the line) rather than capping it with a
 * warning: `gslb check` then fails before the zone is deployed, a reload keeps the previous zones, and the
 * configured number never silently differs from the one that is served.
 */
import { HEADER_SIZE, OUR_UDP_PAYLOAD } from '../wire/constants.js';
import { BARE_OPT_SIZE } from '../wire/badvers.js';
import { wireLength } from '../wire/name.js';

/** One AAAA owned by a pointer to the question name: pointer 2, type/class/TTL/length 10, address 16. */
export const AAAA_RECORD_BYTES = 2 + 10 + 16;

/** Bytes of a direct AAAA answer for `serviceName` (canonical) with `answers` records and a bare OPT. */
export function aaaaAnswerBytes(serviceName: string, answers: number): number {
  return HEADER_SIZE + wireLength(serviceName) + 4 + answers * AAAA_RECORD_BYTES + BARE_OPT_SIZE;
}

/** The most AAAA records an answer for `serviceName` can carry within 1232 bytes. */
export function maxAnswersThatFit(serviceName: string): number {
  return Math.floor((OUR_UDP_PAYLOAD - aaaaAnswerBytes(serviceName, 0)) / AAAA_RECORD_BYTES);
}

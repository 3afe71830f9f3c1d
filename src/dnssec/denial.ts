/**
 * Compact denial of existence (RFC 9824): nothing is precomputed per name and no chain can be walked. A name
 * that does not exist is answered NODATA with an NSEC at the query name whose next name is its immediate
 * successor and whose bitmap is NXNAME + RRSIG + NSEC (3.1); a name without the asked type gets the same NSEC
 * shape with the types that do exist there (3.2; an empty non-terminal: RRSIG + NSEC only); the NSEC at an
 * unsigned delegation points beside the child zone and has no DS bit (3.4). Each of these NSECs is then signed
 * like any RRset (rrsig.ts), with the negative TTL (RFC 9077: the lesser of the SOA's TTL and its MINIMUM). With
 * DO=1 a missing name is answered NOERROR (RFC 9824 3.1); the NXDOMAIN stays for DO=0.
 */
import { RRType } from '../wire/constants.js';
import { canonicalNameWire, immediateSuccessor, successorBeside } from './names.js';
import { encodeTypeBitmap } from './type-bitmap.js';

/** RFC 9824 2: the meta-type that marks a compact answer for a name that does not exist. */
export const NXNAME = 128;

/** NSEC rdata: the next name (uncompressed; RFC 6840 5.1 leaves its case alone) and the type bitmap. */
export function nsecRdata(next: string, types: Iterable<number>): Buffer {
  return Buffer.concat([canonicalNameWire(next), encodeTypeBitmap(types)]);
}

/** The NSEC for a query name that does not exist (owner: the query name). */
export function nxnameNsec(qname: string): Buffer {
  return nsecRdata(immediateSuccessor(qname), [NXNAME, RRType.RRSIG, RRType.NSEC]);
}

/** The NSEC for a name that exists without the asked type (owner: the name); `types` are those it has. */
export function nodataNsec(name: string, types: Iterable<number>): Buffer {
  return nsecRdata(immediateSuccessor(name), [...types, RRType.RRSIG, RRType.NSEC]);
}

/**
 * The NSEC at an unsigned delegation (owner: the delegation point), proving there is no DS: NS (and whatever
 * else is listed, never DS) + RRSIG + NSEC.
 */
export function referralNsec(delegation: string, types: Iterable<number> = [RRType.NS]): Buffer {
  const listed = [...types].filter((t) => t !== RRType.DS);
  return nsecRdata(successorBeside(delegation), [...listed, RRType.RRSIG, RRType.NSEC]);
}

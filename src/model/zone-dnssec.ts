/**
 * The zone file's `dnssec:` key: `{ algorithm: ECDSAP256SHA256 | ED25519, validity?: 14d }` (its schema is
 * schema/dnssec.ts); the validity's bounds are the rule here. Without the key a zone is unsigned.
 */
import { durationSeconds } from '../util/duration.js';
import type { Input } from './input.js';
import { ZoneDnssecSchema } from './schema/dnssec.js';
import type { ZoneDnssec } from './types.js';

export const DEFAULT_VALIDITY_SECONDS = 14 * 86_400;
/** Below a day a validator with a skewed clock, or a cached answer, meets expired signatures too easily. */
const MIN_VALIDITY_SECONDS = 86_400;
/** RFC 4034 3.1.5 serial arithmetic: a window must stay well under 2^31 seconds (~68 years); a year is plenty. */
const MAX_VALIDITY_SECONDS = 366 * 86_400;

/** The `dnssec` key of a zone file, or undefined (with a problem recorded at its path) when it is not valid. */
export function readZoneDnssec(input: Input): ZoneDnssec | undefined {
  const d = input.as(ZoneDnssecSchema);
  if (!d) return undefined;
  let validity = DEFAULT_VALIDITY_SECONDS;
  if (d.validity !== undefined) {
    const seconds = durationSeconds(d.validity);
    if (seconds === undefined || seconds < MIN_VALIDITY_SECONDS || seconds > MAX_VALIDITY_SECONDS) {
      return input.at('validity').issue('must be a duration from 1d to 366d (e.g. 14d)');
    }
    validity = seconds;
  }
  return { algorithm: d.algorithm, validitySeconds: validity };
}

/**
 * The zone file's `dnssec:` key: `{ algorithm: ECDSAP256SHA256 | ED25519, validity?: 14d }`. Kept apart from
 * loader.ts so the key's syntax lives in one small place (the loader only calls `readZoneDnssec`). Without the
 * key a zone is unsigned.
 */
import type { Node } from 'yaml';
import { parseDuration } from '../util/duration.js';
import type { YamlReader } from './yaml-walk.js';
import { DNSSEC_ALGORITHMS, type DnssecAlgorithmName, type ZoneDnssec } from './types.js';

export const DEFAULT_VALIDITY_SECONDS = 14 * 86_400;
/** Below a day a validator with a skewed clock, or a cached answer, meets expired signatures too easily. */
const MIN_VALIDITY_SECONDS = 86_400;
/** RFC 4034 3.1.5 serial arithmetic: a window must stay well under 2^31 seconds (~68 years); a year is plenty. */
const MAX_VALIDITY_SECONDS = 366 * 86_400;
const KEYS = ['algorithm', 'validity'] as const;

/** `14d`, or any duration util/duration.ts reads (`36h`, a number of seconds): seconds, or undefined. */
function validitySeconds(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const days = /^(\d+)d$/.exec(value.trim());
    if (days) return Number(days[1]) * 86_400;
  }
  const ms = parseDuration(value);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

/** The `dnssec` key of a zone file, or undefined (with an error recorded at its line) when it is not valid. */
export function readZoneDnssec(r: YamlReader, node: Node | null): ZoneDnssec | undefined {
  const m = r.map(node, 'dnssec', KEYS);
  if (!m) return undefined;
  const algEntry = m.get('algorithm');
  if (!algEntry) return r.error(node, 'dnssec', `missing required key "algorithm" (${DNSSEC_ALGORITHMS.join(' or ')})`);
  const algorithm = r.scalar(algEntry.value);
  if (typeof algorithm !== 'string' || !(DNSSEC_ALGORITHMS as readonly string[]).includes(algorithm)) {
    return r.error(algEntry.value, 'dnssec.algorithm', `must be ${DNSSEC_ALGORITHMS.join(' or ')}, not ${JSON.stringify(algorithm)}`);
  }
  let validity = DEFAULT_VALIDITY_SECONDS;
  const validityEntry = m.get('validity');
  if (validityEntry) {
    const seconds = validitySeconds(r.scalar(validityEntry.value));
    if (seconds === undefined || seconds < MIN_VALIDITY_SECONDS || seconds > MAX_VALIDITY_SECONDS) {
      return r.error(validityEntry.value, 'dnssec.validity', 'must be a duration from 1d to 366d (e.g. 14d)');
    }
    validity = seconds;
  }
  return { algorithm: algorithm as DnssecAlgorithmName, validitySeconds: validity };
}

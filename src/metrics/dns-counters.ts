/**
 * Query-path counters. Plain typed arrays indexed by small integers, so counting a query costs a few
 * nanoseconds and no allocation; prom-client reads them only when /metrics is scraped.
 */
import { RRType, typeName } from '../wire/constants.js';

/** Query types with their own label; everything else is counted as OTHER (keeps label cardinality bounded). */
const TRACKED_TYPES = [RRType.A, RRType.AAAA, RRType.CNAME, RRType.NS, RRType.SOA, RRType.MX, RRType.TXT, RRType.SRV, RRType.CAA, RRType.ANY, 65, 12, RRType.DS] as const;
const TYPE_INDEX = new Map<number, number>(TRACKED_TYPES.map((t, i) => [t, i]));
export const TYPE_LABELS = [...TRACKED_TYPES.map((t) => typeName(t)), 'OTHER'];
const OTHER = TRACKED_TYPES.length;
export const RCODE_SLOTS = 24;
export const TRANSPORTS = ['udp', 'tcp'] as const;

export class DnsCounters {
  /** [transport][rcode][type] flattened. */
  readonly queries = new Float64Array(TRANSPORTS.length * RCODE_SLOTS * TYPE_LABELS.length);
  readonly truncated = new Float64Array(TRANSPORTS.length);
  /** Dropped packets: runts and responses. */
  readonly dropped = new Float64Array(TRANSPORTS.length);
  /** `${service}\u0000${region}` -> answers. */
  readonly answers = new Map<string, number>();

  countQuery(transport: 0 | 1, rcode: number, qtype: number): void {
    const t = TYPE_INDEX.get(qtype) ?? OTHER;
    const r = rcode < RCODE_SLOTS ? rcode : RCODE_SLOTS - 1;
    this.queries[(transport * RCODE_SLOTS + r) * TYPE_LABELS.length + t]!++;
  }

  countAnswer(service: string, region: string | undefined): void {
    const key = `${service}\u0000${region ?? ''}`;
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
  }

  /** Every non-zero query counter with its labels. */
  *queryEntries(): Generator<[labels: { transport: string; rcode: number; qtype: string }, value: number]> {
    const types = TYPE_LABELS.length;
    for (let i = 0; i < this.queries.length; i++) {
      const v = this.queries[i]!;
      if (v === 0) continue;
      const type = i % types;
      const rest = (i - type) / types;
      const rcode = rest % RCODE_SLOTS;
      const transport = (rest - rcode) / RCODE_SLOTS;
      yield [{ transport: TRANSPORTS[transport]!, rcode, qtype: TYPE_LABELS[type]! }, v];
    }
  }
}

/**
 * Query-path counters. Plain typed arrays indexed by small integers, so counting a query costs a few
 * nanoseconds and no allocation; prom-client reads them only when /metrics is scraped.
 *
 * Labels are the ecosystem's words, as CoreDNS's `coredns_dns_responses_total` has them: `rcode="NXDOMAIN"`,
 * `qtype="HTTPS"`, never numbers. Both label sets are fixed lists with an OTHER bucket, so a client sending
 * odd types (or a future rcode) cannot grow the number of series.
 */
import { Rcode, RRType } from '../wire/constants.js';

/** Query types with their own label; everything else is counted as OTHER. PTR and HTTPS have no codec constant. */
const TRACKED_TYPES = [
  [RRType.A, 'A'],
  [RRType.AAAA, 'AAAA'],
  [RRType.CNAME, 'CNAME'],
  [RRType.NS, 'NS'],
  [RRType.SOA, 'SOA'],
  [RRType.MX, 'MX'],
  [RRType.TXT, 'TXT'],
  [RRType.SRV, 'SRV'],
  [RRType.CAA, 'CAA'],
  [RRType.ANY, 'ANY'],
  [65, 'HTTPS'],
  [12, 'PTR'],
  [RRType.DS, 'DS'],
] as const;
const TYPE_INDEX = new Map<number, number>(TRACKED_TYPES.map(([code], i) => [code, i]));
export const TYPE_LABELS: readonly string[] = [...TRACKED_TYPES.map(([, name]) => name), 'OTHER'];
const OTHER_TYPE = TRACKED_TYPES.length;

/**
 * Response codes with their own label (RFC 1035, 2136, 6891, 7873 mnemonics, as dig and CoreDNS print them);
 * anything else, e.g. TSIG codes this server never sends, is OTHER.
 */
const TRACKED_RCODES = [
  [Rcode.NOERROR, 'NOERROR'],
  [Rcode.FORMERR, 'FORMERR'],
  [Rcode.SERVFAIL, 'SERVFAIL'],
  [Rcode.NXDOMAIN, 'NXDOMAIN'],
  [Rcode.NOTIMP, 'NOTIMP'],
  [Rcode.REFUSED, 'REFUSED'],
  [6, 'YXDOMAIN'],
  [7, 'YXRRSET'],
  [8, 'NXRRSET'],
  [9, 'NOTAUTH'],
  [10, 'NOTZONE'],
  [Rcode.BADVERS, 'BADVERS'],
  [Rcode.BADCOOKIE, 'BADCOOKIE'],
] as const;
export const RCODE_LABELS: readonly string[] = [...TRACKED_RCODES.map(([, name]) => name), 'OTHER'];
const OTHER_RCODE = TRACKED_RCODES.length;
/** Extended rcodes are 12 bits: one table lookup instead of a Map on the query path. */
const RCODE_INDEX = new Uint8Array(4096).fill(OTHER_RCODE);
TRACKED_RCODES.forEach(([code], i) => (RCODE_INDEX[code] = i));

export const TRANSPORTS = ['udp', 'tcp'] as const;

export class DnsCounters {
  /** [transport][rcode slot][type slot] flattened. */
  readonly queries = new Float64Array(TRANSPORTS.length * RCODE_LABELS.length * TYPE_LABELS.length);
  readonly truncated = new Float64Array(TRANSPORTS.length);
  /** Dropped packets: runts and responses. */
  readonly dropped = new Float64Array(TRANSPORTS.length);
  /** `${service}\u0000${region}` -> answers. */
  readonly answers = new Map<string, number>();

  countQuery(transport: 0 | 1, rcode: number, qtype: number): void {
    const t = TYPE_INDEX.get(qtype) ?? OTHER_TYPE;
    const r = RCODE_INDEX[rcode] ?? OTHER_RCODE;
    this.queries[(transport * RCODE_LABELS.length + r) * TYPE_LABELS.length + t]!++;
  }

  /**
   * service -> region -> its `answers` key. Building the key per query (a string concatenated, then hashed
   * for the lookup) was a visible share of a steered query's CPU; the snapshot's service and region names
   * are the same strings query after query, with their hashes cached in them.
   */
  private readonly answerKeys = new Map<string, Map<string, string>>();

  countAnswer(service: string, region: string | undefined): void {
    let regions = this.answerKeys.get(service);
    if (!regions) this.answerKeys.set(service, (regions = new Map<string, string>()));
    const r = region ?? '';
    let key = regions.get(r);
    if (key === undefined) regions.set(r, (key = `${service}\u0000${r}`));
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
  }

  /** Queries answered (every label set summed). */
  total(): number {
    let n = 0;
    for (const v of this.queries) n += v;
    return n;
  }

  /** Every non-zero query counter with its labels. */
  *queryEntries(): Generator<[labels: { transport: string; rcode: string; qtype: string }, value: number]> {
    const types = TYPE_LABELS.length;
    const rcodes = RCODE_LABELS.length;
    for (let i = 0; i < this.queries.length; i++) {
      const v = this.queries[i]!;
      if (v === 0) continue;
      const type = i % types;
      const rest = (i - type) / types;
      const rcode = rest % rcodes;
      const transport = (rest - rcode) / rcodes;
      yield [{ transport: TRANSPORTS[transport]!, rcode: RCODE_LABELS[rcode]!, qtype: TYPE_LABELS[type]! }, v];
    }
  }
}

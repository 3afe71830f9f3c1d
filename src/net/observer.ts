import type { ParseOutcome, ParsedQuery } from '../wire/query.js';
import type { AnswerInfo, Transport } from '../answer/responder.js';

/**
 * Called after each answered (or dropped) query, synchronously: metrics and the query log hang here.
 * `durationMs` is the query-path time for sampled queries and -1 for the others.
 */
export type QueryObserver = (q: ParsedQuery, outcome: ParseOutcome, info: AnswerInfo, transport: Transport, peer: string, durationMs: number) => void;

/** One observer out of several (or none). */
export function combineObservers(list: QueryObserver[]): QueryObserver | undefined {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  return (q, outcome, info, transport, peer, durationMs) => {
    for (const o of list) o(q, outcome, info, transport, peer, durationMs);
  };
}

/** Query-path timing is sampled: one query in this many is timed. */
export const TIMING_SAMPLE_MASK = 63;

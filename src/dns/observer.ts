import type { ParseOutcome, ParsedQuery } from './query.js';
import type { AnswerInfo, Transport } from './responder.js';

/** Called after each answered (or dropped) query, synchronously: metrics and query logs hang here. */
export type QueryObserver = (q: ParsedQuery, outcome: ParseOutcome, info: AnswerInfo, transport: Transport, peer: string) => void;

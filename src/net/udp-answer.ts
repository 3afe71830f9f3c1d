/**
 * One UDP datagram in, its response (or nothing) out: what both UDP I/O implementations (dgram and batch) do
 * per query, so they answer alike. Synchronous; a bug costs one answer, never the process.
 */
import type { Logger } from 'pino';
import { ParsedQuery, ParseOutcome } from '../wire/query.js';
import type { Responder } from '../answer/responder.js';
import { TIMING_SAMPLE_MASK, type QueryObserver } from './observer.js';

/**
 * Longest UDP query read. The batch module's receive slots are this big, and dgram reads the same much, so a
 * longer datagram gets the same answer from both: FORMERR (its header is readable, its body is cut). No
 * resolver sends a query this long: a maximal name with every option it might carry is under 600 bytes.
 */
export const MAX_UDP_QUERY = 4096;

export class DatagramAnswerer {
  private readonly query = new ParsedQuery();
  private readonly peer: { address: string; family: 4 | 6 } = { address: '', family: 4 };
  private count = 0;
  /** Datagrams longer than MAX_UDP_QUERY (answered FORMERR, or dropped when not a query). */
  oversized = 0;

  constructor(
    private readonly responder: Responder,
    private readonly log: Logger,
    private readonly observer?: QueryObserver,
  ) {}

  /**
   * The response to `msg` from `address`, or undefined to send nothing. `cut`: the datagram was longer than
   * `msg` (only its first MAX_UDP_QUERY bytes were read). The returned buffer is valid until the next call.
   */
  answer(msg: Buffer, cut: boolean, address: string, family: 4 | 6): Buffer | undefined {
    try {
      const timed = this.observer !== undefined && (++this.count & TIMING_SAMPLE_MASK) === 0;
      const t0 = timed ? performance.now() : 0;
      const q = this.query;
      let outcome = q.parse(msg);
      if (cut) {
        this.oversized++;
        // A response or a runt stays dropped; anything else has lost part of its body.
        if (outcome !== ParseOutcome.DROP) outcome = ParseOutcome.FORMERR;
      }
      const peer = this.peer;
      peer.address = address;
      peer.family = family;
      const out = this.responder.respond(q, outcome, msg, peer, 'udp');
      const elapsed = timed ? performance.now() - t0 : -1;
      this.observer?.(q, outcome, this.responder.info, 'udp', address, elapsed);
      return out;
    } catch (err) {
      this.log.error({ err, peer: address }, 'query failed');
      return undefined;
    }
  }
}

/**
 * Warms the code a decision cache miss runs (parsing the query, the responder, locating the client, computing
 * the decision, the cache, writing the answer) right after the DNS listeners bind, so that the first burst of
 * clients the cache does not know yet meets optimized code.
 *
 * Why: an ECS spray's first burst arrives with the cache empty, so nearly every query is a miss, and a miss on
 * code V8 has not optimized yet costs several times a warm one. Measured in one process with the bundled
 * database and the example zone (bench/warm-up.ts: the first 12 000 decisions of distinct /24s on a fresh
 * snapshot, CPU time): 350-710 ms cold, 110-230 ms after this warm-up; the cache is cold both times (its own
 * caches are dropped), so the difference is JIT warm-up, not cache contents. At 10 k q/s the cold figure is more than the core has, and
 * the queue it builds is what a legitimate client's p99 saw (see bench/ecs-flood.ts).
 *
 * It answers made-up queries (the located services' names, A and AAAA, ECS from clients spread over the address
 * space) with a Responder of its own (no rate limiting, no cookies, nothing sent, no metrics) whose decision
 * cache is a scratch one dropped after each turn, over the real snapshot: no real client's answer or cache entry
 * comes from here, and the hit/miss counters are left as they were. The whole answer path, not decide() alone:
 * with only decide() warmed, `--trace-deopt` showed steering's code deoptimized and recompiled in the first
 * second of the first spray (code dependencies invalidated once real answers were first written, and objects
 * of classes the warm-up had not made), and bench:ecs-flood's first burst had p99 of 56-190 ms (three runs)
 * against 15-50 ms with this. A few at a time, between real queries, so no query waits long behind it; stop()
 * when closing.
 */
import { decisionCacheStats } from '../routing/decide.js';
import { Responder } from './responder.js';
import { buildQuery } from './explain.js';
import { ParsedQuery } from '../wire/query.js';
import { DecisionCache } from '../routing/decision-cache.js';
import type { Client } from '../routing/decision.js';
import { RRType } from '../wire/constants.js';
import type { ServiceIndex } from '../model/indexes.js';
import type { Snapshot } from '../snapshot/types.js';

/** Enough for V8 to optimize the miss path (see above); costs about 0.3-0.5 s of CPU once per process. */
export const WARM_UP_DECISIONS = 8000;
/** Per turn of the event loop: a millisecond or two while the code is still cold, so no query waits long. */
const PER_TURN = 10;
const PEER = { address: '127.0.0.1', family: 4 } as const;
const query = new ParsedQuery();

export interface WarmUp {
  /** Resolves with how many decisions were made once it is over (finished, stopped, or nothing to warm). */
  readonly done: Promise<number>;
  stop(): void;
}

export function warmDecisionPath(current: () => Snapshot, total = WARM_UP_DECISIONS): WarmUp {
  let stopped = false;
  let made = 0;
  let timer: NodeJS.Immediate | undefined;
  const client: Client = { address: Buffer.alloc(16), family: 4, sourcePrefix: 24, viaEcs: true };
  let finish: (n: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));
  const turn = () => {
    timer = undefined;
    const snap = current();
    const located = [...snap.services.values()].filter(isLocated);
    if (stopped || located.length === 0 || made >= total) return finish(made);
    // A cache of its own per turn: the made-up clients are mostly misses (the path to warm), and it still
    // takes the cache's lookups and inserts. The snapshot itself is the real one, not a copy with another
    // cache: a copy is an object of another hidden class, and the code optimized on it deoptimized on the
    // first real miss (seen with --trace-deopt in bench:ecs-flood's first burst).
    const scratch = new DecisionCache(PER_TURN);
    const responder = new Responder(() => snap, Math.random, undefined, undefined, scratch);
    const { hits, misses } = decisionCacheStats;
    for (const end = Math.min(total, made + PER_TURN); made < end; made++) {
      madeUpClient(client, made);
      // The whole answer path, as a query from this client's block would take it (parse, respond, steer,
      // write), not decide() alone: code first run by real traffic after the warm-up was what deoptimized.
      const msg = buildQuery(located[made % located.length]!.service.name, (made & 1) === 0 ? RRType.A : RRType.AAAA, { family: client.family, prefix: client.sourcePrefix, network: client.address });
      responder.respond(query, query.parse(msg), msg, PEER, 'udp');
    }
    decisionCacheStats.hits = hits;
    decisionCacheStats.misses = misses;
    timer = setImmediate(turn);
  };
  timer = setImmediate(turn);
  return {
    done,
    stop: () => {
      stopped = true;
      if (timer) clearImmediate(timer);
      finish(made);
    },
  };
}

function isLocated(svc: ServiceIndex): boolean {
  return svc.service.policy === 'latency' || svc.service.policy === 'geo';
}

/** The i-th made-up ECS client: 7 in 8 an IPv4 /24, else an IPv6 /56, spread by an odd multiplier. */
function madeUpClient(c: Client, i: number): void {
  const a = c.address;
  a.fill(0);
  const spread = Math.imul(i, 40503) >>> 0;
  if ((i & 7) !== 7) {
    c.family = 4;
    c.sourcePrefix = 24;
    a.writeUIntBE(spread & 0xffffff, 0, 3);
  } else {
    c.family = 6;
    c.sourcePrefix = 56;
    a[0] = 0x20 | (spread & 0x0f); // 2000::/4, where the assigned unicast space is
    a.writeUIntBE((spread >>> 4) & 0xffffff, 1, 3);
    a.writeUIntBE(i & 0xffffff, 4, 3);
  }
}

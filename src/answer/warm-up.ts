/**
 * Warms the code of the decision path (locating a client, computing a decision, the decision cache) right after
 * the DNS listeners bind, so that the first burst of clients the cache does not know yet meets optimized code.
 *
 * Why: an ECS spray's first burst arrives with the cache empty, so nearly every query is a miss, and a miss on
 * code V8 has not optimized yet costs several times a warm one. Measured in one process with the bundled
 * database and the example zone (bench/warm-up.ts: the first 12 000 decisions of distinct /24s on a fresh
 * snapshot, CPU time): 350-710 ms cold, 110-230 ms after this warm-up; the cache is cold both times (its own
 * caches are dropped), so the difference is JIT warm-up, not cache contents. At 10 k q/s the cold figure is more than the core has, and
 * the queue it builds is what a legitimate client's p99 saw (see bench/ecs-flood.ts).
 *
 * The decisions are made for made-up clients spread over the address space, into caches of their own that are
 * then dropped: no real client's answer or cache entry comes from here, and the hit/miss counters are left as
 * they were. A few at a time, between real queries, so no query waits long behind it; stop() when closing.
 */
import { decide, decisionCacheStats } from '../routing/decide.js';
import { DecisionCache } from '../routing/decision-cache.js';
import type { Client } from '../routing/decision.js';
import { RRType } from '../wire/constants.js';
import type { ServiceIndex } from '../model/indexes.js';
import type { Snapshot } from './types.js';

/** Enough for V8 to optimize the miss path (see above); costs about 0.3-0.5 s of CPU once per process. */
export const WARM_UP_DECISIONS = 8000;
/** Per turn of the event loop: a millisecond or two while the code is still cold, so no query waits long. */
const PER_TURN = 10;

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
    // takes the cache's lookups and inserts.
    const view = { ...snap, decisions: new DecisionCache(PER_TURN) };
    const { hits, misses } = decisionCacheStats;
    for (const end = Math.min(total, made + PER_TURN); made < end; made++) {
      madeUpClient(client, made);
      decide(view, located[made % located.length]!, (made & 1) === 0 ? RRType.A : RRType.AAAA, client);
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

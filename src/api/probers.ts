/**
 * Which remote probers may report through `POST /v1/probes`. A prober is known when it is configured
 * (`--probers`) or, with `--api-token` set, once an authenticated report registered it; without a token only
 * configured names are accepted. Registration is bounded (MAX_PROBERS): every prober is one vote in the quorum
 * and one metric series, so names made up by a client must neither outvote the real probers nor grow the state.
 *
 * "Registered" means "has probe states in the store": the registry follows the store's change feed and counts
 * the probers present there, so registrations are shared by every node of a Redis deployment, and a prober
 * pruned for staleness (store/probe-pruner.ts) frees its place.
 */
import { MAX_PROBERS } from '../config.js';
import { PROBER_STALE_FACTOR } from '../store/probe-pruner.js';
import { splitProbeKey } from '../store/keys.js';
import type { StoreChange } from '../store/types.js';
import type { ProberState } from '../health/probe-state.js';
import { ApiError } from './errors.js';

export interface ProberRegistryOptions {
  /** `--probers`: always accepted, never counted against the limit. */
  configured: readonly string[];
  /** This node's own checker reports under the node id, straight to the store, never through the API. */
  nodeId: string;
  /** Whether an authenticated report may register a new prober (`--api-token` is set). */
  registration: boolean;
  max?: number;
}

export class ProberRegistry {
  readonly configured: ReadonlySet<string>;
  readonly max: number;
  /** Probers with states in the store, and the keys of those states. */
  private readonly inStore = new Map<string, Set<string>>();
  /** Probers admitted whose first write is not acknowledged yet: they hold a place meanwhile. */
  private readonly pending = new Set<string>();
  private readonly goneListeners: ((prober: string) => void)[] = [];
  /** Refused reports, by reason (for metrics). */
  readonly rejected = { unknown: 0, limit: 0 };

  constructor(private readonly opts: ProberRegistryOptions) {
    this.configured = new Set(opts.configured);
    this.max = opts.max ?? MAX_PROBERS;
  }

  /** Start from the store's state (as loaded at start). */
  seed(probes: ReadonlyMap<string, ProberState>): void {
    this.rebuild(probes.keys());
  }

  /** Keep the registry in step with a change of the store (made by any node). */
  apply(change: StoreChange): void {
    if (change.kind === 'resync') {
      this.rebuild(change.data.probes.keys());
      return;
    }
    if (change.kind !== 'probes') return;
    for (const [key, state] of change.states) {
      const prober = splitProbeKey(key)[2];
      let keys = this.inStore.get(prober);
      if (state) {
        if (!keys) this.inStore.set(prober, (keys = new Set()));
        keys.add(key);
        this.pending.delete(prober);
      } else if (keys?.delete(key) && keys.size === 0) {
        this.inStore.delete(prober);
        this.gone(prober);
      }
    }
  }

  /** Called when a prober has no state left (pruned, or its region deleted): drop what is kept per prober. */
  onGone(listener: (prober: string) => void): void {
    this.goneListeners.push(listener);
  }

  private gone(prober: string): void {
    for (const l of this.goneListeners) l(prober);
  }

  private rebuild(keys: Iterable<string>): void {
    const before = [...this.inStore.keys()];
    this.inStore.clear();
    for (const key of keys) {
      const prober = splitProbeKey(key)[2];
      let set = this.inStore.get(prober);
      if (!set) this.inStore.set(prober, (set = new Set()));
      set.add(key);
    }
    for (const p of before) if (!this.inStore.has(p)) this.gone(p);
  }

  /** Probers registered through the API or by other nodes' checkers (present in the store, not configured). */
  registeredCount(): number {
    let n = 0;
    for (const p of this.inStore.keys()) if (!this.configured.has(p) && p !== this.opts.nodeId) n++;
    for (const p of this.pending) if (!this.inStore.has(p)) n++;
    return n;
  }

  /**
   * May `prober` report? Throws a 403 ApiError saying why not. When the report registers the prober, it holds
   * its place until `settle` is called once the write is done (stored or not).
   */
  admit(prober: string): { settle(): void } {
    const noop = { settle: () => undefined };
    if (prober === this.opts.nodeId) {
      this.rejected.unknown++;
      throw new ApiError(403, `prober "${prober}" is this node's id: its own checker reports under that name`, 'prober');
    }
    if (this.configured.has(prober)) return noop;
    if (!this.opts.registration) {
      this.rejected.unknown++;
      throw new ApiError(403, `prober "${prober}" is not configured: without --api-token only the probers named by --probers (GSLB_PROBERS) may report`, 'prober');
    }
    if (this.inStore.has(prober) || this.pending.has(prober)) return noop;
    if (this.registeredCount() >= this.max) {
      this.rejected.limit++;
      throw new ApiError(
        403,
        `prober "${prober}" not registered: the limit of ${this.max} registered probers is reached; a place frees when a prober is pruned (no report for ${PROBER_STALE_FACTOR} × the freshness window), or name it in --probers`,
        'prober',
      );
    }
    this.pending.add(prober);
    return {
      // Once stored, the store's change has put the prober in `inStore` (both stores notify before the write
      // resolves); not stored, it gives its place back.
      settle: () => this.pending.delete(prober),
    };
  }
}

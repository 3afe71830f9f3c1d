/**
 * The per-snapshot decision cache: two generations of plain Maps. A hit costs one Map lookup (a hit in the
 * old generation is promoted); when the young generation holds `generation` entries it becomes the old one
 * and the previous old one is dropped. That bounds memory at 2 x `generation` entries, keeps any working set
 * up to `generation` clients entirely cached, and approximates LRU without the per-hit bookkeeping an exact
 * LRU needs, which measured about 7 % of the query path.
 */
import type { Decision } from './decision.js';

export class DecisionCache {
  private young = new Map<string, Decision>();
  private old = new Map<string, Decision>();
  constructor(private readonly generation: number) {}

  get(key: string): Decision | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: string, value: Decision): void {
    this.young.set(key, value);
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}

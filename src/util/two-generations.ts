/**
 * A bounded map of two generations of plain Maps. A hit costs one Map lookup (a hit in the old generation is
 * promoted); when the young generation holds `generation` entries it becomes the old one and the previous old
 * one is dropped. That bounds memory at 2 x `generation` entries, keeps any working set up to `generation`
 * keys entirely cached, and approximates LRU without the per-hit bookkeeping an exact LRU needs, which
 * measured about 7 % of the query path.
 */
export class TwoGenerationMap<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  constructor(private readonly generation: number) {}

  get(key: string): V | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: string, value: V): void {
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

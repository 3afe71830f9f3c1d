/** The one mutable reference of the query path: readers take `current`, writers `swap` a finished snapshot. */
import type { Snapshot } from './types.js';

export class SnapshotHolder {
  private snapshot: Snapshot;
  private readonly listeners: ((s: Snapshot) => void)[] = [];

  constructor(initial: Snapshot) {
    this.snapshot = initial;
  }

  /** Bound so the query path can hold it as a plain function. */
  readonly current = (): Snapshot => this.snapshot;

  get version(): number {
    return this.snapshot.version;
  }

  swap(next: Snapshot): void {
    this.snapshot = next;
    for (const l of this.listeners) l(next);
  }

  onSwap(listener: (s: Snapshot) => void): void {
    this.listeners.push(listener);
  }
}

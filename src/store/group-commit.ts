/**
 * The embedded store's commits, persist first: a write is applied to a copy of the state, the copy is
 * written to the file, and only then does the change reach memory and the change feed (DNS, the API). A
 * write whose file could not be written is applied nowhere, and no later flush carries it. Concurrent writes
 * share one file write (group commit): each batch is everything queued while the previous write ran.
 */
import type { Logger } from 'pino';
import { applyChange, cloneState } from './state-change.js';
import type { StateData, StoreChange } from './types.js';

/** A durable write waiting for the next commit. */
interface QueuedWrite {
  /** The write's changes, computed against the state as it will be when this write lands (earlier ones applied). */
  compute(draft: StateData): StoreChange[];
  resolve(): void;
  reject(err: unknown): void;
}

export type ComputeChanges = QueuedWrite['compute'];

export interface CommitDeps {
  /** The state in memory (what a batch is computed against). */
  current(): StateData;
  /** Make `state` durable, or reject (then the batch is applied nowhere). */
  persist(state: StateData): Promise<void>;
  /** A committed change: apply it to memory and tell the listeners. */
  land(change: StoreChange): void;
  log: Logger;
}

export class GroupCommit {
  private queue: QueuedWrite[] = [];
  private committing: Promise<void> | undefined;
  /** A commit without writes of its own is wanted (background flush of own check results, retry). */
  private flushWanted = false;
  /** Changes applied to memory directly (own check results, pruning) that are not in the file yet. */
  dirty = false;

  constructor(private readonly d: CommitDeps) {}

  /** Resolves once the write's changes are in the file and then in memory; rejects (applied nowhere) if the file failed. */
  submit(compute: ComputeChanges): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ compute, resolve, reject });
      this.kick();
    });
  }

  /** Write what memory holds (the dirty changes), even with no write queued. */
  flush(): void {
    this.flushWanted = true;
    this.kick();
  }

  /** Resolves when the commit running now (if any) is done. */
  async settled(): Promise<void> {
    await this.committing;
  }

  private kick(): void {
    this.committing ??= this.commitLoop()
      .catch((err: unknown) => this.d.log.error({ err }, 'embedded store commit failed'))
      .finally(() => {
        this.committing = undefined;
        // A write queued after the loop's last look (by a continuation of a resolved write) starts the next one.
        if (this.queue.length > 0 || this.flushWanted) this.kick();
      });
  }

  private async commitLoop(): Promise<void> {
    while (this.queue.length > 0 || this.flushWanted) {
      const batch = this.queue;
      this.queue = [];
      this.flushWanted = false;
      const draft = cloneState(this.d.current());
      const accepted: { w: QueuedWrite; changes: StoreChange[] }[] = [];
      for (const w of batch) {
        try {
          const changes = w.compute(draft);
          for (const c of changes) applyChange(draft, c);
          accepted.push({ w, changes });
        } catch (err) {
          w.reject(err);
        }
      }
      // Own check results applied from here on are not in this draft: they stay dirty for the next commit.
      const hadDirty = this.dirty;
      this.dirty = false;
      try {
        await this.d.persist(draft);
      } catch (err) {
        if (hadDirty) this.dirty = true;
        for (const { w } of accepted) w.reject(err);
        continue;
      }
      for (const { changes } of accepted) for (const c of changes) this.d.land(c);
      for (const { w } of accepted) w.resolve();
    }
  }
}

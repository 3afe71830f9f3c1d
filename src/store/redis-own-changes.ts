/**
 * Every write applies its own change when Redis acknowledges it (so the API reads its own write) and hears it
 * again over pub/sub. The acknowledgement and the notification arrive on different connections, in either
 * order. If the notification came first it was applied in order, possibly followed by newer changes from
 * other nodes; applying the acknowledged change again then would put an older state over them until the next
 * change or resync. So writes are tagged with ids: `echoedFirst` holds own ids already delivered by pub/sub
 * (the acknowledgement then applies nothing), `appliedFirst` own ids applied on acknowledgement (their
 * notification is then not remembered).
 */
import { randomBytes } from 'node:crypto';

/** Bound on the ids remembered (only grows while pub/sub is away). */
const MAX_PENDING_IDS = 10_000;

function boundedAdd(set: Set<string>, id: string): void {
  set.add(id);
  if (set.size <= MAX_PENDING_IDS) return;
  const oldest = set.values().next();
  if (!oldest.done) set.delete(oldest.value);
}

export class OwnChanges {
  private readonly idPrefix = randomBytes(6).toString('hex');
  private idCounter = 0;
  private readonly echoedFirst = new Set<string>();
  private readonly appliedFirst = new Set<string>();

  nextId(): string {
    return `${this.idPrefix}.${++this.idCounter}`;
  }

  /** Was `id` made by this node? */
  isOwn(id: string): boolean {
    return id.startsWith(`${this.idPrefix}.`);
  }

  /** A notification with `id` arrived (it is applied as it comes, in order). */
  heard(id: string): void {
    if (this.isOwn(id) && !this.appliedFirst.delete(id)) boundedAdd(this.echoedFirst, id);
  }

  /** A write of ours was acknowledged: should its change be applied now (pub/sub has not delivered it yet)? */
  acknowledged(id: string): boolean {
    if (this.echoedFirst.delete(id)) return false;
    boundedAdd(this.appliedFirst, id);
    return true;
  }
}

/**
 * What `/v1/status`, `/readyz` and the logs say about the store: `{ kind, up, since, error? }`. `up` means
 * writes can succeed now; `since` is when it last changed; `error` says why it is down.
 */
export interface StoreStatus {
  kind: 'embedded' | 'redis';
  up: boolean;
  /** ISO time of the last change of `up` (or of the start). */
  since: string;
  error?: string;
}

/** Keeps `since` for a store that only says whether it is available (the embedded one): read at each call. */
export class AvailabilityTracker {
  private up: boolean | undefined;
  private since: number;

  constructor(private readonly now: () => number = Date.now) {
    this.since = now();
  }

  status(kind: StoreStatus['kind'], available: boolean): StoreStatus {
    if (this.up !== undefined && this.up !== available) this.since = this.now();
    this.up = available;
    return { kind, up: available, since: new Date(this.since).toISOString(), ...(available ? {} : { error: 'store does not accept writes' }) };
  }
}

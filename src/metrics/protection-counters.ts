/** Query-path counters for RRL and DNS cookies: typed arrays indexed by RrlOutcome / CookieVerdict. */
import { CookieVerdict } from '../protect/cookies.js';
import { RrlOutcome } from '../answer/responder.js';

/** Label of each RrlOutcome other than NOT_LIMITED, in index order (index = outcome - 1). */
export const RRL_LABELS = ['answered', 'slipped', 'dropped'] as const;
/** Label of each CookieVerdict other than NONE (index = verdict - 1). */
export const COOKIE_LABELS = ['client_only', 'valid', 'invalid', 'malformed'] as const;

export class ProtectionCounters {
  readonly rrl = new Float64Array(RRL_LABELS.length);
  readonly cookies = new Float64Array(COOKIE_LABELS.length);
  /** Set once at start by the server. */
  rrlTableBytes = 0;

  count(rrl: RrlOutcome, cookie: CookieVerdict): void {
    if (rrl !== RrlOutcome.NOT_LIMITED) this.rrl[rrl - 1]!++;
    if (cookie !== CookieVerdict.NONE) this.cookies[cookie - 1]!++;
  }
}

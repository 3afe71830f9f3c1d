/**
 * CSK rollover by time (RFC 7583 double-DS, with CDS/CDNSKEY per RFC 7344/8078 so the parent can follow).
 * A rollover is stored once as the new key and three instants; every node derives the phase from its clock
 * alone, so nodes that read the same record move together without talking to each other:
 *
 * - `publish` [startedAt, signAt): the new key is published in DNSKEY, CDS and CDNSKEY beside the old one; the old
 *   key still signs. Lasts the DNSKEY TTL + the propagation delay, so every cached DNSKEY RRset holds the new key
 *   before anything is signed with it.
 * - `parent` [signAt, retireAt): the new key signs; both stay published, so resolvers whose parent DS still
 *   names the old key validate the DNSKEY RRset (signed by both keys) and through it the new signatures. Lasts
 *   the parent wait: the parent's CDS polling + its DS TTL, which this server cannot know.
 * - `stable` from retireAt: only the new key is published (CDS names it alone, so the parent drops the old DS).
 */
import type { SigningKey } from './algorithms.js';

export interface Rollover {
  key: SigningKey;
  /** Milliseconds since the epoch. */
  startedAt: number;
  signAt: number;
  retireAt: number;
}

/** A zone's keys: `keys[0]` signs when no rollover says otherwise; every key of `keys` is published. */
export interface ZoneKeys {
  keys: SigningKey[];
  rollover?: Rollover;
}

export type PhaseName = 'stable' | 'publish' | 'parent';

export interface KeyPhase {
  name: PhaseName;
  /** Milliseconds since the epoch; `from` -Infinity for the first phase, `until` Infinity for the last. */
  from: number;
  until: number;
  signer: SigningKey;
  /** In DNSKEY, CDS and CDNSKEY; each signs the apex's key RRsets. */
  published: SigningKey[];
}

export interface RolloverTimings {
  /** The TTL of the zone's DNSKEY RRset. */
  dnskeyTtlSeconds: number;
  /** How long until every node and cache can have seen a change of the store, on top of the TTL. */
  propagationSeconds: number;
  /** How long the old key stays published once the new one signs: the parent's CDS scan + its DS TTL. */
  parentWaitSeconds: number;
}

/** The phases of `keys` in time order; one `stable` phase when no rollover is recorded. */
export function keyPhases(keys: ZoneKeys): KeyPhase[] {
  const old = keys.keys[0]!;
  const r = keys.rollover;
  if (!r) return [{ name: 'stable', from: -Infinity, until: Infinity, signer: old, published: keys.keys }];
  const both = [...keys.keys, r.key];
  return [
    { name: 'stable', from: -Infinity, until: r.startedAt, signer: old, published: keys.keys },
    { name: 'publish', from: r.startedAt, until: r.signAt, signer: old, published: both },
    { name: 'parent', from: r.signAt, until: r.retireAt, signer: r.key, published: both },
    { name: 'stable', from: r.retireAt, until: Infinity, signer: r.key, published: [r.key] },
  ];
}

/** The phase of `phases` (from keyPhases) at `nowMs`. */
export function phaseAt<P extends Pick<KeyPhase, 'from' | 'until'>>(phases: readonly P[], nowMs: number): P {
  for (const p of phases) if (nowMs < p.until) return p;
  return phases[phases.length - 1]!;
}

/** A rollover is running from its start until the old key is withdrawn; another one must wait. */
export function rolloverRunning(keys: ZoneKeys, nowMs: number): boolean {
  return keys.rollover !== undefined && nowMs < keys.rollover.retireAt;
}

/** The keys as they are once every recorded rollover is over: what a new rollover starts from. */
export function settled(keys: ZoneKeys): ZoneKeys {
  return keys.rollover ? { keys: [keys.rollover.key] } : { keys: keys.keys };
}

/** The keys with a rollover to `next` starting at `nowMs`; undefined while another one is running. */
export function planRollover(keys: ZoneKeys, next: SigningKey, nowMs: number, t: RolloverTimings): ZoneKeys | undefined {
  if (rolloverRunning(keys, nowMs)) return undefined;
  const signAt = nowMs + (t.dnskeyTtlSeconds + t.propagationSeconds) * 1000;
  return { keys: settled(keys).keys, rollover: { key: next, startedAt: nowMs, signAt, retireAt: signAt + t.parentWaitSeconds * 1000 } };
}

/**
 * Keeps this node's copy of the signed zones' keys in step with the store: reads them before a zone set is
 * served, re-reads them every `pollMs` (another node may have started a rollover; the rollover's propagation
 * delay is never shorter than this, so every node publishes the new key before any signs with it), and records
 * rollovers started through the API. Whenever the keys change, `onChange` rebuilds what serves them.
 */
import type { Logger } from 'pino';
import type { ZoneSet } from '../model/types.js';
import { RolloverConflict, startRollover, ZoneKeyring, type ZoneKeyStore } from './dnssec-keys.js';

export const DEFAULT_KEY_POLL_MS = 30_000;
/** Defaults of the rollover timeline: nodes and caches have an hour; parents two days for their CDS scan + DS TTL. */
export const DEFAULT_PROPAGATION_SECONDS = 3_600;
export const DEFAULT_PARENT_WAIT_SECONDS = 2 * 86_400;

export interface KeeperDeps {
  store: ZoneKeyStore;
  log: Logger;
  /** The zone set being served. */
  zoneSet: () => ZoneSet;
  /** The keys changed (a rollover was started or read): rebuild. */
  onChange: () => void;
  pollMs?: number;
}

export class ZoneKeysKeeper {
  readonly keyring: ZoneKeyring;
  /** The rollover timeline's defaults, and the shortest propagation: two polls, so every node has read it. */
  readonly rolloverDefaults: { propagationSeconds: number; parentWaitSeconds: number; minPropagationSeconds: number };
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly deps: KeeperDeps) {
    this.keyring = new ZoneKeyring(deps.store);
    const pollMs = deps.pollMs ?? DEFAULT_KEY_POLL_MS;
    this.rolloverDefaults = {
      propagationSeconds: DEFAULT_PROPAGATION_SECONDS,
      parentWaitSeconds: DEFAULT_PARENT_WAIT_SECONDS,
      minPropagationSeconds: Math.ceil((2 * pollMs) / 1000),
    };
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.deps.pollMs ?? DEFAULT_KEY_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (await this.keyring.refresh(this.deps.zoneSet())) this.deps.onChange();
    } catch (err) {
      // Keep serving the keys held: a store that cannot be read now changes nothing that is signed.
      this.deps.log.warn({ module: 'dnssec' }, `dnssec keys not re-read: ${(err as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  async rollover(apex: string, timings: { propagationSeconds: number; parentWaitSeconds: number }): Promise<'started' | 'running'> {
    const zone = this.deps.zoneSet().zones.find((z) => z.apex === apex);
    if (!zone?.dnssec) throw new Error(`zone ${apex} is not signed`);
    try {
      const { text, keys } = await startRollover(this.deps.store, apex, zone.dnssec.algorithm, { dnskeyTtlSeconds: zone.ttl, ...timings });
      this.keyring.put(apex, zone.dnssec.algorithm, text, keys);
    } catch (err) {
      if (err instanceof RolloverConflict) return 'running';
      throw err;
    }
    const r = this.keyring.get(apex)!.rollover!;
    this.deps.log.info(
      { module: 'dnssec', zone: apex, newKeyTag: r.key.keyTag, signAt: new Date(r.signAt).toISOString(), retireAt: new Date(r.retireAt).toISOString() },
      'dnssec key rollover started',
    );
    this.deps.onChange();
    return 'started';
  }
}

/**
 * This node's copy of the shared state, kept current from the store's change feed, and turned into what
 * snapshots need: Regions for API registrations, measured latencies, probe states grouped by endpoint.
 * While the store is unreachable, the node's own check results are applied here (its local view) and pushed
 * to the store when it returns.
 */
import type { ProbeIndex } from '../health/computed.js';
import { applyResult } from '../health/machine.js';
import type { MeasuredLatency } from '../geo/latency-table.js';
import { parseLatencyClient, readRegionJson } from '../model/loader.js';
import type { Region } from '../model/types.js';
import { BEACON_MIN_SAMPLES, isFresh } from './latency.js';
import { isLoadFresh } from './load.js';
import { passiveFailure } from '../health/passive.js';
import { probeChangeMatters, resyncDiff } from './resync-diff.js';
import { endpointKey, latencyKey, probeKey, splitProbeKey } from './keys.js';
import { emptyState, type RegionRegistration, type StateData, type StoreChange } from './types.js';
import type { ProbeUpdate, ProberState } from '../health/probe-state.js';

export class StateCache {
  private data: StateData = emptyState();
  private readonly regionCache = new Map<string, { updatedAt: number; region: Region | undefined }>();
  /** Probe states by endpoint then prober, kept in step with `data.probes` (never rebuilt per snapshot). */
  private readonly byEndpoint: ProbeIndex = new Map();
  /** Same array while registrations are unchanged, so snapshots can keep their region indexes. */
  private apiRegionsCache: Region[] | undefined;
  /** Local results not yet in the store (it was unreachable), by probe key. */
  readonly unsynced = new Map<string, ProberState>();
  /**
   * The store is unreachable: for every endpoint this node checks itself, only its own result counts (the
   * other probers' states are the last ones heard before the cut, not current). The prober name is the one
   * of the local results (applyLocally); the filtered index is rebuilt only when a state changes.
   */
  private overlay = false;
  private ownProber: string | undefined;
  private overlayIndex: ProbeIndex | undefined;

  get state(): StateData {
    return this.data;
  }

  /**
   * Apply a change; returns whether snapshots must be rebuilt. A probe report that only refreshes a state
   * (same up/down, no transition, its prober already fresh) changes no routing decision: with thousands of
   * checks a second, rebuilding for each batch would cost the query path its latency.
   */
  apply(change: StoreChange, now = Date.now()): boolean {
    switch (change.kind) {
      case 'resync': {
        // Own copies of the maps: the embedded store hands over its live state, and comparing a change with
        // the previous state only works if the store's later writes do not land here first.
        const next: StateData = {
          regions: new Map(change.data.regions),
          drains: new Map(change.data.drains),
          probes: new Map(change.data.probes),
          latency: new Map(change.data.latency),
          load: new Map(change.data.load),
        };
        // What the store does not know yet survives the resync.
        for (const [k, s] of this.unsynced) next.probes.set(k, s);
        // Nearly every resync finds what the change feed already brought: then nothing is rebuilt (resync-diff.ts).
        const diff = resyncDiff(this.data, next, now);
        this.data = next;
        if (diff.regions) this.apiRegionsCache = undefined;
        this.byEndpoint.clear();
        for (const [k, s] of this.data.probes) this.index(k, s);
        return diff.changed;
      }
      case 'region':
        this.apiRegionsCache = undefined;
        if (change.registration) this.data.regions.set(change.name, change.registration);
        else this.data.regions.delete(change.name);
        return true;
      case 'drain':
        if (change.drain) this.data.drains.set(change.name, change.drain);
        else this.data.drains.delete(change.name);
        return true;
      case 'probes': {
        let significant = false;
        for (const [k, s] of change.states) {
          const prev = this.data.probes.get(k);
          if (probeChangeMatters(prev, s, now)) significant = true;
          if (s) this.data.probes.set(k, s);
          else this.data.probes.delete(k);
          this.index(k, s);
          // The store now holds a state for this key that supersedes the local one (only this node writes its
          // own prober's keys, so this is its own later result, a restore, or a deletion). Without this, an
          // entry never pushed (e.g. Redis first reachable after a cold start, where no push runs) was
          // re-applied over the store's newer state at every resync, and a deleted region's states came back.
          this.unsynced.delete(k);
        }
        return significant;
      }
      case 'latency':
        for (const v of change.values) this.data.latency.set(latencyKey(v), v);
        return true;
      case 'load':
        for (const r of change.reports) this.data.load.set(r.region, r);
        return true;
    }
  }

  private index(key: string, state: ProberState | null): void {
    this.overlayIndex = undefined;
    const [region, endpoint, prober] = splitProbeKey(key);
    const k = endpointKey(region, endpoint);
    let m = this.byEndpoint.get(k);
    if (state) {
      if (!m) this.byEndpoint.set(k, (m = new Map<string, ProberState>()));
      m.set(prober, state);
    } else if (m) {
      m.delete(prober);
      if (m.size === 0) this.byEndpoint.delete(k);
    }
  }

  /** The store is down: keep this node's own checks working on its local view. */
  applyLocally(updates: ProbeUpdate[], now: number): void {
    for (const u of updates) {
      if (this.ownProber !== u.prober) this.overlayIndex = undefined;
      this.ownProber = u.prober;
      const key = probeKey(u.region, u.endpoint, u.prober);
      const next = applyResult(this.data.probes.get(key), u.ok, now, u.rise, u.fall, u.rttMs, u.error);
      this.data.probes.set(key, next);
      this.index(key, next);
      this.unsynced.set(key, next);
    }
  }

  /** Turn the local overlay on (store unreachable) or off; returns whether the view changed. */
  setLocalOverlay(on: boolean): boolean {
    if (this.overlay === on) return false;
    this.overlay = on;
    this.overlayIndex = undefined;
    return true;
  }

  probeIndex(): ProbeIndex {
    const own = this.ownProber;
    if (!this.overlay || own === undefined) return this.byEndpoint;
    if (this.overlayIndex) return this.overlayIndex;
    const view: ProbeIndex = new Map();
    for (const [k, m] of this.byEndpoint) {
      const mine = m.get(own);
      view.set(k, mine && m.size > 1 ? new Map([[own, mine]]) : m);
    }
    this.overlayIndex = view;
    return view;
  }

  /** API-registered regions as Regions (converted once per registration version). */
  apiRegions(): Region[] {
    if (this.apiRegionsCache) return this.apiRegionsCache;
    const out: Region[] = [];
    for (const reg of this.data.regions.values()) {
      let cached = this.regionCache.get(reg.name);
      if (!cached || cached.updatedAt !== reg.updatedAt) {
        cached = { updatedAt: reg.updatedAt, region: toRegion(reg) };
        this.regionCache.set(reg.name, cached);
      }
      if (cached.region) out.push(cached.region);
    }
    for (const name of this.regionCache.keys()) if (!this.data.regions.has(name)) this.regionCache.delete(name);
    this.apiRegionsCache = out;
    return out;
  }

  measured(now: number): MeasuredLatency[] {
    const out: MeasuredLatency[] = [];
    for (const l of this.data.latency.values()) {
      if (!isFresh(l, now)) continue;
      // One browser's few reports say little about its network: a beacon average counts once enough came in.
      if (l.source === 'beacon' && l.samples < BEACON_MIN_SAMPLES) continue;
      const client = parseLatencyClient(l.client);
      if (typeof client === 'string') continue;
      out.push({ client, region: l.region, rttMs: l.rttMs, samples: l.samples, updatedAt: l.updatedAt, origin: l.source ?? 'measured' });
    }
    return out;
  }

  /** Region utilization from the load reports still fresh at `now`. */
  utilization(now: number, freshMs: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.data.load.values()) if (isLoadFresh(r, now, freshMs)) out.set(r.region, r.utilization);
    return out;
  }

  /** Passive health failures from fresh load reports, by `${service}|${region}`, with the reason. */
  passiveDown(now: number, freshMs: number): Map<string, string> {
    const out = new Map<string, string>();
    for (const r of this.data.load.values()) {
      if (!r.passive || !isLoadFresh(r, now, freshMs)) continue;
      for (const [service, s] of Object.entries(r.passive)) {
        const why = passiveFailure(s);
        if (why !== undefined) out.set(`${service}|${r.region}`, why);
      }
    }
    return out;
  }

  /** When the next load report still fresh at `now` goes stale (so its shedding stops then). */
  nextLoadExpiry(freshMs: number, now: number): number | undefined {
    let next: number | undefined;
    for (const r of this.data.load.values()) {
      const at = r.at + freshMs + 1;
      if (at > now && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /**
   * When the next learned latency still fresh at `now` expires (stops being fresh: `isFresh` keeps it while
   * `now - updatedAt <= maxAgeMs`). Values that already expired are skipped: they stay in the state until
   * overwritten, and counting them made the snapshot manager rebuild every few ms forever.
   */
  nextLatencyExpiry(maxAgeMs: number, now: number): number | undefined {
    let next: number | undefined;
    for (const l of this.data.latency.values()) {
      const at = l.updatedAt + maxAgeMs + 1;
      if (at <= now) continue;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }
}

/** The stores hand over only registrations that validate (records.ts); this turns one into a Region. */
export function toRegion(reg: RegionRegistration): Region | undefined {
  const { name, services, updatedAt: _u, ...body } = reg;
  const { region } = readRegionJson(name, body, 'api');
  return region ? { ...region, services } : undefined;
}

/**
 * Measured RTTs from client networks to regions, indexed for "the most specific entry for this client and this
 * region": longest CIDR prefix, then country, then continent. For the same client key a real-user beacon
 * average beats a declared (zone file) value, and a measurement an operator posted beats both.
 */
import { PrefixMap } from './prefix-map.js';
import type { LatencyClient, LatencyEntry } from '../model/types.js';

export interface RttEntry {
  rttMs: number;
  /** The client key as written: `198.51.100.0/24`, `DE`, `continent:EU`. */
  client: string;
  origin: 'zone' | 'measured' | 'beacon';
}

export interface MeasuredLatency {
  client: LatencyClient;
  region: string;
  rttMs: number;
  samples: number;
  updatedAt: number;
  /** `measured` (the default): `POST /v1/latency`; `beacon`: browsers' reports (`POST /v1/beacons`). */
  origin?: 'measured' | 'beacon';
}

export interface RttMatch {
  entry: RttEntry;
  kind: 'cidr' | 'country' | 'continent';
  /** For CIDR matches, the prefix length of the entry. */
  prefix?: number;
}

export class LatencyTable {
  private readonly cidrByRegion = new Map<string, PrefixMap<RttEntry>>();
  /** Every CIDR entry of every region: only for narrowing ECS scopes. */
  readonly allCidr = new PrefixMap<true>();
  private readonly byCountry = new Map<string, Map<string, RttEntry>>();
  private readonly byContinent = new Map<string, Map<string, RttEntry>>();
  /** The measured values by `${client}|${region}`, so that a rebuild can tell which ones changed. */
  readonly measured = new Map<string, MeasuredLatency>();

  constructor(declared: readonly LatencyEntry[], measured: readonly MeasuredLatency[] = []) {
    // Later adds replace earlier ones for the same key: declared, then beacons, then posted measurements.
    for (const e of declared) this.add(e.client, e.region, { rttMs: e.rttMs, client: e.client.text, origin: 'zone' });
    const ordered = [...measured.filter((m) => m.origin === 'beacon'), ...measured.filter((m) => m.origin !== 'beacon')];
    for (const m of ordered) {
      this.add(m.client, m.region, { rttMs: m.rttMs, client: m.client.text, origin: m.origin ?? 'measured' });
      this.measured.set(`${m.client.text}|${m.region}|${m.origin ?? 'measured'}`, m);
    }
  }

  private add(client: LatencyClient, region: string, entry: RttEntry): void {
    if (client.kind === 'cidr') {
      let map = this.cidrByRegion.get(region);
      if (!map) this.cidrByRegion.set(region, (map = new PrefixMap()));
      map.add({ family: client.family, prefix: client.prefix, network: client.network, value: entry });
      this.allCidr.add({ family: client.family, prefix: client.prefix, network: client.network, value: true });
      return;
    }
    const index = client.kind === 'country' ? this.byCountry : this.byContinent;
    const key = client.kind === 'country' ? client.country : client.continent;
    let m = index.get(key);
    if (!m) index.set(key, (m = new Map<string, RttEntry>()));
    m.set(region, entry);
  }

  lookup(region: string, addr: Buffer, family: 4 | 6, sourcePrefix: number, country: string | undefined, continent: string | undefined): RttMatch | undefined {
    const cidr = this.cidrByRegion.get(region)?.lookup(addr, family, sourcePrefix);
    if (cidr) return { entry: cidr.entry.value, kind: 'cidr', prefix: cidr.prefix };
    if (country) {
      const e = this.byCountry.get(country)?.get(region);
      if (e) return { entry: e, kind: 'country' };
    }
    if (continent) {
      const e = this.byContinent.get(continent)?.get(region);
      if (e) return { entry: e, kind: 'continent' };
    }
    return undefined;
  }
}

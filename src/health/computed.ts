/**
 * Probe states + drains + regions -> the HealthView a snapshot carries. This runs on every state rebuild over
 * every endpoint, so it computes only what routing needs (up, unverified, since, region verdicts) without
 * building strings or arrays per endpoint; the detailed verdict with reasons and probers (for the API, the
 * status page and transition logs) is computed on demand by `explain`.
 */
import type { RegionIndex } from '../model/indexes.js';
import type { DrainRecord, ProberState } from './probe-state.js';
import { freshnessFor } from './machine.js';
import { FAMILY_LABEL, type AddressFamily } from '../model/families.js';
import { HealthView, type EndpointState, type FamilyHealth, type RegionVerdict } from './view.js';
import { allEndpoints } from './endpoints.js';

/** Probe states by `${region}|${endpoint}`, then by prober. */
export type ProbeIndex = Map<string, Map<string, ProberState>>;

/** One family of a region: its answering endpoints (families.ts), how many are up, and the minimum. */
function familyHealth(r: RegionIndex, family: AddressFamily, states: Map<string, EndpointState>): Required<FamilyHealth> & { endpoints: number } {
  const list = r.answering[family];
  const min = r.region.minHealthy[family];
  if (list.length === 0) return { up: false, settled: false, waiting: 0, reason: `no ${FAMILY_LABEL[family]} endpoints`, endpoints: 0 };
  let up = 0;
  let waiting = 0;
  for (const e of list) {
    const s = states.get(e.address);
    if (s?.up ?? true) up++;
    if (s?.waiting) waiting++;
  }
  const ok = up >= min;
  const reason = ok ? `up: ${up}/${list.length} endpoints up (min-healthy ${min})` : `down: ${up}/${list.length} endpoints up, min-healthy ${min}`;
  return { up: ok, settled: up - waiting >= min, waiting, reason, endpoints: list.length };
}

function familyVerdict(f: Required<FamilyHealth>): FamilyHealth {
  return { up: f.up, settled: f.settled, waiting: f.waiting, reason: f.reason };
}

export function computeHealth(regions: Map<string, RegionIndex>, probes: ProbeIndex, drains: Map<string, DrainRecord>, now: number): HealthView {
  const verdicts = new Map<string, RegionVerdict>();
  let next: number | undefined;
  const note = (t: number) => {
    if (t > now && (next === undefined || t < next)) next = t;
  };
  for (const [name, r] of regions) {
    const freshness = freshnessFor(r.region.check?.intervalMs);
    const endpoints = new Map<string, EndpointState>();
    let upCount = 0;
    let recentChange = false;
    for (const ep of allEndpoints(r)) {
      const states = probes.get(`${name}|${ep.address}`);
      let fresh = 0;
      let down = 0;
      if (states) {
        for (const s of states.values()) {
          note(s.at + freshness + 1);
          // A state change within the freshness window counts as flapping (shorter TTLs until it settles).
          if (s.transitions > 0 && now - s.since < freshness) {
            recentChange = true;
            note(s.since + freshness + 1);
          }
          if (now - s.at > freshness) continue;
          fresh++;
          if (!s.up) down++;
        }
      }
      // Down when a majority of the fresh probers say so; no fresh report is no evidence (up, unverified).
      const up = fresh === 0 || down * 2 <= fresh;
      let since: number | undefined;
      if (fresh > 0 && states) {
        for (const s of states.values()) if (now - s.at <= freshness && s.up === up && (since === undefined || s.since > since)) since = s.since;
      }
      // Cold start (isWaiting in machine.ts, without building lists): up, and no prober has it through `rise` yet.
      let waiting = up;
      if (up && states) for (const s of states.values()) if ((fresh === 0 || now - s.at <= freshness) && s.up && s.rising !== true) waiting = false;
      endpoints.set(ep.address, { up, unverified: fresh === 0, waiting, since });
      if (up) upCount++;
    }
    const drain = drains.get(name);
    const families = { ipv4: familyHealth(r, 'ipv4', endpoints), ipv6: familyHealth(r, 'ipv6', endpoints) };
    const served = (['ipv4', 'ipv6'] as const).filter((f) => families[f].endpoints > 0);
    // Up only when every family it serves is: a region with its IPv4 all down still answers AAAA, but it is
    // not healthy (metrics, status page and transition logs must show the A blackhole it would otherwise be).
    const up = served.length > 0 && served.every((f) => families[f].up);
    let reason: string;
    // A hostname-only region answers both families with the same CNAMEs: one count says it all.
    if (served.length === 1 || (r.v4.length === 0 && r.v6.length === 0 && served.length > 0)) reason = families[served[0]!].reason;
    else if (served.length === 0) reason = 'down: no endpoints with weight > 0';
    else {
      const down = served.filter((f) => !families[f].up);
      const head = down.length === 0 ? 'up' : down.length === 2 ? 'down' : `down for ${down[0] === 'ipv4' ? 'A' : 'AAAA'} (${down[0] === 'ipv4' ? 'AAAA' : 'A'} still answered)`;
      const detail = (f: AddressFamily) => families[f].reason.replace(/^(up|down): /, '');
      reason = `${head}: IPv4 ${detail('ipv4')}; IPv6 ${detail('ipv6')}`;
    }
    if (drain) reason = `drained since ${new Date(drain.since).toISOString()}${drain.reason ? `: ${drain.reason}` : ''}; ${reason}`;
    verdicts.set(name, {
      up,
      drained: drain !== undefined,
      reason,
      unstable: !up || recentChange,
      families: { ipv4: familyVerdict(families.ipv4), ipv6: familyVerdict(families.ipv6) },
      drain,
      endpoints,
      upCount,
      freshnessMs: freshness,
    });
  }
  return new HealthView(verdicts, probes, next);
}

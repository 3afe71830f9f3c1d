/**
 * What steering reads, declared by steering itself: the snapshot (a layer above) satisfies it
 * structurally, so routing/ never imports snapshot/ and the two cannot form a cycle.
 */
import type { LatencyTable } from '../geo/latency-table.js';
import type { Locator } from '../geo/locator.js';
import type { HealthView } from '../health/view.js';
import type { DecisionCache } from './decision-cache.js';

export interface RoutingView {
  readonly locator: Locator;
  readonly latency: LatencyTable;
  readonly health: HealthView;
  /** Regions' reported utilization (0..1), fresh reports only: services with `shed` read it (shed.ts). */
  readonly utilization: ReadonlyMap<string, number>;
  /** Passive health failures (`max-error-ratio`) by `${service}|${region}`, with the reason. */
  readonly passiveDown: ReadonlyMap<string, string>;
  /** Decisions per (service, family, client block): written to, but owned by the view (DecisionCache.NONE: none). */
  readonly decisions: DecisionCache;
}

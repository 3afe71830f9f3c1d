/** Load shedding's metric families, read from the current snapshot when scraped. */
import { Gauge, type Registry } from 'prom-client';
import { shedShare } from '../routing/shed.js';
import type { SnapshotHolder } from '../snapshot/holder.js';

export function registerLoadMetrics(registers: Registry[], holder: SnapshotHolder): void {
  new Gauge({
    name: 'gslb_region_utilization',
    help: 'Region utilization (0..1) from its last load report (POST /v1/load), while that report is fresh.',
    labelNames: ['region'],
    registers,
    collect() {
      this.reset();
      for (const [region, u] of holder.current().utilization) this.set({ region }, u);
    },
  });
  new Gauge({
    name: 'gslb_service_shed_share',
    help: "Share (0..1) of a region's clients a service with `shed` moves to their next best region at its current utilization.",
    labelNames: ['service', 'region'],
    registers,
    collect() {
      this.reset();
      const snap = holder.current();
      for (const { service, regions } of snap.services.values()) {
        if (!service.shed) continue;
        for (const r of regions) this.set({ service: service.name, region: r.region.name }, shedShare(snap.utilization.get(r.region.name), service.shed));
      }
    },
  });
}

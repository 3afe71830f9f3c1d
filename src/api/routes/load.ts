/** `POST /v1/load` (regions' utilization, for services with `shed`) and `GET /v1/load` (the reports in use). */
import type { FastifyInstance } from 'fastify';
import { LoadBodySchema, type LoadBody } from '../../model/schema/load.js';
import { passiveStates } from '../../health/passive.js';
import { DEFAULTS } from '../../model/defaults.js';
import { isLoadFresh } from '../../store/load.js';
import type { LoadReport } from '../../store/types.js';
import type { ApiDeps } from '../deps.js';
import { Errors } from '../errors.js';

export function registerLoadRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: LoadBody }>('/v1/load', { schema: { body: LoadBodySchema } }, async (req) => {
    const regions = deps.holder.current().regions;
    // The whole batch is checked before any of it is stored: a 400 leaves nothing half-applied.
    req.body.reports.forEach((r, i) => {
      if (!regions.has(r.region)) throw Errors.badRequest(`region "${r.region}" does not exist`, `reports[${i}].region`);
    });
    const at = Date.now();
    const snap = deps.holder.current();
    const previous = deps.shared.cache.state.load;
    // One report per region: the last one of the batch, as a later batch would replace it.
    const byRegion = new Map<string, LoadReport>();
    for (const r of req.body.reports) {
      const report: LoadReport = { region: r.region, utilization: r.utilization, at };
      if (r.errorRatio !== undefined) {
        report.errorRatio = r.errorRatio;
        const region = regions.get(r.region)!.region;
        const check = region.check ?? DEFAULTS.check;
        const services = [...snap.services.values()]
          .filter((s) => s.service.maxErrorRatio !== undefined && s.regions.some((x) => x.region.name === r.region))
          .map((s) => ({ name: s.service.name, maxErrorRatio: s.service.maxErrorRatio!, rise: check.rise, fall: check.fall }));
        if (services.length > 0) report.passive = passiveStates(r.errorRatio, services, (byRegion.get(r.region) ?? previous.get(r.region))?.passive, at);
      }
      byRegion.set(r.region, report);
    }
    await deps.shared.store.recordLoad([...byRegion.values()]);
    deps.manager.stateChanged();
    return { accepted: byRegion.size };
  });

  app.get('/v1/load', async () => {
    const now = Date.now();
    return {
      reports: [...deps.shared.cache.state.load.values()].map((r) => ({
        region: r.region,
        utilization: r.utilization,
        ...(r.errorRatio !== undefined ? { errorRatio: r.errorRatio } : {}),
        ...(r.passive ? { passive: Object.fromEntries(Object.entries(r.passive).map(([service, s]) => [service, { up: s.up, since: new Date(s.since).toISOString() }])) } : {}),
        at: new Date(r.at).toISOString(),
        fresh: isLoadFresh(r, now, deps.manager.loadFreshMs),
      })),
    };
  });
}

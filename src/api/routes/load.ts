/** `POST /v1/load` (regions' utilization, for services with `shed`) and `GET /v1/load` (the reports in use). */
import type { FastifyInstance } from 'fastify';
import { LoadBodySchema, type LoadBody } from '../../model/schema/load.js';
import { isLoadFresh } from '../../store/load.js';
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
    // One report per region: the last one of the batch, as a later batch would replace it.
    const byRegion = new Map(req.body.reports.map((r) => [r.region, { region: r.region, utilization: r.utilization, at }]));
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
        at: new Date(r.at).toISOString(),
        fresh: isLoadFresh(r, now, deps.manager.loadFreshMs),
      })),
    };
  });
}

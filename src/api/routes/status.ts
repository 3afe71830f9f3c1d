/** The status page (`GET /`), the JSON it polls (`GET /v1/status`), and Prometheus metrics (`GET /metrics`). */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { STATUS_PAGE } from '../status-page.js';
import { regionView } from './regions.js';

export function registerStatusRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/', { schema: { summary: 'Status page (HTML)', tags: ['status'], hide: false } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(STATUS_PAGE),
  );

  app.get('/v1/status', { schema: { summary: 'Everything the status page shows', tags: ['status'] } }, async () => {
    const snap = deps.holder.current();
    const traffic = deps.traffic;
    return {
      node: snap.nodeId,
      snapshotVersion: snap.version,
      builtAt: new Date(snap.builtAt).toISOString(),
      zones: [...snap.zones.keys()],
      store: deps.shared.storeStatus(),
      regions: [...snap.regions.keys()].sort().map((n) => regionView(snap, n)),
      traffic: {
        windowSeconds: traffic ? (traffic.intervalMs * Math.max(1, traffic.points.length)) / 1000 : 0,
        shares: traffic?.shares() ?? {},
        points: traffic?.points ?? [],
      },
      transitions: [...(deps.transitions?.recent ?? [])].reverse().slice(0, 50),
    };
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)', tags: ['status'] } }, async (_req, reply) => {
    const telemetry = deps.telemetry;
    if (!telemetry) return reply.status(404).send({ error: 'metrics are not enabled' });
    // scrape(): with --workers, the workers' query-path families summed into this process's.
    return reply.type(telemetry.registry.contentType).send(await telemetry.scrape());
  });
}

/**
 * The status page (`GET /`), the JSON it polls (`GET /v1/status`, `GET /v1/status/map`), the world outlines it
 * draws (`GET /v1/status/world`), and Prometheus metrics (`GET /metrics`).
 */
import type { FastifyInstance } from 'fastify';
import { steeringMap } from '../../answer/steering-map.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { STATUS_PAGE } from '../status-page.js';
import { worldMap } from '../world-map.js';
import { regionView } from './regions.js';

const mapSchema = {
  summary: 'Which region each country (at its representative point) and each custom network is answered from, per service',
  tags: ['status'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      service: { type: 'string', minLength: 1, maxLength: 255 },
      type: { type: 'string', enum: ['A', 'AAAA'] },
    },
  },
} as const;

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
      // Which databases locate clients: the page credits DB-IP when its data is in use (CC BY 4.0).
      geoip: snap.locator.databases.map((d) => ({ file: d.name, type: d.reader.metadata.databaseType })),
      regions: [...snap.regions.keys()].sort().map((n) => regionView(snap, n)),
      traffic: {
        windowSeconds: traffic ? (traffic.intervalMs * Math.max(1, traffic.points.length)) / 1000 : 0,
        shares: traffic?.shares() ?? {},
        points: traffic?.points ?? [],
      },
      transitions: [...(deps.transitions?.recent ?? [])].reverse().slice(0, 50),
    };
  });

  app.get<{ Querystring: { service?: string; type?: 'A' | 'AAAA' } }>('/v1/status/map', { schema: mapSchema }, async (req) => {
    const map = steeringMap(deps.holder.current(), req.query.service, req.query.type ?? 'A');
    if (!map) throw new ApiError(404, req.query.service === undefined ? 'there are no services' : `no service "${req.query.service}"`, 'service');
    return map;
  });

  app.get('/v1/status/world', { schema: { summary: 'Country outlines for the status page map (Natural Earth 1:110m)', tags: ['status'] } }, async (_req, reply) =>
    // The outlines change only with the installed package: let the browser keep them for a day.
    reply.header('cache-control', 'public, max-age=86400').send(worldMap()),
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)', tags: ['status'] } }, async (_req, reply) => {
    const telemetry = deps.telemetry;
    if (!telemetry) return reply.status(404).send({ error: 'metrics are not enabled' });
    // scrape(): with --workers, the workers' query-path families summed into this process's.
    return reply.type(telemetry.registry.contentType).send(await telemetry.scrape());
  });
}

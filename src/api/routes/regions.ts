/**
 * Regional clusters: register/replace (`PUT`), list and show with health and why (`GET`), remove (`DELETE`,
 * API-registered regions only), drain/undrain (any region). A 2xx means the store acknowledged the change.
 */
import type { FastifyInstance } from 'fastify';
import { canonical } from '../../wire/name.js';
import { allEndpoints } from '../../health/endpoints.js';
import type { Snapshot } from '../../snapshot/types.js';
import { readRegionJson, regionNameProblem } from '../../model/regions.js';
import { RegionBodySchema, type RegionBody } from '../../model/schema/region.js';
import type { ApiDeps } from '../deps.js';
import { Errors, ApiError } from '../errors.js';

const nameParam = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;

const drainBody = {
  anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 500 } } }],
} as const;

export function regionView(snap: Snapshot, name: string) {
  const r = snap.regions.get(name);
  if (!r) return undefined;
  const region = r.region;
  const h = snap.health.region(name);
  const now = Date.now();
  const endpoints = allEndpoints(r).map((e) => {
    const v = snap.health.explain(name, e.address, now);
    return {
      address: e.address,
      weight: e.weight,
      up: snap.health.endpointUp(name, e.address),
      unverified: v.unverified,
      waiting: v.waiting,
      since: v.since !== undefined ? new Date(v.since).toISOString() : null,
      reason: v.reason,
      probers: v.probers.map((p) => ({
        prober: p.prober,
        up: p.up,
        fresh: p.fresh,
        lastReport: new Date(p.at).toISOString(),
        since: new Date(p.since).toISOString(),
        ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}),
        ...(p.lastError !== undefined ? { lastError: p.lastError } : {}),
      })),
    };
  });
  return {
    name,
    source: region.source === 'api' ? 'api' : 'zone',
    declaredAt: region.source,
    location: region.location,
    weight: region.weight,
    bias: region.bias,
    minHealthy: region.minHealthy,
    services: [...snap.services.values()].filter((s) => s.regions.includes(r)).map((s) => s.service.name),
    ...(region.check ? { check: region.check } : {}),
    ...(region.serves ? { serves: region.serves } : {}),
    ...(region.unverified ? { unverified: region.unverified } : {}),
    ...(region.beacon ? { beacon: region.beacon } : {}),
    drained: h.drained,
    ...(h.drain ? { drain: { since: new Date(h.drain.since).toISOString(), ...(h.drain.reason ? { reason: h.drain.reason } : {}) } } : {}),
    health: { up: h.up, unstable: h.unstable, reason: h.reason },
    endpoints,
  };
}

export function registerRegionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const snap = () => deps.holder.current();
  const mustExist = (name: string) => {
    if (!snap().regions.has(name)) throw Errors.notFound(`region "${name}"`);
  };

  app.get('/v1/regions', async () => ({ regions: [...snap().regions.keys()].sort().map((n) => regionView(snap(), n)) }));

  app.get<{ Params: { name: string } }>('/v1/regions/:name', { schema: { params: nameParam } }, async (req) => {
    const view = regionView(snap(), req.params.name);
    if (!view) throw Errors.notFound(`region "${req.params.name}"`);
    return view;
  });

  app.put<{ Params: { name: string }; Body: RegionBody }>(
    '/v1/regions/:name',
    { schema: { params: nameParam, body: RegionBodySchema } },
    async (req, reply) => {
      const { name } = req.params;
      const problem = regionNameProblem(name);
      if (problem) throw Errors.badRequest(problem, 'name');
      const s = snap();
      const declared = s.zoneSet.regions.get(name);
      if (declared) throw new ApiError(409, `region "${name}" is declared in ${declared.source}; zone-file regions can be drained and probed, not replaced`, 'name');
      const { services: rawServices = [], ...body } = req.body;
      const { errors } = readRegionJson(name, body);
      const first = errors[0];
      if (first) throw Errors.badRequest(first.detail ?? first.message, first.field || 'body');
      const services = rawServices.map((text, i) => {
        const svc = canonical(text);
        if (!s.services.has(svc)) throw Errors.badRequest(`service "${text}" is not declared in any zone file`, `services[${i}]`);
        return svc;
      });
      const existed = s.apiRegions.some((r) => r.name === name);
      await deps.shared.store.putRegion({ name, ...body, services: [...new Set(services)], updatedAt: Date.now() });
      deps.manager.rebuildState();
      return reply.status(existed ? 200 : 201).send(regionView(snap(), name));
    },
  );

  app.delete<{ Params: { name: string } }>('/v1/regions/:name', { schema: { params: nameParam } }, async (req) => {
    const { name } = req.params;
    const declared = snap().zoneSet.regions.get(name);
    if (declared) throw new ApiError(409, `region "${name}" is declared in ${declared.source}; remove it there`, 'name');
    if (!deps.shared.cache.state.regions.has(name)) throw Errors.notFound(`region "${name}"`);
    await deps.shared.store.deleteRegion(name);
    deps.manager.rebuildState();
    return { deleted: name };
  });

  for (const action of ['drain', 'undrain'] as const) {
    app.post<{ Params: { name: string }; Body: { reason?: string } | null }>(
      `/v1/regions/:name/${action}`,
      { schema: { params: nameParam, body: drainBody } },
      async (req) => {
        const { name } = req.params;
        mustExist(name);
        const reason = req.body?.reason;
        await deps.shared.store.setDrain(name, action === 'drain' ? { since: Date.now(), ...(reason ? { reason } : {}) } : null);
        deps.manager.rebuildState();
        return regionView(snap(), name);
      },
    );
  }
}

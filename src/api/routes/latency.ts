/** `POST /v1/latency` (measured RTTs from client networks to regions) and `GET /v1/latency` (the table in use). */
import type { FastifyInstance } from 'fastify';
import { parseLatencyClient } from '../../model/latency.js';
import { Type, type Static } from 'typebox';
import { Closed } from '../../model/schema/common.js';
import { LatencyMeasurementSchema } from '../../model/schema/latency.js';
import type { ApiDeps } from '../deps.js';
import { Errors } from '../errors.js';

const LatencyBodySchema = Closed({ measurements: Type.Array(LatencyMeasurementSchema, { minItems: 1, maxItems: 10_000 }) });
type LatencyBody = Static<typeof LatencyBodySchema>;
const latencySchema = { body: LatencyBodySchema };

export function registerLatencyRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: LatencyBody }>('/v1/latency', { schema: latencySchema }, async (req) => {
    const regions = deps.holder.current().regions;
    // Validate the whole batch before recording any of it: a 400 leaves nothing half-applied.
    const parsed = req.body.measurements.map((m, i) => {
      const client = parseLatencyClient(m.client);
      if (typeof client === 'string') throw Errors.badRequest(client, `measurements[${i}].client`);
      if (!regions.has(m.region)) throw Errors.badRequest(`region "${m.region}" does not exist`, `measurements[${i}].region`);
      return { client, region: m.region, rttMs: m.rttMs };
    });
    const updated = await deps.shared.store.recordLatency(
      parsed.map((m) => ({ client: m.client.text, region: m.region, rttMs: m.rttMs })),
      Date.now(),
    );
    deps.manager.stateChanged();
    return { accepted: updated.length, values: updated.map((v) => ({ client: v.client, region: v.region, rttMs: round(v.rttMs), samples: v.samples })) };
  });

  app.get('/v1/latency', async () => {
    const snap = deps.holder.current();
    return {
      declared: snap.zoneSet.latency.map((e) => ({ client: e.client.text, region: e.region, rttMs: e.rttMs })),
      measured: [...deps.shared.cache.state.latency.values()].map((v) => ({
        client: v.client,
        region: v.region,
        rttMs: round(v.rttMs),
        samples: v.samples,
        updatedAt: new Date(v.updatedAt).toISOString(),
        ...(v.source ? { source: v.source } : {}),
      })),
    };
  });
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

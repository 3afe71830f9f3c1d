/**
 * Real-user latency beacons: `GET /v1/beacon.js` (the script a site embeds) and `POST /v1/beacons` (what it
 * reports). The POST needs no token, since browsers send it: its body is small and closed (schema/beacon.ts),
 * reports are rate limited per client network, and only the network prefix and the RTTs are kept, smoothed
 * into the learned latency table like `POST /v1/latency` measurements but filed apart (source "beacon").
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { BeaconSampleResult } from '../../metrics/beacon-metrics.js';
import { BeaconReportSchema, type BeaconReport } from '../../model/schema/beacon.js';
import { clientNetwork } from '../beacon/attribution.js';
import { BeaconIntake } from '../beacon/intake.js';
import { beaconScript, beaconTargets } from '../beacon/script.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, Errors } from '../errors.js';

/** The largest report the schema allows is about 2.5 KB. */
export const BEACON_BODY_LIMIT = 4096;
/** Path of the route whose writes need no token (app.ts). */
export const BEACONS_PATH = '/v1/beacons';

/** Any site may embed the script, so any origin may post; no credentials are asked for or accepted. */
function allowAnyOrigin(reply: FastifyReply): void {
  reply.header('access-control-allow-origin', '*');
}

export function registerBeaconRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const intake = new BeaconIntake();
  const count = (result: BeaconSampleResult, n: number) => {
    if (deps.telemetry) deps.telemetry.beaconSamples[result] += n;
  };

  app.get('/v1/beacon.js', { schema: { summary: 'The real-user latency beacon script a site embeds', tags: ['latency'] } }, async (_req, reply) => {
    const script = beaconScript(beaconTargets([...deps.holder.current().regions.values()].map((r) => r.region)));
    return reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .header('x-content-type-options', 'nosniff')
      .send(script);
  });

  app.options(BEACONS_PATH, { schema: { hide: true } }, async (_req, reply) => {
    allowAnyOrigin(reply);
    return reply
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type')
      .header('access-control-max-age', '86400')
      .status(204)
      .send();
  });

  app.post<{ Body: BeaconReport }>(
    BEACONS_PATH,
    {
      bodyLimit: BEACON_BODY_LIMIT,
      schema: { body: BeaconReportSchema, summary: 'RTTs a browser measured to the regions (no token needed)', tags: ['latency'] },
      // Before validation, so a 400 or 429 is readable by the page too.
      onRequest: async (_req, reply) => allowAnyOrigin(reply),
    },
    async (req) => {
      const net = clientNetwork(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], deps.trustedProxies ?? []);
      if (typeof net === 'string') throw Errors.badRequest(net, 'X-Forwarded-For');
      const samples = req.body.samples;
      if (!intake.admit(net)) {
        count('rate', samples.length);
        throw new ApiError(429, `too many beacon reports from ${net.text}: at most ${intake.rate} a second per network`);
      }
      const regions = deps.holder.current().regions;
      const { accepted, rejected } = intake.judge(net, samples, (name) => regions.has(name));
      count('accepted', accepted.length);
      for (const r of rejected) count(r.reason, 1);
      if (accepted.length > 0) {
        await deps.shared.store.recordLatency(accepted, Date.now());
        deps.manager.stateChanged();
      }
      return { network: net.text, accepted: accepted.length, rejected };
    },
  );
}

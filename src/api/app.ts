/**
 * The HTTP API. `buildApp(deps)` returns a Fastify app that does not listen, so tests use `app.inject()` and
 * the composition root decides where it binds.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyError } from 'fastify';
import { SCHEMA_ANNOTATIONS } from '../model/schema/common.js';
import { ReplicationShortfallError, StoreUnavailableError } from '../store/types.js';
import type { ApiDeps } from './deps.js';
import { ApiError, Errors } from './errors.js';
import { describeBodyError, installJsonParser, JSON_BODY_LIMIT } from './json-limits.js';
import { BEACONS_PATH, registerBeaconRoutes } from './routes/beacons.js';
import { registerExplainRoutes } from './routes/explain.js';
import { registerDnssecRoutes } from './routes/dnssec.js';
import { registerLatencyRoutes } from './routes/latency.js';
import { registerLoadRoutes } from './routes/load.js';
import { registerProbeRoutes } from './routes/probes.js';
import { registerRegionRoutes } from './routes/regions.js';
import { registerStatusRoutes } from './routes/status.js';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { PACKAGE_VERSION } from '../version.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function tokenMatches(expected: string, header: string | undefined): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(header.slice(7)).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function buildApp(deps: ApiDeps): FastifyInstance {
  // Typed as Fastify's base logger (pino's Logger is one), so the app is a plain FastifyInstance rather than
  // one parameterised by pino's Logger type.
  const loggerInstance: FastifyBaseLogger = deps.log;
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: JSON_BODY_LIMIT,
    // The schemas' message annotations (model/schema/common.ts) are declared, or Ajv's strict mode refuses them.
    ajv: { customOptions: { removeAdditional: false, allErrors: false, coerceTypes: false, keywords: [...SCHEMA_ANNOTATIONS] } },
  });

  installJsonParser(app, { onReject: (reason) => deps.telemetry?.countBodyRejection(reason) });

  app.addHook('onRequest', async (req) => {
    // Browsers post beacons without a token; that route bounds and rate-limits what it takes instead.
    if (req.routeOptions.url === BEACONS_PATH) return;
    if (deps.apiToken !== undefined && MUTATING.has(req.method) && !tokenMatches(deps.apiToken, req.headers.authorization))
      throw Errors.unauthorized();
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime }, 'api request');
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ReplicationShortfallError) {
      req.log.warn({ err: err.message }, 'write not confirmed by enough replicas');
      // Not "not stored": the primary has it and every node already applies it. Retrying sends the same change.
      return reply.status(503).send({ error: `not confirmed by enough replicas: ${err.message}; safe to retry` });
    }
    if (err instanceof StoreUnavailableError) {
      req.log.warn({ err: err.message }, 'write refused: store unavailable');
      // Every write is idempotent (a PUT replaces, a drain sets), so a client may simply retry: a write that
      // timed out might have reached the store before the link went, and doing it again changes nothing more.
      return reply.status(503).send({ error: `not stored: ${err.message}; safe to retry` });
    }
    if (err instanceof ApiError) {
      return reply.status(err.statusCode).send({ error: err.message, ...(err.field ? { field: err.field } : {}) });
    }
    const fe = err;
    const refused = describeBodyError(fe.code, req.headers['content-type']);
    if (refused) {
      deps.telemetry?.countBodyRejection(refused.reason);
      return reply.status(refused.status).send({ error: refused.error, field: 'body' });
    }
    if (fe.validation && fe.validation.length > 0) {
      const v = fe.validation[0]!;
      const params = v.params;
      const extra = typeof params.additionalProperty === 'string' ? params.additionalProperty : typeof params.missingProperty === 'string' ? params.missingProperty : undefined;
      // "/measurements/0/rttMs" -> "measurements[0].rttMs"
      const base = v.instancePath
        .split('/')
        .filter((p) => p !== '')
        .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
      const field = [base, extra].filter((s) => s).join('.') || (fe.validationContext ?? 'body');
      const message = typeof params.additionalProperty === 'string' ? `unknown field "${params.additionalProperty}"` : `${field} ${v.message ?? 'is invalid'}`;
      return reply.status(400).send({ error: message, field });
    }
    const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'api error');
    return reply.status(status).send({ error: status >= 500 ? 'internal error' : fe.message });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  // The OpenAPI document is built from the routes' schemas; routes go in a plugin registered after it so that
  // swagger sees every one of them.
  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'gslb API', version: PACKAGE_VERSION, description: 'Regions, health, probes, latency, explain, status and metrics of a gslb node. A 2xx from a mutating call means the store has the change; a 503 means it was not acknowledged and is safe to retry (writes are idempotent).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
  void app.register(async (api) => registerRoutes(api, deps));
  return app;
}

function registerRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['status'] } }, async () => ({ status: 'ok' }));

  // Ready = this node can answer DNS from a loaded configuration. An unreachable store degrades writes only
  // (DNS keeps answering from the last state), so it is reported in the body, never as 503: a load balancer
  // health check would otherwise pull every node at once when Redis goes.
  app.get('/readyz', { schema: { summary: 'Readiness: can answer DNS from loaded zones (503 otherwise); the body says the store state', tags: ['status'] } }, async (_req, reply) => {
    const snap = deps.holder.current();
    const reason = deps.notReadyReason();
    const store = deps.shared.storeStatus();
    const body = { ready: reason === undefined, zones: snap.zones.size, snapshotVersion: snap.version, store, ...(reason ? { reason } : {}) };
    return reply.status(reason === undefined ? 200 : 503).send(body);
  });

  registerLatencyRoutes(app, deps);
  registerLoadRoutes(app, deps);
  registerBeaconRoutes(app, deps);
  registerRegionRoutes(app, deps);
  registerProbeRoutes(app, deps);
  registerExplainRoutes(app, deps);
  registerDnssecRoutes(app, deps);
  registerStatusRoutes(app, deps);
}

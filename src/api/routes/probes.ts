/**
 * `POST /v1/probes`: check results from a remote prober, through the same rise/fall machine as local checks.
 * Only known probers may report (see ../probers.ts): an unknown or one-too-many name is a 403 before anything
 * is stored or counted.
 */
import type { FastifyInstance } from 'fastify';
import { canonicalIpv6, ipFamily } from '../../wire/ip.js';
import { canonical } from '../../wire/name.js';
import type { ProberState, ProbeUpdate } from '../../health/probe-state.js';
import { allEndpoints } from '../../health/endpoints.js';
import { DEFAULTS } from '../../model/defaults.js';
import { splitProbeKey } from '../../store/keys.js';
import type { ApiDeps } from '../deps.js';
import { Errors } from '../errors.js';
import { proberRegistry } from '../deps.js';

interface ProbeBody {
  prober: string;
  results: { region: string; endpoint: string; ok: boolean; rttMs?: number; error?: string }[];
}

/**
 * Results per report. A report is handled in one go on the event loop that also answers DNS: 10 000 results
 * held it 175-800 ms, 1 000 hold it ~20 ms. `gslb probe` sends larger rounds in several reports.
 */
export const MAX_RESULTS_PER_REPORT = 1000;

const probeSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['prober', 'results'],
    properties: {
      prober: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:@-]+$' },
      results: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_RESULTS_PER_REPORT,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['region', 'endpoint', 'ok'],
          properties: {
            region: { type: 'string', minLength: 1, maxLength: 63 },
            endpoint: { type: 'string', minLength: 1, maxLength: 255 },
            ok: { type: 'boolean' },
            rttMs: { type: 'number', minimum: 0, maximum: 600_000 },
            error: { type: 'string', maxLength: 500 },
          },
        },
      },
    },
  },
} as const;

/** Endpoints are keyed by their canonical spelling: RFC 5952 for IPv6, lowercase for hostnames. */
function canonicalEndpoint(text: string): string {
  const family = ipFamily(text);
  if (family === 6) return canonicalIpv6(text);
  return family === 4 ? text : canonical(text);
}

export function registerProbeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const probers = proberRegistry(deps);
  app.post<{ Body: ProbeBody }>('/v1/probes', { schema: probeSchema }, async (req) => {
    const snap = deps.holder.current();
    const { prober, results } = req.body;
    // Before any other work, so that a refused name costs nothing; a new prober holds its place from here to
    // the end of its write (no await before the write: concurrent reports cannot register past the limit).
    const admission = probers.admit(prober);
    let updates: ProbeUpdate[];
    let states: [string, ProberState][];
    // A report names few regions and endpoints many times: each is looked up once per report.
    const addressesOf = new Map<string, Set<string> | undefined>();
    const canonicalOf = new Map<string, string>();
    try {
      updates = results.map((r, i) => {
        const region = snap.regions.get(r.region);
        if (!region) throw Errors.badRequest(`region "${r.region}" does not exist`, `results[${i}].region`);
        let endpoint = canonicalOf.get(r.endpoint);
        if (endpoint === undefined) canonicalOf.set(r.endpoint, (endpoint = canonicalEndpoint(r.endpoint)));
        let addresses = addressesOf.get(r.region);
        if (addresses === undefined) addressesOf.set(r.region, (addresses = new Set(allEndpoints(region).map((e) => e.address))));
        if (!addresses.has(endpoint))
          throw Errors.badRequest(`endpoint ${r.endpoint} is not in region "${r.region}"`, `results[${i}].endpoint`);
        const check = region.region.check;
        return {
          region: r.region,
          endpoint,
          prober,
          ok: r.ok,
          ...(r.rttMs !== undefined ? { rttMs: r.rttMs } : {}),
          ...(r.error !== undefined ? { error: r.error } : {}),
          rise: check?.rise ?? DEFAULTS.check.rise,
          fall: check?.fall ?? DEFAULTS.check.fall,
        };
      });
      states = await deps.shared.store.applyProbes(updates, Date.now(), true);
    } finally {
      admission.settle();
    }
    deps.telemetry?.countProbeReports(prober, updates.length);
    deps.manager.stateChanged();
    return {
      accepted: states.length,
      states: states.map(([key, s]) => {
        const [region, endpoint] = splitProbeKey(key);
        return { region, endpoint, prober, up: s.up, since: new Date(s.since).toISOString() };
      }),
    };
  });
}

/**
 * `GET /v1/zones/:zone/dnssec`: whether the zone is signed, the public parts of its published keys (DNSKEY, DS
 * with digest type 2) ready to paste at the parent, each key's state and, during a rollover, its phase and
 * when the next step happens. `POST /v1/zones/:zone/dnssec/rollover` starts a key rollover (dnssec/rollover.ts).
 * Public data only: the keys' private parts never reach here.
 */
import type { FastifyInstance } from 'fastify';
import { keyPresentation } from '../../dnssec/present.js';
import type { PhaseName } from '../../dnssec/rollover.js';
import { RolloverBodySchema, type RolloverBody } from '../../model/schema/dnssec.js';
import { phaseOf } from '../../snapshot/signing.js';
import type { Snapshot } from '../../snapshot/types.js';
import { durationSeconds } from '../../util/duration.js';
import { canonical } from '../../wire/name.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, Errors } from '../errors.js';

/** `active` signs; `published` is the next key, in DNSKEY before it signs; `retiring` is the old one, still published. */
export type KeyState = 'active' | 'published' | 'retiring';

export interface ZoneDnssecInfo {
  signed: boolean;
  algorithm?: string;
  dnskey: string[];
  ds: string[];
  /** Key tag of the key that signs. */
  keyTag?: number;
  keys?: { keyTag: number; state: KeyState; dnskey: string; ds: string }[];
  /** `stable`, or the rollover's phase: `publish` (new key published, old signs), `parent` (new signs, old published). */
  phase?: PhaseName;
  /** The rollover's next step: when (ISO time) and which phase it enters. */
  next?: { at: string; phase: PhaseName; step: string };
}

const STEPS: Record<PhaseName, string> = {
  publish: 'the new key is published',
  parent: 'the new key signs; the old one stays published until the parent has moved its DS',
  stable: 'the old key is withdrawn; CDS and CDNSKEY name the new key alone',
};

/** What the API says about a zone's DNSSEC at `nowMs`, or undefined for a zone this server does not serve. */
export function zoneDnssecInfo(snap: Snapshot, zoneName: string, nowMs = Date.now()): ZoneDnssecInfo | undefined {
  const zone = snap.zones.get(canonical(zoneName));
  if (!zone) return undefined;
  const signing = zone.signing;
  if (!signing) return { signed: false, dnskey: [], ds: [] };
  const phase = phaseOf(signing, nowMs);
  const nextPhase = signing.phases[signing.phases.indexOf(phase) + 1];
  const earlier = signing.phases.slice(0, signing.phases.indexOf(phase)).flatMap((p) => p.published);
  const keys = phase.published.map((k) => ({
    keyTag: k.keyTag,
    state: k === phase.signer ? ('active' as const) : earlier.includes(k) ? ('retiring' as const) : ('published' as const),
    ...keyPresentation(zone.apex, signing.zone.ttl, k.dnskey),
  }));
  return {
    signed: true,
    algorithm: phase.signer.algorithm,
    dnskey: keys.map((k) => k.dnskey),
    ds: keys.map((k) => k.ds),
    keyTag: phase.signer.keyTag,
    keys,
    phase: phase.name,
    ...(nextPhase ? { next: { at: new Date(nextPhase.from).toISOString(), phase: nextPhase.name, step: STEPS[nextPhase.name] } } : {}),
  };
}

const zoneParams = { type: 'object', properties: { zone: { type: 'string', minLength: 1, maxLength: 255 } }, required: ['zone'] } as const;

/** A duration of the rollover body in seconds (default `fallback`), or a 400 naming the field. */
function bodySeconds(body: RolloverBody, field: 'propagation' | 'parentWait', fallback: number, min: number): number {
  const value = body?.[field];
  if (value === undefined) return Math.max(fallback, min);
  const seconds = durationSeconds(value);
  if (seconds === undefined) throw Errors.badRequest(`${field}: "${String(value)}" is not a duration (e.g. 30m, 1h, 2d)`, field);
  if (seconds < min) throw Errors.badRequest(`${field}: must be at least ${min}s (every node must have read the rollover)`, field);
  return seconds;
}

export function registerDnssecRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Params: { zone: string } }>('/v1/zones/:zone/dnssec', { schema: { params: zoneParams } }, async (req) => {
    const info = zoneDnssecInfo(deps.holder.current(), req.params.zone);
    if (!info) throw new ApiError(404, `no zone ${req.params.zone} is served here`, 'zone');
    return info;
  });

  app.post<{ Params: { zone: string }; Body: RolloverBody }>(
    '/v1/zones/:zone/dnssec/rollover',
    { schema: { params: zoneParams, body: RolloverBodySchema } },
    async (req, reply) => {
      const snap = deps.holder.current();
      const info = zoneDnssecInfo(snap, req.params.zone);
      if (!info) throw new ApiError(404, `no zone ${req.params.zone} is served here`, 'zone');
      const keys = deps.dnssecKeys;
      if (!info.signed || !keys) throw new ApiError(409, `zone ${req.params.zone} is not signed (no "dnssec:" key in its zone file)`, 'zone');
      const defaults = keys.rolloverDefaults;
      const timings = {
        propagationSeconds: bodySeconds(req.body, 'propagation', defaults.propagationSeconds, defaults.minPropagationSeconds),
        parentWaitSeconds: bodySeconds(req.body, 'parentWait', defaults.parentWaitSeconds, 0),
      };
      const result = await keys.rollover(canonical(req.params.zone), timings);
      if (result === 'running') throw new ApiError(409, `a key rollover of ${req.params.zone} is already running`, 'zone');
      reply.code(202);
      return zoneDnssecInfo(deps.holder.current(), req.params.zone);
    },
  );
}

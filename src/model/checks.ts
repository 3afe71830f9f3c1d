/** A region's health check (`check:`): its schema is schema/check.ts; here, the rules it cannot say. */
import { parseDuration } from '../util/duration.js';
import { DEFAULTS } from './defaults.js';
import type { Input } from './input.js';
import { CheckSchema } from './schema/check.js';
import type { HealthCheck } from './types.js';

const MIN_DURATION_MS = 100;

/** A check's `interval` or `timeout` in ms (at least 100 ms), or undefined after reporting why not. */
function duration(input: Input, fallback: number): number | undefined {
  if (!input.present) return fallback;
  if (!input.wellFormed) return undefined;
  const ms = parseDuration(input.value);
  if (ms === undefined || ms < MIN_DURATION_MS) return input.issue('must be a duration of at least 100ms, like "5s" or "500ms"');
  return ms;
}

export function readCheck(input: Input): HealthCheck | undefined {
  const c = input.as(CheckSchema);
  const type = input.at('type').as(CheckSchema.properties.type);
  const portInput = input.at('port');
  let port = portInput.number();
  if (port === 0) portInput.issue('must be a port from 1 to 65535 (nothing can be checked on port 0)');
  if (!portInput.present && type !== undefined) {
    if (type === 'tcp') input.issue('tcp checks need a "port"');
    else port = DEFAULTS.check.port[type];
  }
  const intervalMs = duration(input.at('interval'), DEFAULTS.check.intervalMs);
  const timeoutMs = duration(input.at('timeout'), DEFAULTS.check.timeoutMs);
  // Also when the timeout is the default one (2s) and the interval is shorter: the check is there, then.
  if (intervalMs !== undefined && timeoutMs !== undefined && timeoutMs > intervalMs) input.at('timeout').issue('must not exceed the interval');
  if (!c || type === undefined || port === undefined || intervalMs === undefined || timeoutMs === undefined || !input.clean) return undefined;
  const status = c.expect?.status;
  return {
    type,
    port,
    path: c.path ?? DEFAULTS.check.path,
    ...(c.host !== undefined ? { host: c.host } : {}),
    expectStatus: status === undefined ? [] : Array.isArray(status) ? status : [status],
    ...(c.expect?.body !== undefined ? { expectBody: c.expect.body } : {}),
    intervalMs,
    timeoutMs,
    rise: c.rise ?? DEFAULTS.check.rise,
    fall: c.fall ?? DEFAULTS.check.fall,
  };
}

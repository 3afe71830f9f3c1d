/** What a zone file or an API body leaves out, in one place. */
import type { Policy, WhenAllDown } from './types.js';

export const DEFAULTS = {
  zoneTtl: 300,
  soa: { refresh: 3600, retry: 600, expire: 604_800, minimum: 60 },
  service: { policy: 'latency' as Policy, ttl: 30, answers: 2, whenAllDown: 'all' as WhenAllDown, toleranceMs: 0 },
  region: { weight: 1, bias: 0, minHealthy: 1 },
  endpoint: { weight: 1 },
  check: { intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, path: '/', port: { http: 80, https: 443 } },
} as const;

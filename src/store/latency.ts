/**
 * Smoothing of latency reports, shared by both stores (the Redis store runs the same arithmetic in Lua):
 * an exponentially weighted moving average per (client key, region), restarted after `maxAgeMs` of silence.
 */
import type { LatencySample, LearnedLatency } from './types.js';

export const LATENCY_ALPHA = 0.3;
export const LATENCY_MAX_AGE_MS = 60 * 60 * 1000;
/** Beacon samples a (network, region) average needs before steering uses it. */
export const BEACON_MIN_SAMPLES = 5;

export function smoothLatency(prev: LearnedLatency | undefined, client: string, region: string, rttMs: number, now: number, from?: LatencySample['source']): LearnedLatency {
  const source = from ? { source: from } : {};
  if (prev && now - prev.updatedAt <= LATENCY_MAX_AGE_MS) {
    return { client, region, rttMs: prev.rttMs + LATENCY_ALPHA * (rttMs - prev.rttMs), samples: prev.samples + 1, updatedAt: now, ...source };
  }
  return { client, region, rttMs, samples: 1, updatedAt: now, ...source };
}

export function isFresh(l: LearnedLatency, now: number): boolean {
  return now - l.updatedAt <= LATENCY_MAX_AGE_MS;
}

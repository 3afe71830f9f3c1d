/** Durations as written in config files: `500ms`, `5s`, `2m`, `1h`, or a bare number of seconds. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** Whole seconds of a duration that may also be in days (`14d`, as DNSSEC timings are): undefined when not one. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const days = /^(\d+)d$/.exec(value.trim());
    if (days) return Number(days[1]) * 86_400;
  }
  const ms = parseDuration(value);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

/** Services (`services:`): their schema is schema/service.ts; here, the rules it cannot say. */
import { OUR_UDP_PAYLOAD } from '../wire/constants.js';
import { parseDuration } from '../util/duration.js';
import { aaaaAnswerBytes, maxAnswersThatFit } from './answer-size.js';
import { DEFAULTS } from './defaults.js';
import type { Input, Path } from './input.js';
import { ServiceSchema } from './schema/service.js';
import type { Service } from './types.js';

export interface ServiceRead {
  /** Undefined when the service has errors; its region references are still checked (`refs`). */
  service?: Service;
  /** Each region the service lists, with where, so that one not declared anywhere is reported at its line. */
  refs: { region: string; path: Path }[];
}

/** The service `name` (canonical) of zone `zone` from `input`. */
export function readService(input: Input, name: string, zone: string): ServiceRead {
  const d = DEFAULTS.service;
  const refs: ServiceRead['refs'] = [];
  for (const item of input.at('regions').items()) {
    const region = item.string();
    if (region === undefined) continue;
    if (refs.some((r) => r.region === region)) item.issue(`region "${region}" is listed twice`);
    else refs.push({ region, path: item.path });
  }
  const answers = input.at('answers');
  const count = answers.number();
  if (count !== undefined && count > maxAnswersThatFit(name))
    answers.issue(
      `${count} AAAA records make a ${aaaaAnswerBytes(name, count)}-byte answer for ${name}, more than ${OUR_UDP_PAYLOAD} bytes (the EDNS UDP size); at most ${maxAnswersThatFit(name)}`,
    );
  const toleranceMs = readTolerance(input.at('tolerance'));
  const shed = input.at('shed');
  const to = shed.at('to');
  const [fromValue, toValue] = [shed.at('from').number(), to.number()];
  if (fromValue !== undefined && toValue !== undefined && toValue <= fromValue) to.issue(`must be above from (${fromValue})`);
  const s = input.as(ServiceSchema);
  if (!s || toleranceMs === undefined || !input.clean) return { refs };
  return {
    service: {
      name,
      zone,
      policy: s.policy ?? d.policy,
      regions: refs.map((r) => r.region),
      ttl: s.ttl ?? d.ttl,
      answers: count ?? d.answers,
      whenAllDown: s['when-all-down'] ?? d.whenAllDown,
      toleranceMs,
      ...(s.geofence !== undefined ? { geofence: s.geofence } : {}),
      ...(s.unverified !== undefined ? { unverified: s.unverified } : {}),
      ...(s.shed ? { shed: s.shed } : {}),
      ...(s['max-error-ratio'] !== undefined ? { maxErrorRatio: s['max-error-ratio'] } : {}),
    },
    refs,
  };
}

/** Milliseconds: a number is ms here (not seconds, as in check durations), a string a duration. */
function readTolerance(input: Input): number | undefined {
  if (!input.present) return DEFAULTS.service.toleranceMs;
  if (!input.wellFormed) return undefined;
  const ms = typeof input.value === 'number' ? input.value : parseDuration(input.value);
  if (ms === undefined) return input.issue('must be milliseconds (a number) or a duration like "10ms"');
  return ms;
}

/**
 * Re-seeding a Redis that lost its data (restarted empty, FLUSHALL, failover to an empty replica). Every node
 * remembers the store's epoch (a random id in `{ns}:epoch`, written once when the store is first used); a
 * read that finds it missing or different means the data this node synced with is gone. The node then writes
 * its last synced state back, entry by entry, keeping whichever copy is newer (region `updatedAt`, drain
 * `since`, probe `at`, latency `updatedAt`), so several nodes re-seeding at once converge on the most recent
 * data without duplicates (entries are hash fields). One Lua script: atomic, and a node that re-seeds second
 * cannot overwrite newer entries of the first.
 */
import { DEADLINE_GUARD } from './redis-deadline.js';
import type { StateData } from './types.js';

/** KEYS: regions, drains, probes, latency, epoch. ARGV: channel, proposed epoch, JSON entries, change id, deadline. */
export const RESEED_SCRIPT = `${DEADLINE_GUARD}
local p = cjson.decode(ARGV[3])
local function merge(key, entries, field)
  local n = 0
  for _, e in ipairs(entries) do
    local cur = redis.call('HGET', key, e[1])
    local take = true
    if cur then
      local ok, c = pcall(cjson.decode, cur)
      if ok and type(c) == 'table' and tonumber(c[field]) and tonumber(c[field]) >= e[3] then take = false end
    end
    if take then
      redis.call('HSET', key, e[1], e[2])
      n = n + 1
    end
  end
  return n
end
local written = merge(KEYS[1], p.regions, 'updatedAt') + merge(KEYS[2], p.drains, 'since') + merge(KEYS[3], p.probes, 'at') + merge(KEYS[4], p.latency, 'updatedAt')
redis.call('SET', KEYS[5], ARGV[2], 'NX')
local epoch = redis.call('GET', KEYS[5])
redis.call('PUBLISH', ARGV[1], '{"kind":"reseeded","id":"' .. ARGV[4] .. '"}')
return { epoch, written }
`;

type Entry = [field: string, json: string, at: number];

/** The script's entries: every key of the state with its JSON and the time that decides which copy is newer. */
export function reseedPayload(state: StateData): string {
  const out: { regions: Entry[]; drains: Entry[]; probes: Entry[]; latency: Entry[] } = { regions: [], drains: [], probes: [], latency: [] };
  for (const [k, v] of state.regions) out.regions.push([k, JSON.stringify(v), v.updatedAt]);
  for (const [k, v] of state.drains) out.drains.push([k, JSON.stringify(v), v.since]);
  for (const [k, v] of state.probes) out.probes.push([k, JSON.stringify(v), v.at]);
  for (const [k, v] of state.latency) out.latency.push([k, JSON.stringify(v), v.updatedAt]);
  return JSON.stringify(out);
}

export function entryCount(state: StateData): number {
  return state.regions.size + state.drains.size + state.probes.size + state.latency.size;
}

/**
 * The Lua scripts of the Redis store's writes that compute where the data lives (so concurrent writers cannot
 * race): the rise/fall machine, the latency average, and pruning. Each starts with the deadline guard
 * (redis-deadline.ts), publishes its change on the channel (ARGV[1]) in the same atomic step, and returns it.
 * Each reads the stored record it builds on through STORED: one that is not a record is replaced, never fatal.
 */
import { DEADLINE_GUARD } from './redis-deadline.js';

/**
 * `stored(cur, types)`: the stored record, or nil when there is none or it is not one (not JSON, or a field not
 * of the type given): a write then starts the record afresh instead of failing on it at every report (a 503
 * forever). The node reports such a value at warn when it reads it (records.ts).
 */
const STORED = `
local function stored(cur, types)
  if not cur then return nil end
  local ok, p = pcall(cjson.decode, cur)
  if not ok or type(p) ~= 'table' then return nil end
  for k, t in pairs(types) do
    if type(p[k]) ~= t then return nil end
  end
  return p
end
`;

/** Same machine as health/machine.ts applyResult, run where the data lives so concurrent reporters cannot race. */
export const PROBE_SCRIPT = `${DEADLINE_GUARD}${STORED}
local now = tonumber(ARGV[2])
local updates = cjson.decode(ARGV[3])
local out = {}
for _, u in ipairs(updates) do
  local p = stored(redis.call('HGET', KEYS[1], u.k), { up = 'boolean', okStreak = 'number', failStreak = 'number', since = 'number' })
  local s
  if p then
    local okS, failS = 0, 0
    if u.ok then okS = math.min(p.okStreak + 1, 1000) else failS = math.min(p.failStreak + 1, 1000) end
    local up, since, tr = p.up, p.since, (tonumber(p.transitions) or 0)
    if (up and failS >= u.fall) or ((not up) and okS >= u.rise) then
      up = not up; since = now; tr = math.min(tr + 1, 1000)
    end
    s = { up = up, okStreak = okS, failStreak = failS, at = now, since = since, transitions = tr }
    if p.rising == true and okS < u.rise then s.rising = true end
    if type(p.lastError) == 'string' then s.lastError = p.lastError; s.lastErrorAt = tonumber(p.lastErrorAt) end
  else
    if u.ok then s = { up = true, okStreak = 1, failStreak = 0, at = now, since = now, transitions = 0 }
    else s = { up = false, okStreak = 0, failStreak = 1, at = now, since = now, transitions = 0 } end
    if s.okStreak < u.rise then s.rising = true end
  end
  if u.rtt then s.rttMs = u.rtt end
  if not u.ok then s.lastError = u.err or 'check failed'; s.lastErrorAt = now end
  redis.call('HSET', KEYS[1], u.k, cjson.encode(s))
  out[#out + 1] = cjson.encode({ u.k, s })
end
local msg = '{"kind":"probes","id":"' .. ARGV[4] .. '","states":[' .. table.concat(out, ',') .. ']}'
redis.call('PUBLISH', ARGV[1], msg)
return msg
`;

/** Same arithmetic as store/latency.ts smoothLatency. */
export const LATENCY_SCRIPT = `${DEADLINE_GUARD}${STORED}
local now, alpha, maxAge = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local samples = cjson.decode(ARGV[5])
local out = {}
for _, s in ipairs(samples) do
  local p = stored(redis.call('HGET', KEYS[1], s.k), { rttMs = 'number', samples = 'number', updatedAt = 'number' })
  local v = { client = s.client, region = s.region, rttMs = s.rtt, samples = 1, updatedAt = now, source = s.source }
  if p then
    if now - p.updatedAt <= maxAge then
      v.rttMs = p.rttMs + alpha * (s.rtt - p.rttMs)
      v.samples = p.samples + 1
    end
  end
  local enc = cjson.encode(v)
  redis.call('HSET', KEYS[1], s.k, enc)
  out[#out + 1] = enc
end
local msg = '{"kind":"latency","id":"' .. ARGV[6] .. '","values":[' .. table.concat(out, ',') .. ']}'
redis.call('PUBLISH', ARGV[1], msg)
return msg
`;

/** Delete probe states not reported since the given time (see Store.pruneProbes), and publish the deletions. */
export const PRUNE_SCRIPT = `${DEADLINE_GUARD}${STORED}
local stale = cjson.decode(ARGV[3])
local gone = {}
for _, e in ipairs(stale) do
  local p = stored(redis.call('HGET', KEYS[1], e[1]), { at = 'number' })
  if p and p.at <= tonumber(e[2]) then
    redis.call('HDEL', KEYS[1], e[1])
    gone[#gone + 1] = '[' .. cjson.encode(e[1]) .. ',null]'
  end
end
if #gone == 0 then return '' end
local msg = '{"kind":"probes","id":"' .. ARGV[2] .. '","states":[' .. table.concat(gone, ',') .. ']}'
redis.call('PUBLISH', ARGV[1], msg)
return msg
`;

/**
 * Write deadlines: a write that reaches Redis late is refused by Redis itself. A command the node gave up on
 * (its timeout passed, or its connection was reset) may still be delivered when the link returns — held by
 * the kernel, a proxy or a load balancer in between; a TCP reset on our side cannot recall it. So every
 * write runs as a Lua script that first compares Redis' clock with a deadline the node computed from its
 * own clock plus the offset measured against Redis `TIME` on that connection, and the node answers 503 only
 * once that deadline has passed: a write answered 503 is then never applied, whenever it arrives.
 */

/** The first lines of every write script: refuse if Redis' clock is past `ARGV[#ARGV]` (ms). */
export const DEADLINE_GUARD = `
local __t = redis.call('TIME')
if tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000) > tonumber(ARGV[#ARGV]) then
  return redis.error_reply('EXPIRED write reached redis after its deadline: not applied')
end
`;

/**
 * Hash writes and publishes, run in order, all or nothing (a script is atomic like MULTI).
 * KEYS: the hashes; ARGV[1]: the ops as JSON `[[cmd, keyIndex, ...args]]`; last ARGV: the deadline.
 */
export const OPS_SCRIPT = `${DEADLINE_GUARD}
local ops = cjson.decode(ARGV[1])
for _, op in ipairs(ops) do
  local cmd = op[1]
  if cmd == 'PUBLISH' then
    redis.call('PUBLISH', op[2], op[3])
  else
    local args = { cmd, KEYS[op[2]] }
    for i = 3, #op do args[#args + 1] = op[i] end
    redis.call(unpack(args))
  end
end
return #ops
`;

const CHUNK = 500;

/** The ops of one atomic write (what a MULTI block held before), with the keys they touch. */
export class WriteOps {
  readonly keys: string[] = [];
  readonly ops: (string | number)[][] = [];

  private keyIndex(key: string): number {
    let i = this.keys.indexOf(key);
    if (i < 0) i = this.keys.push(key) - 1;
    return i + 1;
  }

  // Chunked: the script unpacks each op into one call, and Lua bounds how many values one call can take.
  hset(key: string, ...fieldValues: string[]): this {
    for (let i = 0; i < fieldValues.length; i += CHUNK * 2) this.ops.push(['HSET', this.keyIndex(key), ...fieldValues.slice(i, i + CHUNK * 2)]);
    return this;
  }

  hdel(key: string, ...fields: string[]): this {
    for (let i = 0; i < fields.length; i += CHUNK) this.ops.push(['HDEL', this.keyIndex(key), ...fields.slice(i, i + CHUNK)]);
    return this;
  }

  publish(channel: string, message: string): this {
    this.ops.push(['PUBLISH', channel, message]);
    return this;
  }
}

/** Node clock -> Redis clock, from one `TIME` round trip: offset and how far off it can be (half the RTT). */
export function clockOffset(sentAt: number, receivedAt: number, time: readonly (string | number)[]): { offsetMs: number; uncertaintyMs: number } {
  const redisMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  if (!Number.isFinite(redisMs)) throw new Error(`unreadable TIME reply ${JSON.stringify(time)}`);
  return { offsetMs: redisMs - (sentAt + receivedAt) / 2, uncertaintyMs: Math.ceil((receivedAt - sentAt) / 2) };
}

/**
 * For RRL and cookie tests: servers configured through the environment (GSLB_RRL, GSLB_COOKIE_SECRET, …, as
 * the contract allows, which also lets the same test run against a build that does not know the options),
 * queries sent from a chosen loopback source address (all of 127/8 is local), and /metrics readings.
 */
import { createSocket } from 'node:dgram';
import { pino, type Logger } from 'pino';
import { startTestServer, type TestServer } from './server.js';
import { tcpRaw, type Target } from './dns-client.js';

/** Like startTestServer, with serve options taken from `env` (GSLB_* variables) as well as `args`. */
export async function startEnvServer(
  zones: Record<string, string>,
  env: Record<string, string>,
  args: string[] = [],
  nodeId = 'test-node',
  log: Logger = pino({ level: 'silent' }),
): Promise<TestServer> {
  return startTestServer(zones, { env, args, nodeId, log });
}

/**
 * Send `packets` over UDP from `source` (each with its own ID) as fast as the socket takes them, and collect
 * replies until every packet has one or `quietMs` pass without a new reply (bounded by `maxMs`).
 * Returns the replies by query ID and how long sending took.
 */
export async function udpBurst(
  target: Target,
  source: string,
  packets: Buffer[],
  opts: { quietMs?: number; maxMs?: number } = {},
): Promise<{ replies: Map<number, Buffer>; sendMs: number; bytesIn: number; bytesOut: number }> {
  const quietMs = opts.quietMs ?? 1000;
  const maxMs = opts.maxMs ?? 10_000;
  const sock = createSocket(source.includes(':') ? 'udp6' : 'udp4');
  const replies = new Map<number, Buffer>();
  let bytesIn = 0;
  let lastReply = Date.now();
  sock.on('message', (m) => {
    if (m.length < 2) return;
    replies.set(m.readUInt16BE(0), m);
    bytesIn += m.length;
    lastReply = Date.now();
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, source, () => resolve());
  });
  const t0 = Date.now();
  let bytesOut = 0;
  for (const p of packets) {
    bytesOut += p.length;
    await new Promise<void>((resolve) => sock.send(p, target.port, target.host, () => resolve()));
  }
  const sendMs = Date.now() - t0;
  lastReply = Math.max(lastReply, Date.now());
  const deadline = Date.now() + maxMs;
  while (replies.size < packets.length && Date.now() - lastReply < quietMs && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  sock.close();
  return { replies, sendMs, bytesIn, bytesOut };
}

/** Pipelined TCP queries from `source`; resolves with the replies received (in order) within `timeoutMs`. */
export function tcpFrom(target: Target, source: string, packets: Buffer[], timeoutMs = 5000): Promise<Buffer[]> {
  return tcpRaw(target, packets, packets.length, timeoutMs, source);
}

/** One UDP query from `source`; the raw reply, or undefined after `timeoutMs`. */
export async function udpFrom(target: Target, source: string, packet: Buffer, timeoutMs = 1000): Promise<Buffer | undefined> {
  const { replies } = await udpBurst(target, source, [packet], { quietMs: timeoutMs, maxMs: timeoutMs });
  return replies.get(packet.readUInt16BE(0));
}

/** The value of a metric line matching every `labels` pair (0 when absent). */
export async function metric(api: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** COOKIE option (code 10) data: client cookie, optionally followed by a server cookie. */
export function cookieOption(client: Buffer, server?: Buffer): { code: number; data: Buffer } {
  return { code: 10, data: server ? Buffer.concat([client, server]) : client };
}

/** A QDCOUNT=0 query with only an OPT record carrying `options` (RFC 7873 5.4: asking for a server cookie). */
export function noQuestionQuery(id: number, options: { code: number; data: Buffer }[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 10);
  const opts = Buffer.concat(options.map((o) => Buffer.concat([Buffer.from([o.code >> 8, o.code & 0xff, o.data.length >> 8, o.data.length & 0xff]), o.data])));
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(41, 1);
  opt.writeUInt16BE(1232, 3);
  opt.writeUInt16BE(opts.length, 9);
  return Buffer.concat([header, opt, opts]);
}

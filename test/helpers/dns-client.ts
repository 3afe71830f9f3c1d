/** Test DNS client: builds queries byte by byte (so tests can also build broken ones) and sends real packets. */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { decodeMessage, type DecodedMessage } from '../../src/wire/decode.js';
import { nameToWire } from '../../src/wire/name.js';

export interface EdnsSpec {
  udpSize?: number;
  version?: number;
  flags?: number;
  options?: { code: number; data: Buffer }[];
}

export interface QuerySpec {
  name: string;
  type?: number;
  class?: number;
  id?: number;
  flags?: number;
  edns?: EdnsSpec | false;
}

/** Wire form of a name keeping its case (nameToWire lowercases nothing, it writes what it gets). */
function nameWire(name: string): Buffer {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return nameToWire(n);
}

export function ecsOption(address: string, sourcePrefix: number, scope = 0): { code: number; data: Buffer } {
  const v6 = address.includes(':');
  const full = v6 ? ipv6Bytes(address) : Buffer.from(address.split('.').map(Number));
  const len = (sourcePrefix + 7) >> 3;
  const data = Buffer.alloc(4 + len);
  data.writeUInt16BE(v6 ? 2 : 1, 0);
  data[2] = sourcePrefix;
  data[3] = scope;
  full.copy(data, 4, 0, len);
  if (sourcePrefix & 7) data[3 + len] = data[3 + len]! & (0xff << (8 - (sourcePrefix & 7)));
  return { code: 8, data };
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g as string, 16), i * 2));
  return out;
}

export function buildQuery(spec: QuerySpec): Buffer {
  const id = spec.id ?? Math.floor(Math.random() * 65536);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(spec.flags ?? 0, 2);
  header.writeUInt16BE(1, 4);
  const edns = spec.edns === undefined ? {} : spec.edns;
  header.writeUInt16BE(edns ? 1 : 0, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(spec.type ?? 1, 0);
  q.writeUInt16BE(spec.class ?? 1, 2);
  const parts = [header, nameWire(spec.name), q];
  if (edns) parts.push(optRecord(edns));
  return Buffer.concat(parts);
}

export function optRecord(edns: EdnsSpec): Buffer {
  const opts = Buffer.concat(
    (edns.options ?? []).map((o) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(o.code, 0);
      h.writeUInt16BE(o.data.length, 2);
      return Buffer.concat([h, o.data]);
    }),
  );
  const rr = Buffer.alloc(11);
  rr[0] = 0;
  rr.writeUInt16BE(41, 1);
  rr.writeUInt16BE(edns.udpSize ?? 1232, 3);
  rr[5] = 0;
  rr[6] = edns.version ?? 0;
  rr.writeUInt16BE(edns.flags ?? 0, 7);
  rr.writeUInt16BE(opts.length, 9);
  return Buffer.concat([rr, opts]);
}

export interface Target {
  host: string;
  port: number;
}

/** Send raw bytes over UDP; resolves with the raw reply, or undefined after `timeoutMs` without one. */
export function udpRaw(target: Target, packet: Buffer, timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, timeoutMs);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.send(packet, target.port, target.host);
  });
}

export async function udpQuery(target: Target, spec: QuerySpec | Buffer): Promise<DecodedMessage> {
  const packet = Buffer.isBuffer(spec) ? spec : buildQuery(spec);
  const reply = await udpRaw(target, packet);
  if (!reply) throw new Error('no UDP reply');
  return decodeMessage(reply);
}

/** Send several length-framed messages on one TCP connection (pipelined) and collect that many replies. */
export function tcpRaw(target: Target, packets: Buffer[], expect = packets.length, timeoutMs = 2000, localAddress?: string): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: target.host, port: target.port, ...(localAddress ? { localAddress } : {}) });
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(replies);
    }, timeoutMs);
    sock.on('connect', () => {
      sock.write(
        Buffer.concat(
          packets.map((p) => {
            const l = Buffer.alloc(2);
            l.writeUInt16BE(p.length);
            return Buffer.concat([l, p]);
          }),
        ),
      );
    });
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        replies.push(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
      }
      if (replies.length >= expect) {
        clearTimeout(timer);
        sock.destroy();
        resolve(replies);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function tcpQuery(target: Target, spec: QuerySpec | Buffer): Promise<DecodedMessage> {
  const packet = Buffer.isBuffer(spec) ? spec : buildQuery(spec);
  const [reply] = await tcpRaw(target, [packet]);
  if (!reply) throw new Error('no TCP reply');
  return decodeMessage(reply);
}

/** Answer records as "name TTL TYPE data" lines, for readable assertions. */
export function rrText(msg: DecodedMessage, section: 'answers' | 'authority' | 'additional' = 'answers'): string[] {
  return msg[section].map((r) => {
    const d = r.data as unknown as Record<string, unknown>;
    const { type: _t, ...rest } = d;
    const data = Object.values(rest)
      .map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : Array.isArray(v) ? v.map((x) => (Buffer.isBuffer(x) ? x.toString() : String(x))).join('|') : String(v)))
      .join(' ');
    return `${r.name} ${r.ttl} ${r.type} ${data}`;
  });
}

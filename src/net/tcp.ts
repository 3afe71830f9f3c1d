/**
 * TCP listener (RFC 7766): 2-byte length framing, pipelined queries answered in order, and slots protected
 * from any one client (RFC 7766 section 10 asks servers to bound per-client resources):
 * - at most `maxPerAddress` connections per client address and `maxPerNetwork` per /24 (IPv4) or /56 (IPv6);
 *   over either, a new connection from that client is closed at once;
 * - `maxConnections` in all; when they are all taken, the connection idle the longest is closed to admit the
 *   new one (a connection in the middle of a query or with answers in flight is never chosen);
 * - `queryTimeoutMs` from the first byte of a query to its last (not reset per byte: a slowloris is closed),
 *   and `idleTimeoutMs` between queries;
 * - answers are written only while less than `maxOutputBytes` waits for the client: checked before every
 *   answer, the rest of the pipeline waits (reads paused) until the client takes what it has been sent, and a
 *   client that takes nothing for `idleTimeoutMs` is closed.
 * Deadlines are checked by one sweep per listener rather than a timer per connection or per byte.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { TIMING_SAMPLE_MASK, type QueryObserver } from './observer.js';
import { ParsedQuery } from '../wire/query.js';
import type { Responder } from '../answer/responder.js';
import { clientKeys, ConnectionCounts } from './tcp-clients.js';
import type { ListenAddress } from './udp.js';

export interface TcpLimits {
  /** Time allowed before a connection's first query, and between queries. */
  idleTimeoutMs: number;
  /** Connections from all clients together. */
  maxConnections: number;
  /** Connections from one client address. */
  maxPerAddress?: number;
  /** Connections from one /24 (IPv4) or /56 (IPv6). */
  maxPerNetwork?: number;
  /** From a query's first byte to its last. */
  queryTimeoutMs?: number;
  /** Answers buffered for a client that is not reading them; the next answer waits above this. */
  maxOutputBytes?: number;
}

export const DEFAULT_TCP_LIMITS: Required<TcpLimits> = {
  idleTimeoutMs: 10_000,
  maxConnections: 1000,
  maxPerAddress: 16,
  maxPerNetwork: 64,
  queryTimeoutMs: 2_000,
  maxOutputBytes: 256 * 1024,
};

/**
 * Why the listener closed a connection itself (a fixed set, used as a metric label): refused over a client's
 * limit, refused with every slot busy, closed to make room, query deadline, idle timeout, answers not read.
 */
export const TCP_CLOSE_REASONS = ['client_limit', 'full', 'evicted_idle', 'query_timeout', 'idle_timeout', 'not_reading'] as const;
export type TcpCloseReason = (typeof TCP_CLOSE_REASONS)[number];
export type TcpStats = Record<TcpCloseReason, number>;

/** A length prefix and the largest DNS message. */
const MAX_FRAME = 2 + 65_535;
const EMPTY = Buffer.alloc(0);

/** idle: waiting for a query; query: inside one; blocked: our answers wait for the client to read. */
type Phase = 'idle' | 'query' | 'blocked';

interface Connection {
  readonly socket: Socket;
  readonly address: string;
  readonly network: string;
  readonly family: 4 | 6;
  pending: Buffer;
  phase: Phase;
  deadline: number;
  /** Bytes still unsent when last looked at while blocked: any progress restarts the deadline. */
  unsent: number;
  open: boolean;
}

export class TcpListener {
  private server: Server | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly query = new ParsedQuery();
  private readonly limits: Required<TcpLimits>;
  private readonly connections = new Set<Connection>();
  /** Connections waiting for a query, oldest first (a Set keeps insertion order; re-adding moves to the end). */
  private readonly idle = new Set<Connection>();
  private readonly perAddress = new ConnectionCounts();
  private readonly perNetwork = new ConnectionCounts();
  private count = 0;
  readonly stats = Object.fromEntries(TCP_CLOSE_REASONS.map((r) => [r, 0])) as TcpStats;

  constructor(
    private readonly at: ListenAddress,
    private readonly responder: Responder,
    private readonly log: Logger,
    limits: TcpLimits = DEFAULT_TCP_LIMITS,
    private readonly observer?: QueryObserver,
  ) {
    this.limits = { ...DEFAULT_TCP_LIMITS, ...limits };
  }

  /** Connections currently open. */
  get open(): number {
    return this.connections.size;
  }

  listen(): Promise<number> {
    // No server.maxConnections: the cap is enforced in accept(), where an idle connection can make room.
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    const v6 = this.at.host.includes(':');
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.at.port, host: this.at.host, ipv6Only: v6 }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.warn({ err }, 'tcp server error'));
        const { idleTimeoutMs, queryTimeoutMs } = this.limits;
        this.sweeper = setInterval(() => this.sweep(), Math.min(500, Math.max(25, Math.min(idleTimeoutMs, queryTimeoutMs) / 4)));
        this.sweeper.unref();
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.at.port);
      });
    });
  }

  private accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    const { address, network } = clientKeys(socket.remoteAddress ?? '');
    const limits = this.limits;
    if (this.perAddress.get(address) >= limits.maxPerAddress || this.perNetwork.get(network) >= limits.maxPerNetwork) {
      this.stats.client_limit++;
      socket.destroy();
      return;
    }
    if (this.connections.size >= limits.maxConnections) {
      const victim = this.oldestIdle();
      if (!victim) {
        this.stats.full++;
        socket.destroy();
        return;
      }
      this.stats.evicted_idle++;
      this.drop(victim);
    }
    const c: Connection = {
      socket,
      address,
      network,
      family: address.includes(':') ? 6 : 4,
      pending: EMPTY,
      phase: 'idle',
      deadline: 0,
      unsent: 0,
      open: true,
    };
    this.connections.add(c);
    this.perAddress.add(address);
    this.perNetwork.add(network);
    this.enter(c, 'idle', limits.idleTimeoutMs);
    socket.on('close', () => this.forget(c));
    socket.on('data', (chunk: Buffer) => {
      c.pending = c.pending.length === 0 ? chunk : Buffer.concat([c.pending, chunk]);
      this.serve(c);
    });
    socket.on('drain', () => {
      if (c.phase !== 'blocked') return;
      socket.resume();
      this.serve(c);
    });
  }

  /** The connection idle the longest with nothing left to send (closing it loses nothing). */
  private oldestIdle(): Connection | undefined {
    for (const c of this.idle) if (c.socket.writableLength === 0) return c;
    return undefined;
  }

  private enter(c: Connection, phase: Phase, timeoutMs: number): void {
    this.idle.delete(c);
    if (phase === 'idle') this.idle.add(c);
    c.phase = phase;
    c.deadline = Date.now() + timeoutMs;
  }

  /** Answer every complete query in `pending`, as long as the client takes the answers. */
  private serve(c: Connection): void {
    const socket = c.socket;
    const buf = c.pending;
    const cap = this.limits.maxOutputBytes;
    let off = 0;
    let answered = false;
    while (buf.length - off >= 2) {
      // Checked before each answer, so what waits for this client stays under the cap (one answer may pass it
      // when the cap is below the largest message).
      if (socket.writableLength > 0 && socket.writableLength + MAX_FRAME > cap) {
        c.pending = buf.subarray(off);
        socket.pause();
        this.enter(c, 'blocked', this.limits.idleTimeoutMs);
        c.unsent = socket.writableLength;
        return;
      }
      const len = buf.readUInt16BE(off);
      if (buf.length - off - 2 < len) break;
      const msg = buf.subarray(off + 2, off + 2 + len);
      off += 2 + len;
      answered = true;
      this.answer(socket, msg, c.address, c.family);
      if (socket.destroyed) return;
    }
    c.pending = off === buf.length ? EMPTY : buf.subarray(off);
    if (c.pending.length === 0) this.enter(c, 'idle', this.limits.idleTimeoutMs);
    // A new query has started (or the first bytes came after idling): its deadline starts now. Bytes that only
    // continue the same query leave the deadline where it was.
    else if (answered || c.phase !== 'query') this.enter(c, 'query', this.limits.queryTimeoutMs);
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.connections) {
      if (c.phase === 'blocked' && c.socket.writableLength < c.unsent) {
        c.unsent = c.socket.writableLength;
        c.deadline = now + this.limits.idleTimeoutMs;
        continue;
      }
      if (now < c.deadline) continue;
      this.stats[c.phase === 'query' ? 'query_timeout' : c.phase === 'idle' ? 'idle_timeout' : 'not_reading']++;
      this.drop(c);
    }
  }

  private drop(c: Connection): void {
    this.forget(c);
    c.socket.destroy();
  }

  private forget(c: Connection): void {
    if (!c.open) return;
    c.open = false;
    this.connections.delete(c);
    this.idle.delete(c);
    this.perAddress.remove(c.address);
    this.perNetwork.remove(c.network);
  }

  private answer(socket: Socket, msg: Buffer, address: string, family: 4 | 6): void {
    try {
      const timed = this.observer !== undefined && (++this.count & TIMING_SAMPLE_MASK) === 0;
      const t0 = timed ? performance.now() : 0;
      const q = this.query;
      const outcome = q.parse(msg);
      const out = this.responder.respond(q, outcome, msg, { address, family }, 'tcp');
      this.observer?.(q, outcome, this.responder.info, 'tcp', address, timed ? performance.now() - t0 : -1);
      if (!out) return;
      const framed = Buffer.allocUnsafe(out.length + 2);
      framed.writeUInt16BE(out.length, 0);
      out.copy(framed, 2);
      socket.write(framed);
    } catch (err) {
      this.log.error({ err, peer: address }, 'query failed');
    }
  }

  /** Stop accepting, let written answers flush, then close idle connections. */
  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = undefined;
    clearInterval(this.sweeper);
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const c of this.connections) c.socket.end();
      setTimeout(() => {
        for (const c of this.connections) c.socket.destroy();
      }, 1000).unref();
    });
  }
}

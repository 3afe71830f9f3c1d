/**
 * TCP listener (RFC 7766): 2-byte length framing, pipelined queries answered in order, an idle timeout,
 * a cap on concurrent connections, and reads paused while the peer does not drain our writes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { TIMING_SAMPLE_MASK, type QueryObserver } from './observer.js';
import { ParsedQuery } from './query.js';
import type { Responder } from './responder.js';
import type { ListenAddress } from './udp.js';

export interface TcpLimits {
  idleTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = { idleTimeoutMs: 10_000, maxConnections: 1000 };

export class TcpListener {
  private server: Server | undefined;
  private readonly query = new ParsedQuery();
  private readonly sockets = new Set<Socket>();
  private count = 0;

  constructor(
    private readonly at: ListenAddress,
    private readonly responder: Responder,
    private readonly log: Logger,
    private readonly limits: TcpLimits = DEFAULT_TCP_LIMITS,
    private readonly observer?: QueryObserver,
  ) {}

  listen(): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.maxConnections = this.limits.maxConnections;
    this.server = server;
    const v6 = this.at.host.includes(':');
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.at.port, host: this.at.host, ipv6Only: v6 }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.warn({ err }, 'tcp server error'));
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.at.port);
      });
    });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(this.limits.idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const family = socket.remoteFamily === 'IPv6' ? 6 : 4;
    const address = socket.remoteAddress ?? '';
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let off = 0;
      while (pending.length - off >= 2) {
        const len = pending.readUInt16BE(off);
        if (pending.length - off - 2 < len) break;
        const msg = pending.subarray(off + 2, off + 2 + len);
        off += 2 + len;
        this.answer(socket, msg, address, family);
        if (socket.destroyed) return;
      }
      pending = off === pending.length ? Buffer.alloc(0) : pending.subarray(off);
      // A peer that pipelines but never reads gets no more of our memory.
      if (socket.writableLength > 1 << 20) socket.pause();
    });
    socket.on('drain', () => socket.resume());
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
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of this.sockets) s.end();
      setTimeout(() => {
        for (const s of this.sockets) s.destroy();
      }, 1000).unref();
    });
  }
}

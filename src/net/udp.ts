/** UDP listener: one socket per address, one reused parser, replies sent from the same socket. */
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { ParsedQuery } from '../wire/query.js';
import type { Responder } from '../answer/responder.js';
import { TIMING_SAMPLE_MASK, type QueryObserver } from './observer.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export class UdpListener {
  private socket: Socket | undefined;
  private readonly query = new ParsedQuery();
  private count = 0;

  constructor(
    private readonly at: ListenAddress,
    private readonly responder: Responder,
    private readonly log: Logger,
    private readonly observer?: QueryObserver,
  ) {}

  /** Resolves with the bound port (useful when asked for port 0). */
  listen(): Promise<number> {
    const v6 = this.at.host.includes(':');
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      try {
        const timed = this.observer !== undefined && (++this.count & TIMING_SAMPLE_MASK) === 0;
        const t0 = timed ? performance.now() : 0;
        const q = this.query;
        const outcome = q.parse(msg);
        const family = rinfo.family === 'IPv6' ? 6 : 4;
        const out = this.responder.respond(q, outcome, msg, { address: rinfo.address, family }, 'udp');
        const elapsed = timed ? performance.now() - t0 : -1;
        if (out) socket.send(out, rinfo.port, rinfo.address, noop);
        this.observer?.(q, outcome, this.responder.info, 'udp', rinfo.address, elapsed);
      } catch (err) {
        // A bug must cost one answer, not the process.
        this.log.error({ err, peer: rinfo.address }, 'query failed');
      }
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.at.port, this.at.host, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.log.warn({ err }, 'udp socket error'));
        resolve(socket.address().port);
      });
    });
  }

  close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.resolve();
    this.socket = undefined;
    return new Promise((resolve) => socket.close(() => resolve()));
  }
}

function noop(): void {}

/** UDP listener on Node's dgram: one socket per address, replies sent from the same socket. */
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import type { Logger } from 'pino';
import { DatagramAnswerer, MAX_UDP_QUERY } from './udp-answer.js';
import { emptyUdpIoCounters, type ListenAddress, type UdpIo, type UdpIoCounters } from './udp-io.js';

export type { ListenAddress } from './udp-io.js';

export interface DgramListenOptions {
  /**
   * SO_REUSEPORT (Node >= 22.12, see udp-sharing.ts): several processes bind the same address and the kernel
   * spreads the datagrams. The bind is then exclusive, so that in a cluster worker the socket is this
   * process's own and not the cluster module's shared handle.
   */
  reusePort?: boolean;
}

/** `reusePort` is in Node's dgram from 22.12 on, not yet in the Node 20 types this project builds with. */
type SocketOptionsWithReusePort = SocketOptions & { reusePort?: boolean };

export class DgramUdpListener implements UdpIo {
  readonly mode = 'dgram';
  private socket: Socket | undefined;
  private readonly stats = emptyUdpIoCounters();

  constructor(
    readonly at: ListenAddress,
    private readonly answerer: DatagramAnswerer,
    private readonly log: Logger,
    private readonly options: DgramListenOptions = {},
  ) {}

  listen(): Promise<number> {
    const v6 = this.at.host.includes(':');
    const reusePort = this.options.reusePort === true;
    const socketOptions: SocketOptionsWithReusePort = { type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20, ...(reusePort ? { reusePort } : {}) };
    const socket = createSocket(socketOptions);
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      const cut = msg.length > MAX_UDP_QUERY;
      const out = this.answerer.answer(cut ? msg.subarray(0, MAX_UDP_QUERY) : msg, cut, rinfo.address, rinfo.family === 'IPv6' ? 6 : 4);
      if (out) socket.send(out, rinfo.port, rinfo.address, noop);
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: this.at.port, address: this.at.host, exclusive: reusePort }, () => {
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

  counters(): UdpIoCounters {
    this.stats.oversized = this.answerer.oversized;
    return this.stats;
  }
}

function noop(): void {}

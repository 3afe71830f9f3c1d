/** UDP listener on Node's dgram: one socket per address, replies sent from the same socket. */
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { DatagramAnswerer, MAX_UDP_QUERY } from './udp-answer.js';
import { emptyUdpIoCounters, type ListenAddress, type UdpIo, type UdpIoCounters } from './udp-io.js';

export type { ListenAddress } from './udp-io.js';

export class DgramUdpListener implements UdpIo {
  readonly mode = 'dgram';
  private socket: Socket | undefined;
  private readonly stats = emptyUdpIoCounters();

  constructor(
    readonly at: ListenAddress,
    private readonly answerer: DatagramAnswerer,
    private readonly log: Logger,
  ) {}

  listen(): Promise<number> {
    const v6 = this.at.host.includes(':');
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      const cut = msg.length > MAX_UDP_QUERY;
      const out = this.answerer.answer(cut ? msg.subarray(0, MAX_UDP_QUERY) : msg, cut, rinfo.address, rinfo.family === 'IPv6' ? 6 : 4);
      if (out) socket.send(out, rinfo.port, rinfo.address, noop);
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

  counters(): UdpIoCounters {
    this.stats.oversized = this.answerer.oversized;
    return this.stats;
  }
}

function noop(): void {}

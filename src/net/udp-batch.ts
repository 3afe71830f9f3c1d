/**
 * UDP listener on the batch module: the module hands over up to 64 datagrams at a time in a shared receive
 * buffer, `onBatch` answers them all in one call, writing the responses one after another into the shared
 * output buffer, and the module sends them with one sendmmsg (native/udp_batch.c).
 */
import type { Logger } from 'pino';
import { bytesToIpv4, bytesToIpv6 } from '../wire/ip.js';
import type { BatchAddon, BatchSocket } from './udp-batch-addon.js';
import { DatagramAnswerer, MAX_UDP_QUERY } from './udp-answer.js';
import { emptyUdpIoCounters, type ListenAddress, type UdpIo, type UdpIoCounters } from './udp-io.js';

export interface BatchListenOptions {
  /** SO_REUSEPORT: several processes may bind the same address and the kernel spreads the datagrams. */
  reusePort?: boolean;
  /** Under load, read the socket on a timer of this period (µs) instead of per arrival; 0 = off (--udp-coalesce). */
  coalesceMicros?: number;
  /** Tests only: every Nth send pretends the socket would block. */
  fakeEagainEvery?: number;
}

const BUFFER_BYTES = 4 << 20;

export class BatchUdpListener implements UdpIo {
  readonly mode = 'batch';
  private socket: BatchSocket | undefined;
  private rx: Buffer = Buffer.alloc(0);
  private tx: Buffer = Buffer.alloc(0);
  private addr: Buffer = Buffer.alloc(0);
  /** `addr` as four 32-bit words per datagram, and the last source address seen in them (see peerText). */
  private addrWords: Int32Array = new Int32Array(0);
  private readonly lastPeer = new Int32Array(4);
  private lastPeerFamily = 0;
  private lastPeerText = '';
  private readonly stats = emptyUdpIoCounters();
  private statIndex: Record<string, number> = {};

  constructor(
    readonly at: ListenAddress,
    private readonly addon: BatchAddon,
    private readonly answerer: DatagramAnswerer,
    private readonly log: Logger,
    private readonly options: BatchListenOptions = {},
  ) {}

  listen(): Promise<number> {
    try {
      const socket = new this.addon.UdpSocket(
        {
          host: this.at.host,
          port: this.at.port,
          reusePort: this.options.reusePort ?? false,
          recvBufferSize: BUFFER_BYTES,
          sendBufferSize: BUFFER_BYTES,
          slotSize: MAX_UDP_QUERY,
          txSize: this.addon.MAX_BATCH * MAX_UDP_QUERY,
          fakeEagainEvery: this.options.fakeEagainEvery ?? 0,
          coalesceMicros: this.options.coalesceMicros ?? 0,
        },
        (count) => this.onBatch(count),
      );
      this.socket = socket;
      this.rx = Buffer.from(socket.rx.buffer, socket.rx.byteOffset, socket.rx.byteLength);
      this.tx = Buffer.from(socket.tx.buffer, socket.tx.byteOffset, socket.tx.byteLength);
      this.addr = Buffer.from(socket.rxAddr.buffer, socket.rxAddr.byteOffset, socket.rxAddr.byteLength);
      this.addrWords = new Int32Array(socket.rxAddr.buffer, socket.rxAddr.byteOffset, socket.rxAddr.byteLength >> 2);
      this.statIndex = Object.fromEntries(this.addon.STATS.map((name, i) => [name, i]));
      return Promise.resolve(socket.port);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Answers datagrams 0..count-1; returns how many responses it wrote (txMeta entries). */
  private onBatch(count: number): number {
    const socket = this.socket;
    if (!socket) return 0;
    const { rxMeta, txMeta } = socket;
    const { RX_META, TX_META, RX_TRUNCATED } = this.addon;
    const { rx, tx } = this;
    let responses = 0;
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const m = i * RX_META;
      const start = i * MAX_UDP_QUERY;
      const msg = rx.subarray(start, start + rxMeta[m]!);
      const family = rxMeta[m + 3] === 6 ? 6 : 4;
      const address = this.peerText(i, family);
      const out = this.answerer.answer(msg, (rxMeta[m + 1]! & RX_TRUNCATED) !== 0, address, family);
      if (!out) continue;
      if (offset + out.length > tx.length) {
        // Cannot happen while UDP answers stay within 1232 bytes (64 of them fit); never write past the buffer.
        this.log.error({ peer: address, size: out.length }, 'udp batch output buffer full: response not sent');
        continue;
      }
      out.copy(tx, offset);
      const t = responses * TX_META;
      txMeta[t] = i;
      txMeta[t + 1] = offset;
      txMeta[t + 2] = out.length;
      offset += out.length;
      responses++;
    }
    return responses;
  }

  /**
   * The text form of datagram i's source address. A batch mostly comes from a few resolvers, so the last
   * one's text is kept: formatting an address costs several string allocations, comparing it four integers.
   */
  private peerText(i: number, family: 4 | 6): string {
    const words = this.addrWords;
    const w = i * 4;
    const last = this.lastPeer;
    if (family === this.lastPeerFamily && words[w] === last[0] && words[w + 1] === last[1] && words[w + 2] === last[2] && words[w + 3] === last[3])
      return this.lastPeerText;
    last[0] = words[w]!;
    last[1] = words[w + 1]!;
    last[2] = words[w + 2]!;
    last[3] = words[w + 3]!;
    this.lastPeerFamily = family;
    this.lastPeerText = family === 6 ? bytesToIpv6(this.addr, i * 16) : bytesToIpv4(this.addr, i * 16);
    return this.lastPeerText;
  }

  close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.resolve();
    this.socket = undefined;
    return new Promise((resolve) => socket.close(resolve));
  }

  counters(): UdpIoCounters {
    const s = this.stats;
    s.oversized = this.answerer.oversized;
    const native = this.socket?.stats;
    if (native) {
      const at = (name: string) => native[this.statIndex[name] ?? -1] ?? 0;
      s.recvCalls = at('recvCalls');
      s.datagrams = at('datagrams');
      s.sendCalls = at('sendCalls');
      s.sent = at('sent');
      s.sendWaits = at('sendWaits');
      s.sendErrors = at('sendErrors');
      s.ticks = at('ticks');
      s.coalescing = at('coalescing');
    }
    return s;
  }
}

/**
 * UDP I/O for the DNS listeners, two ways: Node's `dgram` (one recvmsg, one sendmsg and one JS callback per
 * datagram) or the batch module (recvmmsg/sendmmsg of up to 64 datagrams, one JS call per batch; see
 * native/udp_batch.c). `--udp-io auto` takes batch when the module loads, else dgram.
 */
import { loadBatchAddon, type BatchAddon } from './udp-batch-addon.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export const UDP_IO_SETTINGS = ['auto', 'batch', 'dgram'] as const;
export type UdpIoSetting = (typeof UDP_IO_SETTINGS)[number];
export type UdpIoMode = Exclude<UdpIoSetting, 'auto'>;

/** Counters of one listener, summed into /metrics (the batch ones stay 0 under dgram). */
export interface UdpIoCounters {
  /** Datagrams over the longest query read (answered FORMERR). */
  oversized: number;
  recvCalls: number;
  datagrams: number;
  sendCalls: number;
  sent: number;
  /** Sends that would have blocked and waited for the socket to be writable. */
  sendWaits: number;
  /** Responses the kernel refused (counted, not retried). */
  sendErrors: number;
  /** Coalescing (--udp-coalesce): reads on the timer, and times a burst began it. */
  ticks: number;
  coalescing: number;
}

/** One UDP listener. */
export interface UdpIo {
  readonly mode: UdpIoMode;
  readonly at: ListenAddress;
  /** Resolves with the bound port (useful when asked for port 0). */
  listen(): Promise<number>;
  /** No query is answered after this resolves, and the port is free again. */
  close(): Promise<void>;
  counters(): UdpIoCounters;
}

export interface UdpIoChoice {
  mode: UdpIoMode;
  /** The loaded module, in batch mode. */
  addon: BatchAddon | undefined;
  /** Where the module was looked for. */
  modulePath: string;
  /** Why `auto` fell back to dgram (undefined when it did not). */
  fallback: string | undefined;
}

export class UdpIoUnavailable extends Error {}

/** Which UDP I/O runs. `batch` throws UdpIoUnavailable, saying why, when the module does not load. */
export function chooseUdpIo(setting: UdpIoSetting, modulePath?: string): UdpIoChoice {
  if (setting === 'dgram') {
    const path = modulePath ?? '';
    return { mode: 'dgram', addon: undefined, modulePath: path, fallback: undefined };
  }
  const load = loadBatchAddon(modulePath);
  if ('addon' in load) return { mode: 'batch', addon: load.addon, modulePath: load.path, fallback: undefined };
  if (setting === 'batch') throw new UdpIoUnavailable(`the native batch module does not load: ${load.error}`);
  return { mode: 'dgram', addon: undefined, modulePath: load.path, fallback: load.error };
}

export function emptyUdpIoCounters(): UdpIoCounters {
  return { oversized: 0, recvCalls: 0, datagrams: 0, sendCalls: 0, sent: 0, sendWaits: 0, sendErrors: 0, ticks: 0, coalescing: 0 };
}

/**
 * Loading the batched UDP I/O module (native/udp_batch.c, built by `native/build.mjs` at install). It is
 * optional: where it did not build or does not load, `loadBatchAddon` says why and the server uses dgram.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where the install script puts the module (two levels up from src/net/ and from dist/net/). */
export const DEFAULT_BATCH_MODULE = fileURLToPath(new URL('../../native/build/Release/udp_batch.node', import.meta.url));

export interface BatchSocketOptions {
  /** A numeric IPv4 or IPv6 address. */
  host: string;
  port: number;
  /** SO_REUSEPORT, so several processes can bind the same address and the kernel spreads datagrams. */
  reusePort?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** Bytes per receive slot: a longer datagram arrives cut to this and flagged RX_TRUNCATED. */
  slotSize?: number;
  /** Bytes of the shared output buffer. */
  txSize?: number;
  /** Tests only: every Nth send pretends the socket would block, to exercise the wait for writability. */
  fakeEagainEvery?: number;
  /** Receive coalescing period in µs (0 = off). */
  coalesceMicros?: number;
}

/** The native socket; see the comment at the top of native/udp_batch.c for the shared-buffer layout. */
export interface BatchSocket {
  readonly rx: Uint8Array;
  readonly rxMeta: Int32Array;
  readonly rxAddr: Uint8Array;
  readonly tx: Uint8Array;
  readonly txMeta: Int32Array;
  /** Counters, named by `BatchAddon.STATS`. */
  readonly stats: Float64Array;
  readonly port: number;
  readonly family: 4 | 6;
  /** No batch callback after this; `done` runs once the descriptor is closed. */
  close(done?: () => void): void;
}

export interface BatchAddon {
  /** `onBatch(n)`: n datagrams are in rx/rxMeta/rxAddr; return how many txMeta entries were filled. */
  UdpSocket: new (options: BatchSocketOptions, onBatch: (count: number) => number) => BatchSocket;
  readonly MAX_BATCH: number;
  readonly RX_META: number;
  readonly TX_META: number;
  readonly RX_TRUNCATED: number;
  readonly STATS: readonly string[];
}

export type AddonLoad = { addon: BatchAddon; path: string } | { error: string; path: string };

const loaded = new Map<string, AddonLoad>();

/** The module at `path` (default: where the install script builds it), loaded once per process. */
export function loadBatchAddon(path: string = DEFAULT_BATCH_MODULE): AddonLoad {
  const seen = loaded.get(path);
  if (seen) return seen;
  let result: AddonLoad;
  if (process.platform !== 'linux') result = { error: `needs Linux (recvmmsg/sendmmsg), this is ${process.platform}`, path };
  else {
    try {
      const addon = createRequire(import.meta.url)(path) as Partial<BatchAddon>;
      result = typeof addon.UdpSocket === 'function' ? { addon: addon as BatchAddon, path } : { error: `${path} is not the gslb UDP batch module`, path };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // The usual reason: the install could not compile it (no C compiler); say so rather than "cannot find module".
      result = { error: e.code === 'MODULE_NOT_FOUND' ? `${path} not found (not built at install: run node native/build.mjs)` : firstLine(e.message), path };
    }
  }
  loaded.set(path, result);
  return result;
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
}

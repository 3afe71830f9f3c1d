/**
 * The DNS listeners of one process: which UDP I/O runs (`--udp-io`), and UDP + TCP bound on each `--dns`
 * address. The single process (server.ts) and each DNS worker (worker.ts) bind through here.
 */
import type { Logger } from 'pino';
import type { Responder } from './answer/responder.js';
import type { ServeOptions } from './config.js';
import type { QueryObserver } from './net/observer.js';
import { TcpListener, type TcpLimits } from './net/tcp.js';
import type { DgramListenOptions } from './net/udp.js';
import type { BatchListenOptions } from './net/udp-batch.js';
import { chooseUdpIo, UdpIoUnavailable, type ListenAddress, type UdpIo, type UdpIoChoice } from './net/udp-io.js';
import { createUdpListener, type UdpListenerDeps } from './net/udp-listener.js';

export class StartupError extends Error {}

/** `--udp-io`: the choice, logged once (a warn line when auto falls back to dgram, saying why). */
export function chooseIo(opts: Pick<ServeOptions, 'udpIo' | 'udpIoModule'>, log: Logger): UdpIoChoice {
  let io: UdpIoChoice;
  try {
    io = chooseUdpIo(opts.udpIo, opts.udpIoModule);
  } catch (err) {
    if (err instanceof UdpIoUnavailable) throw new StartupError(`--udp-io batch: ${err.message}`);
    throw err;
  }
  if (io.fallback !== undefined) log.warn({ udpIo: 'dgram', reason: io.fallback }, `--udp-io auto: using dgram, the batch module does not load: ${io.fallback}`);
  log.info({ udpIo: io.mode, ...(io.mode === 'batch' ? { file: io.modulePath } : {}) }, `udp io: ${io.mode}`);
  return io;
}

export interface DnsListenDeps {
  io: UdpIoChoice;
  log: Logger;
  observer: QueryObserver | undefined;
  udpResponder: Responder;
  tcpResponder: Responder;
  tcpLimits: TcpLimits;
  batch?: BatchListenOptions;
  dgram?: DgramListenOptions;
}

export interface DnsListeners {
  udp: UdpIo[];
  tcp: TcpListener[];
  bound: ListenAddress[];
  close(): Promise<void>;
}

/** Binds every address; on a failure closes what was bound and throws StartupError naming the address. */
export async function listenDns(addresses: readonly ListenAddress[], deps: DnsListenDeps): Promise<DnsListeners> {
  const udp: UdpIo[] = [];
  const tcp: TcpListener[] = [];
  const bound: ListenAddress[] = [];
  const close = async () => {
    await Promise.all([...udp.map((l) => l.close()), ...tcp.map((l) => l.close())]);
  };
  const udpDeps: UdpListenerDeps = { io: deps.io, responder: deps.udpResponder, log: deps.log, observer: deps.observer, ...(deps.batch ? { batch: deps.batch } : {}), ...(deps.dgram ? { dgram: deps.dgram } : {}) };
  for (const at of addresses) {
    try {
      const [u, t, port] = await bindPair(at, udpDeps, deps.tcpResponder, deps.tcpLimits);
      udp.push(u);
      tcp.push(t);
      bound.push({ host: at.host, port });
    } catch (err) {
      await close();
      throw new StartupError(`cannot listen for DNS: ${(err as Error).message}`);
    }
  }
  return { udp, tcp, bound, close };
}

/** UDP and TCP on the same port; with port 0, take UDP's port for TCP (retrying if TCP finds it taken). */
async function bindPair(at: ListenAddress, udp: UdpListenerDeps, rt: Responder, limits: TcpLimits): Promise<[UdpIo, TcpListener, number]> {
  for (let attempt = 0; ; attempt++) {
    const u = createUdpListener(at, udp);
    const port = await u.listen();
    const t = new TcpListener({ host: at.host, port }, rt, udp.log, limits, udp.observer);
    try {
      await t.listen();
      return [u, t, port];
    } catch (err) {
      await u.close();
      if (at.port !== 0 || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
}

/** A UDP listener of the chosen kind (`--udp-io`), answering with `responder`. */
import type { Logger } from 'pino';
import type { Responder } from '../answer/responder.js';
import type { QueryObserver } from './observer.js';
import { DgramUdpListener, type DgramListenOptions } from './udp.js';
import { BatchUdpListener, type BatchListenOptions } from './udp-batch.js';
import { DatagramAnswerer } from './udp-answer.js';
import type { ListenAddress, UdpIo, UdpIoChoice } from './udp-io.js';

export interface UdpListenerDeps {
  io: UdpIoChoice;
  responder: Responder;
  log: Logger;
  observer: QueryObserver | undefined;
  /** Batch mode only: SO_REUSEPORT and test knobs. */
  batch?: BatchListenOptions;
  /** Dgram mode only: SO_REUSEPORT where Node has it. */
  dgram?: DgramListenOptions;
}

export function createUdpListener(at: ListenAddress, deps: UdpListenerDeps): UdpIo {
  const answerer = new DatagramAnswerer(deps.responder, deps.log, deps.observer);
  const addon = deps.io.addon;
  if (deps.io.mode === 'batch' && addon) return new BatchUdpListener(at, addon, answerer, deps.log, deps.batch);
  return new DgramUdpListener(at, answerer, deps.log, deps.dgram);
}

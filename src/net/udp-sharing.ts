/**
 * How DNS worker processes (--workers) share each UDP port. `reuseport`: every worker binds its own socket
 * with SO_REUSEPORT and the kernel spreads datagrams by 4-tuple hash (the batch module on any Node; `dgram`'s
 * own `reusePort` from Node 22.12 on). `cluster`: one socket in the primary, handed to every worker by the
 * cluster module (dgram on older Node, which ignores `reusePort` and fails the second bind with EADDRINUSE).
 */
import type { UdpIoMode } from './udp-io.js';

export type UdpSharing = 'reuseport' | 'cluster';

/** Node's dgram takes `reusePort` from 22.12 (and 23.1) on. */
export function dgramHasReusePort(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

export function workerUdpSharing(mode: UdpIoMode, nodeVersion?: string): UdpSharing {
  return mode === 'batch' || dgramHasReusePort(nodeVersion) ? 'reuseport' : 'cluster';
}

/**
 * Who a TCP connection counts against: its address, and its network (IPv4 /24, IPv6 /56: what one customer or
 * one resolver farm usually holds), so one client cannot take the slots meant for everyone.
 */
import { ipv6ToBytes } from '../wire/ip.js';

export interface ClientKeys {
  address: string;
  network: string;
}

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

export function clientKeys(remoteAddress: string): ClientKeys {
  const address = MAPPED_V4.exec(remoteAddress)?.[1] ?? remoteAddress;
  if (!address.includes(':')) return { address, network: `${address.slice(0, address.lastIndexOf('.'))}/24` };
  return { address, network: `${ipv6ToBytes(address).subarray(0, 7).toString('hex')}/56` };
}

/** Live connections per key; a key at 0 is forgotten, so the map holds only clients that are connected. */
export class ConnectionCounts {
  private readonly counts = new Map<string, number>();

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.counts.set(key, this.get(key) + 1);
  }

  remove(key: string): void {
    const n = this.get(key) - 1;
    if (n > 0) this.counts.set(key, n);
    else this.counts.delete(key);
  }
}

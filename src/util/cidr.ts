/** CIDR parsing and prefix matching over 4- or 16-byte addresses. */
import { ipFamily } from '../wire/ip.js';
import { bytesToIpv4, bytesToIpv6, ipv4ToBytes, ipv6ToBytes } from '../wire/ip.js';

export interface Cidr {
  family: 4 | 6;
  prefix: number;
  /** Network address, 4 or 16 bytes, host bits zero. */
  network: Buffer;
}

export function addressBytes(address: string, family: 4 | 6): Buffer {
  if (family === 6) return ipv6ToBytes(address);
  const b = Buffer.alloc(4);
  ipv4ToBytes(address, b, 0);
  return b;
}

/** Parse `addr/len` (or a bare address as a host route); returns an error message on failure. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = ipFamily(addr);
  if (family === 0) return `"${text}" is not an IPv4 or IPv6 network`;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return `"${text}" has an invalid prefix length (0-${max})`;
    prefix = Number(p);
  }
  const network = addressBytes(addr, family);
  if (!prefixBitsOnly(network, prefix)) return `"${text}" has bits set beyond /${prefix}`;
  return { family, prefix, network };
}

/** Clears every bit of `bytes` past `prefix`, in place; returns `bytes`. */
export function maskBits(bytes: Buffer, prefix: number): Buffer {
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return bytes;
}

/** An address of `family` (its first 4 or 16 bytes) as text: `192.0.2.0`, `2001:db8::`. */
export function addressText(bytes: Buffer, family: 4 | 6): string {
  return family === 4 ? bytesToIpv4(bytes, 0) : bytesToIpv6(bytes, 0);
}

/** True when no bit past `prefix` is set. */
export function prefixBitsOnly(bytes: Buffer, prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return false;
  }
  return true;
}

/** True when the first `prefix` bits of `address` equal those of `network`. */
export function inPrefix(address: Buffer, network: Buffer, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== network[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address[whole]! ^ network[whole]!) & mask) === 0;
}

/** IPv4/IPv6 text <-> bytes, without allocation-heavy helpers on the hot path. */
import { isIPv4, isIPv6 } from 'node:net';

export function ipv4ToBytes(address: string, out: Buffer, offset: number): void {
  let part = 0;
  let o = offset;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      out[o++] = part;
      part = 0;
    } else {
      part = part * 10 + (c - 48);
    }
  }
  out[o] = part;
}

/** 16 bytes of an IPv6 address (accepts embedded IPv4 in the last 32 bits). */
export function ipv6ToBytes(address: string): Buffer {
  const out = Buffer.alloc(16);
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const v4 = Buffer.alloc(4);
    ipv4ToBytes(text.slice(lastColon + 1), v4, 0);
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = headGroups.map((g) => parseInt(g, 16));
  const restNums = restGroups.map((g) => parseInt(g, 16));
  const missing = 8 - groups.length - restNums.length;
  for (let i = 0; i < missing; i++) groups.push(0);
  groups.push(...restNums);
  if (tail.length === 2) {
    groups[6] = tail[0]!;
    groups[7] = tail[1]!;
  }
  for (let i = 0; i < 8; i++) out.writeUInt16BE(groups[i] ?? 0, i * 2);
  return out;
}

export function bytesToIpv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** RFC 5952 text form of 16 bytes. */
export function bytesToIpv6(buf: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

export function ipFamily(address: string): 4 | 6 | 0 {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return 0;
}

/** One spelling per IPv6 address (RFC 5952), so the same address written two ways is the same key. */
export function canonicalIpv6(address: string): string {
  return bytesToIpv6(ipv6ToBytes(address), 0);
}

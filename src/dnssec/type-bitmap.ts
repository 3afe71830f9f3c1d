/**
 * The NSEC Type Bit Maps field (RFC 4034 4.1.2): for each 256-type window that has a type, the window number,
 * the length of its bitmap (1-32 bytes, trailing zero bytes left out) and the bitmap, bit 0 of byte 0 being
 * the window's first type; windows in increasing order.
 */

export function encodeTypeBitmap(types: Iterable<number>): Buffer {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let i = 0;
  while (i < sorted.length) {
    const window = sorted[i]! >> 8;
    const bits = Buffer.alloc(32);
    let last = 0;
    for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
      const low = sorted[i]! & 0xff;
      bits[low >> 3]! |= 0x80 >> (low & 7);
      last = low >> 3;
    }
    parts.push(Buffer.from([window, last + 1]), bits.subarray(0, last + 1));
  }
  return Buffer.concat(parts);
}

/** The types in a bitmap, ascending; throws on a malformed one (the strict reading, for tests and tools). */
export function decodeTypeBitmap(buf: Buffer): number[] {
  const types: number[] = [];
  let pos = 0;
  let previous = -1;
  while (pos < buf.length) {
    if (pos + 2 > buf.length) throw new Error('type bitmap window header runs past the end');
    const window = buf[pos]!;
    const length = buf[pos + 1]!;
    if (window <= previous) throw new Error('type bitmap windows out of order');
    if (length < 1 || length > 32 || pos + 2 + length > buf.length) throw new Error(`type bitmap window of ${length} bytes`);
    for (let b = 0; b < length; b++) {
      const byte = buf[pos + 2 + b]!;
      for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) types.push((window << 8) | (b << 3) | bit);
    }
    previous = window;
    pos += 2 + length;
  }
  return types;
}

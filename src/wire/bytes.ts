/**
 * Big-endian integers in a Buffer, for the query path's hot functions. Buffer's readUInt16BE/writeUInt16BE
 * check their arguments and are too big to be inlined into a large caller: in the parser and the response
 * builder they ran as calls of their own, a visible share of a query's CPU. These are inlined; callers have
 * checked the offsets against the buffer's length already.
 */
export function u16(buf: Buffer, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

export function put16(buf: Buffer, at: number, value: number): void {
  buf[at] = value >>> 8;
  buf[at + 1] = value;
}

export function put32(buf: Buffer, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = value >>> 16;
  buf[at + 2] = value >>> 8;
  buf[at + 3] = value;
}

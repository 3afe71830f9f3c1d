/**
 * SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012) with a 16-byte key and a 64-bit
 * output, as RFC 9018 server cookies need it. Written on 32-bit halves because BigInt costs ~50x more; the
 * state is module-level and reused, so a call allocates nothing.
 */

// v0..v3 as [lo, hi] pairs: s[0]=v0.lo s[1]=v0.hi s[2]=v1.lo ... s[7]=v3.hi.
const s = new Uint32Array(8);

function add(a: number, b: number): void {
  const lo = s[a]! + s[b]!;
  s[a + 1] = s[a + 1]! + s[b + 1]! + (lo > 0xffffffff ? 1 : 0);
  s[a] = lo;
}

function rotl(a: number, n: number): void {
  const lo = s[a]!;
  const hi = s[a + 1]!;
  if (n === 32) {
    s[a] = hi;
    s[a + 1] = lo;
    return;
  }
  s[a + 1] = (hi << n) | (lo >>> (32 - n));
  s[a] = (lo << n) | (hi >>> (32 - n));
}

function xor(a: number, b: number): void {
  s[a] = s[a]! ^ s[b]!;
  s[a + 1] = s[a + 1]! ^ s[b + 1]!;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  rotl(V0, 32);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  rotl(V2, 32);
}

function mix(lo: number, hi: number): void {
  s[V3] = s[V3]! ^ lo;
  s[V3 + 1] = s[V3 + 1]! ^ hi;
  sipRound();
  sipRound();
  s[V0] = s[V0]! ^ lo;
  s[V0 + 1] = s[V0 + 1]! ^ hi;
}

/**
 * SipHash-2-4 of `data[start, end)` under the 16-byte `key`; the 8-byte result is written to `out` at `at`
 * in little-endian order (the byte order of the reference implementation and of RFC 9018's test vectors).
 */
export function siphash24(key: Buffer, data: Buffer, start: number, end: number, out: Buffer, at: number): void {
  if (key.length !== 16) throw new RangeError('SipHash key must be 16 bytes');
  const k0lo = key.readUInt32LE(0);
  const k0hi = key.readUInt32LE(4);
  const k1lo = key.readUInt32LE(8);
  const k1hi = key.readUInt32LE(12);
  s[0] = k0lo ^ 0x70736575;
  s[1] = k0hi ^ 0x736f6d65;
  s[2] = k1lo ^ 0x6e646f6d;
  s[3] = k1hi ^ 0x646f7261;
  s[4] = k0lo ^ 0x6e657261;
  s[5] = k0hi ^ 0x6c796765;
  s[6] = k1lo ^ 0x79746573;
  s[7] = k1hi ^ 0x74656462;
  const len = end - start;
  const whole = start + (len & ~7);
  let p = start;
  for (; p < whole; p += 8) mix(data.readUInt32LE(p), data.readUInt32LE(p + 4));
  // Last block: the remaining 0-7 bytes, little-endian, with the length's low byte on top.
  let lo = 0;
  let hi = (len & 0xff) << 24;
  for (let i = 0; p + i < end; i++) {
    const b = data[p + i]!;
    if (i < 4) lo |= b << (8 * i);
    else hi |= b << (8 * (i - 4));
  }
  mix(lo >>> 0, hi >>> 0);
  s[V2] = s[V2]! ^ 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  out.writeUInt32LE((s[0]! ^ s[2]! ^ s[4]! ^ s[6]!) >>> 0, at);
  out.writeUInt32LE((s[1]! ^ s[3]! ^ s[5]! ^ s[7]!) >>> 0, at + 4);
}

/**
 * SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012) with a 16-byte key and a 64-bit
 * output, as RFC 9018 server cookies need it. The 64-bit lanes are held as pairs of 32-bit halves in local
 * variables (BigInt would cost ~50x more, a typed-array state ~2x), so a call allocates nothing.
 */

/**
 * SipHash-2-4 of `data[start, end)` under the 16-byte `key`; the 8-byte result is written to `out` at `at`
 * in little-endian order (the byte order of the reference implementation and of RFC 9018's test vectors).
 */
export function siphash24(key: Buffer, data: Buffer, start: number, end: number, out: Buffer, at: number): void {
  if (key.length !== 16) throw new RangeError('SipHash key must be 16 bytes');
  const k0l = key.readUInt32LE(0);
  const k0h = key.readUInt32LE(4);
  const k1l = key.readUInt32LE(8);
  const k1h = key.readUInt32LE(12);
  // "somepseudorandomlygeneratedbytes"
  let v0l = (k0l ^ 0x70736575) >>> 0;
  let v0h = (k0h ^ 0x736f6d65) >>> 0;
  let v1l = (k1l ^ 0x6e646f6d) >>> 0;
  let v1h = (k1h ^ 0x646f7261) >>> 0;
  let v2l = (k0l ^ 0x6e657261) >>> 0;
  let v2h = (k0h ^ 0x6c796765) >>> 0;
  let v3l = (k1l ^ 0x79746573) >>> 0;
  let v3h = (k1h ^ 0x74656462) >>> 0;
  let l: number;
  let t: number;

  const len = end - start;
  const whole = start + (len & ~7);
  // One pass per 8-byte block, then one for the last block (the remaining 0-7 bytes, little-endian, with the
  // length's low byte on top), then finalisation: 2 compression rounds per block, 4 at the end.
  for (let p = start; ; p += 8) {
    let ml: number;
    let mh: number;
    let rounds = 2;
    const last = p >= whole;
    if (!last) {
      ml = data.readUInt32LE(p);
      mh = data.readUInt32LE(p + 4);
    } else if (p <= end) {
      ml = 0;
      mh = (len & 0xff) << 24;
      for (let i = 0; p + i < end; i++) {
        const b = data[p + i]!;
        if (i < 4) ml |= b << (8 * i);
        else mh |= b << (8 * (i - 4));
      }
      ml >>>= 0;
      mh >>>= 0;
    } else {
      // Finalisation.
      ml = 0;
      mh = 0;
      v2l = (v2l ^ 0xff) >>> 0;
      rounds = 4;
    }
    v3l = (v3l ^ ml) >>> 0;
    v3h = (v3h ^ mh) >>> 0;
    for (let r = 0; r < rounds; r++) {
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      l = v0l + v1l;
      v0h = (v0h + v1h + (l > 0xffffffff ? 1 : 0)) >>> 0;
      v0l = l >>> 0;
      t = v1h;
      v1h = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      v1l = ((v1l << 13) | (t >>> 19)) >>> 0;
      v1l = (v1l ^ v0l) >>> 0;
      v1h = (v1h ^ v0h) >>> 0;
      t = v0l;
      v0l = v0h;
      v0h = t;
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      l = v2l + v3l;
      v2h = (v2h + v3h + (l > 0xffffffff ? 1 : 0)) >>> 0;
      v2l = l >>> 0;
      t = v3h;
      v3h = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      v3l = ((v3l << 16) | (t >>> 16)) >>> 0;
      v3l = (v3l ^ v2l) >>> 0;
      v3h = (v3h ^ v2h) >>> 0;
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      l = v0l + v3l;
      v0h = (v0h + v3h + (l > 0xffffffff ? 1 : 0)) >>> 0;
      v0l = l >>> 0;
      t = v3h;
      v3h = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      v3l = ((v3l << 21) | (t >>> 11)) >>> 0;
      v3l = (v3l ^ v0l) >>> 0;
      v3h = (v3h ^ v0h) >>> 0;
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      l = v2l + v1l;
      v2h = (v2h + v1h + (l > 0xffffffff ? 1 : 0)) >>> 0;
      v2l = l >>> 0;
      t = v1h;
      v1h = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      v1l = ((v1l << 17) | (t >>> 15)) >>> 0;
      v1l = (v1l ^ v2l) >>> 0;
      v1h = (v1h ^ v2h) >>> 0;
      t = v2l;
      v2l = v2h;
      v2h = t;
    }
    if (rounds === 4) break;
    v0l = (v0l ^ ml) >>> 0;
    v0h = (v0h ^ mh) >>> 0;
    if (last) p = end; // the next pass finalises (p + 8 > end)
  }
  out.writeUInt32LE((v0l ^ v1l ^ v2l ^ v3l) >>> 0, at);
  out.writeUInt32LE((v0h ^ v1h ^ v2h ^ v3h) >>> 0, at + 4);
}

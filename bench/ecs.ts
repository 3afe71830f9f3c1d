/** Queries carrying EDNS Client Subnet, as the benches send them: raw (dnsperf -B, readiness probes) and dnsperf -E. */
import { nameWire } from './lib.js';

/** A query with an OPT carrying one ECS option (family 1 or 2, the address cut to `prefix` bits). */
export function ecsQuery(name: string, qtype: number, address: Buffer, prefix: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x0100, 2); // RD, as resolvers send it
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 10);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2);
  const addrLen = (prefix + 7) >> 3;
  const ecs = Buffer.alloc(8 + addrLen);
  ecs.writeUInt16BE(8, 0);
  ecs.writeUInt16BE(4 + addrLen, 2);
  ecs.writeUInt16BE(address.length === 4 ? 1 : 2, 4);
  ecs[6] = prefix;
  address.copy(ecs, 8, 0, addrLen);
  if (prefix & 7) ecs[7 + addrLen] = ecs[7 + addrLen]! & (0xff << (8 - (prefix & 7)));
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(41, 1);
  opt.writeUInt16BE(1232, 3);
  opt.writeUInt16BE(ecs.length, 9);
  return Buffer.concat([header, nameWire(name), question, opt, ecs]);
}

/** dnsperf -E value: ECS option code 8, payload family 1, /24, scope 0, three address bytes. */
export function ecsHex(a: number, b: number, c: number): string {
  return '8:' + Buffer.from([0, 1, 24, 0, a, b, c]).toString('hex');
}

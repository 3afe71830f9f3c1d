/**
 * A small, self-contained MaxMind DB (MMDB, binary format 2.0) writer for test fixtures.
 *
 * Follows the "MaxMind DB File Format Specification" 2.0:
 *
 *   [binary search tree][16 zero bytes][data section]["\xAB\xCD\xEFMaxMind.com"][metadata map]
 *
 * - The search tree is a binary trie over the address bits (32 for `ipVersion: 4`, 128 for `ipVersion: 6`).
 *   Node 0 is the root; each node is two records (left = bit 0, right = bit 1) of `recordSize` bits. A record
 *   holds a node number (< node_count), node_count itself ("no data"), or node_count + 16 + an offset into
 *   the data section.
 * - With `ipVersion: 6` (the default) IPv4 networks are stored under ::/96 (`a.b.c.d/n` → `::a.b.c.d/(96+n)`),
 *   which is where readers (including `maxmind`/`mmdb-lib`) look up IPv4 addresses. No IPv4-mapped
 *   (::ffff:0:0/96) or 6to4 (2002::/16) aliases are written.
 * - A more specific network nested in a less specific one wins for the addresses it covers; the rest of the
 *   outer network keeps the outer data. If the same network is given twice, the later entry wins.
 * - Data records are deduplicated (identical encodings share one copy); no pointers are written.
 *
 * Value encoding: strings → utf8_string; booleans → boolean; arrays → array; plain objects → map;
 * integers 0..65535 → uint16, 65536..2^32-1 → uint32, -2^31..-1 → int32; every other number (fractions,
 * larger integers, NaN, ±Infinity) → double, so each value reads back as the same JavaScript number.
 */
import { isIP } from 'node:net';

export interface MmdbEntry {
  /** CIDR: IPv4 like "81.2.69.0/24" or IPv6 like "2a02:1234::/32". Host bits must be zero. */
  network: string;
  data: MmdbValue;
}

export type MmdbValue = string | number | boolean | MmdbValue[] | { [k: string]: MmdbValue };

export interface MmdbWriteOptions {
  /** metadata `database_type`; default "Test-DB". */
  databaseType?: string;
  /** 6 (default): IPv6 tree, IPv4 networks under ::/96. 4: IPv4 tree, IPv6 networks are rejected. */
  ipVersion?: 4 | 6;
  /** Bits per search-tree record; default 28. */
  recordSize?: 24 | 28 | 32;
  /** metadata `languages`; default []. */
  languages?: string[];
  /** metadata `description` (language → text); default { en: "Test fixture" }. */
  description?: Record<string, string>;
  /** metadata `build_epoch` in seconds since the Unix epoch; default now. */
  buildEpoch?: number;
}

const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'ascii')]);
const DATA_SECTION_SEPARATOR = 16;

// ---------------------------------------------------------------------------------------------------------
// Data section encoding
// ---------------------------------------------------------------------------------------------------------

/** Data type numbers of the spec (1 = pointer, 4 = bytes, 10 = uint128, 15 = float are not written). */
const T = {
  Utf8String: 2,
  Double: 3,
  Uint16: 5,
  Uint32: 6,
  Map: 7,
  Int32: 8,
  Uint64: 9,
  Array: 11,
  Boolean: 14,
} as const;
type TypeCode = (typeof T)[keyof typeof T];

/** An already-encoded value (used for the metadata fields whose type the spec fixes). */
class Encoded {
  constructor(readonly bytes: Buffer) {}
}

/** What the encoder accepts: MmdbValue, plus Encoded (internal only). */
type Encodable = string | number | boolean | Encoded | Encodable[] | { [k: string]: Encodable };

const MAX_PAYLOAD_SIZE = 65821 + 0xffffff;

/** Control byte(s): type in the top 3 bits (or 0 + an extended-type byte), size in the low 5 bits (+ 0–3 bytes). */
function controlBytes(type: TypeCode, size: number): Buffer {
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAYLOAD_SIZE) {
    throw new RangeError(`mmdb-writer: size ${size} cannot be encoded (max ${MAX_PAYLOAD_SIZE})`);
  }
  let sizeBits: number;
  let sizeExtra: Buffer;
  if (size < 29) {
    sizeBits = size;
    sizeExtra = Buffer.alloc(0);
  } else if (size < 285) {
    sizeBits = 29;
    sizeExtra = Buffer.from([size - 29]);
  } else if (size < 65821) {
    sizeBits = 30;
    sizeExtra = Buffer.alloc(2);
    sizeExtra.writeUInt16BE(size - 285);
  } else {
    sizeBits = 31;
    sizeExtra = Buffer.alloc(3);
    sizeExtra.writeUIntBE(size - 65821, 0, 3);
  }
  const head = type <= 7 ? Buffer.from([(type << 5) | sizeBits]) : Buffer.from([sizeBits, type - 7]);
  return Buffer.concat([head, sizeExtra]);
}

function encodeNumber(n: number): Buffer {
  if (Number.isInteger(n) && !Object.is(n, -0)) {
    if (n >= 0 && n <= 0xffff) return encodeUint(T.Uint16, n);
    if (n >= 0 && n <= 0xffffffff) return encodeUint(T.Uint32, n);
    if (n < 0 && n >= -0x80000000) {
      // Always 4 bytes: readers treat a shorter int32 payload as unsigned.
      const payload = Buffer.alloc(4);
      payload.writeInt32BE(n);
      return Buffer.concat([controlBytes(T.Int32, 4), payload]);
    }
  }
  const payload = Buffer.alloc(8);
  payload.writeDoubleBE(n);
  return Buffer.concat([controlBytes(T.Double, 8), payload]);
}

/** An unsigned integer of an explicit type (uint16 / uint32 / uint64), payload in the fewest bytes. */
function encodeUint(type: typeof T.Uint16 | typeof T.Uint32 | typeof T.Uint64, value: number | bigint): Buffer {
  let n = BigInt(value);
  const maxBits = type === T.Uint16 ? 16n : type === T.Uint32 ? 32n : 64n;
  if (n < 0n || n >= 1n << maxBits) throw new RangeError(`mmdb-writer: ${n} does not fit uint${maxBits}`);
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return Buffer.concat([controlBytes(type, bytes.length), Buffer.from(bytes)]);
}

function encodeString(s: string): Buffer {
  const payload = Buffer.from(s, 'utf8');
  return Buffer.concat([controlBytes(T.Utf8String, payload.length), payload]);
}

function encodeValue(value: Encodable, path: string, onStack: Set<object>): Buffer {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      return encodeNumber(value);
    case 'boolean':
      return controlBytes(T.Boolean, value ? 1 : 0);
    case 'object': {
      if (value === null) break;
      if (value instanceof Encoded) return value.bytes;
      if (onStack.has(value)) throw new TypeError(`mmdb-writer: circular reference at ${path}`);
      onStack.add(value);
      try {
        if (Array.isArray(value)) {
          const parts = [controlBytes(T.Array, value.length)];
          value.forEach((item, i) => parts.push(encodeValue(item, `${path}[${i}]`, onStack)));
          return Buffer.concat(parts);
        }
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) break;
        const keys = Object.keys(value);
        const parts = [controlBytes(T.Map, keys.length)];
        for (const key of keys) {
          const item = value[key];
          if (item === undefined) throw new TypeError(`mmdb-writer: undefined value at ${path}.${key}`);
          parts.push(encodeString(key), encodeValue(item, `${path}.${key}`, onStack));
        }
        return Buffer.concat(parts);
      } finally {
        onStack.delete(value);
      }
    }
    default:
      break;
  }
  const shown = value === null ? 'null' : typeof value === 'object' ? Object.prototype.toString.call(value) : typeof value;
  throw new TypeError(`mmdb-writer: unsupported value (${shown}) at ${path}`);
}

// ---------------------------------------------------------------------------------------------------------
// Networks
// ---------------------------------------------------------------------------------------------------------

interface ParsedNetwork {
  /** Address bits of the tree's width (32 or 128), most significant first, as a bigint. */
  address: bigint;
  /** Prefix length within the tree (IPv4 in an IPv6 tree: 96 + n). */
  prefix: number;
}

function parseIPv4(s: string): bigint {
  const parts = s.split('.');
  let n = 0n;
  for (const p of parts) n = (n << 8n) | BigInt(Number(p));
  return n;
}

function parseIPv6(s: string): bigint {
  let text = s;
  // Embedded IPv4 tail (e.g. ::ffff:1.2.3.4) → two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 && v4[1] !== undefined) {
    const n = parseIPv4(v4[1]);
    text = text.slice(0, v4.index) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length > 1 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

function parseNetwork(cidr: string, ipVersion: 4 | 6): ParsedNetwork {
  const slash = cidr.indexOf('/');
  const addrText = (slash < 0 ? cidr : cidr.slice(0, slash)).trim();
  const family = isIP(addrText);
  if (family === 0 || addrText.includes('%')) throw new Error(`mmdb-writer: invalid network address in "${cidr}"`);
  const width = family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(width) : cidr.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) {
    throw new Error(`mmdb-writer: invalid prefix length in "${cidr}"`);
  }
  const prefix = Number(prefixText);
  const address = family === 4 ? parseIPv4(addrText) : parseIPv6(addrText);
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  if ((address & hostMask) !== 0n) throw new Error(`mmdb-writer: "${cidr}" has host bits set`);
  if (family === 6 && ipVersion === 4) throw new Error(`mmdb-writer: IPv6 network "${cidr}" in an ipVersion 4 database`);
  // IPv4 in an IPv6 tree: ::a.b.c.d/(96+n) — the address value is unchanged, only the prefix moves.
  return { address, prefix: family === 4 && ipVersion === 6 ? prefix + 96 : prefix };
}

// ---------------------------------------------------------------------------------------------------------
// Search tree
// ---------------------------------------------------------------------------------------------------------

/** A record: a child node, a data-section offset, or null for "no data". */
type Rec = TreeNode | { data: number } | null;
interface TreeNode {
  children: [Rec, Rec];
}

function isNode(r: Rec): r is TreeNode {
  return r !== null && 'children' in r;
}

function insert(root: TreeNode, net: ParsedNetwork, width: number, dataOffset: number): void {
  const leaf = { data: dataOffset };
  if (net.prefix === 0) {
    // The root must be a node, so a /0 becomes its two halves (readers report prefix length 1 for it).
    root.children = [leaf, leaf];
    return;
  }
  let node = root;
  for (let depth = 0; depth < net.prefix; depth++) {
    const bit = Number((net.address >> BigInt(width - 1 - depth)) & 1n) as 0 | 1;
    if (depth === net.prefix - 1) {
      // Entries are inserted least specific first, so nothing more specific can be below this record.
      node.children[bit] = leaf;
      return;
    }
    const rec = node.children[bit];
    if (isNode(rec)) {
      node = rec;
    } else {
      // Empty, or covered by a less specific network: split, both halves inheriting what was there.
      const child: TreeNode = { children: [rec, rec] };
      node.children[bit] = child;
      node = child;
    }
  }
}

function writeNode(buf: Buffer, offset: number, recordSize: 24 | 28 | 32, left: number, right: number): void {
  switch (recordSize) {
    case 24:
      buf.writeUIntBE(left, offset, 3);
      buf.writeUIntBE(right, offset + 3, 3);
      break;
    case 28:
      buf.writeUIntBE(left & 0xffffff, offset, 3);
      buf[offset + 3] = (((left >>> 24) & 0x0f) << 4) | ((right >>> 24) & 0x0f);
      buf.writeUIntBE(right & 0xffffff, offset + 4, 3);
      break;
    case 32:
      buf.writeUInt32BE(left, offset);
      buf.writeUInt32BE(right, offset + 4);
      break;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The writer
// ---------------------------------------------------------------------------------------------------------

export function writeMmdb(entries: MmdbEntry[], opts: MmdbWriteOptions = {}): Buffer {
  const ipVersion = opts.ipVersion ?? 6;
  const recordSize = opts.recordSize ?? 28;
  if (ipVersion !== 4 && ipVersion !== 6) throw new Error(`mmdb-writer: unsupported ipVersion ${String(ipVersion)}`);
  if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) {
    throw new Error(`mmdb-writer: unsupported recordSize ${String(recordSize)}`);
  }
  const width = ipVersion === 4 ? 32 : 128;

  // Data section, deduplicated by encoding.
  const dataChunks: Buffer[] = [];
  const offsetsByEncoding = new Map<string, number>();
  let dataSize = 0;
  const parsed = entries.map((entry, index) => {
    const net = parseNetwork(entry.network, ipVersion);
    const encoded = encodeValue(entry.data, `entries[${index}].data`, new Set());
    const key = encoded.toString('latin1');
    let offset = offsetsByEncoding.get(key);
    if (offset === undefined) {
      offset = dataSize;
      offsetsByEncoding.set(key, offset);
      dataChunks.push(encoded);
      dataSize += encoded.length;
    }
    return { net, offset, index };
  });

  // Tree: least specific first (stable, so for equal networks the later entry wins).
  parsed.sort((a, b) => a.net.prefix - b.net.prefix || a.index - b.index);
  const root: TreeNode = { children: [null, null] };
  for (const p of parsed) insert(root, p.net, width, p.offset);

  // Number the nodes breadth-first (root = 0).
  const nodes: TreeNode[] = [root];
  const numbers = new Map<TreeNode, number>([[root, 0]]);
  for (let i = 0; i < nodes.length; i++) {
    for (const rec of nodes[i]!.children) {
      if (isNode(rec) && !numbers.has(rec)) {
        numbers.set(rec, nodes.length);
        nodes.push(rec);
      }
    }
  }
  const nodeCount = nodes.length;
  const maxRecord = 2 ** recordSize - 1;
  const recordValue = (rec: Rec): number => {
    const value = rec === null ? nodeCount : isNode(rec) ? numbers.get(rec)! : nodeCount + DATA_SECTION_SEPARATOR + rec.data;
    if (value > maxRecord) {
      throw new RangeError(`mmdb-writer: record value ${value} does not fit a ${recordSize}-bit record; use a larger recordSize`);
    }
    return value;
  };
  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  nodes.forEach((node, i) => {
    writeNode(tree, i * nodeBytes, recordSize, recordValue(node.children[0]), recordValue(node.children[1]));
  });

  // Metadata with the spec's types: node_count uint32, record_size / ip_version / versions uint16,
  // build_epoch uint64.
  const metadata: Encodable = {
    node_count: new Encoded(encodeUint(T.Uint32, nodeCount)),
    record_size: new Encoded(encodeUint(T.Uint16, recordSize)),
    ip_version: new Encoded(encodeUint(T.Uint16, ipVersion)),
    database_type: opts.databaseType ?? 'Test-DB',
    languages: opts.languages ?? [],
    binary_format_major_version: new Encoded(encodeUint(T.Uint16, 2)),
    binary_format_minor_version: new Encoded(encodeUint(T.Uint16, 0)),
    build_epoch: new Encoded(encodeUint(T.Uint64, Math.floor(opts.buildEpoch ?? Date.now() / 1000))),
    description: opts.description ?? { en: 'Test fixture' },
  };
  const metadataMap = encodeValue(metadata, 'metadata', new Set());

  return Buffer.concat([tree, Buffer.alloc(DATA_SECTION_SEPARATOR), ...dataChunks, METADATA_MARKER, metadataMap]);
}

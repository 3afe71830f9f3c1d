/**
 * Names as DNSSEC needs them: the canonical wire form and canonical order (RFC 4034 6.1, 6.2), the RRSIG
 * label count (RFC 4034 3.1.3) and the successors that compact denial puts in NSEC next-name fields (RFC 9824
 * 3.1, 3.4).
 *
 * Names are in the server's text form: lowercase, no trailing dot, "" is the root, and a byte that cannot
 * stand in a label literally written `\DDD` (decimal), as the query parser writes it (wire/query.ts). So a
 * question name can be passed as it was parsed, and `\000.` + name is the name's immediate successor. `\X`
 * (a backslash before a character) is read too.
 */
import { MAX_LABEL, MAX_NAME_WIRE } from '../wire/name.js';

const BACKSLASH = 0x5c;

/** Lowercase ASCII A-Z in place (RFC 4034 6.2: only US-ASCII letters are folded). */
function foldCase(bytes: Buffer): Buffer {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c >= 0x41 && c <= 0x5a) bytes[i] = c + 0x20;
  }
  return bytes;
}

/** One label of the text form as its lowercase bytes. */
function labelBytes(text: string): Buffer {
  if (!text.includes('\\')) return foldCase(Buffer.from(text, 'latin1'));
  const raw = Buffer.from(text, 'latin1');
  const out = Buffer.allocUnsafe(raw.length);
  let o = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== BACKSLASH || i + 1 >= raw.length) {
      out[o++] = c;
    } else if (isDigits(raw, i + 1)) {
      out[o++] = Number(raw.toString('latin1', i + 1, i + 4)) & 0xff;
      i += 3;
    } else {
      out[o++] = raw[++i]!;
    }
  }
  return foldCase(out.subarray(0, o));
}

function isDigits(raw: Buffer, at: number): boolean {
  if (at + 3 > raw.length) return false;
  for (let i = at; i < at + 3; i++) if (raw[i]! < 0x30 || raw[i]! > 0x39) return false;
  return true;
}

/** The labels of a name, leftmost first, as lowercase bytes; the root has none. A trailing dot is allowed. */
export function nameLabels(name: string): Buffer[] {
  const text = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  if (text === '') return [];
  return text.split('.').map((label) => {
    if (label === '') throw new Error(`"${name}" has an empty label`);
    return labelBytes(label);
  });
}

/** The text form of one label's bytes: the query parser's escapes (wire/query.ts). */
function labelText(bytes: Buffer): string {
  let out = '';
  for (const c of bytes) {
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === BACKSLASH) out += '\\' + String(c).padStart(3, '0');
    else out += String.fromCharCode(c);
  }
  return out;
}

/** The text form of a list of labels. */
export function labelsToName(labels: readonly Buffer[]): string {
  return labels.map(labelText).join('.');
}

/** Uncompressed, lowercase wire form (RFC 4034 6.2). */
export function canonicalNameWire(name: string): Buffer {
  return labelsToWire(nameLabels(name));
}

function labelsToWire(labels: readonly Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(wireLengthOf(labels));
  let o = 0;
  for (const label of labels) {
    out[o++] = label.length;
    o += label.copy(out, o);
  }
  out[o] = 0;
  return out;
}

function wireLengthOf(labels: readonly Buffer[]): number {
  let n = 1;
  for (const label of labels) n += label.length + 1;
  return n;
}

/** The labels of the uncompressed wire name at `at` in `buf`, and the offset after it; throws when malformed. */
export function readWireName(buf: Buffer, at: number): [Buffer[], number] {
  const labels: Buffer[] = [];
  for (let pos = at; ; ) {
    const len = buf[pos];
    if (len === undefined || len > MAX_LABEL || pos + 1 + len > buf.length) throw new Error('malformed name in rdata');
    if (len === 0) return [labels, pos + 1];
    labels.push(buf.subarray(pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
}

/** The RRSIG Labels field: labels of the owner, not counting the root or a leading `*` (RFC 4034 3.1.3). */
export function labelCount(name: string): number {
  const labels = nameLabels(name);
  return labels.length > 0 && labels[0]!.length === 1 && labels[0]![0] === 0x2a ? labels.length - 1 : labels.length;
}

/** Canonical DNS name order (RFC 4034 6.1): negative when `a` sorts before `b`. */
export function compareNames(a: string, b: string): number {
  const la = nameLabels(a);
  const lb = nameLabels(b);
  for (let i = 1; i <= Math.min(la.length, lb.length); i++) {
    const c = Buffer.compare(la[la.length - i]!, lb[lb.length - i]!);
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/**
 * The immediate successor of a name in canonical order (RFC 9824 3.1): `\000.` + name. A name too long for
 * another label has no descendants, so its successor is the next name beside it.
 */
export function immediateSuccessor(name: string): string {
  const labels = nameLabels(name);
  if (wireLengthOf(labels) + 2 <= MAX_NAME_WIRE) return labelsToName([Buffer.from([0]), ...labels]);
  return labelsToName(nextSibling(labels));
}

/**
 * The first name after `name` and everything below it (RFC 9824 3.4, for the NSEC at a delegation, whose
 * immediate successor would lie inside the child zone): a zero byte appended to the first label.
 */
export function successorBeside(name: string): string {
  const labels = nameLabels(name);
  if (labels.length === 0) throw new Error('the root has no name beside it');
  return labelsToName(nextSibling(labels));
}

/** The smallest name greater than `labels` and its whole subtree, within the length limits. */
function nextSibling(labels: readonly Buffer[]): Buffer[] {
  const [first, ...rest] = labels;
  if (first === undefined) throw new Error('no name follows the last name of the root');
  if (first.length < MAX_LABEL && wireLengthOf(labels) < MAX_NAME_WIRE) {
    return [Buffer.concat([first, Buffer.from([0])]), ...rest];
  }
  // Cannot grow: raise the last byte below 0xff and cut what follows (any longer label would not fit).
  for (let i = first.length - 1; i >= 0; i--) {
    if (first[i]! === 0xff) continue;
    const next = Buffer.from(first.subarray(0, i + 1));
    // 'A'-'Z' compare as 'a'-'z', so the byte after '@' in canonical order is '['.
    next[i] = first[i]! === 0x40 ? 0x5b : first[i]! + 1;
    return [next, ...rest];
  }
  return nextSibling(rest);
}

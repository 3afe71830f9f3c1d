/**
 * Domain names as the server handles them: a canonical form (lowercase, no trailing dot, "" is the root)
 * used as map keys everywhere, and the uncompressed wire form.
 */

export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;

/** Letters, digits, hyphen, underscore (SRV/TXT owner names such as `_sip._tcp`). */
const LABEL_RE = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$|^[a-z0-9_]$/;

/** Lowercase, strip one trailing dot. Does not validate. */
export function canonical(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Why a canonical name (not "") is not a valid host/owner name, or undefined when it is.
 * `allowWildcard` permits a leftmost `*` label (RFC 4592).
 */
export function nameProblem(name: string, allowWildcard = false): string | undefined {
  if (name === '') return undefined;
  const labels = name.split('.');
  let wire = 1;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] ?? '';
    if (label.length === 0) return 'has an empty label';
    if (label.length > MAX_LABEL) return `has a label longer than ${MAX_LABEL} characters`;
    if (label === '*') {
      if (!allowWildcard || i !== 0) return 'may only have "*" as its leftmost label';
    } else if (!LABEL_RE.test(label)) {
      return `has an invalid label "${label}" (letters, digits, "-" and "_" only)`;
    }
    wire += label.length + 1;
  }
  if (wire > MAX_NAME_WIRE) return `is longer than ${MAX_NAME_WIRE} bytes on the wire`;
  return undefined;
}

/** True when `name` equals `zone` or lies below it (both canonical). */
export function isInZone(name: string, zone: string): boolean {
  if (zone === '') return true;
  return name === zone || name.endsWith('.' + zone);
}

/** The parent of a canonical name; the root's parent is undefined. */
export function parentName(name: string): string | undefined {
  if (name === '') return undefined;
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

/** Uncompressed wire form of a canonical name. */
export function nameToWire(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  const labels = name.split('.');
  const out = Buffer.allocUnsafe(wireLength(name));
  let o = 0;
  for (const label of labels) {
    out[o++] = label.length;
    o += out.write(label, o, 'latin1');
  }
  out[o] = 0;
  return out;
}

export function wireLength(name: string): number {
  return name === '' ? 1 : name.length + 2;
}

/**
 * Zone files (`zones/*.yaml`) -> a validated ZoneSet, or every error as `file:line: message`.
 *
 * Name rules: keys under `records` and `services` are relative to the zone ("@" is the apex, a trailing dot
 * makes a name absolute). Names inside record data (CNAME/NS/MX/SRV targets, SOA, `ns`) are absolute when they
 * contain a dot (the contract writes `ns1.gslb.example.test` without one), relative when they are a single
 * label, and "@" is the apex.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Document, LineCounter, parseDocument, Scalar, type Node } from 'yaml';
import { OUR_UDP_PAYLOAD, RRType } from '../wire/constants.js';
import { canonicalIpv6, ipFamily } from '../wire/ip.js';
import { canonical, isInZone, nameProblem } from '../wire/name.js';
import { txtChunks, type RecordData, type ResourceRecord } from '../wire/records.js';
import { countryTable } from './countries.js';
import { parseCidr } from '../util/cidr.js';
import { parseDuration } from '../util/duration.js';
import { readZoneDnssec } from './zone-dnssec.js';
import { aaaaAnswerBytes, maxAnswersThatFit } from './answer-size.js';
import { familyEndpoints } from './families.js';
import { checkZoneSet } from './semantics.js';
import {
  CHECK_TYPES,
  CONTINENTS,
  POLICIES,
  WHEN_ALL_DOWN,
  type CheckType,
  type ConfigError,
  type Endpoint,
  type HealthCheck,
  type LatencyClient,
  type LatencyEntry,
  type MinHealthy,
  type Policy,
  type Region,
  type Service,
  type Soa,
  type WhenAllDown,
  type Zone,
  type ZoneSet,
} from './types.js';
import { YamlReader, type Entry } from './yaml-walk.js';

export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'NS', 'TXT', 'MX', 'SRV', 'CAA'] as const;
const NODE_KEYS = [...RECORD_TYPES, 'ttl'] as const;
const ZONE_KEYS = ['zone', 'ttl', 'soa', 'ns', 'records', 'regions', 'services', 'latency', 'dnssec'] as const;
const SOA_KEYS = ['mname', 'rname', 'serial', 'refresh', 'retry', 'expire', 'minimum'] as const;
const REGION_KEYS = ['location', 'endpoints', 'check', 'weight', 'bias', 'min-healthy'] as const;
const ENDPOINT_KEYS = ['address', 'weight'] as const;
const CHECK_KEYS = ['type', 'port', 'path', 'host', 'expect', 'interval', 'timeout', 'rise', 'fall'] as const;
const SERVICE_KEYS = ['policy', 'regions', 'ttl', 'answers', 'when-all-down', 'tolerance'] as const;
const LATENCY_KEYS = ['client', 'region', 'rtt'] as const;
const MAX_TTL = 2_147_483_647;

/** Defaults in one place. */
export const DEFAULTS = {
  zoneTtl: 300,
  soa: { refresh: 3600, retry: 600, expire: 604_800, minimum: 60 },
  service: { policy: 'latency' as Policy, ttl: 30, answers: 2, whenAllDown: 'all' as WhenAllDown, toleranceMs: 0 },
  region: { weight: 1, bias: 0, minHealthy: 1 },
  check: { intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3, path: '/' },
} as const;

export interface LoadResult {
  zoneSet?: ZoneSet;
  errors: ConfigError[];
  files: string[];
}

export interface SourceFile {
  file: string;
  text: string;
}

/** Every `*.yaml` / `*.yml` in `dir`, sorted so that reports and precedence are stable. */
export function listZoneFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}

export function loadZoneDir(dir: string): LoadResult {
  let files: string[];
  try {
    files = listZoneFiles(dir);
  } catch (err) {
    return { errors: [{ file: dir, line: 0, message: `cannot read directory: ${(err as Error).message}` }], files: [] };
  }
  const sources: SourceFile[] = [];
  const errors: ConfigError[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: readFileSync(file, 'utf8') });
    } catch (err) {
      errors.push({ file, line: 0, message: `cannot read: ${(err as Error).message}` });
    }
  }
  const result = loadZoneSources(sources);
  return { ...result, errors: [...errors, ...result.errors], files };
}

/** Parse and validate zone file texts together (regions and latency are shared by all of them). */
export function loadZoneSources(sources: SourceFile[]): LoadResult {
  const errors: ConfigError[] = [];
  const zones: Zone[] = [];
  const regionDecls: { region: Region; reader: YamlReader; node: Node | null }[] = [];
  const latency: { entry: LatencyEntry; reader: YamlReader; node: Node | null }[] = [];
  const serviceRefs: { service: Service; reader: YamlReader; nodes: (Node | null)[] }[] = [];
  const zoneNodes: { zone: Zone; reader: YamlReader; node: Node | null; owners: ReadonlyMap<string, Node | null>; nsNode: Node | null }[] = [];
  const readers: YamlReader[] = [];
  // Every region name written in any file, valid or not: a region with its own errors is still "declared", so
  // services and latency entries naming it do not get a second, false "not declared" error.
  const regionNames = new Set<string>();

  for (const { file, text } of sources) {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        // `linePos` is only filled in when prettyErrors is on, so the line comes from the error's offset.
        errors.push({ file, line: lines.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? e.message });
      }
      continue;
    }
    const r = new YamlReader(file, doc, lines, errors);
    readers.push(r);
    const parsed = readZoneFile(r, doc.contents as Node | null, regionNames);
    if (!parsed) continue;
    zones.push(parsed.zone);
    zoneNodes.push({ zone: parsed.zone, reader: r, node: parsed.zoneNode, owners: parsed.owners, nsNode: parsed.nsNode });
    for (const reg of parsed.regions) regionDecls.push({ ...reg, reader: r });
    for (const l of parsed.latency) latency.push({ ...l, reader: r });
    for (const s of parsed.serviceRefs) serviceRefs.push({ ...s, reader: r });
  }

  checkZoneSet({ zones: zoneNodes, regions: regionDecls, regionNames, latency, services: serviceRefs });
  const regions = new Map<string, Region>();
  for (const { region } of regionDecls) if (!regions.has(region.name)) regions.set(region.name, region);
  if (errors.length > 0) return { errors: sortErrors(errors), files: sources.map((s) => s.file) };
  return { zoneSet: { zones, regions, latency: latency.map((l) => l.entry) }, errors: [], files: sources.map((s) => s.file) };
}

function sortErrors(errors: ConfigError[]): ConfigError[] {
  return [...errors].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
}

interface ParsedFile {
  zone: Zone;
  zoneNode: Node | null;
  /** Key node of every owner name (records and services), so zone-wide checks can point at the offending line. */
  owners: ReadonlyMap<string, Node | null>;
  nsNode: Node | null;
  regions: { region: Region; node: Node | null }[];
  latency: { entry: LatencyEntry; node: Node | null }[];
  serviceRefs: { service: Service; nodes: (Node | null)[] }[];
}

function readZoneFile(r: YamlReader, root: Node | null, regionNames: Set<string>): ParsedFile | undefined {
  const top = r.map(root, '', ZONE_KEYS);
  if (!top) return undefined;
  const zoneEntry = top.get('zone');
  if (!zoneEntry) {
    r.error(root, '', 'missing required key "zone" (the delegated subdomain)');
    return undefined;
  }
  const zoneText = r.string(zoneEntry.value, 'zone');
  if (zoneText === undefined) return undefined;
  const apex = canonical(zoneText);
  const apexProblem = apex === '' ? 'must not be the root' : nameProblem(apex);
  if (apexProblem) {
    r.error(zoneEntry.value, 'zone', `"${zoneText}" ${apexProblem}`);
    return undefined;
  }
  const ttlEntry = top.get('ttl');
  const ttl = ttlEntry ? (r.number(ttlEntry.value, 'ttl', { min: 0, max: MAX_TTL, integer: true }) ?? DEFAULTS.zoneTtl) : DEFAULTS.zoneTtl;
  const names = new NameResolver(apex);

  const soaEntry = top.get('soa');
  const soa = soaEntry ? readSoa(r, soaEntry.value, names) : r.error(root, '', 'missing required key "soa"');
  const nsEntry = top.get('ns');
  const ns: string[] = [];
  if (!nsEntry) r.error(root, '', 'missing required key "ns" (the zone\'s name servers)');
  else {
    const list = r.seq(nsEntry.value, 'ns', true) ?? [];
    if (nsEntry && list.length === 0) r.error(nsEntry.value, 'ns', 'must list at least one name server');
    list.forEach((n, i) => {
      const name = readTargetName(r, n, `ns[${i}]`, names);
      if (name !== undefined) ns.push(name);
    });
  }

  const records: ResourceRecord[] = [];
  const ownerLines = new Map<string, Node | null>();
  if (soa) records.push({ name: apex, ttl, data: { type: RRType.SOA, ...soa } });
  for (const target of ns) records.push({ name: apex, ttl, data: { type: RRType.NS, target } });
  ownerLines.set(apex, zoneEntry.value);

  const recordsEntry = top.get('records');
  if (recordsEntry) {
    const recMap = r.map(recordsEntry.value, 'records');
    for (const [key, entry] of recMap ?? []) {
      const owner = readOwnerName(r, entry.keyNode, key, `records.${key}`, names, true);
      if (owner === undefined) continue;
      if (owner !== apex && ownerLines.has(owner)) {
        r.error(entry.keyNode, `records.${key}`, `duplicate name ${owner} (also on line ${r.lineOf(ownerLines.get(owner))})`);
        continue;
      }
      ownerLines.set(owner, entry.keyNode);
      readRecordNode(r, entry.value, `records.${key}`, owner, ttl, names, records);
    }
  }

  const services: Service[] = [];
  const serviceRefs: { service: Service; nodes: (Node | null)[] }[] = [];
  const servicesEntry = top.get('services');
  if (servicesEntry) {
    for (const [key, entry] of r.map(servicesEntry.value, 'services') ?? []) {
      const name = readOwnerName(r, entry.keyNode, key, `services.${key}`, names, false);
      if (name === undefined) continue;
      if (ownerLines.has(name)) {
        r.error(entry.keyNode, `services.${key}`, `duplicate name ${name} (also on line ${r.lineOf(ownerLines.get(name))})`);
        continue;
      }
      ownerLines.set(name, entry.keyNode);
      const parsed = readService(r, entry.value, `services.${key}`, name, apex);
      if (parsed) {
        services.push(parsed.service);
        serviceRefs.push(parsed);
      }
    }
  }

  const regions: { region: Region; node: Node | null }[] = [];
  const regionsEntry = top.get('regions');
  if (regionsEntry) {
    for (const [key, entry] of r.map(regionsEntry.value, 'regions') ?? []) {
      regionNames.add(key);
      const region = readRegion(r, entry.value, `regions.${key}`, key, entry.keyNode);
      if (region) regions.push({ region, node: entry.keyNode });
    }
  }

  const latency: { entry: LatencyEntry; node: Node | null }[] = [];
  const latencyEntry = top.get('latency');
  if (latencyEntry) {
    (r.seq(latencyEntry.value, 'latency') ?? []).forEach((item, i) => {
      const entry = readLatency(r, item, `latency[${i}]`);
      if (entry) latency.push({ entry, node: item });
    });
  }

  if (!soa) return undefined;
  const dnssec = top.has('dnssec') ? readZoneDnssec(r, top.get('dnssec')!.value) : undefined;
  return {
    zone: { apex, file: r.file, ttl, soa, ns, records, services, ...(dnssec ? { dnssec } : {}) },
    zoneNode: zoneEntry.value,
    owners: ownerLines,
    nsNode: nsEntry?.value ?? null,
    regions,
    latency,
    serviceRefs,
  };
}

class NameResolver {
  constructor(readonly apex: string) {}
  /** Owner names: relative unless they end with a dot. */
  owner(text: string): string {
    if (text === '@') return this.apex;
    if (text.endsWith('.')) return canonical(text);
    return canonical(text) + '.' + this.apex;
  }
  /** Names in record data: absolute when they end with a dot or contain one; a single label is relative. */
  target(text: string): string {
    if (text === '@') return this.apex;
    if (text.endsWith('.') || text.includes('.')) return canonical(text);
    return canonical(text) + '.' + this.apex;
  }
}

function readOwnerName(
  r: YamlReader,
  node: Node | null,
  key: string,
  path: string,
  names: NameResolver,
  allowWildcard: boolean,
): string | undefined {
  const name = names.owner(key);
  if (!isInZone(name, names.apex)) return r.error(node, path, `name ${name} is outside the zone ${names.apex}`);
  const problem = nameProblem(name, allowWildcard);
  if (problem) return r.error(node, path, `name "${key}" ${problem}`);
  return name;
}

function readTargetName(r: YamlReader, node: Node | null, path: string, names: NameResolver): string | undefined {
  const text = r.string(node, path);
  if (text === undefined) return undefined;
  const name = names.target(text);
  const problem = name === '' ? undefined : nameProblem(name);
  if (problem) return r.error(node, path, `"${text}" ${problem}`);
  return name;
}

function readSoa(r: YamlReader, node: Node | null, names: NameResolver): Soa | undefined {
  const m = r.map(node, 'soa', SOA_KEYS);
  if (!m) return undefined;
  const req = (key: 'mname' | 'rname'): string | undefined => {
    const e = m.get(key);
    if (!e) return r.error(node, 'soa', `missing required key "${key}"`);
    return readTargetName(r, e.value, `soa.${key}`, names);
  };
  const mname = req('mname');
  const rname = req('rname');
  const serialEntry = m.get('serial');
  const serial = serialEntry
    ? r.number(serialEntry.value, 'soa.serial', { min: 0, max: 0xffffffff, integer: true })
    : r.error(node, 'soa', 'missing required key "serial"');
  const u32 = (key: keyof typeof DEFAULTS.soa): number | undefined => {
    const e = m.get(key);
    if (!e) return DEFAULTS.soa[key];
    return r.number(e.value, `soa.${key}`, { min: 0, max: MAX_TTL, integer: true });
  };
  const refresh = u32('refresh');
  const retry = u32('retry');
  const expire = u32('expire');
  const minimum = u32('minimum');
  if (
    mname === undefined ||
    rname === undefined ||
    serial === undefined ||
    refresh === undefined ||
    retry === undefined ||
    expire === undefined ||
    minimum === undefined
  )
    return undefined;
  return { mname, rname, serial, refresh, retry, expire, minimum };
}

function readRecordNode(
  r: YamlReader,
  node: Node | null,
  path: string,
  owner: string,
  zoneTtl: number,
  names: NameResolver,
  out: ResourceRecord[],
): void {
  const m = r.map(node, path);
  if (!m) return;
  for (const [key, entry] of m) {
    if (!(NODE_KEYS as readonly string[]).includes(key)) {
      const hint = key === 'SOA' ? ' (the SOA is the top-level "soa" key)' : '';
      r.error(entry.keyNode, path, `unknown record type "${key}"${hint} (supported: ${RECORD_TYPES.join(', ')}, and ttl)`);
    }
  }
  const ttlEntry = m.get('ttl');
  const ttl = ttlEntry ? (r.number(ttlEntry.value, `${path}.ttl`, { min: 0, max: MAX_TTL, integer: true }) ?? zoneTtl) : zoneTtl;
  if (owner === names.apex && m.has('NS')) {
    r.error(m.get('NS')?.keyNode, `${path}.NS`, 'the apex name servers are the top-level "ns" key');
    m.delete('NS');
  }
  if (m.has('CNAME') && [...m.keys()].some((k) => k !== 'CNAME' && k !== 'ttl')) {
    r.error(m.get('CNAME')?.keyNode, `${path}.CNAME`, 'a CNAME cannot stand beside other data at the same name');
    return;
  }
  if (m.has('CNAME') && owner === names.apex) {
    r.error(m.get('CNAME')?.keyNode, `${path}.CNAME`, 'a CNAME cannot be at the zone apex (it has SOA and NS)');
    return;
  }
  for (const type of RECORD_TYPES) {
    const entry = m.get(type);
    if (!entry) continue;
    const p = `${path}.${type}`;
    const items = type === 'CNAME' ? [entry.value] : (r.seq(entry.value, p, true) ?? []);
    if (items.length === 0) r.error(entry.value ?? entry.keyNode, p, 'must have at least one value');
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const ip = type === 'CNAME' ? p : `${p}[${i}]`;
      const data = readRdata(r, type, item, ip, names);
      if (!data) return;
      const dedupeKey = rdataKey(data);
      if (seen.has(dedupeKey)) {
        r.error(item, ip, 'duplicate record (an RRset holds each value once)');
        return;
      }
      seen.add(dedupeKey);
      out.push({ name: owner, ttl, data });
    });
  }
}

/** Identity of a record's data, for spotting duplicates in an RRset (Buffers compared by content). */
function rdataKey(data: RecordData): string {
  return Object.values(data)
    .map((v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : Array.isArray(v) ? v.map((b: Buffer) => b.toString('hex')).join(',') : String(v)))
    .join(' ');
}

function readRdata(
  r: YamlReader,
  type: (typeof RECORD_TYPES)[number],
  node: Node | null,
  path: string,
  names: NameResolver,
): RecordData | undefined {
  switch (type) {
    case 'A':
    case 'AAAA': {
      const v = r.string(node, path);
      if (v === undefined) return undefined;
      const want = type === 'A' ? 4 : 6;
      // node:net accepts a scope id (fe80::1%eth0), which has no meaning in DNS data.
      if (ipFamily(v) !== want || v.includes('%')) return r.error(node, path, `"${v}" is not an IPv${want} address`);
      // AAAA in RFC 5952 form, so that two spellings of one address are seen as the duplicate they are.
      return type === 'A' ? { type: RRType.A, address: v } : { type: RRType.AAAA, address: canonicalIpv6(v) };
    }
    case 'CNAME':
    case 'NS': {
      const target = readTargetName(r, node, path, names);
      if (target === undefined) return undefined;
      return { type: type === 'NS' ? RRType.NS : RRType.CNAME, target };
    }
    case 'TXT': {
      if (r.isSeq(node)) {
        const parts = r.seq(node, path) ?? [];
        const strings: Buffer[] = [];
        for (const [j, p] of parts.entries()) {
          const t = r.text(p, `${path}[${j}]`);
          if (t === undefined) return undefined;
          strings.push(...txtChunks(t));
        }
        if (strings.length === 0) return r.error(node, path, 'must have at least one string');
        return { type: RRType.TXT, strings };
      }
      const t = r.text(node, path);
      return t === undefined ? undefined : { type: RRType.TXT, strings: txtChunks(t) };
    }
    case 'MX': {
      const f = fields(r, node, path, ['preference', 'exchange']);
      if (!f) return undefined;
      const preference = u16(r, f.preference, `${path}.preference`);
      const exchange = readTargetName(r, f.exchange, `${path}.exchange`, names);
      if (preference === undefined || exchange === undefined) return undefined;
      return { type: RRType.MX, preference, exchange };
    }
    case 'SRV': {
      const f = fields(r, node, path, ['priority', 'weight', 'port', 'target']);
      if (!f) return undefined;
      const priority = u16(r, f.priority, `${path}.priority`);
      const weight = u16(r, f.weight, `${path}.weight`);
      const port = u16(r, f.port, `${path}.port`);
      const target = readTargetName(r, f.target, `${path}.target`, names);
      if (priority === undefined || weight === undefined || port === undefined || target === undefined) return undefined;
      return { type: RRType.SRV, priority, weight, port, target };
    }
    case 'CAA': {
      const f = fields(r, node, path, ['flags', 'tag', 'value']);
      if (!f) return undefined;
      const flags = r.number(f.flags, `${path}.flags`, { min: 0, max: 255, integer: true });
      const tag = r.string(f.tag, `${path}.tag`);
      const value = r.text(f.value, `${path}.value`);
      if (flags === undefined || tag === undefined || value === undefined) return undefined;
      if (!/^[A-Za-z0-9]{1,15}$/.test(tag)) return r.error(f.tag, `${path}.tag`, `"${tag}" must be 1-15 letters or digits (RFC 8659)`);
      return { type: RRType.CAA, flags, tag: tag.toLowerCase(), value: Buffer.from(value, 'utf8') };
    }
  }
}

/**
 * Structured rdata: either a mapping with exactly these keys, or the zone-file presentation form as one string
 * (`10 mail.example.org.`, `0 5 443 host.`, `0 issue "ca.example"`). Returns nodes per key.
 */
function fields<K extends string>(
  r: YamlReader,
  node: Node | null,
  path: string,
  keys: readonly K[],
): Record<K, Node | null> | undefined {
  if (r.isMap(node)) {
    const m = r.map(node, path, keys);
    if (!m) return undefined;
    const out = {} as Record<K, Node | null>;
    for (const k of keys) {
      const e = m.get(k);
      if (!e) return r.error(node, path, `missing required key "${k}"`);
      out[k] = e.value;
    }
    return out;
  }
  const text = r.scalar(node);
  if (typeof text !== 'string') return r.error(node, path, `must be a mapping {${keys.join(', ')}} or a string "${keys.join(' ')}"`);
  const parts = splitPresentation(text, keys.length);
  if (!parts) return r.error(node, path, `"${text}" must have ${keys.length} fields: ${keys.join(' ')}`);
  // Re-wrap each field as a scalar node at the same line so that errors still point at it.
  const out = {} as Record<K, Node | null>;
  keys.forEach((k, i) => {
    out[k] = syntheticScalar(node, parts[i]!);
  });
  return out;
}

function syntheticScalar(like: Node | null, text: string): Node {
  const node = new Scalar(/^\d+$/.test(text) ? Number(text) : text);
  if (like?.range) node.range = like.range;
  return node;
}

function splitPresentation(text: string, count: number): string[] | undefined {
  const parts: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) parts.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return parts.length === count ? parts : undefined;
}

function u16(r: YamlReader, node: Node | null, path: string): number | undefined {
  return r.number(node, path, { min: 0, max: 65535, integer: true });
}

function readService(
  r: YamlReader,
  node: Node | null,
  path: string,
  name: string,
  zone: string,
): { service: Service; nodes: (Node | null)[] } | undefined {
  const m = r.map(node, path, SERVICE_KEYS);
  if (!m) return undefined;
  const d = DEFAULTS.service;
  let policy: Policy = d.policy;
  const pe = m.get('policy');
  if (pe) {
    const v = r.string(pe.value, `${path}.policy`);
    if (v !== undefined && !(POLICIES as readonly string[]).includes(v))
      r.error(pe.value, `${path}.policy`, `unknown policy "${v}" (one of: ${POLICIES.join(', ')})`);
    else if (v !== undefined) policy = v as Policy;
  }
  const regions: string[] = [];
  const nodes: (Node | null)[] = [];
  const re = m.get('regions');
  if (re) {
    (r.seq(re.value, `${path}.regions`) ?? []).forEach((n, i) => {
      const v = r.string(n, `${path}.regions[${i}]`);
      if (v === undefined) return;
      if (regions.includes(v)) r.error(n, `${path}.regions[${i}]`, `region "${v}" is listed twice`);
      else {
        regions.push(v);
        nodes.push(n);
      }
    });
  }
  const te = m.get('ttl');
  const ttl = te ? (r.number(te.value, `${path}.ttl`, { min: 0, max: MAX_TTL, integer: true }) ?? d.ttl) : d.ttl;
  const ae = m.get('answers');
  const answers = ae ? (r.number(ae.value, `${path}.answers`, { min: 1, max: 64, integer: true }) ?? d.answers) : d.answers;
  if (ae && answers > maxAnswersThatFit(name))
    r.error(ae.value, `${path}.answers`, `${answers} AAAA records make a ${aaaaAnswerBytes(name, answers)}-byte answer for ${name}, more than ${OUR_UDP_PAYLOAD} bytes (the EDNS UDP size); at most ${maxAnswersThatFit(name)}`);
  let whenAllDown: WhenAllDown = d.whenAllDown;
  const we = m.get('when-all-down');
  if (we) {
    const v = r.string(we.value, `${path}.when-all-down`);
    if (v !== undefined && !(WHEN_ALL_DOWN as readonly string[]).includes(v))
      r.error(we.value, `${path}.when-all-down`, `must be one of: ${WHEN_ALL_DOWN.join(', ')}`);
    else if (v !== undefined) whenAllDown = v as WhenAllDown;
  }
  let toleranceMs: number = d.toleranceMs;
  const tol = m.get('tolerance');
  if (tol) {
    const raw = r.scalar(tol.value);
    const ms = typeof raw === 'number' ? raw : parseDuration(raw);
    if (ms === undefined || ms < 0) r.error(tol.value, `${path}.tolerance`, 'must be milliseconds (a number) or a duration like "10ms"');
    else toleranceMs = ms;
  }
  return { service: { name, zone, policy, regions, ttl, answers, whenAllDown, toleranceMs }, nodes };
}

/**
 * Validate a region given as JSON (the API's PUT body, without `services`) with exactly the rules and messages
 * of zone files, by walking it as a YAML document. Errors carry `field` (e.g. `endpoints[1].address`).
 */
export function readRegionJson(name: string, body: unknown, source = 'api'): { region?: Region; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const doc = new Document(body);
  const r = new YamlReader(source, doc, new LineCounter(), errors);
  const region = readRegion(r, doc.contents as Node | null, '', name, null);
  for (const e of errors) if (e.field?.startsWith('.')) e.field = e.field.slice(1);
  if (!region || errors.length > 0) return { errors };
  return { region: { ...region, source }, errors };
}

const REGION_NAME_RE = /^[a-z0-9](?:[a-z0-9_-]{0,62})$/;

export function regionNameProblem(name: string): string | undefined {
  return REGION_NAME_RE.test(name) ? undefined : 'region names are 1-63 lowercase letters, digits, "-" or "_"';
}

function readRegion(r: YamlReader, node: Node | null, path: string, name: string, keyNode: Node | null): Region | undefined {
  const nameProblemText = regionNameProblem(name);
  if (nameProblemText) return r.error(keyNode, path, nameProblemText);
  const m = r.map(node, path, REGION_KEYS);
  if (!m) return undefined;
  const le = m.get('location');
  let location: Region['location'] | undefined;
  if (!le) r.error(node, path, 'missing required key "location" ({ lat, lon })');
  else {
    const lm = r.map(le.value, `${path}.location`, ['lat', 'lon']);
    if (lm) {
      const lat = lm.get('lat')
        ? r.number(lm.get('lat')!.value, `${path}.location.lat`, { min: -90, max: 90 })
        : r.error(le.value, `${path}.location`, 'missing required key "lat"');
      const lon = lm.get('lon')
        ? r.number(lm.get('lon')!.value, `${path}.location.lon`, { min: -180, max: 180 })
        : r.error(le.value, `${path}.location`, 'missing required key "lon"');
      if (lat !== undefined && lon !== undefined) location = { lat, lon };
    }
  }
  const endpoints: Endpoint[] = [];
  const ee = m.get('endpoints');
  if (!ee) r.error(node, path, 'missing required key "endpoints"');
  else {
    const list = r.seq(ee.value, `${path}.endpoints`) ?? [];
    if (list.length === 0) r.error(ee.value, `${path}.endpoints`, 'must list at least one endpoint');
    const seen = new Set<string>();
    list.forEach((item, i) => {
      const ep = readEndpoint(r, item, `${path}.endpoints[${i}]`);
      if (!ep) return;
      // readEndpoint returns one spelling per address (RFC 5952 for IPv6), so 2001:DB8::1 and 2001:db8:0::1 collide.
      if (seen.has(ep.address)) r.error(item, `${path}.endpoints[${i}]`, `endpoint ${ep.address} is listed twice`);
      seen.add(ep.address);
      endpoints.push(ep);
    });
  }
  const ce = m.get('check');
  const check = ce ? readCheck(r, ce.value, `${path}.check`) : undefined;
  const num = (key: 'weight' | 'bias', fallback: number, opts: { min?: number; max?: number; integer?: boolean }): number => {
    const e = m.get(key);
    return e ? (r.number(e.value, `${path}.${key}`, opts) ?? fallback) : fallback;
  };
  const weight = num('weight', DEFAULTS.region.weight, { min: 0, max: 1_000_000 });
  const bias = num('bias', DEFAULTS.region.bias, { min: -100_000, max: 100_000 });
  const minHealthy = readMinHealthy(r, m.get('min-healthy'), `${path}.min-healthy`, endpoints);
  if (!location || (ce && !check)) return undefined;
  return {
    name,
    source: `${r.file}:${r.lineOf(keyNode)}`,
    location,
    endpoints,
    ...(check ? { check } : {}),
    weight,
    bias,
    minHealthy,
    services: [],
  };
}

const MIN_HEALTHY_LIMITS = { min: 1, max: 10_000, integer: true } as const;

/** How many endpoints answer each family (the rule is in families.ts). */
function answeringCounts(endpoints: readonly Endpoint[]): MinHealthy {
  const lists = { v4: endpoints.filter((e) => e.family === 4), v6: endpoints.filter((e) => e.family === 6), hosts: endpoints.filter((e) => e.family === 0) };
  return { ipv4: familyEndpoints(lists, 'ipv4').length, ipv6: familyEndpoints(lists, 'ipv6').length };
}

/**
 * `min-healthy: n` needs n up endpoints of each family, but never more than the region has of that family
 * (min-healthy 2 beside a single IPv6 endpoint needs that one up), so a number never silently removes a
 * family; `min-healthy: { ipv4: n, ipv6: m }` is exact, and a minimum the region can never meet is an error.
 */
function readMinHealthy(r: YamlReader, entry: Entry | undefined, path: string, endpoints: readonly Endpoint[]): MinHealthy {
  const fallback = DEFAULTS.region.minHealthy;
  const have = answeringCounts(endpoints);
  const capped = (n: number): MinHealthy => ({ ipv4: have.ipv4 > 0 ? Math.min(n, have.ipv4) : n, ipv6: have.ipv6 > 0 ? Math.min(n, have.ipv6) : n });
  if (!entry) return capped(fallback);
  if (!r.isMap(entry.value)) return capped(r.number(entry.value, path, MIN_HEALTHY_LIMITS) ?? fallback);
  const fm = r.map(entry.value, path, ['ipv4', 'ipv6']);
  const out = capped(fallback);
  if (!fm) return out;
  if (fm.size === 0) r.error(entry.value, path, 'give ipv4 and/or ipv6, e.g. { ipv4: 2, ipv6: 1 }');
  for (const key of ['ipv4', 'ipv6'] as const) {
    const e = fm.get(key);
    if (!e) continue;
    const n = r.number(e.value, `${path}.${key}`, MIN_HEALTHY_LIMITS);
    if (n === undefined) continue;
    const family = key === 'ipv4' ? 'IPv4' : 'IPv6';
    if (have[key] > 0 && n > have[key])
      r.error(e.value, `${path}.${key}`, `is ${n} but the region has only ${have[key]} ${family} endpoint${have[key] === 1 ? '' : 's'} with weight > 0, so it could never answer ${key === 'ipv4' ? 'A' : 'AAAA'}`);
    out[key] = n;
  }
  return out;
}

function readEndpoint(r: YamlReader, node: Node | null, path: string): Endpoint | undefined {
  const m = r.map(node, path, ENDPOINT_KEYS);
  if (!m) return undefined;
  const ae = m.get('address');
  if (!ae) return r.error(node, path, 'missing required key "address"');
  const text = r.string(ae.value, `${path}.address`);
  if (text === undefined) return undefined;
  const we = m.get('weight');
  const weight = we ? r.number(we.value, `${path}.weight`, { min: 0, max: 65535 }) : 1;
  if (weight === undefined) return undefined;
  const family = ipFamily(text);
  // One spelling per address (RFC 5952 for IPv6), so probe reports and checks name endpoints alike.
  if (family === 6) {
    if (text.includes('%')) return r.error(ae.value, `${path}.address`, `"${text}" has a zone index; use a global address`);
    return { address: canonicalIpv6(text), family, weight };
  }
  if (family === 4) return { address: text, family, weight };
  const host = canonical(text);
  const problem = /^[\d.]+$/.test(text) || host === '' || !host.includes('.') ? 'is not an IP address or a fully qualified hostname' : nameProblem(host);
  if (problem) return r.error(ae.value, `${path}.address`, `"${text}" ${problem}`);
  return { address: host, family: 0, weight };
}

function readCheck(r: YamlReader, node: Node | null, path: string): HealthCheck | undefined {
  const m = r.map(node, path, CHECK_KEYS);
  if (!m) return undefined;
  const te = m.get('type');
  if (!te) return r.error(node, path, 'missing required key "type"');
  const type = r.string(te.value, `${path}.type`);
  if (type !== undefined && !(CHECK_TYPES as readonly string[]).includes(type))
    return r.error(te.value, `${path}.type`, `unknown check type "${type}" (one of: ${CHECK_TYPES.join(', ')})`);
  const pe = m.get('port');
  const port = pe ? u16(r, pe.value, `${path}.port`) : type === 'https' ? 443 : type === 'http' ? 80 : r.error(node, path, 'tcp checks need a "port"');
  const pathEntry = m.get('path');
  const checkPath = pathEntry ? r.string(pathEntry.value, `${path}.path`) : DEFAULTS.check.path;
  if (checkPath !== undefined && !checkPath.startsWith('/')) r.error(pathEntry?.value, `${path}.path`, 'must start with "/"');
  const he = m.get('host');
  const host = he ? r.string(he.value, `${path}.host`) : undefined;
  let expectStatus: number[] = [];
  let expectBody: string | undefined;
  const xe = m.get('expect');
  if (xe) {
    const xm = r.map(xe.value, `${path}.expect`, ['status', 'body']);
    const se = xm?.get('status');
    if (se) {
      expectStatus = (r.seq(se.value, `${path}.expect.status`, true) ?? [])
        .map((n, i) => r.number(n, `${path}.expect.status[${i}]`, { min: 100, max: 599, integer: true }))
        .filter((n): n is number => n !== undefined);
    }
    const be = xm?.get('body');
    if (be) expectBody = r.string(be.value, `${path}.expect.body`);
  }
  const dur = (key: 'interval' | 'timeout', fallback: number): number | undefined => {
    const e = m.get(key);
    if (!e) return fallback;
    const ms = parseDuration(r.scalar(e.value));
    if (ms === undefined || ms < 100) return r.error(e.value, `${path}.${key}`, 'must be a duration of at least 100ms, like "5s" or "500ms"');
    return ms;
  };
  const intervalMs = dur('interval', DEFAULTS.check.intervalMs);
  const timeoutMs = dur('timeout', DEFAULTS.check.timeoutMs);
  if (intervalMs !== undefined && timeoutMs !== undefined && timeoutMs > intervalMs)
    r.error(m.get('timeout')?.value ?? node, `${path}.timeout`, 'must not exceed the interval');
  const count = (key: 'rise' | 'fall', fallback: number): number | undefined => {
    const e = m.get(key);
    return e ? r.number(e.value, `${path}.${key}`, { min: 1, max: 100, integer: true }) : fallback;
  };
  const rise = count('rise', DEFAULTS.check.rise);
  const fall = count('fall', DEFAULTS.check.fall);
  if (type === undefined || port === undefined || checkPath === undefined || intervalMs === undefined || timeoutMs === undefined || rise === undefined || fall === undefined)
    return undefined;
  return {
    type: type as CheckType,
    port,
    path: checkPath,
    ...(host !== undefined ? { host } : {}),
    expectStatus: expectStatus.length > 0 ? expectStatus : [],
    ...(expectBody !== undefined ? { expectBody } : {}),
    intervalMs,
    timeoutMs,
    rise,
    fall,
  };
}

export function parseLatencyClient(text: string): LatencyClient | string {
  if (text.startsWith('continent:')) {
    const c = text.slice('continent:'.length).toUpperCase();
    if (!(CONTINENTS as readonly string[]).includes(c)) return `"${text}" names no continent (one of: ${CONTINENTS.join(', ')})`;
    return { kind: 'continent', text: `continent:${c}`, continent: c };
  }
  if (/^[A-Za-z]{2}$/.test(text)) {
    const country = text.toUpperCase();
    if (!countryTable().has(country)) return `"${text}" is not an ISO 3166-1 alpha-2 country code`;
    return { kind: 'country', text: country, country };
  }
  const cidr = parseCidr(text);
  if (typeof cidr === 'string') return `${cidr}; a client is a CIDR, an ISO country code (DE) or continent:XX`;
  return { kind: 'cidr', text, family: cidr.family, prefix: cidr.prefix, network: cidr.network };
}

function readLatency(r: YamlReader, node: Node | null, path: string): LatencyEntry | undefined {
  const m = r.map(node, path, LATENCY_KEYS);
  if (!m) return undefined;
  for (const k of LATENCY_KEYS) if (!m.has(k)) return r.error(node, path, `missing required key "${k}"`);
  const clientText = r.text(m.get('client')!.value, `${path}.client`);
  const region = r.string(m.get('region')!.value, `${path}.region`);
  const rtt = r.number(m.get('rtt')!.value, `${path}.rtt`, { min: 0, max: 100_000 });
  if (clientText === undefined || region === undefined || rtt === undefined) return undefined;
  const client = parseLatencyClient(clientText);
  if (typeof client === 'string') return r.error(m.get('client')!.value, `${path}.client`, client);
  return { client, region, rttMs: rtt };
}

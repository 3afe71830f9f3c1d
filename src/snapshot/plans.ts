/**
 * Precomputing answers. For a (name, query type, question length) the bytes after the question never change
 * within a snapshot, so they are encoded once here, name compression included, and the query path copies them.
 */
import { HEADER_SIZE, Rcode, RRType } from '../wire/constants.js';
import { isInZone, parentName, wireLength } from '../wire/name.js';
import type { ResourceRecord } from '../wire/records.js';
import { BlockWriter } from '../wire/writer.js';
import type { Zone } from '../model/types.js';
import type { AdditionalCut, AnswerPlan, NameNode } from './types.js';

/** RFC 8482 answer to ANY: one synthesized HINFO instead of every RRset at the name. */
const RFC8482_HINFO = { type: RRType.HINFO, cpu: 'RFC8482', os: '' } as const;
const MAX_CHAIN = 8;

export interface ZoneView {
  zone: Zone;
  nodes: Map<string, NameNode>;
}

/** Where the question's name (or its suffix `anchor`) sits: lets the block compress against the question. */
function writerFor(questionNameLength: number, anchor: string): BlockWriter {
  const w = new BlockWriter(HEADER_SIZE + questionNameLength + 4);
  w.knowName(anchor, HEADER_SIZE + questionNameLength - wireLength(anchor));
  return w;
}

function negativeTtl(zone: Zone): number {
  return Math.min(zone.ttl, zone.soa.minimum);
}

/** Offset of the TTL of the record that starts at `at` in `body`: after its owner name, type and class. */
function ttlOffsetOfRecordAt(body: Buffer, at: number): number {
  let o = at;
  while (body[o] !== 0 && (body[o]! & 0xc0) !== 0xc0) o += body[o]! + 1;
  o += body[o] === 0 ? 1 : 2;
  return o + 4;
}

function writeSoa(w: BlockWriter, zone: Zone): void {
  w.record(zone.apex, negativeTtl(zone), { type: RRType.SOA, ...zone.soa });
}

interface Additional {
  count: number;
  cuts: AdditionalCut[];
}

/**
 * A/AAAA of in-zone targets of NS/MX/SRV records, for the additional section, and the places it may be cut.
 * `required` names the targets whose addresses may not be left out: in-domain glue of a referral (RFC 9471),
 * without which the referral is truncated instead.
 */
export function writeAdditional(w: BlockWriter, view: ZoneView, rrset: readonly ResourceRecord[], required?: (target: string) => boolean): Additional {
  const found = additionalTargets(view, rrset);
  const targets = found.map((f) => f.target);
  const glue = found.map((f) => f.sets);
  let lastRequired = -1;
  if (required) targets.forEach((t, i) => (lastRequired = required(t) ? i : lastRequired));
  const cuts: AdditionalCut[] = lastRequired < 0 ? [{ length: w.length, ar: 0 }] : [];
  let count = 0;
  glue.forEach((sets, i) => {
    for (const set of sets) {
      for (const rr of set) w.recordOf(rr);
      count += set.length;
      if (i >= lastRequired) cuts.push({ length: w.length, ar: count });
    }
  });
  // The last cut is the whole body: nothing to gain from it.
  cuts.pop();
  return { count, cuts };
}

/** The in-zone targets of NS/MX/SRV records in `rrset` that have addresses, each once, with their A and AAAA RRsets. */
export function additionalTargets(view: ZoneView, rrset: readonly ResourceRecord[]): { target: string; sets: ResourceRecord[][] }[] {
  const out: { target: string; sets: ResourceRecord[][] }[] = [];
  for (const rr of rrset) {
    const d = rr.data;
    const target = d.type === RRType.NS || d.type === RRType.SRV ? d.target : d.type === RRType.MX ? d.exchange : undefined;
    if (target === undefined || out.some((o) => o.target === target) || !isInZone(target, view.zone.apex)) continue;
    const node = view.nodes.get(target);
    const sets = [RRType.A, RRType.AAAA].map((type) => node?.rrsets.get(type) ?? []).filter((set) => set.length > 0);
    if (sets.length > 0) out.push({ target, sets });
  }
  return out;
}

/** The node that answers for `name` inside the zone: exact, else the wildcard at its closest encloser. */
export function staticLookup(view: ZoneView, name: string): NameNode | undefined {
  const exact = view.nodes.get(name);
  if (exact) return exact;
  for (let ce = parentName(name); ce !== undefined && isInZone(ce, view.zone.apex); ce = parentName(ce)) {
    const encloser = view.nodes.get(ce);
    if (!encloser) continue;
    if (encloser.cut) return encloser;
    return view.nodes.get(ce === '' ? '*' : `*.${ce}`);
  }
  return undefined;
}

/**
 * The plan for a query of `qtype` whose name matched `start` (exactly, or through the wildcard `start`).
 * `anchor` is a suffix of the question name that is known at build time.
 */
export function buildAnswerPlan(view: ZoneView, start: NameNode, qtype: number, qnameLength: number, anchor: string): AnswerPlan {
  const build = (withServiceNodata: boolean): AnswerPlan => {
    const { zone } = view;
    const w = writerFor(qnameLength, anchor);
    let owner: string | number = HEADER_SIZE;
    let node = start;
    let an = 0;
    const follow = qtype !== RRType.CNAME && qtype !== RRType.ANY;
    for (let hops = 0; follow && hops < MAX_CHAIN; hops++) {
      const cname = node.rrsets.get(RRType.CNAME)?.[0];
      if (!cname || cname.data.type !== RRType.CNAME) break;
      w.record(owner, cname.ttl, cname.data);
      an++;
      const target = cname.data.target;
      if (!isInZone(target, zone.apex)) return { rcode: Rcode.NOERROR, aa: true, an, ns: 0, ar: 0, body: w.finish() };
      const next = staticLookup(view, target);
      if (!next) {
        writeSoa(w, zone);
        return { rcode: Rcode.NXDOMAIN, aa: true, an, ns: 1, ar: 0, body: w.finish() };
      }
      // A chain into a delegation ends here: the resolver follows it from the CNAME.
      if (next.cut) return { rcode: Rcode.NOERROR, aa: true, an, ns: 0, ar: 0, body: w.finish() };
      owner = target;
      node = next;
    }

    if (node.service && (qtype === RRType.A || qtype === RRType.AAAA)) {
      const ownerOffset = typeof owner === 'number' ? owner : w.offsetOf(owner)!;
      const prefix = w.finish();
      if (withServiceNodata) writeSoa(w, zone);
      const nodataBody = withServiceNodata ? w.finish() : prefix;
      return {
        rcode: Rcode.NOERROR,
        aa: true,
        an,
        ns: 0,
        ar: 0,
        body: prefix,
        service: {
          serviceName: node.service.name,
          ownerOffset,
          nodataBody,
          nodataSoaTtlAt: withServiceNodata ? ttlOffsetOfRecordAt(nodataBody, prefix.length) : 0,
          negativeTtl: negativeTtl(zone),
        },
      };
    }

    if (qtype === RRType.ANY) {
      const cname = node.rrsets.get(RRType.CNAME)?.[0];
      if (cname) w.recordOf(cname, HEADER_SIZE);
      else w.record(owner, zone.ttl, RFC8482_HINFO);
      return { rcode: Rcode.NOERROR, aa: true, an: an + 1, ns: 0, ar: 0, body: w.finish() };
    }

    const rrset = node.rrsets.get(qtype);
    if (rrset && rrset.length > 0) {
      for (const rr of rrset) w.record(owner, rr.ttl, rr.data);
      const { count: ar, cuts } = writeAdditional(w, view, rrset);
      return { rcode: Rcode.NOERROR, aa: true, an: an + rrset.length, ns: 0, ar, body: w.finish(), ...(cuts.length > 0 ? { cuts } : {}) };
    }
    writeSoa(w, zone);
    return { rcode: Rcode.NOERROR, aa: true, an, ns: 1, ar: 0, body: w.finish() };
  };
  const plan = build(false);
  if (!plan.service) return plan;
  // The same tail, with the NODATA body (and where its SOA TTL sits) from the build that wrote the SOA.
  return { ...plan, service: build(true).service! };
}

export function buildNxdomainPlan(zone: Zone, qnameLength: number): AnswerPlan {
  const w = writerFor(qnameLength, zone.apex);
  writeSoa(w, zone);
  return { rcode: Rcode.NXDOMAIN, aa: true, an: 0, ns: 1, ar: 0, body: w.finish() };
}

/** A referral to the delegation at `cut`: its NS in authority, glue in additional, AA clear. */
export function buildReferralPlan(view: ZoneView, cut: NameNode, qnameLength: number): AnswerPlan {
  const w = writerFor(qnameLength, cut.name);
  const nsSet = cut.rrsets.get(RRType.NS) ?? [];
  for (const rr of nsSet) w.recordOf(rr);
  const { count: ar, cuts } = writeAdditional(w, view, nsSet, (target) => isInZone(target, cut.name));
  return { rcode: Rcode.NOERROR, aa: false, an: 0, ns: nsSet.length, ar, body: w.finish(), ...(cuts.length > 0 ? { cuts } : {}) };
}

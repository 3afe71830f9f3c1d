/**
 * Explain a routing decision by asking the real answer path: a DNS query is built for the name, type and
 * client (with ECS when a subnet is given), answered by a Responder over the current snapshot (without its
 * decision cache, so that the decision is made in full, reasons included), and the very Decision it used is
 * reported next to the decoded answer. Explain cannot disagree with DNS because it is DNS.
 */
import { phaseOf } from '../snapshot/signing.js';
import { isIP } from 'node:net';
import { EdnsOption, Rcode, rcodeName, RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { canonical, nameProblem, nameToWire } from '../wire/name.js';
import { ParsedQuery } from '../wire/query.js';
import { findZone, Responder } from './responder.js';
import { signatureWindow } from '../dnssec/rrsig.js';
import type { ClientLocation, LocationProvenance } from '../geo/locator.js';
import type { Snapshot } from '../snapshot/types.js';
import { addressBytes, addressText, maskBits, parseCidr } from '../util/cidr.js';
import type { Candidate } from '../routing/decision.js';
import type { Rng } from '../util/rng.js';
import { DecisionCache } from '../routing/decision-cache.js';


export interface ExplainRequest {
  name: string;
  type?: string;
  /** The resolver's (or client's) address; used when no ECS subnet is given. */
  client?: string;
  /** An ECS subnet as a resolver would send it, e.g. 198.51.100.0/24. */
  ecs?: string;
}

export interface ExplainResult {
  name: string;
  type: 'A' | 'AAAA';
  snapshotVersion: number;
  client: { address: string; ecs?: string; via: 'ecs' | 'resolver'; location: ClientLocation; locatedBy: LocationProvenance };
  service?: { name: string; policy: string; ttl: number; answers: number; whenAllDown: string; toleranceMs: number };
  candidates: Candidate[];
  answer: { rcode: string; region: string | null; addresses: string[]; cname?: string; ttl: number | null; scope: number };
  reason: string;
  failOpen: boolean;
  /**
   * For a signed zone: the key that signs the answer and the validity window of a signature made now (ISO
   * times). A cached signature may have been made earlier: it is made again once a quarter of its validity is left.
   */
  dnssec?: { keyTag: number; algorithm: string; inception: string; expiration: string };
}

export class ExplainError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function explain(current: () => Snapshot, req: ExplainRequest, rng: Rng = Math.random): ExplainResult {
  const name = canonical(req.name ?? '');
  if (!name || nameProblem(name)) throw new ExplainError(`"${req.name}" is not a valid domain name`, 'name');
  const typeText = (req.type ?? 'A').toUpperCase();
  if (typeText !== 'A' && typeText !== 'AAAA') throw new ExplainError('type must be A or AAAA', 'type');
  const type = typeText === 'AAAA' ? RRType.AAAA : RRType.A;
  if (req.client !== undefined && isIP(req.client) === 0) throw new ExplainError(`"${req.client}" is not an IP address`, 'client');
  let ecs: { family: 4 | 6; prefix: number; network: Buffer; text: string } | undefined;
  if (req.ecs !== undefined) {
    const text = req.ecs.includes('/') ? req.ecs : `${req.ecs}/${isIP(req.ecs) === 6 ? 56 : 24}`;
    const parts = text.split('/');
    const [addr, len] = parts as [string, string];
    const family = isIP(addr);
    // Exactly one "/": "1.2.3.4/32/1" used to be taken for 1.2.3.4/32, silently dropping the rest.
    if (parts.length !== 2 || family === 0 || !/^\d+$/.test(len) || Number(len) > (family === 4 ? 32 : 128)) throw new ExplainError(`"${req.ecs}" is not a subnet like 198.51.100.0/24`, 'ecs');
    // Resolvers send the network address; accept a host address and mask it, as they would.
    const masked = maskText(addr, family as 4 | 6, Number(len));
    const cidr = parseCidr(`${masked}/${len}`);
    if (typeof cidr === 'string') throw new ExplainError(cidr, 'ecs');
    ecs = { ...cidr, text: masked };
  }
  if (!ecs && req.client === undefined) throw new ExplainError('give a client address or an ECS subnet', 'client');

  const snap = current();
  const peerAddress = req.client ?? (ecs!.family === 4 ? '127.0.0.1' : '::1');
  const query = buildQuery(name, type, ecs);
  const q = new ParsedQuery();
  const outcome = q.parse(query);
  // Without the decision cache: a cached decision is the answer alone, explain wants its reasons too.
  const responder = new Responder(() => snap, rng, undefined, undefined, DecisionCache.NONE);
  const out = responder.respond(q, outcome, query, { address: peerAddress, family: isIP(peerAddress) === 6 ? 6 : 4 }, 'tcp');
  if (!out) throw new ExplainError('the query could not be answered', 'name', 500);
  const msg = decodeMessage(out);
  if (msg.rcode === Rcode.REFUSED) throw new ExplainError(`${name} is not inside any zone this server answers for`, 'name', 404);

  const d = responder.info.decision;
  const why = d?.why;
  const scopeOpt = msg.edns?.options.find((o) => o.code === EdnsOption.ECS);
  const addresses = msg.answers.filter((r) => r.type === type).map((r) => (r.data as { address: string }).address);
  const cnames = msg.answers.filter((r) => r.type === RRType.CNAME);
  const last = msg.answers[msg.answers.length - 1];
  const locateFamily: 4 | 6 = ecs ? ecs.family : isIP(peerAddress) === 6 ? 6 : 4;
  const locateBytes = ecs ? ecs.network : addressBytes(peerAddress, locateFamily);
  const locatePrefix = ecs ? ecs.prefix : locateFamily === 4 ? 32 : 128;
  const location = why?.location ?? snap.locator.locate(locateBytes, locateFamily, locatePrefix);
  const locatedBy = snap.locator.provenance(locateBytes, locateFamily, locatePrefix);
  const svc = why ? snap.services.get(why.service)?.service : undefined;
  return {
    name,
    type: typeText,
    snapshotVersion: snap.version,
    client: { address: ecs ? ecs.text : peerAddress, ...(ecs ? { ecs: `${ecs.text}/${ecs.prefix}` } : {}), via: ecs ? 'ecs' : 'resolver', location, locatedBy },
    ...(svc
      ? { service: { name: svc.name, policy: svc.policy, ttl: svc.ttl, answers: svc.answers, whenAllDown: svc.whenAllDown, toleranceMs: svc.toleranceMs, ...(svc.shed ? { shed: svc.shed } : {}) } }
      : {}),
    candidates: why?.candidates ?? [],
    answer: {
      rcode: rcodeName(msg.rcode),
      region: d?.region?.region.name ?? null,
      addresses,
      ...(d?.cname ? { cname: d.cname.address } : cnames.length > 0 ? { cname: (cnames[cnames.length - 1]!.data as { target: string }).target } : {}),
      ttl: last ? last.ttl : null,
      // Without ECS no scope goes on the wire; the decision's scope still says which block the answer holds for.
      scope: scopeOpt ? scopeOpt.data[3]! : (d?.scope ?? 0),
    },
    reason: why ? why.reason : svc === undefined && msg.answers.length > 0 ? 'static records' : `${rcodeName(msg.rcode)}: no service at this name`,
    failOpen: why?.failOpen ?? false,
    ...signatureInfo(snap, name),
  };
}

function signatureInfo(snap: Snapshot, name: string): Pick<ExplainResult, 'dnssec'> {
  const signing = findZone(snap, name)?.signing;
  if (!signing) return {};
  const now = Date.now();
  const w = signatureWindow(now / 1000, { validitySeconds: signing.validitySeconds });
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  // The key that signs now: during a rollover, the phase's (which moves with the clock, not with snapshots).
  const key = phaseOf(signing, now).signer;
  return { dnssec: { keyTag: key.keyTag, algorithm: key.algorithm, inception: iso(w.inception), expiration: iso(w.expiration) } };
}

function maskText(addr: string, family: 4 | 6, prefix: number): string {
  return addressText(maskBits(addressBytes(addr, family), prefix), family);
}

/** A query for `name`/`type`, with an ECS option when `ecs` is given (also the warm-up's made-up queries). */
export function buildQuery(name: string, type: number, ecs: { family: 4 | 6; prefix: number; network: Buffer } | undefined): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(ecs ? 1 : 0, 10);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(type, 0);
  question.writeUInt16BE(1, 2);
  const parts = [header, nameToWire(name), question];
  if (ecs) {
    const addrLen = (ecs.prefix + 7) >> 3;
    const opt = Buffer.alloc(11 + 8 + addrLen);
    opt.writeUInt16BE(RRType.OPT, 1);
    opt.writeUInt16BE(1232, 3);
    opt.writeUInt16BE(8 + addrLen, 9);
    opt.writeUInt16BE(EdnsOption.ECS, 11);
    opt.writeUInt16BE(4 + addrLen, 13);
    opt.writeUInt16BE(ecs.family === 4 ? 1 : 2, 15);
    opt[17] = ecs.prefix;
    ecs.network.copy(opt, 19, 0, addrLen);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

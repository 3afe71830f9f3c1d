/**
 * The optional query log (`--query-log RATE`): a sample of queries as JSON lines through the logger. Off by
 * default, and then not even installed as an observer, so it costs nothing on the query path.
 */
import type { Logger } from 'pino';
import { rcodeName, typeName } from '../wire/constants.js';
import { bytesToIpv4, bytesToIpv6 } from '../wire/ip.js';
import type { QueryObserver } from './observer.js';
import { ParseOutcome } from '../wire/query.js';
import { RrlOutcome } from '../answer/responder.js';

export function queryLogObserver(rate: number, log: Logger, rng: () => number = Math.random): QueryObserver {
  return (q, outcome, info, transport, peer) => {
    if (outcome === ParseOutcome.DROP || rng() >= rate) return;
    const ecs = q.hasEcs ? `${q.ecs.family === 1 ? bytesToIpv4(q.ecs.address, 0) : bytesToIpv6(q.ecs.address, 0)}/${q.ecs.sourcePrefix}` : undefined;
    log.info(
      {
        qname: q.qname,
        qtype: typeName(q.qtype),
        rcode: rcodeName(info.rcode),
        transport,
        client: peer,
        ...(ecs ? { ecs } : {}),
        ...(info.service ? { service: info.service, region: info.region ?? null } : {}),
        ...(info.decision ? { scope: info.decision.scope, ttl: info.decision.ttl } : {}),
        ...(info.truncated ? { truncated: true } : {}),
        ...(info.rrl === RrlOutcome.SLIPPED ? { rrl: 'slipped' } : info.rrl === RrlOutcome.DROPPED ? { rrl: 'dropped' } : {}),
      },
      'query',
    );
  };
}

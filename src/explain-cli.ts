/** `gslb explain`: ask a running server's API why a client gets the answer it gets, and print it. */
import { onlyValue, parseFlags, UsageError } from './config.js';
import type { ExplainResult } from './answer/explain.js';
import type { LocationProvenance } from './geo/locator.js';

export const EXPLAIN_HELP = `Usage: gslb explain NAME [--type A|AAAA] [--client IP | --ecs CIDR] [--api URL] [--json]

Prints the routing decision the running server makes for NAME and that client: where the client is,
every candidate region with its health and estimated RTT, the chosen region, addresses, TTL and ECS scope.

  --type A|AAAA     query type                                  [A]
  --client IP       the resolver's (or client's) address
  --ecs CIDR        an EDNS Client Subnet, e.g. 198.51.100.0/24
  --api URL         the server's API                            [http://GSLB_API or http://127.0.0.1:8080]
  --json            print the JSON document instead of a table
Without --client and --ecs, the server explains the decision for the address this command connects from.`;

export async function explainCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const name = argv[0];
  if (name === undefined || name.startsWith('--')) throw new UsageError('explain needs a NAME');
  const flags = parseFlags(argv.slice(1), ['--type', '--client', '--ecs', '--api'], ['--json']);
  const client = onlyValue(flags, '--client');
  const ecs = onlyValue(flags, '--ecs');
  if (client !== undefined && ecs !== undefined) throw new UsageError('give --client or --ecs, not both');
  const api = onlyValue(flags, '--api') ?? (env.GSLB_API ? `http://${env.GSLB_API}` : 'http://127.0.0.1:8080');
  let url: URL;
  try {
    url = new URL('/v1/explain', api);
  } catch {
    throw new UsageError(`--api: "${api}" is not a URL`);
  }
  url.searchParams.set('name', name);
  const type = onlyValue(flags, '--type');
  if (type !== undefined) url.searchParams.set('type', type);
  if (client !== undefined) url.searchParams.set('client', client);
  if (ecs !== undefined) url.searchParams.set('ecs', ecs);
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    process.stderr.write(`gslb explain: cannot reach ${api}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}\n`);
    return 1;
  }
  const body = (await res.json()) as ExplainResult | { error: string; field?: string };
  if (!res.ok || 'error' in body) {
    const e = body as { error: string; field?: string };
    process.stderr.write(`gslb explain: ${e.error}${e.field ? ` (${e.field})` : ''}\n`);
    return 1;
  }
  process.stdout.write(flags.has('--json') ? JSON.stringify(body, null, 2) + '\n' : formatExplain(body));
  return 0;
}

/** ` (city ipv4, 3.80.0.0/16, Ashburn, Virginia)`; empty from a server that does not report it. */
function provenanceText(p: LocationProvenance | undefined): string {
  const parts = p ? [p.databaseType, p.network, p.city, p.subdivision].filter(Boolean) : [];
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export function formatExplain(r: ExplainResult): string {
  const loc = r.client.location;
  const where =
    loc.source === 'none'
      ? 'location unknown'
      : [loc.country, loc.continent].filter(Boolean).join(', ') +
        (loc.lat !== undefined && loc.lon !== undefined ? ` (${loc.lat.toFixed(2)}, ${loc.lon.toFixed(2)})` : '') +
        ` from ${loc.source}`;
  const lines = [
    `${r.name} ${r.type} for ${r.client.via === 'ecs' ? `ECS subnet ${r.client.ecs}` : `resolver ${r.client.address}`}: ${where}, /${loc.prefixLength}${provenanceText(r.client.locatedBy)}`,
  ];
  if (r.service) {
    const s = r.service;
    lines.push(`service ${s.name}: policy ${s.policy}, ttl ${s.ttl}, answers ${s.answers}, when-all-down ${s.whenAllDown}, tolerance ${s.toleranceMs} ms`);
    const rows = r.candidates.map((c) => [
      c.chosen ? '*' : ' ',
      c.region,
      c.drained ? 'drained' : c.healthy ? 'up' : 'down',
      c.rttMs !== undefined ? `${c.rttMs} ms` : '-',
      c.bias ? `${c.bias > 0 ? '-' : '+'}${Math.abs(c.bias)} ms bias` : '',
      `w${c.weight}`,
      c.rttSource ?? '',
      // Per-family eligibility: a region answers A only with enough IPv4 endpoints up, AAAA with IPv6.
      c.families ? `${familyCell(c.families.ipv4)}/${familyCell(c.families.ipv6)}` : '',
      loadCell(c),
    ]);
    const header = [' ', 'region', 'health', 'rtt', 'bias', 'weight', 'source', 'A/AAAA', r.candidates.some((c) => c.utilization !== undefined) ? 'load' : ''];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    for (const row of [header, ...rows]) lines.push('  ' + row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
    for (const c of r.candidates) if (c.fenced !== undefined) lines.push(`  fenced out: ${c.region} (${c.fenced})`);
  }
  const a = r.answer;
  const what = a.addresses.length > 0 ? a.addresses.join(' ') : a.cname ? `CNAME ${a.cname}` : 'no records';
  lines.push(`answer: ${a.rcode}${a.region ? ` from ${a.region}` : ''}: ${what}${a.ttl !== null ? `, ttl ${a.ttl}` : ''}, ECS scope /${a.scope}`);
  lines.push(`why: ${r.reason}`);
  if (r.dnssec) lines.push(`dnssec: signed by key ${r.dnssec.keyTag} (${r.dnssec.algorithm}), signatures valid ${r.dnssec.inception} to ${r.dnssec.expiration}`);
  return lines.join('\n') + '\n';
}

/** With `shed`: the reported utilization, the share shed at it, and whether this client is in that share. */
function loadCell(c: { utilization?: number | undefined; shedShare?: number | undefined; shedThisClient?: boolean | undefined }): string {
  if (c.utilization === undefined) return '';
  if (!c.shedShare) return `${c.utilization}`;
  return `${c.utilization}, ${Math.round(c.shedShare * 100)}% shed${c.shedThisClient ? ', this client too' : ''}`;
}

function familyCell(f: { endpoints: number; eligible: boolean }): string {
  return f.endpoints === 0 ? 'none' : f.eligible ? 'up' : 'down';
}

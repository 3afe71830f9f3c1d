/**
 * `gslb dnssec ds ZONE [--api URL]`: a running server's DS and DNSKEY records for ZONE, to paste at the parent.
 * `gslb dnssec rollover ZONE [--api URL] [--api-token T] [--propagation D] [--parent-wait D]`: starts a key rollover.
 */
import { onlyValue, parseFlags, UsageError } from './config.js';

export const DNSSEC_HELP = `Usage: gslb dnssec ds ZONE [--api URL]
       gslb dnssec rollover ZONE [--api URL] [--api-token TOKEN] [--propagation DURATION] [--parent-wait DURATION]

ds: prints the DS records (digest type 2) and DNSKEYs of ZONE as the running server publishes them, one full
record a line, ready to paste at the parent zone. Exit 1 when the zone is not signed (no "dnssec:" key).

rollover: starts a rollover to a new key (README "DNSSEC", key rollover) and prints its phases' times; exit 1
when one is already running (HTTP 409) or the zone is not signed.

  --api URL                the server's API                     [http://GSLB_API or http://127.0.0.1:8080]
  --api-token TOKEN        the server's --api-token             [GSLB_API_TOKEN]
  --propagation DURATION   wait after the DNSKEY TTL before the new key signs              [1h]
  --parent-wait DURATION   how long the old key stays published once the new one signs    [2d]`;

interface DnssecReply {
  signed: boolean;
  dnskey: string[];
  ds: string[];
  phase?: string;
  next?: { at: string; phase: string; step: string };
  keys?: { keyTag: number; state: string }[];
}

type Reply = { ok: true; body: DnssecReply } | { ok: false; code: number };

async function call(api: string, path: string, init: RequestInit): Promise<Reply> {
  let url: URL;
  try {
    url = new URL(path, api);
  } catch {
    throw new UsageError(`--api: "${api}" is not a URL`);
  }
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    const cause = (err as Error).cause;
    process.stderr.write(`gslb dnssec: cannot reach ${api}: ${cause instanceof Error ? cause.message : (err as Error).message}\n`);
    return { ok: false, code: 1 };
  }
  const body = (await res.json()) as DnssecReply | { error: string };
  if (!res.ok || 'error' in body) {
    process.stderr.write(`gslb dnssec: ${'error' in body ? body.error : `HTTP ${res.status}`}\n`);
    return { ok: false, code: 1 };
  }
  return { ok: true, body };
}

export async function dnssecCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, zone] = argv;
  if (sub !== 'ds' && sub !== 'rollover') {
    throw new UsageError(sub === undefined ? 'dnssec needs a subcommand: ds or rollover' : `unknown subcommand "${sub}" (known: ds, rollover)`);
  }
  if (zone === undefined || zone.startsWith('--')) throw new UsageError(`dnssec ${sub} needs a ZONE`);
  const flags = parseFlags(argv.slice(2), sub === 'ds' ? ['--api'] : ['--api', '--api-token', '--propagation', '--parent-wait'], []);
  const api = onlyValue(flags, '--api') ?? (env.GSLB_API ? `http://${env.GSLB_API}` : 'http://127.0.0.1:8080');
  const path = `/v1/zones/${encodeURIComponent(zone)}/dnssec`;
  if (sub === 'rollover') return rollover(api, path, flags, env);
  const r = await call(api, path, {});
  if (!r.ok) return r.code;
  if (!r.body.signed) {
    process.stderr.write(`gslb dnssec: zone ${zone} is not signed (add "dnssec: { algorithm: ECDSAP256SHA256 }" to its zone file)\n`);
    return 1;
  }
  process.stdout.write([...r.body.ds, ...r.body.dnskey].join('\n') + '\n');
  return 0;
}

async function rollover(api: string, path: string, flags: Map<string, string[]>, env: NodeJS.ProcessEnv): Promise<number> {
  const token = onlyValue(flags, '--api-token') ?? env.GSLB_API_TOKEN;
  const propagation = onlyValue(flags, '--propagation');
  const parentWait = onlyValue(flags, '--parent-wait');
  const body = { ...(propagation !== undefined ? { propagation } : {}), ...(parentWait !== undefined ? { parentWait } : {}) };
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const r = await call(api, `${path}/rollover`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (!r.ok) return r.code;
  const keys = (r.body.keys ?? []).map((k) => `${k.keyTag} ${k.state}`).join(', ');
  const next = r.body.next ? `; next at ${r.body.next.at}: ${r.body.next.step}` : '';
  process.stdout.write(`rollover started: phase ${r.body.phase ?? '?'} (keys ${keys})${next}\n`);
  return 0;
}

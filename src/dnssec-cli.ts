/** `gslb dnssec ds ZONE [--api URL]`: a running server's DS and DNSKEY records for ZONE, to paste at the parent. */
import { onlyValue, parseFlags, UsageError } from './config.js';

export const DNSSEC_HELP = `Usage: gslb dnssec ds ZONE [--api URL]

Prints the DS records (digest type 2) and DNSKEYs of ZONE as the running server publishes them, one full
record a line, ready to paste at the parent zone. Exit 1 when the zone is not signed (no "dnssec:" key).

  --api URL         the server's API                            [http://GSLB_API or http://127.0.0.1:8080]`;

interface DnssecReply {
  signed: boolean;
  dnskey: string[];
  ds: string[];
}

export async function dnssecCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, zone] = argv;
  if (sub !== 'ds') throw new UsageError(sub === undefined ? 'dnssec needs a subcommand: ds' : `unknown subcommand "${sub}" (known: ds)`);
  if (zone === undefined || zone.startsWith('--')) throw new UsageError('dnssec ds needs a ZONE');
  const flags = parseFlags(argv.slice(2), ['--api'], []);
  const api = onlyValue(flags, '--api') ?? (env.GSLB_API ? `http://${env.GSLB_API}` : 'http://127.0.0.1:8080');
  let url: URL;
  try {
    url = new URL(`/v1/zones/${encodeURIComponent(zone)}/dnssec`, api);
  } catch {
    throw new UsageError(`--api: "${api}" is not a URL`);
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    const cause = (err as Error).cause;
    process.stderr.write(`gslb dnssec: cannot reach ${api}: ${cause instanceof Error ? cause.message : (err as Error).message}\n`);
    return 1;
  }
  const body = (await res.json()) as DnssecReply | { error: string };
  if (!res.ok || 'error' in body) {
    process.stderr.write(`gslb dnssec: ${'error' in body ? body.error : `HTTP ${res.status}`}\n`);
    return 1;
  }
  if (!body.signed) {
    process.stderr.write(`gslb dnssec: zone ${zone} is not signed (add "dnssec: { algorithm: ECDSAP256SHA256 }" to its zone file)\n`);
    return 1;
  }
  process.stdout.write([...body.ds, ...body.dnskey].join('\n') + '\n');
  return 0;
}

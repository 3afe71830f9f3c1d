/** Start the real server in-process on loopback ports of its own choosing, with zone files in a temp dir. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { parseServeOptions } from '../../src/config.js';
import { startServer, type RunningServer, type ServerExtras } from '../../src/server.js';
import { writeGeoFixture } from './geo-fixture.js';
import { udpIoArgs } from './udp-io.js';

export interface TestServer {
  server: RunningServer;
  dir: string;
  udp: { host: string; port: number };
  /** Same port as `udp`, TCP. */
  tcp: { host: string; port: number };
  api: string;
  stop(): Promise<void>;
}

export async function startTestServer(
  zones: Record<string, string>,
  opts: {
    dns?: string;
    nodeId?: string;
    args?: string[];
    extras?: ServerExtras;
    dataDir?: string;
    /** GSLB_* variables read as serve options (the contract allows both). */
    env?: Record<string, string>;
    log?: Logger;
    /** Locate with the databases a user gets without `--geoip` (the bundled city and country ones). */
    defaultGeoip?: boolean;
  } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gslb-test-'));
  for (const [file, text] of Object.entries(zones)) writeFileSync(join(dir, file), text);
  const args = opts.args ?? [];
  // Tests locate clients with a fixture database, never with the bundled one whose contents change.
  const geo = args.includes('--geoip') || opts.defaultGeoip ? [] : ['--geoip', writeGeoFixture(dir)];
  // In-process tests edit files with one writeFileSync: a short settle keeps them fast (the 2 s default is
  // tested against a real process in reload-safety.test.ts).
  const settle = args.includes('--reload-settle') ? [] : ['--reload-settle', '200ms'];
  const options = parseServeOptions(
    ['--zones', dir, '--dns', opts.dns ?? '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', opts.dataDir ?? join(dir, 'data'), '--node-id', opts.nodeId ?? 'test-node', ...geo, ...settle, ...args, ...udpIoArgs(args, opts.env)],
    opts.env ?? {},
  );
  const server = await startServer(options, opts.log ?? pino({ level: 'silent' }), opts.extras);
  const first = server.dns[0]!;
  return {
    server,
    dir,
    udp: first,
    tcp: first,
    api: `http://127.0.0.1:${server.api.port}`,
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The first lines of a zone file for `apex`: TTL, SOA, one in-zone name server with its address. */
export function zoneHead(apex: string): string {
  return [
    `zone: ${apex}`,
    'ttl: 300',
    `soa: { mname: ns1.${apex}, rname: hostmaster.example.test, serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }`,
    `ns: [ns1.${apex}]`,
    'records:',
    '  ns1: { A: [192.0.2.53] }',
  ].join('\n');
}

/** The contract's example zone, used by most DNS tests. */
export const EXAMPLE_ZONE = `
zone: gslb.example.test
ttl: 300
soa: { mname: ns1.gslb.example.test, rname: hostmaster.example.test, serial: 2026112801,
       refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
ns: [ns1.gslb.example.test, ns2.gslb.example.test]
records:
  ns1: { A: [192.0.2.53] }
  ns2: { A: [192.0.2.54], AAAA: ["2001:db8::54"] }
  "@": { TXT: ["gslb zone"], MX: ["10 mail"] }
  mail: { A: [192.0.2.25] }
  docs: { CNAME: docs.example.org. }
  www: { CNAME: app }
  alias: { CNAME: www }
  dangling: { CNAME: missing }
  a.b.c: { A: [192.0.2.99] }
  "*.wild": { A: [192.0.2.77], TXT: ["wildcard"] }
  _https._tcp: { SRV: ["10 5 443 app"] }
  caa: { CAA: ['0 issue "letsencrypt.org"'] }
  long: { TXT: ["${'x'.repeat(300)}"] }
  medium: { TXT: [${Array.from({ length: 5 }, (_, i) => `"${i}${'m'.repeat(110)}"`).join(', ')}] }
  big: { TXT: [${Array.from({ length: 12 }, (_, i) => `"${String(i).padStart(2, '0')}${'y'.repeat(120)}"`).join(', ')}] }
  sub: { NS: [ns.sub.gslb.example.test, ns.other.example.] }
  ns.sub: { A: [192.0.2.200] }
regions:
  us-east:
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [ { address: 192.0.2.10 }, { address: 192.0.2.11, weight: 2 }, { address: "2001:db8::10" } ]
  eu-west:
    location: { lat: 53.35, lon: -6.26 }
    endpoints: [ { address: 198.51.100.10 } ]
  v4only:
    location: { lat: 1, lon: 1 }
    endpoints: [ { address: 203.0.113.1 } ]
  cdn:
    location: { lat: 2, lon: 2 }
    endpoints: [ { address: edge.cdn.example.net } ]
services:
  app:
    policy: latency
    regions: [us-east, eu-west]
    ttl: 30
    answers: 2
  legacy:
    policy: failover
    regions: [v4only]
    ttl: 20
  cdn:
    policy: failover
    regions: [cdn]
`;

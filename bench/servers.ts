/**
 * The servers `npm run bench` compares, each started on the server core and answering the same steered name:
 * gslb (dgram, batch, batch with workers), a bare Node dgram echo (the floor of a UDP round trip in Node), and
 * gdnsd 3.x with its geoip plugin, configured here from the same zone data and the same MMDB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLE_ZONE } from '../test/helpers/server.js';
import { writeGeoFixture } from '../test/helpers/geo-fixture.js';
import { freePort, HOST, ROOT, track, waitForDns, ZONE } from './lib.js';
import { ecsQuery } from './ecs.js';
import { SERVER_CORE } from './measure.js';

/** The one query every server is asked: the steered service name, A, with ECS from a London /24 (eu-west). */
export const QUERY = { name: `app.${ZONE}`, qtype: 'A', ecs: [81, 2, 69] as const };
const READY_QUERY = ecsQuery(QUERY.name, 1, Buffer.from([...QUERY.ecs, 0]), 24);

export interface Started {
  child: ChildProcess;
  port: number;
}

export interface ServerSpec {
  label: string;
  /** Why this server cannot run here (and how to fix it), checked before starting it. */
  missing?: () => string | undefined;
  start: (dir: string) => Promise<Started>;
  /** dnsperf arguments this row adds to every run (`-D`: the DO bit, for the signed row). */
  queryArgs?: string[];
}

const ECHO_SOURCE = `
const dgram = require('node:dgram');
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
s.on('message', (m, r) => { if (m.length >= 3) { m[2] |= 0x80; s.send(m, r.port, r.address); } });
s.on('error', (e) => { console.error(String(e)); process.exit(1); });
s.bind(Number(process.argv[1]), '127.0.0.1');
`;

/** A child's output, kept for an error message. */
function captured(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

/** `taskset -c SERVER_CORE cmd ...args` (taskset execs, so the PID is the server's), ready once it answers. */
async function startPinned(cmd: string, args: string[], port: number): Promise<Started> {
  const child = track(spawn('taskset', ['-c', SERVER_CORE, cmd, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  const output = captured(child);
  try {
    await waitForDns(port, 20_000, child, READY_QUERY);
  } catch (e) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    // The first line that says something: a refused option, a module that does not load.
    const line = output().split('\n').find((l) => l.trim() !== '') ?? (e as Error).message;
    throw new NotAvailable(line.trim());
  }
  return { child, port };
}

/** A server that did not start; the bench prints its row as "not available: <message>". */
export class NotAvailable extends Error {}

/**
 * The zone file and the fixture MMDB gslb reads, in `dir` (shared by every gslb row and gdnsd); `signed`: the
 * same zone with online DNSSEC signing (its key is made in the row's data directory at start).
 */
export function writeInputs(dir: string, signed = false): { zones: string; mmdb: string } {
  // Once per directory: every server runs at once, and gdnsd reloads a GeoIP file that changes under it.
  const key = `${dir}\n${signed}`;
  const done = written.get(key);
  if (done) return done;
  const zones = join(dir, signed ? 'zones-signed' : 'zones');
  mkdirSync(zones, { recursive: true });
  const text = signed ? EXAMPLE_ZONE.replace('\nttl: 300\n', '\nttl: 300\ndnssec: { algorithm: ECDSAP256SHA256 }\n') : EXAMPLE_ZONE;
  if (signed && text === EXAMPLE_ZONE) throw new Error('bench: the example zone no longer has the line the signed row adds dnssec after');
  writeFileSync(join(zones, 'example.yaml'), text);
  const inputs = { zones, mmdb: written.get(`${dir}\n${!signed}`)?.mmdb ?? writeGeoFixture(dir) };
  written.set(key, inputs);
  return inputs;
}
const written = new Map<string, { zones: string; mmdb: string }>();

function gslb(label: string, extra: string[], signed = false): ServerSpec {
  return {
    label,
    ...(signed ? { queryArgs: ['-D'] } : {}),
    start: async (dir) => {
      const { zones, mmdb } = writeInputs(dir, signed);
      const port = await freePort();
      const api = await freePort();
      const args = ['dist/cli.js', 'serve', '--zones', zones, '--geoip', mmdb, '--dns', `${HOST}:${port}`, '--api', `${HOST}:${api}`];
      args.push('--data', join(dir, `data-${port}`), '--node-id', 'bench', '--log-level', 'warn', ...extra);
      return startPinned(process.execPath, args, port);
    },
  };
}

/**
 * gdnsd's config for the example zone's `app` service: a geoip map over the same MMDB in city-auto-mode (nearest
 * datacenter by coordinates, as gslb's latency policy), the regions' coordinates and addresses, ECS on, one UDP
 * thread (as one gslb process), and run/state dirs of its own.
 */
export function gdnsdConfig(dir: string, port: number, mmdb: string): string {
  return `options => {
  listen => [ ${HOST}:${port} ]
  edns_client_subnet => true
  udp_threads => 1
  tcp_threads => 1
  run_dir => ${join(dir, 'run')}
  state_dir => ${join(dir, 'state')}
}
plugins => {
  geoip => {
    maps => {
      bench => {
        geoip2_db => ${mmdb}
        datacenters => [ us-east, eu-west ]
        auto_dc_coords => { us-east => [ 39.04, -77.49 ], eu-west => [ 53.35, -6.26 ] }
      }
    }
    resources => {
      app => {
        map => bench
        dcmap => {
          us-east => { addrs_v4 => [ 192.0.2.10, 192.0.2.11 ], addrs_v6 => [ "2001:db8::10" ] }
          eu-west => 198.51.100.10
        }
      }
    }
  }
}
`;
}

/** The example zone's apex and the steered name, in gdnsd's zone syntax. */
const GDNSD_ZONE = `@ 300 SOA ns1 hostmaster.example.test. 2026112801 3600 600 604800 60
@ 300 NS ns1
@ 300 NS ns2
ns1 300 A 192.0.2.53
ns2 300 A 192.0.2.54
app 30 DYNA geoip!app
`;

const GDNSD = process.env.GDNSD ?? '/usr/sbin/gdnsd';

export const SERVERS: ServerSpec[] = [
  {
    label: 'node dgram echo',
    start: async () => {
      const port = await freePort();
      return startPinned(process.execPath, ['-e', ECHO_SOURCE, String(port)], port);
    },
  },
  {
    label: 'gdnsd geoip',
    missing: () => {
      try {
        accessSync(GDNSD, constants.X_OK);
        return undefined;
      } catch {
        return `${GDNSD} not found: apt-get install gdnsd (Debian's gdnsd 3.x), or GDNSD=/path/to/gdnsd`;
      }
    },
    start: async (dir) => {
      const { mmdb } = writeInputs(dir);
      const port = await freePort();
      const cfg = join(dir, `gdnsd-${port}`);
      mkdirSync(join(cfg, 'zones'), { recursive: true });
      writeFileSync(join(cfg, 'config'), gdnsdConfig(cfg, port, mmdb));
      writeFileSync(join(cfg, 'zones', ZONE), GDNSD_ZONE);
      return startPinned(GDNSD, ['-c', cfg, 'start'], port);
    },
  },
  gslb('gslb --udp-io dgram', ['--udp-io', 'dgram']),
  gslb('gslb --udp-io batch', ['--udp-io', 'batch']),
  // The default reads the socket on a 500 us timer under load; this row reads on every arrival.
  gslb('gslb --udp-io batch --udp-coalesce 0', ['--udp-io', 'batch', '--udp-coalesce', '0']),
  // Issue 11's figure: a signed steered answer (RRSIG from the warm signature cache) against the row above.
  gslb('gslb --udp-io batch, zone signed, DO=1', ['--udp-io', 'batch'], true),
  gslb('gslb --udp-io batch --workers 2', ['--udp-io', 'batch', '--workers', '2']),
];

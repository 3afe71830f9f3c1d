/**
 * Interop through a real PowerDNS Recursor with ECS (issue 14). The recursor runs in the foreground with its
 * own config dir on a loopback port, forwards only the test zone to our server, has no root hints and sends
 * from 127.0.0.1 only, so it can query nothing but our server. Clients give their subnet as ECS in the query
 * to the recursor (use-incoming-edns-subnet), as a resolver's frontend would. PowerDNS caches negative
 * answers without regard to the ECS scope (RFC 7871 7.4 warns about this): one subnet-specific NODATA used to
 * take IPv6 away from every client of the resolver. Every client must keep its AAAA.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import type { DecodedMessage } from '../src/wire/decode.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { FRANKFURT, NEW_YORK, SINGAPORE, subnet24, writeFamilyGeo } from './helpers/family-fixture.js';
import { freePort } from './helpers/redis.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const Z = 'fh.test';
const ZONE = `
zone: ${Z}
soa: { mname: ns1.other.test, rname: hostmaster.other.test, serial: 1, minimum: 60 }
ns: [ns1.other.test]
regions:
  ny:  { location: { lat: 40.71, lon: -74.01 }, endpoints: [ { address: 192.0.2.1 }, { address: "2001:db8:1::1" } ] }
  sgp: { location: { lat: 1.35, lon: 103.82 }, endpoints: [ { address: 203.0.113.30 } ] }
  fra: { location: { lat: 50.11, lon: 8.68 }, endpoints: [ { address: 198.51.100.20 }, { address: "2001:db8:3::1" } ] }
services:
  near: { policy: latency, regions: [ny, sgp, fra], ttl: 20, answers: 1 }
  v4only: { policy: latency, regions: [sgp], ttl: 20 }
`;

const RECURSOR = ['/usr/sbin/pdns_recursor', '/usr/bin/pdns_recursor'].find((p) => existsSync(p));

let ts: TestServer | undefined;
let recursor: ChildProcess | undefined;
let recursorLog = '';
let dir: string;
let port = 0;

before(async () => {
  if (!RECURSOR) return;
  dir = mkdtempSync(join(tmpdir(), 'gslb-pdns-'));
  ts = await startTestServer({ 'zone.yaml': ZONE }, { args: ['--geoip', writeFamilyGeo(dir)] });
  port = await freePort();
  // 4.8 names (edns-subnet-allow-list since 4.5; older versions call it edns-subnet-whitelist).
  const conf = [
    'local-address=127.0.0.1',
    `local-port=${port}`,
    'daemon=no',
    'write-pid=no',
    `socket-dir=${dir}`,
    'hint-file=no', // no root servers: nothing to recurse to
    'security-poll-suffix=',
    'dont-query=', // the default forbids 127.0.0.0/8, where our server is
    'allow-from=127.0.0.0/8',
    `forward-zones=${Z}=${ts.udp.host}:${ts.udp.port}`,
    `edns-subnet-allow-list=${Z}`,
    'use-incoming-edns-subnet=yes',
    'ecs-add-for=0.0.0.0/0',
    'query-local-address=127.0.0.1', // a loopback source cannot reach anything off this host
    'dnssec=off',
    'threads=1',
    'disable-syslog=yes',
  ];
  writeFileSync(join(dir, 'recursor.conf'), conf.join('\n') + '\n');
  recursor = spawn(RECURSOR, [`--config-dir=${dir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  recursor.stdout!.on('data', (d: Buffer) => (recursorLog += d.toString()));
  recursor.stderr!.on('data', (d: Buffer) => (recursorLog += d.toString()));
  // Up when it answers (REFUSED or anything) a query; bounded wait, generous for a loaded machine.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await udpQuery({ host: '127.0.0.1', port }, { name: `ns1.other.test`, type: RRType.A, flags: 0x0100 });
      break;
    } catch {
      if (Date.now() > deadline || recursor.exitCode !== null) throw new Error(`pdns_recursor did not start:\n${recursorLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

after(async () => {
  if (recursor && recursor.exitCode === null) {
    const exited = new Promise((r) => recursor!.once('exit', r));
    recursor.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (recursor.exitCode === null && recursor.signalCode === null) recursor.kill('SIGKILL');
  }
  await ts?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** AAAA through the recursor (RD set) for a client in `subnet`/24, given as ECS. */
async function viaRecursor(subnet: string): Promise<DecodedMessage> {
  return udpQuery({ host: '127.0.0.1', port }, { name: `near.${Z}`, type: RRType.AAAA, flags: 0x0100, edns: { options: [ecsOption(subnet, 24)] } });
}
const rcodeText = (m: DecodedMessage) => (m.rcode === 0 ? 'NOERROR' : `rcode ${m.rcode}`);
const aaaa = (m: DecodedMessage) => m.answers.filter((r) => r.type === RRType.AAAA).map((r) => (r.data as { address: string }).address);

describe('through PowerDNS Recursor with ECS', () => {
  test('the issue-14 sequence: New York, Singapore, New York, Frankfurt: every client keeps its AAAA', async (t) => {
    if (!RECURSOR) return t.skip('pdns_recursor is not installed (apt-get install -y pdns-recursor)');
    const steps: { who: string; subnet: string; want: string }[] = [
      { who: 'New York', subnet: subnet24(NEW_YORK, 1), want: '2001:db8:1::1' },
      // sgp has no IPv6: answered from the nearest region with IPv6 (fra), never NODATA.
      { who: 'Singapore', subnet: subnet24(SINGAPORE, 1), want: '2001:db8:3::1' },
      { who: 'New York again', subnet: subnet24(NEW_YORK, 1), want: '2001:db8:1::1' },
      { who: 'Frankfurt', subnet: subnet24(FRANKFURT, 1), want: '2001:db8:3::1' },
      { who: 'another New York /24', subnet: subnet24(NEW_YORK, 2), want: '2001:db8:1::1' },
    ];
    // The whole sequence first, then one comparison, so a failure shows what every client got (on the old
    // code: New York's AAAA, then NODATA for Singapore and, from the recursor's cache, for everyone after).
    const got: string[] = [];
    const direct: string[] = [];
    for (const s of steps) {
      const r = await viaRecursor(s.subnet);
      got.push(`${s.who}: ${rcodeText(r)} ${aaaa(r).join(' ') || 'NODATA'}`);
      // What our server says directly for the same client.
      const d = await udpQuery(ts!.udp, { name: `near.${Z}`, type: RRType.AAAA, edns: { options: [ecsOption(s.subnet, 24)] } });
      direct.push(`${s.who}: ${rcodeText(d)} ${aaaa(d).join(' ') || 'NODATA'}`);
    }
    const want = steps.map((s) => `${s.who}: NOERROR ${s.want}`);
    assert.deepEqual(got, want, 'through the recursor');
    assert.deepEqual(direct, want, 'asked directly');
  });

  test('a service with no IPv6 anywhere: the NODATA the recursor caches lasts no longer than the service TTL', async (t) => {
    if (!RECURSOR) return t.skip('pdns_recursor is not installed (apt-get install -y pdns-recursor)');
    const r = await udpQuery({ host: '127.0.0.1', port }, { name: `v4only.${Z}`, type: RRType.AAAA, flags: 0x0100, edns: { options: [ecsOption(subnet24(NEW_YORK, 3), 24)] } });
    assert.equal(r.rcode, 0);
    assert.deepEqual(r.answers, []);
    const soa = r.authority.find((x) => x.type === RRType.SOA);
    assert.ok(soa, 'the SOA comes back in authority');
    assert.ok(soa.ttl <= 20, `negative TTL ${soa.ttl} s through the recursor > service TTL 20 s`);
  });
});

/**
 * Decisions cached by the block of client addresses they hold for (issue 10): the matched GeoIP or custom
 * network, the latency CIDR, the /24 or /56 a rotation depends on. Over real DNS: the answers and ECS scopes of
 * a table of clients are those the per-/24 cache gave (the table was recorded from it), and clients of one
 * block share one cache entry (gslb_decision_cache_entries) while other blocks get their own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, rrText, udpQuery } from './helpers/dns-client.js';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const Z = 'gslb.example.test';

const ZONE = `
${zoneHead(Z)}
regions:
  us-east:
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [ { address: 192.0.2.10 }, { address: 192.0.2.11, weight: 2 }, { address: 192.0.2.12 }, { address: "2001:db8::10" }, { address: "2001:db8::11" } ]
  eu-west:
    location: { lat: 53.35, lon: -6.26 }
    endpoints: [ { address: 198.51.100.10 }, { address: 198.51.100.11 }, { address: "2001:db8:e::1" } ]
  frankfurt:
    location: { lat: 50.11, lon: 8.68 }
    endpoints: [ { address: 198.51.100.20 } ]
  tokyo:
    location: { lat: 35.68, lon: 139.69 }
    endpoints: [ { address: 203.0.113.30 }, { address: 203.0.113.31 }, { address: "2001:db8:7::1" } ]
  cdn:
    location: { lat: 40.71, lon: -74.0 }
    endpoints: [ { address: a.cdn.example.net }, { address: b.cdn.example.net } ]
services:
  lat: { policy: latency, regions: [us-east, eu-west, frankfurt, tokyo], answers: 2 }
  geo: { policy: geo, regions: [us-east, eu-west, frankfurt, tokyo], answers: 1 }
  tol: { policy: latency, regions: [eu-west, frankfurt], tolerance: 30ms }
  all: { policy: latency, regions: [us-east, eu-west, tokyo], answers: 8 }
  cdn: { policy: geo, regions: [cdn, eu-west] }
latency:
  - { client: "81.2.69.0/24", region: frankfurt, rtt: 3 }
  - { client: "5.10.0.0/16", region: us-east, rtt: 1 }
  - { client: "5.10.20.128/25", region: tokyo, rtt: 2 }
  - { client: DE, region: eu-west, rtt: 30 }
  - { client: "continent:AS", region: eu-west, rtt: 10 }
`;

const NETWORKS = `
- { network: 100.64.0.0/16, lat: 34.69, lon: 135.5, country: JP }
- { network: 81.2.69.128/25, lat: 35.68, lon: 139.69, country: JP, continent: AS }
`;

const SUBNETS = [
  '81.2.69.0/24', '81.2.69.128/25', '81.2.69.200/32', '81.2.0.0/16', '5.10.20.0/24', '5.10.20.0/25', '5.10.20.130/32',
  '5.10.1.0/24', '5.10.2.0/24', '5.10.40.0/24', '5.10.0.0/16', '5.0.0.0/8', '8.8.8.0/24', '8.8.4.0/24', '64.0.1.0/24',
  '64.0.2.0/24', '203.0.113.0/24', '100.64.5.0/24', '100.64.0.0/12', '198.51.100.0/24', '0.0.0.0/0',
  '2001:db8:1::/48', '2001:db8:1:100::/56', '2001:db8:2:1::/64', '2001:db8:2::/32', '2001:db9::/56',
];
const SERVICES = ['lat', 'geo', 'tol', 'all', 'cdn'];

/** `service type subnet: records (in answer order) /scope`, one line per question. */
async function answerLine(ts: TestServer, service: string, type: 'A' | 'AAAA', subnet: string): Promise<string> {
  const [address, prefix] = subnet.split('/') as [string, string];
  const msg = await udpQuery(ts.udp, { name: `${service}.${Z}`, type: RRType[type], edns: { options: [ecsOption(address, Number(prefix))] } });
  const ecs = msg.edns?.options.find((o) => o.code === 8);
  const records = rrText(msg).map((r) => r.split(/\s+/).slice(3).join(' '));
  return `${service} ${type} ${subnet}: ${records.join(', ') || '-'} /${ecs?.data[3] ?? 'none'}`;
}

function sortedRecords(line: string): string {
  const m = /^(.*?): (.*) (\/\S+)$/.exec(line);
  assert.ok(m, line);
  return `${m[1]}: ${m[2]!.split(', ').sort().join(', ')} ${m[3]}`;
}

describe('decisions cached by client block', () => {
  let ts: TestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gslb-blocks-'));
    writeFileSync(join(dir, 'networks.yaml'), NETWORKS);
    ts = await startTestServer({ 'z.yaml': ZONE }, { args: ['--networks', join(dir, 'networks.yaml')] });
  });
  after(async () => {
    await ts?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers and ECS scopes for a table of clients, asked twice (the second time from the cache)', async () => {
    const lines: string[] = [];
    for (const service of SERVICES) for (const type of ['A', 'AAAA'] as const) for (const subnet of SUBNETS) lines.push(await answerLine(ts, service, type, subnet));
    if (process.env.GSLB_PRINT_ANSWERS) process.stdout.write(lines.join('\n') + '\n');
    const again: string[] = [];
    for (const service of SERVICES) for (const type of ['A', 'AAAA'] as const) for (const subnet of SUBNETS) again.push(await answerLine(ts, service, type, subnet));
    assert.deepEqual(again, lines);
    // The same records and scopes. Their order within an answer may differ where the block is wider than a /24
    // (or /56): clients of one block now share one order, where each /24 had its own.
    assert.deepEqual(lines.map(sortedRecords), EXPECTED.map(sortedRecords));
  });
});

describe('one cache entry per client block', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'z.yaml': ZONE });
  });
  after(async () => ts?.stop());

  const entries = async () => {
    const m = /^gslb_decision_cache_entries(?:\{[^}]*\})? (\S+)$/m.exec(await (await fetch(`${ts.api}/metrics`)).text());
    assert.ok(m, 'gslb_decision_cache_entries in /metrics');
    return Number(m[1]);
  };

  test('two /24s in one GeoIP block share an entry; a /24 of another block, or of another service, has its own', async () => {
    // In the fixture database 5.10.0.0/16 is one record with 5.10.20.0/24 carved out, so 5.10.1.0/24 and
    // 5.10.2.0/24 lie in its block 5.10.0.0/20 and 5.10.40.0/24 in 5.10.32.0/19. `all` answers every endpoint
    // (nothing rotates per /24), so its decisions hold for those whole blocks.
    const asked: [string, string, number][] = [];
    const ask = async (service: string, subnet: string) => {
      const line = await answerLine(ts, service, 'A', subnet);
      asked.push([line, subnet, await entries()]);
      return line;
    };
    const first = await ask('all', '5.10.1.0/24');
    const second = await ask('all', '5.10.2.0/24');
    await ask('all', '5.10.40.0/24');
    await ask('all', '8.8.8.0/24');
    await ask('geo', '5.10.3.0/24');
    assert.deepEqual(
      asked.map(([, subnet, n]) => [subnet, n]),
      [
        ['5.10.1.0/24', 1],
        ['5.10.2.0/24', 1],
        ['5.10.40.0/24', 2],
        ['8.8.8.0/24', 3],
        ['5.10.3.0/24', 4],
      ],
    );
    // One decision: the same records in the same order, with the block as the ECS scope.
    assert.equal(second.replace('5.10.2.0', '5.10.1.0'), first);
    assert.match(first, /\/20$/);
    assert.match(asked[2]![0], /\/19$/);
  });
});

/**
 * Recorded from the per-/24 decision cache this one replaced, then re-recorded when endpoint and tolerance
 * choices became rendezvous hashing (issue 12): every scope stayed; only which endpoints (and, in `tol`,
 * which of the two shared regions) a block gets changed. GSLB_PRINT_ANSWERS=1 prints the current table.
 */
const EXPECTED = [
  'lat A 81.2.69.0/24: 198.51.100.20 /24',
  'lat A 81.2.69.128/25: 198.51.100.20 /25',
  'lat A 81.2.69.200/32: 198.51.100.20 /25',
  'lat A 81.2.0.0/16: 192.0.2.11, 192.0.2.10 /16',
  'lat A 5.10.20.0/24: 192.0.2.12, 192.0.2.11 /24',
  'lat A 5.10.20.0/25: 192.0.2.12, 192.0.2.11 /25',
  'lat A 5.10.20.130/32: 192.0.2.12, 192.0.2.11 /25',
  'lat A 5.10.1.0/24: 192.0.2.12, 192.0.2.10 /24',
  'lat A 5.10.2.0/24: 192.0.2.12, 192.0.2.10 /24',
  'lat A 5.10.40.0/24: 192.0.2.11, 192.0.2.12 /24',
  'lat A 5.10.0.0/16: 192.0.2.10, 192.0.2.12 /16',
  'lat A 5.0.0.0/8: 192.0.2.11, 192.0.2.12 /8',
  'lat A 8.8.8.0/24: 192.0.2.11, 192.0.2.10 /24',
  'lat A 8.8.4.0/24: 192.0.2.12, 192.0.2.11 /24',
  'lat A 64.0.1.0/24: 192.0.2.12, 192.0.2.10 /24',
  'lat A 64.0.2.0/24: 192.0.2.10, 192.0.2.11 /24',
  'lat A 203.0.113.0/24: 203.0.113.30, 203.0.113.31 /24',
  'lat A 100.64.5.0/24: 198.51.100.10, 198.51.100.11 /16',
  'lat A 100.64.0.0/12: 192.0.2.10, 192.0.2.11 /12',
  'lat A 198.51.100.0/24: 192.0.2.10, 192.0.2.11 /24',
  'lat A 0.0.0.0/0: 192.0.2.11, 192.0.2.12 /0',
  'lat A 2001:db8:1::/48: 203.0.113.30, 203.0.113.31 /48',
  'lat A 2001:db8:1:100::/56: 203.0.113.30, 203.0.113.31 /48',
  'lat A 2001:db8:2:1::/64: 198.51.100.11, 198.51.100.10 /48',
  'lat A 2001:db8:2::/32: 192.0.2.11, 192.0.2.12 /32',
  'lat A 2001:db9::/56: 192.0.2.11, 192.0.2.12 /56',
  'lat AAAA 81.2.69.0/24: 2001:db8:e::1 /24',
  'lat AAAA 81.2.69.128/25: 2001:db8:7::1 /25',
  'lat AAAA 81.2.69.200/32: 2001:db8:7::1 /25',
  'lat AAAA 81.2.0.0/16: 2001:db8::10, 2001:db8::11 /16',
  'lat AAAA 5.10.20.0/24: 2001:db8::10, 2001:db8::11 /24',
  'lat AAAA 5.10.20.0/25: 2001:db8::10, 2001:db8::11 /25',
  'lat AAAA 5.10.20.130/32: 2001:db8::10, 2001:db8::11 /25',
  'lat AAAA 5.10.1.0/24: 2001:db8::10, 2001:db8::11 /20',
  'lat AAAA 5.10.2.0/24: 2001:db8::10, 2001:db8::11 /20',
  'lat AAAA 5.10.40.0/24: 2001:db8::10, 2001:db8::11 /19',
  'lat AAAA 5.10.0.0/16: 2001:db8::11, 2001:db8::10 /16',
  'lat AAAA 5.0.0.0/8: 2001:db8::10, 2001:db8::11 /8',
  'lat AAAA 8.8.8.0/24: 2001:db8::10, 2001:db8::11 /24',
  'lat AAAA 8.8.4.0/24: 2001:db8::11, 2001:db8::10 /21',
  'lat AAAA 64.0.1.0/24: 2001:db8::11, 2001:db8::10 /16',
  'lat AAAA 64.0.2.0/24: 2001:db8::11, 2001:db8::10 /16',
  'lat AAAA 203.0.113.0/24: 2001:db8:7::1 /24',
  'lat AAAA 100.64.5.0/24: 2001:db8:e::1 /16',
  'lat AAAA 100.64.0.0/12: 2001:db8::10, 2001:db8::11 /12',
  'lat AAAA 198.51.100.0/24: 2001:db8::10, 2001:db8::11 /5',
  'lat AAAA 0.0.0.0/0: 2001:db8::10, 2001:db8::11 /0',
  'lat AAAA 2001:db8:1::/48: 2001:db8:7::1 /48',
  'lat AAAA 2001:db8:1:100::/56: 2001:db8:7::1 /48',
  'lat AAAA 2001:db8:2:1::/64: 2001:db8:e::1 /48',
  'lat AAAA 2001:db8:2::/32: 2001:db8::10, 2001:db8::11 /32',
  'lat AAAA 2001:db9::/56: 2001:db8::10, 2001:db8::11 /32',
  'geo A 81.2.69.0/24: 198.51.100.10 /24',
  'geo A 81.2.69.128/25: 203.0.113.30 /25',
  'geo A 81.2.69.200/32: 203.0.113.30 /25',
  'geo A 81.2.0.0/16: 192.0.2.12 /16',
  'geo A 5.10.20.0/24: 198.51.100.20 /24',
  'geo A 5.10.20.0/25: 198.51.100.20 /24',
  'geo A 5.10.20.130/32: 198.51.100.20 /24',
  'geo A 5.10.1.0/24: 198.51.100.20 /20',
  'geo A 5.10.2.0/24: 198.51.100.20 /20',
  'geo A 5.10.40.0/24: 198.51.100.20 /19',
  'geo A 5.10.0.0/16: 198.51.100.20 /16',
  'geo A 5.0.0.0/8: 192.0.2.10 /8',
  'geo A 8.8.8.0/24: 192.0.2.10 /24',
  'geo A 8.8.4.0/24: 192.0.2.11 /24',
  'geo A 64.0.1.0/24: 192.0.2.10 /24',
  'geo A 64.0.2.0/24: 192.0.2.11 /24',
  'geo A 203.0.113.0/24: 203.0.113.30 /24',
  'geo A 100.64.5.0/24: 203.0.113.30 /24',
  'geo A 100.64.0.0/12: 192.0.2.11 /12',
  'geo A 198.51.100.0/24: 192.0.2.11 /24',
  'geo A 0.0.0.0/0: 192.0.2.11 /0',
  'geo A 2001:db8:1::/48: 203.0.113.31 /48',
  'geo A 2001:db8:1:100::/56: 203.0.113.31 /56',
  'geo A 2001:db8:2:1::/64: 198.51.100.11 /56',
  'geo A 2001:db8:2::/32: 192.0.2.11 /32',
  'geo A 2001:db9::/56: 192.0.2.11 /56',
  'geo AAAA 81.2.69.0/24: 2001:db8:e::1 /24',
  'geo AAAA 81.2.69.128/25: 2001:db8:7::1 /25',
  'geo AAAA 81.2.69.200/32: 2001:db8:7::1 /25',
  'geo AAAA 81.2.0.0/16: 2001:db8::11 /16',
  'geo AAAA 5.10.20.0/24: 2001:db8:e::1 /24',
  'geo AAAA 5.10.20.0/25: 2001:db8:e::1 /24',
  'geo AAAA 5.10.20.130/32: 2001:db8:e::1 /24',
  'geo AAAA 5.10.1.0/24: 2001:db8:e::1 /20',
  'geo AAAA 5.10.2.0/24: 2001:db8:e::1 /20',
  'geo AAAA 5.10.40.0/24: 2001:db8:e::1 /19',
  'geo AAAA 5.10.0.0/16: 2001:db8:e::1 /16',
  'geo AAAA 5.0.0.0/8: 2001:db8::10 /8',
  'geo AAAA 8.8.8.0/24: 2001:db8::10 /24',
  'geo AAAA 8.8.4.0/24: 2001:db8::11 /24',
  'geo AAAA 64.0.1.0/24: 2001:db8::10 /24',
  'geo AAAA 64.0.2.0/24: 2001:db8::10 /24',
  'geo AAAA 203.0.113.0/24: 2001:db8:7::1 /24',
  'geo AAAA 100.64.5.0/24: 2001:db8:7::1 /16',
  'geo AAAA 100.64.0.0/12: 2001:db8::10 /12',
  'geo AAAA 198.51.100.0/24: 2001:db8::11 /24',
  'geo AAAA 0.0.0.0/0: 2001:db8::11 /0',
  'geo AAAA 2001:db8:1::/48: 2001:db8:7::1 /48',
  'geo AAAA 2001:db8:1:100::/56: 2001:db8:7::1 /48',
  'geo AAAA 2001:db8:2:1::/64: 2001:db8:e::1 /48',
  'geo AAAA 2001:db8:2::/32: 2001:db8::11 /32',
  'geo AAAA 2001:db9::/56: 2001:db8::10 /56',
  'tol A 81.2.69.0/24: 198.51.100.11, 198.51.100.10 /24',
  'tol A 81.2.69.128/25: 198.51.100.11, 198.51.100.10 /25',
  'tol A 81.2.69.200/32: 198.51.100.11, 198.51.100.10 /25',
  'tol A 81.2.0.0/16: 198.51.100.11, 198.51.100.10 /16',
  'tol A 5.10.20.0/24: 198.51.100.20 /24',
  'tol A 5.10.20.0/25: 198.51.100.20 /25',
  'tol A 5.10.20.130/32: 198.51.100.20 /25',
  'tol A 5.10.1.0/24: 198.51.100.11, 198.51.100.10 /24',
  'tol A 5.10.2.0/24: 198.51.100.20 /24',
  'tol A 5.10.40.0/24: 198.51.100.20 /24',
  'tol A 5.10.0.0/16: 198.51.100.20 /16',
  'tol A 5.0.0.0/8: 198.51.100.10, 198.51.100.11 /8',
  'tol A 8.8.8.0/24: 198.51.100.20 /24',
  'tol A 8.8.4.0/24: 198.51.100.10, 198.51.100.11 /21',
  'tol A 64.0.1.0/24: 198.51.100.11, 198.51.100.10 /24',
  'tol A 64.0.2.0/24: 198.51.100.10, 198.51.100.11 /24',
  'tol A 203.0.113.0/24: 198.51.100.20 /24',
  'tol A 100.64.5.0/24: 198.51.100.10, 198.51.100.11 /16',
  'tol A 100.64.0.0/12: 198.51.100.10, 198.51.100.11 /12',
  'tol A 198.51.100.0/24: 198.51.100.11, 198.51.100.10 /5',
  'tol A 0.0.0.0/0: 198.51.100.10, 198.51.100.11 /0',
  'tol A 2001:db8:1::/48: 198.51.100.11, 198.51.100.10 /48',
  'tol A 2001:db8:1:100::/56: 198.51.100.11, 198.51.100.10 /48',
  'tol A 2001:db8:2:1::/64: 198.51.100.10, 198.51.100.11 /56',
  'tol A 2001:db8:2::/32: 198.51.100.10, 198.51.100.11 /32',
  'tol A 2001:db9::/56: 198.51.100.11, 198.51.100.10 /32',
  'tol AAAA 81.2.69.0/24: 2001:db8:e::1 /24',
  'tol AAAA 81.2.69.128/25: 2001:db8:e::1 /25',
  'tol AAAA 81.2.69.200/32: 2001:db8:e::1 /25',
  'tol AAAA 81.2.0.0/16: 2001:db8:e::1 /16',
  'tol AAAA 5.10.20.0/24: 2001:db8:e::1 /24',
  'tol AAAA 5.10.20.0/25: 2001:db8:e::1 /25',
  'tol AAAA 5.10.20.130/32: 2001:db8:e::1 /25',
  'tol AAAA 5.10.1.0/24: 2001:db8:e::1 /20',
  'tol AAAA 5.10.2.0/24: 2001:db8:e::1 /20',
  'tol AAAA 5.10.40.0/24: 2001:db8:e::1 /19',
  'tol AAAA 5.10.0.0/16: 2001:db8:e::1 /16',
  'tol AAAA 5.0.0.0/8: 2001:db8:e::1 /8',
  'tol AAAA 8.8.8.0/24: 2001:db8:e::1 /24',
  'tol AAAA 8.8.4.0/24: 2001:db8:e::1 /21',
  'tol AAAA 64.0.1.0/24: 2001:db8:e::1 /16',
  'tol AAAA 64.0.2.0/24: 2001:db8:e::1 /16',
  'tol AAAA 203.0.113.0/24: 2001:db8:e::1 /24',
  'tol AAAA 100.64.5.0/24: 2001:db8:e::1 /16',
  'tol AAAA 100.64.0.0/12: 2001:db8:e::1 /12',
  'tol AAAA 198.51.100.0/24: 2001:db8:e::1 /5',
  'tol AAAA 0.0.0.0/0: 2001:db8:e::1 /0',
  'tol AAAA 2001:db8:1::/48: 2001:db8:e::1 /48',
  'tol AAAA 2001:db8:1:100::/56: 2001:db8:e::1 /48',
  'tol AAAA 2001:db8:2:1::/64: 2001:db8:e::1 /48',
  'tol AAAA 2001:db8:2::/32: 2001:db8:e::1 /32',
  'tol AAAA 2001:db9::/56: 2001:db8:e::1 /32',
  'all A 81.2.69.0/24: 198.51.100.10, 198.51.100.11 /24',
  'all A 81.2.69.128/25: 203.0.113.31, 203.0.113.30 /25',
  'all A 81.2.69.200/32: 203.0.113.31, 203.0.113.30 /25',
  'all A 81.2.0.0/16: 192.0.2.12, 192.0.2.11, 192.0.2.10 /16',
  'all A 5.10.20.0/24: 192.0.2.11, 192.0.2.10, 192.0.2.12 /24',
  'all A 5.10.20.0/25: 192.0.2.11, 192.0.2.10, 192.0.2.12 /25',
  'all A 5.10.20.130/32: 192.0.2.11, 192.0.2.10, 192.0.2.12 /25',
  'all A 5.10.1.0/24: 192.0.2.11, 192.0.2.12, 192.0.2.10 /20',
  'all A 5.10.2.0/24: 192.0.2.11, 192.0.2.12, 192.0.2.10 /20',
  'all A 5.10.40.0/24: 192.0.2.10, 192.0.2.12, 192.0.2.11 /19',
  'all A 5.10.0.0/16: 192.0.2.11, 192.0.2.12, 192.0.2.10 /16',
  'all A 5.0.0.0/8: 192.0.2.12, 192.0.2.11, 192.0.2.10 /8',
  'all A 8.8.8.0/24: 192.0.2.11, 192.0.2.10, 192.0.2.12 /24',
  'all A 8.8.4.0/24: 192.0.2.10, 192.0.2.11, 192.0.2.12 /21',
  'all A 64.0.1.0/24: 192.0.2.11, 192.0.2.10, 192.0.2.12 /16',
  'all A 64.0.2.0/24: 192.0.2.11, 192.0.2.10, 192.0.2.12 /16',
  'all A 203.0.113.0/24: 203.0.113.31, 203.0.113.30 /24',
  'all A 100.64.5.0/24: 198.51.100.10, 198.51.100.11 /16',
  'all A 100.64.0.0/12: 192.0.2.11, 192.0.2.10, 192.0.2.12 /12',
  'all A 198.51.100.0/24: 192.0.2.10, 192.0.2.11, 192.0.2.12 /5',
  'all A 0.0.0.0/0: 192.0.2.11, 192.0.2.10, 192.0.2.12 /0',
  'all A 2001:db8:1::/48: 203.0.113.30, 203.0.113.31 /48',
  'all A 2001:db8:1:100::/56: 203.0.113.30, 203.0.113.31 /48',
  'all A 2001:db8:2:1::/64: 198.51.100.11, 198.51.100.10 /48',
  'all A 2001:db8:2::/32: 192.0.2.10, 192.0.2.11, 192.0.2.12 /32',
  'all A 2001:db9::/56: 192.0.2.11, 192.0.2.12, 192.0.2.10 /32',
  'all AAAA 81.2.69.0/24: 2001:db8:e::1 /24',
  'all AAAA 81.2.69.128/25: 2001:db8:7::1 /25',
  'all AAAA 81.2.69.200/32: 2001:db8:7::1 /25',
  'all AAAA 81.2.0.0/16: 2001:db8::10, 2001:db8::11 /16',
  'all AAAA 5.10.20.0/24: 2001:db8::10, 2001:db8::11 /24',
  'all AAAA 5.10.20.0/25: 2001:db8::10, 2001:db8::11 /25',
  'all AAAA 5.10.20.130/32: 2001:db8::10, 2001:db8::11 /25',
  'all AAAA 5.10.1.0/24: 2001:db8::10, 2001:db8::11 /20',
  'all AAAA 5.10.2.0/24: 2001:db8::10, 2001:db8::11 /20',
  'all AAAA 5.10.40.0/24: 2001:db8::10, 2001:db8::11 /19',
  'all AAAA 5.10.0.0/16: 2001:db8::11, 2001:db8::10 /16',
  'all AAAA 5.0.0.0/8: 2001:db8::11, 2001:db8::10 /8',
  'all AAAA 8.8.8.0/24: 2001:db8::10, 2001:db8::11 /24',
  'all AAAA 8.8.4.0/24: 2001:db8::10, 2001:db8::11 /21',
  'all AAAA 64.0.1.0/24: 2001:db8::10, 2001:db8::11 /16',
  'all AAAA 64.0.2.0/24: 2001:db8::10, 2001:db8::11 /16',
  'all AAAA 203.0.113.0/24: 2001:db8:7::1 /24',
  'all AAAA 100.64.5.0/24: 2001:db8:e::1 /16',
  'all AAAA 100.64.0.0/12: 2001:db8::10, 2001:db8::11 /12',
  'all AAAA 198.51.100.0/24: 2001:db8::11, 2001:db8::10 /5',
  'all AAAA 0.0.0.0/0: 2001:db8::10, 2001:db8::11 /0',
  'all AAAA 2001:db8:1::/48: 2001:db8:7::1 /48',
  'all AAAA 2001:db8:1:100::/56: 2001:db8:7::1 /48',
  'all AAAA 2001:db8:2:1::/64: 2001:db8:e::1 /48',
  'all AAAA 2001:db8:2::/32: 2001:db8::11, 2001:db8::10 /32',
  'all AAAA 2001:db9::/56: 2001:db8::10, 2001:db8::11 /32',
  'cdn A 81.2.69.0/24: 198.51.100.10, 198.51.100.11 /24',
  'cdn A 81.2.69.128/25: 198.51.100.10, 198.51.100.11 /25',
  'cdn A 81.2.69.200/32: 198.51.100.10, 198.51.100.11 /25',
  'cdn A 81.2.0.0/16: b.cdn.example.net /16',
  'cdn A 5.10.20.0/24: 198.51.100.10, 198.51.100.11 /24',
  'cdn A 5.10.20.0/25: 198.51.100.10, 198.51.100.11 /24',
  'cdn A 5.10.20.130/32: 198.51.100.10, 198.51.100.11 /24',
  'cdn A 5.10.1.0/24: 198.51.100.10, 198.51.100.11 /20',
  'cdn A 5.10.2.0/24: 198.51.100.10, 198.51.100.11 /20',
  'cdn A 5.10.40.0/24: 198.51.100.10, 198.51.100.11 /19',
  'cdn A 5.10.0.0/16: 198.51.100.10, 198.51.100.11 /16',
  'cdn A 5.0.0.0/8: b.cdn.example.net /8',
  'cdn A 8.8.8.0/24: b.cdn.example.net /24',
  'cdn A 8.8.4.0/24: a.cdn.example.net /24',
  'cdn A 64.0.1.0/24: a.cdn.example.net /24',
  'cdn A 64.0.2.0/24: b.cdn.example.net /24',
  'cdn A 203.0.113.0/24: 198.51.100.10, 198.51.100.11 /24',
  'cdn A 100.64.5.0/24: 198.51.100.11, 198.51.100.10 /16',
  'cdn A 100.64.0.0/12: a.cdn.example.net /12',
  'cdn A 198.51.100.0/24: b.cdn.example.net /24',
  'cdn A 0.0.0.0/0: a.cdn.example.net /0',
  'cdn A 2001:db8:1::/48: 198.51.100.10, 198.51.100.11 /48',
  'cdn A 2001:db8:1:100::/56: 198.51.100.10, 198.51.100.11 /48',
  'cdn A 2001:db8:2:1::/64: 198.51.100.11, 198.51.100.10 /48',
  'cdn A 2001:db8:2::/32: b.cdn.example.net /32',
  'cdn A 2001:db9::/56: a.cdn.example.net /56',
  'cdn AAAA 81.2.69.0/24: 2001:db8:e::1 /24',
  'cdn AAAA 81.2.69.128/25: 2001:db8:e::1 /25',
  'cdn AAAA 81.2.69.200/32: 2001:db8:e::1 /25',
  'cdn AAAA 81.2.0.0/16: b.cdn.example.net /16',
  'cdn AAAA 5.10.20.0/24: 2001:db8:e::1 /24',
  'cdn AAAA 5.10.20.0/25: 2001:db8:e::1 /24',
  'cdn AAAA 5.10.20.130/32: 2001:db8:e::1 /24',
  'cdn AAAA 5.10.1.0/24: 2001:db8:e::1 /20',
  'cdn AAAA 5.10.2.0/24: 2001:db8:e::1 /20',
  'cdn AAAA 5.10.40.0/24: 2001:db8:e::1 /19',
  'cdn AAAA 5.10.0.0/16: 2001:db8:e::1 /16',
  'cdn AAAA 5.0.0.0/8: b.cdn.example.net /8',
  'cdn AAAA 8.8.8.0/24: b.cdn.example.net /24',
  'cdn AAAA 8.8.4.0/24: a.cdn.example.net /24',
  'cdn AAAA 64.0.1.0/24: a.cdn.example.net /24',
  'cdn AAAA 64.0.2.0/24: b.cdn.example.net /24',
  'cdn AAAA 203.0.113.0/24: 2001:db8:e::1 /24',
  'cdn AAAA 100.64.5.0/24: 2001:db8:e::1 /16',
  'cdn AAAA 100.64.0.0/12: a.cdn.example.net /12',
  'cdn AAAA 198.51.100.0/24: b.cdn.example.net /24',
  'cdn AAAA 0.0.0.0/0: a.cdn.example.net /0',
  'cdn AAAA 2001:db8:1::/48: 2001:db8:e::1 /48',
  'cdn AAAA 2001:db8:1:100::/56: 2001:db8:e::1 /48',
  'cdn AAAA 2001:db8:2:1::/64: 2001:db8:e::1 /48',
  'cdn AAAA 2001:db8:2::/32: b.cdn.example.net /32',
  'cdn AAAA 2001:db9::/56: a.cdn.example.net /56',
];

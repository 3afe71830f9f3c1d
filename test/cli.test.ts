/** The `gslb` command as users run it: check, serve, signals, and kdig as an independent DNS client. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rrText, udpQuery } from './helpers/dns-client.js';
import { runCli, runCliAsync, startServe, type ServeProcess } from './helpers/process.js';
import { writeGeoFixture } from './helpers/geo-fixture.js';
import { EXAMPLE_ZONE } from './helpers/server.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gslb-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function zonesDir(files: Record<string, string>): string {
  const d = mkdtempSync(join(dir, 'zones-'));
  for (const [f, t] of Object.entries(files)) writeFileSync(join(d, f), t);
  return d;
}

describe('gslb check', () => {
  test('exit 0 and a summary for valid zones', () => {
    const r = runCli(['check', '--zones', zonesDir({ 'example.yaml': EXAMPLE_ZONE })]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok: 1 zone\(s\) \(gslb\.example\.test\), 4 region\(s\), 3 service\(s\) in 1 file\(s\)/);
  });

  test('exit 1 and file:line: message for every error, across files', () => {
    const d = zonesDir({
      'a.yaml': 'zone: a.test\nsoa: { mname: ns1, rname: h.a.test., serial: 1 }\nns: [ns1.other.test.]\nrecords:\n  www: { A: [10.0.0.300] }\n',
      'b.yaml': 'zone: b.test\nsoa: { mname: ns1, rname: h.b.test., serial: 1 }\nns: [ns1.other.test.]\nservices:\n  app: { policy: nearest, regions: [nowhere] }\n',
    });
    const r = runCli(['check', '--zones', d]);
    assert.equal(r.status, 1);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines, [
      `${join(d, 'a.yaml')}:5: records.www.A[0]: "10.0.0.300" is not an IPv4 address`,
      `${join(d, 'b.yaml')}:5: services.app.policy: unknown policy "nearest" (one of: latency, geo, weighted, failover)`,
      `${join(d, 'b.yaml')}:5: service app.b.test: region "nowhere" is not declared in any zone file`,
    ]);
  });

  test('GSLB_ZONES is read when --zones is absent', () => {
    const r = runCli(['check'], { GSLB_ZONES: zonesDir({ 'example.yaml': EXAMPLE_ZONE }) });
    assert.equal(r.status, 0, r.stderr);
  });

  test('bad flags are usage errors (exit 2) that name the flag', () => {
    const r = runCli(['serve', '--dns', 'not-an-address']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--dns: "not-an-address" is not HOST:PORT/);
    const u = runCli(['serve', '--frobnicate', 'x']);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown option --frobnicate/);
    assert.equal(runCli(['serve', '--help']).status, 0);
  });

  test('serve refuses to start on invalid zones, printing file:line', () => {
    const d = zonesDir({ 'a.yaml': 'zone: a.test\nsoa: 12\n' });
    const r = runCli(['serve', '--zones', d, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /a\.yaml:2: soa: must be a mapping/);
  });
});

describe('gslb serve', () => {
  let srv: ServeProcess;
  let zones: string;
  before(async () => {
    zones = zonesDir({ 'example.yaml': EXAMPLE_ZONE });
    srv = await startServe([
      '--zones', zones, '--dns', '127.0.0.1:0,[::1]:0', '--api', '127.0.0.1:0', '--node-id', 'cli-node', '--data', join(dir, 'data'),
      '--geoip', writeGeoFixture(dir),
    ]);
  });
  after(async () => {
    await srv.stop('SIGKILL');
  });

  test('listens on IPv4 and IPv6, UDP and TCP, and serves the API', async () => {
    assert.equal(srv.dnsPorts.length, 2);
    const r = await udpQuery({ host: '127.0.0.1', port: srv.dnsPorts[0]! }, { name: 'app.gslb.example.test' });
    assert.equal(r.answers.length, 2);
    const r6 = await udpQuery({ host: '::1', port: srv.dnsPorts[1]! }, { name: 'app.gslb.example.test' });
    assert.equal(r6.answers.length, 2);
    const health = await fetch(`http://127.0.0.1:${srv.apiPort}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
  });

  test('kdig, an independent client, gets authoritative answers with ECS echoed and NSID over UDP and TCP', () => {
    const port = String(srv.dnsPorts[0]);
    for (const transport of ['+notcp', '+tcp']) {
      const r = spawnSync('kdig', ['@127.0.0.1', '-p', port, transport, '+norec', '+nsid', '+subnet=81.2.69.0/24', 'app.gslb.example.test', 'A'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, `kdig must be installed (knot-dnsutils): ${r.error?.message ?? r.stderr}`);
      assert.match(r.stdout, /status: NOERROR/);
      assert.match(r.stdout, /Flags: qr aa;/);
      assert.match(r.stdout, /NSID: 636c692d6e6f6465 "cli-node"/i);
      // London is nearest to eu-west; the fixture locates the whole /24, so the scope is 24.
      assert.match(r.stdout, /CLIENT-SUBNET: 81\.2\.69\.0\/24\/24/);
      assert.match(r.stdout, /app\.gslb\.example\.test\.\s+30\s+IN\s+A\s+198\.51\.100\.10/);
    }
    const nx = spawnSync('kdig', ['@127.0.0.1', '-p', port, 'nope.gslb.example.test', 'A'], { encoding: 'utf8', timeout: 10_000 });
    assert.match(nx.stdout, /status: NXDOMAIN/);
    assert.match(nx.stdout, /gslb\.example\.test\.\s+60\s+IN\s+SOA/);
  });

  test('gslb explain prints the decision (table by default, JSON with --json) and names bad input', async () => {
    const api = `http://127.0.0.1:${srv.apiPort}`;
    const human = await runCliAsync(['explain', 'app.gslb.example.test', '--ecs', '81.2.69.0/24', '--api', api]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /app\.gslb\.example\.test A for ECS subnet 81\.2\.69\.0\/24: GB, EU \(51\.51, -0\.13\) from mmdb fixture\.mmdb, \/24/);
    assert.match(human.stdout, /\*\s+eu-west\s+up\s+\d+(\.\d)? ms/);
    // Per-family eligibility: eu-west has IPv4 only, us-east both.
    assert.match(human.stdout, /eu-west .*\bup\/none$/m);
    assert.match(human.stdout, /us-east .*\bup\/up$/m);
    assert.match(human.stdout, /answer: NOERROR from eu-west: 198\.51\.100\.10, ttl 30, ECS scope \/24/);
    const json = await runCliAsync(['explain', 'app.gslb.example.test', '--type', 'AAAA', '--client', '81.2.69.1', '--api', api, '--json']);
    assert.equal(json.status, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { answer: { region: string; addresses: string[] }; candidates: unknown[] };
    // eu-west (nearest) has no IPv6 endpoint, so it is no candidate for AAAA: us-east answers.
    assert.equal(doc.answer.region, 'us-east');
    assert.deepEqual(doc.answer.addresses, ['2001:db8::10']);
    assert.equal(doc.candidates.length, 2);
    const bad = await runCliAsync(['explain', 'app.gslb.example.test', '--ecs', 'nonsense', '--api', api]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /is not a subnet like 198\.51\.100\.0\/24 \(ecs\)/);
    const down = await runCliAsync(['explain', 'app.gslb.example.test', '--client', '1.2.3.4', '--api', 'http://127.0.0.1:1']);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /cannot reach/);
  });

  test('SIGHUP reloads the zone files', async () => {
    writeFileSync(join(zones, 'example.yaml'), EXAMPLE_ZONE.replace('192.0.2.53', '192.0.2.153'));
    srv.child.kill('SIGHUP');
    await srv.waitForLog((l) => l.msg === 'zones reloaded' && l.trigger === 'SIGHUP');
    const r = await udpQuery({ host: '127.0.0.1', port: srv.dnsPorts[0]! }, { name: 'ns1.gslb.example.test' });
    assert.deepEqual(rrText(r), ['ns1.gslb.example.test 300 1 192.0.2.153']);
  });

  test('SIGTERM stops it with exit code 0', async () => {
    const other = await startServe(['--zones', zones, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', join(dir, 'data2')]);
    assert.equal(await other.stop('SIGTERM'), 0);
  });
});

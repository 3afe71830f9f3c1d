/**
 * Signed answers through a real validating resolver (unbound): the zone is a stub zone of unbound pointing at
 * our server, its DNSKEY (as `gslb dnssec ds` prints it) the trust anchor; unbound has no root hints and sends
 * to loopback only. Every answer must come back with AD: static, steered (two regions, and again after the
 * chosen region is drained), a CNAME endpoint, a missing name, NODATA, DNSKEY. A second server with another key
 * behind the same anchor must give SERVFAIL, so the AD answers prove validation. unbound caches nothing here
 * (cache-max-ttl 0), so each query is validated against what the server answers now.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RRType } from '../src/wire/constants.js';
import type { DecodedMessage } from '../src/wire/decode.js';
import { runCliAsync } from './helpers/process.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { resolveVia as resolve, SKIP_UNBOUND as SKIP, startUnbound as startZoneUnbound, type Unbound } from './helpers/unbound.js';

const DELV = '/usr/bin/delv';
const SKIP_DELV = existsSync(DELV) ? SKIP : `${DELV} is missing (apt-get install -y bind9-dnsutils)`;
const Z = 'val.example.test';
const ZONE = `
zone: ${Z}
ttl: 300
dnssec: { algorithm: ECDSAP256SHA256 }
soa: { mname: ns1.${Z}, rname: hostmaster.${Z}, serial: 1, minimum: 60 }
ns: [ns1.${Z}]
records:
  ns1: { A: [192.0.2.53] }
  "@": { TXT: ["signed"], MX: ["10 mail"] }
  mail: { A: [192.0.2.25], AAAA: ["2001:db8::25"] }
  _https._tcp: { SRV: ["10 5 443 edge"] }
  edge: { A: [192.0.2.80] }
  "*.wild": { A: [192.0.2.99] }
regions:
  first:  { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 192.0.2.10 } ] }
  second: { location: { lat: 53.35, lon: -6.26 }, endpoints: [ { address: 198.51.100.10 } ] }
  cdn:    { location: { lat: 1.35, lon: 103.82 }, endpoints: [ { address: edge.${Z} } ] }
services:
  app: { policy: failover, regions: [first, second], ttl: 30 }
  via-cdn: { policy: failover, regions: [cdn], ttl: 30 }
`;

const addresses = (m: DecodedMessage) => m.answers.filter((a) => a.type === RRType.A).map((a) => (a.data as { address: string }).address);

const dirs: string[] = [];
const startUnbound = (anchor: string, server: TestServer) => startZoneUnbound(Z, anchor, server.udp);

let ts: TestServer | undefined;
let other: TestServer | undefined;
let unbound: Unbound | undefined;
/** Returns the additional section too; it keeps only what validated there (val-clean-additional, the default). */
let full: Unbound | undefined;
let tampered: Unbound | undefined;
let anchor = '';

before(async () => {
  if (SKIP && SKIP_DELV) return;
  ts = await startTestServer({ 'zone.yaml': ZONE });
  const ds = await runCliAsync(['dnssec', 'ds', Z, '--api', ts.api]);
  assert.equal(ds.status, 0, ds.stderr);
  // The DNSKEY line of `gslb dnssec ds` is the trust anchor (a DS line would do as well).
  anchor = ds.stdout.split('\n').find((l) => / IN DNSKEY /.test(l))!;
  unbound = await startUnbound(anchor, ts);
  full = await startZoneUnbound(Z, anchor, ts.udp, ['minimal-responses: no']);
  // The same zone with a key of its own (its own data directory), behind the first server's anchor.
  other = await startTestServer({ 'zone.yaml': ZONE });
  tampered = await startUnbound(anchor, other);
});

after(async () => {
  await unbound?.stop();
  await full?.stop();
  await tampered?.stop();
  await ts?.stop();
  await other?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('through unbound, validating', { skip: SKIP }, () => {
  test('every kind of answer validates (AD)', async () => {
    const cases: [string, number, (m: DecodedMessage) => void][] = [
      [Z, RRType.TXT, (m) => assert.ok(m.answers.some((a) => a.type === RRType.TXT))],
      [`app.${Z}`, RRType.A, (m) => assert.deepEqual(addresses(m), ['192.0.2.10'])],
      [`via-cdn.${Z}`, RRType.A, (m) => assert.deepEqual(addresses(m), ['192.0.2.80'], 'the CNAME to the endpoint, then its A')],
      [`x.wild.${Z}`, RRType.A, (m) => assert.deepEqual(addresses(m), ['192.0.2.99'])],
      [`nope.${Z}`, RRType.A, (m) => assert.deepEqual(m.answers, [])],
      [`ns1.${Z}`, RRType.TXT, (m) => assert.deepEqual(m.answers, [])],
      [`app.${Z}`, RRType.AAAA, (m) => assert.deepEqual(m.answers, [])],
      [Z, RRType.DNSKEY, (m) => assert.ok(m.answers.some((a) => a.type === RRType.DNSKEY))],
      [Z, RRType.CDS, (m) => assert.ok(m.answers.some((a) => a.type === RRType.CDS))],
    ];
    const failures: string[] = [];
    for (const [name, type, check] of cases) {
      const { msg, ad } = await resolve(unbound!, name, type);
      if (msg.rcode !== 0 || !ad) failures.push(`${name} type ${type}: rcode ${msg.rcode}, AD ${ad}`);
      else check(msg);
    }
    assert.deepEqual(failures, [], `unbound log:\n${unbound!.log()}`);
  });

  test('MX and SRV answers carry their in-zone targets\' addresses, signed: unbound validates and keeps them', async () => {
    for (const [name, type, target, want] of [
      [Z, RRType.MX, `mail.${Z}`, ['192.0.2.25', '2001:db8::25']],
      [`_https._tcp.${Z}`, RRType.SRV, `edge.${Z}`, ['192.0.2.80']],
    ] as const) {
      const { msg, ad } = await resolve(full!, name, type);
      assert.ok(msg.rcode === 0 && ad, `${name}: AD`);
      const extra = msg.additional.filter((r) => r.name === target && (r.type === RRType.A || r.type === RRType.AAAA));
      assert.deepEqual(extra.map((r) => (r.data as { address: string }).address).sort(), [...want].sort(), `${name}: the additional addresses\n${full!.log()}`);
    }
  });

  test('after the chosen region is drained, the new answer validates too', async () => {
    const drained = await fetch(`${ts!.api}/v1/regions/first/drain`, { method: 'POST' });
    assert.equal(drained.status < 300, true, await drained.text());
    try {
      // The drain reaches the snapshot after a short coalescing delay: ask until the answer moves.
      let r = await resolve(unbound!, `app.${Z}`, RRType.A);
      for (let i = 0; i < 50 && addresses(r.msg)[0] !== '198.51.100.10'; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await resolve(unbound!, `app.${Z}`, RRType.A);
      }
      assert.deepEqual(addresses(r.msg), ['198.51.100.10']);
      assert.ok(r.ad, `AD after failover\n${unbound!.log()}`);
    } finally {
      await fetch(`${ts!.api}/v1/regions/first/undrain`, { method: 'POST' });
    }
  });

  test('a server signing with another key than the anchor gives SERVFAIL', async () => {
    for (const [name, type] of [
      [Z, RRType.TXT],
      [`app.${Z}`, RRType.A],
    ] as const) {
      const { msg, ad } = await resolve(tampered!, name, type);
      assert.equal(msg.rcode, 2, `${name}: SERVFAIL`);
      assert.equal(ad, false);
    }
  });
});

describe('with delv (BIND\'s validator), the DNSKEY as a trust anchor', { skip: SKIP_DELV }, () => {
  test('answers and denials are fully validated; another key is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gslb-delv-'));
    dirs.push(dir);
    const [, , , , flags, protocol, algorithm, ...key] = anchor.split(/\s+/);
    const anchors = join(dir, 'anchors.conf');
    writeFileSync(anchors, `trust-anchors { "${Z}." static-key ${flags} ${protocol} ${algorithm} "${key.join('')}"; };\n`);
    // Not spawnSync: the server answering delv runs in this process.
    const delv = (server: TestServer, name: string, type: string) =>
      new Promise<{ stdout: string; stderr: string }>((resolve) =>
        execFile(DELV, [`@${server.udp.host}`, '-p', String(server.udp.port), '-a', anchors, `+root=${Z}`, name, type], { timeout: 20_000 }, (_err, stdout, stderr) =>
          resolve({ stdout, stderr }),
        ),
      );
    for (const [name, type] of [
      [Z, 'TXT'],
      [`app.${Z}`, 'A'],
      [`via-cdn.${Z}`, 'A'],
      [`x.wild.${Z}`, 'A'],
      [`nope.${Z}`, 'A'],
      [`ns1.${Z}`, 'TXT'],
    ]) {
      const r = await delv(ts!, name!, type!);
      assert.match(r.stdout + r.stderr, /; (negative response, )?fully validated/, `${name} ${type}:\n${r.stdout}${r.stderr}`);
    }
    const bad = await delv(other!, `app.${Z}`, 'A');
    assert.match(bad.stdout + bad.stderr, /resolution failed: broken trust chain/, bad.stdout + bad.stderr);
  });
});

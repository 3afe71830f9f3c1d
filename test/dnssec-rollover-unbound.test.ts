/**
 * A key rollover through a real validating resolver (unbound), with the phases made short (TTL 1 s, the
 * rollover's `propagation` and `parentWait` in seconds, the key poll at 500 ms): unbound validates (AD) a static
 * and a steered name before, in every phase and after; the "parent" follows CDS as RFC 7344 asks, by turning
 * the CDS it reads into unbound's trust anchor once the new key signs; at the end DNSKEY holds the new key
 * alone and CDS its digest alone. A second rollover while one runs is 409. With no rollover code this fails
 * at the POST (404); with a rollover that switches keys at once, unbound (anchored on the old DS) SERVFAILs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDNS_DO, RRType } from '../src/wire/constants.js';
import type { OpaqueData } from '../src/wire/records.js';
import { dsRdata, keyTag } from '../src/dnssec/dnskey.js';
import { presentRecord } from '../src/dnssec/present.js';
import { tcpQuery } from './helpers/dns-client.js';
import { runCliAsync } from './helpers/process.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { resolveVia, SKIP_UNBOUND, startUnbound, type Unbound } from './helpers/unbound.js';

const Z = 'roll.example.test';
const ZONE = `
zone: ${Z}
ttl: 1
dnssec: { algorithm: ECDSAP256SHA256 }
soa: { mname: ns1.${Z}, rname: hostmaster.${Z}, serial: 1, minimum: 1 }
ns: [ns1.${Z}]
records:
  ns1: { A: [192.0.2.53] }
  www: { A: [192.0.2.80] }
regions:
  first:  { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 192.0.2.10 } ] }
services:
  app: { policy: failover, regions: [first], ttl: 1 }
`;

interface Info {
  phase: string;
  keyTag: number;
  keys: { keyTag: number; state: string }[];
  next?: { at: string; phase: string };
}

let ts: TestServer | undefined;
let unbound: Unbound | undefined;
let dataDir = '';

before(async () => {
  if (SKIP_UNBOUND) return;
  dataDir = mkdtempSync(join(tmpdir(), 'gslb-roll-data-'));
  ts = await startTestServer({ 'zone.yaml': ZONE }, { dataDir, extras: { dnssecKeyPollMs: 500 } });
  const ds = await runCliAsync(['dnssec', 'ds', Z, '--api', ts.api]);
  assert.equal(ds.status, 0, ds.stderr);
  // The parent's DS of the first key: unbound's anchor until the parent follows CDS.
  unbound = await startUnbound(Z, ds.stdout.split('\n').find((l) => / IN DS /.test(l))!, ts.udp);
});

after(async () => {
  await unbound?.stop();
  await ts?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function info(): Promise<Info> {
  const res = await fetch(`${ts!.api}/v1/zones/${Z}/dnssec`);
  assert.equal(res.status, 200);
  return (await res.json()) as Info;
}

async function apexSet(type: number): Promise<Buffer[]> {
  const r = await tcpQuery(ts!.tcp, { name: Z, type, edns: { flags: EDNS_DO } });
  return r.answers.filter((a) => a.type === type).map((a) => (a.data as OpaqueData).raw);
}

/** The static and the steered name validate through unbound now; the failures, if any. */
async function validating(phase: string): Promise<string[]> {
  const failures: string[] = [];
  for (const name of [`www.${Z}`, `app.${Z}`]) {
    const { msg, ad } = await resolveVia(unbound!, name, RRType.A);
    if (msg.rcode !== 0 || !ad || msg.answers.length === 0) failures.push(`${phase}: ${name} rcode ${msg.rcode} AD ${ad} answers ${msg.answers.length}`);
  }
  return failures;
}

describe('key rollover through unbound', { skip: SKIP_UNBOUND }, () => {
  test('unbound validates through every phase; at the end DNSKEY and CDS hold the new key alone', async () => {
    const before = await info();
    assert.equal(before.phase, 'stable');
    const oldTag = before.keyTag;
    const failures = await validating('before');

    const started = await runCliAsync(['dnssec', 'rollover', Z, '--api', ts!.api, '--propagation', '2s', '--parent-wait', '8s']);
    assert.equal(started.status, 0, started.stderr);
    assert.match(started.stdout, /rollover started: phase publish/);
    const again = await fetch(`${ts!.api}/v1/zones/${Z}/dnssec/rollover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(again.status, 409, 'a second rollover while one runs');

    const seen = new Set<string>();
    let parentFollowed = false;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const now = await info();
      seen.add(now.phase);
      if (now.phase === 'publish') {
        assert.equal(now.keyTag, oldTag, 'the old key signs while the new one is only published');
        assert.deepEqual(now.keys.map((k) => k.state).sort(), ['active', 'published']);
      }
      // Before the parent follows, once unbound's cached DNSKEY has expired (TTL 1 s): the DNSKEY RRset fetched
      // now must be signed by the old key too, since the parent's DS names the old key alone.
      if (now.phase === 'parent' && !parentFollowed) await new Promise((res) => setTimeout(res, 1500));
      failures.push(...(await validating(now.phase)));
      if (now.phase === 'parent' && !parentFollowed) {
        // The parent reads CDS (both keys now) and publishes it as its DS set.
        const cds = await apexSet(RRType.CDS);
        assert.equal(cds.length, 2, 'CDS names both keys during the rollover');
        await unbound!.setAnchor(cds.map((raw) => presentRecord(Z, 3600, RRType.DS, raw)).join('\n'));
        parentFollowed = true;
        failures.push(...(await validating('parent, after the DS moved')));
      }
      if (now.phase === 'stable' && seen.has('parent')) break;
      assert.ok(Date.now() < deadline, `the rollover ends (phases seen: ${[...seen].join(', ')})`);
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.deepEqual([...seen], ['publish', 'parent', 'stable'], 'every phase was seen, in order');
    assert.deepEqual(failures, [], `unbound log:\n${unbound!.log()}`);

    const after = await info();
    assert.notEqual(after.keyTag, oldTag);
    assert.deepEqual(after.keys, [{ ...after.keys[0]!, keyTag: after.keyTag, state: 'active' }]);
    const dnskeys = await apexSet(RRType.DNSKEY);
    assert.deepEqual(dnskeys.map(keyTag), [after.keyTag], 'DNSKEY holds the new key alone');
    assert.deepEqual(await apexSet(RRType.CDS), [dsRdata(Z, dnskeys[0]!)], "CDS is the new key's digest alone");
  });
});

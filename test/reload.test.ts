/** Hot reload: editing zone files under a running server, bad edits rejected, no query lost meanwhile. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { rrText, udpQuery } from './helpers/dns-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const zone = (apex: string, address: string) => `
zone: ${apex}
soa: { mname: ns1.${apex}, rname: hostmaster.${apex}, serial: 1 }
ns: [ns1.${apex}]
records:
  ns1: { A: [192.0.2.1] }
  www: { A: [${address}] }
`;

/** Poll until `check` passes; the deadline is generous because the promise under test is "within 2 s". */
async function eventually(check: () => Promise<boolean>, deadlineMs = 5000): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

let ts: TestServer;
before(async () => {
  ts = await startTestServer({ 'a.yaml': zone('a.test', '192.0.2.10') });
});
after(() => ts.stop());

const www = async (apex = 'a.test') => rrText(await udpQuery(ts.udp, { name: `www.${apex}`, type: RRType.A }));

describe('hot reload', () => {
  test('an edited file is picked up by the directory watch', async () => {
    assert.deepEqual(await www(), ['www.a.test 300 1 192.0.2.10']);
    const before = ts.server.holder.version;
    writeFileSync(join(ts.dir, 'a.yaml'), zone('a.test', '192.0.2.20'));
    assert.ok(await eventually(async () => (await www())[0] === 'www.a.test 300 1 192.0.2.20'), 'new address served');
    assert.ok(ts.server.holder.version > before, 'a new snapshot was swapped in');
  });

  test('an invalid edit is rejected with file:line and the last good configuration keeps serving', async () => {
    writeFileSync(join(ts.dir, 'a.yaml'), zone('a.test', '192.0.2.300'));
    const outcome = ts.server.reload();
    assert.equal(outcome.ok, false);
    assert.equal(outcome.errors[0]!.file, join(ts.dir, 'a.yaml'));
    assert.equal(outcome.errors[0]!.line, 7);
    assert.match(outcome.errors[0]!.message, /192\.0\.2\.300" is not an IPv4 address/);
    assert.deepEqual(await www(), ['www.a.test 300 1 192.0.2.20']);
    writeFileSync(join(ts.dir, 'a.yaml'), 'zone: [unclosed');
    assert.equal(ts.server.reload().ok, false);
    assert.deepEqual(await www(), ['www.a.test 300 1 192.0.2.20']);
    writeFileSync(join(ts.dir, 'a.yaml'), zone('a.test', '192.0.2.30'));
    assert.ok(await eventually(async () => (await www())[0] === 'www.a.test 300 1 192.0.2.30'));
  });

  test('a new zone file adds a zone; removing it makes the zone REFUSED again', async () => {
    assert.equal((await udpQuery(ts.udp, { name: 'www.b.test' })).rcode, 5);
    writeFileSync(join(ts.dir, 'b.yaml'), zone('b.test', '192.0.2.40'));
    assert.ok(await eventually(async () => (await www('b.test'))[0] === 'www.b.test 300 1 192.0.2.40'));
    rmSync(join(ts.dir, 'b.yaml'));
    assert.ok(await eventually(async () => (await udpQuery(ts.udp, { name: 'www.b.test' })).rcode === 5));
  });

  test('queries during repeated reloads are all answered', async () => {
    let answered = 0;
    let stop = false;
    const stream = (async () => {
      while (!stop) {
        const r = await udpQuery(ts.udp, { name: 'www.a.test' });
        if (r.rcode === 0 && r.answers.length === 1) answered++;
      }
    })();
    for (let i = 0; i < 10; i++) {
      writeFileSync(join(ts.dir, 'a.yaml'), zone('a.test', `192.0.2.${50 + i}`));
      ts.server.reload();
      await new Promise((r) => setTimeout(r, 20));
    }
    stop = true;
    await stream; // udpQuery throws on a lost reply, which fails this test
    assert.ok(answered > 0);
  });
});

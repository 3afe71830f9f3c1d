/**
 * Zone reload safety against a real `gslb serve` process (default `--reload-settle 2s`): a file written in two
 * halves is never served half-way, a change that removes every zone is refused (logged, counted in /metrics),
 * and Kubernetes ConfigMap-style symlink swaps (of the files' `..data` directory, and of the zones directory
 * itself) are noticed without SIGHUP.
 *
 * Every packet goes to the loopback ports the server bound; files live in a temp directory of this test.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseServeOptions, UsageError } from '../src/config.js';
import { RRType } from '../src/wire/constants.js';
import { rrText, udpQuery, type Target } from './helpers/dns-client.js';
import { writeGeoFixture } from './helpers/geo-fixture.js';
import { startServe, type ServeProcess } from './helpers/process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const HEAD = `
zone: r.test
soa: { mname: ns1.r.test, rname: hostmaster.r.test, serial: 1 }
ns: [ns1.r.test]
records:
  ns1: { A: [192.0.2.1] }
`;
const appRecord = (address: string) => `  app: { A: [${address}] }\n`;
const zoneFile = (address: string) => HEAD + appRecord(address);

/** What `app.r.test A` answers right now, as one comparable string. */
async function appAnswer(dns: Target): Promise<string> {
  try {
    const m = await udpQuery(dns, { name: 'app.r.test', type: RRType.A });
    return m.rcode === 0 ? rrText(m).join(',') || 'NODATA' : `rcode ${m.rcode}`;
  } catch {
    return 'no reply';
  }
}

/** Query continuously until `done()` says stop (or the deadline passes); every distinct answer seen, in order. */
async function watchAnswers(dns: Target, done: (last: string) => boolean, deadlineMs: number): Promise<string[]> {
  const seen: string[] = [];
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const a = await appAnswer(dns);
    if (seen[seen.length - 1] !== a) seen.push(a);
    if (done(a)) break;
    await sleep(20);
  }
  return seen;
}

async function metric(apiPort: number, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

const OLD = 'app.r.test 300 1 192.0.2.10';
const NEW = 'app.r.test 300 1 192.0.2.20';

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function serve(zonesDir: string, work: string): Promise<{ proc: ServeProcess; dns: Target }> {
  const proc = await startServe(['--zones', zonesDir, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', join(work, 'data'), '--geoip', writeGeoFixture(work)]);
  cleanups.push(() => proc.stop('SIGKILL'));
  return { proc, dns: { host: '127.0.0.1', port: proc.dnsPorts[0]! } };
}

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gslb-reload-safety-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('zone reload safety', () => {
  test('--reload-settle takes a duration, defaults to 2 s, and names itself when wrong', () => {
    assert.equal(parseServeOptions([], {}).reloadSettleMs, 2000);
    assert.equal(parseServeOptions(['--reload-settle', '500ms'], {}).reloadSettleMs, 500);
    assert.equal(parseServeOptions([], { GSLB_RELOAD_SETTLE: '0s' }).reloadSettleMs, 0);
    for (const bad of ['soon', '-1s', '2d', '3h'])
      assert.throws(() => parseServeOptions(['--reload-settle', bad], {}), (e: unknown) => e instanceof UsageError && /--reload-settle: "/.test(e.message), bad);
  });

  test('a file written in two halves 1 s apart is never served half-way', async () => {
    const work = workDir();
    const zones = join(work, 'zones');
    mkdirSync(zones);
    writeFileSync(join(zones, 'app.yaml'), zoneFile('192.0.2.10'));
    const { dns } = await serve(zones, work);
    assert.equal(await appAnswer(dns), OLD);

    // The first half alone is a valid zone without `app`: loading it would answer NXDOMAIN.
    writeFileSync(join(zones, 'app.yaml'), HEAD);
    const watching = watchAnswers(dns, (a) => a === NEW, 20_000);
    await sleep(1000);
    appendFileSync(join(zones, 'app.yaml'), appRecord('192.0.2.20'));
    const secondHalfAt = Date.now();
    const seen = await watching;
    process.stdout.write(`# two halves: answers seen ${JSON.stringify(seen)}, new one served ${Date.now() - secondHalfAt} ms after the second half\n`);
    assert.deepEqual(seen, [OLD, NEW], 'the old answer until the complete new file is served, nothing in between');
  });

  test('a directory emptied of zone files is refused: the last good configuration keeps answering', async () => {
    const work = workDir();
    const zones = join(work, 'zones');
    mkdirSync(zones);
    writeFileSync(join(zones, 'app.yaml'), zoneFile('192.0.2.10'));
    const { proc, dns } = await serve(zones, work);
    assert.equal(await appAnswer(dns), OLD);

    for (const f of readdirSync(zones)) unlinkSync(join(zones, f));
    // Past the 2 s settle time plus a margin, every answer is still the old one.
    const seen = await watchAnswers(dns, () => false, 4000);
    assert.deepEqual(seen, [OLD]);
    // The event that proves the reload was attempted: the rejection is logged with its reason and counted.
    const line = await proc.waitForLog((l) => l.msg === 'zone reload rejected; still serving the last good configuration', 15_000);
    assert.equal(line.reason, 'no_zones');
    assert.equal(await metric(proc.apiPort, 'gslb_zone_reloads_rejected_total', 'reason="no_zones"'), 1);
    assert.equal(await appAnswer(dns), OLD);

    // A file put back is served again.
    writeFileSync(join(zones, 'app.yaml'), zoneFile('192.0.2.20'));
    assert.deepEqual(await watchAnswers(dns, (a) => a === NEW, 15_000), [OLD, NEW]);
  });

  test('an invalid file is refused with file:line in the log and counted by reason', async () => {
    const work = workDir();
    const zones = join(work, 'zones');
    mkdirSync(zones);
    writeFileSync(join(zones, 'app.yaml'), zoneFile('192.0.2.10'));
    const { proc, dns } = await serve(zones, work);
    writeFileSync(join(zones, 'app.yaml'), zoneFile('192.0.2.300'));
    const line = await proc.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('zone reload rejected: '), 15_000);
    assert.equal(line.file, join(zones, 'app.yaml'));
    assert.equal(line.line, 7);
    await proc.waitForLog((l) => l.msg === 'zone reload rejected; still serving the last good configuration' && l.reason === 'invalid', 5000);
    assert.equal(await metric(proc.apiPort, 'gslb_zone_reloads_rejected_total', 'reason="invalid"'), 1);
    assert.equal(await appAnswer(dns), OLD);
  });

  test('a ConfigMap-style swap of the ..data symlink is served without SIGHUP', async () => {
    const work = workDir();
    const zones = join(work, 'zones');
    mkdirSync(zones);
    // What the kubelet writes: a timestamped directory, `..data` pointing at it, and each key a link through `..data`.
    mkdirSync(join(zones, '..2026_12_01_00_00_00.1'));
    writeFileSync(join(zones, '..2026_12_01_00_00_00.1', 'app.yaml'), zoneFile('192.0.2.10'));
    symlinkSync('..2026_12_01_00_00_00.1', join(zones, '..data'));
    symlinkSync('..data/app.yaml', join(zones, 'app.yaml'));
    const { dns } = await serve(zones, work);
    assert.equal(await appAnswer(dns), OLD);

    // The update: a new timestamped directory, a new link beside `..data`, renamed over it (atomic).
    mkdirSync(join(zones, '..2026_12_01_00_05_00.2'));
    writeFileSync(join(zones, '..2026_12_01_00_05_00.2', 'app.yaml'), zoneFile('192.0.2.20'));
    symlinkSync('..2026_12_01_00_05_00.2', join(zones, '..data_tmp'));
    renameSync(join(zones, '..data_tmp'), join(zones, '..data'));
    rmSync(join(zones, '..2026_12_01_00_00_00.1'), { recursive: true });
    const swappedAt = Date.now();
    assert.deepEqual(await watchAnswers(dns, (a) => a === NEW, 15_000), [OLD, NEW]);
    process.stdout.write(`# ConfigMap ..data swap served after ${Date.now() - swappedAt} ms\n`);
  });

  test('a zones directory that is a symlink swapped to another directory is served without SIGHUP', async () => {
    const work = workDir();
    for (const [name, address] of [
      ['zones-a', '192.0.2.10'],
      ['zones-b', '192.0.2.20'],
    ] as const) {
      mkdirSync(join(work, name));
      writeFileSync(join(work, name, 'app.yaml'), zoneFile(address));
    }
    symlinkSync('zones-a', join(work, 'zones'));
    const { dns } = await serve(join(work, 'zones'), work);
    assert.equal(await appAnswer(dns), OLD);

    symlinkSync('zones-b', join(work, 'zones.tmp'));
    renameSync(join(work, 'zones.tmp'), join(work, 'zones'));
    const swappedAt = Date.now();
    assert.deepEqual(await watchAnswers(dns, (a) => a === NEW, 15_000), [OLD, NEW]);
    process.stdout.write(`# zones directory link swap served after ${Date.now() - swappedAt} ms\n`);
  });

  test('SIGHUP reads at once, without waiting for the settle time', async () => {
    const work = workDir();
    const zones = join(work, 'zones');
    mkdirSync(zones);
    writeFileSync(join(zones, 'app.yaml'), zoneFile('192.0.2.10'));
    const proc = await startServe(['--zones', zones, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', join(work, 'data'), '--geoip', writeGeoFixture(work), '--reload-settle', '10m']);
    cleanups.push(() => proc.stop('SIGKILL'));
    const dns = { host: '127.0.0.1', port: proc.dnsPorts[0]! };
    writeFileSync(join(zones, 'app.yaml'), zoneFile('192.0.2.20'));
    await sleep(500);
    assert.equal(await appAnswer(dns), OLD, 'the watch waits for 10 minutes of quiet');
    proc.child.kill('SIGHUP');
    // The reload may beat the first query: the old answer, if seen at all, then the new one.
    assert.deepEqual((await watchAnswers(dns, (a) => a === NEW, 10_000)).filter((a) => a !== OLD), [NEW]);
    // And SIGHUP refuses an emptied directory like the watch does.
    unlinkSync(join(zones, 'app.yaml'));
    proc.child.kill('SIGHUP');
    const line = await proc.waitForLog((l) => l.msg === 'zone reload rejected; still serving the last good configuration' && l.trigger === 'SIGHUP', 10_000);
    assert.equal(line.reason, 'no_zones');
    assert.equal(await appAnswer(dns), NEW);
  });
});

/**
 * The embedded store under faults, with real `gslb serve` processes: a full disk (a small tmpfs), a second
 * process on the same data directory, SIGKILL right after an acknowledged write, a restart as PID 1 of a new
 * PID namespace (what every container start looks like). What is checked is what a user sees: HTTP status
 * codes, DNS answers over UDP, the regions the API lists, and what a restarted process still knows.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { writeGeoFixture } from './helpers/geo-fixture.js';
import { CLI, haveCommand, startServe, type ServeProcess } from './helpers/process.js';

const ZONE = 'dur.example.test';
const ZONE_FILE = `
zone: ${ZONE}
ttl: 300
soa: { mname: ns1.${ZONE}, rname: hostmaster.example.test, serial: 1, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
ns: [ns1.${ZONE}]
records:
  ns1: { A: [192.0.2.53] }
services:
  app:
    policy: geo
    regions: []
    answers: 8
    when-all-down: none
`;
const isRoot = process.getuid?.() === 0;

let work: string;
let zonesDir: string;
let geo: string;
const running = new Set<ServeProcess>();
/** `unshare` parents of PID-1 servers: SIGKILL takes their child with it (--kill-child). */
const pid1s: ChildProcess[] = [];

before(() => {
  work = mkdtempSync(join(tmpdir(), 'gslb-durable-'));
  zonesDir = join(work, 'zones');
  mkdirSync(zonesDir);
  writeFileSync(join(zonesDir, 'dur.yaml'), ZONE_FILE);
  geo = writeGeoFixture(work);
});
after(async () => {
  for (const p of running) await p.stop('SIGKILL');
  for (const c of pid1s) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function serveArgs(dataDir: string): string[] {
  return ['--zones', zonesDir, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', dataDir, '--geoip', geo, '--node-id', 'durable-node'];
}

async function serve(dataDir: string): Promise<ServeProcess> {
  const p = await startServe(serveArgs(dataDir));
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
}

async function kill(p: ServeProcess): Promise<void> {
  await p.stop('SIGKILL');
  running.delete(p);
}

/** Where the DNS client is (ECS 81.2.69.0/24 is London in the fixture) and a region far from it. */
const LONDON = { lat: 51.5, lon: -0.12 };
const SYDNEY = { lat: -33.87, lon: 151.21 };

async function putRegion(p: ServeProcess, name: string, address: string, location = LONDON): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${p.apiPort}/v1/regions/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ location, endpoints: [{ address }], services: [`app.${ZONE}`] }),
  });
  return { status: res.status, body: await res.text() };
}

async function listedRegions(p: ServeProcess): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${p.apiPort}/v1/regions`);
  const json = (await res.json()) as { regions: { name: string }[] };
  return json.regions.map((r) => r.name);
}

async function dnsAddresses(p: ServeProcess): Promise<string[]> {
  // Policy geo: the client in London gets the nearest region's endpoints.
  const r = await udpQuery({ host: '127.0.0.1', port: p.dnsPorts[0]! }, { name: `app.${ZONE}`, type: RRType.A, edns: { options: [ecsOption('81.2.69.0', 24)] } });
  return r.answers.map((a) => (a.data as { address: string }).address);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` holds or the (generous) deadline passes; returns whether it held. */
async function eventually(check: () => Promise<boolean>, deadlineMs = 15_000): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

/** Write a filler file until the tmpfs answers ENOSPC; returns its path. */
function fillDisk(mnt: string): string {
  const filler = join(mnt, 'filler');
  const fd = openSync(filler, 'w');
  try {
    for (const size of [65_536, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0x78);
      for (let i = 0; i < 10_000; i++) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}

/** Run `gslb serve` expecting it to refuse; resolves with its exit code (null if it had to be killed) and stderr. */
function serveExpectingExit(args: string[], command: string[] = [process.execPath, CLI]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, [...command.slice(1), 'serve', '--log-level', 'info', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    // Still running after this long means it did not refuse: stop it and report.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('full disk (tmpfs as --data)', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, () => {
  let mnt: string;
  before(() => {
    mnt = mkdtempSync(join(work, 'tmpfs-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    assert.equal(m.status, 0, `mount tmpfs: ${m.stderr}`);
  });
  after(() => {
    spawnSync('umount', ['-l', mnt]);
  });

  test('a write answered 503 is applied nowhere: not in DNS, not in the API, not in a later flush, not after a restart', async () => {
    const dataDir = join(mnt, 'data');
    let p = await serve(dataDir);
    // Far from the client: x (in London) would win at once if it were applied.
    assert.equal((await putRegion(p, 'before', '203.0.113.1', SYDNEY)).status, 201);
    assert.ok(await eventually(async () => (await dnsAddresses(p)).includes('203.0.113.1')), 'stored region not served');

    const filler = fillDisk(mnt);
    const refused = await putRegion(p, 'x', '203.0.113.66');
    assert.equal(refused.status, 503, refused.body);
    assert.match(refused.body, /not stored/);
    // Concurrent writes share one file write (group commit): they fail together, and none is applied.
    const batch = await Promise.all(Array.from({ length: 8 }, (_, i) => putRegion(p, `x${i}`, `203.0.113.${100 + i}`)));
    assert.deepEqual(batch.map((r) => r.status), Array(8).fill(503));

    // Over a window well past the snapshot coalescing (200 ms), DNS never answers with x's address and the
    // API never lists it.
    const windowEnd = Date.now() + 2000;
    while (Date.now() < windowEnd) {
      const addrs = await dnsAddresses(p);
      assert.ok(!addrs.some((a) => a === '203.0.113.66' || a.startsWith('203.0.113.10')), `DNS serves a refused region: ${addrs.join(', ')}`);
      assert.ok(addrs.includes('203.0.113.1'), `DNS lost the stored region: ${addrs.join(', ')}`);
      assert.deepEqual(await listedRegions(p), ['before'], 'GET /v1/regions lists a refused region');
      await sleep(100);
    }
    const one = await fetch(`http://127.0.0.1:${p.apiPort}/v1/regions/x`);
    assert.equal(one.status, 404);

    // Space returns. The next successful write stores the whole state: the refused write must not ride along.
    unlinkSync(filler);
    let after: { status: number; body: string } = { status: 0, body: '' };
    assert.ok(await eventually(async () => (after = await putRegion(p, 'y', '203.0.113.77')).status < 300), `PUT y after freeing space: ${after.status} ${after.body}`);
    const file = readFileSync(join(dataDir, 'state.json'), 'utf8');
    assert.match(file, /"name":"y"/);
    assert.doesNotMatch(file, /"name":"x/, 'a refused region reached state.json once space returned');
    // And past the background flush interval (5 s), it still does not.
    await sleep(6000);
    assert.doesNotMatch(readFileSync(join(dataDir, 'state.json'), 'utf8'), /"name":"x/);

    // The write that succeeded survives SIGKILL; the refused one is not there after the restart.
    await kill(p);
    p = await serve(dataDir);
    assert.ok(await eventually(async () => (await dnsAddresses(p)).includes('203.0.113.77')), 'y not served after restart');
    const names = await listedRegions(p);
    assert.ok(names.includes('y') && names.includes('before'), names.join(','));
    assert.deepEqual(names.sort(), ['before', 'y'], `refused regions back after restart: ${names.join(',')}`);
    assert.ok(!(await dnsAddresses(p)).includes('203.0.113.66'));
    await kill(p);
  });
});

describe('restart on a full disk', { skip: isRoot ? false : 'needs root to mount a tmpfs' }, () => {
  let mnt: string;
  before(() => {
    mnt = mkdtempSync(join(work, 'tmpfs-full-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    assert.equal(m.status, 0, `mount tmpfs: ${m.stderr}`);
  });
  after(() => {
    spawnSync('umount', ['-l', mnt]);
  });

  test('the node starts, serves what it stored, refuses writes (503, applied nowhere), and takes writes again once space returns', async () => {
    const dataDir = join(mnt, 'data');
    let p = await serve(dataDir);
    assert.equal((await putRegion(p, 'kept', '203.0.113.21', SYDNEY)).status, 201);
    await kill(p);
    const filler = fillDisk(mnt);

    p = await serve(dataDir);
    assert.ok(await eventually(async () => (await dnsAddresses(p)).includes('203.0.113.21')), 'stored region not served after a restart on a full disk');
    const refused = await putRegion(p, 'z', '203.0.113.22');
    assert.equal(refused.status, 503, refused.body);
    await sleep(1000);
    assert.ok(!(await dnsAddresses(p)).includes('203.0.113.22'), 'DNS serves a write answered 503');
    assert.ok(!(await listedRegions(p)).includes('z'));

    unlinkSync(filler);
    let r: { status: number; body: string } = { status: 0, body: '' };
    assert.ok(await eventually(async () => (r = await putRegion(p, 'later', '203.0.113.23')).status < 300, 30_000), `no write accepted after space returned: ${r.status} ${r.body}`);
    await kill(p);
    p = await serve(dataDir);
    const names = await listedRegions(p);
    assert.ok(names.includes('kept') && names.includes('later') && !names.includes('z'), names.join(','));
    await kill(p);
  });
});

describe('one process per data directory', () => {
  test('a second serve on the same --data refuses with the directory and the holder\'s pid; SIGKILL of the holder does not block the next start', async () => {
    const dataDir = join(work, 'locked');
    const first = await serve(dataDir);
    const second = await serveExpectingExit(serveArgs(dataDir));
    assert.notEqual(second.code, 0, 'second process on the same data directory started');
    assert.notEqual(second.code, null, `second process on the same data directory kept running; stderr: ${second.stderr}`);
    assert.ok(second.stderr.includes(dataDir), `stderr does not name the directory: ${second.stderr}`);
    assert.ok(second.stderr.includes(String(first.child.pid)), `stderr does not name the holder's pid: ${second.stderr}`);
    // The refused process must not have disturbed the holder.
    assert.equal((await putRegion(first, 'held', '203.0.113.5')).status, 201);

    await kill(first);
    const third = await serve(dataDir);
    assert.deepEqual(await listedRegions(third), ['held']);
    // Released on a clean shutdown: nothing is left behind that names this process.
    assert.equal(await third.stop('SIGTERM'), 0);
    running.delete(third);
    assert.deepEqual(readdirSync(dataDir).filter((f) => f !== 'state.json'), [], 'files left in the data directory after a clean stop');
    const fourth = await serve(dataDir);
    assert.deepEqual(await listedRegions(fourth), ['held']);
    await kill(fourth);
  });

  test('a lock left by a SIGKILLed PID 1 (container restarts) does not block the next PID 1; a live one in another PID namespace does', { skip: isRoot && haveCommand('unshare') ? false : 'needs root and unshare(1) for PID namespaces' }, async () => {
    const dataDir = join(work, 'pid1');
    // Each start is PID 1 of a fresh PID namespace, like a container.
    const asPid1 = ['unshare', '--pid', '--fork', '--kill-child', process.execPath, CLI];
    const startPid1 = async () => {
      const child = spawn(asPid1[0]!, [...asPid1.slice(1), 'serve', '--log-level', 'info', ...serveArgs(dataDir)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const ok = await eventually(async () => out.includes('"api listening"') || child.exitCode !== null, 20_000);
      assert.ok(ok && child.exitCode === null, `PID 1 serve did not start; stderr: ${err}`);
      // The server's pid outside its namespace (unshare's child) and inside it (last NSpid field).
      const hostPid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]);
      const nsPid = /^NSpid:.*\s(\d+)$/m.exec(readFileSync(`/proc/${hostPid}/status`, 'utf8'))?.[1];
      return { child, exited, hostPid, nsPid };
    };
    const a = await startPid1();
    pid1s.push(a.child);
    assert.equal(a.nsPid, '1', 'the server does not run as PID 1');
    // Another PID 1 while the first is alive: refused (the pid check alone would call it "us" and take over).
    const b = await serveExpectingExit(serveArgs(dataDir), asPid1);
    assert.notEqual(b.code, 0);
    assert.notEqual(b.code, null, `second PID 1 kept running; stderr: ${b.stderr}`);
    assert.ok(b.stderr.includes(dataDir), b.stderr);
    // SIGKILL the first (unshare's --kill-child takes PID 1 down with it), then a new PID 1 starts.
    a.child.kill('SIGKILL');
    await a.exited;
    const c = await startPid1();
    pid1s.push(c.child);
    assert.equal(c.nsPid, '1');
    // unshare does not pass SIGTERM on: signal PID 1 itself, by its pid outside the namespace.
    process.kill(c.hostPid, 'SIGTERM');
    assert.equal(await c.exited, 0);
    assert.ok(!existsSync(join(dataDir, 'gslb.lock')), 'lock left after a clean stop');
  });
});

describe('state.json that cannot be read', () => {
  // Already sound before the persist-first change; kept as a guard: refuse, name the file, touch nothing.
  for (const [what, text] of [['truncated JSON', '{"format":1,"regions":[{"name":"a"'], ['not a state file', '{"hello":"world"}']] as const) {
    test(`${what}: serve exits 1 naming the file, leaves it as it was, and leaves no lock behind`, async () => {
      const dataDir = mkdtempSync(join(work, 'corrupt-'));
      const file = join(dataDir, 'state.json');
      writeFileSync(file, text);
      const r = await serveExpectingExit(serveArgs(dataDir));
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.includes(file), r.stderr);
      assert.equal(readFileSync(file, 'utf8'), text);
      assert.deepEqual(readdirSync(dataDir), ['state.json']);
    });
  }
});

describe('SIGKILL right after an acknowledged write', () => {
  test('every region answered 2xx is there after the restart', async () => {
    const dataDir = join(work, 'killed');
    const acked: string[] = [];
    for (let round = 0; round < 5; round++) {
      const p = await serve(dataDir);
      const names = await listedRegions(p);
      for (const n of acked) assert.ok(names.includes(n), `round ${round}: acknowledged region ${n} lost (have ${names.join(',')})`);
      const name = `r${round}`;
      const r = await putRegion(p, name, `203.0.113.${10 + round}`);
      // Kill the moment the acknowledgement arrives.
      p.child.kill('SIGKILL');
      assert.ok(r.status === 200 || r.status === 201, r.body);
      acked.push(name);
      await p.exited;
      running.delete(p);
    }
    const p = await serve(dataDir);
    assert.deepEqual((await listedRegions(p)).sort(), acked.sort());
    // All in London, so one of them answers.
    assert.ok(await eventually(async () => (await dnsAddresses(p)).length > 0), 'no acknowledged region is served');
    await kill(p);
  });
});

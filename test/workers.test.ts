/**
 * `--workers N`: a real `gslb serve` process with two DNS worker processes on one port. Which worker answered
 * is read from NSID (and CHAOS id.server), `<node-id>/w<slot>`. Queries from many source ports reach every
 * worker; a worker killed with SIGKILL costs no query (resolver-style: one retry after 200 ms) and comes
 * back; a drain made through the primary's API reaches every worker; the primary's status page counts the
 * workers' answers; SIGTERM exits 0 and leaves no worker.
 * Loopback only, random ports.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseWorkers } from '../src/config.js';
import { dgramHasReusePort } from '../src/net/udp-sharing.js';
import { EDNS_DO, RRType } from '../src/wire/constants.js';
import { decodeMessage, type DecodedMessage } from '../src/wire/decode.js';
import { buildQuery, ecsOption, rrText, udpRaw, type Target } from './helpers/dns-client.js';
import { writeGeoFixture } from './helpers/geo-fixture.js';
import { runCli, runCliAsync, startServe, type ServeProcess } from './helpers/process.js';
import { EXAMPLE_ZONE } from './helpers/server.js';
import { resolveVia, SKIP_UNBOUND, startUnbound, type Unbound } from './helpers/unbound.js';
import { verifyRRset } from '../src/dnssec/rrsig.js';
import { dnskeyRdata } from '../src/dnssec/dnskey.js';
import type { OpaqueData } from '../src/wire/records.js';

const NODE = 'wk';
const NSID = { code: 3, data: Buffer.alloc(0) };
const LONDON = ecsOption('81.2.69.0', 24); // nearest region: eu-west (198.51.100.10)
const EU_WEST = '198.51.100.10';
const APEX = 'gslb.example.test';

let work: string;
let proc: ServeProcess;
let dns: Target;
let api: string;

/** One query from a fresh socket (a new source port), retried once after 200 ms like a resolver would. */
async function ask(packet: Buffer): Promise<DecodedMessage | undefined> {
  const reply = (await udpRaw(dns, packet, 200)) ?? (await udpRaw(dns, packet, 2000));
  return reply ? decodeMessage(reply) : undefined;
}

function answeredBy(msg: DecodedMessage): string {
  const nsid = msg.edns?.options.find((o) => o.code === 3);
  assert.ok(nsid, 'reply carries NSID');
  return nsid.data.toString('utf8');
}

const appQuery = (id: number) => buildQuery({ name: 'app.gslb.example.test', type: RRType.A, id, edns: { options: [NSID, LONDON] } });

function workerPids(): Map<number, number> {
  const pids = new Map<number, number>();
  for (const l of proc.logs) if (l.msg === 'dns worker ready') pids.set(l.worker as number, l.pid as number);
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'gslb-workers-'));
  writeFileSync(join(work, 'example.yaml'), EXAMPLE_ZONE);
  proc = await startServe(
    ['--zones', work, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', join(work, 'data'), '--geoip', writeGeoFixture(work), '--node-id', NODE, '--workers', '2'],
    { startTimeoutMs: 60_000 },
  );
  dns = { host: '127.0.0.1', port: proc.dnsPorts[0]! };
  api = `http://127.0.0.1:${proc.apiPort}`;
});

after(async () => {
  await proc?.stop('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('--workers 2', () => {
  test('queries from many source ports are all answered, and each worker answers a share', async () => {
    const by = new Map<string, number>();
    const total = 200;
    for (let i = 0; i < total; i++) {
      const msg = await ask(buildQuery({ name: 'id.server', type: RRType.TXT, class: 3, id: i, edns: { options: [NSID] } }));
      assert.ok(msg, `query ${i} answered`);
      const who = answeredBy(msg);
      assert.ok(rrText(msg)[0]?.endsWith(` ${who}`), `id.server names the same worker as NSID: ${rrText(msg)[0]}`);
      by.set(who, (by.get(who) ?? 0) + 1);
    }
    assert.deepEqual([...by.keys()].sort(), [`${NODE}/w1`, `${NODE}/w2`]);
    // A socket per worker with the batch module, or with dgram from Node 22.12 on; else the cluster's one.
    const batch = proc.logs.some((l) => l.msg === 'udp io: batch');
    const sharing = batch || dgramHasReusePort() ? 'reuseport' : 'cluster';
    assert.ok(
      proc.logs.some((l) => l.udpSharing === sharing && typeof l.msg === 'string' && l.msg.startsWith('dns workers share each udp port: ')),
      `the start log says the workers share UDP by ${sharing} (node ${process.versions.node}, ${batch ? 'batch' : 'dgram'})`,
    );
    // SO_REUSEPORT hashes the 4-tuple: with 200 random source ports each share is near 1/2 (the cluster's one
    // socket read by both workers promises no balance, only that both read it).
    if (sharing === 'reuseport') for (const n of by.values()) assert.ok(n >= 0.3 * total, `share ${n}/${total}`);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, new RegExp(`^gslb_dns_worker_udp_sharing_info\\{mode="${sharing}",node="${NODE}"\\} 1$`, 'm'));
    for (const slot of ['1', '2']) assert.match(metrics, new RegExp(`^gslb_dns_worker_queries_total\\{worker="${slot}",node="${NODE}"\\} \\d+`, 'm'));
    const queries = [...metrics.matchAll(/^gslb_dns_queries_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(queries >= total, `/metrics sums both workers' queries: ${queries}`);
  });

  test("the status page's traffic counts the workers' answers", async () => {
    for (let i = 0; i < 40; i++) assert.ok(await ask(appQuery(100 + i)), `query ${i} answered`);
    // The primary samples the answer counters every 10 s; the workers' reach it with their metrics.
    const deadline = Date.now() + 45_000;
    for (;;) {
      const status = (await (await fetch(`${api}/v1/status`)).json()) as { traffic: { shares: Record<string, number>; points: { byRegion: Record<string, number> }[] } };
      const share = status.traffic.shares['eu-west'] ?? 0;
      if (share > 0) {
        const answers = status.traffic.points.reduce((n, p) => n + (p.byRegion['eu-west'] ?? 0), 0);
        assert.ok(answers >= 40, `every answer is in the history once: ${answers}`);
        break;
      }
      assert.ok(Date.now() < deadline, `GET /v1/status shows eu-west's share of the answers: ${JSON.stringify(status.traffic)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  test('a drain through the API reaches every worker', async () => {
    const hasEuWest = (msg: DecodedMessage) => rrText(msg).some((t) => t.endsWith(` ${EU_WEST}`));
    const first = await ask(appQuery(1));
    assert.ok(first && hasEuWest(first), 'before the drain London is sent to eu-west');
    const r = await fetch(`${api}/v1/regions/eu-west/drain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'test' }) });
    assert.equal(r.status, 200, await r.text());
    const seen = new Set<string>();
    const deadline = Date.now() + 20_000;
    for (let id = 2; seen.size < 2; id++) {
      assert.ok(Date.now() < deadline, `every worker answers the drained state (seen: ${[...seen].join(', ')})`);
      const msg = await ask(appQuery(id));
      if (!msg) continue;
      if (!hasEuWest(msg)) seen.add(answeredBy(msg));
    }
    const undrain = await fetch(`${api}/v1/regions/eu-west/undrain`, { method: 'POST' });
    assert.equal(undrain.status, 200);
  });

  test('a worker killed under a stream of queries costs no query, and is restarted', async () => {
    const pids = workerPids();
    const victim = pids.get(1)!;
    const failed: number[] = [];
    for (let i = 0; i < 300; i++) {
      if (i === 50) process.kill(victim, 'SIGKILL');
      const msg = await ask(buildQuery({ name: 'mail.gslb.example.test', type: RRType.A, id: i, edns: { options: [NSID] } }));
      if (!msg || rrText(msg)[0] === undefined) failed.push(i);
    }
    assert.deepEqual(failed, [], 'every query answered (after at most one retry)');
    const died = await proc.waitForLog((l) => l.msg === 'dns worker died; restarting it' && l.pid === victim, 30_000);
    assert.equal(died.signal, 'SIGKILL');
    const back = await proc.waitForLog((l) => l.msg === 'dns worker ready' && l.worker === 1 && l.pid !== victim, 60_000);
    assert.ok(alive(back.pid as number));
    const deadline = Date.now() + 20_000;
    for (let id = 0; ; id++) {
      assert.ok(Date.now() < deadline, 'the restarted worker answers');
      const msg = await ask(buildQuery({ name: 'mail.gslb.example.test', type: RRType.A, id, edns: { options: [NSID] } }));
      if (msg && answeredBy(msg) === `${NODE}/w1`) break;
    }
  });

  test('SIGTERM stops the workers, then the primary: exit 0, no worker left', async () => {
    const pids = [...workerPids().values()].filter(alive);
    assert.equal(pids.length, 2);
    assert.equal(await proc.stop('SIGTERM'), 0);
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} is gone`);
  });
});

describe('--workers parsing', () => {
  test('0 and x are refused naming the flag; auto is one per core', () => {
    for (const bad of ['0', 'x', '-1', '1.5']) {
      const r = runCli(['serve', '--workers', bad]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--workers: ".*" is not a number of worker processes/);
    }
    assert.equal(parseWorkers('auto'), availableParallelism());
    assert.equal(parseWorkers('3'), 3);
  });
});

describe('--workers with a signed zone', { skip: SKIP_UNBOUND }, () => {
  test('both workers sign with the keys the primary read, unbound validates, and a rollover reaches them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gslb-workers-signed-'));
    let signedProc: ServeProcess | undefined;
    let unbound: Unbound | undefined;
    try {
      const signed = EXAMPLE_ZONE.replace('\nttl: 300\n', '\nttl: 300\ndnssec: { algorithm: ED25519 }\n');
      assert.notEqual(signed, EXAMPLE_ZONE, 'the example zone gained the dnssec key');
      writeFileSync(join(dir, 'example.yaml'), signed);
      const args = ['--zones', dir, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', join(dir, 'data'), '--geoip', writeGeoFixture(dir), '--node-id', NODE];
      signedProc = await startServe([...args, '--workers', '2'], { startTimeoutMs: 60_000 });
      const target = { host: '127.0.0.1', port: signedProc.dnsPorts[0]! };
      const signedApi = `http://127.0.0.1:${signedProc.apiPort}`;
      const ds = await runCliAsync(['dnssec', 'ds', APEX, '--api', signedApi]);
      assert.equal(ds.status, 0, ds.stderr);
      const dnskeyLine = ds.stdout.split('\n').find((l) => / IN DNSKEY /.test(l))!;
      const [, , , , flags, , algorithm, ...key] = dnskeyLine.split(/\s+/);
      const dnskey = dnskeyRdata(Number(flags), Number(algorithm), Buffer.from(key.join(''), 'base64'));
      const askSigned = async (name: string, type: number) => {
        const q = buildQuery({ name, type, edns: { flags: EDNS_DO, udpSize: 4096, options: [NSID, LONDON] } });
        const reply = (await udpRaw(target, q, 200)) ?? (await udpRaw(target, q, 2000));
        assert.ok(reply, `${name} answered`);
        return decodeMessage(reply);
      };
      // From fresh source ports until both workers have answered; each answer's signature verifies.
      const by = new Set<string>();
      for (let i = 0; i < 200 && by.size < 2; i++) {
        const msg = await askSigned(`app.${APEX}`, RRType.A);
        const a = msg.answers.filter((r) => r.type === RRType.A);
        const sig = msg.answers.find((r) => r.type === RRType.RRSIG);
        assert.ok(a.length > 0 && sig, `a signed answer from ${answeredBy(msg)}`);
        const rrset = { owner: a[0]!.name, type: RRType.A, ttl: a[0]!.ttl, records: a.map((r) => r.data) };
        assert.ok(verifyRRset(rrset, (sig.data as OpaqueData).raw, dnskey, Date.now() / 1000), `the RRSIG from ${answeredBy(msg)} verifies with the published key`);
        by.add(answeredBy(msg));
      }
      assert.deepEqual([...by].sort(), [`${NODE}/w1`, `${NODE}/w2`]);

      // unbound asks from its own random ports (so both workers), with the published DNSKEY as anchor.
      unbound = await startUnbound(APEX, dnskeyLine, target);
      const failures: string[] = [];
      for (let i = 0; i < 20; i++) {
        for (const [name, type] of [[`app.${APEX}`, RRType.A], [`www.${APEX}`, RRType.A], [`missing-${i}.${APEX}`, RRType.A], [APEX, RRType.DNSKEY]] as const) {
          const { msg, ad } = await resolveVia(unbound, name, type);
          if (msg.rcode !== 0 || !ad) failures.push(`${name}: rcode ${msg.rcode} AD ${ad}`);
        }
      }
      assert.deepEqual(failures, [], unbound.log());

      // A rollover started at the primary's API: both workers publish the new key beside the old one.
      const roll = await fetch(`${signedApi}/v1/zones/${APEX}/dnssec/rollover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(roll.status, 202, await roll.text());
      const twoKeys = new Set<string>();
      const deadline = Date.now() + 30_000;
      while (twoKeys.size < 2) {
        assert.ok(Date.now() < deadline, `both workers publish two keys (so far: ${[...twoKeys].join(', ')})`);
        const msg = await askSigned(APEX, RRType.DNSKEY);
        if (msg.answers.filter((r) => r.type === RRType.DNSKEY).length === 2) twoKeys.add(answeredBy(msg));
      }
    } finally {
      await unbound?.stop();
      await signedProc?.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

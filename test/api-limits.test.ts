/**
 * API limits, seen from outside: JSON bodies nested too deep are refused before they are parsed (and DNS keeps
 * answering meanwhile), only known probers' reports count (configured with --probers, or registered by an
 * authenticated report, at most MAX_PROBERS), and a prober that stops reporting is pruned from the state and
 * from /metrics. Real HTTP and DNS against a running server; a real redis-server for the shared store.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DepthScanner, jsonDepth } from '../src/api/json-limits.js';
import { RRType } from '../src/wire/constants.js';
import { udpQuery } from './helpers/dns-client.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

const TOKEN = 'api-limits-token';

async function post(url: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json };
}

function report(prober: string, ok: boolean): object {
  return { prober, results: [{ region: 'v4only', endpoint: '203.0.113.1', ok, ...(ok ? {} : { error: 'HTTP 503' }) }] };
}

async function scrape(api: string): Promise<string> {
  return (await fetch(`${api}/metrics`)).text();
}

/** The value of one series, or undefined when the series is absent. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const l = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

function seriesCount(text: string, name: string): number {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).length;
}

async function probersOf(api: string, region = 'v4only'): Promise<string[]> {
  const r = (await (await fetch(`${api}/v1/regions/${region}`)).json()) as { endpoints: { probers: { prober: string }[] }[] };
  return r.endpoints.flatMap((e) => e.probers.map((p) => p.prober)).sort();
}

async function until(what: string, pred: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${deadlineMs} ms: ${what}`);
}

/** Run `n` calls of `fn`, `width` at a time. */
async function inParallel<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

describe('JSON bodies: size and depth limits, checked before parsing', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { args: ['--probers', 'probe-a'] });
  });
  after(async () => ts?.stop());

  const DEPTH = 400_000;
  const deepArray = '['.repeat(DEPTH) + ']'.repeat(DEPTH);

  test('a body nested 400 000 levels deep (800 KB) is a 400 naming the depth limit', async () => {
    for (const body of [deepArray, `{"prober":"probe-a","results":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`, `{"a":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`]) {
      const r = await post(`${ts.api}/v1/probes`, body);
      assert.equal(r.status, 400, JSON.stringify(r.json).slice(0, 200));
      assert.match(String(r.json.error), /nested deeper than 32 levels/, JSON.stringify(r.json).slice(0, 200));
      assert.equal(r.json.field, 'body');
    }
  });

  test('brackets inside strings (with escaped quotes) do not count as nesting', async () => {
    const tricky = `${'['.repeat(40)}\\"`;
    const r = await post(`${ts.api}/v1/probes`, { prober: 'probe-a', results: [{ region: 'v4only', endpoint: '203.0.113.1', ok: true, error: tricky }] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  test('depth 32 is accepted by the parser (then checked by the schema)', async () => {
    const r = await post(`${ts.api}/v1/latency`, `${'['.repeat(32)}${']'.repeat(32)}`);
    assert.equal(r.status, 400);
    assert.doesNotMatch(String(r.json.error), /nested/);
  });

  test('a body over the size limit is a 413 that says the limit; other content types are a 415', async () => {
    const big = JSON.stringify({ prober: 'probe-a', results: [{ region: 'v4only', endpoint: '203.0.113.1', ok: true, error: 'x'.repeat(2 << 20) }] });
    const r = await post(`${ts.api}/v1/probes`, big);
    assert.equal(r.status, 413, JSON.stringify(r.json).slice(0, 200));
    assert.match(String(r.json.error), /larger than \d+ bytes/);
    const text = await post(`${ts.api}/v1/probes`, deepArray, { 'content-type': 'text/plain' });
    assert.equal(text.status, 415, JSON.stringify(text.json).slice(0, 200));
    assert.match(String(text.json.error), /application\/json/);
  });

  test('a prototype-poisoning key is refused', async () => {
    const r = await post(`${ts.api}/v1/probes`, '{"prober":"probe-a","__proto__":{"x":1},"results":[]}');
    assert.equal(r.status, 400, JSON.stringify(r.json));
  });

  test('while a client sends deep bodies, each is refused at once and DNS keeps answering; the event loop never stalls long', async () => {
    const before = await scrape(ts.api); // also resets the server's event-loop max
    const rejectedBefore = metric(before, 'gslb_api_bodies_rejected_total', { reason: 'depth' }) ?? 0;
    const rounds = 8;
    for (let i = 0; i < rounds; i++) {
      const [r, dns] = await Promise.all([post(`${ts.api}/v1/probes`, deepArray), udpQuery(ts.udp, { name: 'app.gslb.example.test', type: RRType.A })]);
      assert.equal(r.status, 400);
      assert.match(String(r.json.error), /nested deeper/);
      assert.equal(dns.rcode, 0);
      assert.ok(dns.answers.length > 0);
      // A DNS query sent right after the refusal is answered too.
      const next = await udpQuery(ts.udp, { name: 'app.gslb.example.test', type: RRType.A });
      assert.equal(next.rcode, 0);
    }
    const afterText = await scrape(ts.api);
    assert.equal(metric(afterText, 'gslb_api_bodies_rejected_total', { reason: 'depth' }), rejectedBefore + rounds, 'each deep body is counted as refused for its depth');
    // Before the limit, each such body stalled the loop 0.3-1.4 s; refused by the scan, a few ms. The bound is
    // loose on purpose (a loaded CI machine), far below the stall the limit removes.
    const stall = metric(afterText, 'nodejs_eventloop_lag_max_seconds');
    assert.ok(stall !== undefined && stall < 0.35, `event-loop max stall while deep bodies arrived: ${stall} s`);
  });
});

describe('DepthScanner: the same depth however the body is split into chunks', () => {
  test('escapes and strings across chunk boundaries', () => {
    const cases: [string, number][] = [
      ['{"a":[1,{"b":"[[["}]}', 3],
      ['["\\\\",["\\"[[["]]', 2],
      ['"\\\\"[[]]', 2],
      [`{"s":"${'\\"['.repeat(50)}"}`, 1],
      ['['.repeat(40), 33],
    ];
    for (const [text, depth] of cases) {
      assert.equal(jsonDepth(text), depth, text);
      const bytes = Buffer.from(text);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const s = new DepthScanner();
        const ok = s.feed(bytes.subarray(0, cut)) && s.feed(bytes.subarray(cut));
        assert.equal(s.max, depth, `${text} cut at ${cut}`);
        assert.equal(ok, depth <= 32);
      }
    }
  });
});

describe('probers are known: --probers without a token', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { args: ['--probers', 'probe-a,probe-b'] });
  });
  after(async () => ts?.stop());

  test('5 000 invented prober names are refused (403): they cannot outvote the real probers, add no series and no state', async () => {
    for (const p of ['probe-a', 'probe-b']) assert.equal((await post(`${ts.api}/v1/probes`, report(p, true))).status, 200);
    const statuses = await inParallel(5000, 25, async (i) => {
      const r = await post(`${ts.api}/v1/probes`, report(`invented-${i}`, false));
      if (i === 0) {
        assert.equal(r.status, 403, JSON.stringify(r.json));
        assert.match(String(r.json.error), /prober "invented-0" is not configured/);
        assert.equal(r.json.field, 'prober');
      }
      return r.status;
    });
    const counts = statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
    assert.deepEqual(counts, { 403: 5000 });
    const view = (await (await fetch(`${ts.api}/v1/regions/v4only`)).json()) as { endpoints: { up: boolean; reason: string }[] };
    assert.equal(view.endpoints[0]!.up, true, view.endpoints[0]!.reason);
    assert.deepEqual(await probersOf(ts.api), ['probe-a', 'probe-b']);
    const text = await scrape(ts.api);
    assert.ok(seriesCount(text, 'gslb_probe_reports_total') <= 3, `${seriesCount(text, 'gslb_probe_reports_total')} prober series`);
    assert.equal(metric(text, 'gslb_probe_reports_rejected_total', { reason: 'unknown' }), 5000);
    assert.equal(metric(text, 'gslb_probers', { kind: 'configured' }), 2);
    // The persisted state holds the two real probers' states only.
    const file = join(ts.dir, 'data', 'state.json');
    if (existsSync(file)) assert.doesNotMatch(readFileSync(file, 'utf8'), /invented-/);
    // DNS answers from the region the real probers see up.
    const a = await udpQuery(ts.udp, { name: 'legacy.gslb.example.test', type: RRType.A });
    assert.deepEqual(a.answers.map((x) => (x.data as { address: string }).address), ['203.0.113.1']);
  });

  test('a report carries at most 1 000 results (one report is handled in one go): 1 001 is a 400 naming results', async () => {
    const results = (n: number) => Array.from({ length: n }, () => ({ region: 'v4only', endpoint: '203.0.113.1', ok: true }));
    assert.equal((await post(`${ts.api}/v1/probes`, { prober: 'probe-a', results: results(1000) })).status, 200);
    const over = await post(`${ts.api}/v1/probes`, { prober: 'probe-a', results: results(1001) });
    assert.equal(over.status, 400, JSON.stringify(over.json).slice(0, 200));
    assert.equal(over.json.field, 'results');
  });

  test('the node\'s own id is not a remote prober', async () => {
    const r = await post(`${ts.api}/v1/probes`, report('test-node', false));
    assert.equal(r.status, 403);
    assert.match(String(r.json.error), /own checker/);
  });
});

describe('probers are known: registration with --api-token, bounded', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { args: ['--api-token', TOKEN, '--probers', 'probe-a'] });
  });
  after(async () => ts?.stop());

  test('an authenticated report registers its prober, at most 64; the rest are 403 with why', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await post(`${ts.api}/v1/probes`, report('probe-a', true), auth)).status, 200);
    assert.equal((await post(`${ts.api}/v1/probes`, report('unauthenticated', false))).status, 401);
    const statuses = await inParallel(300, 10, async (i) => (await post(`${ts.api}/v1/probes`, report(`reg-${i}`, true), auth)).status);
    assert.equal(statuses.filter((s) => s === 200).length, 64, 'exactly the limit is registered');
    assert.equal(statuses.filter((s) => s === 403).length, 300 - 64);
    const over = await post(`${ts.api}/v1/probes`, report('one-too-many', true), auth);
    assert.equal(over.status, 403);
    assert.match(String(over.json.error), /limit of 64 registered probers/);
    // Registered and configured probers still report.
    assert.equal((await post(`${ts.api}/v1/probes`, report('reg-0', false), auth)).status, 200);
    assert.equal((await post(`${ts.api}/v1/probes`, report('probe-a', true), auth)).status, 200);
    const text = await scrape(ts.api);
    assert.ok(seriesCount(text, 'gslb_probe_reports_total') <= 66, `${seriesCount(text, 'gslb_probe_reports_total')} prober series`);
    assert.equal(metric(text, 'gslb_probers', { kind: 'registered' }), 64);
    assert.equal((await probersOf(ts.api)).length, 65);
  });
});

describe('stale probers are pruned from state and metrics', () => {
  test('embedded: a prober that stops reporting disappears; one that keeps reporting stays', async () => {
    const ts = await startTestServer(
      { 'example.yaml': EXAMPLE_ZONE },
      { args: ['--probers', 'probe-a,probe-b'], extras: { probers: { pruneEveryMs: 100, staleAfterMs: 4000 } } },
    );
    let keepGoing = true;
    try {
      // (A state is stale 4 s after its last report here: generous, so that a loaded machine sees it first.)
      assert.equal((await post(`${ts.api}/v1/probes`, report('probe-a', true))).status, 200);
      assert.equal((await post(`${ts.api}/v1/probes`, report('probe-b', true))).status, 200);
      assert.deepEqual(await probersOf(ts.api), ['probe-a', 'probe-b']);
      assert.ok(metric(await scrape(ts.api), 'gslb_probe_reports_total', { prober: 'probe-a' }) !== undefined);
      const steady = (async () => {
        while (keepGoing) {
          await post(`${ts.api}/v1/probes`, report('probe-b', true));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await until('probe-a pruned from the regions view', async () => !(await probersOf(ts.api)).includes('probe-a'));
      const text = await scrape(ts.api);
      assert.equal(metric(text, 'gslb_probe_reports_total', { prober: 'probe-a' }), undefined, 'the series of the pruned prober is gone');
      assert.ok((metric(text, 'gslb_probe_reports_total', { prober: 'probe-b' }) ?? 0) > 0, 'the live prober keeps its series');
      assert.ok((metric(text, 'gslb_probe_states_pruned_total') ?? 0) >= 1);
      assert.deepEqual(await probersOf(ts.api), ['probe-b']);
      const file = join(ts.dir, 'data', 'state.json');
      await until('the state file forgets probe-a', async () => existsSync(file) && !readFileSync(file, 'utf8').includes('probe-a'));
      keepGoing = false;
      await steady;
    } finally {
      keepGoing = false;
      await ts.stop();
    }
  });

  describe('redis', () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => redis?.stop());

    test('a stale prober is deleted from Redis and forgotten by every node', async () => {
      const url = redis.namespacedUrl(`prune${process.pid}`);
      const a = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { nodeId: 'node-a', args: ['--redis', url, '--probers', 'probe-a'], extras: { probers: { pruneEveryMs: 100, staleAfterMs: 4000 } } });
      // Node b does not prune by itself within the test (its interval is long): what it forgets, it learns from a.
      const b = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { nodeId: 'node-b', args: ['--redis', url, '--probers', 'probe-a'], extras: { probers: { pruneEveryMs: 3_600_000 } } });
      try {
        assert.equal((await post(`${b.api}/v1/probes`, report('probe-a', true))).status, 200);
        await until('node a sees probe-a', async () => (await probersOf(a.api)).includes('probe-a'));
        assert.ok(metric(await scrape(b.api), 'gslb_probe_reports_total', { prober: 'probe-a' }) !== undefined);
        await until('probe-a pruned on node b', async () => !(await probersOf(b.api)).includes('probe-a'));
        assert.equal(metric(await scrape(b.api), 'gslb_probe_reports_total', { prober: 'probe-a' }), undefined);
        assert.deepEqual(await probersOf(a.api), []);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  });
});

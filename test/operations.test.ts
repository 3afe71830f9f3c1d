/**
 * Operations: Prometheus metrics with exact deltas after real UDP/TCP traffic, health transitions and probe
 * reports; the OpenAPI document and Swagger UI; the query log (`--query-log`); the `gslb probe` remote prober;
 * CLI help and usage errors; health transition log lines.
 *
 * Every packet and request goes to loopback: the DNS/API ports the servers bound, and HTTP backends this file
 * starts on 127.0.0.2 / 127.0.0.3. Regions with a `check` point only at those backends; the example zone's
 * TEST-NET endpoints have no check and are never contacted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SERVE_OPTIONS } from '../src/config.js';
import { RRType } from '../src/wire/constants.js';
import { buildQuery, ecsOption, tcpQuery, tcpRaw, udpQuery, udpRaw, type Target } from './helpers/dns-client.js';
import { writeGeoFixture } from './helpers/geo-fixture.js';
import { CLI, runCliAsync, startServe, type ServeProcess } from './helpers/process.js';
import { backend, closeBackend, type Backend } from './helpers/backend.js';
import { freePort } from './helpers/redis.js';
import { EXAMPLE_ZONE, startTestServer, type TestServer } from './helpers/server.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `pred` holds, or fail after `deadlineMs`. */
async function until(what: string, pred: () => Promise<boolean>, deadlineMs = 8000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (await pred()) return Date.now() - start;
    await sleep(25);
  }
  throw new Error(`${what}: not reached within ${deadlineMs} ms`);
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return (await res.json()) as T;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// --- Prometheus text format -------------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// Prometheus reads values with Go's ParseFloat, which takes NaN/Inf in any case (prom-client writes "Nan").
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/i;

/**
 * Parse the text exposition format strictly: every line is a HELP/TYPE comment, `name{labels} value`, or
 * empty (the format ignores blank lines; prom-client separates metric families with one).
 */
function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const lines = text.split('\n');
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      assert.ok(m, `malformed comment, ${where}`);
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      assert.match(name, METRIC_NAME, where);
      if (kind === 'TYPE') {
        assert.match(rest, /^(counter|gauge|histogram|summary|untyped)$/, where);
        assert.ok(!types.has(name), `TYPE declared twice, ${where}`);
        types.set(name, rest);
      } else help.set(name, rest);
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    assert.ok(m, `not a sample, ${where}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    assert.match(valueText, VALUE, `bad value, ${where}`);
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/y;
      let pos = 0;
      while (pos < labelText.length) {
        re.lastIndex = pos;
        const lm = re.exec(labelText);
        assert.ok(lm, `bad labels at ${pos}, ${where}`);
        const [, k, v] = lm as unknown as [string, string, string];
        assert.ok(!(k in labels), `label ${k} twice, ${where}`);
        labels[k] = v.replace(/\\(["\\n])/g, (_s, c: string) => (c === 'n' ? '\n' : c));
        pos = re.lastIndex;
        if (lm[3] === '' && pos < labelText.length) assert.fail(`trailing label text, ${where}`);
      }
    }
    samples.push({ name, labels, value: Number(valueText) });
  });
  return { samples, types, help };
}

/** The metric family a sample belongs to (histogram/summary samples carry suffixes). */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const t = types.get(base);
      if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
    }
  }
  return undefined;
}

/** `name{k="v",…}` with labels sorted and the constant `node` label left out: one key per series. */
function seriesKey(name: string, labels: Record<string, string>): string {
  const parts = Object.entries(labels)
    .filter(([k]) => k !== 'node')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}{${parts.join(',')}}`;
}

type Scrape = Map<string, number>;

async function scrapeText(api: string): Promise<string> {
  const res = await fetch(`${api}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function scrape(api: string): Promise<Scrape> {
  const { samples } = parseExposition(await scrapeText(api));
  const out: Scrape = new Map();
  for (const s of samples) out.set(seriesKey(s.name, s.labels), s.value);
  return out;
}

/** A series' value (0 when absent: a labelled counter has no series before its first increment). */
function val(m: Scrape, name: string, labels: Record<string, string> = {}): number {
  return m.get(seriesKey(name, labels)) ?? 0;
}

/** Non-zero changes of every series of `name` between two scrapes. */
function deltas(before: Scrape, after: Scrape, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  const keys = new Set([...before.keys(), ...after.keys()].filter((k) => k.startsWith(`${name}{`)));
  for (const k of keys) {
    const d = (after.get(k) ?? 0) - (before.get(k) ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// 1. Metrics

const Z = 'gslb.example.test';
const EU_WEST = '198.51.100.10';
const LONDON_ECS = () => ({ options: [ecsOption('81.2.69.0', 24)] });

describe('metrics: DNS counters after real UDP and TCP queries', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE }, { nodeId: 'metrics-node' });
  });
  after(async () => {
    await ts?.stop();
  });

  test('queries, truncations, drops, answers and decision-cache lookups change by exactly what was sent', async () => {
    const before = await scrape(ts.api);

    // UDP: a service answer twice (decision cache miss, then hit), NXDOMAIN, REFUSED, a truncated TXT.
    const a1 = await udpQuery(ts.udp, { name: `app.${Z}`, type: RRType.A, edns: LONDON_ECS() });
    const a2 = await udpQuery(ts.udp, { name: `app.${Z}`, type: RRType.A, edns: LONDON_ECS() });
    for (const a of [a1, a2]) {
      assert.equal(a.rcode, 0);
      assert.deepEqual(
        a.answers.map((r) => (r.data as { address: string }).address),
        [EU_WEST],
        'a London client is steered to eu-west',
      );
    }
    const nx = await udpQuery(ts.udp, { name: `nothing-here.${Z}`, type: RRType.A });
    assert.equal(nx.rcode, 3);
    const refused = await udpQuery(ts.udp, { name: 'www.example.org', type: RRType.A });
    assert.equal(refused.rcode, 5);
    const big = await udpQuery(ts.udp, { name: `big.${Z}`, type: RRType.TXT, edns: false });
    assert.equal(big.rcode, 0);
    assert.ok(big.tc, 'the big TXT set does not fit 512 bytes: TC=1');
    assert.equal(big.answers.length, 0);

    // UDP: a runt and a response (QR=1) are dropped without an answer.
    const response = buildQuery({ name: `app.${Z}`, type: RRType.A, flags: 0x8000, edns: false });
    const [runtReply, qrReply] = await Promise.all([udpRaw(ts.udp, Buffer.from([1, 2, 3, 4, 5]), 300), udpRaw(ts.udp, response, 300)]);
    assert.equal(runtReply, undefined);
    assert.equal(qrReply, undefined);

    // TCP: AAAA of the service (same client subnet, other family: a cache miss; eu-west has no IPv6: us-east),
    // the big TXT in full, and a runt followed by a query on one connection (the runt is dropped, the query answered).
    const aaaa = await tcpQuery(ts.tcp, { name: `app.${Z}`, type: RRType.AAAA, edns: LONDON_ECS() });
    assert.equal(aaaa.rcode, 0);
    assert.deepEqual(
      aaaa.answers.map((r) => (r.data as { address: string }).address),
      ['2001:db8::10'],
      'eu-west has no IPv6 endpoint: the nearest region with one answers',
    );
    const bigTcp = await tcpQuery(ts.tcp, { name: `big.${Z}`, type: RRType.TXT, edns: false });
    assert.equal(bigTcp.tc, false);
    assert.equal(bigTcp.answers.length, 12);
    const replies = await tcpRaw(ts.tcp, [Buffer.from([9, 9, 9]), buildQuery({ name: `ns1.${Z}`, type: RRType.A })], 1);
    assert.equal(replies.length, 1);

    const after = await scrape(ts.api);
    assert.deepEqual(deltas(before, after, 'gslb_dns_queries_total'), {
      'gslb_dns_queries_total{qtype="A",rcode="NOERROR",transport="udp"}': 2,
      'gslb_dns_queries_total{qtype="A",rcode="NXDOMAIN",transport="udp"}': 1,
      'gslb_dns_queries_total{qtype="A",rcode="REFUSED",transport="udp"}': 1,
      'gslb_dns_queries_total{qtype="TXT",rcode="NOERROR",transport="udp"}': 1,
      'gslb_dns_queries_total{qtype="AAAA",rcode="NOERROR",transport="tcp"}': 1,
      'gslb_dns_queries_total{qtype="TXT",rcode="NOERROR",transport="tcp"}': 1,
      'gslb_dns_queries_total{qtype="A",rcode="NOERROR",transport="tcp"}': 1,
    });
    assert.deepEqual(deltas(before, after, 'gslb_dns_truncated_total'), { 'gslb_dns_truncated_total{transport="udp"}': 1 });
    assert.deepEqual(deltas(before, after, 'gslb_dns_dropped_total'), {
      'gslb_dns_dropped_total{transport="udp"}': 2,
      'gslb_dns_dropped_total{transport="tcp"}': 1,
    });
    assert.deepEqual(deltas(before, after, 'gslb_dns_answers_total'), {
      [`gslb_dns_answers_total{region="eu-west",service="app.${Z}"}`]: 2,
      [`gslb_dns_answers_total{region="us-east",service="app.${Z}"}`]: 1,
    });
    assert.deepEqual(deltas(before, after, 'gslb_decision_cache_lookups_total'), {
      'gslb_decision_cache_lookups_total{result="hit"}': 1,
      'gslb_decision_cache_lookups_total{result="miss"}': 2,
    });
    // Both transports are always exposed, also at zero.
    assert.ok(after.has('gslb_dns_truncated_total{transport="tcp"}'));
    assert.ok(after.has('gslb_dns_dropped_total{transport="tcp"}'));
  });

  test('error answers are counted by their full rcode, by name: FORMERR, NOTIMP and the extended BADVERS (16)', async () => {
    const before = await scrape(ts.api);
    const formerr = buildQuery({ name: `ns1.${Z}`, type: RRType.A, edns: false });
    formerr.writeUInt16BE(2, 4); // QDCOUNT 2 with one question: a readable header, a broken body
    assert.equal((await udpQuery(ts.udp, formerr)).rcode, 1);
    const notimp = buildQuery({ name: `ns1.${Z}`, type: RRType.A, flags: 2 << 11, edns: false }); // opcode STATUS
    assert.equal((await udpQuery(ts.udp, notimp)).rcode, 4);
    await tcpQuery(ts.tcp, { name: `ns1.${Z}`, type: RRType.A, edns: { version: 1 } });
    const after = await scrape(ts.api);
    const byRcode: Record<string, number> = {};
    for (const [k, d] of Object.entries(deltas(before, after, 'gslb_dns_queries_total'))) {
      const m = /rcode="(\w+)",transport="(\w+)"/.exec(k);
      assert.ok(m, k);
      byRcode[`${m[1]}/${m[2]}`] = (byRcode[`${m[1]}/${m[2]}`] ?? 0) + d;
    }
    assert.deepEqual(byRcode, { 'FORMERR/udp': 1, 'NOTIMP/udp': 1, 'BADVERS/tcp': 1 });
    assert.equal(val(after, 'gslb_dns_queries_total', { qtype: 'A', rcode: 'BADVERS', transport: 'tcp' }) - val(before, 'gslb_dns_queries_total', { qtype: 'A', rcode: 'BADVERS', transport: 'tcp' }), 1);
  });

  test('query duration is sampled: 64 queries on one UDP listener time exactly one', async () => {
    const before = await scrape(ts.api);
    for (let i = 0; i < 64; i++) {
      const r = await udpQuery(ts.udp, { name: `ns1.${Z}`, type: RRType.A });
      assert.equal(r.rcode, 0);
    }
    const after = await scrape(ts.api);
    assert.equal(val(after, 'gslb_dns_query_duration_seconds_count') - val(before, 'gslb_dns_query_duration_seconds_count'), 1);
    assert.ok(val(after, 'gslb_dns_query_duration_seconds_sum') > val(before, 'gslb_dns_query_duration_seconds_sum'));
    assert.equal(val(after, 'gslb_dns_query_duration_seconds_bucket', { le: '+Inf' }), val(after, 'gslb_dns_query_duration_seconds_count'));
    assert.equal(
      val(after, 'gslb_dns_queries_total', { qtype: 'A', rcode: 'NOERROR', transport: 'udp' }) - val(before, 'gslb_dns_queries_total', { qtype: 'A', rcode: 'NOERROR', transport: 'udp' }),
      64,
    );
  });

  test('store, snapshot version (equal to readyz) and a state rebuild after a drain', async () => {
    let m = await scrape(ts.api);
    assert.equal(val(m, 'gslb_store_up', { kind: 'embedded' }), 1);
    let ready = await getJson<{ snapshotVersion: number }>(`${ts.api}/readyz`);
    assert.equal(val(m, 'gslb_snapshot_version'), ready.snapshotVersion);
    const rebuildsBefore = val(m, 'gslb_snapshot_rebuild_duration_seconds_count', { kind: 'state' });
    const versionBefore = ready.snapshotVersion;
    assert.equal(val(m, 'gslb_region_drained', { region: 'v4only' }), 0);

    const drained = await postJson(`${ts.api}/v1/regions/v4only/drain`, { reason: 'metrics test' });
    assert.equal(drained.status, 200);
    m = await scrape(ts.api);
    ready = await getJson<{ snapshotVersion: number }>(`${ts.api}/readyz`);
    assert.ok(ready.snapshotVersion > versionBefore, 'a drain builds a new snapshot');
    assert.equal(val(m, 'gslb_snapshot_version'), ready.snapshotVersion);
    assert.ok(val(m, 'gslb_snapshot_rebuild_duration_seconds_count', { kind: 'state' }) > rebuildsBefore, 'the state rebuild is timed');
    assert.equal(val(m, 'gslb_region_drained', { region: 'v4only' }), 1);
    assert.equal(val(m, 'gslb_region_up', { region: 'v4only' }), 1, 'region_up is health before drains');

    assert.equal((await postJson(`${ts.api}/v1/regions/v4only/undrain`, {})).status, 200);
    m = await scrape(ts.api);
    assert.equal(val(m, 'gslb_region_drained', { region: 'v4only' }), 0);
  });

  test('zone reloads are counted by result: server.reload() with a good, then a bad zone file', async () => {
    const total = (s: Scrape) => val(s, 'gslb_zone_reloads_total', { result: 'success' }) + val(s, 'gslb_zone_reloads_total', { result: 'failure' });
    // The directory watcher reloads too: let it run and settle, then count only what reload() does.
    const settle = async (start: Scrape) => {
      await until('the watcher reload', async () => total(await scrape(ts.api)) > total(start), 3000).catch(() => undefined);
      await sleep(300);
    };
    let m = await scrape(ts.api);
    const zonesBefore = val(m, 'gslb_snapshot_rebuild_duration_seconds_count', { kind: 'zones' });
    writeFileSync(
      join(ts.dir, 'extra.yaml'),
      'zone: extra.test\nsoa: { mname: ns1.extra.test, rname: h.extra.test, serial: 1 }\nns: [ns1.extra.test]\nrecords:\n  ns1: { A: [192.0.2.1] }\n',
    );
    await settle(m);
    m = await scrape(ts.api);
    const good = ts.server.reload();
    assert.equal(good.ok, true);
    let after = await scrape(ts.api);
    assert.deepEqual(deltas(m, after, 'gslb_zone_reloads_total'), { 'gslb_zone_reloads_total{result="success"}': 1 });
    assert.ok(val(after, 'gslb_snapshot_rebuild_duration_seconds_count', { kind: 'zones' }) > zonesBefore);
    assert.equal((await udpQuery(ts.udp, { name: 'ns1.extra.test', type: RRType.A })).rcode, 0, 'the new zone is served');

    writeFileSync(join(ts.dir, 'bad.yaml'), 'zone: bad.test\nsoa: { mname: ns1.bad.test }\nrecords:\n  www: { A: [10.0.0.300] }\n');
    try {
      await settle(after);
      m = await scrape(ts.api);
      const bad = ts.server.reload();
      assert.equal(bad.ok, false);
      after = await scrape(ts.api);
      assert.deepEqual(deltas(m, after, 'gslb_zone_reloads_total'), { 'gslb_zone_reloads_total{result="failure"}': 1 });
      assert.equal((await udpQuery(ts.udp, { name: 'ns1.extra.test', type: RRType.A })).rcode, 0, 'the last good configuration keeps serving');
    } finally {
      unlinkSync(join(ts.dir, 'bad.yaml'));
    }
  });

  test('the whole exposition parses; names follow Prometheus conventions', async () => {
    const text = await scrapeText(ts.api);
    const { samples, types, help } = parseExposition(text);
    assert.ok(samples.length > 50);
    for (const s of samples) {
      const family = familyOf(s.name, types);
      assert.ok(family !== undefined, `sample ${s.name} belongs to no declared metric`);
      assert.ok(help.has(family), `${family} has HELP`);
    }
    const ours = [...types.keys()].filter((n) => n.startsWith('gslb_'));
    assert.deepEqual(
      new Set(ours),
      new Set([
        'gslb_dns_queries_total',
        'gslb_dns_truncated_total',
        'gslb_dns_dropped_total',
        'gslb_dns_answers_total',
        'gslb_rrl_responses_total',
        'gslb_dns_cookies_total',
        'gslb_rrl_table_bytes',
        'gslb_dns_query_duration_seconds',
        'gslb_decision_cache_lookups_total',
        'gslb_decision_cache_entries',
        'gslb_region_up',
        'gslb_region_drained',
        'gslb_endpoint_up',
        'gslb_health_transitions_total',
        'gslb_probe_reports_total',
        'gslb_probe_reports_rejected_total',
        'gslb_probers',
        'gslb_probe_states_pruned_total',
        'gslb_api_bodies_rejected_total',
        'gslb_store_up',
        'gslb_store_reseeds_total',
        'gslb_store_resyncs_total',
        'gslb_snapshot_version',
        'gslb_snapshot_rebuild_duration_seconds',
        'gslb_zone_reloads_total',
        'gslb_zone_reloads_rejected_total',
        'gslb_dns_tcp_connections',
        'gslb_dns_tcp_closed_total',
        'gslb_udp_io_info',
        'gslb_udp_oversized_queries_total',
        'gslb_udp_batch_calls_total',
        'gslb_udp_batch_datagrams_total',
        'gslb_udp_send_waits_total',
        'gslb_udp_send_errors_total',
        'gslb_udp_coalesce_starts_total',
        'gslb_udp_coalesce_ticks_total',
        'gslb_beacon_samples_total',
        'gslb_region_utilization',
        'gslb_service_shed_share',
      ]),
    );
    for (const [name, type] of types) {
      if (name.startsWith('gslb_')) assert.match(name, /^gslb_[a-z0-9]+(_[a-z0-9]+)*$/, `${name}: lowercase snake_case`);
      if (type === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} ends in _total`);
      // (prom-client's own default gauge nodejs_active_resources_total breaks this; ours must not.)
      else if (name.startsWith('gslb_')) assert.ok(!name.endsWith('_total'), `${type} ${name} must not end in _total`);
      if (/duration|latency|_time\b|_lag/.test(name) || type === 'histogram') assert.match(name, /_seconds(_total)?$/, `${name}: durations in seconds`);
      assert.doesNotMatch(name, /_(ms|millis|milliseconds|us|ns)(_|$)/, `${name}: base units only`);
    }
    // Histograms are consistent: cumulative buckets, +Inf bucket = count.
    for (const [name, type] of types) {
      if (type !== 'histogram') continue;
      const bySeries = new Map<string, Sample[]>();
      for (const s of samples.filter((x) => x.name === `${name}_bucket`)) {
        const { le: _le, ...rest } = s.labels;
        const k = seriesKey(name, rest);
        bySeries.set(k, [...(bySeries.get(k) ?? []), s]);
      }
      for (const [k, buckets] of bySeries) {
        const counts = buckets.map((b) => b.value);
        assert.deepEqual(counts, [...counts].sort((x, y) => x - y), `${k}: cumulative buckets`);
        assert.equal(buckets[buckets.length - 1]?.labels.le, '+Inf', `${k}: ends with +Inf`);
        const count = samples.find((x) => x.name === `${name}_count` && seriesKey(name, (({ le: _l, ...r }) => r)(x.labels)) === k);
        assert.equal(count?.value, counts[counts.length - 1], `${k}: +Inf bucket equals _count`);
      }
    }
    // Every sample carries this node's id.
    for (const s of samples.filter((x) => x.name.startsWith('gslb_'))) assert.equal(s.labels.node, 'metrics-node', s.name);
  });
});

describe('metrics: health transitions and probe reports (real checks of a loopback backend)', () => {
  let ts: TestServer;
  let primary: Backend;
  before(async () => {
    const port = await freePort();
    primary = await backend('127.0.0.2', port);
    ts = await startTestServer(
      {
        'ops.yaml': `
zone: ops.test
soa: { mname: ns1.ops.test, rname: hostmaster.ops.test, serial: 1, minimum: 60 }
ns: [ns1.ops.test]
records:
  ns1: { A: [192.0.2.53] }
regions:
  primary:
    location: { lat: 51.5, lon: -0.12 }
    endpoints: [ { address: 127.0.0.2 } ]
    check: { type: http, port: ${port}, path: /health, interval: 200ms, timeout: 150ms, rise: 2, fall: 2 }
services:
  app: { policy: failover, regions: [primary], ttl: 30 }
`,
      },
      { nodeId: 'health-node', args: ['--probers', 'p-x'] },
    );
  });
  after(async () => {
    await ts?.stop();
    await closeBackend(primary);
  });

  const regionView = () =>
    getJson<{ endpoints: { address: string; up: boolean; unverified: boolean; probers: { prober: string; up: boolean; lastError?: string }[] }[] }>(
      `${ts.api}/v1/regions/primary`,
    );

  test('the node’s own checks are counted under its node id, and keep growing', async () => {
    await until('verified up', async () => (await regionView()).endpoints.every((e) => !e.unverified && e.up));
    const first = val(await scrape(ts.api), 'gslb_probe_reports_total', { prober: 'health-node' });
    assert.ok(first >= 1);
    await until('more reports', async () => val(await scrape(ts.api), 'gslb_probe_reports_total', { prober: 'health-node' }) > first, 3000);
    const m = await scrape(ts.api);
    assert.equal(val(m, 'gslb_endpoint_up', { region: 'primary', endpoint: '127.0.0.2' }), 1);
    assert.equal(val(m, 'gslb_region_up', { region: 'primary' }), 1);
  });

  test('a backend answering 503: endpoint_up and region_up go to 0, transitions{to="down"} count one each', async () => {
    const before = await scrape(ts.api);
    assert.equal(val(before, 'gslb_endpoint_up', { region: 'primary', endpoint: '127.0.0.2' }), 1);
    primary.healthy = false;
    await until('endpoint_up 0', async () => val(await scrape(ts.api), 'gslb_endpoint_up', { region: 'primary', endpoint: '127.0.0.2' }) === 0);
    const after = await scrape(ts.api);
    assert.equal(val(after, 'gslb_region_up', { region: 'primary' }), 0);
    assert.deepEqual(deltas(before, after, 'gslb_health_transitions_total'), {
      'gslb_health_transitions_total{endpoint="127.0.0.2",region="primary",to="down"}': 1,
      'gslb_health_transitions_total{endpoint="",region="primary",to="down"}': 1,
    });
    const view = await regionView();
    assert.equal(view.endpoints[0]?.probers.find((p) => p.prober === 'health-node')?.lastError, 'HTTP 503');

    primary.healthy = true;
    await until('endpoint_up 1 again', async () => val(await scrape(ts.api), 'gslb_endpoint_up', { region: 'primary', endpoint: '127.0.0.2' }) === 1);
    const back = await scrape(ts.api);
    assert.equal(val(back, 'gslb_region_up', { region: 'primary' }), 1);
    assert.equal(
      val(back, 'gslb_health_transitions_total', { endpoint: '127.0.0.2', region: 'primary', to: 'up' }) -
        val(before, 'gslb_health_transitions_total', { endpoint: '127.0.0.2', region: 'primary', to: 'up' }),
      1,
    );
  });

  test('POST /v1/probes from prober p-x is counted under its name, one per result', async () => {
    const before = await scrape(ts.api);
    assert.equal(val(before, 'gslb_probe_reports_total', { prober: 'p-x' }), 0);
    const r = await postJson(`${ts.api}/v1/probes`, {
      prober: 'p-x',
      results: [
        { region: 'primary', endpoint: '127.0.0.2', ok: true, rttMs: 1 },
        { region: 'primary', endpoint: '127.0.0.2', ok: true, rttMs: 2 },
      ],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const after = await scrape(ts.api);
    assert.equal(val(after, 'gslb_probe_reports_total', { prober: 'p-x' }), 2);
    // A rejected report is not counted.
    const bad = await postJson(`${ts.api}/v1/probes`, { prober: 'p-x', results: [{ region: 'nowhere', endpoint: '127.0.0.2', ok: true }] });
    assert.equal(bad.status, 400);
    assert.equal(val(await scrape(ts.api), 'gslb_probe_reports_total', { prober: 'p-x' }), 2);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 2. OpenAPI

describe('OpenAPI document and Swagger UI', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ 'example.yaml': EXAMPLE_ZONE });
  });
  after(async () => {
    await ts?.stop();
  });

  interface Operation {
    requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> };
    parameters?: { name: string; in: string; required?: boolean }[];
    responses?: unknown;
  }
  type Doc = { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Operation>> };

  test('GET /openapi.json is an OpenAPI 3 document with every route of the contract and its methods', async () => {
    const res = await fetch(`${ts.api}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const doc = (await res.json()) as Doc;
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.equal(typeof doc.info.title, 'string');
    assert.equal(typeof doc.info.version, 'string');
    const expected: Record<string, string[]> = {
      '/v1/regions/{name}': ['delete', 'get', 'put'],
      '/v1/regions': ['get'],
      '/v1/regions/{name}/drain': ['post'],
      '/v1/regions/{name}/undrain': ['post'],
      '/v1/probes': ['post'],
      '/v1/latency': ['get', 'post'],
      '/v1/explain': ['get'],
      '/healthz': ['get'],
      '/readyz': ['get'],
      '/metrics': ['get'],
      '/v1/status': ['get'],
      '/': ['get'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      const ops = doc.paths[path];
      assert.ok(ops, `${path} is documented`);
      const got = Object.keys(ops).filter((k) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(k));
      assert.deepEqual(got.sort(), methods, `${path} methods`);
    }
    const nameParam = doc.paths['/v1/regions/{name}']?.get?.parameters?.find((p) => p.name === 'name');
    assert.deepEqual([nameParam?.in, nameParam?.required], ['path', true]);
    const explainParams = doc.paths['/v1/explain']?.get?.parameters ?? [];
    assert.deepEqual(explainParams.map((p) => p.name).sort(), ['client', 'ecs', 'name', 'type']);
  });

  test('every operation with a body has a JSON requestBody schema that rejects unknown fields', async () => {
    const doc = (await (await fetch(`${ts.api}/openapi.json`)).json()) as Doc;
    const objectsWithout: string[] = [];
    /** Every object schema inside, including array items and nested properties, closes additionalProperties. */
    const walk = (s: unknown, at: string): void => {
      if (!s || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      if (o.type === 'object' || o.properties) {
        if (o.additionalProperties !== false) objectsWithout.push(at);
      }
      for (const [k, v] of Object.entries(o)) {
        if (k === 'properties' && v && typeof v === 'object') for (const [pk, pv] of Object.entries(v)) walk(pv, `${at}.${pk}`);
        else if (k === 'items' || k === 'anyOf' || k === 'oneOf' || k === 'allOf') (Array.isArray(v) ? v : [v]).forEach((x, i) => walk(x, `${at}.${k}[${i}]`));
      }
    };
    const mutating = [
      ['/v1/regions/{name}', 'put'],
      ['/v1/regions/{name}/drain', 'post'],
      ['/v1/regions/{name}/undrain', 'post'],
      ['/v1/probes', 'post'],
      ['/v1/latency', 'post'],
      ['/v1/load', 'post'],
      ['/v1/beacons', 'post'],
      ['/v1/zones/{zone}/dnssec/rollover', 'post'],
    ] as const;
    for (const [path, method] of mutating) {
      const schema = doc.paths[path]?.[method]?.requestBody?.content?.['application/json']?.schema;
      assert.ok(schema, `${method.toUpperCase()} ${path} has a requestBody schema`);
      assert.equal(schema.additionalProperties, false, `${method.toUpperCase()} ${path}: additionalProperties false`);
      walk(schema, `${method.toUpperCase()} ${path}`);
    }
    assert.deepEqual(objectsWithout, [], 'nested object schemas are closed too');
    // DELETE takes no body; every mutating operation of the document is in the list above or is that DELETE.
    const all = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => ['put', 'post', 'patch', 'delete'].includes(m)).map((m) => `${m} ${p}`));
    assert.deepEqual(all.sort(), [...mutating.map(([p, m]) => `${m} ${p}`), 'delete /v1/regions/{name}'].sort());
    // The document says what the server enforces: an unknown field is a 400.
    const r = await postJson(`${ts.api}/v1/probes`, { prober: 'x', results: [{ region: 'us-east', endpoint: '192.0.2.10', ok: true }], extra: 1 });
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'extra');
  });

  test('GET /docs/ (and /docs) serves the Swagger UI', async () => {
    for (const path of ['/docs/', '/docs']) {
      const res = await fetch(`${ts.api}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      const html = await res.text();
      assert.match(html, /<title>Swagger UI<\/title>/);
      assert.match(html, /swagger-ui/);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// 3. Query log, through the real CLI (JSON lines on stdout)

describe('query log (--query-log)', () => {
  let dir: string;
  const procs: ServeProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gslb-ops-ql-'));
    writeFileSync(join(dir, 'example.yaml'), EXAMPLE_ZONE);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(extra: string[], nodeId: string): Promise<{ p: ServeProcess; dns: Target }> {
    const data = mkdtempSync(join(dir, 'data-'));
    const p = await startServe(['--zones', dir, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', data, '--node-id', nodeId, '--geoip', writeGeoFixture(data), ...extra]);
    procs.push(p);
    const port = p.dnsPorts[0];
    assert.ok(port !== undefined);
    return { p, dns: { host: '127.0.0.1', port } };
  }

  /** Queries of every kind; the runt is dropped and never logged. */
  async function traffic(dns: Target): Promise<void> {
    assert.equal((await udpQuery(dns, { name: `app.${Z}`, type: RRType.A, edns: LONDON_ECS() })).rcode, 0);
    assert.equal((await tcpQuery(dns, { name: `app.${Z}`, type: RRType.AAAA, edns: false })).rcode, 0);
    assert.equal((await udpQuery(dns, { name: `nothing-here.${Z}`, type: RRType.A })).rcode, 3);
    assert.equal((await udpQuery(dns, { name: 'www.example.org', type: RRType.A })).rcode, 5);
    assert.equal(await udpRaw(dns, Buffer.from([1, 2, 3]), 200), undefined);
  }

  /** SIGHUP logs "zones reloaded" after everything logged before it: a barrier in the log stream. */
  async function barrier(p: ServeProcess): Promise<void> {
    const seen = p.logs.filter((l) => l.msg === 'zones reloaded').length;
    p.child.kill('SIGHUP');
    await p.waitForLog(() => p.logs.filter((l) => l.msg === 'zones reloaded').length > seen);
  }

  test('--query-log 1 logs every query as JSON with qname, qtype, rcode, transport, client, ecs, service, region', async () => {
    const { p, dns } = await serve(['--query-log', '1'], 'ql-node');
    await traffic(dns);
    await barrier(p);
    const lines = p.logs.filter((l) => l.msg === 'query');
    assert.equal(lines.length, 4, JSON.stringify(lines));
    for (const l of lines) {
      assert.equal(l.level, 30, 'info');
      assert.equal(l.module, 'query');
      assert.equal(l.node, 'ql-node');
      assert.equal(l.client, '127.0.0.1');
    }
    const [a, aaaa, nx, refused] = lines as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(
      { qname: a.qname, qtype: a.qtype, rcode: a.rcode, transport: a.transport, ecs: a.ecs, service: a.service, region: a.region },
      { qname: `app.${Z}`, qtype: 'A', rcode: 'NOERROR', transport: 'udp', ecs: '81.2.69.0/24', service: `app.${Z}`, region: 'eu-west' },
    );
    assert.equal(typeof a.scope, 'number');
    assert.equal(a.ttl, 30);
    assert.deepEqual(
      { qname: aaaa.qname, qtype: aaaa.qtype, rcode: aaaa.rcode, transport: aaaa.transport, service: aaaa.service, hasEcs: 'ecs' in aaaa },
      { qname: `app.${Z}`, qtype: 'AAAA', rcode: 'NOERROR', transport: 'tcp', service: `app.${Z}`, hasEcs: false },
    );
    assert.equal(typeof aaaa.region, 'string');
    assert.deepEqual(
      { qname: nx.qname, qtype: nx.qtype, rcode: nx.rcode, transport: nx.transport, hasService: 'service' in nx },
      { qname: `nothing-here.${Z}`, qtype: 'A', rcode: 'NXDOMAIN', transport: 'udp', hasService: false },
    );
    assert.deepEqual({ qname: refused.qname, rcode: refused.rcode }, { qname: 'www.example.org', rcode: 'REFUSED' });
  });

  test('without --query-log no query is logged', async () => {
    const { p, dns } = await serve([], 'quiet-node');
    await traffic(dns);
    await barrier(p);
    assert.deepEqual(
      p.logs.filter((l) => l.msg === 'query' || l.module === 'query'),
      [],
    );
  });

  test('--query-log 2 and --query-log x are usage errors (exit 2) naming the flag', async () => {
    const results = await Promise.all(
      ['2', 'x'].map((v) => runCliAsync(['serve', '--zones', dir, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--query-log', v])),
    );
    for (const r of results) {
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--query-log/);
    }
    const env = await runCliAsync(['serve', '--zones', dir, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0'], { GSLB_QUERY_LOG: 'often' });
    assert.equal(env.status, 2, env.stderr);
    assert.match(env.stderr, /--query-log: "often"/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 4. gslb probe

describe('gslb probe (remote prober)', () => {
  let ts: TestServer;
  let good: Backend;
  let failing: Backend;
  before(async () => {
    const port = await freePort();
    good = await backend('127.0.0.2', port, true);
    failing = await backend('127.0.0.3', port, false);
    ts = await startTestServer(
      {
        'probe.yaml': `
zone: probe.test
soa: { mname: ns1.probe.test, rname: hostmaster.probe.test, serial: 1, minimum: 60 }
ns: [ns1.probe.test]
records:
  ns1: { A: [192.0.2.53] }
regions:
  pool:
    location: { lat: 51.5, lon: -0.12 }
    endpoints: [ { address: 127.0.0.2 }, { address: 127.0.0.3 } ]
    check: { type: http, port: ${port}, path: /health, interval: 1s, timeout: 500ms, rise: 2, fall: 2 }
  plain:
    location: { lat: 40.7, lon: -74.0 }
    endpoints: [ { address: 192.0.2.99 } ]
services:
  app: { policy: failover, regions: [pool, plain], ttl: 30 }
`,
      },
      // The probers these tests run (without --api-token only configured probers may report).
      { nodeId: 'probe-node', args: ['--probers', 'probe-test,probe-second,probe-loop'] },
    );
  });
  after(async () => {
    await ts?.stop();
    await Promise.all([closeBackend(good), closeBackend(failing)]);
  });

  test('--once checks every endpoint with a check, reports them, and the node shows the prober’s verdicts', async () => {
    const hitsBefore = good.hits + failing.hits;
    const r = await runCliAsync(['probe', '--api', ts.api, '--name', 'probe-test', '--once']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /probe-test: reported 2 result\(s\), 1 failing, to http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(good.hits + failing.hits >= hitsBefore + 2, 'the prober checked both backends itself');

    const view = await getJson<{
      endpoints: { address: string; probers: { prober: string; up: boolean; fresh: boolean; lastError?: string; rttMs?: number }[] }[];
    }>(`${ts.api}/v1/regions/pool`);
    const prober = (address: string) => view.endpoints.find((e) => e.address === address)?.probers.find((p) => p.prober === 'probe-test');
    const ok = prober('127.0.0.2');
    const bad = prober('127.0.0.3');
    assert.ok(ok && bad, JSON.stringify(view.endpoints));
    assert.equal(ok.up, true);
    assert.equal(ok.fresh, true);
    assert.equal(ok.lastError, undefined);
    assert.equal(typeof ok.rttMs, 'number');
    assert.equal(bad.up, false);
    assert.equal(bad.lastError, 'HTTP 503');
    // The region without a check was not probed.
    const plain = await getJson<{ endpoints: { probers: unknown[] }[] }>(`${ts.api}/v1/regions/plain`);
    assert.deepEqual(plain.endpoints[0]?.probers, []);
    const m = await scrape(ts.api);
    assert.equal(val(m, 'gslb_probe_reports_total', { prober: 'probe-test' }), 2);
  });

  test('with several --api URLs, a node that does not answer is skipped and the next one takes the report', async () => {
    const closed = await freePort();
    const r = await runCliAsync(['probe', '--api', `http://127.0.0.1:${closed},${ts.api}`, '--name', 'probe-second', '--once']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${closed}`), 'the unreachable node is named');
    assert.ok(r.stdout.includes(`probe-second: reported 2 result(s), 1 failing, to ${ts.api}`), r.stdout);
    assert.equal(val(await scrape(ts.api), 'gslb_probe_reports_total', { prober: 'probe-second' }), 2);
  });

  test('without --once it reports every --interval until SIGTERM, then exits 0', async (tc) => {
    const child = spawn(process.execPath, [CLI, 'probe', '--api', ts.api, '--name', 'probe-loop', '--interval', '300ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    try {
      const rounds = () => out.split('\n').filter((l) => l.includes('probe-loop: reported 2 result(s)'));
      await until('six rounds', async () => rounds().length >= 6, 10_000);
      // The first round is slow (a fresh process's first fetch), and the next one starts as soon as the
      // interval since the first one's start is over: measure from the second round on.
      const t = rounds()
        .slice(1)
        .map((l) => Date.parse(l.slice(0, l.indexOf(' '))));
      const gaps = t.slice(1).map((x, i) => x - t[i]!);
      tc.diagnostic(`gaps between rounds: ${gaps.join(', ')} ms (--interval 300ms)`);
      // Rounds start every 300 ms (each line is printed when its round ends, so single gaps jitter).
      assert.ok(t[t.length - 1]! - t[0]! >= (t.length - 1) * 300 - 150, `rounds too close: ${gaps.join(', ')} ms`);
      assert.ok(Math.min(...gaps) < 380, `rounds later than the interval: ${gaps.join(', ')} ms`);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    const started = Date.now();
    assert.equal(await exited, 0, err);
    assert.ok(Date.now() - started < 2000, 'SIGTERM stops it promptly');
  });

  test('--once against an API that does not answer exits 1', async () => {
    const port = await freePort();
    const r = await runCliAsync(['probe', '--api', `http://127.0.0.1:${port}`, '--name', 'probe-test', '--once']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });

  test('bad flags exit 2 naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--bogus'], /unknown option --bogus/],
      [['--api', 'not a url', '--once'], /--api/],
      [['--api', ts.api, '--interval', '10ms', '--once'], /--interval/],
      [['--api', ts.api, '--name', 'bad name!', '--concurrency', '1', '--once'], /--name/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCliAsync(['probe', ...args])));
    results.forEach((r, i) => {
      assert.equal(r.status, 2, `${cases[i]![0].join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, cases[i]![1]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// 5. CLI help and usage errors

/** Every `--option` a help text mentions. */
function mentionedOptions(help: string): Set<string> {
  return new Set(help.match(/--[a-z][a-z-]*/g) ?? []);
}

describe('CLI help and usage', () => {
  test('gslb --help and every command\'s --help exit 0 and name every option the command accepts', async () => {
    const [main, serve, check, explain, probe] = await Promise.all([
      runCliAsync(['--help']),
      runCliAsync(['serve', '--help']),
      runCliAsync(['check', '--help']),
      runCliAsync(['explain', '--help']),
      runCliAsync(['probe', '--help']),
    ]);
    for (const r of [main, serve, check, explain, probe]) {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^Usage: gslb/);
    }
    for (const cmd of ['serve', 'check', 'explain', 'probe']) assert.match(main.stdout, new RegExp(`^\\s+${cmd}\\s+\\S`, 'm'), `main help lists ${cmd}`);
    assert.match(main.stdout, /--help/);

    const serveFlags = Object.values(SERVE_OPTIONS).map((o) => o.flag);
    assert.deepEqual(mentionedOptions(serve.stdout), new Set(serveFlags), 'serve help: exactly the options serve parses');
    for (const o of Object.values(SERVE_OPTIONS)) assert.match(serve.stdout, new RegExp(`${o.flag}\\b.*${o.env}`), `${o.flag} with ${o.env}`);
    assert.deepEqual(mentionedOptions(check.stdout), new Set(['--zones']));
    assert.match(check.stdout, /GSLB_ZONES/);
    assert.deepEqual(mentionedOptions(explain.stdout), new Set(['--type', '--client', '--ecs', '--api', '--json']));
    assert.deepEqual(mentionedOptions(probe.stdout), new Set(['--api', '--name', '--interval', '--api-token', '--concurrency', '--once']));
  });

  test('the options a help text names are accepted by the command (no "unknown option")', async () => {
    const probes = await Promise.all([
      // explain: every flag parses (the API is a closed port, so it fails with exit 1, not a usage error).
      (async () => {
        const port = await freePort();
        return runCliAsync(['explain', `app.${Z}`, '--type', 'AAAA', '--ecs', '81.2.69.0/24', '--api', `http://127.0.0.1:${port}`, '--json']);
      })(),
      (async () => {
        const port = await freePort();
        return runCliAsync(['probe', '--api', `http://127.0.0.1:${port}`, '--name', 'n', '--interval', '1s', '--api-token', 'tok', '--concurrency', '2', '--once']);
      })(),
    ]);
    for (const r of probes) {
      assert.equal(r.status, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /unknown option/);
    }
  });

  test('unknown command, no command, explain without a name: exit 2 with a message', async () => {
    const [unknown, none, noName, noNameFlags] = await Promise.all([
      runCliAsync(['frobnicate']),
      runCliAsync([]),
      runCliAsync(['explain']),
      runCliAsync(['explain', '--json']),
    ]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.match(unknown.stderr, /Usage: gslb <command>/);
    assert.equal(none.status, 2);
    assert.match(none.stdout, /Usage: gslb <command>/);
    for (const r of [noName, noNameFlags]) {
      assert.equal(r.status, 2);
      assert.match(r.stderr, /explain needs a NAME/);
      assert.match(r.stderr, /gslb explain --help/);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// 6. Health transition logs, through the real CLI

describe('health transition logs', () => {
  let dir: string;
  let primary: Backend;
  let p: ServeProcess | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gslb-ops-tr-'));
    const port = await freePort();
    primary = await backend('127.0.0.2', port);
    writeFileSync(
      join(dir, 'ops.yaml'),
      `
zone: ops.test
soa: { mname: ns1.ops.test, rname: hostmaster.ops.test, serial: 1, minimum: 60 }
ns: [ns1.ops.test]
records:
  ns1: { A: [192.0.2.53] }
regions:
  primary:
    location: { lat: 51.5, lon: -0.12 }
    endpoints: [ { address: 127.0.0.2 } ]
    check: { type: http, port: ${port}, path: /health, interval: 1s, timeout: 900ms, rise: 2, fall: 2 }
services:
  app: { policy: failover, regions: [primary], ttl: 30 }
`,
    );
  });
  after(async () => {
    await p?.stop();
    await closeBackend(primary);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a transition is logged at info with region, endpoint, up and reason; so is the region’s', async () => {
    const data = join(dir, 'data');
    p = await startServe(['--zones', dir, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data', data, '--node-id', 'log-node', '--geoip', writeGeoFixture(dir)]);
    const api = `http://127.0.0.1:${p.apiPort}`;
    await until('verified up', async () => {
      const v = await getJson<{ endpoints: { up: boolean; unverified: boolean }[] }>(`${api}/v1/regions/primary`);
      return v.endpoints.every((e) => e.up && !e.unverified);
    });
    primary.healthy = false;
    const down = await p.waitForLog((l) => l.msg === 'endpoint down');
    assert.deepEqual(
      { level: down.level, module: down.module, node: down.node, region: down.region, endpoint: down.endpoint, up: down.up },
      { level: 30, module: 'health', node: 'log-node', region: 'primary', endpoint: '127.0.0.2', up: false },
    );
    assert.match(String(down.reason), /down: 1 of 1 probers \(log-node\): HTTP 503/);
    const regionDown = await p.waitForLog((l) => l.msg === 'region down');
    assert.deepEqual({ level: regionDown.level, region: regionDown.region, up: regionDown.up }, { level: 30, region: 'primary', up: false });
    assert.equal(typeof regionDown.reason, 'string');
    assert.notEqual(regionDown.reason, '');
    assert.equal('endpoint' in regionDown, false);

    primary.healthy = true;
    const up = await p.waitForLog((l) => l.msg === 'endpoint up');
    assert.deepEqual({ level: up.level, region: up.region, endpoint: up.endpoint, up: up.up }, { level: 30, region: 'primary', endpoint: '127.0.0.2', up: true });
    assert.equal(typeof up.reason, 'string');
    await p.waitForLog((l) => l.msg === 'region up');
    // The status API keeps the same transitions.
    const status = await getJson<{ transitions: { region: string; endpoint?: string; up: boolean }[] }>(`${api}/v1/status`);
    assert.ok(status.transitions.some((t) => t.region === 'primary' && t.endpoint === '127.0.0.2' && !t.up));
    assert.equal(await p.stop(), 0);
  });
});

/**
 * Real-user latency beacons end to end, in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core): a page on one loopback origin embeds `beacon.js` from the node's API (another origin), the
 * script measures two loopback "regions" whose /ping answers after 5 ms and after 150 ms, posts the RTTs
 * cross-origin, and then `latency` steering — a real DNS query with ECS for the browser's /24, 127.0.0.0/24 —
 * answers with the faster region, and explain names the source "beacon".
 *
 * Network: every server (node, page, both regions) listens on 127.0.0.1 on a port it picked; Chromium runs with
 * background networking, component updates, sync and QUIC disabled and a fresh profile, and the test asserts
 * that the page talks to nothing else.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { RRType } from '../src/wire/constants.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const Z = 'gslb.example.test';

/** A region's /ping as the README asks for it: no-store, Timing-Allow-Origin, an empty 204, after `delayMs`. */
function pingServer(delayMs: number, seen: IncomingHttpHeaders[], urls: string[]): Server {
  return createServer((req, res) => {
    seen.push(req.headers);
    urls.push(req.url ?? '');
    setTimeout(() => {
      res.writeHead(204, { 'cache-control': 'no-store', 'timing-allow-origin': '*' });
      res.end();
    }, delayMs);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

test('beacon.js in headless Chromium teaches latency steering which region is faster for the browser /24', { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`chromium not installed: ${CHROMIUM} does not exist (apt-get install chromium)`);
    return;
  }
  const fastSeen: IncomingHttpHeaders[] = [];
  const slowSeen: IncomingHttpHeaders[] = [];
  const urls: string[] = [];
  const fast = pingServer(5, fastSeen, urls);
  const slow = pingServer(150, slowSeen, urls);
  let page: Server | undefined;
  let ts: TestServer | undefined;
  let browser: BrowserContext | undefined;
  const profile = mkdtempSync(join(tmpdir(), 'gslb-chromium-'));
  try {
    const fastUrl = await listen(fast);
    const slowUrl = await listen(slow);
    // The slow region comes first: with no location for 127.0.0.0/24, list order would pick it.
    const zone = `${zoneHead(Z)}
regions:
  slow:
    location: { lat: 0, lon: 0 }
    endpoints: [ { address: 192.0.2.20 } ]
    beacon: ${slowUrl}/ping
  fast:
    location: { lat: 0, lon: 0 }
    endpoints: [ { address: 192.0.2.10 } ]
    beacon: ${fastUrl}/ping
services:
  app: { policy: latency, regions: [slow, fast], ttl: 30 }
`;
    ts = await startTestServer({ 'zone.yaml': zone });
    const api = ts.api;
    const ask = () => udpQuery(ts!.udp, { name: `app.${Z}`, type: RRType.A, edns: { options: [ecsOption('127.0.0.0', 24)] } });
    const answered = async () => (await ask()).answers.filter((a) => a.type === RRType.A).map((a) => (a.data as { address: string }).address);
    assert.deepEqual(await answered(), ['192.0.2.20'], 'before any beacon: the first region in list order');

    // The site: another origin than the API, so the report is a cross-origin POST with a preflight.
    page = createServer((req, res) => {
      if (req.url !== '/') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>shop</title><p>hello</p><script src="${api}/v1/beacon.js" async></script>`);
    });
    const site = await listen(page);
    const allowed = new Set([new URL(api).origin, new URL(site).origin, new URL(fastUrl).origin, new URL(slowUrl).origin]);

    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
    const tab = browser.pages()[0] ?? (await browser.newPage());
    tab.setDefaultTimeout(30_000);
    const pageErrors: string[] = [];
    const foreign: string[] = [];
    tab.on('pageerror', (e) => pageErrors.push(e.message));
    tab.on('request', (r) => {
      if (!allowed.has(new URL(r.url()).origin)) foreign.push(r.url());
    });

    // Each view measures every region 3 times; 5 samples are needed before steering uses them: two views at
    // least, a third if the outlier rule dropped a sample a loaded machine delayed.
    const reports: { samples: { region: string; rttMs: number }[] }[] = [];
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    for (let view = 0; view < 4 && (view < 2 || (await answered())[0] !== '192.0.2.10'); view++) {
      const posted = tab.waitForResponse((r) => r.url() === `${api}/v1/beacons` && r.request().method() === 'POST', { timeout: 60_000 });
      await tab.goto(site, { waitUntil: 'load' });
      const res = await posted;
      assert.equal(res.status(), 200, await res.text());
      reports.push(res.request().postDataJSON() as (typeof reports)[number]);
      const body = (await res.json()) as { network: string; accepted: number };
      assert.equal(body.network, '127.0.0.0/24');
      assert.ok(body.accepted >= 4, JSON.stringify({ body, sent: reports.at(-1) }));
      // At most 2 reports a second per network: let the bucket refill before the next view.
      await tab.waitForTimeout(1100);
    }
    for (const r of reports) {
      assert.deepEqual(Object.keys(r), ['samples'], 'the report carries RTTs only');
      const fastRtts = r.samples.filter((s) => s.region === 'fast').map((s) => s.rttMs);
      const slowRtts = r.samples.filter((s) => s.region === 'slow').map((s) => s.rttMs);
      assert.equal(fastRtts.length, 3);
      assert.equal(slowRtts.length, 3);
      assert.ok(median(fastRtts) < median(slowRtts), `fast ${fastRtts.join(',')} vs slow ${slowRtts.join(',')}`);
      t.diagnostic(`measured in Chromium: fast ${fastRtts.join(', ')} ms; slow ${slowRtts.join(', ')} ms`);
    }
    // A warm-up fetch plus three measured ones per region per view, each cache-busted, none with a cookie.
    assert.equal(fastSeen.length, 4 * reports.length);
    assert.equal(slowSeen.length, 4 * reports.length);
    assert.equal(new Set(urls).size, urls.length, `every fetch is cache-busted: ${urls.join(' ')}`);
    for (const h of [...fastSeen, ...slowSeen]) {
      assert.equal(h.cookie, undefined);
      assert.equal(h.referer, undefined);
    }

    const deadline = Date.now() + 15_000;
    while ((await answered())[0] !== '192.0.2.10' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await answered(), ['192.0.2.10'], 'after the beacons: the faster region');
    const scope = (await ask()).edns?.options.find((o) => o.code === 8)?.data[3];
    assert.equal(scope, 24, 'the answer is scoped to the /24 the beacons measured');

    const explained = (await (await fetch(`${api}/v1/explain?name=app.${Z}&type=A&ecs=127.0.0.0/24`)).json()) as { candidates: { region: string; rttMs?: number; rttSource?: string }[]; answer: { region: string } };
    assert.equal(explained.answer.region, 'fast');
    for (const c of explained.candidates) assert.equal(c.rttSource, 'cidr 127.0.0.0/24 (beacon)', JSON.stringify(c));
    const rtt = (name: string) => explained.candidates.find((c) => c.region === name)!.rttMs!;
    assert.ok(rtt('fast') < rtt('slow'), JSON.stringify(explained.candidates));

    assert.deepEqual(pageErrors, [], 'no script errors on the page');
    assert.deepEqual(foreign, [], 'the page talks only to the site, the node and the regions');
  } finally {
    await browser?.close();
    await ts?.stop();
    if (page) await close(page);
    await close(fast);
    await close(slow);
    rmSync(profile, { recursive: true, force: true });
  }
});

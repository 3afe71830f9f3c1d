/**
 * The status page (`GET /`) as a browser renders it: headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) opens `/?refresh=1` on a real in-process node, and the test changes health through the API
 * (remote probe reports, a drain) and watches the page pick the changes up by itself.
 *
 * Network: the node listens on loopback ports it picked; the regions have no `check`, so nothing is probed
 * actively; Chromium runs with background networking, component updates, sync and QUIC disabled and a fresh
 * profile, and the test asserts that every request the page makes goes to the node's API port.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { startTestServer, zoneHead, type TestServer } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const Z = 'gslb.example.test';
const ZONE = `
zone: ${Z}
soa: { mname: ns1.${Z}, rname: hostmaster.example.test, serial: 1, minimum: 60 }
ns: [ns1.${Z}]
records:
  ns1: { A: [192.0.2.53] }
regions:
  probed:
    location: { lat: 50.11, lon: 8.68 }
    endpoints: [ { address: 127.0.0.2 } ]
  standby:
    location: { lat: 39.04, lon: -77.49 }
    endpoints: [ { address: 127.0.0.3 } ]
services:
  app: { policy: failover, regions: [probed, standby], ttl: 30 }
`;

/** An error text with every character the page must escape: it has to come out literally, not as markup. */
const PROBE_ERROR = `HTTP 503 <b id="injected">from probe</b> & 'quoted'`;

async function postJson(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function rowState(page: Page, region: string): Promise<{ state: string | null; badge: string | null }> {
  const row = page.locator(`tr[data-region="${region}"]`);
  return { state: await row.getAttribute('data-state'), badge: (await row.locator('.badge').textContent())?.trim() ?? null };
}

/** Headless Chromium on a fresh, throwaway profile, with one page that records what could go wrong on it. */
async function openBrowser(profile: string, apiOrigin: string): Promise<{ browser: BrowserContext; page: Page; pageErrors: string[]; failed: string[]; foreign: string[] }> {
  // Playwright refuses `--user-data-dir` in `launch()` args and takes it here.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(10_000);
  const pageErrors: string[] = [];
  const foreign: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // Chromium asks for /favicon.ico on its own; the page has none, and that 404 is not the page's doing.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) pageErrors.push(m.text());
  });
  const failed: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  page.on('request', (r) => {
    if (new URL(r.url()).origin !== apiOrigin) foreign.push(r.url());
  });
  return { browser, page, pageErrors, failed, foreign };
}

/** The page had no script errors, every request it made succeeded, and it talked to nothing but the node. */
function assertPageWasClean(o: { pageErrors: string[]; failed: string[]; foreign: string[] }): void {
  assert.deepEqual(o.pageErrors, [], 'no script errors on the page');
  assert.deepEqual(o.failed, [], 'every request the page made succeeded');
  assert.deepEqual(o.foreign, [], 'the page only talks to the node');
}

async function tearDown(browser: BrowserContext | undefined, ts: TestServer | undefined, dirs: string[]): Promise<void> {
  await browser?.close();
  await ts?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

test('status page in headless Chromium follows probe reports and drains', { timeout: 90_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`chromium not installed: ${CHROMIUM} does not exist (apt-get install chromium)`);
    return;
  }
  const profile = mkdtempSync(join(tmpdir(), 'gslb-chromium-'));
  const shots = mkdtempSync(join(tmpdir(), 'gslb-shot-'));
  let ts: TestServer | undefined;
  let browser: BrowserContext | undefined;
  try {
    ts = await startTestServer({ 'zone.yaml': ZONE }, { args: ['--probers', 'probe-fra-1,probe-iad-1'] });
    const api = ts.api;
    const opened = await openBrowser(profile, new URL(api).origin);
    browser = opened.browser;
    const { page } = opened;

    const res = await page.goto(`${api}/?refresh=1`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    assert.equal(await page.title(), 'gslb status');

    await t.test('both regions are listed UP, with a dot on the map', async () => {
      await page.waitForSelector('tr[data-region="probed"]');
      await page.waitForSelector('tr[data-region="standby"]');
      assert.deepEqual(await rowState(page, 'probed'), { state: 'up', badge: 'UP' });
      assert.deepEqual(await rowState(page, 'standby'), { state: 'up', badge: 'UP' });
      assert.equal(await page.locator('#regions tr[data-region]').count(), 2);
      const ep = page.locator('tr[data-region="probed"] .ep[data-endpoint="127.0.0.2"]');
      assert.equal(await ep.getAttribute('data-state'), 'up');
      assert.match((await ep.textContent()) ?? '', /no reports yet/);
      assert.equal(await page.locator('#map circle').count(), 2);
      const titles = await page.locator('#map circle title').allTextContents();
      assert.deepEqual(titles.sort(), ['probed: up', 'standby: up']);
      // The dots sit at (lon, -lat) in the map's coordinate system.
      const dot = page.locator('#map circle', { has: page.locator('title', { hasText: 'probed' }) });
      assert.equal(await dot.getAttribute('cx'), '8.68');
      assert.equal(await dot.getAttribute('cy'), '-50.11');
      assert.match((await page.locator('#node').textContent()) ?? '', /node test-node · snapshot \d+ · zones gslb\.example\.test/);
      assert.equal(await page.locator('#error').textContent(), '');
      // A fresh node has 10 s of traffic history: the header says so rather than "last 0 min".
      assert.match((await page.locator('#window').textContent()) ?? '', /^[1-9]\d* (s|min)$/);
      assert.match((await page.locator('#transitions').textContent()) ?? '', /none yet/);
    });

    await t.test('two probers reporting the endpoint down turn the row DOWN, with the reason and a transition', async () => {
      for (const prober of ['probe-fra-1', 'probe-iad-1']) {
        // The first report of a prober decides (cold start); the next two are the default fall of 3 anyway.
        for (let i = 0; i < 3; i++) {
          const r = await postJson(`${api}/v1/probes`, { prober, results: [{ region: 'probed', endpoint: '127.0.0.2', ok: false, error: PROBE_ERROR }] });
          assert.equal(r.status, 200, JSON.stringify(r.json));
          assert.deepEqual((r.json as { states: { up: boolean }[] }).states.map((s) => s.up), [false]);
        }
      }
      // No reload: the page polls /v1/status every second by itself.
      await page.waitForSelector('tr[data-region="probed"][data-state="down"]', { timeout: 5000 });
      // The first prober's reports alone already take it down (1 of 1); wait for the page to show both votes.
      await page.locator('tr[data-region="probed"] .ep[data-endpoint="127.0.0.2"] small', { hasText: 'down: 2 of 2 probers' }).waitFor({ timeout: 5000 });
      assert.deepEqual(await rowState(page, 'probed'), { state: 'down', badge: 'DOWN' });
      assert.deepEqual(await rowState(page, 'standby'), { state: 'up', badge: 'UP' });
      const ep = page.locator('tr[data-region="probed"] .ep[data-endpoint="127.0.0.2"]');
      assert.equal(await ep.getAttribute('data-state'), 'down');
      const reason = (await ep.locator('small').textContent()) ?? '';
      assert.match(reason, /down: 2 of 2 probers/);
      assert.ok(reason.includes(PROBE_ERROR), `endpoint reason shows the reported error literally: ${reason}`);
      assert.equal(await page.locator('#injected').count(), 0, 'the error text is escaped, not rendered as markup');
      assert.match((await page.locator('tr[data-region="probed"] td:nth-child(2) .why').textContent()) ?? '', /down: 0\/1 endpoints up/);
      assert.equal(await page.locator('#map circle title', { hasText: 'probed: down' }).count(), 1);
      assert.equal(await page.locator('#map circle', { has: page.locator('title', { hasText: 'probed' }) }).getAttribute('fill'), '#cf222e');

      await page.locator('#transitions li', { hasText: /probed 127\.0\.0\.2 down/ }).first().waitFor({ timeout: 5000 });
      const items = await page.locator('#transitions li').allTextContents();
      const epDown = items.find((s) => /probed 127\.0\.0\.2 down/.test(s));
      assert.ok(epDown, `transitions: ${JSON.stringify(items)}`);
      assert.ok(epDown.includes(PROBE_ERROR), `the transition carries the reason: ${epDown}`);
      assert.ok(items.some((s) => /probed down /.test(s)), `the region-level transition is listed too: ${JSON.stringify(items)}`);
    });

    await t.test('draining the other region through the API shows DRAINED', async () => {
      const r = await postJson(`${api}/v1/regions/standby/drain`, { reason: 'maintenance <window>' });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      await page.waitForSelector('tr[data-region="standby"][data-state="drained"]', { timeout: 5000 });
      assert.deepEqual(await rowState(page, 'standby'), { state: 'drained', badge: 'DRAINED' });
      assert.match((await page.locator('tr[data-region="standby"] td:nth-child(2) .why').textContent()) ?? '', /^drained since .*: maintenance <window>; up: 1\/1/);
      assert.equal(await page.locator('#map circle title', { hasText: 'standby: drained' }).count(), 1);
      assert.deepEqual(await rowState(page, 'probed'), { state: 'down', badge: 'DOWN' });
    });

    await t.test('a nonsensical ?refresh= falls back to a sane polling interval', async () => {
      const other = await browser!.newPage();
      try {
        let polls = 0;
        other.on('request', (r) => {
          if (new URL(r.url()).pathname === '/v1/status') polls++;
        });
        await other.goto(`${api}/?refresh=0`, { waitUntil: 'load' });
        await other.waitForSelector('tr[data-region="probed"]');
        await other.waitForTimeout(1500);
        assert.ok(polls >= 1 && polls <= 3, `${polls} polls of /v1/status in about 1.5 s with ?refresh=0`);
      } finally {
        await other.close();
      }
    });

    await t.test('a screenshot is a non-empty PNG', async () => {
      const file = join(shots, 'status.png');
      await page.screenshot({ path: file, fullPage: true });
      const png = readFileSync(file);
      assert.ok(png.length > 1000, `screenshot is ${png.length} bytes`);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
      assert.ok(png.readUInt32BE(16) > 0 && png.readUInt32BE(20) > 0, 'non-zero width and height');
    });

    assertPageWasClean(opened);
  } finally {
    await tearDown(browser, ts, [profile, shots]);
  }
});

const MAP_ZONE = `${zoneHead(Z)}
regions:
  eu: { location: { lat: 50.11, lon: 8.68 }, endpoints: [ { address: 127.0.0.2 } ] }
  us: { location: { lat: 39.04, lon: -77.49 }, endpoints: [ { address: 127.0.0.3 } ] }
  ap: { location: { lat: 1.35, lon: 103.82 }, endpoints: [ { address: 127.0.0.4 } ] }
services:
  app: { policy: failover, regions: [us, eu, ap], ttl: 30 }
  web: { policy: latency, regions: [eu, us, ap], ttl: 30 }
`;

/** Points well inside a country (away from the region dots and labels): [lat, lon]. */
const INSIDE: Record<string, [number, number]> = { US: [40, -100], BR: [-10, -55], FR: [46.5, 2.5], IN: [22, 79], AU: [-25, 134] };

/** The colour at each country's inside point in a screenshot of `page`, as #rrggbb. */
async function coloursAt(page: Page, file: string): Promise<Record<string, string>> {
  // The map's viewBox is (-180 -90 360 180), drawn with preserveAspectRatio "xMidYMid meet".
  const box = (await page.locator('#map').boundingBox())!;
  const scale = Math.min(box.width / 360, box.height / 180);
  const left = box.x + (box.width - 360 * scale) / 2;
  const top = box.y + (box.height - 180 * scale) / 2;
  const points = Object.fromEntries(Object.entries(INSIDE).map(([code, [lat, lon]]) => [code, { x: Math.round(left + (lon + 180) * scale), y: Math.round(top + (90 - lat) * scale) }]));
  await page.screenshot({ path: file });
  const png = PNG.sync.read(readFileSync(file));
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const out: Record<string, string> = {};
  for (const [code, { x, y }] of Object.entries(points)) {
    const i = (y * png.width + x) * 4;
    out[code] = `#${hex(png.data[i]!)}${hex(png.data[i + 1]!)}${hex(png.data[i + 2]!)}`;
  }
  return out;
}

async function legendColours(page: Page): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const el of await page.locator('#legend [data-legend-region]').all()) out[(await el.getAttribute('data-legend-region'))!] = (await el.getAttribute('data-color'))!;
  return out;
}

test('the status map shades countries by the region they are answered from, and follows a drain', { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`chromium not installed: ${CHROMIUM} does not exist (apt-get install chromium)`);
    return;
  }
  const profile = mkdtempSync(join(tmpdir(), 'gslb-chromium-'));
  const shots = mkdtempSync(join(tmpdir(), 'gslb-shot-'));
  const networksFile = join(shots, 'networks.yaml');
  writeFileSync(networksFile, '- { network: 10.20.0.0/16, lat: 35.68, lon: 139.69, country: JP }\n');
  let ts: TestServer | undefined;
  let browser: BrowserContext | undefined;
  try {
    ts = await startTestServer({ 'zone.yaml': MAP_ZONE }, { args: ['--networks', networksFile] });
    const api = ts.api;

    await t.test('GET /v1/status/map samples the decision at each country and custom network', async () => {
      const res = await fetch(`${api}/v1/status/map?service=web.${Z}`);
      assert.equal(res.status, 200);
      const m = (await res.json()) as { services: string[]; service: string; policy: string; countries: Record<string, string | null>; networks: unknown[] };
      assert.deepEqual(m.services, [`app.${Z}`, `web.${Z}`]);
      assert.equal(m.policy, 'latency');
      assert.deepEqual([m.countries.FR, m.countries.US, m.countries.BR, m.countries.IN, m.countries.AU, m.countries.JP], ['eu', 'us', 'us', 'ap', 'ap', 'ap']);
      assert.deepEqual(m.networks, [{ network: '10.20.0.0/16', region: 'ap' }]);
      const failover = (await (await fetch(`${api}/v1/status/map`)).json()) as { service: string; countries: Record<string, string | null> };
      assert.equal(failover.service, `app.${Z}`, 'without ?service= the first service');
      assert.ok(Object.values(failover.countries).every((r) => r === 'us'), 'failover sends every country to the first region');
      const missing = await fetch(`${api}/v1/status/map?service=nope`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { field: string }).field, 'service');
      assert.equal((await fetch(`${api}/v1/status/map?type=MX`)).status, 400);
    });

    const opened = await openBrowser(profile, new URL(api).origin);
    browser = opened.browser;
    const { page } = opened;
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${api}/?refresh=1&service=web.${Z}`, { waitUntil: 'load' });

    await t.test('countries have the colour of their region in a screenshot', async () => {
      await page.waitForSelector('#countries path[data-country="AU"][data-region="ap"]');
      assert.equal(await page.locator('#service').inputValue(), `web.${Z}`);
      assert.ok((await page.locator('#countries path').count()) > 150, 'Natural Earth outlines are drawn');
      const legend = await legendColours(page);
      assert.equal(new Set(Object.values(legend)).size, 3, `three distinct region colours: ${JSON.stringify(legend)}`);
      const seen = await coloursAt(page, join(shots, 'before.png'));
      assert.deepEqual(seen, { US: legend.us, BR: legend.us, FR: legend.eu, IN: legend.ap, AU: legend.ap });
      assert.match((await page.locator('#networks').textContent()) ?? '', /10\.20\.0\.0\/16 → ap/);
      assert.match((await page.locator('#credits').textContent()) ?? '', /Natural Earth/);
    });

    await t.test('after draining ap its countries turn to the next nearest region, and ap is marked', async () => {
      const r = await postJson(`${api}/v1/regions/ap/drain`, { reason: 'map test' });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      await page.waitForSelector('#countries path[data-country="AU"][data-region="eu"]', { timeout: 10_000 });
      await page.waitForSelector('#legend [data-legend-region="ap"].out');
      const legend = await legendColours(page);
      const seen = await coloursAt(page, join(shots, 'after.png'));
      assert.deepEqual(seen, { US: legend.us, BR: legend.us, FR: legend.eu, IN: legend.eu, AU: legend.eu });
      assert.match((await page.locator('#legend [data-legend-region="ap"]').textContent()) ?? '', /drained/);
      assert.equal(await page.locator('#map circle', { has: page.locator('title', { hasText: 'ap: drained' }) }).getAttribute('stroke-dasharray'), '1.5 1');
    });

    await t.test('the select box switches the service', async () => {
      await page.locator('#service').selectOption(`app.${Z}`);
      await page.waitForSelector('#countries path[data-country="AU"][data-region="us"]');
      assert.match(page.url(), /service=app\.gslb/);
      const legend = await legendColours(page);
      const seen = await coloursAt(page, join(shots, 'app.png'));
      assert.deepEqual(seen, { US: legend.us, BR: legend.us, FR: legend.us, IN: legend.us, AU: legend.us });
    });

    assertPageWasClean(opened);
  } finally {
    await tearDown(browser, ts, [profile, shots]);
  }
});

/**
 * `GET /v1/beacon.js`: the script a site embeds. After the page has loaded it fetches each region's beacon
 * URL a few times (cache-busted, no cookies, no referrer), reads the RTTs from the Resource Timing API and posts
 * them to `beacons` next to where the script itself came from (`/v1/beacon.js` → `/v1/beacons`).
 *
 * The first fetch of a URL pays for DNS, TCP and TLS and is discarded; the next ones reuse the connection, and
 * `responseStart - requestStart` is one round trip plus the /ping's own time. Cross-origin, the browser reports
 * that only when the response carries `Timing-Allow-Origin` (otherwise both are 0 and the region is skipped).
 */
import { BEACON_MAX_SAMPLES } from '../../model/schema/beacon.js';
import type { Region } from '../../model/types.js';

export const BEACON_ROUNDS = 3;
/** Regions measured per page view (by name order), so a report stays within BEACON_MAX_SAMPLES. */
export const BEACON_MAX_TARGETS = Math.floor(BEACON_MAX_SAMPLES / BEACON_ROUNDS);

export interface BeaconTarget {
  region: string;
  url: string;
}

export function beaconTargets(regions: Iterable<Pick<Region, 'name' | 'beacon'>>): BeaconTarget[] {
  const out: BeaconTarget[] = [];
  for (const r of regions) if (r.beacon) out.push({ region: r.name, url: r.beacon });
  return out.sort((a, b) => (a.region < b.region ? -1 : 1)).slice(0, BEACON_MAX_TARGETS);
}

/** The script's text; the targets are data (JSON with `<` escaped), never code. */
export function beaconScript(targets: readonly BeaconTarget[]): string {
  const data = JSON.stringify(targets).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return `/* gslb real-user latency beacon: no cookies; sends only RTTs, the server keeps the network prefix. */
(function () {
  'use strict';
  var targets = ${data};
  var rounds = ${BEACON_ROUNDS};
  var self = document.currentScript && document.currentScript.src;
  if (!self || !targets.length || !window.fetch || !window.performance || !performance.getEntriesByName) return;
  var report = new URL('beacons', self).href;

  function bust(url) {
    return url + (url.indexOf('?') < 0 ? '?' : '&') + 'gslb-beacon=' + Math.random().toString(36).slice(2);
  }
  function timing(url) {
    // The entry is added when the response has been read, which may be a little after fetch() settles.
    return new Promise(function (resolve) {
      (function poll(tries) {
        var e = performance.getEntriesByName(url)[0];
        if (e || tries <= 0) return resolve(e);
        setTimeout(function () { poll(tries - 1); }, 50);
      })(40);
    });
  }
  function once(url) {
    var u = bust(url);
    return fetch(u, { mode: 'no-cors', credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' })
      .then(function (r) { return r.arrayBuffer(); })
      .then(function () { return timing(u); })
      .then(function (e) {
        if (!e || !(e.requestStart > 0) || !(e.responseStart > e.requestStart)) return undefined;
        return Math.round((e.responseStart - e.requestStart) * 10) / 10;
      });
  }
  function measure(t, out) {
    var chain = once(t.url);
    for (var i = 0; i < rounds; i++) {
      chain = chain.then(function () { return once(t.url); }).then(function (ms) {
        if (ms !== undefined) out.push({ region: t.region, rttMs: ms });
      });
    }
    return chain.catch(function () {});
  }
  function run() {
    var samples = [];
    targets.reduce(function (p, t) { return p.then(function () { return measure(t, samples); }); }, Promise.resolve())
      .then(function () {
        if (!samples.length) return;
        return fetch(report, { method: 'POST', mode: 'cors', credentials: 'omit', referrerPolicy: 'no-referrer', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ samples: samples }) });
      })
      .catch(function () {});
  }
  if (document.readyState === 'complete') setTimeout(run, 0);
  else window.addEventListener('load', function () { setTimeout(run, 0); });
})();
`;
}

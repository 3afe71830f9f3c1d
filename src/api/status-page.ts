/**
 * The status page served at `GET /`: one self-contained HTML document (no framework, no external assets)
 * that polls `GET /v1/status` every few seconds and shows regions in a table, each endpoint's state and why,
 * drains, the traffic share per region over the last minutes, and recent health transitions; and a world map
 * (outlines from `GET /v1/status/world`) with every country shaded by the region a chosen service answers
 * its clients from right now (`GET /v1/status/map`), the regions as dots marked with their state.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gslb status</title>
<style>
  :root { --up: #1a7f37; --down: #cf222e; --drained: #9a6700; --flap: #bc4c00; --muted: #57606a; --line: #d0d7de; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  header { background: #24292f; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header span { color: #d0d7de; }
  main { padding: 16px 20px; display: grid; gap: 16px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 6px 8px; border-top: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-weight: 600; border-top: none; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
  .up { background: var(--up); } .down { background: var(--down); } .drained { background: var(--drained); } .flapping { background: var(--flap); }
  .ep { display: block; white-space: nowrap; } .ep i { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; }
  .ep small, .why { color: var(--muted); white-space: normal; }
  .bar { background: #eaeef2; border-radius: 3px; height: 10px; width: 140px; display: inline-block; vertical-align: middle; }
  .bar b { display: block; height: 10px; border-radius: 3px; background: #0969da; }
  svg { width: 100%; height: auto; max-height: 480px; background: #eaf2fb; border-radius: 4px; }
  #countries path { stroke: #fff; stroke-width: 0.25; }
  .maphead { display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; margin-bottom: 8px; }
  #legend { display: flex; gap: 14px; flex-wrap: wrap; margin-top: 8px; }
  #legend span i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
  #legend span.out i { background-image: repeating-linear-gradient(45deg, transparent 0 2px, #fff 2px 4px) !important; }
  #legend span.out { color: var(--muted); }
  #error { color: var(--down); }
  ul { margin: 0; padding-left: 18px; }
</style>
</head>
<body>
<header><h1>gslb</h1><span id="node"></span><span id="store"></span><span id="updated"></span><span id="error"></span></header>
<main>
  <section><h2>Steering map</h2>
    <div class="maphead"><label>service <select id="service"></select></label><span class="why" id="mapnote"></span></div>
    <svg id="map" viewBox="-180 -90 360 180" preserveAspectRatio="xMidYMid meet"><g id="countries"></g><g id="dots"></g></svg>
    <div id="legend"></div>
    <ul id="networks"></ul>
    <p class="why" id="credits">Country outlines: <a href="https://www.naturalearthdata.com/">Natural Earth</a>.</p></section>
  <section><h2>Health and traffic</h2>
    <table><thead><tr><th>region</th><th>state</th><th>endpoints</th><th>services</th><th>traffic share (last <span id="window">5 min</span>)</th></tr></thead>
    <tbody id="regions"></tbody></table></section>
  <section><h2>Recent health transitions</h2><ul id="transitions"></ul></section>
</main>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
function stateOf(r) {
  if (r.drained) return 'drained';
  if (!r.health.up) return 'down';
  if (r.health.unstable) return 'flapping';
  return 'up';
}
function render(s) {
  document.getElementById('node').textContent = 'node ' + s.node + ' · snapshot ' + s.snapshotVersion + ' · zones ' + s.zones.join(', ');
  document.getElementById('store').textContent = s.store.kind + ' store ' + (s.store.up ? 'ok' : 'UNAVAILABLE since ' + s.store.since + (s.store.error ? ' (' + s.store.error + ')' : ''));
  document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  const w = s.traffic.windowSeconds;
  document.getElementById('window').textContent = w < 120 ? Math.round(w) + ' s' : Math.round(w / 60) + ' min';
  const rows = s.regions.map((r) => {
    const st = stateOf(r);
    const eps = r.endpoints.map((e) => '<span class="ep" data-endpoint="' + esc(e.address) + '" data-state="' + (e.up ? 'up' : 'down') + '"><i class="' + (e.up ? 'up' : 'down') + '"></i>' + esc(e.address) + ' <small>' + esc(e.reason) + '</small></span>').join('');
    const share = s.traffic.shares[r.name] || 0;
    return '<tr data-region="' + esc(r.name) + '" data-state="' + st + '"><td><b>' + esc(r.name) + '</b><br><small class="why">' + esc(r.source === 'api' ? 'registered through the API' : r.declaredAt) + '</small></td>'
      + '<td><span class="badge ' + st + '">' + st.toUpperCase() + '</span><div class="why">' + esc(r.health.reason) + '</div></td>'
      + '<td>' + eps + '</td><td>' + r.services.map(esc).join('<br>') + '</td>'
      + '<td><span class="bar"><b style="width:' + Math.round(share * 100) + '%"></b></span> ' + (share * 100).toFixed(1) + '%</td></tr>';
  });
  document.getElementById('regions').innerHTML = rows.join('') || '<tr><td colspan="5">no regions</td></tr>';
  regionNames = s.regions.map((r) => r.name);
  const colors = { up: '#1a7f37', down: '#cf222e', drained: '#9a6700', flapping: '#bc4c00' };
  const dots = s.regions.map((r) => {
    const st = stateOf(r);
    const x = r.location.lon, y = -r.location.lat;
    // Fill: the region's state; ring: the colour its countries are shaded with (dashed when it cannot answer).
    return '<g><circle cx="' + x + '" cy="' + y + '" r="3" fill="' + colors[st] + '" stroke="' + regionColor(r.name) + '" stroke-width="1.2"' + (st === 'down' || st === 'drained' ? ' stroke-dasharray="1.5 1"' : '') + '><title>' + esc(r.name + ': ' + st) + '</title></circle>'
      + '<text x="' + (x + 4) + '" y="' + (y + 1.5) + '" font-size="5">' + esc(r.name) + '</text></g>';
  });
  document.getElementById('dots').innerHTML = dots.join('');
  document.getElementById('legend').innerHTML = s.regions.map((r) => {
    const st = stateOf(r);
    const share = s.traffic.shares[r.name] || 0;
    return '<span data-legend-region="' + esc(r.name) + '" data-color="' + regionColor(r.name) + '"' + (st === 'down' || st === 'drained' ? ' class="out"' : '') + '><i style="background:' + regionColor(r.name) + '"></i><b>' + esc(r.name) + '</b> ' + st + ' · ' + (share * 100).toFixed(1) + '% of answers</span>';
  }).join('') + '<span><i style="background:' + NO_ANSWER + '"></i>no answer</span>';
  const dbip = (s.geoip || []).some((d) => d.file.startsWith('dbip-'));
  // DB-IP Lite's licence (CC BY 4.0) asks for this link wherever its data is used.
  document.getElementById('credits').innerHTML = 'Country outlines: <a href="https://www.naturalearthdata.com/">Natural Earth</a>.'
    + (dbip ? " <a href='https://db-ip.com'>IP Geolocation by DB-IP</a>." : '');
  document.getElementById('transitions').innerHTML = s.transitions.map((t) =>
    '<li>' + esc(new Date(t.at).toLocaleTimeString()) + ' <b>' + esc(t.region) + (t.endpoint ? ' ' + esc(t.endpoint) : '') + '</b> ' + (t.up ? 'up' : 'down') + ' <small class="why">' + esc(t.reason) + '</small></li>').join('') || '<li>none yet</li>';
}
// Regions in the order /v1/status lists them (by name): a region keeps its colour while others come and go
// only as far as the sort order allows; the legend always says which is which.
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#e15759', '#8cd17d'];
const NO_ANSWER = '#bfc5cc';
let regionNames = [];
function regionColor(name) {
  const i = regionNames.indexOf(name);
  return i < 0 ? NO_ANSWER : PALETTE[i % PALETTE.length];
}
let world;
async function loadWorld() {
  if (world) return;
  const res = await fetch('v1/status/world');
  if (!res.ok) throw new Error('world outlines: HTTP ' + res.status);
  world = await res.json();
  document.getElementById('countries').innerHTML = world.countries.map((c) =>
    '<path d="' + c.d + '"' + (c.code ? ' data-country="' + c.code + '"' : '') + ' fill="' + NO_ANSWER + '"><title>' + esc(c.name) + '</title></path>').join('');
}
const select = document.getElementById('service');
select.addEventListener('change', () => {
  const u = new URL(location.href);
  u.searchParams.set('service', select.value);
  history.replaceState(null, '', u);
  refresh();
});
function paintMap(m) {
  if (select.options.length !== m.services.length || [...select.options].some((o, i) => o.value !== m.services[i])) {
    select.innerHTML = m.services.map((n) => '<option>' + esc(n) + '</option>').join('');
  }
  select.value = m.service;
  for (const p of document.querySelectorAll('#countries path')) {
    const region = p.dataset.country ? m.countries[p.dataset.country] : undefined;
    p.setAttribute('fill', region ? regionColor(region) : NO_ANSWER);
    p.dataset.region = region || '';
    p.querySelector('title').textContent = p.querySelector('title').textContent.split(' → ')[0] + ' → ' + (region || 'no answer');
  }
  document.getElementById('mapnote').textContent = 'policy ' + m.policy + ', ' + m.type + ' queries; each country is sampled at its representative point';
  document.getElementById('networks').innerHTML = m.networks.map((n) =>
    '<li data-network="' + esc(n.network) + '">custom network ' + esc(n.network) + ' → <b style="color:' + regionColor(n.region) + '">' + esc(n.region || 'no answer') + '</b></li>').join('');
}
async function refreshMap() {
  await loadWorld();
  const service = new URLSearchParams(location.search).get('service') || select.value;
  const res = await fetch('v1/status/map' + (service ? '?service=' + encodeURIComponent(service) : ''), { cache: 'no-store' });
  if (res.status === 404 && service) {
    // The service in the address is gone (a zone edit): show the first one instead.
    const u = new URL(location.href);
    u.searchParams.delete('service');
    history.replaceState(null, '', u);
    select.innerHTML = '';
    return refreshMap();
  }
  // No services at all: a map with nothing to shade, not an error.
  if (res.status === 404) return;
  if (!res.ok) throw new Error('map: HTTP ' + res.status);
  paintMap(await res.json());
}
async function refresh() {
  try {
    const res = await fetch('v1/status', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
    await refreshMap();
    document.getElementById('error').textContent = '';
  } catch (e) {
    document.getElementById('error').textContent = 'cannot reach the API: ' + e.message;
  }
}
refresh();
// At least one second: ?refresh=0 or a typo (NaN) would otherwise poll the API hundreds of times a second.
setInterval(refresh, Math.max(1, Number(new URLSearchParams(location.search).get('refresh')) || 5) * 1000);
</script>
</body>
</html>
`;

/**
 * The status page served at `GET /`: one self-contained HTML document (no framework, no external assets)
 * that polls `GET /v1/status` every few seconds and shows regions on a map and in a table, each endpoint's
 * state and why, drains, the traffic share per region over the last minutes, and recent health transitions.
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
  svg { width: 100%; height: auto; max-height: 300px; background: #eaf2fb; border-radius: 4px; }
  #error { color: var(--down); }
  ul { margin: 0; padding-left: 18px; }
</style>
</head>
<body>
<header><h1>gslb</h1><span id="node"></span><span id="store"></span><span id="updated"></span><span id="error"></span></header>
<main>
  <section><h2>Regions</h2><svg id="map" viewBox="-180 -90 360 180" preserveAspectRatio="xMidYMid meet"></svg></section>
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
  const colors = { up: '#1a7f37', down: '#cf222e', drained: '#9a6700', flapping: '#bc4c00' };
  const grid = [];
  for (let lon = -150; lon <= 150; lon += 30) grid.push('<line x1="' + lon + '" y1="-90" x2="' + lon + '" y2="90" stroke="#c8d8ea" stroke-width="0.3"/>');
  for (let lat = -60; lat <= 60; lat += 30) grid.push('<line x1="-180" y1="' + lat + '" x2="180" y2="' + lat + '" stroke="#c8d8ea" stroke-width="0.3"/>');
  const dots = s.regions.map((r) => {
    const st = stateOf(r);
    const x = r.location.lon, y = -r.location.lat;
    return '<g><circle cx="' + x + '" cy="' + y + '" r="3" fill="' + colors[st] + '"><title>' + esc(r.name + ': ' + st) + '</title></circle>'
      + '<text x="' + (x + 4) + '" y="' + (y + 1.5) + '" font-size="5">' + esc(r.name) + '</text></g>';
  });
  document.getElementById('map').innerHTML = grid.join('') + dots.join('');
  document.getElementById('transitions').innerHTML = s.transitions.map((t) =>
    '<li>' + esc(new Date(t.at).toLocaleTimeString()) + ' <b>' + esc(t.region) + (t.endpoint ? ' ' + esc(t.endpoint) : '') + '</b> ' + (t.up ? 'up' : 'down') + ' <small class="why">' + esc(t.reason) + '</small></li>').join('') || '<li>none yet</li>';
}
async function refresh() {
  try {
    const res = await fetch('v1/status', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
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

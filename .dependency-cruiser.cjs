/**
 * The layer rule, checked by `npm run lint`: each folder under src/ may import only the folders listed for it
 * (all below it), and nothing may form a cycle. Bottom to top:
 *
 *   wire ← util ← model, protect, dnssec ← geo, health ← store ← routing ← snapshot ← answer ← net ← metrics ← config ← api
 *
 * with the composition root (server.ts and the cli files) on top. log.ts and version.ts import nothing of ours
 * and anyone may use them.
 */
const LEAVES = ['log.ts', 'version.ts'];
/** Folder (or top-level file) → what it may import besides itself and the leaves. */
const LAYERS = {
  wire: [],
  util: ['wire'],
  model: ['wire', 'util'],
  protect: ['wire', 'util'],
  /** DNSSEC signing (keys, canonical form, RRSIG, compact denial, signature cache): a library the server composes. */
  dnssec: ['wire', 'util'],
  geo: ['wire', 'util', 'model'],
  health: ['wire', 'util', 'model'],
  store: ['wire', 'util', 'model', 'dnssec', 'geo', 'health'],
  routing: ['wire', 'util', 'model', 'geo', 'health'],
  snapshot: ['wire', 'util', 'model', 'dnssec', 'geo', 'health', 'store', 'routing'],
  answer: ['wire', 'util', 'model', 'protect', 'dnssec', 'geo', 'health', 'routing', 'snapshot'],
  net: ['wire', 'util', 'model', 'protect', 'answer'],
  metrics: ['wire', 'util', 'model', 'protect', 'dnssec', 'geo', 'health', 'routing', 'snapshot', 'answer', 'net'],
  'config.ts': ['wire', 'util', 'protect', 'store', 'net'],
  api: ['wire', 'util', 'model', 'protect', 'dnssec', 'geo', 'health', 'store', 'routing', 'snapshot', 'answer', 'metrics', 'config.ts'],
};
const ROOT = ['server.ts', 'cli.ts', 'explain-cli.ts', 'probe-cli.ts', 'dnssec-cli.ts', 'guard-setup.ts', 'dns-setup.ts', 'worker.ts', 'worker-pool.ts', 'worker-messages.ts'];

const esc = (s) => s.replace(/[.]/g, '\\.');
/** `^src/name/` for a folder, `^src/name$` for a top-level file. */
const pathOf = (name) => (name.endsWith('.ts') ? `^src/${esc(name)}$` : `^src/${esc(name)}/`);
const anyOf = (names) => names.map(pathOf).join('|');

const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => ({
  name: `layer-${layer.replace(/\.ts$/, '')}`,
  severity: 'error',
  comment: `${layer} may import only: ${allowed.length ? allowed.join(', ') : 'nothing of ours'} (see .dependency-cruiser.cjs)`,
  from: { path: pathOf(layer) },
  to: { path: '^src/', pathNot: anyOf([layer, ...allowed, ...LEAVES]) },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make the layers meaningless.', from: {}, to: { circular: true } },
    ...layerRules,
    {
      name: 'leaves-import-nothing',
      severity: 'error',
      comment: 'log.ts and version.ts are used by every layer, so they may import nothing of ours.',
      from: { path: anyOf(LEAVES) },
      to: { path: '^src/' },
    },
    {
      name: 'composition-root-on-top',
      severity: 'error',
      comment: 'Only the composition root (server.ts, the cli files) may import the composition root.',
      from: { path: '^src/', pathNot: anyOf(ROOT) },
      to: { path: anyOf(ROOT) },
    },
    {
      name: 'no-unlisted-folder',
      severity: 'error',
      comment: 'A new folder or top-level file under src/ needs its place in LAYERS first.',
      from: { path: '^src/', pathNot: anyOf([...Object.keys(LAYERS), ...ROOT, ...LEAVES]) },
      to: {},
    },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // typebox has only an `exports` map (no `main`): resolve it the way Node does for an import.
    enhancedResolveOptions: { extensions: ['.ts', '.js'], exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
  },
};

/**
 * What the decision-path warm-up (src/answer/warm-up.ts) buys: the CPU time of the first 12 000 decisions
 * for distinct ECS /24s on a fresh snapshot (the cache cold, as in an ECS spray's first burst), in a fresh
 * process without it and then with it run first. Each case is a process of its own, so the code is cold
 * each time; several rounds, alternating, since other work on the machine moves the figures.
 *
 *   node --import tsx bench/warm-up.ts [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundledDatabasePath, Locator, openDatabase } from '../src/geo/locator.js';
import { loadZoneSources } from '../src/model/loader.js';
import { decide } from '../src/routing/decide.js';
import { buildSnapshot } from '../src/snapshot/build.js';
import { warmDecisionPath } from '../src/answer/warm-up.js';
import { EXAMPLE_ZONE } from '../test/helpers/server.js';

const cpuMs = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};

async function one(warm: boolean): Promise<string> {
  const snap = buildSnapshot(loadZoneSources([{ file: 'example.yaml', text: EXAMPLE_ZONE }]).zoneSet!, {
    version: 1,
    nodeId: 'bench',
    state: { locator: new Locator([openDatabase(bundledDatabasePath())]) },
  });
  let head = 'no warm-up';
  if (warm) {
    const t = process.cpuUsage();
    const n = await warmDecisionPath(() => snap).done;
    head = `warm-up (${n} decisions, ${cpuMs(t).toFixed(0)} ms CPU)`;
  }
  const svc = snap.services.get('app.gslb.example.test')!;
  const client = { address: Buffer.alloc(16), family: 4 as const, sourcePrefix: 24, viaEcs: true };
  const t = process.cpuUsage();
  for (let i = 0; i < 12_000; i++) {
    client.address.writeUIntBE((i * 40503) % 16777216, 0, 3);
    decide(snap, svc, 1, client);
  }
  return `${head.padEnd(40)} then 12 000 new /24s (${snap.decisions.size} blocks): ${cpuMs(t).toFixed(0)} ms CPU`;
}

const mode = process.argv[2];
if (mode === 'cold' || mode === 'warm') {
  process.stdout.write((await one(mode === 'warm')) + '\n');
} else {
  const i = process.argv.indexOf('--rounds');
  const rounds = i >= 0 ? Number(process.argv[i + 1]) : 3;
  const self = fileURLToPath(import.meta.url);
  for (let r = 0; r < rounds; r++) {
    for (const m of ['cold', 'warm']) {
      const out = spawnSync(process.execPath, ['--import', 'tsx', self, m], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(out.stderr);
      process.stdout.write(out.stdout);
    }
  }
}

#!/usr/bin/env node
/**
 * The package's `install` script: builds the batched UDP I/O module (native/udp_batch.c) with node-gyp.
 * It never fails the install: the module is optional, and when it cannot be built (no compiler, not Linux)
 * this prints one line and exits 0, and `gslb serve` uses Node's dgram (saying so once at startup).
 *
 * Plain JavaScript on purpose: npm runs `install` before `prepare` compiles the TypeScript.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'build', 'Release', 'udp_batch.node');
const shown = relative(process.cwd(), output) || output;

function giveUp(why) {
  process.stdout.write(`gslb: native UDP batch module not built (${why}); gslb serve will use dgram\n`);
  process.exit(0);
}

/** npm tells its scripts where its bundled node-gyp is; else look beside this node, then ask npm. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp, join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  const root = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' });
  if (root.status === 0) candidates.push(join(root.stdout.trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => c && existsSync(c));
}

if (process.platform !== 'linux') giveUp(`recvmmsg/sendmmsg are Linux-only, this is ${process.platform}`);
const gyp = findNodeGyp();
if (!gyp) giveUp('node-gyp not found');
const args = [gyp, 'rebuild', '--directory', here];
// Node's own headers when they are installed beside it (official tarballs, distribution packages), so the
// build needs no download; node-gyp fetches them otherwise.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const build = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 });
if (build.status !== 0) {
  const lines = `${build.stderr ?? ''}${build.stdout ?? ''}`.split('\n').filter((l) => /error/i.test(l) && !/^gyp ERR! (stack|System|command|cwd|node|not ok)/.test(l));
  giveUp(lines[0]?.trim() ?? (build.error ? build.error.message : `node-gyp exited ${build.status}`));
}
// Built is not enough: it must load into this node.
const load = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(output)})`], { encoding: 'utf8' });
if (load.status !== 0) giveUp(`built but does not load: ${load.stderr.split('\n').find((l) => l.includes('Error')) ?? 'unknown error'}`);
process.stdout.write(`gslb: built native UDP batch module ${shown}\n`);

/**
 * Command-line parsing (node:util parseArgs underneath): the error cases of every command, through the real
 * `gslb` binary (dist/cli.js, built by `tsc -p tsconfig.json`), and the serve options in-process. A usage
 * error exits 2 and names the flag; `--flag value` and `--flag=value` mean the same; environment variables
 * still fill in what the flags leave out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseServeOptions, UsageError } from '../src/config.js';
import { runCli } from './helpers/process.js';
import { freePort } from './helpers/redis.js';
import { EXAMPLE_ZONE } from './helpers/server.js';

const dirs: string[] = [];
function zonesDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gslb-cli-args-'));
  writeFileSync(join(d, 'example.yaml'), EXAMPLE_ZONE);
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A usage error: exit 2, the message, and the pointer to the command's help. */
function assertUsage(args: string[], message: RegExp, env: Record<string, string> = {}): void {
  const r = runCli(args, env);
  assert.equal(r.status, 2, `gslb ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, message, `gslb ${args.join(' ')}`);
  assert.match(r.stderr, new RegExp(`see "gslb ${args[0]} --help"`));
}

function throwsUsage(argv: string[], message: RegExp, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(() => parseServeOptions(argv, env), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(' '));
}

describe('usage errors of every command name the flag (exit 2)', () => {
  test('unknown flags, long and short', () => {
    assertUsage(['serve', '--frobnicate'], /unknown option --frobnicate/);
    assertUsage(['check', '--zone', 'x'], /unknown option --zone\b/);
    assertUsage(['explain', 'app.gslb.example.test', '--clinet', '192.0.2.1'], /unknown option --clinet/);
    assertUsage(['probe', '-n', 'x'], /-n/);
  });

  test('a flag without its value, at the end or followed by another flag', () => {
    assertUsage(['serve', '--zones'], /option --zones needs a value/);
    assertUsage(['check', '--zones', '--help-me'], /option --zones needs a value/);
    assertUsage(['explain', 'app.gslb.example.test', '--type'], /option --type needs a value/);
    assertUsage(['probe', '--api', '--once'], /option --api needs a value/);
    // --flag= is a missing value too, not an empty directory name.
    assertUsage(['check', '--zones='], /option --zones needs a value/);
  });

  test('a flag that takes one value, given twice', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const d = zonesDir();
    assertUsage(['serve', '--api', '127.0.0.1:0', '--api', '127.0.0.1:1'], /--api may be given once/);
    assertUsage(['check', '--zones', d, '--zones', d], /--zones may be given once/);
    assertUsage(['explain', 'app.gslb.example.test', '--type', 'A', '--type=AAAA', '--api', closed], /--type may be given once/);
    assertUsage(['probe', '--api', closed, '--name', 'p1', '--name', 'p2', '--once'], /--name may be given once/);
  });

  test('a switch given a value, a stray argument, and "--"', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    assertUsage(['explain', 'app.gslb.example.test', '--json=no', '--api', closed], /option --json takes no value/);
    assertUsage(['probe', '--once=false', '--api', closed], /option --once takes no value/);
    assertUsage(['check', 'zones'], /unexpected argument "zones"/);
    assertUsage(['check', '--', '--zones', 'x'], /unexpected argument "--"/);
  });
});

describe('--flag=value and environment variables', () => {
  test('--flag=value means --flag value, for every command', async () => {
    const d = zonesDir();
    const ok = runCli(['check', `--zones=${d}`]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^ok: 1 zone\(s\) \(gslb\.example\.test\)/);
    assertUsage(['serve', '--dns=not-an-address'], /--dns: "not-an-address" is not HOST:PORT/);
    // Parsed fine: the command gets as far as the (closed) API and says it cannot reach it (exit 1, not 2).
    const closed = `http://127.0.0.1:${await freePort()}`;
    const explain = runCli(['explain', 'app.gslb.example.test', '--type=AAAA', `--client=192.0.2.1`, `--api=${closed}`, '--json']);
    assert.equal(explain.status, 1, explain.stderr);
    assert.match(explain.stderr, /cannot reach/);
  });

  test('the environment fills in what the flags leave out; a flag beats it', () => {
    const good = zonesDir();
    assert.equal(runCli(['check'], { GSLB_ZONES: good }).status, 0);
    assert.equal(runCli(['check', '--zones', good], { GSLB_ZONES: '/nonexistent' }).status, 0);
    const o = parseServeOptions(['--dns=127.0.0.1:5301', '--dns', '127.0.0.1:5302,[::1]:5303'], { GSLB_API: '127.0.0.1:9999', GSLB_DNS: '127.0.0.1:1' });
    assert.deepEqual(o.dns, [
      { host: '127.0.0.1', port: 5301 },
      { host: '127.0.0.1', port: 5302 },
      { host: '::1', port: 5303 },
    ]);
    assert.deepEqual(o.api, { host: '127.0.0.1', port: 9999 });
    // An empty environment variable is unset; an empty flag value is an error.
    assert.deepEqual(parseServeOptions([], { GSLB_ZONES: '' }).zonesDir, './zones');
    throwsUsage(['--zones='], /option --zones needs a value/);
    throwsUsage(['--zones', ''], /option --zones needs a value/);
    throwsUsage(['--rrl', '5', '--rrl=6'], /--rrl may be given once/);
  });
});

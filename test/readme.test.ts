/**
 * The README's shell examples, pasted as a user would: every ```sh block is either run here against a real
 * `gslb serve` (the compiled CLI, the repo's zones/, a temporary --data) or skipped for a stated reason, and a
 * block that is neither fails the test. Commands run in README order, so the mutating examples (PUT, drain,
 * undrain, probes, DELETE, latency) run in sequence against one server and must all answer 2xx.
 *
 * The server takes the README's ports (DNS 127.0.0.1:8053, API 127.0.0.1:8080) when both are free, so the
 * commands run exactly as written; otherwise it takes free ports and the commands are rewritten to them
 * (`-p 8053`, `127.0.0.1:8080`, and GSLB_API for `gslb explain`).
 *
 * Rewrites applied to every command (each is logged as a test diagnostic):
 * - `npx gslb …` → `node dist/cli.js …` (npx could go to the npm registry; the bin is dist/cli.js).
 * - curl gets `--max-time 10 -w <status>` (`curl -s` exits 0 on a 4xx, so the status is checked separately);
 *   dig gets `+time=2 +tries=2`.
 * - A registration whose body has a `check` (the ap-south example: 203.0.113.50 and 2001:db8::50, HTTP on
 *   port 80) is NOT sent as written, because the node would start checking addresses on the Internet: its
 *   IPv4 endpoints become 127.0.0.50, .51, …, its IPv6 ones ::1 (127.0.0.60… without IPv6), and the check
 *   port a free port where this test runs small HTTP backends answering /health.
 *
 * Skipped blocks (matched by SKIP below; the test fails on any other block it cannot run):
 * - `npm install && npm start`: npm install needs the registry. `npm start` is `node dist/cli.js serve`
 *   (asserted), which is the server this test starts.
 * - `npm test`: the whole suite, this file included.
 * - `npm run bench…`: benchmarks (dnsperf, minutes of full CPU).
 * - `redis-server --port 6379 … &` and two `npx gslb serve … &`: Redis and nodes on fixed ports in the
 *   background (test/cluster.test.ts runs that setup on free ports).
 * - `npx gslb serve --dns 0.0.0.0:53 … &`: a node on port 53 of every address (workers.test.ts and udp-io.test.ts
 *   run those flags on free loopback ports).
 * - `docker compose …`: needs Docker and pulls images (test/compose.test.ts checks the compose file instead).
 * - `gslb dnssec ds …`: the repo's zone is unsigned, so it exits 1 (test/dnssec-serve.test.ts runs it signed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadZoneDir } from '../src/model/loader.js';
import { ROOT, startServe, type ServeProcess } from './helpers/process.js';
import { freePort } from './helpers/redis.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const README_DNS_PORT = 8053;
const README_API_PORT = 8080;

// ---------------------------------------------------------------------------------------------------------
// Extracting commands
// ---------------------------------------------------------------------------------------------------------

interface Block {
  line: number;
  text: string;
}

interface Command {
  /** The command as the README spells it (continuations joined, comments removed). */
  text: string;
  /** Comments on the line(s) before it and at its end. */
  comment: string;
  line: number;
}

function shBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  const re = /^```sh\n([\s\S]*?)^```$/gm;
  for (let m; (m = re.exec(markdown)); ) out.push({ line: markdown.slice(0, m.index).split('\n').length + 1, text: m[1]! });
  return out;
}

/** Split a block into commands like sh does: quotes may span lines, `\`-newline continues, `#` starts a comment. */
function splitCommands(block: Block): Command[] {
  const out: Command[] = [];
  const src = block.text;
  let cur = '';
  let comment = '';
  let quote: string | undefined;
  let line = block.line;
  let startLine = line;
  const push = () => {
    if (cur.trim() !== '') out.push({ text: cur.trim().replace(/\s+$/, ''), comment: comment.trim(), line: startLine });
    if (cur.trim() !== '') comment = '';
    cur = '';
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\n') line++;
    if (quote) {
      cur += c;
      if (c === quote) quote = undefined;
      continue;
    }
    if (cur.trim() === '' && c !== '\n' && !/\s/.test(c)) startLine = line;
    if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if (c === '\\' && src[i + 1] === '\n') {
      cur += ' ';
      i++;
      line++;
    } else if (c === '#' && (cur === '' || /\s$/.test(cur))) {
      const end = src.indexOf('\n', i);
      comment += ' ' + src.slice(i + 1, end < 0 ? src.length : end).trim();
      i = (end < 0 ? src.length : end) - 1;
    } else if (c === '\n') push();
    else cur += c;
  }
  assert.equal(quote, undefined, `README.md:${block.line}: unterminated quote in a sh block`);
  push();
  return out;
}

const SKIP: { match: RegExp; why: string }[] = [
  { match: /\bnpm install\b/, why: 'npm install needs the npm registry; npm start (node dist/cli.js serve) is the server this test starts' },
  { match: /^npm test$/m, why: 'runs the whole suite, this file included' },
  { match: /\bnpm run bench/, why: 'benchmarks: dnsperf and minutes of full CPU' },
  { match: /\bredis-server\b/, why: 'Redis and two nodes on fixed ports, backgrounded (cluster.test.ts covers it on free ports)' },
  { match: /\bgslb serve --dns 0\.0\.0\.0:53\b/, why: 'a node on port 53 of every address, backgrounded: workers.test.ts and udp-io.test.ts start these flags on free loopback ports' },
  { match: /\bdocker compose\b/, why: 'needs Docker and pulls images (compose.test.ts checks the compose file)' },
  { match: /\bgslb dnssec ds\b/, why: 'the repo zone is unsigned, so it exits 1 here (dnssec-serve.test.ts runs it against a signed zone)' },
  { match: /\bgslb dnssec rollover\b/, why: 'the repo zone is unsigned, so it exits 1 here (dnssec-rollover-unbound.test.ts runs it against a signed zone)' },
];

const RUNNABLE = /^(dig|curl|npx gslb|gslb) /;

// ---------------------------------------------------------------------------------------------------------
// Running them
// ---------------------------------------------------------------------------------------------------------

interface Ports {
  dns: number;
  api: number;
}

interface Backend {
  host: string;
  server: Server;
  hits: number;
}

const backends: Backend[] = [];
let backendPort: number | undefined;
let haveIpv6 = true;

async function listen(server: Server | ReturnType<typeof createTcpServer>, port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
}

async function udpFree(port: number): Promise<boolean> {
  const sock = createSocket('udp4');
  const ok = await new Promise<boolean>((resolve) => {
    sock.once('error', () => resolve(false));
    sock.bind(port, '127.0.0.1', () => resolve(true));
  });
  await new Promise<void>((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve();
    }
  });
  return ok;
}

async function tcpFree(port: number): Promise<boolean> {
  const srv = createTcpServer();
  const ok = await listen(srv, port, '127.0.0.1');
  if (ok) await new Promise<void>((resolve) => srv.close(() => resolve()));
  return ok;
}

/** An HTTP backend answering GET /health with 200, for a registration's check. */
async function startBackend(host: string, port: number): Promise<boolean> {
  const b: Backend = { host, server: createServer(), hits: 0 };
  b.server.on('request', (req, res) => {
    b.hits++;
    res.statusCode = req.url === '/health' ? 200 : 404;
    res.end('ok');
  });
  if (!(await listen(b.server, port, host))) return false;
  backends.push(b);
  return true;
}

/** Loopback stand-ins for a registration's endpoints, with backends on one port for its check. */
async function localizeRegistration(cmd: string, notes: string[]): Promise<string> {
  const addresses = [...cmd.matchAll(/"address":\s*"([^"]+)"/g)].map((m) => m[1]!);
  let v4 = 50;
  let v6fallback = 60;
  const mapping = new Map<string, string>();
  for (const a of addresses) {
    if (mapping.has(a)) continue;
    if (a.includes(':')) mapping.set(a, haveIpv6 ? '::1' : `127.0.0.${v6fallback++}`);
    else mapping.set(a, `127.0.0.${v4++}`);
  }
  for (let attempt = 0; backendPort === undefined && attempt < 20; attempt++) {
    const port = await freePort();
    const hosts = [...new Set(mapping.values())];
    const started: boolean[] = [];
    for (const h of hosts) started.push(await startBackend(h, port));
    if (started.every(Boolean)) backendPort = port;
    else {
      for (const b of backends.splice(0)) b.server.close();
    }
  }
  assert.ok(backendPort !== undefined, 'backends for the registration example could not start');
  let out = cmd;
  for (const [from, to] of mapping) out = out.split(`"${from}"`).join(`"${to}"`);
  out = out.replace(/("check":\s*\{[^}]*"port":\s*)\d+/, `$1${backendPort}`);
  notes.push(`registration with a check: endpoints ${[...mapping].map(([a, b]) => `${a} -> ${b}`).join(', ')}, check port -> ${backendPort} (test backends)`);
  return out;
}

async function localize(cmd: string, ports: Ports): Promise<{ cmd: string; notes: string[]; kind: 'dig' | 'curl' | 'gslb' }> {
  const notes: string[] = [];
  let out = cmd;
  let kind: 'dig' | 'curl' | 'gslb';
  if (/^(npx )?gslb /.test(out)) {
    kind = 'gslb';
    out = out.replace(/^(npx )?gslb /, 'node dist/cli.js ');
    notes.push('npx gslb -> node dist/cli.js');
  } else if (out.startsWith('dig ')) {
    kind = 'dig';
    out += ' +time=2 +tries=2';
  } else {
    kind = 'curl';
    out = out.replace(/^curl /, `curl --max-time 10 -w '\\n%{http_code}' `);
  }
  if (ports.dns !== README_DNS_PORT && / -p 8053\b/.test(out)) {
    out = out.replace(/ -p 8053\b/g, ` -p ${ports.dns}`);
    notes.push(`DNS port 8053 -> ${ports.dns}`);
  }
  if (ports.api !== README_API_PORT && out.includes(`127.0.0.1:${README_API_PORT}`)) {
    out = out.split(`127.0.0.1:${README_API_PORT}`).join(`127.0.0.1:${ports.api}`);
    notes.push(`API port 8080 -> ${ports.api}`);
  }
  if (kind === 'curl' && /"check"\s*:/.test(out)) out = await localizeRegistration(out, notes);
  if (kind === 'gslb' && ports.api !== README_API_PORT && !out.includes('--api')) notes.push(`GSLB_API=127.0.0.1:${ports.api} in the environment`);
  return { cmd: out, notes, kind };
}

function sh(cmd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', cmd], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Answer section of dig's output: [name, ttl, class, type, data]. */
function digAnswers(out: string): string[][] {
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(\n\n|$)/.exec(out)?.[1] ?? '';
  return section
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/));
}

// ---------------------------------------------------------------------------------------------------------

const zones = loadZoneDir(join(ROOT, 'zones')).zoneSet;
const regionNames = zones ? [...zones.regions.keys()] : [];
const regionAddresses = (name: string) => zones?.regions.get(name)?.endpoints.map((e) => e.address) ?? [];

describe('README shell examples', () => {
  let srv: ServeProcess;
  let data: string;
  let ports: Ports;
  let env: NodeJS.ProcessEnv;
  let executed = 0;

  before(async () => {
    data = mkdtempSync(join(tmpdir(), 'gslb-readme-'));
    const probe6 = createTcpServer();
    haveIpv6 = await listen(probe6, 0, '::1');
    if (haveIpv6) probe6.close();
    // The README's probing example names its prober: a node accepts reports only from known probers.
    const base = ['--zones', join(ROOT, 'zones'), '--data', data, '--probers', 'probe-fra-1'];
    const defaultsFree = (await tcpFree(README_API_PORT)) && (await tcpFree(README_DNS_PORT)) && (await udpFree(README_DNS_PORT));
    let started: ServeProcess | undefined;
    if (defaultsFree) {
      // As `npm start` runs it: no --dns/--api, the defaults are the README's ports.
      started = await startServe(base).catch(() => undefined);
    }
    srv = started ?? (await startServe([...base, '--dns', '127.0.0.1:0', '--api', '127.0.0.1:0']));
    ports = { dns: srv.dnsPorts[0]!, api: srv.apiPort };
    env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GSLB_')));
    if (ports.api !== README_API_PORT) env.GSLB_API = `127.0.0.1:${ports.api}`;
  });

  after(async () => {
    if (srv) {
      const code = await srv.stop('SIGTERM');
      assert.equal(code, 0, 'SIGTERM stops the server with exit 0, as the README says');
    }
    for (const b of backends) b.server.close();
    rmSync(data, { recursive: true, force: true });
  });

  test('npm start is `node dist/cli.js serve`, on the README ports when they are free', (t) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    assert.equal(pkg.scripts.start, 'node dist/cli.js serve');
    assert.equal(pkg.bin.gslb, 'dist/cli.js');
    t.diagnostic(`server on DNS 127.0.0.1:${ports.dns}, API 127.0.0.1:${ports.api}${ports.api === README_API_PORT && ports.dns === README_DNS_PORT ? ' (the README ports: commands run as written)' : ' (README ports busy: commands rewritten)'}`);
    assert.equal(srv.dnsPorts.length, 1);
    assert.ok(zones, 'the repo zones load');
    assert.ok(regionNames.includes('us-east') && regionNames.includes('eu-west'));
  });

  const blocks = shBlocks(README);

  test('every sh block is either run or skipped for a stated reason', () => {
    assert.ok(blocks.length >= 8, `${blocks.length} sh blocks found`);
    for (const b of blocks) {
      if (SKIP.some((s) => s.match.test(b.text))) continue;
      for (const c of splitCommands(b)) assert.match(c.text, RUNNABLE, `README.md:${c.line}: "${c.text}" is neither runnable here nor in a skipped block`);
    }
  });

  for (const block of blocks) {
    const skip = SKIP.find((s) => s.match.test(block.text));
    const title = `README.md:${block.line}: ${block.text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'))?.slice(0, 70)}`;
    if (skip) {
      test(title, { skip: skip.why }, () => undefined);
      continue;
    }
    test(title, async (t) => {
      for (const c of splitCommands(block)) {
        if (!RUNNABLE.test(c.text)) continue; // reported by the classification test above
        const { cmd, notes, kind } = await localize(c.text, ports);
        t.diagnostic(`README.md:${c.line}: ${cmd}${notes.length ? `   [${notes.join('; ')}]` : ''}`);
        const r = await sh(cmd, env);
        executed++;
        const where = `README.md:${c.line}: ${c.text}\nran: ${cmd}\nexit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
        assert.equal(r.status, 0, where);
        if (kind === 'dig') checkDig(c, r.stdout, where);
        else if (kind === 'curl') checkCurl(c, r.stdout, where);
        else checkExplain(c, r.stdout, where);
      }
    });
  }

  test('at least the quick start, steering, latency and registration examples ran', () => {
    assert.ok(executed >= 15, `${executed} commands ran`);
  });

  test('inline curl commands and the status page / API docs URLs of the README answer 2xx', async (t) => {
    const inline = [...README.matchAll(/`(curl -s http:\/\/127\.0\.0\.1:8080\/[^`]*)`/g)].map((m) => m[1]!);
    assert.ok(inline.length >= 2, `inline curl commands: ${inline.join(' | ')}`);
    for (const text of inline) {
      const { cmd } = await localize(text, ports);
      t.diagnostic(cmd);
      const r = await sh(cmd, env);
      assert.equal(r.status, 0, `${text}: ${r.stderr}`);
      const status = Number(r.stdout.slice(r.stdout.lastIndexOf('\n') + 1));
      assert.ok(status >= 200 && status < 300, `${text}: HTTP ${status}`);
      const body = r.stdout.slice(0, r.stdout.lastIndexOf('\n'));
      if (text.endsWith('/metrics')) assert.match(body, /^# HELP /m, 'Prometheus text');
      else assert.doesNotThrow(() => JSON.parse(body), `${text}: JSON`);
    }
    const urls = [...README.matchAll(/(?:open |\*\*API reference\*\*: )(http:\/\/127\.0\.0\.1:8080\/\S*)/g)].map((m) => m[1]!.replace(/[.,;]$/, ''));
    assert.ok(urls.length >= 2, `URLs to open: ${urls.join(' ')}`);
    for (const u of urls) {
      const res = await fetch(u.replace(`127.0.0.1:${README_API_PORT}`, `127.0.0.1:${ports.api}`));
      assert.equal(res.status, 200, u);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/, u);
      await res.arrayBuffer();
    }
  });

  function checkDig(c: Command, out: string, where: string): void {
    assert.match(out, /status: NOERROR/, where);
    const count = Number(/ANSWER: (\d+)/.exec(out)?.[1]);
    assert.ok(count > 0, `an answer: ${where}`);
    const answers = digAnswers(out);
    assert.equal(answers.length, count, where);
    if (c.text.includes('+nsid')) assert.match(out, /; NSID: /, `NSID in the reply: ${where}`);
    if (c.text.includes('+tcp')) assert.match(out, /\(TCP\)/, where);
    if (c.text.includes('+subnet=')) assert.match(out, /; CLIENT-SUBNET: /, where);
    // "# a GB network: eu-west": the answer is that region's.
    const region = regionNames.find((n) => new RegExp(`:\\s*${n}$`).test(c.comment));
    if (region) for (const a of answers) assert.ok(regionAddresses(region).includes(a[4]!), `${a.join(' ')} is in ${region} as the comment says: ${where}`);
  }

  function checkCurl(c: Command, out: string, where: string): void {
    const nl = out.lastIndexOf('\n');
    const status = Number(out.slice(nl + 1));
    const body = out.slice(0, Math.max(0, nl));
    assert.ok(status >= 200 && status < 300, `HTTP ${status}: ${where}`);
    let json: unknown;
    assert.doesNotThrow(() => (json = JSON.parse(body)), `JSON body: ${where}`);
    const method = /-X (\w+)/.exec(c.text)?.[1] ?? 'GET';
    // "# register (201) or replace (200)": the store is fresh, so this is a registration.
    if (method === 'PUT' && /\(201\)/.test(c.comment)) assert.equal(status, 201, where);
    if (method === 'PUT' && /"check"\s*:/.test(c.text)) {
      const view = json as { endpoints: { address: string }[]; check?: { port: number } };
      assert.ok(view.endpoints.every((e) => e.address.startsWith('127.') || e.address === '::1'), `only loopback endpoints were registered: ${where}`);
      assert.equal(view.check?.port, backendPort);
    }
    if (c.text.endsWith('/readyz')) assert.equal((json as { ready: boolean }).ready, true, where);
  }

  function checkExplain(c: Command, out: string, where: string): void {
    if (c.text.includes('--json')) {
      let r: { answer: { rcode: string; addresses: string[] }; candidates: { chosen: boolean }[] } | undefined;
      assert.doesNotThrow(() => (r = JSON.parse(out)), where);
      assert.equal(r!.answer.rcode, 'NOERROR', where);
      assert.ok(r!.answer.addresses.length > 0, where);
      assert.equal(r!.candidates.filter((x) => x.chosen).length, 1, where);
    } else {
      assert.match(out, /^answer: NOERROR from \S+: \S/m, where);
      assert.match(out, /^ {2}\* {2}\S+/m, `a chosen region: ${where}`);
    }
  }
});

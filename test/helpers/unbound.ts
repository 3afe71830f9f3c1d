/**
 * A real validating resolver (unbound from Debian) for one zone: a stub zone pointing at our server, a trust
 * anchor given as text (a DNSKEY or DS line), no root hints, loopback only, and no cache (cache-max-ttl 0), so
 * each query is validated against what the server answers now. `setAnchor` plays the parent that moved its DS:
 * the anchor file is rewritten and unbound re-reads its configuration (SIGHUP).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDNS_DO, RRType } from '../../src/wire/constants.js';
import { decodeMessage, type DecodedMessage } from '../../src/wire/decode.js';
import { buildQuery, udpRaw } from './dns-client.js';
import { freePort } from './redis.js';

export const UNBOUND = '/usr/sbin/unbound';
export const SKIP_UNBOUND = existsSync(UNBOUND) ? false : `${UNBOUND} is missing (apt-get install -y unbound)`;

export interface Unbound {
  port: number;
  /** Replaces the trust anchor (one or more DNSKEY/DS lines) and waits until unbound answers again. */
  setAnchor(anchor: string): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

/** `serverLines`: more `server:` options, one a line (e.g. `minimal-responses: no`). */
export async function startUnbound(zone: string, anchor: string, server: { host: string; port: number }, serverLines: string[] = []): Promise<Unbound> {
  const dir = mkdtempSync(join(tmpdir(), 'gslb-unbound-'));
  const port = await freePort();
  const anchorFile = join(dir, 'anchor');
  writeFileSync(anchorFile, anchor + '\n');
  const conf = `server:
  interface: 127.0.0.1
  port: ${port}
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 1
  val-log-level: 2
  module-config: "validator iterator"
  do-not-query-localhost: no
  chroot: ""
  username: ""
  directory: "${dir}"
  pidfile: ""
  trust-anchor-file: "${anchorFile}"
  access-control: 127.0.0.0/8 allow
  outgoing-interface: 127.0.0.1
  local-zone: "test." nodefault
  cache-max-ttl: 0
  cache-max-negative-ttl: 0
  qname-minimisation: no
${serverLines.map((l) => `  ${l}\n`).join('')}stub-zone:
  name: "${zone}"
  stub-addr: ${server.host}@${server.port}
remote-control:
  control-enable: no
`;
  writeFileSync(join(dir, 'unbound.conf'), conf);
  const child: ChildProcess = spawn(UNBOUND, ['-d', '-c', join(dir, 'unbound.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const answering = async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await udpRaw({ host: '127.0.0.1', port }, buildQuery({ name: `ns1.${zone}`, type: RRType.A, flags: 0x0100 }), 500).catch(() => undefined);
      if (r) return;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`unbound did not answer:\n${log}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  await answering();
  return {
    port,
    log: () => log,
    setAnchor: async (next) => {
      writeFileSync(anchorFile, next + '\n');
      const reloaded = log.length;
      child.kill('SIGHUP');
      // unbound logs "service stopped" then "start of service" on a reload; then it answers again.
      const deadline = Date.now() + 20_000;
      while (!log.slice(reloaded).includes('start of service')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`unbound did not reload:\n${log}`);
        await new Promise((res) => setTimeout(res, 50));
      }
      await answering();
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((res) => child.once('exit', res));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A query through unbound (RD, DO): the decoded answer and whether AD was set. */
export async function resolveVia(u: Unbound, name: string, type: number): Promise<{ msg: DecodedMessage; ad: boolean }> {
  const raw = await udpRaw({ host: '127.0.0.1', port: u.port }, buildQuery({ name, type, flags: 0x0100, edns: { flags: EDNS_DO, udpSize: 1232 } }), 5000);
  assert.ok(raw, `unbound answered ${name}`);
  return { msg: decodeMessage(raw), ad: (raw.readUInt16BE(2) & 0x0020) !== 0 };
}

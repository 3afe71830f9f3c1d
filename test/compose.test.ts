/**
 * docker-compose.yml and the Dockerfile checked against the CLI they run, without Docker: every gslb
 * service's command parses with the real option parsers, its published ports are the ports it listens on
 * (host side on 127.0.0.1 only), it reaches Redis and the other nodes by their service names, and the demo
 * zone it mounts is valid and names the compose network's fixed addresses. Nothing here talks to the network.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseFlags, parseServeOptions } from '../src/config.js';
import { RRType } from '../src/wire/constants.js';
import { PROBE_HELP } from '../src/probe-cli.js';
import { parseRedisUrl } from '../src/store/redis-connect.js';
import { parseDuration } from '../src/util/duration.js';
import { loadZoneDir } from '../src/model/loader.js';
import { ecsOption, udpQuery } from './helpers/dns-client.js';
import { ROOT, runCli } from './helpers/process.js';
import { startTestServer } from './helpers/server.js';

// ---------------------------------------------------------------------------------------------------------
// docker-compose.yml, merge keys resolved
// ---------------------------------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: unknown;
  ports?: unknown[];
  volumes?: unknown[];
  depends_on?: unknown;
  networks?: unknown;
  sysctls?: Record<string, unknown>;
  healthcheck?: { disable?: boolean };
}

const COMPOSE_TEXT = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
// `merge: true` resolves `<<: *gslb` the way Compose does (YAML 1.1 merge keys).
const compose = parse(COMPOSE_TEXT, { merge: true }) as {
  'x-gslb': ComposeService;
  services: Record<string, ComposeService>;
  networks: Record<string, { ipam?: { config?: { subnet?: string }[] } }>;
};
const services = compose.services;

const GSLB_IMAGE = compose['x-gslb'].image;
/** Services that run this project's image (the built one). */
const gslbServices = Object.entries(services).filter(([, s]) => s.image === GSLB_IMAGE);
const commandOf = (name: string): string[] => {
  const c = services[name]?.command;
  assert.ok(Array.isArray(c) && c.every((a) => typeof a === 'string'), `${name}: command is an exec-form list of strings`);
  return c as string[];
};
const serveServices = gslbServices.filter(([n]) => commandOf(n)[0] === 'serve').map(([n]) => n);
const probeServices = gslbServices.filter(([n]) => commandOf(n)[0] === 'probe').map(([n]) => n);

interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: string;
}

/** Compose short syntax `[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTO]` (IPv4 host addresses only, as used here). */
function parsePort(spec: unknown): PortMapping {
  assert.equal(typeof spec, 'string', `port ${JSON.stringify(spec)} in short syntax`);
  const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(spec as string);
  assert.ok(m, `port "${String(spec)}" is [HOST_IP:]HOST:CONTAINER[/PROTO]`);
  return { hostIp: m[1] ?? '0.0.0.0', hostPort: Number(m[2]), containerPort: Number(m[3]), protocol: m[4] ?? 'tcp' };
}

function ipv4Of(name: string): string | undefined {
  const nets = services[name]?.networks;
  if (!nets || Array.isArray(nets)) return undefined;
  const demo = (nets as Record<string, { ipv4_address?: string } | null>).demo;
  return demo?.ipv4_address;
}

function serveOptions(name: string) {
  const args = commandOf(name);
  return parseServeOptions(args.slice(1), {});
}

/** `--flag` → takes a value? From PROBE_HELP's option lines (`  --api URL,…  text`, `  --once  text`). */
function probeFlagsFromHelp(): { valued: string[]; booleans: string[] } {
  const valued: string[] = [];
  const booleans: string[] = [];
  for (const line of PROBE_HELP.split('\n')) {
    const m = /^ {2}(--[a-z][a-z-]*)(?: ([A-Z][A-Z,…]*))?\s{2,}\S/.exec(line);
    if (!m) continue;
    (m[2] ? valued : booleans).push(m[1]!);
  }
  return { valued, booleans };
}

describe('docker-compose.yml', () => {
  test('the x-gslb anchor is merged into every node, and there are two nodes and a prober on the gslb image', () => {
    assert.equal(GSLB_IMAGE, 'gslb:local');
    assert.deepEqual(serveServices.sort(), ['gslb-a', 'gslb-b']);
    assert.deepEqual(probeServices, ['prober']);
    for (const name of serveServices) {
      const s = services[name]!;
      assert.equal(s.build, '.', `${name}: built from the Dockerfile here`);
      assert.deepEqual(s.depends_on, ['redis'], `${name}: depends on redis (from the anchor)`);
      assert.deepEqual(s.volumes, compose['x-gslb'].volumes, `${name}: the anchor's zones volume`);
    }
    // Every gslb service runs a known command.
    for (const [name] of gslbServices) assert.ok(['serve', 'probe'].includes(commandOf(name)[0]!), `${name}: ${commandOf(name)[0]}`);
  });

  test('every serve command parses with the real option parser', () => {
    for (const name of serveServices) {
      assert.doesNotThrow(() => serveOptions(name), `${name}: ${commandOf(name).join(' ')}`);
      const o = serveOptions(name);
      assert.equal(o.nodeId, name, `${name}: --node-id names the service`);
      assert.ok(o.redis !== undefined, `${name}: a cluster node shares state through --redis`);
    }
  });

  test('the probe command parses with the probe flags of PROBE_HELP, and its values are valid', () => {
    const { valued, booleans } = probeFlagsFromHelp();
    assert.deepEqual(valued.sort(), ['--api', '--api-token', '--concurrency', '--interval', '--name']);
    assert.deepEqual(booleans, ['--once']);
    for (const name of probeServices) {
      const flags = parseFlags(commandOf(name).slice(1), valued, booleans);
      assert.ok(!flags.has('--once'), `${name}: a long-running prober, not --once`);
      const interval = parseDuration(flags.get('--interval')?.[0] ?? '5s');
      assert.ok(interval !== undefined && interval >= 100, `${name}: --interval is a duration of at least 100ms`);
      const proberName = flags.get('--name')?.[0];
      assert.ok(proberName !== undefined && /^[A-Za-z0-9_.:@-]{1,128}$/.test(proberName), `${name}: --name ${proberName}`);
      assert.ok(!serveServices.some((n) => serveOptions(n).nodeId === proberName), 'the prober is not named like a node (each is one vote)');
      assert.equal(services[name]!.healthcheck?.disable, true, `${name}: the image's HEALTHCHECK probes an API the prober does not serve`);
      assert.deepEqual(services[name]!.ports ?? [], [], `${name}: publishes nothing`);
    }
  });

  test('the probe reports to every node by service name and API port', () => {
    const { valued, booleans } = probeFlagsFromHelp();
    for (const name of probeServices) {
      const apis = (parseFlags(commandOf(name).slice(1), valued, booleans).get('--api')?.[0] ?? '').split(',').map((u) => u.trim());
      const named = apis.map((a) => {
        const u = new URL(a);
        assert.equal(u.protocol, 'http:');
        assert.ok(serveServices.includes(u.hostname), `${a}: ${u.hostname} is a gslb node service`);
        assert.equal(Number(u.port || 80), serveOptions(u.hostname).api.port, `${a}: the API port of ${u.hostname}`);
        return u.hostname;
      });
      assert.deepEqual(named.sort(), [...serveServices].sort(), 'the prober can report to every node');
      const dependsOn = services[name]!.depends_on;
      assert.ok(Array.isArray(dependsOn) && serveServices.every((n) => dependsOn.includes(n)), `${name}: depends on the nodes`);
    }
  });

  test('published ports: DNS over UDP and TCP and the API, container side = listen port, host side on 127.0.0.1', () => {
    const hostPorts = new Set<string>();
    for (const name of serveServices) {
      const o = serveOptions(name);
      const ports = (services[name]!.ports ?? []).map(parsePort);
      for (const p of ports) {
        assert.equal(p.hostIp, '127.0.0.1', `${name}: ${p.hostPort} is bound to loopback only`);
        const key = `${p.hostPort}/${p.protocol}`;
        assert.ok(!hostPorts.has(key), `${name}: host port ${key} is published once`);
        hostPorts.add(key);
      }
      assert.equal(o.dns.length, 1, `${name}: one DNS listener`);
      for (const d of o.dns) {
        assert.ok(d.host === '0.0.0.0' || d.host === '::', `${name}: DNS listens on all container interfaces, not ${d.host}`);
        const udp = ports.filter((p) => p.protocol === 'udp' && p.containerPort === d.port);
        const tcp = ports.filter((p) => p.protocol === 'tcp' && p.containerPort === d.port);
        assert.equal(udp.length, 1, `${name}: DNS port ${d.port}/udp published`);
        assert.equal(tcp.length, 1, `${name}: DNS port ${d.port}/tcp published`);
        assert.equal(udp[0]!.hostPort, tcp[0]!.hostPort, `${name}: same host port for DNS over UDP and TCP`);
      }
      assert.ok(o.api.host === '0.0.0.0' || o.api.host === '::', `${name}: the API listens on all container interfaces`);
      const api = ports.filter((p) => p.protocol === 'tcp' && p.containerPort === o.api.port);
      assert.equal(api.length, 1, `${name}: API port ${o.api.port}/tcp published`);
      const listening = new Set([...o.dns.flatMap((d) => [`${d.port}/udp`, `${d.port}/tcp`]), `${o.api.port}/tcp`]);
      for (const p of ports) assert.ok(listening.has(`${p.containerPort}/${p.protocol}`), `${name}: ${p.containerPort}/${p.protocol} is something it listens on`);
      // The image runs as a non-root user: a port below 1024 needs the unprivileged-port sysctl.
      const low = Math.min(...o.dns.map((d) => d.port), o.api.port);
      if (low < 1024) {
        const start = Number(services[name]!.sysctls?.['net.ipv4.ip_unprivileged_port_start']);
        assert.ok(Number.isInteger(start) && start <= low, `${name}: net.ipv4.ip_unprivileged_port_start <= ${low}`);
      }
    }
  });

  test('the header comment’s dig/curl examples use the published ports of the right node', () => {
    const published = (name: string) => (services[name]!.ports ?? []).map(parsePort);
    let failed: string | undefined;
    let examples = 0;
    for (const line of COMPOSE_TEXT.split('\n').filter((l) => l.startsWith('#'))) {
      const dig = /dig @127\.0\.0\.1 -p (\d+) .*# node (\w+)/.exec(line);
      if (dig) {
        examples++;
        const node = `gslb-${dig[2]}`;
        const dnsPort = serveOptions(node).dns[0]!.port;
        assert.ok(published(node).some((p) => p.hostPort === Number(dig[1]) && p.containerPort === dnsPort && p.protocol === 'udp'), line);
      }
      const curl = /curl -s http:\/\/127\.0\.0\.1:(\d+)\/.*# node (\w+)'s API/.exec(line);
      if (curl) {
        examples++;
        const node = `gslb-${curl[2]}`;
        assert.ok(published(node).some((p) => p.hostPort === Number(curl[1]) && p.containerPort === serveOptions(node).api.port), line);
      }
      const exec = /docker compose exec (\S+) node -e "fetch\('http:\/\/([\d.]+)\/health'.*# (fail|heal) (\S+)/.exec(line);
      if (exec) {
        examples++;
        assert.ok(serveServices.includes(exec[1]!), line);
        const backend = Object.keys(services).find((n) => ipv4Of(n) === exec[2]);
        assert.ok(backend, `${exec[2]} is a backend's address`);
        if (exec[3] === 'fail') {
          assert.ok(commandOf(backend).join(' ').includes(`--name ${exec[4]}`), `${exec[2]} is the ${exec[4]} backend`);
          failed = exec[2];
        } else assert.equal(exec[2], failed, `"heal it" heals the backend failed above: ${line}`);
      }
    }
    assert.equal(examples, 5, 'two dig, one curl, fail and heal examples checked');
  });

  test('--redis points at the redis service', () => {
    const redis = services.redis;
    assert.ok(redis, 'a redis service');
    const redisArgs = Array.isArray(redis.command) ? (redis.command as string[]) : [];
    const portFlag = redisArgs.indexOf('--port');
    const redisPort = portFlag >= 0 ? Number(redisArgs[portFlag + 1]) : 6379;
    for (const name of serveServices) {
      const url = serveOptions(name).redis!;
      assert.equal(parseRedisUrl(url).kind, 'single');
      const u = new URL(url);
      assert.equal(u.hostname, 'redis', `${name}: ${url} names the redis service`);
      assert.equal(Number(u.port || 6379), redisPort, `${name}: ${url} uses redis' port`);
    }
  });

  test('fixed addresses are unique and inside the demo network', () => {
    const subnet = compose.networks.demo?.ipam?.config?.[0]?.subnet;
    assert.equal(subnet, '172.30.0.0/24');
    const seen = new Map<string, string>();
    for (const name of Object.keys(services)) {
      const ip = ipv4Of(name);
      if (ip === undefined) continue;
      assert.equal(isIP(ip), 4, `${name}: ${ip}`);
      assert.ok(ip.startsWith('172.30.0.') && !['0', '1', '255'].includes(ip.split('.')[3]!), `${name}: ${ip} is a host address of ${subnet} (not the gateway)`);
      assert.ok(!seen.has(ip), `${name} and ${seen.get(ip)} share ${ip}`);
      seen.set(ip, name);
    }
    for (const name of serveServices) assert.ok(ipv4Of(name), `${name} has a fixed address (it is a name server in the zone)`);
  });

  describe('the mounted demo zones', () => {
    const zonesHostDir = './deploy/compose/zones';
    const abs = join(ROOT, zonesHostDir);

    test('are mounted read-only where --zones points', () => {
      for (const name of serveServices) {
        const mounts = (services[name]!.volumes ?? []).map(String);
        const mount = mounts.find((v) => v.startsWith(`${zonesHostDir}:`));
        assert.ok(mount, `${name}: mounts ${zonesHostDir}`);
        const [, target, mode] = mount.split(':');
        assert.equal(target, serveOptions(name).zonesDir, `${name}: mounted at --zones`);
        assert.equal(mode, 'ro');
      }
    });

    test('pass `gslb check`', () => {
      const r = runCli(['check', '--zones', abs]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^ok: 1 zone\(s\) \(gslb\.example\.test\), 3 region\(s\), 1 service\(s\) in 1 file\(s\)/);
    });

    test('every region endpoint is a backend’s fixed address, and checks use the port the backend serves', () => {
      const { zoneSet } = loadZoneDir(abs);
      assert.ok(zoneSet);
      const backends = new Map(
        Object.entries(services)
          .filter(([n, s]) => !serveServices.includes(n) && n !== 'redis' && s.image !== GSLB_IMAGE && ipv4Of(n))
          .map(([n]) => [ipv4Of(n)!, n]),
      );
      assert.equal(backends.size, 3);
      const used = new Set<string>();
      for (const [regionName, region] of zoneSet.regions) {
        assert.ok(region.check, `${regionName}: checked (the demo shows failover)`);
        for (const e of region.endpoints) {
          const backend = backends.get(e.address);
          assert.ok(backend, `${regionName}: endpoint ${e.address} is one of ${[...backends.keys()].join(', ')}`);
          used.add(e.address);
          const args = commandOf(backend);
          assert.equal(args[args.indexOf('--port') + 1], String(region.check.port), `${backend} serves the checked port`);
          assert.equal(args[args.indexOf('--name') + 1], regionName, `${backend} is named after its region`);
        }
      }
      assert.equal(used.size, backends.size, 'every backend is an endpoint');
    });

    test('the name servers’ A records are the nodes’ addresses', () => {
      const { zoneSet } = loadZoneDir(abs);
      const zone = zoneSet?.zones[0];
      assert.ok(zone);
      const nsAddresses = zone.ns.flatMap((ns) =>
        zone.records.flatMap((r) => (r.name === ns && r.data.type === RRType.A ? [r.data.address] : [])),
      );
      assert.equal(nsAddresses.length, zone.ns.length, 'one A record per name server');
      assert.deepEqual(nsAddresses.sort(), serveServices.map((n) => ipv4Of(n)!).sort());
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------------------

/** Instructions with line continuations joined and comments dropped: [KEYWORD, rest]. */
function dockerInstructions(text: string): [string, string][] {
  const out: [string, string][] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    if (cur === '' && /^\s*#/.test(raw)) continue;
    if (raw.trimEnd().endsWith('\\')) {
      cur += raw.trimEnd().slice(0, -1) + ' ';
      continue;
    }
    cur += raw;
    const line = cur.trim();
    cur = '';
    if (line === '') continue;
    const sp = line.indexOf(' ');
    out.push([line.slice(0, sp).toUpperCase(), line.slice(sp + 1).trim()]);
  }
  return out;
}

function execForm(value: string): string[] {
  const list = JSON.parse(value) as unknown;
  assert.ok(Array.isArray(list) && list.every((a) => typeof a === 'string'), `exec form: ${value}`);
  return list as string[];
}

describe('Dockerfile', () => {
  const ins = dockerInstructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const all = (k: string) => ins.filter(([kw]) => kw === k).map(([, v]) => v);
  const lastStage = ins.slice(ins.map(([k]) => k).lastIndexOf('FROM'));
  const inFinal = (k: string) => lastStage.filter(([kw]) => kw === k).map(([, v]) => v);

  test('a multi-stage build whose final stage installs production dependencies only', () => {
    const froms = all('FROM');
    assert.ok(froms.length >= 2, `two FROM lines: ${froms.join(' | ')}`);
    assert.ok(inFinal('RUN').some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'npm ci --omit=dev in the final stage');
    const build = /AS\s+(\S+)/i.exec(froms[0]!)?.[1];
    assert.ok(build && inFinal('COPY').some((c) => c.includes(`--from=${build}`) && c.includes('dist')), 'dist copied from the build stage');
  });

  test('ENTRYPOINT + CMD run `node dist/cli.js serve` with options the CLI accepts', () => {
    const entry = execForm(inFinal('ENTRYPOINT').at(-1)!);
    const cmd = execForm(inFinal('CMD').at(-1)!);
    const argv = [...entry, ...cmd];
    assert.deepEqual(argv.slice(0, 2), ['node', 'dist/cli.js']);
    assert.equal(argv[2], 'serve');
    assert.doesNotThrow(() => parseServeOptions(argv.slice(3), {}));
  });

  test('runs as a non-root user', () => {
    const user = inFinal('USER').at(-1);
    assert.ok(user !== undefined, 'a USER instruction in the final stage');
    assert.ok(!['root', '0', '0:0', 'root:root'].includes(user), `USER ${user}`);
  });

  test('HEALTHCHECK hits /healthz on the API port of its CMD, and EXPOSE matches the listeners', () => {
    const cmd = execForm(inFinal('CMD').at(-1)!);
    const o = parseServeOptions(cmd.slice(1), {});
    const hc = inFinal('HEALTHCHECK').at(-1);
    assert.ok(hc, 'a HEALTHCHECK');
    const probe = /CMD\s+(\[.*\])\s*$/.exec(hc)?.[1];
    assert.ok(probe, `HEALTHCHECK CMD in exec form: ${hc}`);
    const script = execForm(probe).join(' ');
    const url = /https?:\/\/[^'"\s)]+/.exec(script)?.[0];
    assert.ok(url, `a URL in ${script}`);
    const u = new URL(url);
    assert.equal(u.pathname, '/healthz');
    assert.equal(Number(u.port), o.api.port, 'the API port of CMD');
    assert.ok(['127.0.0.1', 'localhost'].includes(u.hostname));
    assert.ok(o.api.host === '0.0.0.0' || o.api.host === '127.0.0.1', 'the API listens where the health check connects');
    const exposed = new Set(inFinal('EXPOSE').flatMap((e) => e.split(/\s+/)));
    for (const d of o.dns) for (const proto of ['udp', 'tcp']) assert.ok(exposed.has(`${d.port}/${proto}`), `EXPOSE ${d.port}/${proto}`);
    assert.ok(exposed.has(`${o.api.port}/tcp`) || exposed.has(String(o.api.port)), `EXPOSE ${o.api.port}`);
  });

  test('the header comment’s docker run publishes the ports CMD listens on, on 127.0.0.1', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const run = text.split('\n').find((l) => /^#\s+docker run /.test(l));
    assert.ok(run);
    const o = parseServeOptions(execForm(inFinal('CMD').at(-1)!).slice(1), {});
    const ports = [...run.matchAll(/-p (\S+)/g)].map((m) => parsePort(m[1]));
    for (const p of ports) assert.equal(p.hostIp, '127.0.0.1');
    for (const d of o.dns) for (const proto of ['udp', 'tcp']) assert.ok(ports.some((p) => p.containerPort === d.port && p.protocol === proto), `${d.port}/${proto}`);
    assert.ok(ports.some((p) => p.containerPort === o.api.port && p.protocol === 'tcp'));
  });
});

// ---------------------------------------------------------------------------------------------------------
// README's "A cluster in one command" against the compose file and the demo zone
// ---------------------------------------------------------------------------------------------------------

describe('README: a cluster in one command', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /### A cluster in one command\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const published = (name: string) => (services[name]!.ports ?? []).map(parsePort);
  /** Host DNS port -> the node publishing it. */
  const nodeByDnsPort = (port: number) => serveServices.find((n) => published(n).some((p) => p.hostPort === port && p.protocol === 'udp' && p.containerPort === serveOptions(n).dns[0]!.port));
  const nodeByApiPort = (port: number) => serveServices.find((n) => published(n).some((p) => p.hostPort === port && p.containerPort === serveOptions(n).api.port));

  test('the ports, regions and user it names are the compose file’s and the Dockerfile’s', () => {
    assert.ok(block.includes('docker compose up --build'), 'the section has its sh block');
    const m = /published on 127\.0\.0\.1:(\d+) and :(\d+); APIs on 127\.0\.0\.1:(\d+) and :(\d+)/.exec(section);
    assert.ok(m, 'the prose names the published ports');
    assert.deepEqual([nodeByDnsPort(Number(m[1])), nodeByDnsPort(Number(m[2]))], ['gslb-a', 'gslb-b']);
    assert.deepEqual([nodeByApiPort(Number(m[3])), nodeByApiPort(Number(m[4]))], ['gslb-a', 'gslb-b']);
    const regions = /"regions" \(([^)]+)\)/.exec(section)?.[1]?.split(/,\s*/);
    const { zoneSet } = loadZoneDir(join(ROOT, 'deploy/compose/zones'));
    assert.deepEqual(regions?.sort(), [...zoneSet!.regions.keys()].sort());
    assert.match(section, /`deploy\/compose\/zones\/demo\.yaml`/);
    const user = dockerInstructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).filter(([k]) => k === 'USER').at(-1)?.[1];
    assert.match(section, new RegExp(`runs as the unprivileged \`${user}\` user`));
  });

  test('its commands name the right nodes, probers and backend', () => {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    let checked = 0;
    for (const line of lines) {
      const dig = /^dig @127\.0\.0\.1 -p (\d+) /.exec(line);
      if (dig) {
        assert.ok(nodeByDnsPort(Number(dig[1])), `${line}: port ${dig[1]} is a node's published DNS port`);
        checked++;
      }
      const curl = /^curl -s http:\/\/127\.0\.0\.1:(\d+)\/v1\/regions\/(\S+)\s+# probers (.*)$/.exec(line);
      if (curl) {
        assert.ok(nodeByApiPort(Number(curl[1])), `${line}: a node's published API port`);
        const { valued, booleans } = probeFlagsFromHelp();
        const probers = [...serveServices.map((n) => serveOptions(n).nodeId), ...probeServices.map((n) => parseFlags(commandOf(n).slice(1), valued, booleans).get('--name')?.[0])];
        assert.deepEqual(curl[3]!.split(/,\s*/).sort(), probers.sort(), `${line}: the probers are the nodes and the prober`);
        checked++;
      }
      const exec = /^docker compose exec (\S+) node -e "fetch\('http:\/\/([\d.]+)\/health'/.exec(line);
      if (exec) {
        assert.ok(serveServices.includes(exec[1]!));
        const { zoneSet } = loadZoneDir(join(ROOT, 'deploy/compose/zones'));
        assert.deepEqual(zoneSet!.regions.get('eu-west')!.endpoints.map((e) => e.address), [exec[2]], `${line}: fails eu-west's backend`);
        checked++;
      }
    }
    assert.equal(checked, 5);
  });

  test('its routing claims hold for the demo zone (in-process, checks stripped, bundled GeoIP database)', async () => {
    // The demo endpoints are compose-network addresses: without their checks nothing ever contacts them.
    const demo = readFileSync(join(ROOT, 'deploy/compose/zones/demo.yaml'), 'utf8').replace(/^[ \t]+check: .*\n/gm, '');
    assert.ok(!/\bcheck:/.test(demo));
    const bundled = createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
    // The nodes' checkers are simulated as remote probers here: in-process, every name must be configured.
    const ts = await startTestServer({ 'demo.yaml': demo }, { args: ['--geoip', bundled, '--probers', 'gslb-a,gslb-b,prober-1'] });
    try {
      const { zoneSet } = loadZoneDir(join(ROOT, 'deploy/compose/zones'));
      const addressesOf = (region: string) => zoneSet!.regions.get(region)!.endpoints.map((e) => e.address);
      const answer = async (subnet: string) => {
        const [net, len] = subnet.split('/');
        const r = await udpQuery(ts.udp, { name: 'app.gslb.example.test', type: RRType.A, edns: { options: [ecsOption(net!, Number(len))] } });
        assert.equal(r.rcode, 0);
        return r.answers.map((a) => (a.data as { address: string }).address);
      };
      let claims = 0;
      for (const line of block.split('\n')) {
        const m = /^dig .*\+subnet=(\S+).*# a \w+ client: (\S+)$/.exec(line);
        if (!m) continue;
        assert.deepEqual(await answer(m[1]!), addressesOf(m[2]!), line);
        claims++;
      }
      assert.equal(claims, 2);
      // "fail eu-west", then "moved away from eu-west": every prober reports its backend failing.
      const moved = block.split('\n').find((l) => /# moved away from eu-west/.test(l));
      const subnet = /\+subnet=(\S+)/.exec(moved ?? '')?.[1];
      assert.ok(subnet, 'the "moved away" example');
      assert.deepEqual(await answer(subnet), addressesOf('eu-west'), 'before: eu-west');
      for (const prober of ['gslb-a', 'gslb-b', 'prober-1']) {
        const res = await fetch(`${ts.api}/v1/probes`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prober, results: [{ region: 'eu-west', endpoint: addressesOf('eu-west')[0], ok: false, error: 'HTTP 500' }] }),
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      const deadline = Date.now() + 5000;
      let now = await answer(subnet);
      while (now.some((a) => addressesOf('eu-west').includes(a)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        now = await answer(subnet);
      }
      assert.ok(now.length > 0 && !now.some((a) => addressesOf('eu-west').includes(a)), `moved away from eu-west: ${now.join(', ')}`);
    } finally {
      await ts.stop();
    }
  });
});
